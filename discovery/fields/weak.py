"""The weak (integral) form of ``f_t = sum_k c_k D^alpha_k m_k(fields)``, for noisy fields.

Multiplying by a smooth test function ``phi(t, x)`` that vanishes with its derivatives at the edge of its
window, and integrating by parts, moves every derivative off the data:

    -integral(phi_t f)  =  sum_k c_k (-1)^|alpha_k| integral((D^alpha_k phi) m_k)

so the regression rows are integrals of the noisy data against known kernels, and noise averages out instead
of being amplified by differentiation (Messenger & Bortz, *Weak SINDy for partial differential equations*, 2021).
Test functions are products over axes of ``psi(s) = (1 - s^2)^p`` on windows of ``2 m + 1`` samples, centred
every ``m / 2`` samples (wrapping round periodic axes); the integrals are sums over the grid.

Examples
--------
>>> import numpy as np
>>> kernel = test_function_matrix(n=64, half_width=8, order=1, spacing=0.1, periodic=True, degree=6)
>>> kernel.shape
(16, 64)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from discovery.fields.library import LibraryTerm

MIN_HALF_WIDTH = 8
"""Narrowest window half-width in samples: the quadrature must resolve the test function."""


def _psi_derivative(s: np.ndarray, order: int, degree: int) -> np.ndarray:
    """``d^order/ds^order (1 - s^2)^degree`` on ``s`` in [-1, 1]."""
    poly = np.polynomial.Polynomial([1.0, 0.0, -1.0]) ** degree
    return poly.deriv(order)(s) if order else poly(s)


def centres(n: int, half_width: int, periodic: bool) -> np.ndarray:
    """Window centres: every ``half_width // 2`` samples, windows inside the grid unless ``periodic``."""
    stride = max(1, half_width // 2)
    if periodic:
        return np.arange(0, n, stride)
    return np.arange(half_width, n - half_width, stride)


def test_function_matrix(n: int, half_width: int, order: int, spacing: float, periodic: bool,
                         degree: int) -> np.ndarray:
    """``(n_windows, n)``: row ``i`` holds ``d^order psi_i/dx^order`` times the quadrature weight ``spacing``."""
    offsets = np.arange(-half_width, half_width + 1)
    s = offsets / half_width
    values = _psi_derivative(s, order, degree) * spacing / (half_width * spacing) ** order  # (2m+1,)
    cs = centres(n, half_width, periodic)
    out = np.zeros((cs.shape[0], n))
    for i, c in enumerate(cs):
        cols = (c + offsets) % n if periodic else c + offsets
        np.add.at(out[i], cols, values)
    return out


def default_half_widths(shape: Sequence[int], max_order: int) -> tuple[int, ...]:
    """Half-widths per axis (time first): about a tenth of each axis, at least :data:`MIN_HALF_WIDTH`."""
    return tuple(int(min(max(MIN_HALF_WIDTH, min(n // 10, 48)), (n - 2) // 2)) for n in shape)


def _contract(values: np.ndarray, kernels: Sequence[np.ndarray], first_axis: int = 0) -> np.ndarray:
    """Contract axis ``first_axis + k`` of ``values`` with ``kernels[k]`` ``(W_k, N_k)``, each in place."""
    out = values
    for k, K in enumerate(kernels):
        axis = first_axis + k
        out = np.moveaxis(np.tensordot(K, out, axes=([1], [axis])), 0, axis)
    return out


def weak_system(data: np.ndarray, dt: float, spacings: Sequence[float], periodic: Sequence[bool],
                terms: Sequence[LibraryTerm], half_widths: Sequence[int] | None = None,
                degree: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Weak-form regression rows: ``(theta (R, K), target (R, F))`` for ``data`` ``(F, Nt, *N)``.

    ``target[:, f]`` is ``-integral(phi_t f)``; ``theta[:, k]`` is ``(-1)^|alpha| integral(D^alpha phi m_k)``.
    """
    F, shape = data.shape[0], data.shape[1:]
    max_order = max([t.order for t in terms] + [1])
    kt, kx = _kernels(shape, dt, spacings, periodic, max_order, half_widths, degree)
    zero = [k[0] for k in kx]
    target = np.stack([-_contract(data[f], [kt[1], *zero]).reshape(-1) for f in range(F)], axis=1)
    theta = np.empty((target.shape[0], len(terms)))
    cache: dict[tuple[int, ...], np.ndarray] = {}
    for j, term in enumerate(terms):
        if term.powers not in cache:
            mono = np.ones(shape)
            for f, q in enumerate(term.powers):
                if q:
                    mono = mono * data[f] ** q
            cache[term.powers] = _contract(mono, [kt[0]])
        kernels = [kx[a][n] for a, n in enumerate(term.orders)]
        sign = -1.0 if term.order % 2 else 1.0
        theta[:, j] = sign * _contract(cache[term.powers], kernels, first_axis=1).reshape(-1)
    return theta, target


def _kernels(shape: Sequence[int], dt: float, spacings: Sequence[float], periodic: Sequence[bool], max_order: int,
             half_widths: Sequence[int] | None, degree: int | None) -> tuple[dict, list[dict]]:
    """Test-function matrices in time (orders 0 and 1) and along each axis (orders 0 to ``max_order``)."""
    dim = len(shape) - 1
    widths = tuple(half_widths) if half_widths is not None else default_half_widths(shape, max_order)
    p = degree if degree is not None else max_order + 5
    kt = {n: test_function_matrix(shape[0], widths[0], n, dt, False, p) for n in (0, 1)}
    kx = [{n: test_function_matrix(shape[a + 1], widths[a + 1], n, spacings[a], periodic[a], p)
           for n in range(max_order + 1)} for a in range(dim)]
    return kt, kx


def weak_columns(values: np.ndarray, dt: float, spacings: Sequence[float], periodic: Sequence[bool],
                 terms: Sequence[LibraryTerm], half_widths: Sequence[int] | None = None,
                 degree: int | None = None) -> np.ndarray:
    """Weak-form columns ``(R, G)`` of terms without a derivative given by their values ``(G, Nt, *N)`` on the
    grid (``exp(-u)``, ``u/(1 + u)``): the rows of :func:`weak_system` over the library ``terms``, so the columns
    can stand beside its ``theta``."""
    shape = values.shape[1:]
    max_order = max([t.order for t in terms] + [1])
    kt, kx = _kernels(shape, dt, spacings, periodic, max_order, half_widths, degree)
    zero = [k[0] for k in kx]
    return np.stack([_contract(_contract(v, [kt[0]]), zero, first_axis=1).reshape(-1) for v in values], axis=1)
