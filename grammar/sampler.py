"""Random ODE-like systems for training PROSE and for property tests.

Each right-hand side is a sum of a few terms over the canonical variables ``x_0 .. x_{n-1}``; most terms are
monomials with a coefficient (``-2.5*x_0*x_1``), some carry a unary function of a small polynomial
(``0.3*sin(1.2*x_1)``), some are saturating rational terms (``x_0/(1 + 0.5*x_1**2)``), as in the models of
population dynamics, chemistry and mechanics. Every sampled expression lies inside the grammar: it is built from
the table's operators, its floats are rounded to the configured precision, so it survives
``from_prefix(to_prefix(e)) == e`` exactly (the tests check this on thousands of draws).

Functions that need a positive argument (found by probing each operator's numpy callable at -1 and 0, so
``log``, ``sqrt`` and ``inv``) get one: ``c + d*x_i**2`` with ``c, d > 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy

from grammar.errors import GrammarError
from grammar.numbers import DEFAULT_PRECISION, SMALL_INT_MAX, check_precision, round_float
from grammar.operators import OPERATORS, UNARY_OPERATORS
from grammar.prefix import to_prefix
from grammar.tokenizer import canonical_symbols

_MAX_ATTEMPTS = 200


@dataclass(frozen=True)
class SamplerConfig:
    """What :func:`sample_system` draws.

    Attributes
    ----------
    min_terms, max_terms:
        Terms per equation (uniform), before sympy merges equal monomials.
    max_degree:
        Total degree cap of a monomial; degree ``d`` is drawn with weight ``1/d``.
    unary_probability:
        Chance that a term is ``c * f(inner)`` for a unary function ``f``.
    unary_operators:
        ``(operator token, weight)`` pairs for ``f``; tokens must be unary operators of the table.
    max_depth:
        Most unary functions nested inside one another (0: none at all).
    argument_degree:
        Largest degree of the monomial inside a unary function (1: linear arguments ``a*x_i + b``).
    rational_probability:
        Chance that a term is a saturating ``c * m / (1 + d*x_i**2)``.
    saturating_probability:
        Chance that a term is a law-like rational term: Michaelis-Menten ``c*x_i/(k + x_i)`` (possibly times
        another variable, ``c*x_j*x_i/(k + x_i)``) or repression ``c/(1 + d*x_i**2)``.
    constant_probability:
        Chance that an equation gets a constant term.
    integer_probability:
        Chance that a coefficient is a small integer (``1 .. max_integer`` with a random sign).
    max_integer:
        Largest integer coefficient magnitude.
    coefficient_range:
        ``(low, high)`` magnitudes of float coefficients, drawn log-uniformly.
    negative_probability:
        Chance that a coefficient is negative.
    precision:
        Significant digits of float coefficients (and of the prefix encoding they must survive).
    max_size:
        Most prefix tokens per equation; longer equations are drawn again.

    Examples
    --------
    >>> SamplerConfig(max_terms=2, unary_probability=0.0).max_terms
    2
    """

    min_terms: int = 1
    max_terms: int = 4
    max_degree: int = 3
    unary_probability: float = 0.15
    unary_operators: tuple[tuple[str, float], ...] = (
        ("sin", 1.0), ("cos", 1.0), ("exp", 0.5), ("tanh", 0.5), ("abs", 0.2), ("log", 0.2), ("sqrt", 0.2),
    )
    max_depth: int = 1
    argument_degree: int = 2
    rational_probability: float = 0.05
    saturating_probability: float = 0.0
    constant_probability: float = 0.2
    integer_probability: float = 0.25
    max_integer: int = 5
    coefficient_range: tuple[float, float] = (0.1, 10.0)
    negative_probability: float = 0.5
    precision: int = DEFAULT_PRECISION
    max_size: int = 60

    def __post_init__(self) -> None:
        def fail(what: str, found: object) -> None:
            raise GrammarError(f"SamplerConfig: expected {what}, found {found!r}")

        if not 1 <= self.min_terms <= self.max_terms:
            fail("1 <= min_terms <= max_terms", (self.min_terms, self.max_terms))
        if self.max_degree < 1:
            fail("max_degree >= 1", self.max_degree)
        if self.max_depth < 0:
            fail("max_depth >= 0", self.max_depth)
        if self.argument_degree < 1:
            fail("argument_degree >= 1", self.argument_degree)
        for name in ("unary_probability", "rational_probability", "saturating_probability", "constant_probability",
                     "integer_probability", "negative_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                fail(f"{name} between 0 and 1", getattr(self, name))
        for name, weight in self.unary_operators:
            if name not in UNARY_OPERATORS:
                fail(f"unary operators among {', '.join(UNARY_OPERATORS)}", name)
            if weight < 0:
                fail(f"a non-negative weight for {name}", weight)
        if self.unary_probability > 0 and self.max_depth > 0 and not sum(w for _, w in self.unary_operators) > 0:
            fail("at least one unary operator with a positive weight", self.unary_operators)
        if not 1 <= self.max_integer <= SMALL_INT_MAX:
            fail(f"max_integer in 1..{SMALL_INT_MAX}", self.max_integer)
        low, high = self.coefficient_range
        if not 0 < low <= high:
            fail("coefficient_range (low, high) with 0 < low <= high", self.coefficient_range)
        if self.max_size < 1:
            fail("max_size >= 1", self.max_size)
        check_precision(self.precision)


LAW_SAMPLER = SamplerConfig(
    min_terms=1,
    max_terms=6,
    max_degree=3,
    unary_probability=0.12,
    unary_operators=(("sin", 1.0), ("cos", 1.0), ("exp", 0.7), ("log", 0.3)),
    max_depth=1,
    argument_degree=1,
    rational_probability=0.0,
    saturating_probability=0.12,
    constant_probability=0.2,
    integer_probability=0.15,
    coefficient_range=(0.01, 100.0),
    max_size=80,
)
"""Systems shaped like real laws (PROSE's ``broad`` training distribution): 1 to 6 terms per equation, monomials up
to degree 3, Michaelis-Menten and repression terms, ``sin``/``cos``/``exp`` of linear arguments and ``log`` of a
positive quadratic, constants spanning four decades."""


@lru_cache(maxsize=None)
def _needs_positive_argument(name: str) -> bool:
    """Whether operator ``name`` is undefined or infinite at -1 or 0 (probing its numpy callable)."""
    with np.errstate(all="ignore"):
        values = OPERATORS[name].numpy(np.array([-1.0, 0.0]))
    return not bool(np.all(np.isfinite(values)))


def _cdf(weights: list[float]) -> np.ndarray:
    cumulative = np.cumsum(np.asarray(weights, dtype=float))
    return cumulative / cumulative[-1] if len(cumulative) else cumulative


class _Draw:
    """One sampling run: the config, the generator and the variables."""

    def __init__(self, n_vars: int, rng: np.random.Generator, config: SamplerConfig) -> None:
        self.variables = canonical_symbols(n_vars)
        self.rng = rng
        self.config = config
        self.unary_names = [n for n, w in config.unary_operators if w > 0]
        self.unary_cdf = _cdf([w for _, w in config.unary_operators if w > 0])
        self.degree_cdf = _cdf([1.0 / d for d in range(1, config.max_degree + 1)])

    def chance(self, probability: float) -> bool:
        return bool(self.rng.random() < probability)

    def pick(self, cdf: np.ndarray) -> int:
        """An index drawn with the probabilities whose cumulative sums are ``cdf``."""
        return min(int(np.searchsorted(cdf, self.rng.random(), side="right")), len(cdf) - 1)

    def float_coefficient(self, low: float, high: float) -> sympy.Float:
        magnitude = float(np.exp(self.rng.uniform(np.log(low), np.log(high))))
        return sympy.Float(round_float(magnitude, self.config.precision))

    def coefficient(self) -> sympy.Number:
        cfg = self.config
        if self.chance(cfg.integer_probability):
            value: sympy.Number = sympy.Integer(int(self.rng.integers(1, cfg.max_integer + 1)))
        else:
            value = self.float_coefficient(*cfg.coefficient_range)
        return -value if self.chance(cfg.negative_probability) else value

    def monomial(self, max_degree: int) -> sympy.Expr:
        degree = 1 + self.pick(self.degree_cdf[:max_degree] / self.degree_cdf[max_degree - 1])
        picks = self.rng.integers(0, len(self.variables), size=degree)
        return sympy.Mul(*(self.variables[int(i)] for i in picks))

    def positive_argument(self) -> sympy.Expr:
        """``c + d*x_i**2`` with ``c, d > 0``: positive everywhere."""
        x = self.variables[int(self.rng.integers(0, len(self.variables)))]
        return self.float_coefficient(0.5, 2.0) + self.float_coefficient(0.1, 2.0) * x**2

    def unary_term(self, depth: int) -> sympy.Expr:
        name = self.unary_names[self.pick(self.unary_cdf)]
        if _needs_positive_argument(name):
            inner = self.positive_argument()
        elif depth + 1 < self.config.max_depth and self.chance(self.config.unary_probability):
            inner = self.coefficient() * self.unary_term(depth + 1)
        else:
            inner = self.coefficient() * self.monomial(min(self.config.argument_degree, self.config.max_degree))
            offset = self.coefficient() if self.chance(0.3) else None
            if offset is not None and name != "exp":  # sympy takes exp's offset out as a factor (e**b up to 1e43)
                inner = inner + offset
        return OPERATORS[name].sympy(inner)

    def saturating_term(self) -> sympy.Expr:
        """``c*x_i/(k + x_i)``, ``c*x_j*x_i/(k + x_i)`` or ``c/(1 + d*x_i**2)`` (``k, d > 0``)."""
        n = len(self.variables)
        x = self.variables[int(self.rng.integers(0, n))]
        kind = int(self.rng.integers(0, 3))
        if kind == 2:
            return self.coefficient() / (1 + self.float_coefficient(*self.config.coefficient_range) * x**2)
        saturation = x / (self.float_coefficient(*self.config.coefficient_range) + x)
        if kind == 1:
            saturation = self.variables[int(self.rng.integers(0, n))] * saturation
        return self.coefficient() * saturation

    def term(self) -> sympy.Expr:
        cfg = self.config
        if cfg.max_depth > 0 and self.unary_names and self.chance(cfg.unary_probability):
            return self.coefficient() * self.unary_term(0)
        if self.chance(cfg.saturating_probability):
            return self.saturating_term()
        if self.chance(cfg.rational_probability):
            return self.coefficient() * self.monomial(cfg.max_degree) / self.positive_argument()
        return self.coefficient() * self.monomial(cfg.max_degree)

    def equation(self) -> sympy.Expr:
        cfg = self.config
        n_terms = int(self.rng.integers(cfg.min_terms, cfg.max_terms + 1))
        terms = [self.term() for _ in range(n_terms)]
        if self.chance(cfg.constant_probability):
            terms.append(self.coefficient())
        return sympy.Add(*terms)


def _round_floats(expr: sympy.Expr, precision: int) -> sympy.Expr:
    """Round every float of ``expr`` to ``precision`` digits until sympy's re-evaluation leaves them rounded."""
    for _ in range(5):
        floats = {f: sympy.Float(round_float(f, precision)) for f in expr.atoms(sympy.Float)}
        if all(f == r for f, r in floats.items()):
            return expr
        expr = expr.xreplace(floats)
    return expr


def _acceptable(expr: sympy.Expr, config: SamplerConfig) -> bool:
    """Depends on a variable, is finite and real, and fits in ``max_size`` tokens. (That it round-trips follows
    from its construction, rounded floats and grammar operators only; the tests check it on thousands.)"""
    if not expr.free_symbols or expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
        return False
    return len(to_prefix(expr, config.precision)) <= config.max_size


def sample_system(n_vars: int, rng: np.random.Generator, config: SamplerConfig = SamplerConfig()) -> list[sympy.Expr]:
    """Draw a random ODE-like system ``d x_i/dt = f_i(x_0, ..., x_{n-1})``.

    Parameters
    ----------
    n_vars:
        Number of state variables (and equations).
    rng:
        The random generator (``numpy.random.default_rng(seed)``), so that draws are repeatable.
    config:
        What to draw.

    Returns
    -------
    list of sympy.Expr
        ``n_vars`` expressions in ``x_0 .. x_{n_vars-1}``, each depending on at least one variable and
        round-tripping exactly through :func:`grammar.prefix.to_prefix` / :func:`grammar.prefix.from_prefix`.

    Examples
    --------
    >>> import numpy as np
    >>> system = sample_system(2, np.random.default_rng(0))
    >>> len(system)
    2
    """
    if isinstance(n_vars, bool) or not isinstance(n_vars, (int, np.integer)) or n_vars < 1:
        raise GrammarError(f"n_vars must be a positive integer, found {n_vars!r}")
    if not isinstance(rng, np.random.Generator):
        raise GrammarError(f"rng must be a numpy.random.Generator (numpy.random.default_rng(seed)), "
                           f"found {type(rng).__name__}")
    draw = _Draw(int(n_vars), rng, config)
    system = []
    for k in range(int(n_vars)):
        for _ in range(_MAX_ATTEMPTS):
            expr = _round_floats(draw.equation(), config.precision)
            if _acceptable(expr, config):
                system.append(expr)
                break
        else:
            raise GrammarError(f"could not draw equation {k} within max_size={config.max_size} tokens in "
                               f"{_MAX_ATTEMPTS} attempts; raise max_size or lower max_terms/max_degree")
    return system
