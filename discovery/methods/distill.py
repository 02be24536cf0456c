"""Distilling learned functions to formulas: what the neural methods ``pinn`` and ``node`` share.

A distilled method fits a network to the trajectories, samples the functions it learned (the PINN's hidden
terms, each component of a neural ODE's vector field) and fits formulas to them by symbolic regression
(:func:`distill`, with :func:`discovery.methods.sr.fit_symbolic`): a few formulas from each Pareto front
(:func:`pick_from_front`), with their simplified variants (:func:`snap_inner_constants`, :func:`prune_terms`), are
combined into candidate systems (:func:`combine`), which the pipeline refines and scores like any others.

:class:`DistilledMethod` is that flow, and :class:`DistilledOptions` the options every distilled method has; a
subclass says only how it trains its network, which functions it distills (:class:`Target`) and how formulas make a
system.
"""

from __future__ import annotations

import importlib
import itertools
import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.base import Candidate, Method, MethodContext
from discovery.methods.sr_backends import BACKENDS
from discovery.options import Options, config_from, option
from models.progress import ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories


POLYNOMIAL_OPERATORS = ("add", "sub", "mul", "pow")
"""Operators of the first, polynomial search of :func:`distill` (most hidden terms of the zoo are polynomials)."""


def near_best(best: float, scale: float) -> float:
    """The largest mean squared error that counts as near the ``best`` one: 4 times it, or ``(0.03 * scale)**2``
    above it (``scale``: the target's RMS), whichever is larger."""
    return max(4.0 * best, best + (0.03 * scale) ** 2)


def pick_from_front(front: Sequence[Any], n: int, scale: float, knee: int | None = None) -> list[Any]:
    """Choose up to ``n`` fits from a Pareto front sorted by complexity, best bets first.

    Eligible fits have a mean squared error near the front's smallest one (:func:`near_best`). The first choice is the front's knee (index ``knee``, the
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
    limit = near_best(min(float(f.mse) for f in front), scale)
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
    from grammar.operators import numpy_function

    terms = sympy.Add.make_args(sympy.expand(expr))
    if len(terms) < 2:
        return expr
    symbols = [sympy.Symbol(n) for n in names]
    basis = [t.as_coeff_Mul()[1] for t in terms]
    with np.errstate(all="ignore"):
        fns = [numpy_function(symbols, b) for b in basis]
        cols = [np.broadcast_to(np.asarray(fn(*X.T), dtype=float), y.shape) for fn in fns]
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
    limit = near_best(best, scale)
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


@dataclass(frozen=True)
class Target:
    """One learned function to distill: its values ``y`` ``(N,)`` at samples ``X`` ``(N, k)`` of its arguments.

    Attributes
    ----------
    key:
        The name its formulas get in a combination (``"h1"``, or the state variable ``"x"`` of ``dx/dt``).
    label:
        How progress messages and errors name it (``"h1(x, y)"``, ``"dx/dt"``).
    X, y:
        Samples of the arguments and the learned values.
    names:
        The arguments' names, one per column of ``X``.
    """

    key: str
    label: str
    X: np.ndarray
    y: np.ndarray
    names: tuple[str, ...]


def subsample(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``n`` rows of ``X``, drawn without replacement (all of them, in order, when there are no more)."""
    return X[rng.choice(X.shape[0], n, replace=False)] if X.shape[0] > n else X


def trajectory_arrays(data: "Trajectories") -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each trajectory's times ``(N_i,)`` and states ``(N_i, D)`` as float arrays, for the torch models."""
    return [np.asarray(tr.t, dtype=float) for tr in data], [np.asarray(tr.x, dtype=float) for tr in data]


