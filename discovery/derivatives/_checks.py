"""Input checks shared by the derivative estimators."""

from __future__ import annotations

import numpy as np

from discovery.errors import DataError

MIN_POINTS = 3
"""Fewest samples any estimator accepts (a quadratic through three points)."""


def as_time_and_states(t: object, x: object) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validate ``t`` (N,) and ``x`` (N,) or (N, D); return float64 ``t``, ``x`` as (N, D), and whether x was 1-D.

    Raises
    ------
    DataError
        When shapes disagree, values are not finite numbers, time does not strictly increase, or there are fewer
        than :data:`MIN_POINTS` samples. ``row`` is the 0-based sample index, ``column`` the state column index.
    """
    try:
        t_arr = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"expected numeric times, found values that are not numbers ({exc})", column="t") from None
    try:
        x_arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"expected numeric states, found values that are not numbers ({exc})") from None
    if t_arr.ndim != 1:
        raise DataError(f"expected times of shape (N,), found shape {t_arr.shape}", column="t")
    was_1d = x_arr.ndim == 1
    if was_1d:
        x_arr = x_arr[:, None]
    if x_arr.ndim != 2:
        raise DataError(f"expected states of shape (N,) or (N, D), found shape {x_arr.shape}")
    if x_arr.shape[0] != t_arr.shape[0]:
        raise DataError(f"expected as many state rows as times, found {x_arr.shape[0]} rows and {t_arr.shape[0]} times")
    if x_arr.shape[1] == 0:
        raise DataError("expected at least one state column, found none")
    n = t_arr.shape[0]
    if n < MIN_POINTS:
        raise DataError(f"expected at least {MIN_POINTS} samples to estimate derivatives, found {n}")
    bad_t = np.flatnonzero(~np.isfinite(t_arr))
    if bad_t.size:
        raise DataError(f"expected finite times, found {t_arr[bad_t[0]]}", row=int(bad_t[0]), column="t")
    bad_x = np.argwhere(~np.isfinite(x_arr))
    if bad_x.size:
        row, col = (int(v) for v in bad_x[0])
        raise DataError(f"expected finite states, found {x_arr[row, col]}", row=row, column=str(col))
    steps = np.diff(t_arr)
    bad_step = np.flatnonzero(steps <= 0)
    if bad_step.size:
        i = int(bad_step[0]) + 1
        raise DataError(
            f"expected strictly increasing times, found t={t_arr[i]!r} after t={t_arr[i - 1]!r}", row=i, column="t"
        )
    return t_arr, x_arr, was_1d


def is_uniform(t: np.ndarray, rtol: float = 1e-6) -> bool:
    """Whether the grid ``t`` (N,) has equal steps up to ``rtol`` of the mean step."""
    steps = np.diff(t)
    return bool(np.ptp(steps) <= rtol * np.mean(steps))


def merge_close_samples(t: np.ndarray, x: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge runs of samples whose consecutive gaps are below ``tol``.

    Returns knots (M,) (mean time of each run), weights (M,) (samples per run) and values (M, D) (mean of each
    run). Knots are at least ``tol`` apart.
    """
    new_run = np.concatenate([[True], np.diff(t) >= tol])  # (N,)
    if new_run.all():
        return t, np.ones_like(t), x
    run = np.cumsum(new_run) - 1  # (N,) run index of each sample
    weights = np.bincount(run).astype(np.float64)  # (M,)
    knots = np.bincount(run, weights=t) / weights
    values = np.stack([np.bincount(run, weights=col) for col in x.T], axis=1) / weights[:, None]  # (M, D)
    return knots, weights, values
