"""In-memory inputs: pandas DataFrames, dicts of columns, and ``(t, x)`` arrays (rows are 0-based indices)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from discovery.data.assemble import Piece, assemble, from_table
from discovery.data.cells import cell, numeric_column
from discovery.data.layout import table_layout
from discovery.data.names import MAX_STATE_VARS, TIME_NAMES, check_variable_names
from discovery.data.options import LoadOptions
from discovery.data.trajectories import Trajectories
from discovery.errors import DataError


def load_frame(frame: Any, file: str | None, opts: LoadOptions) -> Trajectories:
    """Load a pandas DataFrame; a time column kept as the index (``df.set_index("t")``) is used as such."""
    names = [str(c).strip() for c in frame.columns]
    if frame.index.name is not None:  # time kept as the index (df.set_index("t")): use it as the time column
        index_name, wanted = str(frame.index.name).strip(), opts.time_column
        if wanted is None:
            is_time = index_name.lower() in TIME_NAMES and not any(n.lower() in TIME_NAMES for n in names)
        else:
            is_time = index_name == wanted.strip() and wanted.strip() not in names
        if is_time:
            frame = frame.reset_index()
            names = [str(c).strip() for c in frame.columns]
    return load_columns(names, [frame.iloc[:, k].to_numpy() for k in range(frame.shape[1])], file, opts)


def _datetimes(a: np.ndarray, file: str | None, column: str) -> np.ndarray:
    """An object column of date-times (pandas ``Timestamp`` or ``datetime``, as a time-zone-aware column gives
    them) as naive UTC ``datetime64``; any other column unchanged. Dates with and without a zone cannot be
    ordered together: such a column is refused at the first date that differs from the first one."""
    import datetime

    import pandas as pd

    present = [(i, v) for i, v in enumerate(a.tolist()) if v is not None and v is not pd.NaT
               and not (isinstance(v, float) and np.isnan(v))]
    if not present or not all(isinstance(v, datetime.datetime) for _, v in present):
        return a
    zoned = present[0][1].tzinfo is not None
    for i, v in present:
        if (v.tzinfo is not None) != zoned:
            raise DataError(f"date {str(v)!r} has {'a' if not zoned else 'no'} time zone but the first date "
                            f"{str(present[0][1])!r} has {'none' if not zoned else 'one'}; expected every date with "
                            "a zone or every date without one", file=file, row=i, column=column)
    stamps = pd.to_datetime(pd.Series(a, dtype=object), utc=zoned)
    return (stamps.dt.tz_localize(None) if zoned else stamps).to_numpy(dtype="datetime64[ns]")


def _clock_to_seconds(a: np.ndarray, file: str | None = None, column: str = "t") -> np.ndarray:
    """A time column of dates (``datetime64``, or date-time objects with or without a time zone) as seconds since
    its earliest one (zoned dates compared in UTC: true elapsed time across daylight-saving changes), of durations
    (``timedelta64``) as seconds; anything else unchanged. Missing values (``NaT``) become NaN, reported like any
    bad cell."""
    if a.dtype == object and a.size:
        a = _datetimes(a, file, column)
    if a.dtype.kind == "M" and a.size:
        valid = a[~np.isnat(a)]
        start = valid.min() if valid.size else a[0]
        return (a - start) / np.timedelta64(1, "s")
    if a.dtype.kind == "m":
        return a / np.timedelta64(1, "s")
    return a


def load_columns(names: list[str], columns: list[Any], file: str | None, opts: LoadOptions) -> Trajectories:
    """Load a table given as column ``names`` and one 1-D array per column."""
    names = [n.strip() for n in names]
    layout = table_layout(names, file, None, opts)
    arrays = [np.asarray(c) for c in columns]
    arrays[layout.time] = _clock_to_seconds(arrays[layout.time], file, names[layout.time])
    n_rows = None
    for k in layout.used:
        a = arrays[k]
        if a.dtype.kind in "mMc":
            kind = {"m": "durations", "M": "dates", "c": "complex numbers"}[a.dtype.kind]
            raise DataError(f"non-numeric values ({kind}, dtype {a.dtype}); expected real numbers, e.g. seconds",
                            file=file, row=0, column=names[k])
        if a.ndim != 1:
            raise DataError(f"column {names[k]!r} has shape {a.shape}; expected a 1-D array of values "
                            "(pass (t, x) for a 2-D state array)", file=file, column=names[k])
        if n_rows is None:
            n_rows, first = a.shape[0], names[k]
        elif a.shape[0] != n_rows:
            raise DataError(f"column {names[k]!r} has {a.shape[0]} values; expected {n_rows} like {first!r}",
                            file=file, column=names[k])
    if not n_rows:
        raise DataError(f"the table has no rows; expected at least {opts.min_points}", file=file)
    converted = []  # first bad cell in row-major order wins
    bad: list[tuple[int, int]] = []
    for pos, k in enumerate(layout.used):
        col, bad_row = numeric_column(arrays[k], k == layout.trajectory)
        converted.append(col)
        if bad_row is not None:
            bad.append((bad_row, pos))
    if bad:
        row, pos = min(bad)
        k = layout.used[pos]
        cell(arrays[k][row], names[k], k == layout.trajectory, file, row)  # raises with the precise reason
        raise DataError("invalid value; expected a finite number", file=file, row=row, column=names[k])
    values = np.stack(converted, axis=1)  # (R, U)
    return from_table(values, layout, lambda i: i, file, opts)


def load_pairs(data: Sequence[Any], file: str | None, opts: LoadOptions, force_list: bool = False) -> Trajectories:
    """Load a pair ``(t, x)`` or a list of pairs (always a list when ``force_list``); ``x`` may be ``(N,)``."""
    def is_pair(item: Any) -> bool:
        return isinstance(item, (tuple, list)) and len(item) == 2 and np.ndim(item[0]) >= 1

    if opts.external:
        raise DataError(f"inputs and parameters ({', '.join(opts.external)}) are named columns: pass a DataFrame, a "
                        "dict of columns or a file, not (t, x) arrays", file=file)

    if not force_list and not (len(data) > 0 and all(is_pair(item) for item in data)):
        if len(data) != 2:
            raise DataError(
                f"a sequence of {len(data)} items is not a pair (t, x); expected (t, x) with t (N,) and x (N, D), "
                "or a list of such pairs",
                file=file,
            )
        data = [tuple(data)]
    parsed = []
    for m, (t_raw, x_raw) in enumerate(data):
        where = f" of trajectory {m}" if len(data) > 1 else ""
        try:
            t = np.asarray(t_raw, dtype=np.float64)
            x = np.asarray(x_raw, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"arrays t and x{where} must be numeric; conversion failed ({exc})", file=file) from None
        if x.ndim == 1:
            x = x[:, None]
        if t.ndim != 1 or x.ndim != 2 or x.shape[0] != t.shape[0]:
            raise DataError(f"t{where} has shape {t.shape} and x has shape {x.shape}; expected t (N,) and x (N, D)",
                            file=file)
        parsed.append((t, x))
    d = parsed[0][1].shape[1]
    for m, (_, x) in enumerate(parsed):
        if x.shape[1] != d:
            raise DataError(f"trajectory {m} has {x.shape[1]} state columns; expected {d} like trajectory 0", file=file)
    names = opts.variables or tuple(f"x{k}" for k in range(d))
    if len(names) != d:
        raise DataError(f"{len(names)} variable names given ({', '.join(names)}) for {d} state columns; expected {d}",
                        file=file)
    if d > MAX_STATE_VARS:
        raise DataError(f"{d} state variables found; at most {MAX_STATE_VARS} are supported", file=file)
    check_variable_names(names, file=file, row=None)
    pieces: list[Piece] = []
    for m, (t, x) in enumerate(parsed):
        bad = ~np.isfinite(np.column_stack([t, x]))  # (N, 1 + D)
        if bad.any():
            row, col = (int(v) for v in np.argwhere(bad)[0])
            where = f" in trajectory {m}" if len(parsed) > 1 else ""
            value = t[row] if col == 0 else x[row, col - 1]
            raise DataError(f"value {value} is not finite{where}; expected finite numbers (no NaN or infinity)",
                            file=file, row=row, column="t" if col == 0 else names[col - 1])
        pieces.append((t, x, (lambda i: i), f"trajectory {m}" if len(parsed) > 1 else None))
    return assemble(names, pieces, "t", None, file, opts)
