"""Synthetic training data for PROSE: zoo systems and random grammar systems, simulated, tokenized, cached.

Each sample is one trajectory of one system:

* **zoo samples** draw a system of the zoo (every system except the held-out ones, in turn), parameters
  uniformly in its ``param_ranges`` (nominal +-10%) and an initial state in its ``x0_range``;
* **random samples** draw a system from :func:`grammar.sample_system` (1 to 5 variables) and an initial state
  uniformly in ``[-2, 2]`` per variable, so the model sees more than the zoo. Systems that blow up, stall or
  go flat are redrawn.

**Time windows (our documented choice).** A zoo system is observed from ``t0`` over a window of its own
(``window_rule``): under ``"predictable"`` (the default) the longest window, at most ``window_fraction`` of its
``t_span``, whose future part the true equations started 1% off still predict within ``window_tolerance``
(:mod:`discovery.training.windows`: chaotic systems get windows of a few Lyapunov times, the others a quarter of
their span); under ``"span"`` (the rule of the first checkpoints) ``window_fraction`` of the ``t_span`` for
every system. The first ``input_fraction`` (default 1/3, the paper's [0, 2] of [0, 6]) is the input window, the
rest is the prediction window. Random systems use the paper's window directly: input [0, 2], prediction (2, 6].
Input times are a uniform grid or (for ``irregular_fraction`` of the samples) sorted uniform random times;
query times are a uniform grid over the whole window, so the data decoder learns to reconstruct the input window
and to extrapolate; evaluation scores the prediction window only.

The stored inputs are **clean**: noise (``p * std(x_v)`` per variable, as everywhere in eqdisco) is added per
batch during training (:func:`discovery.training.training.make_augment`) and with a fixed seed for evaluation
(:func:`with_noise`). The symbol input is the true system **corrupted** as in the paper: each term dropped with
probability ``term_prob``, a random term added to each equation with probability ``term_prob``, and every
coefficient multiplied by ``1 + coef_noise * N(0, 1)``.

**The ``broad`` distribution** (``distribution="broad"``, built for systems never seen): most samples are random
systems shaped like real laws (:data:`grammar.sampler.LAW_SAMPLER`: 1 to ``max_random_vars`` variables, 1-6 terms
per equation, monomials up to degree 3, Michaelis-Menten and repression terms, ``sin``/``cos``/``exp`` of linear
arguments, constants over four decades), a minority (``zoo_fraction``) zoo systems; initial states of random
sign and magnitude (0.1 to 10), a window of ``0.5`` to ``20`` characteristic times (the initial rate of change),
20-500 observed points (``points_range``, log-uniform; uniform or irregular grids) read through at most
``n_input`` of them, as the model reads a user's file. Degenerate trajectories are redrawn: blow-up, a variable
that never moves, one that has settled for the second half of the window, one that turns more often than
every third sample (an oscillation too fast for its sampling), or a trajectory through (or next to) a pole of a
rational term. Every system whose **skeleton** is one of an
evaluation system (:mod:`discovery.training.heldout`) is redrawn too, so the benchmark on unseen systems measures
exactly that.

**Units (``normalization``).** Under ``"scale"`` each sample is stored in the coordinates of
:meth:`grammar.units.Scaling.of_data` of its observed part -- time window mapped to [0, 1], each state divided by
its root mean square -- and its target equations are rewritten in them (:meth:`grammar.units.Scaling.to_normalized`,
exactly); a checkpoint trained so reads users' data the same way and maps its equations back
(:class:`models.prose.inference.ProsePredictor`). ``"none"`` keeps the zoo's units (the first checkpoints).

Generation is seeded per sample (the result does not depend on the number of workers), runs in a process pool,
and is cached to ``cache_dir/<key>/`` (``data.npz`` + ``meta.json``) where the key hashes the configuration
and the tokenizer's vocabulary.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import sympy

if TYPE_CHECKING:  # pragma: no cover
    from grammar.tokenizer import ExpressionTokenizer

MAX_VARS = 5
DISTRIBUTIONS = ("zoo", "broad")
DEFAULT_HOLDOUT = ("rossler", "brusselator")
"""Zoo systems the shipped model never sees in training: the out-of-distribution families of the benchmark."""
DEFAULT_CACHE = Path(".eqdisco_cache") / "prose"


@dataclass(frozen=True)
class DataConfig:
    """What a PROSE dataset holds and how it is drawn.

    Attributes
    ----------
    n_samples:
        Number of samples.
    random_fraction:
        Share of samples from random grammar systems (the rest come from the zoo).
    systems:
        Zoo systems to draw from; ``None`` means every zoo system not in ``holdout``.
    holdout:
        Zoo systems excluded when ``systems`` is ``None``.
    n_input, n_query:
        Observed points per sample and query points (a uniform grid over the whole window).
    input_fraction:
        Share of the window that is observed.
    window_fraction:
        Length of a zoo sample's window as a share of the system's ``t_span`` (the longest window under the
        ``"predictable"`` rule).
    window_rule:
        ``"predictable"`` or ``"span"`` (see the module docstring).
    window_tolerance:
        Largest relative L2 error of the 1%-off true model on the prediction part (``"predictable"`` rule).
    random_window:
        Window length of random systems (input = ``input_fraction`` of it).
    irregular_fraction:
        Share of samples whose observed times are sorted random times instead of a uniform grid.
    term_prob, coef_noise:
        Corruption of the symbol input.
    max_tokens:
        Samples whose target or guess is longer are redrawn.
    max_random_vars:
        Random systems have 1 to this many variables.
    noise:
        Noise level used by :func:`with_noise` when a caller materializes noisy inputs without giving one.
    seed:
        Base seed; sample ``i`` uses ``numpy.random.default_rng([seed, i])``.
    distribution:
        ``"zoo"`` (zoo systems and ``random_fraction`` of random grammar systems on the windows above) or
        ``"broad"`` (law-shaped random systems, see the module docstring).
    normalization:
        ``"none"`` or ``"scale"`` (see the module docstring; :data:`grammar.units.NORMALIZATIONS`).
    zoo_fraction:
        Share of zoo systems in the ``broad`` distribution.
    points_range:
        Observed points of a ``broad`` sample (log-uniform), subsampled to ``n_input`` when more.
    periods_range:
        Length of a ``broad`` window in characteristic times (log-uniform).
    """

    n_samples: int = 20000
    random_fraction: float = 0.25
    systems: tuple[str, ...] | None = None
    holdout: tuple[str, ...] = DEFAULT_HOLDOUT
    n_input: int = 64
    n_query: int = 64
    input_fraction: float = 1.0 / 3.0
    window_fraction: float = 0.25
    window_rule: str = "predictable"
    window_tolerance: float = 0.03
    random_window: float = 6.0
    irregular_fraction: float = 0.5
    term_prob: float = 0.15
    coef_noise: float = 0.1
    max_tokens: int = 128
    max_random_vars: int = 3
    noise: float = 0.02
    seed: int = 0
    distribution: str = "zoo"
    normalization: str = "none"
    zoo_fraction: float = 0.2
    points_range: tuple[int, int] = (20, 500)
    periods_range: tuple[float, float] = (0.5, 20.0)

    def __post_init__(self) -> None:
        if not 0.0 <= self.random_fraction <= 1.0:
            raise ValueError(f"DataConfig.random_fraction must be in [0, 1], got {self.random_fraction}")
        if not 0.0 < self.input_fraction < 1.0:
            raise ValueError(f"DataConfig.input_fraction must be in (0, 1), got {self.input_fraction}")
        if self.n_input < 4 or self.n_query < 1:
            raise ValueError(f"DataConfig: need n_input >= 4 and n_query >= 1, got {self.n_input}, {self.n_query}")
        from discovery.training.windows import WINDOW_RULES

        if self.window_rule not in WINDOW_RULES:
            raise ValueError(f"DataConfig.window_rule must be one of {WINDOW_RULES}, got {self.window_rule!r}")
        if not 1 <= self.max_random_vars <= MAX_VARS:
            raise ValueError(f"DataConfig.max_random_vars must be in 1..{MAX_VARS}, got {self.max_random_vars}")
        from grammar.units import NORMALIZATIONS

        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(f"DataConfig.distribution must be one of {DISTRIBUTIONS}, got {self.distribution!r}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"DataConfig.normalization must be one of {NORMALIZATIONS}, got {self.normalization!r}")
        if not 0.0 <= self.zoo_fraction <= 1.0:
            raise ValueError(f"DataConfig.zoo_fraction must be in [0, 1], got {self.zoo_fraction}")
        if not 2 <= self.points_range[0] <= self.points_range[1]:
            raise ValueError(f"DataConfig.points_range must be (low, high) with 2 <= low <= high, got "
                             f"{self.points_range}")
        if not 0.0 < self.periods_range[0] <= self.periods_range[1]:
            raise ValueError(f"DataConfig.periods_range must be (low, high) with 0 < low <= high, got "
                             f"{self.periods_range}")

    def replace(self, **changes: Any) -> "DataConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["systems"] = None if self.systems is None else list(self.systems)
        d["holdout"] = list(self.holdout)
        d["points_range"] = list(self.points_range)
        d["periods_range"] = list(self.periods_range)
        return d

    def zoo_systems(self) -> list[str]:
        from grammar.zoo import ZOO

        if self.systems is not None:
            unknown = sorted(set(self.systems) - set(ZOO))
            if unknown:
                raise ValueError(f"DataConfig.systems: unknown zoo systems {unknown}; valid: {sorted(ZOO)}")
            return list(self.systems)
        return [name for name in ZOO if name not in self.holdout]


# ---------------------------------------------------------------------------------------------- symbols


def expanded(exprs: Sequence[sympy.Expr]) -> list[sympy.Expr]:
    """Every right-hand side expanded into a sum of terms."""
    return [sympy.expand(sympy.sympify(e)) for e in exprs]


def standard_form(exprs: Sequence[sympy.Expr], tokenizer: "ExpressionTokenizer") -> list[sympy.Expr]:
    """The form targets are written in: expanded into sums of terms, unless expanding makes the token
    sequence more than 25% longer (the double pendulum's fractions), in which case the system is kept as is."""
    exprs = [sympy.sympify(e) for e in exprs]
    flat = expanded(exprs)
    if len(tokenizer.encode_system(flat)) <= 1.25 * len(tokenizer.encode_system(exprs)):
        return flat
    return exprs


def _random_term(rng: np.random.Generator, n_vars: int) -> sympy.Expr:
    xs = [sympy.Symbol(f"x_{i}") for i in range(n_vars)]
    kind = rng.integers(3)
    i, j = rng.integers(n_vars, size=2)
    monomial = xs[i] if kind == 0 else (xs[i] ** 2 if kind == 1 else xs[i] * xs[j])
    coef = float(rng.uniform(0.1, 3.0)) * (1 if rng.random() < 0.5 else -1)
    return sympy.Float(round(coef, 2)) * monomial


def _perturb(term: sympy.Expr, rng: np.random.Generator, coef_noise: float) -> sympy.Expr:
    coef, rest = term.as_coeff_Mul()
    factor = 1.0 + coef_noise * float(rng.standard_normal())
    return sympy.Float(float(coef) * factor, 4) * rest


def corrupt_system(
    exprs: Sequence[sympy.Expr],
    rng: np.random.Generator,
    term_prob: float = 0.15,
    coef_noise: float = 0.1,
) -> list[sympy.Expr]:
    """A corrupted copy of a system, as PROSE's symbol input during training.

    The terms of an equation are the operands of its top-level sum (see :func:`standard_form`). Each term is
    dropped with probability ``term_prob`` (an equation keeps at least one term), one random
    term (``c*x_i``, ``c*x_i**2`` or ``c*x_i*x_j``) is added to each equation with probability ``term_prob``,
    and every term's coefficient is multiplied by ``1 + coef_noise * N(0, 1)``.

    Examples
    --------
    >>> x0, x1 = sympy.symbols("x_0 x_1")
    >>> guess = corrupt_system([x1, -2.0 * x0], np.random.default_rng(0))
    >>> len(guess)
    2
    """
    n_vars = len(exprs)
    out = []
    for expr in exprs:
        terms = [t for t in sympy.Add.make_args(sympy.sympify(expr)) if t != 0] or [sympy.Integer(0)]
        kept = [t for t in terms if rng.random() >= term_prob]
        if not kept:
            kept = [terms[int(rng.integers(len(terms)))]]
        if rng.random() < term_prob:
            kept.append(_random_term(rng, n_vars))
        out.append(sympy.Add(*[_perturb(t, rng, coef_noise) for t in kept]))
    return out


# ---------------------------------------------------------------------------------------------- one sample

_WORKER: dict[str, Any] = {}


def _tokenizer() -> "ExpressionTokenizer":
    if "tokenizer" not in _WORKER:
        from grammar.tokenizer import ExpressionTokenizer

        _WORKER["tokenizer"] = ExpressionTokenizer()
    return _WORKER["tokenizer"]


def _zoo_rhs(name: str):
    """Cached numpy right-hand side ``fn(*x, *params)`` of a zoo system (lambdify once per process)."""
    key = f"zoo:{name}"
    if key not in _WORKER:
        from grammar.zoo import get_system

        system = get_system(name)
        params = sorted(system.params)
        args = [*system.symbols, *sympy.symbols(params)]
        fn = sympy.lambdify(args, list(system.equations), modules="numpy", cse=True)
        _WORKER[key] = (system, params, fn)
    return _WORKER[key]


def _times(rng: np.random.Generator, cfg: DataConfig, window: float) -> tuple[np.ndarray, np.ndarray]:
    t_end = cfg.input_fraction * window
    if rng.random() < cfg.irregular_fraction:
        inner = np.sort(rng.uniform(0.0, t_end, cfg.n_input - 2))
        t_in = np.concatenate([[0.0], inner, [t_end]])
        if np.any(np.diff(t_in) <= 1e-9 * window):  # vanishing gaps: fall back to the grid
            t_in = np.linspace(0.0, t_end, cfg.n_input)
    else:
        t_in = np.linspace(0.0, t_end, cfg.n_input)
    t_query = np.linspace(0.0, window, cfg.n_query)
    return t_in, t_query


def _simulate(
    f, x0: np.ndarray, t_in: np.ndarray, t_query: np.ndarray, method: str = "auto", time_limit: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    from discovery.simulation import integrate

    t_all, inverse = np.unique(np.concatenate([t_in, t_query]), return_inverse=True)
    x = integrate(f, x0, t_all, rtol=1e-6, atol=1e-8, time_limit=time_limit, max_abs=1e5, method=method)  # (N, D)
    return x[inverse[: t_in.size]], x[inverse[t_in.size :]]


def _usable(x_in: np.ndarray, x_query: np.ndarray, limit: float = 1e4) -> bool:
    if not (np.all(np.isfinite(x_in)) and np.all(np.isfinite(x_query))):
        return False
    if np.max(np.abs(x_query)) > limit:
        return False
    return bool(np.all(np.std(x_in, axis=0) > 1e-6 * (1.0 + np.abs(x_in).mean(axis=0))))


def make_sample(index: int, cfg: DataConfig) -> dict[str, Any]:
    """Draw, simulate and tokenize sample ``index`` (deterministic given ``cfg.seed`` and ``index``).

    Returns a dict with arrays ``t_in (T,)``, ``x_in (T, D)``, ``t_query (Q,)``, ``x_query (Q, D)``, token lists
    ``guess`` and ``target``, and ``meta`` (source, system, variables, parameters, x0, equations as strings).
    """
    from discovery.errors import SimulationError
    from grammar.errors import GrammarError

    rng = np.random.default_rng([cfg.seed, index])
    tok = _tokenizer()
    names = cfg.zoo_systems()
    share = 1.0 - cfg.zoo_fraction if cfg.distribution == "broad" else cfg.random_fraction
    from_random = not names or rng.random() < share
    for attempt in range(200 if cfg.distribution == "broad" else 50):
        try:
            if cfg.distribution == "broad":  # zoo or random is decided once per sample, so redraws keep the mix
                sample = _broad_sample(rng, cfg, [] if from_random else names)
            elif from_random:
                sample = _random_sample(rng, cfg)
            else:
                sample = _zoo_sample(names[(index + attempt) % len(names)], rng, cfg)
            if sample is not None and cfg.normalization == "scale":
                sample = _normalized(sample)
        except (SimulationError, GrammarError, ArithmeticError, ValueError, TypeError):
            continue
        if sample is None:
            continue
        try:
            exprs = standard_form(sample.pop("exprs"), tok)
        except GrammarError:
            continue
        guess_exprs = corrupt_system(exprs, rng, cfg.term_prob, cfg.coef_noise)
        try:
            target = tok.encode_system(exprs)
            guess = tok.encode_system(guess_exprs)
        except GrammarError:
            continue
        if len(target) > cfg.max_tokens or len(guess) > cfg.max_tokens:
            continue
        sample["target"] = target
        sample["guess"] = guess
        sample["meta"]["equations"] = [str(e) for e in exprs]
        sample["meta"]["index"] = index
        return sample
    raise RuntimeError(f"PROSE data: could not draw a usable sample for index {index} in {attempt + 1} attempts")


def _zoo_sample(name: str, rng: np.random.Generator, cfg: DataConfig) -> dict[str, Any] | None:
    from discovery.training.windows import zoo_window
    from discovery.simulation import sample_initial_condition, sample_params
    from grammar.tokenizer import canonicalize

    system, pnames, fn = _zoo_rhs(name)
    params = sample_params(system, rng)
    x0 = sample_initial_condition(system, rng)
    pvals = [params[p] for p in pnames]

    def f(t: float, x: np.ndarray) -> np.ndarray:
        return np.array(fn(*x, *pvals), dtype=float)

    window = zoo_window(name, cfg.window_rule, cfg.window_fraction, cfg.input_fraction, cfg.window_tolerance)
    t_in, t_query = _times(rng, cfg, window)
    x_in, x_query = _simulate(f, x0, t_in, t_query)
    if not _usable(x_in, x_query):
        return None
    exprs, _ = canonicalize(system.rhs(params))
    return {
        "t_in": t_in, "x_in": x_in, "t_query": t_query, "x_query": x_query, "exprs": exprs,
        "meta": {"source": "zoo", "system": name, "variables": list(system.variables), "params": params,
                 "x0": x0.tolist(), "window": window, "t_input_end": float(t_in[-1])},
    }


def _random_sample(rng: np.random.Generator, cfg: DataConfig) -> dict[str, Any] | None:
    from grammar.sampler import SamplerConfig, sample_system

    n_vars = int(rng.integers(1, cfg.max_random_vars + 1))
    exprs = sample_system(n_vars, rng, SamplerConfig())
    variables = [f"x_{i}" for i in range(n_vars)]
    fn = sympy.lambdify(sympy.symbols(variables), list(exprs), modules="numpy")  # no cse: faster to build

    def f(t: float, x: np.ndarray) -> np.ndarray:
        return np.array(fn(*x), dtype=float)

    x0 = rng.uniform(-2.0, 2.0, n_vars)
    with np.errstate(all="ignore"):
        rate = np.abs(f(0.0, x0))
    if not np.all(np.isfinite(rate)) or rate.max() > 1e3:  # explodes or is stiff at once: redraw
        return None
    t_in, t_query = _times(rng, cfg, cfg.random_window)
    # Explicit solver with a short time limit: stiff random systems are redrawn instead of solved slowly.
    x_in, x_query = _simulate(f, x0, t_in, t_query, method="RK45", time_limit=0.5)
    if not _usable(x_in, x_query, limit=1e3):
        return None
    return {
        "t_in": t_in, "x_in": x_in, "t_query": t_query, "x_query": x_query, "exprs": list(exprs),
        "meta": {"source": "random", "system": "random", "variables": variables, "params": {},
                 "x0": x0.tolist(), "window": cfg.random_window, "t_input_end": float(t_in[-1])},
    }


def _normalized(sample: dict[str, Any]) -> dict[str, Any]:
    """``sample`` in the coordinates of :meth:`grammar.units.Scaling.of_data` of its observed part: times, states
    and target equations (exactly, :meth:`grammar.units.Scaling.to_normalized`)."""
    from grammar.units import Scaling

    scaling = Scaling.of_data(sample["t_in"], sample["x_in"])
    sample = dict(sample)
    sample["exprs"] = scaling.to_normalized(sample["exprs"])
    sample["t_in"], sample["t_query"] = scaling.times(sample["t_in"]), scaling.times(sample["t_query"])
    sample["x_in"], sample["x_query"] = scaling.states(sample["x_in"]), scaling.states(sample["x_query"])
    sample["meta"] = {**sample["meta"], "t_input_end": float(sample["t_in"][-1]),
                      "x0": scaling.states(np.asarray(sample["meta"]["x0"])[None, :])[0].tolist(),
                      "scaling": {"t0": scaling.t0, "span": scaling.span, "scale": list(scaling.scale)}}
    return sample


def degenerate(t: np.ndarray, x: np.ndarray, x_query: np.ndarray, limit: float) -> str | None:
    """Why a trajectory is useless for training (``None`` when it is fine): ``"blow-up"`` (not finite, or beyond
    ``limit``), ``"flat"`` (a variable that never moves), ``"settled"`` (every variable still for the second half
    of the observed window) or ``"under-resolved"`` (a variable turning more often than every third sample)."""
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(x_query))) or np.max(np.abs(x_query)) > limit:
        return "blow-up"
    spread = np.std(x, axis=0)
    if np.any(spread <= 1e-3 * (np.sqrt(np.mean(x**2, axis=0)) + 1e-12)):
        return "flat"
    late = x[t >= t[0] + 0.5 * (t[-1] - t[0])]
    if late.shape[0] >= 2 and np.all(np.std(late, axis=0) <= 1e-3 * spread):
        return "settled"
    turns = np.sum(np.diff(np.sign(np.diff(x, axis=0)), axis=0) != 0, axis=0)
    if np.any(turns > x.shape[0] / 3):
        return "under-resolved"
    return None


