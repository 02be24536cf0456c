"""The ``sr`` method: symbolic regression of each time derivative on the smoothed states.

:func:`fit_symbolic` is the reusable core (the PINN and neural-ODE methods distil their networks with it): one
target, any inputs, a Pareto front of cleaned formulas. :class:`SRMethod` runs it once per state variable and
combines the per-variable fronts into a few candidate systems. By default it offers the search only the operators the
data gives a reason for, leaves out formulas whose periodic functions do not show their period over the data, and
picks from each front with functions costing more than nodes (:mod:`discovery.methods.sr_terms`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from discovery import parsimony
from discovery.errors import DiscoveryError
from discovery.methods.base import Candidate, Method, MethodContext, expression_complexity, register
from discovery.methods.sr_backends import DEFAULT_OPERATORS, BACKENDS, resolve_backend
from discovery.methods.sr_terms import choose_operators, formula_cost, trig_spans
from discovery.options import Options, option
from discovery.parsimony import ERROR_FLOOR

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories

MAX_POINTS = 1000
"""Rows kept (evenly strided) for symbolic regression; more cost time and rarely change the formulas."""


@dataclass(frozen=True)
class SymbolicFit:
    """One formula of a Pareto front: ``expr`` in ``sympy.Symbol(names[i])``, its node count, its mean squared
    error on the data it was fitted to (after cleaning and rounding)."""

    expr: sympy.Expr
    complexity: int
    mse: float


def _evaluate(expr: sympy.Expr, X: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """``expr`` on the rows of ``X`` (N, k), shape ``(N,)``; non-finite where it is undefined."""
    from grammar.operators import numpy_function

    symbols = [sympy.Symbol(n) for n in names]
    with np.errstate(all="ignore"):
        value = numpy_function(symbols, expr)(*X.T)
    return np.broadcast_to(np.asarray(value, dtype=float), (X.shape[0],))


def pareto_front(fits: Sequence[SymbolicFit]) -> list[SymbolicFit]:
    """The fits' Pareto front of complexity vs. error (:func:`discovery.parsimony.pareto_front`), one per formula."""
    return parsimony.pareto_front(fits, cost=lambda f: f.complexity, error=lambda f: float(f.mse),
                                  key=lambda f: str(f.expr))


def knee_index(front: Sequence[SymbolicFit], scale: float, penalty: float = 0.05, floor: float = ERROR_FLOOR) -> int:
    """Index of the preferred fit of a front: lowest :func:`discovery.parsimony.parsimony_score` of the relative
    RMS error ``rmse / scale`` and the cost (:func:`~discovery.methods.sr_terms.formula_cost`: the node count, with
    each function counting three nodes, six inside another function).

    With the default penalty a formula must be about 5% more accurate per extra node (16% per three-node term,
    as in ``sindy``) to be preferred; errors under ``floor`` times ``scale`` (the target's RMS) count as equal.
    """
    if not front:
        raise DiscoveryError("empty Pareto front: symbolic regression returned no usable formula")
    return parsimony.best_by_score(front, error=lambda f: np.sqrt(f.mse) / scale, cost=lambda f: formula_cost(f.expr),
                                   penalty=penalty, floor=floor)


