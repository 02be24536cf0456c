"""The sparsity path of the ``sindy`` method: distinct sparse supports of ``y ~ theta @ c`` and their scores.

Library columns and targets are scaled to unit RMS, so a threshold or a coefficient is the size of a term relative
to the derivative it explains, whatever the system's coefficient scale. Supports come from pysindy's STLSQ along a
path of thresholds, from backward elimination and from a forward beam search; each is refitted by least squares
and scored by its error under cross-validation across contiguous time blocks (:func:`support_score`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from discovery.errors import DiscoveryError
from discovery.symbolic import rms
from discovery.parsimony import ERROR_FLOOR, parsimony_score



@dataclass(frozen=True)
class PathPoint:
    """One distinct support met on the sparsity path for one variable.

    ``coef`` holds the least-squares coefficients refitted on the support, in the original units of the
    library columns, shape ``(P,)``; ``rel_err`` is the relative RMS residual on all rows, ``cv_err`` the
    relative RMS residual under cross-validation across time blocks; ``threshold`` the smallest STLSQ threshold
    that gave the support (``nan`` for supports found only by stepwise elimination).
    """

    support: tuple[int, ...]
    coef: np.ndarray
    rel_err: float
    cv_err: float
    threshold: float

    @property
    def n_terms(self) -> int:
        return len(self.support)


@dataclass
class ScaledProblem:
    """A regression problem with library columns and targets scaled to unit RMS, kept as Gram matrices."""

    col_scale: np.ndarray  # (P,)
    y_scale: np.ndarray  # (D,)
    r: np.ndarray | None  # (P, P): R of the QR decomposition of the scaled library (None: not factored)
    qty: np.ndarray | None  # (P, D): Q^T y, so that ||theta c - y|| = ||r c - qty|| + const
    gram_blocks: np.ndarray  # (K, P, P): theta_k^T theta_k for each time block k
    cross_blocks: np.ndarray  # (K, P, D): theta_k^T y_k
    yy_blocks: np.ndarray  # (K, D): y_k^T y_k

    @classmethod
    def build(cls, theta: np.ndarray, y: np.ndarray, n_blocks: int, factor: bool = True) -> "ScaledProblem":
        """The problem of library ``theta`` ``(N, P)`` and targets ``y`` ``(N, D)``, with ``n_blocks`` contiguous
        row blocks; ``factor=False`` skips the QR factor (``r``, ``qty``), which only thresholding needs: the
        stepwise searches and the errors work on the Gram matrices."""
        col_scale = rms(theta)  # (P,): no overflow for states near 1e100
        col_scale = np.where(np.isfinite(col_scale) & (col_scale > 0), col_scale, 1.0)
        y_scale = rms(y)  # (D,)
        y_scale = np.where(y_scale > 0, y_scale, 1.0)
        theta_n = theta / col_scale  # (N, P)
        y_n = y / y_scale  # (N, D)
        r = qty = None
        if factor:
            q, r = np.linalg.qr(theta_n)  # q (N, P), r (P, P)
            qty = q.T @ y_n
        edges = np.linspace(0, len(y), n_blocks + 1).astype(int)
        blocks = [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
        gram = np.stack([theta_n[b].T @ theta_n[b] for b in blocks])
        cross = np.stack([theta_n[b].T @ y_n[b] for b in blocks])
        yy = np.stack([np.sum(y_n[b] ** 2, axis=0) for b in blocks])
        return cls(col_scale, y_scale, r, qty, gram, cross, yy)

    def backward_elimination(self, d: int) -> list[tuple[int, ...]]:
        """Supports of every size for target ``d``, from all columns down to one, each step dropping the column
        whose removal raises the residual least (``c_j**2 / inv(G)_jj``)."""
        gram = self.gram_blocks.sum(axis=0)  # (P, P)
        b = self.cross_blocks.sum(axis=0)[:, d]  # (P,)
        support = [j for j in range(len(b)) if gram[j, j] > 0]
        jitter = 1e-10 * float(np.max(np.diag(gram)))
        out = []
        while support:
            out.append(tuple(support))
            g_inv = np.linalg.inv(gram[np.ix_(support, support)] + jitter * np.eye(len(support)))
            c = g_inv @ b[support]
            cost = c**2 / np.maximum(np.diag(g_inv), 1e-300)
            support.pop(int(np.argmin(cost)))
        return out

    def forward_beam(self, d: int, width: int, max_terms: int, keep: int = 2) -> list[tuple[int, ...]]:
        """Supports of every size up to ``max_terms`` for target ``d`` by beam search: from the ``width`` best
        supports of size ``k`` (least residual), try adding each other column and keep the ``width`` best of
        size ``k + 1``. Returns the ``keep`` best of each size. Finds small supports whose terms are collinear
        with the rest of the library, which elimination from the full library drops early."""
        gram = self.gram_blocks.sum(axis=0)  # (P, P)
        b = self.cross_blocks.sum(axis=0)[:, d]  # (P,)
        n_feat = len(b)
        usable = [j for j in range(n_feat) if gram[j, j] > 0]
        jitter = 1e-10 * float(np.max(np.diag(gram)))
        beam: list[tuple[int, ...]] = [()]
        out: list[tuple[int, ...]] = []
        for _ in range(min(max_terms, len(usable))):
            grown = sorted({tuple(sorted(s + (j,))) for s in beam for j in usable if j not in s})
            idx = np.asarray(grown)  # (M, k)
            g = gram[idx[:, :, None], idx[:, None, :]] + jitter * np.eye(idx.shape[1])  # (M, k, k)
            rhs = b[idx]  # (M, k)
            fit = np.einsum("mk,mk->m", rhs, np.linalg.solve(g, rhs[:, :, None])[:, :, 0])  # explained energy
            order = np.argsort(-fit)
            beam = [grown[i] for i in order[:width]]
            out.extend(beam[:keep])
        return out

    def best_subsets(self, d: int, max_terms: int, budget: int, keep: int = 2) -> list[tuple[int, ...]]:
        """The ``keep`` least-residual supports of each size from 1 up to ``max_terms``, by enumerating every
        support of that size while there are at most ``budget`` of them (sizes beyond are left to the beam).

        On one trajectory that settles to an equilibrium the library's columns are nearly collinear, and greedy
        searches (thresholding, elimination, a beam) can pass by the law's support for another of the same size:
        Lotka-Volterra competition ``x*(3 - x - 2*y)`` came out as ``3 - 0.11*x**3 - 2.04*x*y``, 2% off where the
        law fits to rounding. Enumeration cannot miss it; with Gram matrices one support costs a ``k x k`` solve.
        """
        from math import comb
        from itertools import combinations

        gram = self.gram_blocks.sum(axis=0)  # (P, P)
        b = self.cross_blocks.sum(axis=0)[:, d]  # (P,)
        usable = [j for j in range(len(b)) if gram[j, j] > 0]
        jitter = 1e-10 * float(np.max(np.diag(gram)))
        out: list[tuple[int, ...]] = []
        for k in range(1, min(max_terms, len(usable)) + 1):
            if comb(len(usable), k) > budget:
                break
            idx = np.asarray(list(combinations(usable, k)))  # (M, k)
            fit = np.empty(len(idx))
            for lo in range(0, len(idx), 20000):  # chunks bound the (M, k, k) stack
                part = idx[lo : lo + 20000]
                g = gram[part[:, :, None], part[:, None, :]] + jitter * np.eye(k)
                rhs = b[part]
                fit[lo : lo + len(part)] = np.einsum("mk,mk->m", rhs, np.linalg.solve(g, rhs[:, :, None])[:, :, 0])
            out.extend(tuple(int(j) for j in idx[i]) for i in np.argsort(-fit)[:keep])
        return out

    def errors(
        self, supports: Sequence[tuple[int, ...]], d: int
    ) -> list[tuple[np.ndarray, float, float]]:
        """For each support: least-squares coefficients (scaled units), relative error and block-CV relative
        error on target ``d``. Supports of equal size are solved together as one batch."""
        gram = self.gram_blocks.sum(axis=0)  # (P, P)
        cross = self.cross_blocks.sum(axis=0)[:, d]  # (P,)
        yy = float(self.yy_blocks[:, d].sum())
        jitter = 1e-10 * float(np.max(np.diag(gram)))
        out: list[tuple[np.ndarray, float, float] | None] = [None] * len(supports)
        by_size: dict[int, list[int]] = {}
        for i, s in enumerate(supports):
            by_size.setdefault(len(s), []).append(i)
        for k, members in by_size.items():
            idx = np.asarray([supports[i] for i in members])  # (M, k)
            eye = jitter * np.eye(k)
            g = gram[idx[:, :, None], idx[:, None, :]]  # (M, k, k)
            b = cross[idx]  # (M, k)
            c = np.linalg.solve(g + eye, b[:, :, None])[:, :, 0]  # (M, k)
            rss = yy - 2 * np.einsum("mk,mk->m", c, b) + np.einsum("mk,mkl,ml->m", c, g, c)
            gk = self.gram_blocks[:, idx[:, :, None], idx[:, None, :]]  # (K, M, k, k)
            bk = self.cross_blocks[:, idx, d]  # (K, M, k)
            ck = np.linalg.solve(g - gk + eye, (b - bk)[..., None])[..., 0]  # (K, M, k): fit without block
            held = (self.yy_blocks[:, d, None] - 2 * np.einsum("jmk,jmk->jm", ck, bk)
                    + np.einsum("jmk,jmkl,jml->jm", ck, gk, ck))  # (K, M) squared error on each held-out block
            cv = np.maximum(held, 0.0).sum(axis=0)  # (M,)
            for row, i in enumerate(members):
                if yy <= 0:
                    out[i] = (c[row], 0.0, 0.0)
                else:
                    out[i] = (c[row], float(np.sqrt(max(rss[row], 0.0) / yy)), float(np.sqrt(cv[row] / yy)))
        return out  # type: ignore[return-value]


def sparsity_path(
    theta: np.ndarray,
    y: np.ndarray,
    thresholds: Sequence[float],
    *,
    alpha: float = 1e-3,
    n_blocks: int = 5,
    stepwise: bool = True,
    beam_width: int = 8,
    beam_terms: int = 10,
    subset_terms: int = 5,
    subset_budget: int = 20000,
) -> list[list[PathPoint]]:
    """Distinct sparse supports of ``y ~ theta @ c`` found along a threshold path, scored, for every target.

    Columns of ``theta`` and of ``y`` are scaled to unit RMS, so a threshold is the size of a term relative to
    the derivative it explains, whatever the system's coefficient scale. pysindy's :class:`~pysindy.STLSQ` runs
    at each threshold on the ``(P, P)`` triangular factor of the library (the same solutions as the ``(N, P)``
    problem at a fraction of the cost). When ``stepwise``, backward elimination (drop the term whose removal
    raises the residual least, refit, repeat), a forward beam search (:meth:`ScaledProblem.forward_beam`) and the best
    small supports by enumeration (:meth:`ScaledProblem.best_subsets`) add
    supports of each size: they recover supports that thresholding misses when library columns are nearly
    collinear (``x*z`` and ``x*z**2`` with ``z`` far from 0, ``x*y`` and ``x**2*y`` with ``x`` far from 0).

    Parameters
    ----------
    theta:
        Library matrix, shape ``(N, P)``, rows in time order (trajectories one after another).
    y:
        Time derivatives, shape ``(N, D)``.
    thresholds:
        STLSQ thresholds in scaled units.
    alpha:
        Ridge strength of STLSQ per row (the ridge penalty is ``alpha * N``).
    n_blocks:
        Number of contiguous row blocks for cross-validation.
    stepwise:
        Also run backward elimination and a forward beam search.
    beam_width, beam_terms:
        Width of the forward beam search, and the largest support it builds.
    subset_terms, subset_budget:
        With ``stepwise``, the best supports of each size up to ``subset_terms`` are also found by enumeration
        (:meth:`ScaledProblem.best_subsets`) where a size has at most ``subset_budget`` supports.

    Returns
    -------
    list of list of PathPoint
        For each target (column of ``y``), its distinct supports, sparsest first.
    """
    import pysindy as ps

    n_rows, n_feat = theta.shape
    if n_rows < max(n_feat + 1, 2 * n_blocks):
        raise DiscoveryError(
            f"SINDy needs more rows than library terms: {n_rows} rows for {n_feat} terms; "
            "use more points or a smaller library"
        )
    prob = ScaledProblem.build(theta, y, n_blocks, factor=bool(len(thresholds)))
    n_targets = y.shape[1]
    found: list[dict[tuple[int, ...], float]] = [{} for _ in range(n_targets)]
    active = [d for d in range(n_targets) if np.any(y[:, d] != 0)]  # a constant variable has nothing to fit
    ridge = alpha * n_rows

    def collect(coef: np.ndarray, tau: float) -> None:
        for d, row in zip(active, np.atleast_2d(coef)):  # coef (D_active, P)
            s = tuple(int(j) for j in np.flatnonzero(row))
            if s and s not in found[d]:
                found[d][s] = tau

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # STLSQ warns when a threshold removes every term
        for tau in sorted(thresholds) if active else ():
            opt = ps.STLSQ(threshold=float(tau), alpha=ridge, max_iter=20)
            collect(opt.fit(prob.r, prob.qty[:, active]).coef_, float(tau))
    if stepwise:
        for d in active:
            for s in (prob.backward_elimination(d) + prob.forward_beam(d, beam_width, max_terms=beam_terms)
                      + prob.best_subsets(d, subset_terms, subset_budget)):
                found[d].setdefault(s, float("nan"))

    out: list[list[PathPoint]] = []
    for d in range(n_targets):
        points = []
        supports = list(found[d])
        for s, (c_n, rel, cv) in zip(supports, prob.errors(supports, d)):
            tau = found[d][s]
            coef = np.zeros(n_feat)
            coef[list(s)] = c_n * prob.y_scale[d] / prob.col_scale[list(s)]
            points.append(PathPoint(s, coef, rel, cv, tau))
        points.sort(key=lambda p: (p.n_terms, p.cv_err))
        out.append(points)
    return out


def support_score(point: PathPoint, penalty: float = 0.15, floor: float = ERROR_FLOOR, cost: float | None = None) -> float:
    """Model-selection score of a support (lower is better): the :func:`discovery.parsimony.parsimony_score` of
    its block-CV error and its cost (the number of terms unless given; terms may cost more than one, see
    :class:`SINDyConfig`).

    Each extra term must cut the block-CV error by a factor ``exp(penalty)`` (16% by default) to pay for itself,
    and errors under ``floor`` count as equal. Derivative errors are smooth in time and correlated with the
    library, so extra terms keep lowering the error a little and a likelihood criterion (AIC or BIC with the
    number of rows as sample size) keeps adding them; this relative rule does not.
    """
    return parsimony_score(point.cv_err, point.n_terms if cost is None else cost, penalty, floor)