def near_a_pole(exprs: Sequence[sympy.Expr], states: np.ndarray) -> bool:
    """Whether a denominator of ``exprs`` changes sign or comes near zero over ``states (N, D)`` (a trajectory
    through a pole of ``x/(k + x)``, which an explicit solver may step over unnoticed)."""
    denominators = {sympy.denom(term) for e in exprs for term in sympy.Add.make_args(sympy.sympify(e))}
    denominators = [d for d in denominators if d.free_symbols and not d.atoms(sympy.Function)]
    if not denominators:
        return False
    symbols = sympy.symbols([f"x_{i}" for i in range(states.shape[1])])
    fn = sympy.lambdify(symbols, denominators, modules="numpy")
    with np.errstate(all="ignore"):
        values = np.array([np.broadcast_to(v, states.shape[:1]) for v in fn(*states.T)], dtype=float)  # (K, N)
    if not np.all(np.isfinite(values)):
        return True
    low, high = values.min(axis=1), values.max(axis=1)
    return bool(np.any((low <= 0) & (high >= 0)) or
                np.any(np.minimum(np.abs(low), np.abs(high)) < 1e-3 * np.maximum(np.abs(low), np.abs(high))))


def _broad_sample(rng: np.random.Generator, cfg: DataConfig, zoo_names: list[str]) -> dict[str, Any] | None:
    """One sample of the ``broad`` distribution in the system's own units, or ``None`` to draw again: a system of
    one of ``zoo_names`` when given, else a law-shaped random system."""
    from discovery.simulation import sample_initial_condition, sample_params
    from discovery.training.heldout import heldout_skeletons, system_skeleton
    from grammar.sampler import LAW_SAMPLER, sample_system
    from grammar.tokenizer import canonicalize

    if zoo_names:
        name = zoo_names[int(rng.integers(len(zoo_names)))]
        system = _zoo_rhs(name)[0]
        exprs, _ = canonicalize(system.rhs(sample_params(system, rng)))
        x0 = np.asarray(sample_initial_condition(system, rng), dtype=float)
        source = name
    else:
        n_vars = int(rng.integers(1, cfg.max_random_vars + 1))
        exprs = sample_system(n_vars, rng, LAW_SAMPLER)
        sign = np.where(rng.random(n_vars) < 0.7, 1.0, -1.0)
        x0 = sign * 10.0 ** rng.uniform(-1.0, 1.0, n_vars)
        source = "random"
    if system_skeleton(exprs) in heldout_skeletons(tuple(cfg.holdout)):
        return None  # the form of an evaluation system: never in training
    n_vars = len(exprs)
    fn = sympy.lambdify(sympy.symbols([f"x_{i}" for i in range(n_vars)]), list(exprs), modules="numpy")

    def f(t: float, x: np.ndarray) -> np.ndarray:
        return np.array(fn(*x), dtype=float)

    with np.errstate(all="ignore"):
        rate = np.sqrt(np.mean(f(0.0, x0) ** 2)) / (np.sqrt(np.mean(x0**2)) + 1e-12)
    if not np.isfinite(rate) or rate <= 0 or rate > 1e4:
        return None
    periods = float(np.exp(rng.uniform(*np.log(cfg.periods_range))))
    window = periods / rate / cfg.input_fraction  # the observed part covers `periods` characteristic times
    n_points = int(round(np.exp(rng.uniform(*np.log(cfg.points_range)))))
    t_end = cfg.input_fraction * window
    if rng.random() < cfg.irregular_fraction:
        t_in = np.concatenate([[0.0], np.sort(rng.uniform(0.0, t_end, max(n_points - 2, 0))), [t_end]])
        if np.any(np.diff(t_in) <= 1e-9 * window):
            t_in = np.linspace(0.0, t_end, n_points)
    else:
        t_in = np.linspace(0.0, t_end, n_points)
    t_query = np.linspace(0.0, window, cfg.n_query)
    with np.errstate(all="ignore"):
        x_in, x_query = _simulate(f, x0, t_in, t_query, method="RK45", time_limit=0.5)
    if degenerate(t_in, x_in, x_query, limit=1e3 * max(1.0, float(np.max(np.abs(x0))))) is not None:
        return None
    if near_a_pole(exprs, np.concatenate([x_in, x_query])):
        return None
    if t_in.size > cfg.n_input:  # read through at most n_input points, as the model reads a user's file
        keep = np.unique(np.round(np.linspace(0, t_in.size - 1, cfg.n_input)).astype(int))
        t_in, x_in = t_in[keep], x_in[keep]
    return {
        "t_in": t_in, "x_in": x_in, "t_query": t_query, "x_query": x_query, "exprs": list(exprs),
        "meta": {"source": "zoo" if source != "random" else "random", "system": source,
                 "variables": [f"x_{i}" for i in range(n_vars)], "params": {}, "x0": x0.tolist(),
                 "window": window, "t_input_end": float(t_in[-1]), "observed_points": n_points},
    }