@dataclass(frozen=True)
class DistilledOptions(Options):
    """Options every distilled method has.

    Attributes
    ----------
    n_formulas:
        Formulas kept from each learned function's Pareto front.
    max_candidates:
        Candidate systems returned (combinations of the learned functions' formulas).
    n_samples:
        Input-output pairs of each learned function handed to symbolic regression.
    sr_backend, max_complexity, sr_time_budget_s:
        Symbolic-regression settings per learned function (see :func:`discovery.methods.sr.fit_symbolic`).
    prune_tolerance:
        Also offer each formula pruned while its error on the learned function stays within this fraction of the
        function's RMS (see :func:`distill`); ``None`` to skip.
    model, training:
        The network and training configs of the method's torch model (:attr:`model_config`,
        :attr:`train_config`), or dicts of their fields; ``None`` for the defaults.
    """

    owner = "distilled"
    model_config: ClassVar[str] = ""
    """``"module:Class"`` of the network config (imported only when ``model`` is given or training starts)."""
    train_config: ClassVar[str] = ""
    """``"module:Class"`` of the training config."""

    n_formulas: int = option(3, low=1)
    max_candidates: int = option(6, low=1)
    n_samples: int = option(400, low=3)
    sr_backend: str = option("auto", choices=("auto", *BACKENDS))
    max_complexity: int = option(15, low=3, high=200)
    sr_time_budget_s: float = option(12.0, low=0.0, low_open=True)
    prune_tolerance: float | None = option(None, low=0.0)
    model: Any = None
    training: Any = None

    def validate(self) -> None:
        for name in ("model", "training"):
            if getattr(self, name) is not None:  # checked now, before any work; the config module loads torch
                object.__setattr__(self, name, self.config(name))

    def config(self, name: str) -> Any:
        """The ``"model"`` or ``"training"`` config, built from the option (defaults when it is ``None``)."""
        module, cls = (self.model_config if name == "model" else self.train_config).split(":")
        return config_from(getattr(importlib.import_module(module), cls), getattr(self, name), f"{self.owner}.{name}")


class DistilledMethod(Method):
    """A method that trains a network, then distills what it learned to formulas (see the module docstring).

    Subclasses set :attr:`Options` (a :class:`DistilledOptions`), :attr:`network`, the progress shares, and
    implement :meth:`train`, :meth:`targets` and :meth:`system`.
    """

    Options: ClassVar[type] = DistilledOptions
    network: ClassVar[str] = "the network"
    """How progress messages name what is trained (``"the PINN"``)."""
    train_share: ClassVar[float] = 0.6
    """Share of the method's progress that training takes; distillation takes :attr:`distill_share` after it."""
    distill_share: ClassVar[float] = 0.35

    @abstractmethod
    def train(self, data: "Trajectories", context: MethodContext, progress: ProgressFn) -> Any:
        """Check ``data`` for the method and train the network (device and seed from ``context``); returns what
        :meth:`targets` and :meth:`system` need."""

    @abstractmethod
    def targets(self, trained: Any, data: "Trajectories", rng: np.random.Generator) -> list[Target]:
        """The learned functions to distill, sampled where the network was trained (``rng`` draws the samples)."""

    @abstractmethod
    def system(self, formulas: dict[str, sympy.Expr], trained: Any) -> tuple[dict[str, sympy.Expr], dict[str, Any]]:
        """A candidate's equations and info from one formula per target key; ``ValueError`` to skip it."""

    def propose(self, data: "Trajectories", context: MethodContext) -> list[Candidate]:
        o = self.options
        context.report(f"training {self.network}", 0.0)
        trained = self.train(data, context, lambda msg, f: context.report(msg, self.train_share * f))
        targets = self.targets(trained, data, np.random.default_rng(context.seed))
        formulas = []
        for i, target in enumerate(targets):
            context.report(f"distilling {target.label} by symbolic regression",
                           self.train_share + self.distill_share * i / len(targets))
            found = distill(
                target.X, target.y, target.names, n_formulas=o.n_formulas, backend=o.sr_backend,
                max_complexity=o.max_complexity, time_budget_s=o.sr_time_budget_s, seed=context.seed,
                loose_tolerance=o.prune_tolerance,
            )
            if not found:
                raise DiscoveryError(f"method {self.name!r}: symbolic regression found no formula for {target.label}")
            formulas.append([(target.key, e) for e in found])
        candidates = []
        for combo in combine(formulas, o.max_candidates):
            try:
                equations, info = self.system(dict(combo), trained)
            except ValueError:
                continue
            candidates.append(Candidate(method=self.name, equations=equations, info=info))
        context.report("done", 1.0)
        return candidates


__all__ = [
    "POLYNOMIAL_OPERATORS",
    "DistilledMethod",
    "DistilledOptions",
    "Target",
    "combine",
    "distill",
    "near_best",
    "pick_from_front",
    "prune_terms",
    "snap_inner_constants",
    "subsample",
    "trajectory_arrays",
]
