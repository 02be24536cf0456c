"""Noise in a sampled field: its level, and a denoised copy for initial conditions and the strong form.

:func:`estimate_noise` reads the standard deviation of white measurement noise off high-order differences
(which annihilate the smooth signal and keep the noise, scaled by a known factor), taking the median absolute
deviation so that shocks and solitons do not count as noise. :func:`denoise` truncates the singular value
decomposition of the field, viewed as a ``(Nt, Nx Ny)`` matrix, at the largest singular value that pure noise of
that level would produce (``sigma (sqrt(Nt) + sqrt(Nx Ny))``).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> t, x = np.linspace(0, 1, 100), np.linspace(0, 2 * np.pi, 128)
>>> clean = np.exp(-t)[:, None] * np.sin(x)[None, :]
>>> sigma = estimate_noise(clean + 0.01 * rng.standard_normal(clean.shape))
>>> bool(0.008 < sigma < 0.012)
True
"""

from __future__ import annotations

from math import comb

import numpy as np

DIFF_ORDER = 4
"""Order of the differences that estimate the noise."""


def estimate_noise(values: np.ndarray) -> float:
    """Standard deviation of white noise in ``values`` ``(Nt, *N)``: the smallest estimate over the axes."""
    estimates = []
    for axis in range(values.ndim):
        if values.shape[axis] <= 2 * DIFF_ORDER:
            continue
        d = np.diff(values, DIFF_ORDER, axis=axis)
        mad = float(np.median(np.abs(d - np.median(d))))
        estimates.append(1.4826 * mad / np.sqrt(comb(2 * DIFF_ORDER, DIFF_ORDER)))
    return min(estimates) if estimates else 0.0


def denoise(values: np.ndarray, sigma: float, margin: float = 1.1) -> np.ndarray:
    """``values`` ``(Nt, *N)`` with the singular values below the noise edge removed (a copy)."""
    if sigma <= 0:
        return values.copy()
    mat = values.reshape(values.shape[0], -1)
    u, s, vt = np.linalg.svd(mat, full_matrices=False)
    edge = margin * sigma * (np.sqrt(mat.shape[0]) + np.sqrt(mat.shape[1]))
    keep = max(1, int(np.sum(s > edge)))
    return ((u[:, :keep] * s[:keep]) @ vt[:keep]).reshape(values.shape)