# ---------------------------------------------------------------------------------------------- datasets


def _chunk(args: tuple[list[int], DataConfig]) -> list[dict[str, Any]]:
    indices, cfg = args
    return [make_sample(i, cfg) for i in indices]


def collate(samples: Sequence[dict[str, Any]], pad_id: int, max_dim: int = MAX_VARS) -> dict[str, np.ndarray]:
    """Stack samples into padded numpy arrays (the keys of :mod:`models.prose.model`)."""
    n = len(samples)
    T = max(s["t_in"].size for s in samples)
    Q = max(s["t_query"].size for s in samples)
    S = max(len(s["guess"]) for s in samples)
    L = max(len(s["target"]) for s in samples)
    out = {
        "t_in": np.zeros((n, T), np.float32),
        "x_in": np.zeros((n, T, max_dim), np.float32),
        "in_pad": np.ones((n, T), bool),
        "dim_mask": np.zeros((n, max_dim), bool),
        "t_query": np.zeros((n, Q), np.float32),
        "x_query": np.zeros((n, Q, max_dim), np.float32),
        "query_pad": np.ones((n, Q), bool),
        "guess": np.full((n, S), pad_id, np.int64),
        "target": np.full((n, L), pad_id, np.int64),
    }
    for i, s in enumerate(samples):
        t, q, d = s["t_in"].size, s["t_query"].size, s["x_in"].shape[1]
        out["t_in"][i, :t] = s["t_in"]
        out["x_in"][i, :t, :d] = s["x_in"]
        out["in_pad"][i, :t] = False
        out["dim_mask"][i, :d] = True
        out["t_query"][i, :q] = s["t_query"]
        out["x_query"][i, :q, :d] = s["x_query"]
        out["query_pad"][i, :q] = False
        out["guess"][i, : len(s["guess"])] = s["guess"]
        out["target"][i, : len(s["target"])] = s["target"]
    return out


