"""Spatial and temporal derivatives of sampled fields.

- Periodic axes: spectral (FFT) derivatives, exact for band-limited data.
- Other axes and time: finite differences from ``findiff`` (central, accuracy order 4 inside, one-sided at the
  ends).

Both act along one axis of an array of any shape; :func:`partial` composes them for a multi-index.

Examples
--------
>>> import numpy as np
>>> x = np.linspace(0, 2 * np.pi, 64, endpoint=False)
>>> d = derivative(np.sin(x), axis=0, order=2, spacing=x[1] - x[0], periodic=True)
>>> bool(np.allclose(d, -np.sin(x)))
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

FD_ACCURACY = 4
"""Accuracy order of the finite-difference stencils."""


def wavenumbers(n: int, spacing: float, real: bool = False) -> np.ndarray:
    """Angular wavenumbers of an ``n``-point periodic grid (``rfft`` layout when ``real``)."""
    freq = np.fft.rfftfreq(n, d=spacing) if real else np.fft.fftfreq(n, d=spacing)
    return 2.0 * np.pi * freq


def spectral_derivative(values: np.ndarray, axis: int, order: int, spacing: float) -> np.ndarray:
    """``order``-th derivative along a periodic ``axis`` by FFT (the Nyquist mode is dropped for odd orders)."""
    if order == 0:
        return values
    n = values.shape[axis]
    k = wavenumbers(n, spacing, real=True)
    mult = (1j * k) ** order
    if order % 2 == 1 and n % 2 == 0:
        mult[-1] = 0.0
    shape = [1] * values.ndim
    shape[axis] = k.shape[0]
    return np.fft.irfft(np.fft.rfft(values, axis=axis) * mult.reshape(shape), n=n, axis=axis)


@lru_cache(maxsize=64)
def _fd_operator(axis: int, order: int, spacing: float, acc: int):
    import findiff

    return findiff.Diff(axis, spacing, acc=acc) ** order


def fd_derivative(values: np.ndarray, axis: int, order: int, spacing: float, acc: int = FD_ACCURACY) -> np.ndarray:
    """``order``-th derivative along ``axis`` by finite differences (findiff; one-sided near the ends)."""
    if order == 0:
        return values
    return _fd_operator(axis, order, float(spacing), acc)(values)


def derivative(values: np.ndarray, axis: int, order: int, spacing: float, periodic: bool) -> np.ndarray:
    """``order``-th derivative along ``axis``: spectral when ``periodic``, finite differences otherwise."""
    if periodic:
        return spectral_derivative(values, axis, order, spacing)
    return fd_derivative(values, axis, order, spacing)


def partial(values: np.ndarray, orders: Sequence[int], axes: Sequence[int], spacings: Sequence[float],
            periodic: Sequence[bool]) -> np.ndarray:
    """Mixed derivative: ``orders[k]`` times along ``axes[k]`` (grid step ``spacings[k]``)."""
    out = values
    for n, axis, h, per in zip(orders, axes, spacings, periodic):
        if n:
            out = derivative(out, axis, n, h, per)
    return out
