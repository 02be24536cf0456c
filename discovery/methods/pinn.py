"""The ``pinn`` method: complete a partly known model with hidden terms learned by a PINN, then distilled.

The user gives what is known and names what is not (``known={"x": "0.5*x - h1(x, y)", ...}``, see
:mod:`discovery.known`). :func:`models.pinn.fit_pinn` trains a surrogate of the trajectories together with one
network per hidden term; each learned ``h_k`` is sampled over the states the surrogate visits and distilled to
formulas by symbolic regression (:func:`discovery.methods.sr.fit_symbolic`); a few formulas from each ``h_k``'s
Pareto front are substituted back into the known model. The pipeline then refines and scores the candidates
like any others.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.base import Candidate, Method, MethodContext, register

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories


def make_config(cls: type, value: Any, option: str) -> Any:
    """Build a frozen config dataclass from ``None`` (defaults), an instance, or a dict of its fields."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise DiscoveryError(
                f"option {option!r}: unknown field(s) {', '.join(unknown)}; valid fields: {', '.join(sorted(names))}"
            )
        return cls(**value)
    raise DiscoveryError(f"option {option!r}: expected a {cls.__name__} or a dict of its fields, found {value!r}")


POLYNOMIAL_OPERATORS = ("add", "sub", "mul", "pow")
"""Operators of the first, polynomial search of :func:`distill` (most hidden terms of the zoo are polynomials)."""


def pick_from_front(front: Sequence[Any], n: int, scale: float, knee: int | None = None) -> list[Any]:
    """Choose up to ``n`` fits from a Pareto front sorted by complexity, best bets first.

    Eligible fits have a mean squared error within 4 times the front's smallest one, or within ``(0.03 *
    scale)**2`` of it (``scale``: the target's RMS). The first choice is the front's knee (index ``knee``, the
    shared rule of :func:`discovery.methods.sr.knee_index`) when eligible, then the eligible fits from simplest
    to most complex: the pipeline re-simulates every candidate and keeps the simplest one that fits.

    Examples
    --------
    >>> from types import SimpleNamespace as F
    >>> front = [F(expr="a", complexity=1, mse=1.0), F(expr="b", complexity=3, mse=0.011),
    ...          F(expr="c", complexity=9, mse=0.01), F(expr="d", complexity=15, mse=0.0099)]
    >>> [f.expr for f in pick_from_front(front, 2, scale=1.0, knee=2)]
    ['c', 'b']
    """
    front = sorted((f for f in front if math.isfinite(float(f.mse))), key=lambda f: f.complexity)
    if not front or n <= 0:
        return []
    best = min(float(f.mse) for f in front)
    limit = max(4.0 * best, best + (0.03 * scale) ** 2)
    eligible = [f for f in front if float(f.mse) <= limit]
    chosen = [front[knee]] if knee is not None and 0 <= knee < len(front) and front[knee] in eligible else []
    chosen += [f for f in eligible if all(f is not c for c in chosen)]
    return chosen[:n]


def snap_inner_constants(expr: sympy.Expr, rel_tol: float = 0.02) -> sympy.Expr:
    """Replace floats inside function arguments that are within ``rel_tol`` of a non-zero integer by it.

    ``-5.02*sin(0.9952*theta)`` becomes ``-5.02*sin(theta)``; outer coefficients stay (refinement fits them).

    Examples
    --------
    >>> theta = sympy.Symbol("theta")
    >>> snap_inner_constants(-5.02 * sympy.sin(0.9952 * theta))
    -5.02*sin(theta)
    """
    repl = {}
    for fn in expr.atoms(sympy.Function):
        for f in fn.atoms(sympy.Float):
            r = round(float(f))
            if r != 0 and abs(float(f) - r) <= rel_tol * abs(r):
                repl[f] = sympy.Integer(r)
    return expr.xreplace(repl) if repl else expr


