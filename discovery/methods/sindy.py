"""The ``sindy`` method: sparse regression of time derivatives on libraries of candidate terms (pysindy).

For each candidate library (polynomials, polynomials with sin/cos of the states, polynomials with saturating
rational terms when the states stay positive) the library matrix is built once by pysindy's feature libraries,
its columns are scaled to unit RMS and each derivative to unit RMS, and pysindy's :class:`~pysindy.STLSQ` is run
along a path of thresholds. In these units a threshold of 0.05 drops terms whose coefficient is under 5% of the
derivative's size, so one path suits systems of any coefficient scale. Every distinct support met on the path is
refitted by least squares and scored by its error under cross-validation across contiguous time blocks; the
support picked for each variable is the sparsest whose block-CV error is within a tolerance of the best (see
:func:`select_support`). The picked supports, their neighbours on the path and the best of each library are
returned as candidates; re-simulation downstream decides among them.
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.base import Candidate, Method, MethodContext, register

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories

LIBRARIES = ("poly", "poly_trig", "rational")
"""Names of the candidate libraries :class:`SINDyMethod` knows."""
DEFAULT_LIBRARIES = ("poly", "poly_trig")
"""Libraries searched by default. ``rational`` is opt-in: on the zoo it only ever added false terms (with
``x ~ 10``, ``x*y/(1 + x)`` is nearly ``y``), and no zoo system needs it."""


# ---------------------------------------------------------------------------------------------------------------
# Libraries: a pysindy feature library together with the sympy expression of each of its columns.


def _rational_single(a):
    return a / (1 + a)


def _rational_pair_left(a, b):
    return a * b / (1 + a)


def _rational_pair_right(a, b):
    return a * b / (1 + b)


@dataclass
class Library:
    """A fitted pysindy feature library and the sympy expression of each column of its matrix."""

    name: str
    library: Any  # a fitted pysindy BaseFeatureLibrary
    features: list[sympy.Expr]
    labels: list[str] = field(default_factory=list)
    costs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Cost of each column in model selection: 1 for a monomial, more for other terms (see SINDyConfig)."""

    def __post_init__(self) -> None:
        self.labels = [str(f) for f in self.features]
        if len(self.costs) != len(self.features):
            self.costs = np.ones(len(self.features))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Library matrix, shape ``(N, P)``, of states ``x`` of shape ``(N, D)``."""
        return np.asarray(self.library.transform(x), dtype=float)


def _polynomial_features(lib: Any, syms: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
    return [sympy.Mul(*(s**int(p) for s, p in zip(syms, row))) for row in lib.powers_]


def _fourier_features(lib: Any, syms: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
    out: list[sympy.Expr] = []
    for k in range(1, lib.n_frequencies + 1):  # same order as FourierLibrary.transform
        for s in syms:
            if lib.include_sin:
                out.append(sympy.sin(k * s))
            if lib.include_cos:
                out.append(sympy.cos(k * s))
    return out


def _custom_features(lib: Any, syms: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
    out: list[sympy.Expr] = [sympy.Integer(1)] if lib.include_bias else []
    combine = itertools.combinations if lib.interaction_only else itertools.combinations_with_replacement
    for f in lib.functions:  # same order as CustomLibrary.transform; the functions also work on symbols
        for c in combine(range(len(syms)), f.__code__.co_argcount):
            out.append(sympy.sympify(f(*(syms[j] for j in c))))
    return out


def build_library(
    name: str, x: np.ndarray, names: Sequence[str], degree: int = 3, trig_vars: Sequence[int] | None = None
) -> Library:
    """Build and fit the candidate library ``name`` on states ``x`` (N, D) named ``names``.

    Parameters
    ----------
    name:
        ``"poly"`` (monomials up to ``degree``), ``"poly_trig"`` (the same plus ``sin`` and ``cos`` of the states
        in ``trig_vars``) or ``"rational"`` (monomials up to ``min(degree, 2)`` plus ``x_i/(1 + x_i)`` and
        ``x_i*x_j/(1 + x_i)``; only sensible when the states stay well above -1).
    x:
        States, shape ``(N, D)``, used to fit the library.
    names:
        Variable names, one per column of ``x``.
    degree:
        Highest polynomial degree.
    trig_vars:
        Columns that get ``sin`` and ``cos`` terms in ``"poly_trig"`` (default: all).

    Examples
    --------
    >>> import numpy as np
    >>> lib = build_library("poly", np.ones((5, 2)), ["x", "y"], degree=2)
    >>> lib.features
    [1, x, y, x**2, x*y, y**2]
    """
    import pysindy as ps

    syms = [sympy.Symbol(n) for n in names]
    poly_degree = degree if name != "rational" else min(degree, 2)
    poly = ps.PolynomialLibrary(degree=poly_degree, include_bias=True)
    features = None
    if name == "poly":
        lib, features = poly, lambda: _polynomial_features(poly, syms)
    elif name == "poly_trig":
        chosen = list(range(len(names))) if trig_vars is None else sorted(set(int(j) for j in trig_vars))
        if not chosen:
            raise DiscoveryError(f"library 'poly_trig' needs at least one variable for sin/cos, found {trig_vars}")
        fourier = ps.FourierLibrary(n_frequencies=1)
        lib = ps.GeneralizedLibrary([poly, fourier], inputs_per_library=[list(range(len(names))), chosen])
        features = lambda: _polynomial_features(poly, syms) + _fourier_features(fourier, [syms[j] for j in chosen])
    elif name == "rational":
        functions = [_rational_single, _rational_pair_left, _rational_pair_right]
        custom = ps.CustomLibrary(library_functions=functions, interaction_only=True)
        lib = ps.ConcatLibrary([poly, custom])
        features = lambda: _polynomial_features(poly, syms) + _custom_features(custom, syms)
    else:
        raise DiscoveryError(f"unknown SINDy library {name!r}; valid libraries: {', '.join(LIBRARIES)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib.fit(x)
    exprs = features()
    n_out = lib.n_output_features_
    if n_out != len(exprs):  # pysindy changed its column order or count: never pair wrong names silently
        raise DiscoveryError(f"library {name!r}: pysindy made {n_out} columns, expected {len(exprs)}")
    return Library(name, lib, exprs)


# ---------------------------------------------------------------------------------------------------------------
# The sparsity path and the choice of support.


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
class _Normalized:
    """A regression problem with library columns and targets scaled to unit RMS, kept as Gram matrices."""

    col_scale: np.ndarray  # (P,)
    y_scale: np.ndarray  # (D,)
    r: np.ndarray  # (P, P): R of the QR decomposition of the scaled library
    qty: np.ndarray  # (P, D): Q^T y, so that ||theta c - y|| = ||r c - qty|| + const
    gram_blocks: np.ndarray  # (K, P, P): theta_k^T theta_k for each time block k
    cross_blocks: np.ndarray  # (K, P, D): theta_k^T y_k
    yy_blocks: np.ndarray  # (K, D): y_k^T y_k

    @classmethod
    def build(cls, theta: np.ndarray, y: np.ndarray, n_blocks: int) -> "_Normalized":
        col_scale = np.sqrt(np.mean(theta**2, axis=0))  # (P,)
        col_scale = np.where(np.isfinite(col_scale) & (col_scale > 0), col_scale, 1.0)
        y_scale = np.sqrt(np.mean(y**2, axis=0))  # (D,)
        y_scale = np.where(y_scale > 0, y_scale, 1.0)
        theta_n = theta / col_scale  # (N, P)
        y_n = y / y_scale  # (N, D)
        q, r = np.linalg.qr(theta_n)  # q (N, P), r (P, P)
        edges = np.linspace(0, len(y), n_blocks + 1).astype(int)
        blocks = [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
        gram = np.stack([theta_n[b].T @ theta_n[b] for b in blocks])
        cross = np.stack([theta_n[b].T @ y_n[b] for b in blocks])
        yy = np.stack([np.sum(y_n[b] ** 2, axis=0) for b in blocks])
        return cls(col_scale, y_scale, r, q.T @ y_n, gram, cross, yy)

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
) -> list[list[PathPoint]]:
    """Distinct sparse supports of ``y ~ theta @ c`` found along a threshold path, scored, for every target.

    Columns of ``theta`` and of ``y`` are scaled to unit RMS, so a threshold is the size of a term relative to
    the derivative it explains, whatever the system's coefficient scale. pysindy's :class:`~pysindy.STLSQ` runs
    at each threshold on the ``(P, P)`` triangular factor of the library (the same solutions as the ``(N, P)``
    problem at a fraction of the cost). When ``stepwise``, backward elimination (drop the term whose removal
    raises the residual least, refit, repeat) and a forward beam search (:meth:`_Normalized.forward_beam`) add
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
    prob = _Normalized.build(theta, y, n_blocks)
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
            for s in prob.backward_elimination(d) + prob.forward_beam(d, beam_width, max_terms=beam_terms):
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


