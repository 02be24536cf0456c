"""Total-variation regularised differentiation (Chartrand, 2011), on irregular grids.

Chartrand's estimate of the derivative ``u`` of noisy data ``x`` minimises
``|A u - (x - x0)|^2 + alpha * TV(u)``, with ``A`` the antiderivative and ``TV(u) = sum_k |u_{k+1} - u_k|``.
We solve it in the variable ``y = x0 + A u`` (the smoothed signal), ``u_k = (y_{k+1} - y_k) / h_k`` being the
slope on each interval, which turns it into ``min_y |y - x|^2 + alpha * sum_k |(G y)_k|`` where ``G`` (N-2, N)
takes the differences of consecutive slopes. Unlike the original, ``x0`` is a free unknown rather than pinned
to the first noisy sample. The problem is solved by lagged diffusivity (iteratively reweighted least squares):
each step solves the pentadiagonal system ``(W + alpha/2 G^T E G) y = W x`` with
``E = diag(1 / sqrt((G y)^2 + eps^2))``, in O(N). ``alpha`` is set per variable by the discrepancy principle
(residual RMS equal to the estimated noise level, by bisection on ``log alpha``); noise-free data get plain
finite differences. The derivative at the samples is the three-point derivative of ``y``.

Samples closer than ``MERGE_FRACTION`` of the mean step are first merged into one weighted sample (``W`` holds
the counts), as slopes over such tiny intervals make the system numerically singular; ``y`` and its derivative
are interpolated back to every original time.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solveh_banded

from discovery.derivatives._checks import merge_close_samples
from discovery.derivatives.finite_difference import central_difference
from discovery.errors import DiscoveryError

IRLS_STEPS = 25
IRLS_TOL = 1e-7
"""Lagged-diffusivity iterations stop when ``y`` moves by less than this fraction of ``std(x)``."""
BISECTION_STEPS = 16
LOG10_ALPHA_RANGE = (-7.0, 3.0)
"""``alpha / (std(x) * (t_N - t_1))`` is searched within these powers of ten."""
EPS_FRACTION = 1e-4
"""``eps`` of the smoothed absolute value, as a fraction of ``std(x) / (t_N - t_1)``."""
MERGE_FRACTION = 0.05


def _slope_differences(t: np.ndarray) -> np.ndarray:
    """The three non-zeros of each row of ``G``: ``g[:, k]`` are ``G[k, k], G[k, k+1], G[k, k+2]``, shape (3, N-2)."""
    inv = 1.0 / np.diff(t)
    return np.stack([inv[:-1], -inv[:-1] - inv[1:], inv[1:]])


def _reweighted_solve(
    g: np.ndarray, w: np.ndarray, x: np.ndarray, alpha: float, eps: float, y: np.ndarray, tol: float
) -> np.ndarray:
    """Lagged-diffusivity iterations for one variable ``x`` (N,) with weights ``w`` (N,), starting from ``y``."""
    n = x.size
    for _ in range(IRLS_STEPS):
        jump = g[0] * y[:-2] + g[1] * y[1:-1] + g[2] * y[2:]  # (N-2,) = G y
        e = 0.5 * alpha / np.sqrt(jump**2 + eps**2)  # (N-2,)
        ab = np.zeros((3, n))  # upper banded storage of W + G^T diag(e) G
        ab[2] = w
        for a in range(3):
            ab[2, a : n - 2 + a] += e * g[a] ** 2
        ab[1, 1 : n - 1] += e * g[0] * g[1]
        ab[1, 2:n] += e * g[1] * g[2]
        ab[0, 2:] += e * g[0] * g[2]
        y_new = solveh_banded(ab, w * x, check_finite=False)
        converged = np.max(np.abs(y_new - y)) <= tol
        y = y_new
        if converged:
            break
    return y


def _fit_column(
    g: np.ndarray, w: np.ndarray, x: np.ndarray, alpha: float | None, target: float, span: float
) -> np.ndarray:
    """Smoothed values (M,) of one merged column ``x`` (M,), for a given ``alpha`` or by discrepancy."""
    scale = float(np.sqrt(np.average((x - np.average(x, weights=w)) ** 2, weights=w))) or 1.0
    eps, tol = EPS_FRACTION * scale / span, IRLS_TOL * scale
    if alpha is not None:
        return _reweighted_solve(g, w, x, alpha, eps, x.copy(), tol) if alpha > 0 else x.copy()
    if target <= 0:
        return x.copy()
    lo, hi = (np.log(10.0**p * scale * span) for p in LOG10_ALPHA_RANGE)
    best, warm = x.copy(), x.copy()
    for _ in range(BISECTION_STEPS):  # the residual grows with alpha
        mid = 0.5 * (lo + hi)
        trial = _reweighted_solve(g, w, x, float(np.exp(mid)), eps, warm, tol)
        if np.sqrt(np.average((trial - x) ** 2, weights=w)) <= target:
            lo, best = mid, trial
        else:
            hi = mid
        warm = trial
    return best


def tv(
    t: np.ndarray,
    x: np.ndarray,
    noise: np.ndarray,
    *,
    alpha: float | None = None,
    noise_factor: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``tv`` method: total-variation regularised derivative (see the module docstring).

    Options: ``alpha`` (regularisation weight in units of x t, applied to every variable; chosen per variable by
    the discrepancy principle when ``None``), ``noise_factor`` (residual RMS aimed at, as a multiple of the
    estimated noise level).
    """
    if alpha is not None and not (np.isscalar(alpha) and np.isfinite(alpha) and alpha >= 0):
        raise DiscoveryError(f"tv derivative: expected a finite alpha >= 0, found {alpha!r}")
    if not (np.isscalar(noise_factor) and np.isfinite(noise_factor) and noise_factor >= 0):
        raise DiscoveryError(f"tv derivative: expected a finite noise_factor >= 0, found {noise_factor!r}")
    span = float(t[-1] - t[0])
    knots, weights, y = merge_close_samples(t, x, MERGE_FRACTION * span / (t.size - 1))
    if knots.size < 3:  # everything merged into fewer than three knots: a straight line is all there is
        slope = np.polyfit(knots, y, 1)[0] if knots.size == 2 else np.zeros(x.shape[1])
        return np.broadcast_to(y.mean(axis=0), x.shape).copy(), np.broadcast_to(slope, x.shape).copy()
    g = _slope_differences(knots)
    smooth = np.empty_like(y)
    for j in range(y.shape[1]):
        target = noise_factor * float(noise[j])
        smooth[:, j] = _fit_column(g, weights, y[:, j], None if alpha is None else float(alpha), target, span)
    slopes = central_difference(knots, smooth)  # (M, D)
    if knots.size == t.size:
        return smooth, slopes
    back = [np.interp(t, knots, col) for col in smooth.T], [np.interp(t, knots, col) for col in slopes.T]
    return np.stack(back[0], axis=1), np.stack(back[1], axis=1)
