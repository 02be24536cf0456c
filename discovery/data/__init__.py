"""Trajectories, the data eqdisco learns from, and their loading and validation (the data contract of DESIGN.md).

A :class:`Trajectory` is one time series ``t (N,)``, ``x (N, D)``; :class:`Trajectories` holds one or more of
them with shared variable names. :func:`load_trajectories` reads CSV, Parquet and NPZ files, pandas DataFrames,
dicts of arrays and ``(t, x)`` arrays, and raises :class:`~discovery.errors.DataError` naming the file, row and
column of the first problem, in one line that says what was expected, what was found and how to fix it.

Modules:

- ``trajectories``: the :class:`Trajectory` and :class:`Trajectories` types;
- ``loader``: :func:`load_trajectories`, which dispatches on the kind of input;
- ``readers``: files by extension (Parquet, NPZ; CSV through ``csv_reader``, with line-accurate errors);
- ``memory``: DataFrames, dicts of columns and ``(t, x)`` arrays;
- ``layout``, ``names``, ``cells``, ``assemble``, ``options``: the checks every input shares (column roles,
  variable names, cell values, time order and length).
"""

from __future__ import annotations

from discovery.data.loader import load_trajectories
from discovery.data.names import MAX_STATE_VARS, RESERVED_NAMES
from discovery.data.readers import SUPPORTED_EXTENSIONS
from discovery.data.trajectories import Trajectories, Trajectory

__all__ = [
    "MAX_STATE_VARS",
    "RESERVED_NAMES",
    "SUPPORTED_EXTENSIONS",
    "Trajectories",
    "Trajectory",
    "load_trajectories",
]