def cache_key(cfg: DataConfig, tokenizer: "ExpressionTokenizer") -> str:
    vocab = sorted(tokenizer.vocab.items())
    payload = json.dumps({"config": cfg.to_dict(), "vocab": vocab, "format": 1}, sort_keys=True)
    return hashlib.sha1(payload.encode()).hexdigest()[:16]


def generate_dataset(
    cfg: DataConfig,
    workers: int | None = None,
    cache_dir: str | Path | None = DEFAULT_CACHE,
    progress: bool = False,
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Generate (or load from the cache) ``cfg.n_samples`` samples.

    Parameters
    ----------
    cfg:
        What to draw.
    workers:
        Processes of the pool (``None``: ``os.cpu_count()``, capped at 8; ``1``: no pool).
    cache_dir:
        Folder of the cache (``None`` disables it). The dataset goes to ``cache_dir/<key>/``.
    progress:
        Show a tqdm bar.

    Returns
    -------
    arrays, meta
        Padded arrays (see :func:`collate`) and one metadata dict per sample.

    Examples
    --------
    >>> arrays, meta = generate_dataset(DataConfig(n_samples=8), workers=1, cache_dir=None)  # doctest: +SKIP
    >>> arrays["x_in"].shape  # doctest: +SKIP
    (8, 64, 5)
    """
    tok = _tokenizer()
    if cfg.distribution == "zoo" and 0.0 < cfg.random_fraction < 1.0 and cfg.zoo_systems():
        # Two independently cached parts: zoo samples and random-system samples.
        n_random = int(round(cfg.random_fraction * cfg.n_samples))
        parts = [
            generate_dataset(cfg.replace(n_samples=cfg.n_samples - n_random, random_fraction=0.0), workers,
                             cache_dir, progress),
            generate_dataset(cfg.replace(n_samples=n_random, random_fraction=1.0, seed=cfg.seed + 7_777), workers,
                             cache_dir, progress),
        ]
        return concat_datasets(parts, tok.pad_id)
    folder = None
    if cache_dir is not None:
        folder = Path(cache_dir) / cache_key(cfg, tok)
        if (folder / "data.npz").is_file() and (folder / "meta.json").is_file():
            with np.load(folder / "data.npz") as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads((folder / "meta.json").read_text())["samples"]
            return arrays, meta
    if cfg.distribution == "broad":
        from discovery.training.heldout import heldout_skeletons

        heldout_skeletons(tuple(cfg.holdout))  # computed once here, inherited by the forked workers
    workers = min(os.cpu_count() or 1, 8) if workers is None else max(int(workers), 1)
    chunk = max(1, min(256, math.ceil(cfg.n_samples / (4 * workers))))
    jobs = [(list(range(s, min(s + chunk, cfg.n_samples))), cfg) for s in range(0, cfg.n_samples, chunk)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.n_samples, desc="prose data", mininterval=5.0)
    samples: list[dict[str, Any]] = []
    if workers == 1:
        for job in jobs:
            samples.extend(_chunk(job))
            if bar is not None:
                bar.update(len(job[0]))
    else:
        import multiprocessing as mp

        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        with ctx.Pool(workers) as pool:
            for part in pool.imap(_chunk, jobs):
                samples.extend(part)
                if bar is not None:
                    bar.update(len(part))
    if bar is not None:
        bar.close()
    arrays = collate(samples, tok.pad_id)
    meta = [s["meta"] for s in samples]
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "data.tmp.npz"
        np.savez_compressed(tmp, **arrays)
        (folder / "meta.json").write_text(json.dumps({"config": cfg.to_dict(), "samples": meta}, default=float))
        tmp.replace(folder / "data.npz")
    return arrays, meta


def concat_datasets(
    parts: Sequence[tuple[dict[str, np.ndarray], list[dict[str, Any]]]], pad_id: int
) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Concatenate datasets along the sample axis, padding the sequence axes to the longest part."""
    parts = [p for p in parts if len(p[1])]
    if not parts:
        raise ValueError("concat_datasets: expected at least one non-empty dataset")
    fill = {"in_pad": True, "query_pad": True, "guess": pad_id, "target": pad_id}
    out = {}
    for key in parts[0][0]:
        arrays = [p[0][key] for p in parts]
        width = max(a.shape[1] for a in arrays)
        padded = []
        for a in arrays:
            if a.shape[1] < width:
                pad = [(0, 0)] * a.ndim
                pad[1] = (0, width - a.shape[1])
                a = np.pad(a, pad, constant_values=fill.get(key, 0))
            padded.append(a)
        out[key] = np.concatenate(padded, axis=0)
    meta = [m for p in parts for m in p[1]]
    return out, meta


def with_noise(arrays: dict[str, np.ndarray], noise: float, seed: int = 0) -> dict[str, np.ndarray]:
    """A copy of ``arrays`` whose observed states carry Gaussian noise ``noise * std(x_v)`` (fixed seed).

    The standard deviation is taken per sample and variable over the valid observed points.
    """
    out = dict(arrays)
    if noise == 0:
        return out
    rng = np.random.default_rng(seed)
    x = arrays["x_in"].astype(np.float64)  # (N, T, D)
    valid = (~arrays["in_pad"])[:, :, None]  # (N, T, 1)
    n = valid.sum(1, keepdims=True).clip(1)
    mean = (x * valid).sum(1, keepdims=True) / n
    std = np.sqrt((((x - mean) ** 2) * valid).sum(1, keepdims=True) / n)  # (N, 1, D)
    noisy = x + noise * std * rng.standard_normal(x.shape) * valid * arrays["dim_mask"][:, None, :]
    out["x_in"] = noisy.astype(np.float32)
    return out
