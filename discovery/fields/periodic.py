"""Is a sampled field periodic along an axis? Values and slopes at both ends must agree within the noise.

A periodic grid holds one period without its repeated end point, so the step from the last sample back to the
first is an ordinary grid step: the second difference across that seam, ``u[1] - 2 u[0] + u[-1]`` (and
``u[0] - 2 u[-1] + u[-2]``), is as small as second differences inside the grid. A jump in value or slope at
the seam makes it large. A grid that repeats the end point (``u[-1] == u[0]`` within the noise, the slopes
agreeing) is recognized too; :func:`detect_periodic` then asks for the last sample to be dropped.

Examples
--------
>>> import numpy as np
>>> x = np.linspace(0, 2 * np.pi, 64, endpoint=False)
>>> detect_periodic(np.sin(x)[None, :] * np.ones((5, 1)), axis=1)
(True, False)
>>> detect_periodic(np.ones((5, 1)) * np.linspace(0, 1, 64)[None, :], axis=1)
(False, False)
"""

from __future__ import annotations

import numpy as np

SEAM_FACTOR = 4.0
"""The seam's RMS second difference may be at most this many times the interior's (plus the noise's share)."""


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a)))) if a.size else 0.0


def _seam_ok(u: np.ndarray) -> bool:
    """``u`` ``(..., N)``: whether wrapping the last sample onto the first looks like an interior step."""
    second = u[..., 2:] - 2 * u[..., 1:-1] + u[..., :-2]
    seam = np.concatenate([u[..., 1:2] - 2 * u[..., :1] + u[..., -1:], u[..., :1] - 2 * u[..., -1:] + u[..., -2:-1]],
                          axis=-1)
    interior = _rms(second)
    scale = _rms(u - u.mean())
    return _rms(seam) <= SEAM_FACTOR * interior + 1e-9 * scale


def detect_periodic(values: np.ndarray, axis: int) -> tuple[bool, bool]:
    """``(periodic, drop_last)`` for ``values`` along ``axis``.

    ``drop_last`` is ``True`` when the grid repeats its first point at the end (then the field is periodic once
    the last sample is dropped).
    """
    u = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    if u.shape[-1] < 5:
        return False, False
    if _seam_ok(u):
        return True, False
    scale = _rms(u - u.mean()) + 1e-300
    noise = _rms(np.diff(u, 2, axis=-1)) / np.sqrt(6.0)
    same_ends = _rms(u[..., 0] - u[..., -1]) <= 3 * noise + 1e-9 * scale
    if same_ends and _seam_ok(u[..., :-1]):
        return True, True
    return False, False
