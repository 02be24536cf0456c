"""Field data: the Field type, readers (NPZ, NetCDF, HDF5, long CSV, memory), periodicity, every error line."""

from __future__ import annotations

import numpy as np
import pytest

from discovery.errors import DataError
from discovery.fields import Field, is_field, load_field
from discovery.fields.periodic import detect_periodic

NT, NX = 20, 32


@pytest.fixture
def grid():
    t = np.linspace(0.0, 1.0, NT)
    x = np.linspace(0.0, 2 * np.pi, NX, endpoint=False)
    u = np.exp(-t)[:, None] * np.sin(x)[None, :]
    v = np.exp(-2 * t)[:, None] * np.cos(2 * x)[None, :]
    return t, x, u, v


@pytest.fixture
def field(grid):
    t, x, u, v = grid
    return Field(t, {"x": x}, {"u": u, "v": v}, periodic={"x": True}, source="waves")


def test_field_summary_and_accessors(field):
    assert field.summary() == ("waves: 2 fields (u, v) on t (20 points, [0, 1]), x (32 points, [0, 6.08684], "
                               "periodic)")
    assert field.shape == (NT, NX) and field.axes == ("x",) and field.names == ("u", "v")
    assert field.y is None
    assert field.length("x") == pytest.approx(2 * np.pi)
    assert field.stack().shape == (2, NT, NX)
    noisy = field.with_noise(0.05, seed=1)
    assert 0.02 < np.std(noisy.values["u"] - field.values["u"]) / np.std(field.values["u"]) < 0.08


def test_npz_round_trip_keeps_periodic_flags(field, tmp_path):
    path = field.to_npz(tmp_path / "f.npz")
    assert is_field(path)
    back = load_field(path)
    assert back.periodic == {"x": True} and back.source == "f.npz"
    np.testing.assert_array_equal(back.values["v"], field.values["v"])
    # stated periodicity wins over stored flags
    assert load_field(path, periodic=False).periodic == {"x": False}


def test_long_csv_round_trip_detects_periodicity(field, tmp_path):
    path = field.to_csv(tmp_path / "f.csv")
    assert is_field(path)
    back = load_field(path)
    assert back.periodic == {"x": True}
    np.testing.assert_allclose(back.values["u"], field.values["u"])
    # rows in any order give the same field
    frame = field.to_frame().sample(frac=1.0, random_state=0)
    frame.to_csv(tmp_path / "shuffled.csv", index=False)
    np.testing.assert_allclose(load_field(tmp_path / "shuffled.csv").values["u"], field.values["u"])


def test_netcdf_with_any_dimension_order_and_plain_hdf5(grid, tmp_path):
    import h5py
    import xarray as xr

    t, x, u, _ = grid
    ds = xr.Dataset({"u": (("x", "t"), u.T)}, coords={"t": t, "x": x})
    ds.to_netcdf(tmp_path / "f.nc", engine="h5netcdf")
    assert is_field(tmp_path / "f.nc")
    np.testing.assert_allclose(load_field(tmp_path / "f.nc").values["u"], u)
    np.testing.assert_allclose(load_field(ds).values["u"], u)
    with h5py.File(tmp_path / "f.h5", "w") as h5:
        h5["t"], h5["x"], h5["u"] = t, x, u
    back = load_field(tmp_path / "f.h5")
    np.testing.assert_allclose(back.values["u"], u)
    assert back.periodic == {"x": True}


def test_two_dimensional_field(tmp_path):
    t = np.linspace(0, 1, 16)
    x = np.linspace(0, 1, 18)
    y = np.linspace(0, 2, 20)
    u = t[:, None, None] + x[None, :, None] * y[None, None, :]
    f = load_field({"t": t, "x": x, "y": y, "u": u})
    assert f.axes == ("x", "y") and f.shape == (16, 18, 20)
    assert f.periodic == {"x": False, "y": False}
    f.to_csv(tmp_path / "f2.csv")
    np.testing.assert_allclose(load_field(tmp_path / "f2.csv").values["u"], u)