def prune_terms(expr: sympy.Expr, X: np.ndarray, y: np.ndarray, names: Sequence[str], limit: float) -> sympy.Expr:
    """Backward elimination of the additive terms of ``expr`` while the refitted error stays under ``limit``.

    The terms of the expanded expression, stripped of their numeric coefficients, are a basis; the coefficients
    are refitted by least squares on ``(X (N, k), y (N,))`` after every removal. Symbolic regression engines add
    an intercept and small corrections to every formula (``0.1003*x*y - 0.0375``); this finds the formula
    without them (``0.09998*x*y``) when the data do not need them.

    Examples
    --------
    >>> X = np.random.default_rng(0).uniform(1, 3, size=(50, 2)); a, b = sympy.symbols("a b")
    >>> prune_terms(2.01 * a * b - 0.03 + 1e-3 * a**3, X, 2 * X[:, 0] * X[:, 1], ["a", "b"], limit=1e-6)
    2.0*a*b
    """
    from grammar.operators import numpy_namespace

    terms = sympy.Add.make_args(sympy.expand(expr))
    if len(terms) < 2:
        return expr
    symbols = [sympy.Symbol(n) for n in names]
    basis = [t.as_coeff_Mul()[1] for t in terms]
    with np.errstate(all="ignore"):
        cols = [np.broadcast_to(np.asarray(sympy.lambdify(symbols, b, modules=[numpy_namespace(), "numpy"])(*X.T),
                                           dtype=float), y.shape) for b in basis]
    A = np.stack(cols, axis=1)  # (N, T)
    if not np.all(np.isfinite(A)):
        return expr

    def fit(keep: list[int]) -> tuple[np.ndarray, float]:
        coef, *_ = np.linalg.lstsq(A[:, keep], y, rcond=None)
        return coef, float(np.mean((A[:, keep] @ coef - y) ** 2))

    keep = list(range(len(basis)))
    coef, _ = fit(keep)
    while len(keep) > 1:
        trials = [(fit([j for j in keep if j != drop]), drop) for drop in keep]
        (c, mse), drop = min(trials, key=lambda item: item[0][1])
        if mse > limit:
            break
        keep = [j for j in keep if j != drop]
        coef = c
    return sympy.Add(*[sympy.Float(float(c), 15) * basis[j] for c, j in zip(coef, keep)])


def distill(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    n_formulas: int,
    backend: str,
    max_complexity: int,
    time_budget_s: float,
    seed: int,
    loose_tolerance: float | None = None,
) -> list[sympy.Expr]:
    """Fit formulas ``y ~ g(X)`` by symbolic regression and return a few of them, simplest variants first.

    Two searches share ``time_budget_s``: one over polynomials (:data:`POLYNOMIAL_OPERATORS`, 40% of the time),
    one over the default operators; their fronts are merged. For each of the ``n_formulas`` fits chosen by
    :func:`pick_from_front`, the variants with inner constants snapped to integers (:func:`snap_inner_constants`)
    and with unneeded terms pruned (:func:`prune_terms`) come before the formula itself; at most
    ``2 * n_formulas`` distinct formulas are returned. With ``loose_tolerance``, a variant pruned while the error
    stays within ``best + (loose_tolerance * scale)**2`` comes first, and up to ``3 * n_formulas`` are returned:
    for a learned function with systematic errors (a neural ODE's field) the simplest formula may fit the
    trajectories best, which the pipeline's re-simulation decides. ``X`` is ``(N, k)`` with columns named
    ``names``, ``y`` is ``(N,)``.
    """
    from discovery.methods.sr import fit_symbolic, knee_index, pareto_front
    from discovery.symbolic import to_candidate_expr
    from grammar.errors import GrammarError

    y = np.asarray(y, dtype=float)
    fits = []
    for operators, share in ((POLYNOMIAL_OPERATORS, 0.4), (None, 0.6)):
        extra = {} if operators is None else {"operators": operators}
        fits += fit_symbolic(
            X, y, list(names), backend=backend, max_complexity=max_complexity,
            time_budget_s=time_budget_s * share, seed=seed, **extra,
        )
    front = pareto_front(fits)
    if not front:
        return []
    scale = float(np.sqrt(np.mean(y**2))) or 1.0
    best = min(float(f.mse) for f in front)
    limit = max(4.0 * best, best + (0.03 * scale) ** 2)
    columns = {name: X[:, j] for j, name in enumerate(names)}
    out: list[sympy.Expr] = []
    for fit in pick_from_front(front, n_formulas, scale, knee=knee_index(front, scale)):
        snapped = snap_inner_constants(fit.expr)
        variants = [prune_terms(snapped, X, y, names, limit), prune_terms(fit.expr, X, y, names, limit), snapped,
                    fit.expr]
        if loose_tolerance is not None:
            variants.insert(0, prune_terms(snapped, X, y, names, best + (loose_tolerance * scale) ** 2))
        for expr in variants:
            try:
                expr = to_candidate_expr(expr, data=columns)
            except GrammarError:
                continue
            if all(expr != e for e in out):
                out.append(expr)
    return out[: (2 if loose_tolerance is None else 3) * n_formulas]


def combine(options: Sequence[Sequence[Any]], limit: int) -> list[tuple[Any, ...]]:
    """Up to ``limit`` combinations of one option per slot, ordered by the sum of the options' ranks."""
    combos = itertools.product(*[range(len(o)) for o in options])
    ranked = sorted(combos, key=lambda c: (sum(c), c))[:limit]
    return [tuple(options[k][i] for k, i in enumerate(c)) for c in ranked]


