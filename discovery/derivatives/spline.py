"""Cubic smoothing splines with the smoothing chosen from the noise level.

For each variable the natural cubic spline ``g`` minimising ``sum_i (x_i - g(t_i))^2 + lam * int g''(t)^2 dt``
is computed in O(N) by Reinsch's banded algorithm (:mod:`discovery.derivatives._reinsch`). Per variable,
``lam`` is ``LAM_FACTOR`` times the minimiser of Mallows' C_p, ``|x - A x|^2 + 2 sigma^2 tr A`` (an unbiased
estimate of the smoothing risk; ``A`` is the smoother matrix, ``sigma`` the estimated noise level), searched on
a log grid; ``tr A`` comes from the central bands of a banded inverse. Noise-free data get a nearly
interpolating spline. The derivative is that of the spline.

C_p was preferred to the discrepancy principle (residual RMS = sigma), whose choice collapses towards
interpolation when sigma is underestimated by a few percent, and to GCV, slightly less accurate on
``benchmarks/derivatives.py``; the factor reflects that derivatives need more smoothing than values.

Samples closer than ``MERGE_FRACTION`` of the mean step are merged into one weighted knot (their mean time and
value): extremely close samples make the banded system too ill-conditioned to solve, and carry almost no
information about the derivative. The spline is then evaluated at every original time.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError

from discovery.derivatives._checks import merge_close_samples
from discovery.derivatives._reinsch import SplineSystem, evaluate
from discovery.derivatives.local_polynomial import local_polynomial_fit
from discovery.errors import DiscoveryError

GRID_SIZE = 40
LOG10_LAM_MIN = -3.0
LOG10_LAM_MAX = 12.0
"""``lam / h^3`` (``h`` the mean step) is searched from ``10^-3`` (near interpolation) to ``min(N^4, 10^12)``
(nearly a global cubic), or less where the banded system stops being numerically positive definite."""
LAM_FACTOR = 2.0
"""Multiplies the C_p-optimal ``lam``; 2 was the best factor on ``benchmarks/derivatives.py``."""
MERGE_FRACTION = 0.05
"""Samples closer than this fraction of the mean step are merged into one knot."""
END_KNOTS = 4
"""Slopes at this many samples at each end come from the least-squares cubic through the spline's values at
``END_KNOTS + 1`` end samples instead of from the spline itself: the natural end condition ``g'' = 0`` biases
them. On ``benchmarks/derivatives.py`` this cut the whole-signal error from 1.7e-3 to 2.0e-4 without noise, and
from 0.027 to 0.025 (1%) and 0.066 to 0.065 (5%) with noise."""


def _valid_prefix(traces: np.ndarray, m: int) -> int:
    """Number of leading grid values whose trace is finite, within [2, m] and non-increasing (rounding aside)."""
    ok = np.isfinite(traces) & (traces >= 2 - 1e-6) & (traces <= m + 1e-6)
    ok[1:] &= np.diff(traces) <= 1e-8 * m
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if bad.size else traces.size


def cp_lambda(
    system: SplineSystem, y: np.ndarray, noise: np.ndarray, lams: np.ndarray, traces: np.ndarray
) -> np.ndarray:
    """Per column of ``y`` (M, D), the ``lam`` minimising C_p ``sum w (y - g)^2 + 2 noise^2 tr A`` (D,).

    The grid minimum is refined by a parabola through its neighbours in ``log lam``.
    """
    rss = np.empty((lams.size, y.shape[1]))  # (G, D)
    for k, lam in enumerate(lams):
        g, _ = system.solve(y, float(lam))
        rss[k] = system.weights @ (y - g) ** 2
    cp = rss + 2 * noise**2 * traces[:, None]  # (G, D)
    log_lams = np.log(lams)
    best = np.empty(y.shape[1])
    for j in range(y.shape[1]):
        k = int(np.argmin(cp[:, j]))
        best[j] = log_lams[k]
        if 0 < k < lams.size - 1:
            c0, c1, c2 = cp[k - 1 : k + 2, j]
            curvature = c0 - 2 * c1 + c2
            if curvature > 0:  # vertex of the parabola, within one grid step of k
                step = log_lams[k + 1] - log_lams[k]
                best[j] += step * float(np.clip(0.5 * (c0 - c2) / curvature, -1.0, 1.0))
    return np.exp(best)


def _end_slopes(t: np.ndarray, values: np.ndarray, slopes: np.ndarray) -> np.ndarray:
    k = END_KNOTS
    if 0 < k < t.size:
        slopes[:k] = local_polynomial_fit(t[: k + 1], values[: k + 1], k + 1, 3, uniform=False).dxdt[:k]
        slopes[-k:] = local_polynomial_fit(t[-k - 1 :], values[-k - 1 :], k + 1, 3, uniform=False).dxdt[-k:]
    return slopes


def spline(
    t: np.ndarray,
    x: np.ndarray,
    noise: np.ndarray,
    *,
    lam: float | None = None,
    lam_factor: float = LAM_FACTOR,
) -> tuple[np.ndarray, np.ndarray]:
    """``spline`` method: cubic smoothing spline, derivative of the spline (see the module docstring).

    Options: ``lam`` (smoothing weight in units of t^3, applied to every variable; chosen per variable
    when ``None``), ``lam_factor`` (multiplies the C_p-optimal ``lam``; larger smooths more).
    """
    if lam is not None and not (np.isscalar(lam) and np.isfinite(lam) and lam >= 0):
        raise DiscoveryError(f"spline derivative: expected a finite lam >= 0, found {lam!r}")
    if not (np.isscalar(lam_factor) and np.isfinite(lam_factor) and lam_factor > 0):
        raise DiscoveryError(f"spline derivative: expected a finite lam_factor > 0, found {lam_factor!r}")
    step = float(t[-1] - t[0]) / (t.size - 1)
    knots, weights, y = merge_close_samples(t, x, MERGE_FRACTION * step)
    if knots.size < 3:  # everything merged into fewer than three knots: a straight line is all there is
        slope = np.polyfit(knots, y, 1)[0] if knots.size == 2 else np.zeros(x.shape[1])
        return np.broadcast_to(y.mean(axis=0), x.shape).copy(), np.broadcast_to(slope, x.shape).copy()
    system = SplineSystem.build(knots, weights)
    if lam is not None:
        lams_chosen = np.full(x.shape[1], float(lam))
    else:
        top = min(4.0 * np.log10(knots.size), LOG10_LAM_MAX)
        lams = step**3 * np.logspace(LOG10_LAM_MIN, top, GRID_SIZE)
        traces = system.traces(lams)
        valid = max(_valid_prefix(traces, knots.size), 1)
        lams, traces = lams[:valid], traces[:valid]
        lams_chosen = np.minimum(lam_factor * cp_lambda(system, y, noise, lams, traces), lams[-1])
    values, slopes = np.empty_like(x), np.empty_like(x)
    for j, lam_j in enumerate(lams_chosen):
        try:
            g, second = system.solve(y[:, j : j + 1], float(lam_j))
        except LinAlgError:
            raise DiscoveryError(
                f"spline derivative: lam={lam_j:.3g} is too large for this time grid; use a smaller lam"
            ) from None
        values[:, j : j + 1], slopes[:, j : j + 1] = evaluate(knots, g, second, t)
    return values, _end_slopes(t, values, slopes)