def support_score(point: PathPoint, penalty: float = 0.15, floor: float = 3e-3, cost: float | None = None) -> float:
    """Model-selection score of a support (lower is better): ``log(max(cv_err, floor)) + penalty * cost``.

    ``cost`` is the number of terms unless given (terms may cost more than one, see :class:`SINDyConfig`).
    Each extra term must cut the block-CV error by a factor ``exp(penalty)`` (16% by default) to pay for itself,
    and errors under ``floor`` count as equal. Derivative errors are smooth in time and correlated with the
    library, so extra terms keep lowering the error a little and a likelihood criterion (AIC or BIC with the
    number of rows as sample size) keeps adding them; this relative rule does not.
    """
    n = point.n_terms if cost is None else cost
    return float(np.log(max(point.cv_err, floor)) + penalty * n)


# ---------------------------------------------------------------------------------------------------------------
# From paths to candidate systems.


@dataclass(frozen=True)
class SINDyConfig:
    """Search options of the ``sindy`` method (defaults tuned on the zoo, see ``benchmarks/``).

    Attributes
    ----------
    libraries:
        Candidate libraries (see :func:`build_library`); ``"rational"`` is used only when every state stays
        above -0.5.
    degree:
        Highest polynomial degree (the ``rational`` library uses ``min(degree, 2)``).
    trig_min_range:
        ``sin`` and ``cos`` of a state enter ``poly_trig`` only when the state spans at least this range; over a
        smaller range ``sin(v)`` is ``v - v**3/6`` to within the noise, and the two would be confused.
    thresholds:
        ``(smallest, largest, count)`` of the geometric path of STLSQ thresholds, in scaled units.
    alpha:
        STLSQ ridge strength per row.
    n_blocks:
        Contiguous time blocks for cross-validation.
    penalty, floor:
        Model-selection score, see :func:`support_score`.
    other_cost:
        Cost in that score of a term that is not a monomial (``sin(x)``, ``x/(1 + x)``); a monomial costs 1.
        Over a few radians ``sin(v)`` and ``v - v**3/6`` fit alike, and the polynomial should win the tie.
    sparser_margin:
        The ``"sparser"`` candidate drops a variable's next term only when that raises its score by less than
        this (0.7: the block-CV error at most about twice the preferred support's).
    trim:
        Fraction of points dropped at each end of every trajectory (derivative estimates are worst there).
    max_rows:
        Rows kept (evenly strided) for the regression.
    ensemble:
        Also bag the regression and keep the terms included in at least ``inclusion`` of the bags.
    n_models, inclusion:
        Number of bags, and inclusion probability a term needs to stay in the ensemble candidate.
    max_candidates:
        Most candidate systems returned.
    prune:
        Terms whose RMS over the data is under this fraction of the derivative's RMS are dropped.
    digits:
        Significant digits of the returned coefficients.
    """

    libraries: tuple[str, ...] = DEFAULT_LIBRARIES
    degree: int = 3
    trig_min_range: float = float(np.pi)
    thresholds: tuple[float, float, int] = (2e-3, 0.5, 16)
    alpha: float = 1e-3
    n_blocks: int = 5
    penalty: float = 0.15
    floor: float = 3e-3
    other_cost: float = 1.5
    sparser_margin: float = 0.7
    trim: float = 0.02
    max_rows: int = 5000
    ensemble: bool = False
    n_models: int = 20
    inclusion: float = 0.6
    max_candidates: int = 6
    prune: float = 1e-3
    digits: int = 4

    def __post_init__(self) -> None:
        unknown = [name for name in self.libraries if name not in LIBRARIES]
        if unknown or not self.libraries:
            raise DiscoveryError(
                f"sindy: expected libraries among {', '.join(LIBRARIES)}, found {list(self.libraries)}"
            )
        lo, hi, count = self.thresholds
        if not (0 < lo <= hi) or count < 1:
            raise DiscoveryError(f"sindy: expected thresholds (lo, hi, count) with 0 < lo <= hi, count >= 1, "
                                 f"found {self.thresholds}")
        if self.degree < 1 or self.n_blocks < 2 or not (0 < self.inclusion <= 1) or self.max_candidates < 1:
            raise DiscoveryError(
                "sindy: expected degree >= 1, n_blocks >= 2, 0 < inclusion <= 1 and max_candidates >= 1, found "
                f"degree={self.degree}, n_blocks={self.n_blocks}, inclusion={self.inclusion}, "
                f"max_candidates={self.max_candidates}"
            )


