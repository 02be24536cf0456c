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
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from discovery.fields.field import Field

DIFF_ORDER = 4
"""Order of the differences that estimate the noise."""

CLEAN_NOISE = 1e-3
"""Relative noise (noise over the field's spread) below which a field is used as measured (not denoised), and
:func:`~discovery.fields.api.discover_field` tries the strong form besides the weak one."""


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


def denoised_field(field: Field, clean: float = CLEAN_NOISE) -> tuple[Field, np.ndarray]:
    """The field that re-simulations start from, and each field's relative noise level.

    Each field whose estimated noise (:func:`estimate_noise`) exceeds ``clean`` times its spread (standard
    deviation) is :func:`denoise`-d; the others are kept as measured.

    Returns
    -------
    tuple
        ``(reference, rel_noise)``: a :class:`~discovery.fields.field.Field` on the same grid, and ``(F,)`` noise
        levels relative to each field's spread, in ``field.names`` order.
    """
    data = field.stack()  # (F, Nt, *N)
    sigma = np.array([estimate_noise(v) for v in data])
    spread = np.array([float(v.std()) for v in data])
    rel_noise = sigma / np.maximum(spread, 1e-300)
    smooth = [denoise(v, s) if r > clean else v for v, s, r in zip(data, sigma, rel_noise)]
    return field.replace(values=dict(zip(field.names, smooth))), rel_noise
