"""Second-order finite differences on irregular grids."""

from __future__ import annotations

import numpy as np


def central_difference(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Derivative of the quadratic through each sample and its neighbours, on any strictly increasing grid.

    Interior points use the three-point non-uniform central formula; the first and last points use the
    one-sided three-point formulas. All are exact for quadratics, whatever the spacing.

    Parameters
    ----------
    t:
        Times, shape (N,), strictly increasing, N >= 3.
    x:
        Values, shape (N, D).

    Returns
    -------
    ndarray of shape (N, D)
    """
    h = np.diff(t)[:, None]  # (N-1, 1)
    dxdt = np.empty_like(x, dtype=np.float64)
    hm, hp = h[:-1], h[1:]  # steps before and after each interior point, (N-2, 1)
    dxdt[1:-1] = (
        -hp / (hm * (hm + hp)) * x[:-2]
        + (hp - hm) / (hm * hp) * x[1:-1]
        + hm / (hp * (hm + hp)) * x[2:]
    )
    h0, h1 = h[0], h[1]
    dxdt[0] = -(2 * h0 + h1) / (h0 * (h0 + h1)) * x[0] + (h0 + h1) / (h0 * h1) * x[1] - h0 / (h1 * (h0 + h1)) * x[2]
    a, b = h[-2], h[-1]
    dxdt[-1] = b / (a * (a + b)) * x[-3] - (a + b) / (a * b) * x[-2] + (a + 2 * b) / (b * (a + b)) * x[-1]
    return dxdt


def finite_difference(t: np.ndarray, x: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``finite_difference`` method: no smoothing; ``x_smooth`` is ``x`` itself.

    Best on noise-free, densely sampled data; noise is amplified by about ``1 / h``.
    """
    return x.copy(), central_difference(t, x)
