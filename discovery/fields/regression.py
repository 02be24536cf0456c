"""Sparse regression paths: one least-squares model per support, from many terms down to one.

Two routes over normalized columns, pooled and de-duplicated:

- **backward elimination**: from the full least-squares fit, repeatedly drop the term whose removal raises the
  residual least (computed from the Gram matrix: dropping ``j`` costs ``xi_j^2 / (G^-1)_jj``), giving one
  support per size;
- **sequential thresholding** (STLSQ, as in PDE-FIND): least squares, zero the coefficients below a threshold,
  refit, over a logarithmic range of thresholds.

Every support is refitted by plain least squares, so coefficients are unbiased by the selection.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> theta = rng.standard_normal((200, 6))
>>> b = 2 * theta[:, 1] - 0.5 * theta[:, 4]
>>> [fit.support for fit in sparsity_path(theta, b, max_terms=2)]
[(1,), (1, 4)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

RIDGE = 1e-12
"""Relative ridge added to the Gram matrix of normalized columns, for collinear libraries."""


@dataclass(frozen=True)
class SparseFit:
    """One model: the terms it uses (column indices), its coefficients (all columns) and relative residual."""

    support: tuple[int, ...]
    coefficients: np.ndarray  # (K,)
    residual: float


def _gram(theta: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    scale = np.linalg.norm(theta, axis=0)
    scale[scale == 0] = 1.0
    tn = theta / scale
    G = tn.T @ tn
    G[np.diag_indices_from(G)] += RIDGE * max(float(np.trace(G)), 1.0)
    return G, tn.T @ b, float(b @ b), scale


def _solve(G: np.ndarray, c: np.ndarray, support: list[int]) -> np.ndarray:
    idx = np.asarray(support, dtype=int)
    try:
        return np.linalg.solve(G[np.ix_(idx, idx)], c[idx])
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(G[np.ix_(idx, idx)], c[idx], rcond=None)[0]


def fit_support(theta: np.ndarray, b: np.ndarray, support: tuple[int, ...]) -> SparseFit:
    """Least squares of ``b`` on the columns ``support`` of ``theta``."""
    G, c, bb, scale = _gram(theta, b)
    return _fit(G, c, bb, scale, list(support))


def _fit(G: np.ndarray, c: np.ndarray, bb: float, scale: np.ndarray, support: list[int]) -> SparseFit:
    coef = np.zeros(G.shape[0])
    if support:
        xi = _solve(G, c, support)
        coef[np.asarray(support)] = xi
        rss = max(bb - 2 * float(xi @ c[support]) + float(xi @ G[np.ix_(support, support)] @ xi), 0.0)
    else:
        rss = bb
    return SparseFit(tuple(sorted(support)), coef / scale, float(np.sqrt(rss / max(bb, 1e-300))))


def backward_path(theta: np.ndarray, b: np.ndarray) -> list[SparseFit]:
    """One fit per support size, from all columns down to one, by backward elimination."""
    G, c, bb, scale = _gram(theta, b)
    support = list(range(theta.shape[1]))
    fits = []
    while support:
        fits.append(_fit(G, c, bb, scale, support))
        if len(support) == 1:
            break
        idx = np.asarray(support)
        inv = np.linalg.pinv(G[np.ix_(idx, idx)])
        xi = inv @ c[idx]
        cost = xi**2 / np.maximum(np.diag(inv), 1e-300)
        support.pop(int(np.argmin(cost)))
    return fits


def stlsq_path(theta: np.ndarray, b: np.ndarray, n_thresholds: int = 40) -> list[SparseFit]:
    """Sequentially thresholded least squares over thresholds from 1e-4 to the largest normalized coefficient."""
    G, c, bb, scale = _gram(theta, b)
    full = _solve(G, c, list(range(G.shape[0])))
    top = float(np.max(np.abs(full))) if full.size else 0.0
    fits = []
    for thr in np.geomspace(1e-4 * max(top, 1e-300), max(top, 1e-300), n_thresholds):
        support = list(range(G.shape[0]))
        for _ in range(20):
            xi = _solve(G, c, support) if support else np.zeros(0)
            keep = [j for j, v in zip(support, xi) if abs(v) >= thr]
            if keep == support or not keep:
                support = keep
                break
            support = keep
        if support:
            fits.append(_fit(G, c, bb, scale, support))
    return fits


def sparsity_path(theta: np.ndarray, b: np.ndarray, max_terms: int = 8) -> list[SparseFit]:
    """Pooled backward-elimination and STLSQ fits with at most ``max_terms`` terms, by size then residual.

    For each support size, only the fit with the smallest residual is kept.
    """
    best: dict[int, SparseFit] = {}
    seen: dict[tuple[int, ...], SparseFit] = {}
    for fit in backward_path(theta, b) + stlsq_path(theta, b):
        if len(fit.support) <= max_terms and fit.support not in seen:
            seen[fit.support] = fit
    for fit in seen.values():
        k = len(fit.support)
        if k not in best or fit.residual < best[k].residual:
            best[k] = fit
    return [best[k] for k in sorted(best)]


KNEE = 0.02
"""A model is at the knee of a path when its residual is within this fraction of the path's best."""


def knee(path: Sequence[SparseFit]) -> SparseFit:
    """The fewest-term fit of a non-empty ``path`` whose residual is within :data:`KNEE` of the path's best (more
    terms stop paying for themselves there; ties: the smaller residual)."""
    best = min(f.residual for f in path)
    return min((f for f in path if f.residual <= (1.0 + KNEE) * best + 1e-12),
               key=lambda f: (len(f.support), f.residual))