@register
class PINNMethod(Method):
    """PINN with hidden-term networks for a partly known model; hidden terms distilled by symbolic regression.

    Parameters
    ----------
    known:
        The partly known model (see :func:`discovery.known.parse_known`); default ``context.options["known"]``.
    n_formulas:
        Formulas kept from each hidden term's Pareto front.
    max_candidates:
        Candidate systems returned (combinations of the hidden terms' formulas).
    n_samples:
        Input-output pairs of each learned hidden term handed to symbolic regression.
    sr_backend, max_complexity, sr_time_budget_s:
        Symbolic-regression settings per hidden term (see :func:`discovery.methods.sr.fit_symbolic`).
    model, training:
        :class:`models.pinn.PINNModelConfig` / :class:`models.pinn.PINNTrainConfig` or dicts of their fields.

    Examples
    --------
    >>> from discovery.methods import get_method
    >>> method = get_method("pinn", known={"x": "x - h1(x, y)", "y": "-1.5*y + h2(x, y)"})
    """

    name = "pinn"
    description = "PINN with hidden-term networks for a partly known model, hidden terms distilled to formulas"
    requires = ("torch",)

    def __init__(
        self,
        known: Any = None,
        n_formulas: int = 3,
        max_candidates: int = 6,
        n_samples: int = 400,
        sr_backend: str = "auto",
        max_complexity: int = 15,
        sr_time_budget_s: float = 12.0,
        model: Any = None,
        training: Any = None,
    ) -> None:
        self.known = known
        self.n_formulas = n_formulas
        self.max_candidates = max_candidates
        self.n_samples = n_samples
        self.sr_backend = sr_backend
        self.max_complexity = max_complexity
        self.sr_time_budget_s = sr_time_budget_s
        self.model = model
        self.training = training

    def propose(self, data: "Trajectories", context: MethodContext) -> list[Candidate]:
        from discovery.known import parse_known
        from discovery.symbolic import to_candidate_system
        from models.pinn import PINNModelConfig, PINNTrainConfig, fit_pinn

        known = parse_known(self.known if self.known else context.options.get("known"), data.variables)
        model_cfg = make_config(PINNModelConfig, self.model, "model")
        train_cfg = make_config(PINNTrainConfig, self.training, "training")
        times = [np.asarray(tr.t, dtype=float) for tr in data]
        states = [np.asarray(tr.x, dtype=float) for tr in data]
        short = [i for i, t in enumerate(times) if t.size < 4]
        if short:
            raise DiscoveryError(
                f"method 'pinn' needs at least 4 points per trajectory; trajectory {short[0]} has fewer"
            )
        index = known.hidden_indices()
        scales = [_typical_rate(times, states, [data.variables.index(v) for v in known.users(h)]) for h in known.hidden]

        context.report("training the PINN", 0.0)
        fit = fit_pinn(
            times, states, known.torch_rhs(), index,
            hidden_scales=scales, model_config=model_cfg, train_config=train_cfg,
            device=context.device, seed=context.seed,
            progress=lambda msg, f: context.report(msg, 0.7 * f),
        )
        # states the surrogate visits: a dense grid over each trajectory's window
        visited = np.concatenate([fit.states(i, np.linspace(t[0], t[-1], 200)) for i, t in enumerate(times)])
        rng = np.random.default_rng(context.seed)
        formulas: list[list[tuple[str, sympy.Expr]]] = []
        for k, (name, args) in enumerate(known.hidden.items()):
            context.report(f"distilling {name}({', '.join(args)}) by symbolic regression", 0.7 + 0.25 * k / len(index))
            X = visited[:, list(index[k])]
            if X.shape[0] > self.n_samples:
                X = X[rng.choice(X.shape[0], self.n_samples, replace=False)]
            y = fit.hidden(k, X)
            found = distill(
                X, y, args, n_formulas=self.n_formulas, backend=self.sr_backend,
                max_complexity=self.max_complexity, time_budget_s=self.sr_time_budget_s, seed=context.seed,
            )
            if not found:
                raise DiscoveryError(f"method 'pinn': symbolic regression found no formula for hidden term {name}")
            formulas.append([(name, e) for e in found])

        last = fit.history[-1] if fit.history else {}
        candidates = []
        for combo in combine(formulas, self.max_candidates):
            forms = dict(combo)
            try:
                equations = to_candidate_system(known.substitute(forms))
            except ValueError:
                continue
            info = {
                "hidden": {h: str(e) for h, e in forms.items()},
                "known": {v: str(e) for v, e in known.equations.items()},
                "pinn_loss": {k: v for k, v in last.items() if k != "step"},
                "train_s": round(fit.elapsed_s, 2),
            }
            candidates.append(Candidate(method=self.name, equations=equations, info=info))
        context.report("done", 1.0)
        return candidates


def _typical_rate(times: list[np.ndarray], states: list[np.ndarray], columns: list[int]) -> float:
    """Root-mean-square finite-difference rate of the given columns (the size of a hidden term they use)."""
    if not columns:
        columns = list(range(states[0].shape[1]))
    rates = np.concatenate([np.diff(x[:, columns], axis=0) / np.diff(t)[:, None] for t, x in zip(times, states)])
    value = float(np.sqrt(np.mean(rates**2)))
    return value if math.isfinite(value) and value > 0 else 1.0
