"""The page with a field, through Streamlit's AppTest: upload, preview, PDE discovery, images, candidates, downloads.

Toy grids (64 x 64 Burgers, 16^3 2-D heat) simulated by the discovery layer keep every run to a few seconds.
"""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import state

RUN_LIMIT_S = 120


def _field_bytes(name: str, grid: tuple[int, ...], suffix: str = ".npz", seed: int = 1) -> bytes:
    """A zoo field simulated on ``grid``, written by the field's own writer, as the bytes of a file."""
    import tempfile
    from pathlib import Path

    from discovery.fields import simulate_zoo

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"field{suffix}"
        simulate_zoo(name, grid=grid, seed=seed).save(path)
        return path.read_bytes()


@pytest.fixture(scope="module")
def burgers_npz() -> bytes:
    return _field_bytes("burgers", (64, 64))


def _upload(entry: str, name: str, payload: bytes) -> AppTest:
    at = AppTest.from_file(entry, default_timeout=60).run()
    at.file_uploader(key="upload").upload(name, payload, "application/octet-stream")
    return at.run()


def _run(at: AppTest) -> None:
    """Click Discover and rerun the page (as the progress fragment's polling does) until the run has ended."""
    at.button(key="field_run").click().run()
    deadline = time.monotonic() + RUN_LIMIT_S
    while True:
        job = at.session_state[state.JOB] if state.JOB in at.session_state else None
        if job is None or job.finished:
            at.run()
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the run did not end within {RUN_LIMIT_S} s")
        time.sleep(0.3)
        at.run()


def _figures(at: AppTest) -> dict:
    import plotly.io

    return {c.proto.id: plotly.io.from_json(c.proto.spec) for c in at.get("plotly_chart")}


def _array(value) -> np.ndarray:
    """A plotly array as numbers: plotly writes numpy arrays as ``{"dtype", "bdata", "shape"}`` (base64) in JSON."""
    import base64

    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).astype(float)
        shape = tuple(int(n) for n in str(value.get("shape", flat.size)).split(","))
        return flat.reshape(shape)
    return np.asarray(value, dtype=float)


def _heatmaps(at: AppTest) -> dict[str, np.ndarray]:
    """Every heatmap on the page by trace name, its values as an array."""
    return {t.name: _array(t.z) for fig in _figures(at).values() for t in fig.data if t.type == "heatmap"}


def test_a_field_upload_is_previewed_as_a_space_time_image(app_entry: str, burgers_npz: bytes) -> None:
    at = _upload(app_entry, "burgers.npz", burgers_npz)
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Fields"] == "u" and metrics["Grid"] == "64 × 64" and metrics["Periodic"] == "x"
    assert any("burgers.npz: 1 field (u)" in c.value for c in at.caption)
    images = _heatmaps(at)
    assert images["u"].shape == (64, 64)  # (t, x): t up, x across
    assert at.button(key="field_run").label == "Discover the PDE"
    assert "methods" not in [w.key for w in at.multiselect]  # the trajectory set-up is not shown


def test_discover_a_pde_and_see_it_with_its_resimulation(app_entry: str, burgers_npz: bytes) -> None:
    at = _upload(app_entry, "burgers.npz", burgers_npz)
    _run(at)
    assert not at.exception and not at.error
    result = at.session_state[state.RESULT]
    best = result.latex()
    assert "u u_{x}" in best and "0.1 u_{xx}" in best, best
    shown = [e.value for e in at.latex]
    assert any("u u_{x}" in v and "u_{xx}" in v and "u_{xxx}" not in v for v in shown[:2]), shown
    code = [c.value for c in at.code]
    assert any(c.startswith("u_t = ") and "u*u_x" in c and "u_xx" in c for c in code), code
    images = _heatmaps(at)
    data, model, residual = images["u (data)"], images["u (re-simulated)"], images["u residual"]
    assert data.shape == model.shape == residual.shape == (64, 64)
    np.testing.assert_allclose(residual, data - model, atol=1e-12)
    assert np.abs(residual).max() < 1e-3 * np.abs(data).max()
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Re-simulation error"]) < 1e-3 and metrics["Terms"] == "2"
    table = at.dataframe[-1].value
    assert list(table["rank"]) == list(range(1, len(result.candidates) + 1))
    assert table["PDE"][0].startswith("u_t = ")
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Result (JSON)", "PDE (LaTeX)", "Right-hand side (Python)", "Re-simulated field (NPZ)"]
    assert not any("forecast" in m.value.lower() for m in at.markdown)  # no forecast in this result: no panel
    payload = json.loads(result.to_json())  # the Result (JSON) download: the field result contract
    assert payload["kind"] == "field" and payload["variables"] == ["u"] and payload["axes"] == ["x"]
    assert payload["source"] == "burgers.npz" and payload["periodic"] == {"x": True}

    # picking another candidate re-simulates that one, from the cache of runs (no new job)
    if len(result.candidates) > 1:
        at.selectbox(key=state.CANDIDATE).set_value(len(result.candidates) - 1).run()
        assert not at.exception and at.session_state[state.RESULT] is result and state.JOB not in at.session_state
        assert any(result.latex(result.candidates[-1]) in e.value for e in at.latex)