@dataclass
class SparseModel:
    """One system found by :func:`fit_sindy`: raw equations (sympy, unrounded) and how they were chosen."""

    label: str
    equations: dict[str, sympy.Expr]
    info: dict[str, Any] = field(default_factory=dict)


def term_set(expr: sympy.Expr) -> frozenset[sympy.Expr]:
    """The terms of a sum without their numeric factors: ``2.5*x*y - y`` -> ``{x*y, y}``."""
    if expr == 0:
        return frozenset()
    return frozenset(t.as_coeff_Mul()[1] for t in sympy.Add.make_args(sympy.expand(expr)))


@dataclass(frozen=True)
class _Pick:
    library: Library
    point: PathPoint

    def key(self) -> frozenset[str]:
        return frozenset(self.library.labels[j] for j in self.point.support)

    @property
    def cost(self) -> float:
        return float(np.sum(self.library.costs[list(self.point.support)]))


def _stack_rows(
    xs: Sequence[np.ndarray], dxs: Sequence[np.ndarray], trim: float, max_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate trajectories (in time order) after trimming their ends; stride down to ``max_rows``."""
    xs_kept, dxs_kept = [], []
    for x, dx in zip(xs, dxs):
        n = len(x)
        cut = int(trim * n) if n >= 20 else 0
        xs_kept.append(x[cut : n - cut])
        dxs_kept.append(dx[cut : n - cut])
    x_all, dx_all = np.concatenate(xs_kept), np.concatenate(dxs_kept)  # (N, D) each
    step = int(np.ceil(len(x_all) / max_rows))
    return x_all[::step], dx_all[::step]


def _bagged_inclusion(
    lib: Library,
    theta: np.ndarray,
    y: np.ndarray,
    targets: Sequence[int],
    config: SINDyConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """E-SINDy inclusion probabilities, shape ``(len(targets), P)``: how often each term is in the support picked
    for each target when the selection (stepwise supports, then :func:`support_score`) is rerun on bags of rows. Rows are bagged by contiguous time blocks (drawn with replacement), since neighbouring rows of a
    trajectory are nearly copies of each other and bagging single rows would hardly change anything."""
    n_rows = len(y)
    n_chunks = max(4 * config.n_blocks, 10)
    chunks = np.array_split(np.arange(n_rows), n_chunks)
    counts = np.zeros((len(targets), theta.shape[1]))
    for _ in range(config.n_models):
        rows = np.concatenate([chunks[i] for i in rng.integers(0, n_chunks, n_chunks)])
        # Stepwise supports only: the STLSQ path adds little here and costs most of the time.
        paths = sparsity_path(theta[rows], y[rows][:, list(targets)], (), n_blocks=config.n_blocks)
        for k, points in enumerate(paths):
            if points:
                costs = [float(np.sum(lib.costs[list(p.support)])) for p in points]
                best = min(range(len(points)),
                           key=lambda i: support_score(points[i], config.penalty, config.floor, costs[i]))
                counts[k, list(points[best].support)] += 1
    return counts / config.n_models


def fit_sindy(
    xs: Sequence[np.ndarray],
    dxs: Sequence[np.ndarray],
    names: Sequence[str],
    config: SINDyConfig | None = None,
    seed: int = 0,
) -> list[SparseModel]:
    """Sparse regression of ``dxs`` on candidate libraries of ``xs``; a few systems from the sparsity paths.

    Parameters
    ----------
    xs:
        Smoothed states, one array ``(N_i, D)`` per trajectory.
    dxs:
        Their time derivatives, same shapes.
    names:
        The ``D`` variable names.
    config:
        Search options (defaults: :class:`SINDyConfig`).
    seed:
        Seed of the bagging when ``config.ensemble``.

    Returns
    -------
    list of SparseModel
        Distinct systems, the preferred one first: ``"best"`` (per variable, the support with the lowest
        :func:`support_score` over all libraries), its ``"sparser"`` and ``"denser"`` neighbours on each
        variable's Pareto front, the best of each library (``"library:poly"``, ...), and ``"ensemble"`` first
        when ``config.ensemble``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 4, 400)
    >>> x = np.stack([np.exp(-0.5 * t), np.cos(t)], axis=1)  # a' = -a/2, b' = -sin(t) (not a state)
    >>> dx = np.stack([-0.5 * x[:, 0], -np.sin(t)], axis=1)
    >>> models = fit_sindy([x], [dx], ["a", "b"])
    >>> from discovery.symbolic import round_floats
    >>> round_floats(models[0].equations["a"])
    -0.5*a
    """
    from threadpoolctl import threadpool_limits

    # The matrices are small: one BLAS thread is fastest, and several fight badly with other processes.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_sindy(xs, dxs, names, config or SINDyConfig(), seed)


def _fit_sindy(
    xs: Sequence[np.ndarray], dxs: Sequence[np.ndarray], names: Sequence[str], config: SINDyConfig, seed: int
) -> list[SparseModel]:
    if len(xs) != len(dxs) or not xs:
        raise DiscoveryError(f"sindy: expected as many derivative arrays as trajectories (>= 1), "
                             f"found {len(xs)} and {len(dxs)}")
    x_all, dx_all = _stack_rows(xs, dxs, config.trim, config.max_rows)  # (N, D) each
    if x_all.ndim != 2 or x_all.shape[1] != len(names) or dx_all.shape != x_all.shape:
        raise DiscoveryError(f"sindy: expected states and derivatives of shape (N, {len(names)}), "
                             f"found {x_all.shape} and {dx_all.shape}")
    lo, hi, count = config.thresholds
    thresholds = np.geomspace(lo, hi, int(count))
    trig_vars = [j for j in range(x_all.shape[1]) if np.ptp(x_all[:, j]) >= config.trig_min_range]
    libraries = [
        name
        for name in config.libraries
        if (name != "rational" or float(np.min(x_all)) > -0.5)  # x/(1+x) has a pole at -1
        and (name != "poly_trig" or trig_vars)
    ]
    n_vars = len(names)

    def score(pick: _Pick) -> float:
        return support_score(pick.point, config.penalty, config.floor, pick.cost)

    picks: list[dict[frozenset[str], _Pick]] = [{} for _ in range(n_vars)]
    per_library: dict[str, list[_Pick]] = {}
    thetas: dict[str, np.ndarray] = {}
    for lib_name in libraries:
        lib = build_library(lib_name, x_all, names, degree=config.degree, trig_vars=trig_vars)
        lib.costs = np.asarray([1.0 if f.is_polynomial() else config.other_cost for f in lib.features])
        theta = lib.transform(x_all)  # (N, P)
        if not np.all(np.isfinite(theta)):
            continue
        thetas[lib_name] = theta
        paths = sparsity_path(theta, dx_all, thresholds, alpha=config.alpha, n_blocks=config.n_blocks)
        best_here = []
        for d, points in enumerate(paths):
            if not points:  # a constant variable
                points = [PathPoint((), np.zeros(theta.shape[1]), 0.0, 0.0, float("nan"))]
            for p in points:
                pick = _Pick(lib, p)
                old = picks[d].get(pick.key())
                if old is None or p.cv_err < old.point.cv_err:
                    picks[d][pick.key()] = pick
            best_here.append(min((_Pick(lib, p) for p in points), key=score))
        per_library[lib_name] = best_here
    if not per_library:
        raise DiscoveryError("sindy: every candidate library gave non-finite values on these states")

    fronts, chosen_idx = [], []
    for d in range(n_vars):
        pool = list(picks[d].values())
        front = sorted(pool, key=lambda q: (q.cost, q.point.cv_err))
        front = [q for i, q in enumerate(front) if all(q.point.cv_err < r.point.cv_err for r in front[:i])]
        fronts.append(front)
        chosen_idx.append(min(range(len(front)), key=lambda i: score(front[i])))

    y_rms = np.sqrt(np.mean(dx_all**2, axis=0))  # (D,)

    def expression(d: int, q: _Pick) -> sympy.Expr:
        """Sum of the support's terms, without those under ``config.prune`` of the derivative's RMS."""
        size = np.abs(q.point.coef) * np.sqrt(np.mean(thetas[q.library.name] ** 2, axis=0))  # (P,)
        keep = [j for j in q.point.support if size[j] >= config.prune * y_rms[d]]
        return sympy.Add(*(sympy.Float(q.point.coef[j]) * q.library.features[j] for j in keep))

    def model(label: str, choice: Sequence[_Pick], extra: dict[str, Any] | None = None) -> SparseModel:
        equations = {name: expression(d, q) for d, (name, q) in enumerate(zip(names, choice))}
        info: dict[str, Any] = {
            "label": label,
            "libraries": {name: q.library.name for name, q in zip(names, choice)},
            "n_terms": {name: q.point.n_terms for name, q in zip(names, choice)},
            "cv_error": {name: round(q.point.cv_err, 6) for name, q in zip(names, choice)},
            "fit_error": {name: round(q.point.rel_err, 6) for name, q in zip(names, choice)},
        }
        info.update(extra or {})
        return SparseModel(label, equations, info)

    best = [fronts[d][chosen_idx[d]] for d in range(n_vars)]
    sparser = []  # one step sparser where that costs little: a much worse model is not worth re-simulating
    for d in range(n_vars):
        q = fronts[d][max(chosen_idx[d] - 1, 0)]
        sparser.append(q if score(q) - score(best[d]) < config.sparser_margin else best[d])
    denser = [fronts[d][min(chosen_idx[d] + 1, len(fronts[d]) - 1)] for d in range(n_vars)]
    proposals: list[tuple[str, Sequence[_Pick], dict[str, Any] | None]] = []
    if config.ensemble:
        rng = np.random.default_rng(seed)
        ens, probs = list(best), {}
        for lib_name in dict.fromkeys(q.library.name for q in best):
            targets = [d for d in range(n_vars) if best[d].library.name == lib_name and best[d].point.support]
            if not targets:
                continue
            lib, theta = best[targets[0]].library, thetas[lib_name]
            inclusion = _bagged_inclusion(lib, theta, dx_all, targets, config, rng)  # (len(targets), P)
            prob = _Normalized.build(theta, dx_all, config.n_blocks)
            for k, d in enumerate(targets):
                support = tuple(int(j) for j in np.flatnonzero(inclusion[k] >= config.inclusion))
                support = support or best[d].point.support
                c_n, rel, cv = prob.errors([support], d)[0]
                coef = np.zeros(theta.shape[1])
                coef[list(support)] = c_n * prob.y_scale[d] / prob.col_scale[list(support)]
                ens[d] = _Pick(lib, PathPoint(support, coef, rel, cv, float("nan")))
                probs[names[d]] = {lib.labels[j]: round(float(inclusion[k, j]), 3)
                                   for j in np.flatnonzero(inclusion[k] > 0)}
        proposals.append(("ensemble", ens, {"inclusion": probs}))
    proposals += [("best", best, None), ("sparser", sparser, None), ("denser", denser, None)]
    proposals += [(f"library:{name}", choice, None) for name, choice in per_library.items()]

    out: list[SparseModel] = []
    seen: set[tuple[str, ...]] = set()
    for label, choice, extra in proposals:
        m = model(label, choice, extra)
        key = tuple(str(term_set(e)) for e in m.equations.values())  # same terms after pruning: same model
        if key in seen:
            continue
        seen.add(key)
        out.append(m)
        if len(out) >= config.max_candidates:
            break
    return out


@register
class SINDyMethod(Method):
    """Sparse identification of nonlinear dynamics (pysindy), with automatic choice of sparsity.

    Parameters
    ----------
    libraries:
        Candidate libraries: any of ``"poly"``, ``"poly_trig"``, ``"rational"`` (see :func:`build_library`);
        default :data:`DEFAULT_LIBRARIES`.
    degree:
        Highest polynomial degree.
    ensemble:
        Bag the regression (E-SINDy) and put first a candidate made of the terms included in at least
        ``inclusion`` of ``n_models`` bags.
    max_candidates:
        Most candidate systems returned.
    **options:
        Any other field of :class:`SINDyConfig` (``thresholds``, ``penalty``, ``floor``, ``trim``, ...).

    Examples
    --------
    >>> from discovery.simulation import simulate
    >>> from discovery.methods.base import MethodContext
    >>> data = simulate("lotka_volterra")
    >>> best = SINDyMethod().propose(data, MethodContext())[0]
    >>> best.equations["x"]
    -0.1*x*y + x
    """

    name = "sindy"
    description = "sparse regression on libraries of polynomial, trigonometric and rational terms (pysindy)"
    requires = ("pysindy",)
    install_hint = "pip install pysindy"

    def __init__(
        self,
        libraries: Sequence[str] = DEFAULT_LIBRARIES,
        degree: int = 3,
        ensemble: bool = False,
        max_candidates: int = 6,
        **options: Any,
    ) -> None:
        self.libraries = tuple(libraries)
        self.degree = degree
        self.ensemble = ensemble
        self.max_candidates = max_candidates
        self.options = options

    def config(self) -> SINDyConfig:
        """The :class:`SINDyConfig` these options make (raises :class:`DiscoveryError` on a bad option)."""
        known = set(SINDyConfig.__dataclass_fields__)
        unknown = sorted(set(self.options) - known)
        if unknown:
            raise DiscoveryError(f"sindy: unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
        return SINDyConfig(
            libraries=self.libraries,
            degree=self.degree,
            ensemble=self.ensemble,
            max_candidates=self.max_candidates,
            **self.options,
        )

    def propose(self, data: "Trajectories", context: MethodContext) -> list[Candidate]:
        from discovery.symbolic import to_candidate_expr
        from grammar.errors import GrammarError

        config = self.config()
        start = time.perf_counter()
        context.report("sindy: estimating derivatives", 0.0)
        pairs = context.derivatives(data)
        context.report("sindy: sparse regression", 0.3)
        models = fit_sindy([p[0] for p in pairs], [p[1] for p in pairs], data.variables, config, seed=context.seed)
        candidates, skipped = [], []
        for m in models:
            try:
                equations = {
                    v: to_candidate_expr(e, digits=config.digits, rel_tol=0.0) for v, e in m.equations.items()
                }
            except GrammarError as exc:  # a term the grammar cannot write: drop this candidate, say why
                skipped.append(f"{m.label}: {exc}")
                continue
            info = dict(m.info, derivative_method=context.derivative_method)
            candidates.append(Candidate(self.name, equations, info))
        elapsed = time.perf_counter() - start
        for c in candidates:
            c.info["elapsed_s"] = round(elapsed, 3)
            if skipped:
                c.info["skipped"] = skipped
        context.report("sindy: done", 1.0)
        return candidates
