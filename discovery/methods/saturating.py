"""Saturating, exponential and logarithmic terms with fitted inner constants, for the ``sindy`` method.

Laws of biology, chemistry and ecology saturate: Michaelis-Menten ``V*s/(K + s)``, Hill activation
``x**n/(K + x**n)`` and repression ``1/(K + x**n)``, Holling predation ``y*x/(K + x)``, Ivlev ``1 - exp(-k*x)``,
Gompertz ``x*log(K/x)``. Such a term is linear in its outer coefficient but not in its inner constant (``K``,
``c``, ``k``), so it cannot sit in a fixed library, and fixing the constant at 1 finds the law only when it
happens to be 1. Here each *family* of terms (:class:`Family`: a kind, the state inside it, an optional state
multiplying it, a Hill order) gets its inner constant searched:

1. a coarse grid of constants, log-spaced over the range of the state inside;
2. for every grid value, a forward greedy fit (batched over all families and grid values at once,
   :func:`screen`) that *forces the term in* and adds up to a few polynomial terms; each fit is scored like a
   sparse support (:func:`~discovery.methods.sindy_path.support_score` on its relative residual), so a family is
   judged by the sparse model it makes possible, not by how much of a cubic polynomial's residual it explains;
3. the best grid value of each family is refined by a bounded one-dimensional search on the same support.

The families whose sparse models beat the polynomial-only greedy fit of the same variable (at most
``max_terms`` of them) join that variable's polynomial library (:func:`saturating_libraries`), and the ordinary
sparsity path of the ``sindy`` method chooses among all the terms. Inner constants stay plain numbers, so the
pipeline's refinement fits them against the trajectories with the outer coefficients.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.sindy_library import Library
from discovery.methods.sindy_path import ScaledProblem
from discovery.methods.sindy_terms import ExpressionColumns, expression_library

__all__ = ["Family", "SaturatingConfig", "families", "polynomial_reference", "saturating_libraries", "screen"]

PAIR_POLYNOMIALS = 20
"""The screen also enumerates every pair of polynomial terms beside a forced term when the polynomial library has
at most this many columns (190 pairs; a 3-variable cubic library has 20)."""
NEGATIVE_DIP = 0.05
"""A state whose smallest value is above ``-NEGATIVE_DIP`` times its largest counts as non-negative for odd Hill
orders: a substrate that runs down to zero dips below it by the noise (1% noise on ``s/(0.5 + s)`` data did, and
``s/(k + s)`` was never tried)."""
POWER_EXPONENTS = (0.2, 4.0)
"""The span of the exponents ``p`` of ``s**p`` searched (linearly spaced, then refined)."""
POLE_CLEARANCE = 3.0
"""For such a state, the inner constant of an odd-order term stays at least this many times the deepest dip, so
the pole at ``s = -k`` (or ``s**n = -k**n``) is far from every sample."""
KINDS = ("hill", "repress", "exp", "log", "power")
"""Term kinds: ``s**n/(K + s**n)``, ``1/(K + s**n)``, ``exp(-k*s)``, ``log(s)``, ``s**p`` (a positive state to a
fitted, non-integer power: Richards' theta-logistic ``r*N*(1 - (N/K)**nu)`` is ``r*N - c*N**(1 + nu)``). Repression is written with the
constant beside the power, ``3/(1 + y**2)`` as ``c/(K + y**2)`` rather than ``c/(1 + b*y**2)``: the same law with
two nodes fewer."""
EXTRA_COST = {"hill": 0.0, "repress": 0.05, "exp": 0.25, "log": 0.25, "power": 0.25}
"""What a term of each kind costs in model selection beyond the ``sindy`` method's ``other_cost``. Ties decide:
``y*x/(1 + x)`` and ``y/(1 + x)`` make equally sparse models of a Holling law (``0.5*x*y/(1 + x) - 0.2*y`` is
``0.3*y - 0.5*y/(1 + x)``), and the form that vanishes with its state is the one textbooks write; within the noise
``exp(-1.3*s)`` fits a Michaelis-Menten law as well as ``s/(0.8 + s)``, and the rational term should win."""


@dataclass(frozen=True)
class SaturatingConfig:
    """Options of the saturating generator.

    Attributes
    ----------
    kinds:
        Term kinds searched (see :data:`KINDS`).
    hill_orders:
        Orders ``n`` of the Hill terms.
    grid:
        Grid values per inner constant. The residual of a forced Hill term is sharp in its constant (the spruce
        budworm's ``x**2/(1 + x**2)`` fits to 1e-13 at ``k = 1``, to 1e-2 at 1.02 and to 0.1 at 0.8), so the grid
        must be fine enough that one of its values falls in the basin: 30 values over the span below.
    coarse_grid, fine_families:
        Every family is first screened on ``coarse_grid`` values over the same span; the best of them (at least
        ``fine_families``, at least a third of all) are screened again on ``grid`` values. The coarse grid ranks the
        law's own family well below the top when its basin is sharp (the toggle switch's ``4/(1 + v**2)``: 9th to
        16th of 42), so the shortlist is generous.
    span:
        How far the Hill constants reach beyond the data, as factors of its 5th percentile (down) and of its
        largest value (up). A repressor ``4/(1 + v**2)`` on data with ``v <= 0.5`` saturates at ``k = 1``, twice
        the largest ``v``: its constant lies outside the data's range.
    greedy_terms:
        Polynomial terms the screen adds, one at a time, to each forced term.
    max_terms:
        Most families kept per variable: the best of each kind, Hill order and factor first (within the noise a
        Hill term of order 3 and one of order 4, ``exp(-k*s)`` and ``s/(k + s)``, or ``log(x)`` and
        ``x*log(x)``, fit alike, and the sparsity path and the re-simulation should see both), then the next
        best.
    max_refined:
        Families (the best by their grid value) whose inner constant is refined between grid values.
    refine_steps:
        How many grid steps on each side of the best grid value the refinement searches. At a grid value off the
        law's constant an extra polynomial term makes up the difference, and that value can beat the two next to
        the constant: clean SIR with saturating incidence, ``3*S*I/(1 + 2*I)`` (``k = 0.5``), had its best grid
        value at 0.361 (two steps below), so one step each side never reached it; Griffith's switch with its
        parameters redrawn, ``x**2/(1 + x**2)`` on data with ``1.9 <= x <= 3.3`` (where the term is nearly
        straight), had its best at 0.76, three steps below, so two steps each side did not reach it either. The
        wider search fits a look-alike family's constant better too: Holling III at 1% noise lost its law to an
        exponential look-alike (``benchmarks/NOTES.md``, session 21).
    max_scored:
        Families (the best by their grid value) scored by block cross-validation; the rest are dropped (at most
        ``max_terms`` are kept, and cross-validating every family of a 3-variable system cost seconds).
    backward_budget:
        Work (about ``columns * (P + 1)**4`` for ``P`` polynomial terms) spent on backward elimination in the screen;
        enough for every family of two variables, a shortlist for more.
    margin:
        A family is kept only when its score beats the variable's best polynomial support by this much.
    digits:
        Significant digits of the inner constants.
    """

    kinds: tuple[str, ...] = KINDS
    hill_orders: tuple[int, ...] = (1, 2, 3, 4)
    grid: int = 30
    coarse_grid: int = 10
    fine_families: int = 16
    span: tuple[float, float] = (0.25, 4.0)
    greedy_terms: int = 4
    max_terms: int = 8
    max_refined: int = 6
    refine_steps: int = 4
    max_scored: int = 16
    backward_budget: float = 1e8
    margin: float = 0.1
    digits: int = 4

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in KINDS]
        if not 0 < self.span[0] <= 1 <= self.span[1]:
            raise DiscoveryError(f"saturating: expected span (low, high) with 0 < low <= 1 <= high, found {self.span}")
        small = min(self.grid, self.coarse_grid) < 2 or self.max_terms < 1 or self.refine_steps < 1
        if unknown or small or any(int(n) < 1 for n in self.hill_orders):
            raise DiscoveryError(
                f"saturating: expected kinds among {', '.join(KINDS)}, hill_orders >= 1, grid >= 2, "
                f"max_terms >= 1 and refine_steps >= 1, found kinds={list(self.kinds)}, "
                f"hill_orders={list(self.hill_orders)}, grid={self.grid}, max_terms={self.max_terms}, "
                f"refine_steps={self.refine_steps}"
            )


@dataclass(frozen=True)
class Family:
    """Terms ``factor * g(state; k)`` for one kind ``g`` (see :data:`KINDS`); ``factor`` is a state or ``None``.

    ``k`` is the inner constant as searched: the half-saturation level of ``hill`` and ``repress``
    (``s**n/(k**n + s**n)``, ``1/(k**n + s**n)``), the rate of ``exp`` (``exp(-k*s)``), the exponent of ``power``
    (``s**k``); ``log`` has none.
    """

    kind: str
    state: int
    factor: int | None = None
    order: int = 1

    def values(self, x: np.ndarray, k: np.ndarray | float) -> np.ndarray:
        """Columns of the term on states ``x`` (N, D), one per value of ``k`` (G,): shape ``(N, G)``."""
        s = x[:, self.state, None]  # (N, 1)
        k = np.atleast_1d(np.asarray(k, dtype=float))[None, :]  # (1, G)
        with np.errstate(all="ignore"):
            if self.kind == "hill":
                sn = s**self.order
                col = sn / (k**self.order + sn)
            elif self.kind == "repress":
                col = 1.0 / (k**self.order + s**self.order)
            elif self.kind == "exp":
                col = np.exp(-k * s)
            elif self.kind == "power":
                col = s**k
            else:
                col = np.broadcast_to(np.log(s), (len(s), k.shape[1]))
        return col if self.factor is None else col * x[:, self.factor, None]

    def expr(self, syms: Sequence[sympy.Symbol], k: float, digits: int = 4) -> sympy.Expr:
        """The term as a sympy expression; its inner constant rounded to ``digits`` significant digits."""
        s, n = syms[self.state], self.order

        def num(value: float) -> sympy.Float:
            return sympy.Float(float(f"{value:.{digits}g}"))

        if self.kind == "hill":
            term = s**n / (num(k**n) + s**n)
        elif self.kind == "repress":
            term = 1 / (num(k**n) + s**n)
        elif self.kind == "exp":
            term = sympy.exp(-num(k) * s)
        elif self.kind == "power":
            term = s ** num(k)
        else:
            term = sympy.log(s)
        return term if self.factor is None else syms[self.factor] * term

    def grid(self, x: np.ndarray, size: int, span: tuple[float, float] = (0.25, 4.0)) -> np.ndarray:
        """Inner constants to try, log-spaced over (and ``span`` beyond) the range of the state inside; ``[0]`` for
        ``log``."""
        s = np.abs(x[:, self.state])
        top = float(np.max(s))
        if self.kind == "log" or top <= 0:
            return np.zeros(1)
        if self.kind == "power":
            return np.linspace(*POWER_EXPONENTS, size)
        if self.kind == "exp":  # exp(-k*s) must bend over the data, else it is a linear term in disguise
            return np.geomspace(0.7, 12.0, size) / max(float(np.ptp(x[:, self.state])), 1e-12 * top)
        low = max(float(np.percentile(s, 5)), 1e-2 * top)
        dip = -float(np.min(x[:, self.state]))
        if self.order % 2 and dip > 0:  # an odd power of a state that dips below zero: keep the pole -k clear of it
            low = max(low, POLE_CLEARANCE * dip / span[0])
        return np.geomspace(span[0] * low, span[1] * top, size)  # saturation within or near the data's range


def families(x: np.ndarray, names: Sequence[str], config: SaturatingConfig = SaturatingConfig()) -> list[Family]:
    """Every family that makes sense on states ``x`` (N, D).

    Hill terms of odd order need a state that stays non-negative (``s/(k + s)`` has a pole at ``-k``), up to a dip of
    :data:`NEGATIVE_DIP` of its largest value (noise near zero; their constants then keep the pole clear); ``log``
    needs a positive state. A term is multiplied by nothing or by another state (``y*x/(k + x)``, ``y*exp(-k*x)``);
    ``log`` also by its own state (Gompertz's ``x*log(x)``). Not ``x*exp(-k*x)``: a bump that, on one noisy
    trajectory, imitates a Hill term too well (the toggle switch's ``3/(1 + y**3)`` came out as
    ``15.7*y*exp(-2.04*y)``); :func:`self_families` offers it to ``x``'s own equation only (Ricker).
    """
    n_vars = len(names)
    out: list[Family] = []
    for i in range(n_vars):
        s = x[:, i]
        lo, hi = float(np.min(s)), float(np.max(s))
        nonneg = lo >= -NEGATIVE_DIP * max(abs(hi), 1e-12)  # noise dips below zero near a state's floor
        positive = _positive(s)
        for kind in config.kinds:
            if kind in ("hill", "repress"):
                orders = [n for n in config.hill_orders if nonneg or n % 2 == 0]
                factors: list[int | None] = [None] + [j for j in range(n_vars) if j != i]
            elif kind == "exp":
                orders, factors = [1], [None] + [j for j in range(n_vars) if j != i]
            elif kind == "power":  # own equation only (:func:`self_families`)
                continue
            else:
                orders, factors = ([1], [None, *range(n_vars)]) if positive else ([], [])
            out += [Family(kind, i, f, n) for n in orders for f in factors]
    return out


def self_families(d: int, config: SaturatingConfig = SaturatingConfig(), x: np.ndarray | None = None
                  ) -> list[Family]:
    """Families for variable ``d``'s own equation only: ``x*exp(-k*x)``, Ricker's self-limited growth, and, where
    the states ``x`` (N, D) show ``d`` positive, ``x**p``, Richards' theta-logistic growth.

    Not offered to other equations (:func:`families`): there the bump imitated a Hill term of another variable, and
    a power of another state is a smooth stand-in for nearly anything.
    """
    out = [Family("exp", d, d, 1)] if "exp" in config.kinds else []
    if "power" in config.kinds and x is not None and _positive(x[:, d]):
        out.append(Family("power", d))
    return out


def _positive(s: np.ndarray) -> bool:
    """Whether a state stays clear of zero: its smallest value above a thousandth of its largest (``log(s)`` and
    ``s**p`` are then defined and tame on every sample)."""
    return float(np.min(s)) > 1e-3 * float(np.max(s)) > 0


class _ForcedFits:
    """Sparse fits of one unit-RMS target on the polynomial columns plus one *forced* candidate column.

    Every candidate column gets two searches over the polynomial columns, batched over all candidates at once: a
    forward greedy one (add the column that explains most, up to ``steps``) and backward elimination (from all
    columns, drop the one whose loss costs least). Each support met is scored like a sparse support
    (``log(max(rel_err, floor)) + penalty * cost``) and a candidate keeps its best. Backward elimination finds the
    supports whose terms only work together (``x - x**2/4 - y + y*exp(-0.8*x)``), which greedy addition misses.
    """

    def __init__(self, theta: np.ndarray, y: np.ndarray, penalty: float, floor: float,
                 rows: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        n_rows = len(y)
        self.rows = rows  # pointwise columns (N, G) -> regression rows (K, G); None: the samples themselves
        scale = np.sqrt(np.mean(theta**2, axis=0))
        self.theta = theta / np.where(scale > 0, scale, 1.0)  # (N, P)
        self.y = y / float(np.sqrt(np.mean(y**2)))  # (N,)
        self.gram = self.theta.T @ self.theta / n_rows  # (P, P)
        self.b = self.theta.T @ self.y / n_rows  # (P,)
        self.penalty, self.floor = penalty, floor
        self.costs = np.zeros(0)
        self._blocks: dict[int, tuple[list[slice], np.ndarray, np.ndarray, np.ndarray]] = {}

    def columns(self, fam: Family, x: np.ndarray, k: np.ndarray | float) -> np.ndarray:
        """The family's columns at constants ``k`` as regression rows: on the samples, or integrated (weak form)."""
        cols = fam.values(x, k)
        if self.rows is None:
            return cols
        with np.errstate(all="ignore"):
            return self.rows(np.where(np.isfinite(cols), cols, np.nan))

    def cv_problem(self, col: np.ndarray, n_blocks: int) -> ScaledProblem:
        """The cross-validation problem of ``[col, polynomials]`` (col (N, 1) first), as
        :meth:`ScaledProblem.build` makes it, from block Gram matrices of the polynomials computed once."""
        if n_blocks not in self._blocks:
            edges = np.linspace(0, len(self.y), n_blocks + 1).astype(int)
            blocks = [slice(lo, hi) for lo, hi in itertools.pairwise(edges)]
            self._blocks[n_blocks] = (
                blocks,
                np.stack([self.theta[b].T @ self.theta[b] for b in blocks]),  # (K, P, P)
                np.stack([self.theta[b].T @ self.y[b] for b in blocks]),  # (K, P)
                np.array([float(self.y[b] @ self.y[b]) for b in blocks]),  # (K,)
            )
        blocks, gram_p, cross_p, yy = self._blocks[n_blocks]
        c = col[:, 0] / max(float(np.sqrt(np.mean(col**2))), 1e-300)
        n_poly = self.theta.shape[1]
        gram = np.empty((len(blocks), n_poly + 1, n_poly + 1))
        gram[:, 1:, 1:] = gram_p
        gram[:, 0, 1:] = np.stack([self.theta[b].T @ c[b] for b in blocks])
        gram[:, 1:, 0] = gram[:, 0, 1:]
        gram[:, 0, 0] = [float(c[b] @ c[b]) for b in blocks]
        cross = np.concatenate([np.array([[float(c[b] @ self.y[b])] for b in blocks]), cross_p], axis=1)
        ones = np.ones(n_poly + 1)
        return ScaledProblem(ones, np.ones(1), np.zeros((0, 0)), np.zeros((0, 1)), gram, cross[:, :, None],
                             yy[:, None])

    def _score(self, explained: np.ndarray, n_poly: int | np.ndarray) -> np.ndarray:
        rel = np.sqrt(np.maximum(1.0 - explained, 0.0))
        return np.log(np.maximum(rel, self.floor)) + self.penalty * (self.costs + n_poly)

    def best(self, cols: np.ndarray, costs: np.ndarray, steps: int, backward: np.ndarray | None = None
             ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Best score of each column of ``cols`` (N, K) (unit RMS, each costing ``costs`` (K,)) and the polynomial
        support it was met with; backward elimination only for the columns ``backward`` (default: all)."""
        n_rows = len(self.y)
        cross, b_cols = self.theta.T @ cols / n_rows, cols.T @ self.y / n_rows  # (P, K), (K,)
        self.costs = np.asarray(costs, dtype=float)
        scores, supports = self._forward(cross, b_cols, steps)
        if cross.shape[0] <= PAIR_POLYNOMIALS:
            pair_scores, pair_supports = self._pairs(cross, b_cols)
            for at in np.flatnonzero(pair_scores < scores):
                scores[at], supports[at] = pair_scores[at], pair_supports[at]
        chosen = np.arange(cols.shape[1]) if backward is None else np.asarray(backward, dtype=int)
        if len(chosen):
            self.costs = np.asarray(costs, dtype=float)[chosen]
            bwd, bwd_support = self._backward(cross[:, chosen], b_cols[chosen])
            for at, score, support in zip(chosen, bwd, bwd_support):
                if score < scores[at]:
                    scores[at], supports[at] = score, support
        return scores, supports

    def _forward(self, cross: np.ndarray, b_cols: np.ndarray, steps: int) -> tuple[np.ndarray, list[np.ndarray]]:
        n_poly, n_cols = cross.shape
        rows = np.arange(n_cols)
        support = np.zeros((n_cols, 0), dtype=int)
        best = self._score(b_cols**2, 0)  # the column alone
        best_support = [np.zeros(0, dtype=int)] * n_cols
        for t in range(min(steps, n_poly)):
            m = t + 2  # forced column + t chosen + 1 new
            idx = np.concatenate([np.broadcast_to(support[:, None, :], (n_cols, n_poly, t)),
                                  np.broadcast_to(np.arange(n_poly)[None, :, None], (n_cols, n_poly, 1))], axis=2)
            g = np.empty((n_cols, n_poly, m, m))
            g[:, :, 0, 0] = 1.0
            g[:, :, 0, 1:] = cross.T[rows[:, None, None], idx]  # (K, P, t+1)
            g[:, :, 1:, 0] = g[:, :, 0, 1:]
            g[:, :, 1:, 1:] = self.gram[idx[..., :, None], idx[..., None, :]]
            g += 1e-9 * np.eye(m)
            b = np.concatenate([np.broadcast_to(b_cols[:, None, None], (n_cols, n_poly, 1)), self.b[idx]], axis=2)
            with np.errstate(all="ignore"):
                explained = np.einsum("kpm,kpm->kp", b, np.linalg.solve(g, b[..., None])[..., 0])  # (K, P)
            for r in range(t):  # a polynomial already in the support cannot be added again
                explained[rows, support[:, r]] = -np.inf
            explained = np.where(np.isfinite(explained), explained, -np.inf)
            pick = np.argmax(explained, axis=1)  # (K,)
            support = np.concatenate([support, pick[:, None]], axis=1)
            score = self._score(explained[rows, pick], t + 1)
            for k in np.flatnonzero(score < best):
                best[k], best_support[k] = score[k], support[k].copy()
        return best, best_support

    def _pairs(self, cross: np.ndarray, b_cols: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Every support of the forced column with one or two polynomial columns, by enumeration: a law such as a
        chemostat's ``3 - C - N*C/(1 + C)`` needs two polynomial terms that greedy addition does not pick first
        when a third one explains more on its own."""
        n_poly, n_cols = cross.shape
        pairs = np.array([(i, j) for i in range(n_poly) for j in range(i, n_poly)])  # (Q, 2); (i, i): one term
        g = np.empty((n_cols, len(pairs), 3, 3))
        g[:, :, 0, 0] = 1.0
        g[:, :, 0, 1:] = cross.T[:, pairs]  # (K, Q, 2)
        g[:, :, 1:, 0] = g[:, :, 0, 1:]
        g[:, :, 1:, 1:] = self.gram[pairs[:, :, None], pairs[:, None, :]][None]
        single = pairs[:, 0] == pairs[:, 1]
        g[:, single, 2, :] = 0.0  # a single term: the duplicate row and column become an identity
        g[:, single, :, 2] = 0.0
        g[:, single, 2, 2] = 1.0
        g += 1e-9 * np.eye(3)
        b = np.concatenate([np.broadcast_to(b_cols[:, None, None], (n_cols, len(pairs), 1)),
                            np.broadcast_to(self.b[pairs][None], (n_cols, len(pairs), 2))], axis=2).copy()
        b[:, single, 2] = 0.0
        with np.errstate(all="ignore"):
            explained = np.einsum("kqm,kqm->kq", b, np.linalg.solve(g, b[..., None])[..., 0])  # (K, Q)
        explained = np.where(np.isfinite(explained), explained, -np.inf)
        n_terms = np.where(single, 1, 2)
        scores = np.stack([self._score(explained[:, q], n_terms[q]) for q in range(len(pairs))], axis=1)  # (K, Q)
        best = np.argmin(scores, axis=1)
        supports = [np.unique(pairs[q]) for q in best]
        return scores[np.arange(n_cols), best], supports

    def _backward(self, cross: np.ndarray, b_cols: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        n_poly, n_cols = cross.shape
        rows = np.arange(n_cols)
        g = np.empty((n_cols, n_poly + 1, n_poly + 1))  # the forced column first
        g[:, 0, 0] = 1.0
        g[:, 0, 1:] = cross.T
        g[:, 1:, 0] = cross.T
        g[:, 1:, 1:] = self.gram
        b = np.concatenate([b_cols[:, None], np.broadcast_to(self.b, (n_cols, n_poly))], axis=1)  # (K, P+1)
        active = np.ones((n_cols, n_poly + 1), dtype=bool)
        best = np.full(n_cols, np.inf)
        best_support = [np.zeros(0, dtype=int)] * n_cols
        eye = np.eye(n_poly + 1)
        for n_left in range(n_poly, -1, -1):
            mask = active[:, :, None] & active[:, None, :]
            gm = np.where(mask, g, 0.0) + eye * (~active)[:, :, None] + 1e-9 * eye
            with np.errstate(all="ignore"):
                inv = np.linalg.inv(gm)  # (K, P+1, P+1)
                c = np.einsum("kij,kj->ki", inv, b * active)
            explained = np.einsum("ki,ki->k", c, b * active)
            score = np.where(np.isfinite(explained), self._score(explained, n_left), np.inf)
            for k in np.flatnonzero(score < best):
                best[k], best_support[k] = score[k], np.flatnonzero(active[k, 1:])
            if n_left == 0:
                break
            with np.errstate(all="ignore"):
                loss = c**2 / np.maximum(np.diagonal(inv, axis1=1, axis2=2), 1e-300)  # (K, P+1)
            loss = np.where(active, np.nan_to_num(loss, nan=np.inf), np.inf)
            loss[:, 0] = np.inf  # the forced column stays
            active[rows, np.argmin(loss, axis=1)] = False
        return best, best_support


def _refine_k(fam: Family, x: np.ndarray, fits: _ForcedFits, k: float, score: float, support: np.ndarray,
              bounds: tuple[float, float], cost: float, steps: int, rounds: int = 3
              ) -> list[tuple[float, np.ndarray]]:
    """Refine a family's inner constant between two grid values: every ``(k, support)`` met, the grid's first.

    ``k`` is fitted (bounded one-dimensional search) with the term next to a basis of polynomial columns, first
    all of them, then the support met at the grid value and each better support met on the way; each fitted
    ``k`` is scored afresh (:meth:`_ForcedFits.best`). All columns first: at a grid value off the true constant
    the best sparse support may lack a term of the law (the toggle switch ``3/(1 + y**3) - x`` at ``k = 0.9``
    gets no ``x``), and fitting ``k`` on it would not lead back. The caller chooses among the pairs by block
    cross-validation: the residual that guides the search here favours supports that fit the noise.
    """
    met = [(k, support)]
    bases = [np.arange(fits.theta.shape[1]), support]
    tried: list[tuple[int, ...]] = []
    while bases and len(tried) < rounds + 1:
        basis_idx = bases.pop(0)
        if tuple(basis_idx) in tried:
            continue
        tried.append(tuple(basis_idx))
        fitted = _fit_k(fam, x, fits, np.asarray(basis_idx), bounds)
        if fitted is None:
            continue
        col, ok = _unit(fits.columns(fam, x, fitted))
        if not ok[0]:
            continue
        refined, supports = fits.best(col, np.array([cost]), steps)
        met.append((fitted, supports[0]))
        if len(basis_idx) < fits.theta.shape[1]:
            met.append((fitted, np.asarray(basis_idx)))
        if refined[0] < score:
            score = float(refined[0])
            bases.append(supports[0])
    return met


def _fit_k(fam: Family, x: np.ndarray, fits: _ForcedFits, basis_idx: np.ndarray, bounds: tuple[float, float]
           ) -> float | None:
    """The inner constant within ``bounds`` that fits the target best with the polynomials ``basis_idx``."""
    from scipy.optimize import minimize_scalar

    basis = fits.theta[:, basis_idx]

    def objective(logk: float) -> float:
        a = np.hstack([fits.columns(fam, x, np.exp(logk)), basis])
        if not np.all(np.isfinite(a)):
            return np.inf
        coef, *_ = np.linalg.lstsq(a, fits.y, rcond=None)
        return float(np.mean((fits.y - a @ coef) ** 2))

    res = minimize_scalar(objective, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded",
                          options={"xatol": 1e-4})
    return float(np.exp(res.x)) if res.success and np.isfinite(res.fun) else None


def _cv_fit_k(fam: Family, x: np.ndarray, fits: _ForcedFits, k: float, score: float, support: np.ndarray,
              n_blocks: int, penalty: float, floor: float, cost: float, bounds: tuple[float, float]
              ) -> tuple[float, float]:
    """Minimize the block-CV score over the inner constant (bounded, from ``k`` with ``score``).

    The CV score is sharp in ``k``: on a noisy toggle switch ``1/(y**2 + 1.0)`` scored -3.55 and
    ``1/(y**2 + 1.067)``, the least-squares optimum of an overfitted support, -2.07.
    """
    from scipy.optimize import minimize_scalar

    def objective(logk: float, eliminate: bool = False) -> float:
        col = fits.columns(fam, x, np.exp(logk))
        return _cv_score(col, fits, [support], n_blocks, penalty, floor, cost, eliminate=eliminate)[0]

    lo, hi = sorted((np.log(bounds[0]), np.log(bounds[1])))
    res = minimize_scalar(objective, bounds=(min(lo, np.log(k)), max(hi, np.log(k))), method="bounded",
                          options={"xatol": 5e-3, "maxiter": 15})
    if res.success and np.isfinite(res.fun):  # the support was held fixed while k moved: its neighbours now
        found = min(float(res.fun), objective(float(res.x), eliminate=True))
        if found < score:
            return float(np.exp(res.x)), found
    return k, score


def _cv_score(col: np.ndarray, fits: _ForcedFits, supports: Sequence[np.ndarray], n_blocks: int, penalty: float,
              floor: float, cost: float, eliminate: bool = True) -> tuple[float, np.ndarray]:
    """Best score, on block-CV error as the sparsity path scores, of the term ``col`` (N, 1) with the polynomial
    ``supports`` given and (with ``eliminate``) with each support met by eliminating polynomials one at a time from
    all of them; and the polynomial support that scored it."""
    if not np.all(np.isfinite(col)) or not np.any(col):
        return np.inf, np.zeros(0, dtype=int)
    prob = fits.cv_problem(col, n_blocks)  # columns: the term first, then the polynomials
    gram, b = prob.gram_blocks.sum(axis=0), prob.cross_blocks.sum(axis=0)[:, 0]
    jitter = 1e-10 * float(np.max(np.diag(gram)))
    kept = list(range(gram.shape[0]))
    candidates = {tuple(sorted({0, *(int(j) + 1 for j in sup)})) for sup in supports}
    g_inv = np.linalg.inv(gram + jitter * np.eye(len(kept)))
    while eliminate:
        candidates.add(tuple(kept))
        if len(kept) == 1:
            break
        c = g_inv @ b[kept]
        loss = c**2 / np.maximum(np.diag(g_inv), 1e-300)
        loss[0] = np.inf  # the term stays
        j = int(np.argmin(loss))
        # the inverse without row and column j, by a rank-one downdate (a fresh inverse per step cost P**4)
        rest = np.r_[0:j, j + 1 : len(kept)]
        g_inv = g_inv[np.ix_(rest, rest)] - np.outer(g_inv[rest, j], g_inv[j, rest]) / g_inv[j, j]
        kept.pop(j)
    ordered = sorted(candidates)
    score, best = min((float(np.log(max(cv, floor)) + penalty * (cost + len(sup) - 1)), sup)
                      for sup, (_, _, cv) in zip(ordered, prob.errors(ordered, 0)))
    return score, np.asarray(best[1:], dtype=int) - 1


def _unit(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns scaled to unit RMS, and which ones are usable (finite, not constant zero)."""
    scale = np.sqrt(np.mean(cols**2, axis=0))
    usable = np.isfinite(scale) & (scale > 0) & np.all(np.isfinite(cols), axis=0)
    return np.where(usable, cols / np.where(usable, scale, 1.0), 0.0), usable


def screen(
    x: np.ndarray,
    y: np.ndarray,
    poly_theta: np.ndarray,
    fams: Sequence[Family],
    config: SaturatingConfig = SaturatingConfig(),
    *,
    limit: float = np.inf,
    n_blocks: int = 5,
    penalty: float = 0.15,
    floor: float = 3e-3,
    other_cost: float = 1.5,
    rows: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[tuple[Family, float, float]]:
    """Best inner constant and score of each family for one target ``y`` (N,), best first.

    Parameters
    ----------
    x:
        States, shape ``(N, D)``.
    y:
        One variable's derivative, shape ``(N,)``.
    poly_theta:
        The polynomial library, shape ``(N, P)``.
    fams:
        Families to screen (:func:`families`).
    limit:
        The score a family must beat to be of use: the inner constants of the ``config.max_refined`` best families
        are refined (between grid values) only where a perfect fit could beat it.
    n_blocks:
        Contiguous row blocks of the cross-validation that gives each family its final score (the least-squares
        residual used to search would favour families that let many polynomial terms fit the noise).
    config, penalty, floor, other_cost:
        Screen options and the ``sindy`` method's model-selection score.
    rows:
        The weak form's map from columns on the samples ``(N, G)`` to regression rows ``(K, G)``
        (:attr:`~discovery.methods.weak_form.WeakSystem.rows`); ``y`` and ``poly_theta`` are then given as rows.
        ``None``: the rows are the samples.

    Returns
    -------
    list of (Family, k, score)
        Each family with its best inner constant and the score of its best sparse fit, best first (lower is better;
        :func:`~discovery.methods.sindy_path.support_score` on the block-CV error where ``limit`` can be beaten, on
        the relative residual elsewhere).
    """

    if not fams or not np.any(y != 0):
        return []
    fits = _ForcedFits(poly_theta, y, penalty, floor, rows)
    none = np.zeros(0, dtype=int)

    def forward(members: Sequence[int], grids: Sequence[np.ndarray]) -> tuple[list[np.ndarray], ...]:
        """Per family of ``members``: its unit columns on ``grids``, which are usable, and forward-search scores."""
        cols, ok = _unit(np.concatenate([fits.columns(fams[i], x, g) for i, g in zip(members, grids)], axis=1))
        costs = np.concatenate([np.full(len(g), other_cost + EXTRA_COST[fams[i].kind])
                                for i, g in zip(members, grids)])
        sc, _ = fits.best(cols, costs, config.greedy_terms, backward=none)
        cut = np.cumsum([len(g) for g in grids])[:-1]
        return np.split(cols, cut, axis=1), np.split(ok, cut), np.split(np.where(ok, sc, np.inf), cut)

    # Every family on a coarse grid, then the most promising ones again on the fine grid: the fine grid is what
    # finds a sharp basin, and on every family of five variables it would cost seconds per variable.
    everyone = list(range(len(fams)))
    grids = [f.grid(x, config.coarse_grid, config.span) for f in fams]
    blocks, oks, fam_scores = forward(everyone, grids)
    if config.grid > config.coarse_grid:
        n_fine = max(config.fine_families, -(-len(fams) // 3))
        fine = [int(i) for i in np.argsort([float(np.min(sc)) for sc in fam_scores])[:n_fine]]
        fine_grids = [fams[i].grid(x, config.grid, config.span) for i in fine]
        for i, g, b, ok, sc in zip(fine, fine_grids, *forward(fine, fine_grids)):
            grids[i], blocks[i], oks[i], fam_scores[i] = g, b, ok, sc
    cols, usable = np.concatenate(blocks, axis=1), np.concatenate(oks)  # (N, K), (K,)
    costs = np.concatenate([np.full(len(g), other_cost + EXTRA_COST[f.kind]) for f, g in zip(fams, grids)])
    starts = np.cumsum([0] + [len(g) for g in grids])
    scores = np.concatenate(fam_scores)
    # Backward elimination costs ~P**4 per column: run it on every grid value of the families the forward search
    # ranks best, as many as ``config.backward_budget`` allows (all of them for up to two variables).
    n_poly = poly_theta.shape[1]
    n_fams = max(1, int(config.backward_budget // (config.grid * float(n_poly + 1) ** 4)))
    order = np.argsort([np.min(np.where(usable, scores, np.inf)[starts[i] : starts[i + 1]]) for i in range(len(fams))])
    backward = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in order[:n_fams]])
    scores, supports = fits.best(cols, costs, config.greedy_terms, backward=backward)
    scores = np.where(usable, scores, np.inf)

    found = []  # (grid score, family index, grid index)
    for i in range(len(fams)):
        j = int(np.argmin(scores[starts[i] : starts[i + 1]]))
        if np.isfinite(scores[starts[i] + j]):
            found.append((float(scores[starts[i] + j]), i, j))
    found.sort()
    out = []
    for rank, (score, i, j) in enumerate(found[: config.max_scored]):
        fam, grid, at = fams[i], grids[i], starts[i] + j
        k, support = float(grid[j]), supports[at]
        # A term costs at least its own cost: where even a perfect fit could not beat ``limit``, refining is waste.
        hopeful = np.log(floor) + penalty * costs[at] < limit
        met = [(k, support)]
        step = config.refine_steps  # the refinement's bounds: this many grid values each side
        bounds = (grid[max(j - step, 0)], grid[min(j + step, len(grid) - 1)])
        if fam.kind != "log" and rank < config.max_refined and hopeful:
            met = _refine_k(fam, x, fits, k, score, support, bounds, costs[at], config.greedy_terms)
        if hopeful:  # the final score is on block-CV error, as the sparsity path scores supports
            by_k: dict[float, list[np.ndarray]] = {}
            for k_met, s_met in met:
                by_k.setdefault(k_met, []).append(s_met)
            scored = [(*_cv_score(fits.columns(fam, x, k_met), fits, sups, n_blocks, penalty, floor, costs[at]), k_met)
                      for k_met, sups in by_k.items()]
            score, chosen, k = min(scored, key=lambda item: item[0])
            if fam.kind != "log" and rank < config.max_refined:  # last, k that minimizes the CV score itself
                k, score = _cv_fit_k(fam, x, fits, k, score, chosen, n_blocks, penalty, floor, costs[at], bounds)
        out.append((fam, k, score))
    out.sort(key=lambda item: item[2])
    return out


def saturating_libraries(
    x: np.ndarray,
    dx: np.ndarray,
    names: Sequence[str],
    poly_theta: np.ndarray,
    poly_features: Sequence[sympy.Expr],
    config: SaturatingConfig = SaturatingConfig(),
    *,
    reference: Sequence[float] | None = None,
    targets: Sequence[int] | None = None,
    n_blocks: int = 5,
    penalty: float = 0.15,
    floor: float = 3e-3,
    other_cost: float = 1.5,
    rows: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[tuple[Library, np.ndarray, int]]:
    """For each variable whose law is not polynomial, the polynomial library plus its best saturating terms.

    Parameters
    ----------
    x, dx:
        States and derivatives, shape ``(N, D)`` each.
    names:
        The ``D`` variable names.
    poly_theta, poly_features:
        The polynomial library's matrix ``(N, P)`` and its terms.
    config:
        Generator options.
    reference:
        Per variable, the score (:func:`~discovery.methods.sindy_path.support_score`) of its best polynomial
        support; a family must beat it by ``config.margin``. Default: the best support of the polynomial
        sparsity path.
    targets:
        The variables to search (default: all).
    n_blocks, penalty, floor, other_cost:
        The ``sindy`` method's model-selection score.
    rows:
        The weak form's map from columns on the samples to regression rows (see :func:`screen`); ``dx`` and
        ``poly_theta`` are then its rows, ``x`` the states on the samples, and the libraries' matrices are rows too.

    Returns
    -------
    list of (Library, ndarray, int)
        For each variable that got terms, one library per term (named ``"saturating:<var>:<term>"``) and one with
        all of them (``"saturating:<var>:all"``), each with its matrix and the variable's index.

    Examples
    --------
    >>> import numpy as np, sympy
    >>> from discovery.methods.sindy_terms import monomials
    >>> s = np.linspace(0.05, 5.0, 400)[:, None]
    >>> ds = 0.6 - 1.5 * s / (0.8 + s)
    >>> feats = monomials([sympy.Symbol("s")], 3)
    >>> theta = np.hstack([s**0, s, s**2, s**3])
    >>> lib, _, _ = saturating_libraries(s, ds, ["s"], theta, feats)[0]
    >>> sympy.Symbol("s") / (sympy.Symbol("s") + sympy.Float(0.8)) in lib.features
    True
    """
    syms = [sympy.Symbol(n) for n in names]
    if reference is None:
        reference = polynomial_reference(poly_theta, dx, n_blocks=n_blocks, penalty=penalty, floor=floor)
    fams = families(x, names, config)
    out = []
    for d, name in enumerate(names[: dx.shape[1]]):  # further columns of x are inputs: no equation of their own
        if targets is not None and d not in targets:
            continue
        if np.log(floor) + penalty * other_cost >= reference[d] - config.margin:
            continue  # a polynomial support fits to the floor already: no saturating term can do better
        ranked = screen(x, dx[:, d], poly_theta, fams + self_families(d, config, x), config,
                        limit=reference[d] - config.margin, n_blocks=n_blocks, penalty=penalty, floor=floor,
                        other_cost=other_cost, rows=rows)
        ranked = [(f, k, score) for f, k, score in ranked if score < reference[d] - config.margin]
        firsts: dict[tuple[str, int, int | None], int] = {}
        for i, (f, _, _) in enumerate(ranked):
            firsts.setdefault((f.kind, f.order, f.factor), i)
        order = sorted(firsts.values()) + [i for i in range(len(ranked)) if i not in firsts.values()]
        chosen = [ranked[i][:2] for i in order[: config.max_terms]]
        terms = [f.expr(syms, k, config.digits) for f, k in chosen]
        costs = [other_cost + EXTRA_COST[f.kind] for f, _ in chosen]
        # One library per term (similar saturating terms side by side confuse the sparsity path), and one with all
        # of them, for laws with two (Hill production and Michaelis-Menten removal).
        groups = [[i] for i in range(len(terms))] + ([list(range(len(terms)))] if len(terms) > 1 else [])
        for group in groups:
            label = str(terms[group[0]]) if len(group) == 1 else "all"
            lib = expression_library(f"saturating:{name}:{label}", list(poly_features) + [terms[i] for i in group],
                                     names, other_cost)
            lib.costs[len(poly_features):] = [costs[i] for i in group]
            extra = ExpressionColumns([terms[i] for i in group], syms).transform(x)  # the rounded constants
            if rows is not None:
                with np.errstate(all="ignore"):
                    extra = rows(np.where(np.isfinite(extra), extra, np.nan))
            theta = np.hstack([poly_theta, extra])
            if np.all(np.isfinite(theta)):
                out.append((lib, theta, d))
    return out


def polynomial_reference(
    poly_theta: np.ndarray, dx: np.ndarray, *, n_blocks: int = 5, penalty: float = 0.15, floor: float = 3e-3
) -> np.ndarray:
    """Per variable, the best :func:`~discovery.methods.sindy_path.support_score` on the polynomial sparsity path."""
    from discovery.methods.sindy_path import sparsity_path, support_score

    paths = sparsity_path(poly_theta, dx, np.geomspace(2e-3, 0.5, 16), n_blocks=n_blocks)
    return np.asarray([min((support_score(p, penalty, floor) for p in points), default=0.0) for points in paths])
