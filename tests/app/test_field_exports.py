"""Field uploads and the PDE downloads, built from a real discovery result on a toy Burgers field."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from app.field_exports import field_latex_document, field_npz, field_python_module
from app.field_loading import LoadedField, load_upload
from app.field_plots import comparison_figure, field_figure, forecast_figure
from app.loading import LoadedData
from discovery.errors import DataError


@pytest.fixture(scope="module")
def burgers():
    from discovery.fields import discover_field, simulate_zoo
    from discovery.fields.resimulate import resimulate_field

    field = simulate_zoo("burgers", grid=(48, 48), seed=2)
    result = discover_field(field)
    return field, result, resimulate_field(result.equations, field)


def test_the_python_download_is_the_rhs_on_the_data_grid(burgers) -> None:
    field, result, _ = burgers
    module = field_python_module(result, result.best)
    namespace: dict = {}
    exec(compile(module, "burgers_rhs.py", "exec"), namespace)
    state = field.stack()[:, 10]  # (F, Nx): one frame
    got = namespace["rhs"](state, namespace["SPACING"])
    np.testing.assert_allclose(got, result.rhs_numpy()(state), rtol=1e-9, atol=1e-12)
    assert namespace["SPACING"] == (field.spacing("x"),)
    assert "burgers" in namespace["__doc__"]


def test_the_python_download_runs_nothing_from_the_source_name(burgers, tmp_path) -> None:
    _, result, _ = burgers
    sentinel = tmp_path / "ran"
    source = f'x"""; __import__("pathlib").Path({str(sentinel)!r}).touch(); """.npz'
    crafted = type(result)(**{**result.__dict__, "source": source})
    namespace: dict = {}
    exec(compile(field_python_module(crafted, crafted.best), "rhs.py", "exec"), namespace)
    assert not sentinel.exists() and source in namespace["__doc__"]


def test_the_latex_download_is_a_document_with_the_pde(burgers) -> None:
    _, result, _ = burgers
    crafted = type(result)(**{**result.__dict__, "source": "a\n\\input{/etc/passwd}_b.npz"})
    tex = field_latex_document(crafted, crafted.best)
    assert tex.startswith("\\documentclass{article}") and tex.rstrip().endswith("\\end{document}")
    assert result.latex() in tex and "\\begin{gather*}" in tex
    code_lines = [line.split("%", 1)[0] for line in tex.splitlines()]
    assert not any("\\input" in line for line in code_lines), tex


def test_the_resimulated_field_download_reads_back(burgers, tmp_path) -> None:
    from discovery.fields import load_field

    field, _, sim = burgers
    path = tmp_path / "sim.npz"
    path.write_bytes(field_npz(sim))
    back = load_field(path)
    np.testing.assert_array_equal(back.values["u"], sim.values["u"])
    assert back.periodic == {"x": True} and back.shape == field.shape


def test_the_json_download_holds_every_candidate(burgers) -> None:
    _, result, _ = burgers
    payload = json.loads(result.to_json())
    assert payload["kind"] == "field" and len(payload["candidates"]) == len(result.candidates)


def test_figures_of_a_field(burgers) -> None:
    field, _, sim = burgers
    fig = comparison_figure(field, sim, "u")
    names = [t.name for t in fig.data]
    assert names == ["u (data)", "u (re-simulated)", "u residual"]
    assert fig.layout.coloraxis2.cmin == -fig.layout.coloraxis2.cmax  # the residual scale is centred on zero
    assert [t.name for t in comparison_figure(field, None, "u").data] == ["u (data)"]
    assert field_figure(field).data[0].z.shape == (48, 48)
    later = field.replace(t=field.t + field.t[-1] + field.dt)  # a stand-in forecast on the next window
    fig = forecast_figure(field, later, "u")
    assert fig.data[0].z.shape == (96, 48)  # observed, then forecast, upwards in t


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_uploads_are_told_apart_by_their_data(burgers, lv_csv_bytes: bytes) -> None:
    field, _, _ = burgers
    loaded = load_upload("u.npz", field_npz(field))
    assert isinstance(loaded, LoadedField) and loaded.field.names == ("u",) and loaded.columns == ()
    assert isinstance(load_upload("lv.csv", lv_csv_bytes), LoadedData)
    traj = _npz(t=np.linspace(0, 1, 30), x=np.linspace(0, 2, 30))  # 1-D arrays only: trajectories
    assert isinstance(load_upload("traj.npz", traj), LoadedData)


def test_stated_periodicity_is_used_and_keys_the_cache(burgers) -> None:
    field, _, _ = burgers
    payload = field_npz(field)
    plain = load_upload("u.npz", payload)
    stated = load_upload("u.npz", payload, periodic={"x": False})
    assert plain.field.periodic == {"x": True} and stated.field.periodic == {"x": False}
    assert plain.digest != stated.digest


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("wave.nc", b"", ["wave.nc", "empty"]),
        ("wave.h5", b"\x89HDF junk", ["wave.h5", "cannot read the file as NetCDF/HDF5"]),
        ("short.npz", _npz(t=np.linspace(0, 1, 8), x=np.linspace(0, 1, 20), u=np.zeros((8, 20))),
         ["short.npz", "too few points along 't': 8"]),
        ("wave.mat", b"MATLAB", ["wave.mat", "found .mat", ".nc"]),
    ],
)
def test_bad_field_files_are_one_line_naming_the_upload(name: str, payload: bytes, expected: list[str]) -> None:
    with pytest.raises(DataError) as info:
        load_upload(name, payload)
    message = str(info.value)
    assert "\n" not in message and "eqdisco-upload" not in message
    for part in expected:
        assert part in message, message
