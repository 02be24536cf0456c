"""The ``sindy`` method: sparse regression of time derivatives on libraries of candidate terms (pysindy).

For each candidate library (:mod:`discovery.methods.sindy_library`: polynomials up to degree 3, the same with
sin/cos of the states that span a few radians, and opt-in saturating rational terms) the library matrix is built
once; supports are collected along a sparsity path and scored by block cross-validation
(:mod:`discovery.methods.sindy_path`). No threshold is fixed: for each variable the support with the lowest
:func:`~discovery.methods.sindy_path.support_score` over all libraries is picked (each extra term must cut the
cross-validated error by about 16%). That pick, its sparser and denser neighbours, the best of each library and,
with ``ensemble=True``, a bagged (E-SINDy) support, are returned as candidates; re-simulation downstream decides.

Two generators add per-variable libraries to the pool (:mod:`discovery.methods.sindy_generators`): ``rational``
(denominators found by implicit regression, :mod:`discovery.methods.rational`) and ``saturating`` (Hill,
Michaelis-Menten, exponential and logarithmic terms with searched inner constants,
:mod:`discovery.methods.saturating`). Each adds one more candidate system, its variables' best supports from that
generator's libraries (``"rational"``, ``"saturating"``).

With ``form="weak"`` (or ``"both"``, which ``"auto"`` picks when the data's estimated noise is at least
``weak_min_noise``) the same search also runs on the weak (integral) form of the equations
(:mod:`discovery.methods.weak_form`): library columns and targets integrated against smooth test functions over
windows of the raw samples, so no derivative of noisy data is taken. Its systems are labelled ``"weak:best"``, ...
The generators need the pointwise derivative and run on the strong form only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.base import Candidate, Method, MethodContext, register
from discovery.methods.sindy_generators import (
    EXACT_FIT,
    GENERATORS,
    generated_libraries,
    generated_systems,
    shared_libraries,
)
from discovery.methods.sindy_library import DEFAULT_LIBRARIES, LIBRARIES, Library, build_library
from discovery.methods.sindy_terms import activation_form
from discovery.methods.sindy_path import PathPoint, ScaledProblem, sparsity_path, support_score
from discovery.methods.weak_form import FORMS, WEAK_PROPOSED, WeakSystem, weak_system, wants_forms
from discovery.options import Options, option
from discovery.symbolic import rms
from discovery.terms import term_set
from discovery.parsimony import ERROR_FLOOR, pareto_front, parsimony_score

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories

__all__ = [
    "DEFAULT_LIBRARIES",
    "LIBRARIES",
    "SINDyConfig",
    "SINDyMethod",
    "SparseModel",
    "build_library",
    "fit_sindy",
    "fit_weak_sindy",
    "sparsity_path",
    "support_score",
    "term_set",
]




@dataclass(frozen=True)
class SINDyConfig(Options):
    """Search options of the ``sindy`` method (defaults tuned on the zoo, see ``benchmarks/``).

    Every field is checked when a config is made (type and range, :mod:`discovery.options`).

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
    rational:
        Also search rational right-hand sides ``P/Q`` (implicit regression, :mod:`discovery.methods.rational`).
        Not to be confused with the fixed ``"rational"`` library (``x/(1 + x)``, opt-in).
    saturating:
        Also search saturating, exponential and logarithmic terms with fitted inner constants
        (:mod:`discovery.methods.saturating`).
    form:
        ``"strong"`` (regress derivative estimates), ``"weak"`` (the integral form,
        :mod:`discovery.methods.weak_form`), ``"both"``, or ``"auto"``: both when the estimated noise of some
        variable is at least ``weak_min_noise`` of its spread, else strong.
    weak_min_noise:
        Relative noise from which ``form="auto"`` adds the weak form.
    """

    owner = "sindy"

    libraries: tuple[str, ...] = option(DEFAULT_LIBRARIES, choices=tuple(LIBRARIES), each=True)
    degree: int = option(3, low=1, high=5)
    trig_min_range: float = option(float(np.pi), low=0.0)
    thresholds: tuple[float, float, int] = (2e-3, 0.5, 16)
    alpha: float = option(1e-3, low=0.0)
    n_blocks: int = option(5, low=2)
    penalty: float = option(0.15, low=0.0)
    floor: float = option(ERROR_FLOOR, low=0.0, low_open=True)
    other_cost: float = option(1.5, low=0.0)
    sparser_margin: float = option(0.7, low=0.0)
    trim: float = option(0.02, low=0.0, high=0.5, high_open=True)
    max_rows: int = option(5000, low=10)
    ensemble: bool = False
    n_models: int = option(20, low=2)
    inclusion: float = option(0.6, low=0.0, high=1.0, low_open=True)
    max_candidates: int = option(6, low=1)
    prune: float = option(1e-3, low=0.0, high=1.0, high_open=True)
    digits: int = option(4, low=1, high=15)
    rational: bool = True
    saturating: bool = True
    form: str = option("auto", choices=FORMS)
    weak_min_noise: float = option(0.005, low=0.0)

    def validate(self) -> None:
        if not self.libraries:
            raise DiscoveryError(f"sindy.libraries: expected at least one of {', '.join(LIBRARIES)}, found none")
        lo, hi, count = self.thresholds
        if not (0 < lo <= hi) or count < 1:
            raise DiscoveryError(f"sindy.thresholds: expected (lo, hi, count) with 0 < lo <= hi and count >= 1, "
                                 f"found {self.thresholds}")


@dataclass
class SparseModel:
    """One system found by :func:`fit_sindy`: raw equations (sympy, unrounded) and how they were chosen."""

    label: str
    equations: dict[str, sympy.Expr]
    info: dict[str, Any] = field(default_factory=dict)


def _structure(model: SparseModel) -> tuple[tuple[str, ...], ...]:
    """The terms of each equation, without constants: two models with the same structure are the same model."""
    return tuple(tuple(sorted(map(str, term_set(e)))) for e in model.equations.values())


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
    for each target when the selection (stepwise supports, then :func:`support_score`) is rerun on bags of rows.
    Rows are bagged by contiguous time blocks (drawn with replacement): neighbouring rows of a trajectory are
    nearly copies of each other, and bagging single rows would hardly change anything."""
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
    inputs: Sequence[str] = (),
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
    inputs:
        Names of ``M`` inputs or parameters whose values are the last ``M`` columns of each ``xs`` array
        (``(N_i, D + M)``): features of the libraries (alone and times the states' monomials) with no equation.

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
        return _fit_sindy(xs, dxs, names, config or SINDyConfig(), seed, tuple(inputs))


def _fit_sindy(
    xs: Sequence[np.ndarray], dxs: Sequence[np.ndarray], names: Sequence[str], config: SINDyConfig, seed: int,
    inputs: tuple[str, ...] = (),
) -> list[SparseModel]:
    if len(xs) != len(dxs) or not xs:
        raise DiscoveryError(f"sindy: expected as many derivative arrays as trajectories (>= 1), "
                             f"found {len(xs)} and {len(dxs)}")
    x_all, dx_all = _stack_rows(xs, dxs, config.trim, config.max_rows)  # (N, D) each
    if x_all.ndim != 2 or x_all.shape[1] != len(names) + len(inputs) or dx_all.shape != (len(x_all), len(names)):
        raise DiscoveryError(f"sindy: expected states (and inputs) of shape (N, {len(names) + len(inputs)}) and "
                             f"derivatives of shape (N, {len(names)}), found {x_all.shape} and {dx_all.shape}")
    return _search_models(x_all, dx_all, names, config, seed, inputs=inputs)


def fit_weak_sindy(
    system: WeakSystem, names: Sequence[str], config: SINDyConfig | None = None, seed: int = 0,
    inputs: Sequence[str] = (),
) -> list[SparseModel]:
    """:func:`fit_sindy` on the weak form: the rows are ``system``'s test-function integrals, not samples.

    The libraries are evaluated at ``system.x`` and integrated by ``system.rows``; the targets are ``system.b``
    (:func:`discovery.methods.weak_form.weak_system`). The same sparsity path, scores and candidate choices as the
    strong form; of the generators only the saturating one runs (the rational one's implicit regression needs the
    pointwise derivative).
    Systems are labelled ``"weak:best"``, ``"weak:sparser"``, ...

    Examples
    --------
    >>> import numpy as np
    >>> from discovery.methods.weak_form import weak_system
    >>> t = np.linspace(0, 4, 400)
    >>> x = np.exp(-0.5 * t)[:, None]
    >>> from discovery.symbolic import round_floats
    >>> round_floats(fit_weak_sindy(weak_system([t], [x]), ["a"])[0].equations["a"], 3)
    -0.5*a
    """
    from threadpoolctl import threadpool_limits

    width = len(names) + len(inputs)  # the library's columns: the states, then the inputs
    if system.x.ndim != 2 or system.x.shape[1] != width:
        raise DiscoveryError(f"sindy: expected weak-form states of shape (N, {width}), found {system.x.shape}")
    with threadpool_limits(limits=1, user_api="blas"):
        models = _search_models(system.x, system.b, names, config or SINDyConfig(), seed, rows=system.rows,
                                inputs=tuple(inputs))
    for m in models:
        m.label = m.info["label"] = f"weak:{m.label}"
        m.info["form"] = "weak"
        m.info["weak_half_widths"] = list(system.half_widths)
    return models


def _search_models(
    x_all: np.ndarray,
    y_all: np.ndarray,
    names: Sequence[str],
    config: SINDyConfig,
    seed: int,
    rows: Callable[[np.ndarray], np.ndarray] | None = None,
    inputs: tuple[str, ...] = (),
) -> list[SparseModel]:
    """The candidate systems of one search: libraries of ``x_all`` (N, D + M: the states, then the ``inputs``)
    regressed on ``y_all``; with ``rows``, each library matrix is first mapped by it (the weak form), and of the
    generators only the saturating one runs."""
    search = _Search(config, names, y_all, rows, inputs)
    search.run(x_all)
    if config.rational or config.saturating:
        inexact = [d for d, q in enumerate(search.best()) if q.point.cv_err > EXACT_FIT * config.floor]
        search.extend(generated_libraries(x_all, y_all, [*names, *inputs], config, search.reference_scores(),
                                          targets=inexact, rows=rows))
        if config.saturating and len(names) > 1:
            search.extend(shared_libraries(x_all, [*names, *inputs], len(names), search.best(), config.degree,
                                           config.other_cost, inexact, rows=rows))
    best = search.best()
    proposals: list[tuple[str, Sequence[_Pick], dict[str, Any] | None]] = []
    if config.ensemble:
        proposals.append(("ensemble", *search.ensemble(best, seed)))
    proposals += [
        ("best", best, None),
        *((label, choice, None) for label, choice in search.generated(best)),
        ("sparser", search.neighbours(best, -1), None),
        ("denser", search.neighbours(best, +1), None),
    ]
    proposals += [(f"library:{name}", choice, None) for name, choice in search.per_library.items()]
    out: list[SparseModel] = []
    seen: set[tuple[tuple[str, ...], ...]] = set()
    for label, choice, extra in proposals:
        m = search.model(label, choice, extra)
        key = _structure(m)
        if key not in seen:
            seen.add(key)
            out.append(m)
        if len(out) >= config.max_candidates:
            break
    return out


class _Search:
    """State of one :func:`fit_sindy` run: every scored support per variable, pooled over the libraries."""

    def __init__(self, config: SINDyConfig, names: Sequence[str], dx_all: np.ndarray,
                 rows: Callable[[np.ndarray], np.ndarray] | None = None, inputs: Sequence[str] = ()) -> None:
        self.config = config
        self.names = list(names)
        self.inputs = list(inputs)  # the last columns of the states given to run(): library features only
        self.dx_all = dx_all  # (N, D), or (K, D) weak-form targets
        self.rows = rows  # library matrix (N, P) -> regression rows (K, P); None: the samples themselves
        self.pool: list[dict[frozenset[str], _Pick]] = [{} for _ in names]  # per variable, by term set
        self.per_library: dict[str, list[_Pick]] = {}  # per library, its best support for each variable
        self.thetas: dict[str, np.ndarray] = {}  # per library, its matrix (N, P)
        self.fronts: list[list[_Pick]] = []
        self.offered: list[frozenset[str]] = [frozenset() for _ in names]  # per variable, terms other equations found

    def score(self, pick: _Pick) -> float:
        return support_score(pick.point, self.config.penalty, self.config.floor, pick.cost)

    def fit_score(self, pick: _Pick) -> float:
        """:meth:`score` on the in-sample error instead of the block-CV error."""
        return parsimony_score(pick.point.rel_err, pick.cost, self.config.penalty, self.config.floor)

    def run(self, x_all: np.ndarray) -> None:
        config = self.config
        lo, hi, count = config.thresholds
        thresholds = np.geomspace(lo, hi, int(count))
        trig_vars = [j for j in range(len(self.names)) if np.ptp(x_all[:, j]) >= config.trig_min_range]
        for lib_name in config.libraries:
            if lib_name == "rational" and float(np.min(x_all)) <= -0.5:  # x/(1+x) has a pole at -1
                continue
            if lib_name == "poly_trig" and not trig_vars:  # it would be the poly library again
                continue
            lib = build_library(lib_name, x_all, self.names + self.inputs, degree=config.degree, trig_vars=trig_vars,
                                n_inputs=len(self.inputs))
            lib.costs = np.asarray([1.0 if f.is_polynomial() else config.other_cost for f in lib.features])
            theta = lib.transform(x_all)  # (N, P)
            if self.rows is not None:
                theta = self.rows(theta)  # (K, P)
            if not np.all(np.isfinite(theta)):
                continue
            self.thetas[lib_name] = theta
            paths = sparsity_path(theta, self.dx_all, thresholds, alpha=config.alpha, n_blocks=config.n_blocks)
            best_here = []
            for d, points in enumerate(paths):
                if not points:  # a constant variable
                    points = [PathPoint((), np.zeros(theta.shape[1]), 0.0, 0.0, float("nan"))]
                best_here.append(self._pool(lib, d, points))
            self.per_library[lib_name] = best_here
        if not self.per_library:
            top = float(np.max(np.abs(x_all)))
            raise DiscoveryError("sindy: every candidate library gave non-finite values on these states (largest "
                                 f"|state| {top:.3g}; powers of states beyond about 1e100 overflow: rescale the "
                                 "data, or lower 'degree')")
        self._build_fronts()

    def _pool(self, lib: Library, d: int, points: Sequence[PathPoint]) -> _Pick:
        """Add variable ``d``'s supports from ``lib`` to the pool (the lower block-CV error wins a tie of terms);
        returns the best of them."""
        for p in points:
            pick = _Pick(lib, p)
            old = self.pool[d].get(pick.key())
            if old is None or p.cv_err < old.point.cv_err:
                self.pool[d][pick.key()] = pick
        return min((_Pick(lib, p) for p in points), key=self.score)

    def _build_fronts(self) -> None:
        self.fronts = [pareto_front(self.pool[d].values(), cost=lambda q: q.cost, error=lambda q: q.point.cv_err)
                       for d in range(len(self.names))]  # cost vs block-CV error, cheapest first

    def reference_scores(self) -> np.ndarray:
        """Per variable, the best score of a pooled support: what a generated term must beat."""
        return np.asarray([min(map(self.score, self.pool[d].values()), default=0.0) for d in range(len(self.names))])

    def extend(self, libraries: Sequence[tuple[Library, np.ndarray, int]]) -> None:
        """Run the sparsity path of each per-variable library ``(lib, theta, d)`` and pool its supports.

        Stepwise supports only (elimination, beam, enumeration of small supports): a generated library is the
        polynomial one plus a few terms, and pysindy's STLSQ over the threshold path, which found nothing the
        stepwise searches missed on the textbook systems, cost most of the time (10 s of a 4-variable SEIR model's
        13 s on dozens of generated libraries)."""
        config = self.config
        for lib, theta, d in libraries:
            points = sparsity_path(theta, self.dx_all[:, [d]], (), alpha=config.alpha, n_blocks=config.n_blocks)[0]
            if points:
                self.thetas[lib.name] = theta
                self._pool(lib, d, points)
                self.offered[d] |= lib.offered
        self._build_fronts()

    def generated(self, best: Sequence[_Pick]) -> list[tuple[str, list[_Pick]]]:
        """Systems made of the generators' supports (:func:`~discovery.methods.sindy_generators.generated_systems`)."""
        mine = [[q for q in self.pool[d].values() if q.library.name.startswith(tuple(g + ":" for g in GENERATORS))
                 and np.any(q.library.costs[list(q.point.support)] > 1.0)] for d in range(len(self.names))]
        return generated_systems(mine, best, self.score, self.offered, self.fit_score)

    def best(self) -> list[_Pick]:
        """For each variable, the support with the lowest score over all libraries."""
        return [min(front, key=self.score) for front in self.fronts]

    def neighbours(self, best: Sequence[_Pick], step: int) -> list[_Pick]:
        """Each variable's neighbour on its front, ``step`` = -1 (sparser) or +1 (denser). A sparser one is
        taken only where it costs little (``config.sparser_margin``): a much worse model is not worth
        re-simulating."""
        out = []
        for front, q in zip(self.fronts, best):
            i = front.index(q) + step
            other = front[i] if 0 <= i < len(front) else q
            if step < 0 and self.score(other) - self.score(q) >= self.config.sparser_margin:
                other = q
            out.append(other)
        return out

    def ensemble(self, best: Sequence[_Pick], seed: int) -> tuple[list[_Pick], dict[str, Any]]:
        """E-SINDy: for each variable, the terms of its library included in at least ``config.inclusion`` of the
        bags, refitted on all rows; and the inclusion probabilities, for ``info``."""
        config, rng = self.config, np.random.default_rng(seed)
        picks, probs = list(best), {}
        for lib_name in dict.fromkeys(q.library.name for q in best):
            targets = [d for d, q in enumerate(best) if q.library.name == lib_name and q.point.support]
            if not targets:
                continue
            lib, theta = best[targets[0]].library, self.thetas[lib_name]
            inclusion = _bagged_inclusion(lib, theta, self.dx_all, targets, config, rng)  # (len(targets), P)
            prob = ScaledProblem.build(theta, self.dx_all, config.n_blocks, factor=False)
            for k, d in enumerate(targets):
                support = tuple(int(j) for j in np.flatnonzero(inclusion[k] >= config.inclusion))
                support = support or best[d].point.support
                c_n, rel, cv = prob.errors([support], d)[0]
                coef = np.zeros(theta.shape[1])
                coef[list(support)] = c_n * prob.y_scale[d] / prob.col_scale[list(support)]
                picks[d] = _Pick(lib, PathPoint(support, coef, rel, cv, float("nan")))
                probs[self.names[d]] = {lib.labels[j]: round(float(inclusion[k, j]), 3)
                                        for j in np.flatnonzero(inclusion[k] > 0)}
        return picks, {"inclusion": probs}

    def model(self, label: str, choice: Sequence[_Pick], extra: dict[str, Any] | None) -> SparseModel:
        """The system of one support per variable, terms under ``config.prune`` of the derivative's RMS dropped."""
        y_rms = rms(self.dx_all)  # (D,)
        equations = {}
        for d, (name, q) in enumerate(zip(self.names, choice)):
            size = np.abs(q.point.coef) * rms(self.thetas[q.library.name])  # (P,)
            keep = [j for j in q.point.support if size[j] >= self.config.prune * y_rms[d]]
            equation = sympy.Add(*(sympy.Float(q.point.coef[j]) * q.library.features[j] for j in keep))
            equations[name] = activation_form(equation) if q.library.name.startswith(GENERATORS) else equation
        info: dict[str, Any] = {
            "label": label,
            "libraries": {name: q.library.name for name, q in zip(self.names, choice)},
            "n_terms": {name: q.point.n_terms for name, q in zip(self.names, choice)},
            "cv_error": {name: round(q.point.cv_err, 6) for name, q in zip(self.names, choice)},
            "fit_error": {name: round(q.point.rel_err, 6) for name, q in zip(self.names, choice)},
        }
        info.update(extra or {})
        return SparseModel(label, equations, info)


def input_pieces(data: "Trajectories", pairs: Sequence[tuple[np.ndarray, np.ndarray]]
                 ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The regression's rows: each trajectory's smoothed states with its inputs and parameters as more columns
    ``(N, D + M)``, and its derivatives ``(N, D)``, cut where an input jumps (:func:`discovery.inputs.smooth_pieces`)."""
    from discovery.inputs import smooth_pieces

    states, rates = [], []
    for (x, dx), tr in zip(pairs, data):
        for piece in smooth_pieces(tr.u[:, : len(data.inputs)]):
            states.append(np.hstack([x, tr.u])[piece])
            rates.append(dx[piece])
    return states, rates


@register
class SINDyMethod(Method):
    """Sparse identification of nonlinear dynamics (pysindy), with automatic choice of sparsity.

    Options are the fields of :class:`SINDyConfig` (``SINDyMethod(ensemble=True, degree=2)``), checked when the
    method is made; ``self.options`` holds them.

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
    handles_inputs = True

    Options = SINDyConfig
    main_options = ("libraries", "degree", "ensemble", "rational", "saturating", "form")
    """The options the app's set-up form shows."""

    def config(self) -> SINDyConfig:
        """The search options (:class:`SINDyConfig`)."""
        return self.options

    def propose(self, data: "Trajectories", context: MethodContext) -> list[Candidate]:
        from discovery.symbolic import to_candidate_expr
        from grammar.errors import GrammarError

        config = self.config()
        start = time.perf_counter()
        strong, weak = wants_forms(config.form, data, config.weak_min_noise)
        models, skipped = [], []
        context.report("sindy: estimating derivatives", 0.0)
        pairs = context.derivatives(data)  # the weak form evaluates its library at the smoothed states
        if strong:
            context.report("sindy: sparse regression", 0.3)
            states, rates = input_pieces(data, pairs)
            models += fit_sindy(states, rates, data.variables, config, seed=context.seed, inputs=data.external)
        if weak:
            context.report("sindy: weak form", 0.7)
            try:
                system = weak_system([tr.t for tr in data], [tr.x for tr in data],
                                     library_states=[p[0] for p in pairs])
                if data.external:  # the library's input columns, at the samples the test functions integrate
                    system = replace(system, x=np.hstack([system.x, np.concatenate([tr.u for tr in data])]))
            except DiscoveryError as exc:  # too short for a window: the strong form alone, and why
                if not strong:
                    raise
                skipped.append(f"weak form: {exc}")
            else:
                known = {_structure(m) for m in models}  # the weak form adds structures, not new constants
                models += [m for m in fit_weak_sindy(system, data.variables, config, seed=context.seed,
                                                     inputs=data.external)
                           if not strong or (m.label in WEAK_PROPOSED and _structure(m) not in known)]
        candidates = []
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
