"""Savitzky-Golay style local polynomial fits in real time coordinates, with the window chosen from the noise.

At each sample ``t_i`` a polynomial of degree ``degree`` is fitted by least squares to the ``window`` nearest
samples (the window slides inwards at the ends, so every fit uses ``window`` samples) in real time
coordinates. Its value at ``t_i`` is the smoothed state and its slope the derivative. On a uniform grid this is
the classical Savitzky-Golay filter; on an irregular grid the fit is still done in real time, not in sample
index. When ``window`` is not given, each variable gets the candidate window that minimises Mallows' C_p,
``|x - S_w x|^2 + 2 sigma^2 tr(S_w)`` (an unbiased estimate of the smoothing risk), with ``sigma`` the
estimated noise level; noise-free data thus get the narrowest window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from discovery.derivatives._checks import is_uniform
from discovery.derivatives.finite_difference import central_difference
from discovery.errors import DiscoveryError

DEFAULT_DEGREE = 5
"""Degree 5 beat 3 (and matched 7) at every noise level of ``benchmarks/derivatives.py``, C_p choosing the window."""
DEFAULT_MAX_WINDOW = 401
WINDOW_GROWTH = 1.3
"""Ratio between successive candidate windows."""
PATIENCE = 2
"""The window search stops once C_p has grown for this many successive candidates, for every variable."""
CP_ROWS = 1000
"""On irregular grids the window search evaluates C_p on at most this many samples."""
BLOCK_ELEMENTS = 2_000_000
"""Irregular grids are fitted in blocks of about this many (row, window sample) pairs, to bound memory."""


@dataclass(frozen=True)
class LocalFit:
    """One local polynomial fit: smoothed values and slopes (N, D), hat-matrix diagonal (N,)."""

    x_smooth: np.ndarray
    dxdt: np.ndarray
    hat_diagonal: np.ndarray


def _window_starts(n: int, w: int) -> np.ndarray:
    """First sample (N,) of the ``w``-sample window of each sample: centred, slid inwards at the ends."""
    return np.clip(np.arange(n) - w // 2, 0, n - w)


def _fit_rows(t: np.ndarray, x: np.ndarray | None, rows: np.ndarray, w: int, p: int):
    """Local fits at ``rows`` (R,): returns (values (R, D), slopes (R, D), hat (R,), weights (R, 2, w) or None).

    The polynomial is expressed in ``s = (t - c) / r`` with ``c`` and ``r`` the centre and half-width of each
    window, which keeps the normal equations well conditioned; it is then evaluated at the fitted sample.
    With ``x=None`` the value and slope weights of each window's samples are returned instead.
    """
    start = _window_starts(t.size, w)[rows]  # (R,)
    tw = t[start[:, None] + np.arange(w)]  # (R, w)
    centre, half = 0.5 * (tw[:, 0] + tw[:, -1]), 0.5 * (tw[:, -1] - tw[:, 0])  # (R,)
    s = (tw - centre[:, None]) / half[:, None]  # (R, w) in [-1, 1]
    design = np.empty(s.shape + (p + 1,))  # (R, w, p+1), powers built by products (faster than **)
    design[..., 0] = 1.0
    for k in range(1, p + 1):
        design[..., k] = design[..., k - 1] * s
    s0 = (t[rows] - centre) / half  # (R,) where each fit is evaluated
    powers = s0[:, None] ** np.arange(p + 1)  # (R, p+1)
    basis = np.stack([powers, np.zeros_like(powers)], axis=2)  # (R, p+1, 2): value and d/ds of each monomial
    basis[:, 1:, 1] = np.arange(1, p + 1) * powers[:, :-1]
    design_t = np.swapaxes(design, 1, 2)  # (R, p+1, w)
    gram = design_t @ design  # (R, p+1, p+1); batched matmul is much faster than einsum here
    z = np.linalg.solve(gram, basis)  # (R, p+1, 2)
    hat = np.einsum("rk,rk->r", z[:, :, 0], powers)  # (R,) weight of each sample in its own fit
    if x is None:
        return None, None, hat, np.swapaxes(z, 1, 2) @ design_t  # (R, 2, w)
    moments = design_t @ x[start[:, None] + np.arange(w)]  # (R, p+1, D)
    coef = np.einsum("rkv,rkd->rvd", z, moments)  # (R, 2, D)
    return coef[:, 0], coef[:, 1] / half[:, None], hat, None


def local_polynomial_fit(
    t: np.ndarray, x: np.ndarray, window: int, degree: int, uniform: bool, rows: np.ndarray | None = None
) -> LocalFit:
    """Fit a degree-``degree`` polynomial around every sample to its ``window`` nearest samples.

    Parameters
    ----------
    t, x:
        Times (N,) and values (N, D).
    window:
        Samples per fit (clipped to N).
    degree:
        Polynomial degree (clipped to ``window - 1``).
    uniform:
        Whether ``t`` is a uniform grid; then all centred windows share one pair of value and slope filters,
        applied by correlation, and only the windows slid inwards at the ends are fitted one by one.
    rows:
        Fit only at these samples (R,); the returned arrays then have R rows.
    """
    n, d = x.shape
    w = min(int(window), n)
    p = min(int(degree), w - 1)
    if rows is not None:
        x_rows, slopes, hat, _ = _fit_rows(t, x, np.asarray(rows), w, p)
        return LocalFit(x_rows, slopes, hat)
    x_smooth, dxdt, hat = np.empty((n, d)), np.empty((n, d)), np.empty(n)
    half = w // 2
    centred = np.arange(half, n - w + half + 1) if uniform else np.arange(0)  # rows with a centred window
    if centred.size > 1:
        _, _, hat_c, filters = _fit_rows(t, None, centred[:1], w, p)  # filters (1, 2, w)
        step = t[1] - t[0]
        windows = np.lib.stride_tricks.sliding_window_view(x, w, axis=0)  # (N-w+1, D, w), a view
        smoothed = windows @ filters[0].T  # (N-w+1, D, 2)
        x_smooth[centred], dxdt[centred] = smoothed[..., 0], smoothed[..., 1] / (0.5 * (w - 1) * step)
        hat[centred] = hat_c[0]
    others = np.setdiff1d(np.arange(n), centred if centred.size > 1 else np.arange(0))
    for block in np.array_split(others, max(1, others.size * w // BLOCK_ELEMENTS)):
        if block.size:
            x_smooth[block], dxdt[block], hat[block], _ = _fit_rows(t, x, block, w, p)
    return LocalFit(x_smooth, dxdt, hat)


def candidate_windows(n: int, degree: int, max_window: int) -> list[int]:
    """Odd windows growing by ``WINDOW_GROWTH``, from the smallest with more samples than ``degree`` up to
    ``min(n, max_window)``."""
    top = min(n, max_window)
    top -= 1 - top % 2  # largest odd window that fits
    w = degree + 2 if degree % 2 else degree + 1  # smallest odd window > degree
    w = min(w, top)
    out = [w]
    while True:
        nxt = int(np.ceil(out[-1] * WINDOW_GROWTH))
        nxt += 1 - nxt % 2
        if nxt > top:
            break
        out.append(max(nxt, out[-1] + 2))
    if out[-1] != top:
        out.append(top)
    return out


def _check(window: int | None, degree: int, max_window: int) -> None:
    if not isinstance(degree, (int, np.integer)) or not 1 <= degree <= 8:
        raise DiscoveryError(f"local polynomial derivative: expected an integer degree in 1..8, found {degree!r}")
    if window is not None and (not isinstance(window, (int, np.integer)) or window < degree + 1):
        raise DiscoveryError(
            f"local polynomial derivative: expected an integer window of at least degree + 1 = {degree + 1} "
            f"samples, found {window!r}"
        )
    if not isinstance(max_window, (int, np.integer)) or max_window < degree + 2:
        raise DiscoveryError(f"local polynomial derivative: expected max_window >= degree + 2, found {max_window!r}")


def select_fit(
    t: np.ndarray, x: np.ndarray, noise: np.ndarray, window: int | None, degree: int, max_window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x_smooth (N, D), dxdt (N, D), windows (D,))`` with the given ``window`` or, per variable, the C_p-optimal one.

    On irregular grids C_p is evaluated on at most ``CP_ROWS`` evenly spread samples (an unbiased estimate of
    the full criterion, up to a constant factor), and only the chosen windows are fitted everywhere.
    """
    _check(window, degree, max_window)
    uniform = is_uniform(t)
    n, d = x.shape
    if window is not None:
        fit = local_polynomial_fit(t, x, window, degree, uniform)
        return fit.x_smooth, fit.dxdt, np.full(d, min(int(window), n))
    rows = None if uniform or n <= CP_ROWS else np.unique(np.linspace(0, n - 1, CP_ROWS).round().astype(int))
    x_rows = x if rows is None else x[rows]
    best_cp, best_w = np.full(d, np.inf), np.zeros(d, dtype=int)
    since_best = np.zeros(d, dtype=int)  # candidates tried since each variable's best
    fits: dict[int, LocalFit] = {}
    for w in candidate_windows(n, degree, max_window):
        fit = local_polynomial_fit(t, x, w, degree, uniform, rows=rows)
        cp = np.sum((x_rows - fit.x_smooth) ** 2, axis=0) + 2 * noise**2 * np.sum(fit.hat_diagonal)  # (D,)
        better = cp < best_cp
        best_cp[better], best_w[better] = cp[better], w
        if rows is None and better.any():
            fits[w] = fit
        since_best = np.where(better, 0, since_best + 1)
        if np.all(since_best >= PATIENCE):
            break
    x_smooth, dxdt = np.empty_like(x), np.empty_like(x)
    for w in np.unique(best_w):
        fit = fits[w] if w in fits else local_polynomial_fit(t, x, w, degree, uniform)
        cols = best_w == w
        x_smooth[:, cols], dxdt[:, cols] = fit.x_smooth[:, cols], fit.dxdt[:, cols]
    return x_smooth, dxdt, best_w


def savgol(
    t: np.ndarray,
    x: np.ndarray,
    noise: np.ndarray,
    *,
    window: int | None = None,
    degree: int = DEFAULT_DEGREE,
    max_window: int = DEFAULT_MAX_WINDOW,
) -> tuple[np.ndarray, np.ndarray]:
    """``savgol`` method: value and slope of the local polynomial (see the module docstring).

    Options: ``window`` (samples per fit; chosen by C_p from the noise level when ``None``), ``degree``
    (default 5), ``max_window`` (largest candidate window, default 401).
    """
    x_smooth, dxdt, _ = select_fit(t, x, noise, window, degree, max_window)
    return x_smooth, dxdt


def smoothed_fd(
    t: np.ndarray,
    x: np.ndarray,
    noise: np.ndarray,
    *,
    window: int | None = None,
    degree: int = DEFAULT_DEGREE,
    max_window: int = DEFAULT_MAX_WINDOW,
) -> tuple[np.ndarray, np.ndarray]:
    """``smoothed_fd`` method: smooth with the local polynomial fit, then second-order finite differences.

    Same options as :func:`savgol`.
    """
    x_smooth, _, _ = select_fit(t, x, noise, window, degree, max_window)
    return x_smooth, central_difference(t, x_smooth)
