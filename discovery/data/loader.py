"""The loading entry point: :func:`load_trajectories` dispatches on the kind of input and validates it."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from discovery.data.memory import load_columns, load_frame, load_pairs
from discovery.data.options import LoadOptions
from discovery.data.readers import load_content, load_path
from discovery.data.trajectories import Trajectories, Trajectory
from discovery.errors import DataError


_GAPS = ("empty cell", "value 'nan'", "value nan", "value 'NaN'")
"""How a cell error starts when the cell holds no value (:func:`discovery.data.cells.cell`): in an input column
that is a gap in the signal."""


def load_trajectories(
    data: Any,
    *,
    variables: Sequence[str] | None = None,
    time_column: str | None = None,
    trajectory_column: str | None = "trajectory",
    source: str | None = None,
    min_points: int = 10,
    inputs: Sequence[str] | None = None,
    parameters: Sequence[str] | None = None,
) -> Trajectories:
    """Load and validate trajectories from a file, a DataFrame, a dict of arrays or arrays.

    Parameters
    ----------
    data:
        One of: a path (``str`` or ``Path``) to a ``.csv``, ``.parquet`` or ``.npz`` file; an open binary or text
        file object (its ``name`` picks the format, CSV by default); a pandas DataFrame; a dict of 1-D arrays,
        one per column; a pair ``(t, x)`` with ``t (N,)`` and ``x (N, D)`` (or ``(N,)``), or a list of such
        pairs; or a :class:`Trajectories`, returned as is. An NPZ file holds either arrays ``t`` and ``x`` of
        shape ``(N, D)`` or ``(M, N, D)`` (``t`` of shape ``(N,)`` or ``(M, N)``) with optional ``variables``,
        or one 1-D array per column.
    variables:
        For tables: the state columns to load, in this order (default: every column but time and
        trajectory). For arrays: the names of the ``D`` columns of ``x`` (default ``x0, x1, ...``).
    time_column:
        Name of the time column; by default the column named ``t`` or ``time`` (any case).
    trajectory_column:
        Name of the optional integer column that splits a table into several trajectories; ``None`` for none.
    source:
        Label for messages and results; by default the file name.
    min_points:
        Fewest time points accepted in each trajectory.
    inputs:
        Columns loaded as measured input signals (a drive, a control): they enter the equations as symbols,
        interpolated linearly between samples, but get no equation of their own. Every sample needs a value.
    parameters:
        Columns loaded as per-trajectory parameters (``mu``, a dilution rate): constant within each trajectory
        (split a file by its ``trajectory`` column), symbols of the equations without an equation of their own.

    Returns
    -------
    Trajectories
        With finite values, strictly increasing times and valid variable names.

    Raises
    ------
    DataError
        On any input that breaks the data contract. ``file`` is the path as given; ``row`` is the 1-based line
        number for CSV files (the header is line 1), the 0-based row index for Parquet files, DataFrames and
        arrays; ``column`` is the column's name.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 2, 21)
    >>> data = load_trajectories({"t": t, "x": np.exp(-t), "y": np.cos(t)}, source="demo")
    >>> data.variables, data.n_points
    (('x', 'y'), 21)
    """
    opts = LoadOptions.checked(variables, time_column, trajectory_column, min_points, source, inputs, parameters)
    try:
        return _load(data, opts)
    except DataError as exc:
        if exc.column is not None and exc.column in opts.inputs and exc.reason.startswith(_GAPS):
            raise DataError(f"input {exc.column!r} has a gap ({exc.reason}); an input needs a value at every sample "
                            "(fill the gap, e.g. by interpolation, or drop the row)",
                            file=exc.file, row=exc.row, column=exc.column) from None
        raise


def _load(data: Any, opts: LoadOptions) -> Trajectories:
    """:func:`load_trajectories` after its options are checked."""
    if isinstance(data, Trajectories):
        if opts.variables is None and not opts.external:
            return data
        return _select(data, opts)
    if isinstance(data, (str, os.PathLike)):
        return load_path(Path(data), str(data), opts)
    if hasattr(data, "read"):
        name = getattr(data, "name", None)
        name = name if isinstance(name, str) else None
        if name is not None and opts.source is None:
            opts = replace(opts, source=Path(name).name)
        return load_content(data.read(), Path(name or "data.csv").suffix.lower(), name, opts)
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return load_frame(data, opts.source, opts)
    if isinstance(data, Mapping):
        return load_columns([str(k) for k in data], [data[k] for k in data], opts.source, opts)
    if isinstance(data, (tuple, list)):
        return load_pairs(data, opts.source, opts)
    if isinstance(data, np.ndarray):
        raise DataError(
            f"a bare array of shape {data.shape} has no time axis; expected a pair (t, x) with t (N,) and x (N, D)",
            file=opts.source,
        )
    raise DataError(
        f"unsupported data of type {type(data).__name__}; expected a path (.csv, .parquet, .npz), a DataFrame, "
        "a dict of arrays, a pair (t, x), a list of such pairs, or Trajectories",
        file=opts.source,
    )


def _select(data: Trajectories, opts: LoadOptions) -> Trajectories:
    """The states ``opts.variables`` of ``data`` (default: all but the inputs and parameters), and its inputs and
    parameters as ``opts`` declares them (a declared name may be one of ``data``'s states: it is moved to ``u``)."""
    columns = (*data.variables, *data.external)
    inputs = opts.inputs or data.inputs
    parameters = opts.parameters or data.parameters
    for label, names in (("input", inputs), ("parameter", parameters)):
        missing = [v for v in names if v not in columns]
        if missing:
            raise DataError(f"{label} {missing[0]!r} not found; the data has {', '.join(columns)}", file=data.source)
    external = (*inputs, *parameters)
    variables = opts.variables or tuple(v for v in columns if v not in external)
    missing = [v for v in variables if v not in data.variables]
    if missing:
        raise DataError(
            f"variable {missing[0]!r} not found; the data has {', '.join(data.variables)}", file=data.source
        )
    idx = [columns.index(v) for v in variables]
    ext = [columns.index(v) for v in external]
    trajectories = [Trajectory(tr.t, np.hstack([tr.x, tr.u])[:, idx], np.hstack([tr.x, tr.u])[:, ext]) for tr in data]
    return Trajectories(variables, trajectories, data.source, inputs=inputs, parameters=parameters)
