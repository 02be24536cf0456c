"""The strong (pointwise) form: ``f_t`` and every library term evaluated at the grid points (PDE-FIND).

Time derivatives are fourth-order finite differences (findiff), spatial ones spectral on periodic axes and
finite differences otherwise (:mod:`discovery.fields.derivatives`). Points next to non-periodic edges and the
first and last times, where one-sided stencils are least accurate, are left out, and at most ``max_rows``
points (evenly strided) are kept. On noisy data this form needs the field denoised first (see
:mod:`discovery.fields.noise`); the weak form does not.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from discovery.fields.derivatives import fd_derivative
from discovery.fields.library import LibraryTerm

EDGE = 4
"""Samples left out at each non-periodic edge and at each end in time."""

MAX_ROWS = 60_000
"""Most grid points used as regression rows."""


def _interior(shape: Sequence[int], periodic: Sequence[bool]) -> tuple[slice, ...]:
    idx = [slice(EDGE, shape[0] - EDGE)]
    idx += [slice(None) if per else slice(EDGE, n - EDGE) for n, per in zip(shape[1:], periodic)]
    return tuple(idx)


def _rows(shape: Sequence[int], periodic: Sequence[bool], max_rows: int) -> Callable[[np.ndarray], np.ndarray]:
    """Grid values ``(Nt, *N)`` -> the regression rows: the interior, flattened, every ``stride``-th point so that
    at most ``max_rows`` remain."""
    inner = _interior(shape, periodic)
    n_inner = int(np.prod([len(range(*s.indices(n))) for s, n in zip(inner, shape)]))
    stride = max(1, int(np.ceil(n_inner / max_rows)))
    return lambda values: values[inner].reshape(-1)[::stride]


def strong_system(data: np.ndarray, dt: float, spacings: Sequence[float], periodic: Sequence[bool],
                  terms: Sequence[LibraryTerm], max_rows: int = MAX_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise regression rows: ``(theta (R, K), target (R, F))`` for ``data`` ``(F, Nt, *N)``."""
    rows = _rows(data.shape[1:], periodic, max_rows)
    target = np.stack([rows(fd_derivative(data[f], 0, 1, dt)) for f in range(data.shape[0])], axis=1)
    theta = np.empty((target.shape[0], len(terms)))
    for j, term in enumerate(terms):
        theta[:, j] = rows(term.values(data, spacings, periodic))
    return theta, target


def strong_columns(values: np.ndarray, periodic: Sequence[bool], max_rows: int = MAX_ROWS) -> np.ndarray:
    """Columns ``(R, G)`` of terms without a derivative given by their values ``(G, Nt, *N)`` on the grid, on the
    rows of :func:`strong_system` (same interior, same stride)."""
    rows = _rows(values.shape[1:], periodic, max_rows)
    return np.stack([rows(v) for v in values], axis=1)