def test_the_fno_forecast_is_shown_beyond_the_observed_window(app_entry: str, burgers_npz: bytes) -> None:
    at = _upload(app_entry, "burgers.npz", burgers_npz)
    assert not any("Neural-operator forecast" in m.value for m in at.markdown)
    at.toggle(key="field_fno").set_value(True).run()
    at.slider(key="field_fno_horizon").set_value(50).run()
    at.number_input(key="field_fno_steps").set_value(40).run()  # a toy training: the panel, not the accuracy
    _run(at)
    assert not at.exception and not at.error
    forecast = at.session_state[state.RESULT].forecast
    assert forecast is not None and forecast.model == "fno" and forecast.shape == (32, 64)  # half of 64 frames
    assert any(m.value == "#### Neural-operator forecast" for m in at.markdown)
    image = _heatmaps(at)["u (observed, then forecast)"]  # the 64 observed frames, then the 32 forecast ones
    assert image.shape == (96, 64) and np.array_equal(image[64:], forecast.values["u"])
    assert any("fno forecast of t in [" in c.value and "backtest relative L2 error" in c.value for c in at.caption)
    assert json.loads(at.session_state[state.RESULT].to_json())["forecast"]["model"] == "fno"


def test_a_2d_field_is_shown_frame_by_frame(app_entry: str) -> None:
    at = _upload(app_entry, "heat2d.nc", _field_bytes("heat_2d", (16, 16, 16), suffix=".nc"))
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Grid"] == "16 × 16 × 16"
    slider = at.select_slider(key=f"field_preview_frame:{at.session_state[state.DATA].digest[:12]}")
    last = _heatmaps(at)["u"]
    slider.set_value(0).run()
    first = _heatmaps(at)["u"]
    assert first.shape == last.shape == (16, 16)
    assert np.abs(first).max() > np.abs(last).max()  # heat decays: the frame follows the slider
    _run(at)
    assert not at.exception and not at.error
    assert "u_{xx}" in at.session_state[state.RESULT].latex() and "u_{yy}" in at.session_state[state.RESULT].latex()
    titles = [a.text for fig in _figures(at).values() for a in fig.layout.annotations]
    assert any(t.startswith("residual (data − model) at t = ") for t in titles), titles


def test_periodic_axes_can_be_stated_and_each_upload_starts_from_its_own(app_entry: str, burgers_npz: bytes) -> None:
    at = _upload(app_entry, "burgers.npz", burgers_npz)
    key = f"field_periodic:{at.session_state[state.DATA].digest[:12]}"
    assert at.multiselect(key=key).value == ["x"]  # detected
    at.multiselect(key=key).set_value([]).run()
    _run(at)
    result = at.session_state[state.RESULT]
    assert result.periodic == {"x": False} and "u u_{x}" in result.latex() and "u_{xx}" in result.latex()
    at.file_uploader(key="upload").upload("rod.npz", _field_bytes("heat", (20, 24)), "application/octet-stream")
    at.run()
    assert not at.exception and state.RESULT not in at.session_state  # new data: the old result is gone
    rod = f"field_periodic:{at.session_state[state.DATA].digest[:12]}"
    assert at.multiselect(key=rod).value == []  # the rod's own detection (Dirichlet ends), not the last choice


def test_a_long_csv_field_is_told_from_trajectories_by_its_data(app_entry: str) -> None:
    from discovery.fields import simulate_zoo

    frame = simulate_zoo("heat", grid=(20, 24)).to_frame()
    at = _upload(app_entry, "rod.csv", frame.to_csv(index=False).encode())
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Grid"] == "20 × 24"
    trajectory = frame[frame["x"] == frame["x"].iloc[0]][["t", "u"]]  # one point of the rod over time
    at = _upload(app_entry, "point.csv", trajectory.to_csv(index=False).encode())
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Variables"] == "u"  # trajectories: the ODE page


def _nan_npz() -> bytes:
    t, x = np.linspace(0, 1, 20), np.linspace(0, 1, 24)
    u = np.outer(t, x)
    u[3, 5] = np.nan
    buffer = io.BytesIO()
    np.savez(buffer, t=t, x=x, u=u)
    return buffer.getvalue()


def _ragged_csv() -> bytes:
    t, x = np.meshgrid(np.linspace(0, 1, 20), np.linspace(0, 1, 24), indexing="ij")
    rows = "\n".join(f"{a},{b},{a * b}" for a, b in zip(t.ravel()[:-3], x.ravel()[:-3]))
    return ("t,x,u\n" + rows + "\n").encode()


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("gap.npz", _nan_npz(), ["gap.npz", "column 'u'", "NaN at t=0.157895, x=0.217391"]),
        ("ragged.csv", _ragged_csv(), ["ragged.csv", "ragged grid", "3 grid point(s) are missing"]),
        ("broken.nc", b"not a netcdf file", ["broken.nc", "cannot read the file as NetCDF/HDF5"]),
    ],
)
def test_a_bad_field_file_is_one_clear_line(app_entry: str, name: str, payload: bytes, expected: list[str]) -> None:
    at = _upload(app_entry, name, payload)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    for part in expected:
        assert part in errors[0], errors[0]
    assert "eqdisco-upload" not in errors[0] and "\n" not in errors[0].split("**", 2)[-1].strip()
    assert not at.button



def test_a_non_polynomial_reaction_is_shown_in_its_own_form(app_entry: str) -> None:
    """Monod kinetics on a 64 x 64 field: the PDE on the page has the saturating term, and the candidate says how
    it was found (the reaction search)."""
    at = _upload(app_entry, "monod.npz", _field_bytes("monod_diffusion", (64, 64), seed=2))
    _run(at)
    assert not at.exception and not at.error
    result = at.session_state[state.RESULT]
    assert result.best.method == "pde-sr", result.equations
    code = [c.value for c in at.code]
    assert any(c.startswith("u_t = ") and "u/(u + 1" in c for c in code), code
    labels = [str(o) for o in at.selectbox(key=state.CANDIDATE).options]
    assert "reaction search" in labels[0], labels