def fit_symbolic(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    backend: str = "auto",
    operators: Sequence[str] = DEFAULT_OPERATORS,
    max_complexity: int = 25,
    time_budget_s: float = 3.0,
    seed: int = 0,
    max_points: int = MAX_POINTS,
    digits: int = 4,
    **backend_options: Any,
) -> list[SymbolicFit]:
    """Symbolic regression of ``y`` on the columns of ``X``: a Pareto front of clean formulas.

    Every formula the backend returns is simplified, stripped of negligible terms (measured on the data),
    rounded to ``digits`` significant digits and checked to be inside the grammar; its complexity (node count)
    and mean squared error are then measured on the data as rounded, and the front is rebuilt from those.

    Parameters
    ----------
    X:
        Inputs, shape ``(N, k)``.
    y:
        Target, shape ``(N,)``.
    names:
        The ``k`` input names; formulas are written in ``sympy.Symbol(name)``.
    backend:
        ``"pyoperon"``, ``"pysr"`` or ``"auto"`` (PySR where Julia runs, else pyoperon).
    operators:
        Grammar operators the search may use (:data:`DEFAULT_OPERATORS`).
    max_complexity:
        Largest formula the search builds (backend units: tree nodes).
    time_budget_s:
        Wall-clock budget of the search.
    seed:
        Seed of the search.
    max_points:
        Rows kept (evenly strided) for the search.
    digits:
        Significant digits of the constants.
    **backend_options:
        Passed to the backend's regressor (e.g. ``population_size=500`` for pyoperon).

    Returns
    -------
    list of SymbolicFit
        The Pareto front, sorted by increasing complexity (and decreasing error).

    Raises
    ------
    DiscoveryError
        On inputs of the wrong shape, non-finite values, a bad option or an unknown backend.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).uniform(-2, 2, size=(200, 2))
    >>> front = fit_symbolic(X, 2.5 * X[:, 0] * X[:, 1] - X[:, 1], ["a", "b"], backend="pyoperon",
    ...                      time_budget_s=2)
    >>> min(front, key=lambda f: f.mse).expr
    2.5*a*b - b
    """
    from discovery.symbolic import to_candidate_expr
    from grammar.errors import GrammarError

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],) or X.shape[0] < 3:
        raise DiscoveryError(f"fit_symbolic: expected X of shape (N, k) and y of shape (N,) with N >= 3, "
                             f"found X {X.shape} and y {y.shape}")
    if len(names) != X.shape[1] or len(set(names)) != len(names):
        raise DiscoveryError(f"fit_symbolic: expected {X.shape[1]} distinct names, one per column of X, "
                             f"found {list(names)}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise DiscoveryError("fit_symbolic: X and y must be finite; found NaN or inf")
    if max_complexity < 3 or time_budget_s <= 0 or max_points < 3:
        raise DiscoveryError(f"fit_symbolic: expected max_complexity >= 3, time_budget_s > 0, max_points >= 3; "
                             f"found {max_complexity}, {time_budget_s}, {max_points}")
    name = resolve_backend(backend)
    if np.ptp(y) == 0:  # a constant target (a variable that does not move): nothing to search
        from discovery.symbolic import round_floats

        value = round_floats(sympy.Float(y[0]), digits) if y[0] != 0 else sympy.Integer(0)
        return [SymbolicFit(value, 1, 0.0)]
    step = int(np.ceil(X.shape[0] / max_points))
    Xs, ys = X[::step], y[::step]  # (n, k), (n,)
    raw = BACKENDS[name](
        Xs, ys, names, operators=operators, max_complexity=max_complexity, time_budget_s=time_budget_s,
        seed=seed, **backend_options,
    )
    data = {n: Xs[:, i] for i, n in enumerate(names)}
    fits = []
    for expr in raw:
        try:
            clean = to_candidate_expr(expr, digits=digits, data=data)
        except GrammarError:  # e.g. a constant that overflowed to inf: not a usable formula
            continue
        for variant in (clean, drop_weak_terms(clean, Xs, ys, names)):
            if variant is not None:
                mse = float(np.mean((_evaluate(variant, Xs, names) - ys) ** 2))
                fits.append(SymbolicFit(variant, expression_complexity(variant), mse))
    return pareto_front(fits)


def drop_weak_terms(
    expr: sympy.Expr, X: np.ndarray, y: np.ndarray, names: Sequence[str], tol: float = 0.01
) -> sympy.Expr | None:
    """``expr`` without the terms of its sum that barely help: greedily drop the term whose removal raises the
    RMS error on ``(X, y)`` least, while it stays within ``1 + tol`` of the full expression's. ``None`` when no
    term goes. Removes what regression adds everywhere, such as the intercept fitted to noise
    (``1.003*omega + 0.0017``), without refitting the rest.

    Examples
    --------
    >>> import numpy as np, sympy
    >>> a = sympy.Symbol("a")
    >>> X = np.linspace(-1, 1, 50)[:, None]
    >>> drop_weak_terms(2.0 * a + 0.001, X, 2.0 * X[:, 0], ["a"])
    2.0*a
    """
    terms = list(sympy.Add.make_args(expr))
    if len(terms) < 2:
        return None
    values = np.stack([_evaluate(t, X, names) for t in terms])  # (K, N)
    if not np.all(np.isfinite(values)):
        return None
    keep = list(range(len(terms)))
    limit = (1 + tol) * float(np.sqrt(np.mean((values.sum(axis=0) - y) ** 2))) + 1e-12 * float(np.std(y))
    while len(keep) > 1:
        total = values[keep].sum(axis=0)  # (N,)
        errors = [float(np.sqrt(np.mean((total - values[j] - y) ** 2))) for j in keep]
        weakest = int(np.argmin(errors))
        if errors[weakest] > limit:
            break
        keep.pop(weakest)
    if len(keep) == len(terms):
        return None
    return sympy.Add(*(terms[j] for j in keep))


def _front_info(front: Sequence[SymbolicFit]) -> list[dict[str, Any]]:
    return [{"expr": str(f.expr), "complexity": f.complexity, "mse": float(f"{f.mse:.6g}")} for f in front]


def _operator_names() -> tuple[str, ...]:
    from grammar.operators import OPERATORS

    return tuple(OPERATORS)


@dataclass(frozen=True)
class SROptions(Options):
    """Options of the ``sr`` method.

    Attributes
    ----------
    backend:
        ``"auto"``, ``"pyoperon"`` or ``"pysr"``.
    operators:
        Grammar operators allowed (default :data:`DEFAULT_OPERATORS`).
    max_complexity:
        Largest formula searched per variable.
    time_budget_s:
        Wall-clock cap of the search for the whole system, shared equally by the variables (whole seconds, at
        least 1 each). With pyoperon the search normally ends first, after its 60 generations, so results do not
        depend on the machine's load.
    max_points:
        Rows kept for the search.
    max_candidates:
        Most candidate systems returned.
    backend_options:
        Passed to the backend's regressor.
    operator_choice:
        ``"data"``: of ``operators``, offer only those the data gives a reason for, and leave out formulas whose
        ``sin``/``cos`` arguments span less than ``trig_min_range`` over the data
        (:mod:`discovery.methods.sr_terms`); ``"given"``: every operator of ``operators``, every formula.
    trig_min_range:
        Smallest span of a state (and of a periodic function's argument) for ``sin``/``cos`` to be offered (kept).
    """

    owner = "sr"

    backend: str = option("auto", choices=("auto", *BACKENDS))
    operators: tuple[str, ...] = DEFAULT_OPERATORS
    max_complexity: int = option(25, low=3, high=200)
    time_budget_s: float = option(15.0, low=0.0, low_open=True)
    max_points: int = option(MAX_POINTS, low=10)
    max_candidates: int = option(4, low=1)
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    operator_choice: str = option("data", choices=("data", "given"))
    trig_min_range: float = option(float(np.pi), low=0.0)

    def validate(self) -> None:
        valid = _operator_names()
        unknown = [o for o in self.operators if o not in valid]
        if unknown or not self.operators:
            raise DiscoveryError(f"sr.operators: expected names among {', '.join(valid)}, found "
                                 f"{list(self.operators)}")


@register
class SRMethod(Method):
    """Symbolic regression of each time derivative on the smoothed states (pyoperon, or PySR with Julia).

    Options are the fields of :class:`SROptions` (``SRMethod(backend="pyoperon", time_budget_s=4)``).

    Examples
    --------
    >>> from discovery.simulation import simulate
    >>> from discovery.methods.base import MethodContext
    >>> data = simulate("lotka_volterra")
    >>> best = SRMethod(backend="pyoperon", time_budget_s=4).propose(data, MethodContext())[0]
    >>> sorted(best.equations)
    ['x', 'y']
    """

    name = "sr"
    description = "symbolic regression of each derivative on the states (PySR where Julia runs, else pyoperon)"
    requires = ("pyoperon",)
    install_hint = "pip install pyoperon"
    handles_inputs = True
    auto_when_unexplained = True  # the slowest method; where a sparse model fits within the noise it rarely wins
    Options = SROptions
    main_options = ("backend", "max_complexity", "time_budget_s", "max_candidates")
    """The options the app's set-up form shows."""

    def propose(self, data: "Trajectories", context: MethodContext) -> list[Candidate]:
        start = time.perf_counter()
        backend = resolve_backend(self.options.backend)
        names = list(data.variables)
        columns = names + list(data.external)  # the inputs and parameters are extra columns, with no equation
        context.report("sr: estimating derivatives", 0.0)
        pairs = context.derivatives(data)
        x_all = np.concatenate([_trim(np.hstack([p[0], tr.u])) for p, tr in zip(pairs, data)])  # (N, D + M)
        dx_all = np.concatenate([_trim(p[1]) for p in pairs])  # (N, D)
        budget = float(max(1, int(self.options.time_budget_s / len(names))))  # pyoperon counts whole seconds
        operators, dropped = tuple(self.options.operators), []
        by_data = self.options.operator_choice == "data"
        if by_data:
            operators, dropped = choose_operators(operators, x_all, dx_all, columns, self.options.trig_min_range)
        values = {c: x_all[:, j] for j, c in enumerate(columns)}
        fronts: dict[str, list[SymbolicFit]] = {}
        for d, v in enumerate(names):
            context.report(f"sr: searching d{v}/dt", 0.1 + 0.85 * d / len(names))
            front = fit_symbolic(
                x_all, dx_all[:, d], columns, backend=backend, operators=operators,
                max_complexity=self.options.max_complexity, time_budget_s=budget, seed=context.seed + d,
                max_points=self.options.max_points, **dict(self.options.backend_options),
            )
            if by_data:  # a subset of a front is a front
                front = [f for f in front if trig_spans(f.expr, values, self.options.trig_min_range)]
            if not front:
                raise DiscoveryError(f"sr: no usable formula for d{v}/dt")
            fronts[v] = front
        scale = {v: float(np.sqrt(np.mean(dx_all[:, d] ** 2))) or 1.0 for d, v in enumerate(names)}
        knee = {v: knee_index(fronts[v], scale[v]) for v in names}
        choices = {
            "knee": dict(knee),
            # neighbours of the knee, and the most accurate fit, where they differ enough to be worth a look
            "richer": {v: _step(fronts[v], knee[v], knee[v] + 1, 0.999, scale[v]) for v in names},
            "simpler": {v: _step(fronts[v], knee[v], knee[v] - 1, 2.0, scale[v]) for v in names},
            "accurate": {v: _step(fronts[v], knee[v], len(fronts[v]) - 1, 0.5, scale[v]) for v in names},
        }
        info_common = {
            "backend": backend,
            "fronts": {v: _front_info(fronts[v]) for v in names},
            "derivative_method": context.derivative_method,
            "operators": list(operators),
            "operators_left_out": dropped,
        }
        candidates, seen = [], set()
        for label, pick in choices.items():
            key = tuple(pick[v] for v in names)
            if key in seen:
                continue
            seen.add(key)
            equations = {v: fronts[v][pick[v]].expr for v in names}
            candidates.append(Candidate(self.name, equations, dict(info_common, label=label)))
            if len(candidates) >= self.options.max_candidates:
                break
        elapsed = round(time.perf_counter() - start, 3)
        for c in candidates:
            c.info["elapsed_s"] = elapsed
        context.report("sr: done", 1.0)
        return candidates


def _step(front: Sequence[SymbolicFit], knee: int, other: int, ratio: float, scale: float) -> int:
    """``other`` if it exists and its RMS error is within ``ratio`` times the knee's (plus a small floor): a
    richer fit must be clearly better (``ratio < 1``), a simpler one not much worse (``ratio > 1``); else ``knee``.
    """
    if not 0 <= other < len(front):
        return knee
    rmse_knee, rmse_other = np.sqrt(front[knee].mse), np.sqrt(front[other].mse)
    floor = ERROR_FLOOR * scale
    if ratio < 1:
        return other if rmse_other <= ratio * rmse_knee and rmse_knee > floor else knee
    return other if rmse_other <= ratio * rmse_knee + floor else knee


def _trim(a: np.ndarray, frac: float = 0.02) -> np.ndarray:
    """Drop ``frac`` of the rows at each end (derivative estimates are worst at the ends)."""
    cut = int(frac * len(a)) if len(a) >= 20 else 0
    return a[cut : len(a) - cut]
