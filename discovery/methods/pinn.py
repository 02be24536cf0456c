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


def pick_from_front(front: Sequence[Any], n: int, rel_tol: float = 0.05) -> list[Any]:
    """Choose up to ``n`` fits from a Pareto front sorted by complexity, best bets first.

    The choices are: the fit with the sharpest drop in log error per unit of complexity (PySR's score), the
    simplest fit whose error is within ``(1 + rel_tol)`` of the front's smallest error plus 1% of the smallest
    non-zero error scale, and then the remaining fits from simplest to most complex among those whose error is
    within a factor 10 of the best one.

    Examples
    --------
    >>> from types import SimpleNamespace as F
    >>> front = [F(expr="a", complexity=1, mse=1.0), F(expr="b", complexity=3, mse=0.01),
    ...          F(expr="c", complexity=9, mse=0.0099)]
    >>> [f.expr for f in pick_from_front(front, 2)]
    ['b', 'c']
    """
    front = [f for f in front if math.isfinite(float(f.mse))]
    if not front or n <= 0:
        return []
    front = sorted(front, key=lambda f: f.complexity)
    best_mse = min(float(f.mse) for f in front)
    floor = 1e-12 + 1e-2 * max(best_mse, 1e-12)
    chosen: list[Any] = []
    # sharpest drop of log(mse) per unit of complexity
    if len(front) > 1:
        scores = []
        for a, b in zip(front[:-1], front[1:]):
            drop = math.log(max(float(a.mse), floor)) - math.log(max(float(b.mse), floor))
            scores.append(drop / max(b.complexity - a.complexity, 1))
        chosen.append(front[int(np.argmax(scores)) + 1])
    else:
        chosen.append(front[0])
    good = next(f for f in front if float(f.mse) <= (1.0 + rel_tol) * best_mse + floor)
    for f in [good] + [f for f in front if float(f.mse) <= 10.0 * best_mse + floor]:
        if len(chosen) >= n:
            break
        if all(f is not c for c in chosen):
            chosen.append(f)
    return chosen[:n]


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
) -> list[tuple[sympy.Expr, float]]:
    """Fit formulas ``y ~ g(X)`` by symbolic regression and return up to ``n_formulas`` ``(expr, mse)`` pairs.

    ``X`` is ``(N, k)`` with columns named ``names``, ``y`` is ``(N,)``. The expressions are cleaned by
    :func:`discovery.symbolic.to_candidate_expr` (terms measured on ``X``); duplicates after cleaning are dropped.
    """
    from discovery.methods.sr import fit_symbolic
    from discovery.symbolic import to_candidate_expr
    from grammar.errors import GrammarError

    front = fit_symbolic(
        X, y, list(names), backend=backend, max_complexity=max_complexity, time_budget_s=time_budget_s, seed=seed
    )
    columns = {name: X[:, j] for j, name in enumerate(names)}
    out: list[tuple[sympy.Expr, float]] = []
    for fit in pick_from_front(front, max(n_formulas * 2, n_formulas + 2)):
        try:
            expr = to_candidate_expr(fit.expr, data=columns)
        except GrammarError:
            continue
        if all(expr != e for e, _ in out):
            out.append((expr, float(fit.mse)))
        if len(out) >= n_formulas:
            break
    return out


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
        sr_time_budget_s: float = 15.0,
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
            raise DiscoveryError(f"method 'pinn' needs at least 4 points per trajectory; trajectory {short[0]} has fewer")
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
            formulas.append([(name, e) for e, _ in found])

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