def test_trajectory_inputs_are_not_fields(tmp_path, lotka_volterra):
    lotka_volterra.to_csv(tmp_path / "lv.csv")
    assert not is_field(tmp_path / "lv.csv")
    # a trajectory CSV whose states are called x and y is still not a field: its times increase
    t = np.linspace(0, 1, 30)
    import pandas as pd

    pd.DataFrame({"t": t, "x": np.sin(t), "y": np.cos(t)}).to_csv(tmp_path / "xy.csv", index=False)
    assert not is_field(tmp_path / "xy.csv")
    np.savez(tmp_path / "traj.npz", t=t, x=np.c_[np.sin(t), np.cos(t)])
    assert not is_field(tmp_path / "traj.npz")
    assert not is_field({"t": t, "x": np.sin(t)})


def test_periodicity_detection():
    x = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    rows = np.ones((8, 1))
    assert detect_periodic(rows * np.sin(x), axis=1) == (True, False)
    # a repeated end point is recognised and dropped
    closed = np.linspace(0, 2 * np.pi, 65)
    assert detect_periodic(rows * np.sin(closed), axis=1) == (True, True)
    f = load_field({"t": np.linspace(0, 1, 16), "x": closed, "u": np.ones((16, 1)) * np.sin(closed)})
    assert f.periodic == {"x": True} and f.shape == (16, 64)
    # Dirichlet zero ends with opposite slopes are not periodic
    rod = np.linspace(0, np.pi, 64)
    assert detect_periodic(rows * np.sin(rod), axis=1) == (False, False)
    # noise does not hide periodicity
    rng = np.random.default_rng(0)
    noisy = rows * np.sin(x) + 0.02 * rng.standard_normal((8, 64))
    assert detect_periodic(noisy, axis=1)[0]


def _csv(tmp_path, text: str):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


def test_every_bad_input_is_one_clear_line(grid, tmp_path):
    t, x, u, _ = grid
    cases = [
        ({"t": t, "u": u}, "missing coordinate 'x'"),
        ({"t": t[::-1], "x": x, "u": u}, "coordinate 't' is not increasing: index 1"),
        ({"t": t, "x": x, "u": u[:, :10]}, r"field 'u' has shape \(20, 10\); expected \(20, 32\)"),
        ({"t": t[:10], "x": x, "u": u[:10]}, "too few points along 't': 10; expected at least 16"),
        ({"t": t, "x": x, "u": np.where(u > 0.9, np.nan, u)}, "field 'u' has NaN at t=0, x="),
        ({"t": t, "x": x, "u": np.where(u > 0.9, np.inf, u)}, "field 'u' has an infinite value at"),
        ({"t": np.r_[t[:-1], np.nan], "x": x, "u": u}, "coordinate 't' has a non-finite value"),
        ({"t": t ** 2, "x": x, "u": u}, "coordinate 't' is not evenly spaced"),
        ({"t": t, "x": x, "u_x": u}, "field name 'u_x' is not usable"),
        ({"t": t, "x": x}, "at least one field"),
        ({"t": t, "x": x, "u": u[0]}, r"array 'u' has shape \(32,\); a field needs shape \(Nt, Nx\)"),
    ]
    for data, message in cases:
        with pytest.raises(DataError, match=message) as info:
            load_field(data)
        assert "\n" not in str(info.value)
    frame = Field(t, {"x": x}, {"u": u}, periodic={"x": True}).to_frame()
    frame.drop(index=5).to_csv(tmp_path / "ragged.csv", index=False)
    with pytest.raises(DataError, match=r"ragged grid: 639 rows .* 20 t x 32 x = 640 points; 1 grid point\(s\) "
                                        r"are missing \(first t=0, x=0.981748\)"):
        load_field(tmp_path / "ragged.csv")
    frame.iloc[[0, 0] + list(range(2, len(frame)))].to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(DataError, match="appear more than once"):
        load_field(tmp_path / "dup.csv")
    with pytest.raises(DataError, match="missing coordinate column 'x'"):
        load_field(_csv(tmp_path, "t,u\n0,1\n0,2\n"))
    with pytest.raises(DataError, match="row 3, column 'u': non-numeric value 'abc'"):
        load_field(_csv(tmp_path, "t,x,u\n0,0,1\n0,1,abc\n"))
    with pytest.raises(DataError, match="file not found"):
        load_field(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="cannot read the NPZ file"):
        load_field(tmp_path / "junk.npz")
    (tmp_path / "junk.nc").write_bytes(b"not netcdf")
    with pytest.raises(DataError, match="cannot read the file as NetCDF/HDF5"):
        load_field(tmp_path / "junk.nc")
    with pytest.raises(DataError, match="periodic has 2 flags; expected one per axis"):
        load_field({"t": t, "x": x, "u": u}, periodic=[True, False])
