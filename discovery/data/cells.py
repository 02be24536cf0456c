"""Cell values: which are valid (finite numbers; integers for trajectory ids), and the error for one that is not."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from discovery.errors import DataError


MAX_EXACT_ID = 2**53 - 1
"""Largest trajectory id magnitude accepted: every integer up to it is exact in a float64, so distinct ids in the
file stay distinct (``2**53`` and ``2**53 + 1`` would both read as ``2**53`` and be merged)."""


def valid(values: np.ndarray, integer: bool = False) -> np.ndarray:
    """Mask of the cells of ``values`` that are finite (and integral and at most :data:`MAX_EXACT_ID` in magnitude
    when ``integer``), same shape."""
    ok = np.isfinite(values)
    if integer:
        safe = np.where(ok, values, 0.0)
        ok &= np.equal(safe, np.round(safe)) & (np.abs(safe) <= MAX_EXACT_ID)
    return ok


def plain_number_text(text: str) -> bool:
    """Whether ``text`` may be a number in a data file: ASCII, no ``_`` (``float`` also reads Python's digit
    groups ``1_000`` and non-ASCII digits ``١٢``, which no CSV tool writes as numbers)."""
    return text.isascii() and "_" not in text


def first_bad(values: np.ndarray, integer_last: bool) -> tuple[int, int] | None:
    """Row-major position of the first non-finite cell of ``values (R, U)`` (or non-integer id in the last column)."""
    ok = valid(values)  # (R, U)
    if integer_last and values.shape[0]:
        ok[:, -1] = valid(values[:, -1], integer=True)
    if ok.all():
        return None
    row, col = np.argwhere(~ok)[0]
    return int(row), int(col)


def numeric_column(a: np.ndarray, integer: bool) -> tuple[np.ndarray, int | None]:
    """``a`` as float64 and the index of its first bad cell (non-numeric, empty, non-finite), if any."""
    if a.dtype.kind in "iub":
        col = a.astype(np.float64)
        if integer and a.dtype.kind in "iu":  # compare the integers themselves: float64 would round them
            big = np.flatnonzero((a > MAX_EXACT_ID) | ((a < -MAX_EXACT_ID) if a.dtype.kind == "i" else False))
            return col, (int(big[0]) if big.size else None)
        return col, None
    if a.dtype.kind == "f":
        col = a.astype(np.float64)
    else:  # strings or objects: the same conversion as a CSV cell
        col = np.array([_try_float(v) for v in a.tolist()], dtype=np.float64)
    ok = valid(col, integer)
    if not ok.all():
        return col, int(np.argmin(ok))
    return col, None


def cell(text: Any, column: str, integer: bool, file: str | None, row: int) -> float:
    """One cell as a float; raise the DataError that says what is wrong with it."""
    if text is None:
        text = ""
    if isinstance(text, str):
        stripped = text.strip()
        if not stripped:
            raise DataError("empty cell; expected a number (fill it in or delete the row)", file=file, row=row,
                            column=column)
        shown = stripped if len(stripped) <= 40 else stripped[:37] + "..."
    else:
        stripped, shown = text, str(text)
    try:
        value = None if isinstance(stripped, str) and not plain_number_text(stripped) else float(stripped)
    except (TypeError, ValueError, OverflowError):
        value = None
    if integer and (value is None or not math.isfinite(value) or value != round(value)):
        raise DataError(f"trajectory id {shown!r} is not an integer; expected integer ids such as 0, 1, 2",
                        file=file, row=row, column=column)
    if integer and abs(value) > MAX_EXACT_ID:
        raise DataError(f"trajectory id {shown!r} is too large: ids beyond 2**53 - 1 = {MAX_EXACT_ID:,} cannot be "
                        "told apart exactly; expected small integer ids such as 0, 1, 2 (renumber the trajectories)",
                        file=file, row=row, column=column)
    if value is None:
        raise DataError(f"non-numeric value {shown!r}{_numeric_hint(stripped, column)}", file=file, row=row,
                        column=column)
    if not math.isfinite(value):
        raise DataError(f"value {shown!r} is not finite; expected a finite number (no NaN or infinity)",
                        file=file, row=row, column=column)
    return value


_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}|^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|^\d{1,2}:\d{2}")
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+$")


def _numeric_hint(text: Any, column: str) -> str:
    """What to do about a non-numeric cell: dates and decimal commas get their own advice."""
    if isinstance(text, str) and _DATE.match(text):
        when = f"pd.to_datetime(df[{column!r}])"
        return (f" (a date or clock time); expected elapsed time as a number, or ISO 8601 dates such as "
                f"2024-01-31T12:00:00 (read as seconds): convert the column, e.g. to seconds with pandas "
                f"({when} - {when}.iloc[0]).dt.total_seconds()")
    if isinstance(text, str) and _DECIMAL_COMMA.match(text):
        return " (a decimal comma); expected a number with a decimal point, such as 1.5"
    if isinstance(text, str) and "_" in text:
        return (" (digits grouped with '_' are Python syntax, not a number in a data file); write the digits "
                "without '_', such as 1000")
    if isinstance(text, str) and not text.isascii():
        return "; expected a number written with ASCII digits 0-9, such as 1.5"
    return "; expected a number such as 1.5 or -2e-3"


def _try_float(v: Any) -> float:
    if isinstance(v, str) and not plain_number_text(v):
        return math.nan
    try:
        return float(v.strip() if isinstance(v, str) else v)
    except (TypeError, ValueError, OverflowError):
        return math.nan
