"""Magnitudes a float cannot work with: values whose squares overflow or underflow, times whose steps are lost.

Discovery works in any units (tolerances, bounds and thresholds are relative to the data), but a least-squares
fit squares its numbers, and a float holds about 16 significant digits. So a column whose values reach
:data:`MAX_MAGNITUDE` (squares overflow), whose largest value stays under :data:`MIN_MAGNITUDE` (squares
underflow to 0), or a time column whose steps are lost next to the times themselves (``1e17 + 0.05`` is
``1e17``) is refused at load time with one line saying what to do, rather than failing deep inside a method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from discovery.errors import DataError

MAX_MAGNITUDE = 1e150
"""Largest ``|value|`` accepted in any column: its square (1e300) is still a float."""
MIN_MAGNITUDE = 1e-150
"""A column that is not all zero must reach this ``|value|``: smaller squares underflow to 0."""
MIN_STEP_DIGITS = 1e-13
"""Time steps must be at least this fraction of ``max |t|`` (about 3 significant digits of each step survive)."""


def check_magnitudes(
    t: np.ndarray,
    x: np.ndarray,
    variables: Sequence[str],
    time_name: str,
    *,
    file: str | None = None,
    row_of: Callable[[int], int] | None = None,
) -> None:
    """Raise :class:`~discovery.errors.DataError` when a column of one trajectory is out of a float's reach.

    Parameters
    ----------
    t, x:
        Times ``(N,)`` and states ``(N, D)`` of one trajectory, finite.
    variables, time_name:
        Column names, for the message.
    file, row_of:
        Where the data came from, and the row a value's index maps to (default: the index itself).

    Examples
    --------
    >>> check_magnitudes(np.array([0.0, 1.0]), np.array([[1e200], [2e200]]), ["x"], "t")
    Traceback (most recent call last):
    ...
    discovery.errors.DataError: row 1, column 'x': values of 'x' reach 2e+200: their squares overflow a float; \
rescale the column, e.g. express it in units of 1e+200
    """
    rows = row_of or (lambda i: i)
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float).reshape(t.shape[0], -1)
    columns = [(time_name, t, "the time column")] + [(v, x[:, j], "the column") for j, v in enumerate(variables)]
    for name, values, what in columns:
        size = np.abs(values)
        top = float(size.max()) if size.size else 0.0
        if top >= MAX_MAGNITUDE:
            raise DataError(f"values of {name!r} reach {top:.3g}: their squares overflow a float; rescale {what}, "
                            f"e.g. express it in units of 1e+{_exponent(top)}",
                            file=file, row=rows(int(np.argmax(size))), column=name)
        if 0.0 < top < MIN_MAGNITUDE:
            raise DataError(f"values of {name!r} are at most {top:.3g}: their squares underflow to 0; rescale {what}, "
                            f"e.g. express it in units of 1e{_exponent(top)}",
                            file=file, row=rows(int(np.argmax(size))), column=name)
    _check_time_steps(t, time_name, file, rows)


def _check_time_steps(t: np.ndarray, name: str, file: str | None, rows: Callable[[int], int]) -> None:
    """Steps lost next to the times' magnitude (a large offset such as ``1e17 + k * 0.05``)."""
    steps = np.diff(t)
    positive = steps[steps > 0]
    if positive.size == 0:
        return  # a single point, or no increase at all: the time-order check says what is wrong
    top = float(np.max(np.abs(t)))
    step = float(np.median(positive))
    if step < MIN_STEP_DIGITS * top:
        span = float(t[-1] - t[0])
        if 0.0 < span < MIN_MAGNITUDE:
            message = (f"times of {name!r} span only {span:.3g}: their squares underflow to 0; rescale the time "
                       f"column, e.g. express it in units of 1e{_exponent(span)}")
        else:
            message = (f"times of {name!r} near {top:.3g} are only {step:.3g} apart: a float keeps too few digits of "
                       f"each step at that magnitude; subtract the first time from the time column (t - t[0])")
        raise DataError(message, file=file, row=rows(int(np.argmax(np.abs(t)))), column=name)
    span = float(t[-1] - t[0])
    if 0.0 < span < MIN_MAGNITUDE:
        raise DataError(f"times of {name!r} span only {span:.3g}: their squares underflow to 0; rescale the time "
                        f"column, e.g. express it in units of 1e{_exponent(span)}", file=file, row=rows(0), column=name)


def _exponent(value: float) -> int:
    return int(np.floor(np.log10(value)))
