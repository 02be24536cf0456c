"""Reading fields: NPZ, HDF5 and NetCDF grid files, long CSV tables, and in-memory arrays.

Grid files hold 1-D coordinates ``t``, ``x`` (and ``y`` for 2-D) and one array per field, shaped
``(Nt, Nx[, Ny])``; NetCDF and HDF5 files are read through xarray (engine ``h5netcdf``), whose named dimensions
may come in any order. A long CSV has columns ``t``, ``x`` (``y``) and one per field, one row per grid point,
covering the full grid. :func:`load_field` returns a :class:`~discovery.fields.field.Field`, detecting
periodicity per axis unless it is stated; every bad input raises one :class:`~discovery.errors.DataError` line.
:func:`is_field` tells whether an input is a field at all, so that ``discover()`` can dispatch.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from discovery.errors import DataError
from discovery.fields.field import MIN_POINTS, Field, check_size
from discovery.fields.periodic import detect_periodic

GRID_EXTENSIONS = (".npz", ".nc", ".nc4", ".cdf", ".h5", ".hdf5", ".he5")
"""Extensions of grid files (NetCDF and HDF5 always hold fields; NPZ when it has field-shaped arrays)."""

CSV_EXTENSIONS = (".csv", ".txt")
COORDINATES = ("t", "x", "y")
PERIODIC_KEY = "periodic"


def _one_line(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__


# --------------------------------------------------------------------------------------------- dispatch check
def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


def _looks_like_grid(arrays: Mapping[str, Any]) -> bool:
    t, x = arrays.get("t"), arrays.get("x")
    if t is None or x is None or np.ndim(t) != 1 or np.ndim(x) != 1:
        return False
    return any(np.ndim(v) >= 2 for k, v in arrays.items() if k not in COORDINATES)


def _csv_is_field(path: Path) -> bool:
    import pandas as pd

    try:
        head = pd.read_csv(path, nrows=3)
    except Exception:  # not a readable CSV: the trajectory reader will say why
        return False
    cols = [str(c).strip() for c in head.columns]
    if "t" not in cols or "x" not in cols or "trajectory" in cols or len(head) < 2:
        return False
    t = pd.to_numeric(head[head.columns[cols.index("t")]], errors="coerce")
    return bool(t.iloc[0] == t.iloc[1])


def is_field(data: Any) -> bool:
    """Whether ``data`` is a field (so ``discover()`` takes the PDE path) rather than trajectories.

    A :class:`Field`, an xarray ``Dataset``/``DataArray``, a dict with 1-D ``t`` and ``x`` and a 2-D or larger
    array, a NetCDF/HDF5 path, an NPZ path with such arrays, or a CSV path whose header has ``t`` and ``x`` and
    whose first two rows share their time (a long table; a trajectory CSV has increasing times).
    """
    if isinstance(data, Field):
        return True
    if type(data).__module__.startswith("xarray"):
        return True
    if isinstance(data, Mapping):
        return _looks_like_grid(data)
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        ext = path.suffix.lower()
        if not path.is_file():
            return ext in GRID_EXTENSIONS and ext != ".npz"
        if ext == ".npz":
            try:
                return _looks_like_grid(_npz_arrays(path))
            except Exception:  # unreadable archive: the trajectory reader reports it
                return False
        if ext in GRID_EXTENSIONS:
            return True
        if ext in CSV_EXTENSIONS or ext == "":
            return _csv_is_field(path)
    return False


# ----------------------------------------------------------------------------------------------------- loading
def _periodic_flags(periodic: Any, axes: tuple[str, ...], file: str | None) -> dict[str, bool] | None:
    if periodic is None:
        return None
    if isinstance(periodic, (bool, np.bool_)):
        return {a: bool(periodic) for a in axes}
    if isinstance(periodic, Mapping):
        unknown = sorted(set(periodic) - set(axes))
        if unknown:
            raise DataError(f"periodic names unknown axes {unknown}; the axes are {list(axes)}", file=file)
        return {a: bool(periodic.get(a, False)) for a in axes}
    flags = np.atleast_1d(np.asarray(periodic)).astype(bool).tolist()
    if len(flags) != len(axes):
        raise DataError(f"periodic has {len(flags)} flags; expected one per axis ({', '.join(axes)})", file=file)
    return dict(zip(axes, flags))


def _build(arrays: Mapping[str, Any], file: str | None, periodic: Any, source: str | None) -> Field:
    """A :class:`Field` from named arrays: coordinates ``t``, ``x`` [``y``], fields, optional ``periodic``."""
    arrays = dict(arrays)
    stored = arrays.pop(PERIODIC_KEY, None)
    for c in ("t", "x"):
        if c not in arrays:
            found = ", ".join(sorted(arrays)) or "nothing"
            raise DataError(f"missing coordinate {c!r}; expected 1-D arrays t and x (and y for 2-D) beside the "
                            f"fields, found {found}", file=file)
    axes = ("x", "y") if "y" in arrays else ("x",)
    coords = {a: arrays.pop(a) for a in axes}
    t = arrays.pop("t")
    values = {}
    for name, arr in arrays.items():
        if np.ndim(arr) < 2:
            raise DataError(f"array {name!r} has shape {np.shape(arr)}; a field needs shape "
                            f"(Nt, {', '.join('N' + a for a in axes)})", file=file, column=name)
        values[name] = arr
    flags = _periodic_flags(periodic, axes, file)
    if flags is None and stored is not None:
        flags = _periodic_flags(stored, axes, file)
    field = Field(t, coords, values, periodic=flags or {}, source=source)
    return field if flags is not None else with_detected_periodicity(field)


def with_detected_periodicity(field: Field) -> Field:
    """``field`` with each axis marked periodic when every field's ends agree (see :mod:`.periodic`).

    A grid that repeats its first point at the end loses that last sample.
    """
    flags, coords, values = {}, dict(field.coords), dict(field.values)
    for k, axis in enumerate(field.axes, start=1):
        results = [detect_periodic(v, axis=k) for v in values.values()]
        periodic = all(p for p, _ in results)
        drop = periodic and all(d for _, d in results)
        if drop:
            coords[axis] = coords[axis][:-1]
            values = {n: np.take(v, np.arange(v.shape[k] - 1), axis=k) for n, v in values.items()}
        flags[axis] = periodic
    return field.replace(coords=coords, values=values, periodic=flags)


def _from_xarray(ds: Any, file: str | None, periodic: Any, source: str | None) -> Field:
    import xarray as xr

    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name or "u")
    coords = {c: np.asarray(ds[c].values) for c in COORDINATES if c in ds.variables}
    named = all(c in ds.dims for c in coords)
    arrays: dict[str, Any] = dict(coords)
    for name, var in ds.data_vars.items():
        name = str(name)
        if name in COORDINATES:
            continue
        if name == PERIODIC_KEY:
            arrays[name] = np.asarray(var.values)
            continue
        if named and set(var.dims) <= set(coords) and len(var.dims) >= 2:
            order = [c for c in COORDINATES if c in var.dims]
            missing = [c for c in coords if c not in var.dims]
            if missing:
                raise DataError(f"field {name!r} has dimensions {list(var.dims)}; expected "
                                f"{list(coords)}", file=file, column=name)
            arrays[name] = np.asarray(var.transpose(*order).values)
        else:
            arrays[name] = np.asarray(var.values)
    return _build(arrays, file, periodic, source)


def _read_grid(path: Path, file: str, periodic: Any, source: str | None) -> Field:
    ext = path.suffix.lower()
    if ext == ".npz":
        try:
            arrays = _npz_arrays(path)
        except Exception as exc:  # any reader failure means the file is not a readable NPZ archive
            raise DataError(f"cannot read the NPZ file ({_one_line(exc)}); expected an archive written by "
                            "numpy.savez", file=file) from None
        return _build(arrays, file, periodic, source)
    import xarray as xr

    try:
        with xr.open_dataset(path, engine="h5netcdf", phony_dims="sort") as ds:
            ds.load()
            return _from_xarray(ds, file, periodic, source)
    except DataError:
        raise
    except Exception as exc:  # any reader failure means the file is not readable NetCDF/HDF5
        raise DataError(f"cannot read the file as NetCDF/HDF5 ({_one_line(exc)}); expected datasets t, x "
                        "[, y] and one per field", file=file) from None


def _read_long_csv(content: Any, file: str | None, periodic: Any, source: str | None) -> Field:
    """A long table ``t, x[, y], u, v, ...`` covering the full grid once."""
    import pandas as pd

    try:
        frame = pd.read_csv(content)
    except Exception as exc:  # any parser failure means the file is not a readable CSV
        raise DataError(f"cannot read the CSV ({_one_line(exc)}); expected a header row t, x[, y], fields",
                        file=file) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    for c in ("t", "x"):
        if c not in frame.columns:
            raise DataError(f"missing coordinate column {c!r}; a long field CSV has columns t, x[, y] and one "
                            f"per field, found {', '.join(frame.columns)}", file=file)
    axes = ("t", "x", "y") if "y" in frame.columns else ("t", "x")
    names = [c for c in frame.columns if c not in axes]
    if not names:
        raise DataError("the CSV has coordinate columns only; expected at least one field column (e.g. u)",
                        file=file)
    for c in frame.columns:
        numeric = pd.to_numeric(frame[c], errors="coerce")
        bad = np.flatnonzero(numeric.isna().to_numpy() & frame[c].notna().to_numpy())
        if bad.size:
            raise DataError(f"non-numeric value {frame[c].iloc[bad[0]]!r}; expected a number", file=file,
                            row=int(bad[0]) + 2, column=c)
        frame[c] = numeric
    for c in axes:
        missing = np.flatnonzero(frame[c].isna().to_numpy())
        if missing.size:
            raise DataError("empty coordinate cell; expected a number in every row", file=file,
                            row=int(missing[0]) + 2, column=c)
    levels = [np.unique(frame[c].to_numpy()) for c in axes]
    expected = int(np.prod([lv.shape[0] for lv in levels]))
    codes = [np.searchsorted(lv, frame[c].to_numpy()) for lv, c in zip(levels, axes)]
    flat = np.ravel_multi_index(codes, [lv.shape[0] for lv in levels])
    counts = np.bincount(flat, minlength=expected)
    if len(frame) != expected or counts.max() > 1:
        dup = np.flatnonzero(counts > 1)
        if dup.size:
            idx = np.unravel_index(dup[0], [lv.shape[0] for lv in levels])
            at = ", ".join(f"{c}={lv[i]:g}" for c, lv, i in zip(axes, levels, idx))
            what = f"{int((counts > 1).sum())} grid point(s) appear more than once (first {at})"
        else:
            idx = np.unravel_index(np.flatnonzero(counts == 0)[0], [lv.shape[0] for lv in levels])
            at = ", ".join(f"{c}={lv[i]:g}" for c, lv, i in zip(axes, levels, idx))
            what = f"{int((counts == 0).sum())} grid point(s) are missing (first {at})"
        dims = " x ".join(f"{lv.shape[0]} {c}" for c, lv in zip(axes, levels))
        raise DataError(f"ragged grid: {len(frame)} rows but the distinct values span {dims} = {expected} points; "
                        f"{what}; expected one row per grid point", file=file)
    order = np.argsort(flat)
    shape = tuple(lv.shape[0] for lv in levels)
    arrays: dict[str, Any] = dict(zip(axes, levels))
    for n in names:
        arrays[n] = frame[n].to_numpy()[order].reshape(shape)
    return _build(arrays, file, periodic, source)


def load_field(data: Any, *, periodic: bool | Mapping[str, bool] | None = None,
               source: str | None = None) -> Field:
    """Read a field from a path (NPZ, NetCDF, HDF5, long CSV), an xarray object, a dict of arrays or a Field.

    Parameters
    ----------
    data:
        The input (see :func:`is_field`).
    periodic:
        ``True``/``False`` for every axis, or ``{"x": True, "y": False}``; ``None`` keeps flags stored in the file
        or detects them (values and slopes at both ends agree within the noise).
    source:
        Name for messages and results (default: the file name).

    Examples
    --------
    >>> import numpy as np
    >>> t, x = np.linspace(0, 1, 16), np.linspace(0, 1, 20)
    >>> load_field({"t": t, "x": x, "u": np.outer(t, x)}).summary()
    'field: 1 field (u) on t (16 points, [0, 1]), x (20 points, [0, 1])'
    """
    field = _load(data, periodic, source)
    for name, n in zip(("t",) + field.axes, field.shape):
        check_size(n, name, field.source, MIN_POINTS)
    return field


def _load(data: Any, periodic: Any, source: str | None) -> Field:
    if isinstance(data, Field):
        flags = _periodic_flags(periodic, data.axes, data.source)
        return data if flags is None else data.replace(periodic=flags)
    if type(data).__module__.startswith("xarray"):
        return _from_xarray(data, None, periodic, source)
    if isinstance(data, Mapping):
        return _build(data, None, periodic, source)
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        file = str(data)
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            raise DataError(f"file not found: the path {what}; expected a field file", file=file)
        ext = path.suffix.lower()
        name = source or path.name
        if ext in GRID_EXTENSIONS:
            return _read_grid(path, file, periodic, name)
        if ext in CSV_EXTENSIONS or ext == "":
            return _read_long_csv(path, file, periodic, name)
        raise DataError(f"unsupported field file type {ext!r}; expected one of "
                        f"{', '.join(GRID_EXTENSIONS + CSV_EXTENSIONS)}", file=file)
    if isinstance(data, (bytes, io.IOBase)):
        raise DataError("field content must be given as a path, an xarray Dataset or a dict of arrays")
    raise DataError(f"cannot read a field from a {type(data).__name__}; expected a path, an xarray Dataset, a dict "
                    "of arrays (t, x[, y], fields) or a Field")
