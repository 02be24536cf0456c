"""The :class:`Field` type: one or more fields sampled on a uniform ``(t, x[, y])`` grid, and its checks."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Union

import numpy as np

from discovery.errors import DataError
from discovery.io import atomic_path
from grammar.errors import GrammarError
from grammar.pde_zoo import AXES, check_field_name

PathLike = Union[str, os.PathLike]

MIN_POINTS = 16
"""Fewest samples along any axis (time or space) of a field read for discovery (:func:`load_field`): the derivative
stencils and weak-form windows need this many. A :class:`Field` itself (a simulation) needs two."""

UNIFORM_RTOL = 1e-3
"""A coordinate is uniform when every step is within this relative tolerance of the mean step."""


def _where(source: str | None) -> dict:
    return {"file": source} if source else {}


def check_size(n: int, name: str, source: str | None = None, minimum: int = MIN_POINTS) -> None:
    """Raise :class:`DataError` when an axis has fewer than ``minimum`` samples."""
    if n < minimum:
        raise DataError(
            f"too few points along {name!r}: {n}; expected at least {minimum} "
            "(derivatives and weak-form windows need them)", column=name, **_where(source))


def check_coordinate(values: object, name: str, source: str | None = None, minimum: int = 2) -> np.ndarray:
    """A coordinate as a float64 ``(N,)`` array that is finite, strictly increasing, uniform, and long enough.

    Raises :class:`DataError` (one line: what, where, how to fix) otherwise.
    """
    where = _where(source)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"coordinate {name!r} is not numeric; expected a 1-D array of numbers", column=name,
                        **where) from None
    if arr.ndim != 1:
        raise DataError(f"coordinate {name!r} has shape {arr.shape}; expected a 1-D array", column=name, **where)
    check_size(arr.shape[0], name, source, minimum)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise DataError(f"coordinate {name!r} has a non-finite value ({arr[bad[0]]}) at index {bad[0]}; "
                        "expected finite numbers", column=name, **where)
    steps = np.diff(arr)
    back = np.flatnonzero(steps <= 0)
    if back.size:
        i = int(back[0])
        raise DataError(
            f"coordinate {name!r} is not increasing: index {i + 1} ({arr[i + 1]:g}) follows {arr[i]:g}; "
            "expected strictly increasing values (sort the grid and the fields with it)", column=name, **where)
    mean = (arr[-1] - arr[0]) / (arr.shape[0] - 1)
    worst = float(np.max(np.abs(steps - mean)))
    if worst > UNIFORM_RTOL * mean:
        raise DataError(
            f"coordinate {name!r} is not evenly spaced: steps from {steps.min():.6g} to {steps.max():.6g}; "
            "expected a uniform grid (interpolate the field onto one)", column=name, **where)
    return np.ascontiguousarray(arr)


def check_values(values: object, name: str, shape: tuple[int, ...], axes: tuple[str, ...],
                 coords: Mapping[str, np.ndarray], source: str | None = None) -> np.ndarray:
    """Field ``name`` as a finite float64 array of ``shape`` = ``(Nt, Nx[, Ny])``, or a :class:`DataError`."""
    where = _where(source)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"field {name!r} is not numeric; expected an array of numbers", column=name,
                        **where) from None
    dims = ", ".join(("t",) + axes)
    if arr.shape != shape:
        raise DataError(
            f"field {name!r} has shape {arr.shape}; expected {shape}, one value per ({dims}) grid point",
            column=name, **where)
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        at = ", ".join(f"{a}={coords[a][i]:g}" for a, i in zip(("t",) + axes, idx))
        what = "NaN" if np.isnan(arr[idx]) else "an infinite value"
        raise DataError(
            f"field {name!r} has {what} at {at} ({bad.shape[0]} non-finite value{'s' * (bad.shape[0] != 1)}); "
            "expected finite numbers everywhere (fill or crop the gaps)", column=name, **where)
    return np.ascontiguousarray(arr)


@dataclass(frozen=True, eq=False)
class Field:
    """Fields ``u(t, x[, y])`` on a uniform grid: the data a PDE is discovered from.

    Parameters
    ----------
    t:
        Times, ``(Nt,)``, strictly increasing and evenly spaced (at least two; readers ask for
        :data:`MIN_POINTS` along every axis).
    coords:
        Spatial coordinates by axis, ``{"x": (Nx,)}`` or ``{"x": (Nx,), "y": (Ny,)}``, evenly spaced. A periodic
        axis holds one period without its repeated end point (``x[-1] + dx`` is ``x[0]`` plus the period).
    values:
        Field name -> values ``(Nt, Nx[, Ny])``, finite. Names are a letter then letters or digits.
    periodic:
        Axis -> whether the field is periodic along it (see :func:`discovery.fields.periodic.detect_periodic`).
    source:
        Where the data came from (a file name), for messages and results.

    Examples
    --------
    >>> import numpy as np
    >>> t, x = np.linspace(0, 1, 20), np.linspace(0, 2 * np.pi, 32, endpoint=False)
    >>> f = Field(t, {"x": x}, {"u": np.exp(-t)[:, None] * np.sin(x)}, periodic={"x": True}, source="wave.npz")
    >>> f.summary()
    'wave.npz: 1 field (u) on t (20 points, [0, 1]), x (32 points, [0, 6.08684], periodic)'
    """

    t: np.ndarray  # (Nt,)
    coords: dict[str, np.ndarray]  # axis -> (N_axis,)
    values: dict[str, np.ndarray]  # name -> (Nt, Nx[, Ny])
    periodic: dict[str, bool] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        src = self.source
        if not isinstance(self.coords, Mapping) or tuple(self.coords) not in (AXES[:1], AXES):
            found = list(self.coords) if isinstance(self.coords, Mapping) else type(self.coords).__name__
            raise DataError(f"a field needs spatial coordinate 'x' (1-D) or 'x' and 'y' (2-D); found {found}",
                            **_where(src))
        t = check_coordinate(self.t, "t", src)
        coords = {a: check_coordinate(c, a, src) for a, c in self.coords.items()}
        if not isinstance(self.values, Mapping) or not self.values:
            raise DataError("a field file needs at least one field besides the coordinates (e.g. u); found none",
                            **_where(src))
        axes = tuple(coords)
        shape = (t.shape[0],) + tuple(c.shape[0] for c in coords.values())
        values = {}
        for name, arr in self.values.items():
            try:
                check_field_name(name)
            except GrammarError as exc:
                raise DataError(str(exc), column=str(name), **_where(src)) from None
            values[name] = check_values(arr, name, shape, axes, {"t": t, **coords}, src)
        periodic = {a: bool(self.periodic.get(a, False)) for a in axes}
        unknown = sorted(set(self.periodic) - set(axes))
        if unknown:
            raise DataError(f"periodic flags name unknown axes {unknown}; the axes are {list(axes)}", **_where(src))
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "coords", coords)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "periodic", periodic)

    # -- description
    @property
    def axes(self) -> tuple[str, ...]:
        """Spatial axes, ``("x",)`` or ``("x", "y")``."""
        return tuple(self.coords)

    @property
    def names(self) -> tuple[str, ...]:
        """Field names, in order."""
        return tuple(self.values)

    @property
    def x(self) -> np.ndarray:
        """The ``x`` coordinate."""
        return self.coords["x"]

    @property
    def y(self) -> np.ndarray | None:
        """The ``y`` coordinate, or ``None`` for a 1-D field."""
        return self.coords.get("y")

    @property
    def shape(self) -> tuple[int, ...]:
        """``(Nt, Nx[, Ny])``."""
        return (self.t.shape[0],) + tuple(c.shape[0] for c in self.coords.values())

    @property
    def dt(self) -> float:
        """Time step."""
        return float((self.t[-1] - self.t[0]) / (self.t.shape[0] - 1))

    def spacing(self, axis: str) -> float:
        """Grid step along ``axis``."""
        c = self.coords[axis]
        return float((c[-1] - c[0]) / (c.shape[0] - 1))

    def length(self, axis: str) -> float:
        """Extent of ``axis``: the period ``N * dx`` when periodic, ``x[-1] - x[0]`` otherwise."""
        c = self.coords[axis]
        return float(c.shape[0] * self.spacing(axis) if self.periodic[axis] else c[-1] - c[0])

    def stack(self) -> np.ndarray:
        """All fields as one array ``(F, Nt, Nx[, Ny])``, in :attr:`names` order."""
        return np.stack([self.values[n] for n in self.names])

    def summary(self) -> str:
        """One line: source, fields, and each axis with its points, range and periodicity."""
        n = len(self.values)
        parts = [f"t ({self.t.shape[0]} points, [{self.t[0]:.6g}, {self.t[-1]:.6g}])"]
        for a, c in self.coords.items():
            parts.append(f"{a} ({c.shape[0]} points, [{c[0]:.6g}, {c[-1]:.6g}]"
                         f"{', periodic' if self.periodic[a] else ''})")
        return (f"{self.source or 'field'}: {n} field{'s' * (n != 1)} ({', '.join(self.names)}) on "
                + ", ".join(parts))

    def __repr__(self) -> str:
        return f"Field({self.summary()})"

    # -- derived copies
    def replace(self, **changes: object) -> "Field":
        """A copy with some of ``t``, ``coords``, ``values``, ``periodic``, ``source`` replaced."""
        kwargs = {"t": self.t, "coords": self.coords, "values": self.values, "periodic": self.periodic,
                  "source": self.source}
        kwargs.update(changes)
        return Field(**kwargs)

    def with_noise(self, p: float, seed: int | None = 0) -> "Field":
        """A copy with Gaussian noise of standard deviation ``p * std(f)`` added to each field ``f``."""
        if not (isinstance(p, (int, float)) and math.isfinite(p) and p >= 0):
            raise ValueError(f"noise level p must be a finite number >= 0 (e.g. 0.01 for 1%); got {p!r}")
        rng = np.random.default_rng(seed)
        noisy = {n: v + p * v.std() * rng.standard_normal(v.shape) for n, v in self.values.items()}
        return self.replace(values=noisy)

    def time_slice(self, start: int, stop: int) -> "Field":
        """The samples ``start:stop`` in time."""
        return self.replace(t=self.t[start:stop], values={n: v[start:stop] for n, v in self.values.items()})

    # -- writing
    def to_npz(self, path: PathLike) -> Path:
        """Write ``t``, the coordinates, the fields and a ``periodic`` flag per axis to an NPZ file, atomically."""
        arrays = {"t": self.t, **self.coords, **self.values,
                  "periodic": np.array([self.periodic[a] for a in self.axes])}
        with atomic_path(path) as tmp:
            np.savez(tmp, **arrays)
        return Path(path)

    def to_netcdf(self, path: PathLike) -> Path:
        """Write a NetCDF4/HDF5 file (xarray, engine ``h5netcdf``) with named dimensions, atomically."""
        import xarray as xr

        dims = ("t",) + self.axes
        ds = xr.Dataset({n: (dims, v) for n, v in self.values.items()},
                        coords={"t": self.t, **{a: c for a, c in self.coords.items()}})
        ds["periodic"] = (("axis",), np.array([self.periodic[a] for a in self.axes], dtype=np.int8))
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp, engine="h5netcdf")
        return Path(path)

    def save(self, path: PathLike) -> Path:
        """Write by extension: ``.npz``, ``.csv`` (long table) or ``.nc``/``.h5`` (NetCDF4)."""
        ext = Path(path).suffix.lower()
        if ext == ".npz":
            return self.to_npz(path)
        if ext == ".csv":
            return self.to_csv(path)
        if ext in (".nc", ".nc4", ".h5", ".hdf5"):
            return self.to_netcdf(path)
        raise DataError(f"cannot write a field to {ext or 'a file without extension'!r}; use .npz, .csv, .nc or .h5",
                        file=str(path))

    def to_frame(self):
        """The long table: columns ``t``, the axes, and one per field, one row per grid point (C order)."""
        import pandas as pd

        grids = np.meshgrid(self.t, *self.coords.values(), indexing="ij")
        columns = {"t": grids[0].ravel()}
        columns.update({a: g.ravel() for a, g in zip(self.axes, grids[1:])})
        columns.update({n: v.ravel() for n, v in self.values.items()})
        return pd.DataFrame(columns)

    def to_csv(self, path: PathLike) -> Path:
        """Write :meth:`to_frame` as a long CSV, atomically (floats round-trip exactly)."""
        with atomic_path(path) as tmp:
            self.to_frame().to_csv(tmp, index=False, lineterminator="\n")
        return Path(path)
