"""Rational right-hand sides for the ``sindy`` method, by implicit sparse regression (the SINDy-PI idea).

A law such as ``dx/dt = x*(1 - x/3) - x*y/(1 + x)`` is no sparse sum of monomials, but multiplied by its
denominator it is one: ``Q(x) dx/dt = P(x)`` with ``Q = 1 + x`` and ``P = x + 2/3 x**2 - 1/3 x**3 - x*y``. With
``Q``'s constant fixed to 1 this is the *linear* sparse regression

    dx/dt = P(x) - dx/dt * (q_1 m_1(x) + q_2 m_2(x) + ...),

of the derivative on the monomials of ``P`` and on the monomials ``m_j`` of ``Q`` times the derivative, which the
sparsity path of the ``sindy`` method solves like any other (:func:`~discovery.methods.sindy_path.sparsity_path`:
columns scaled to unit RMS, STLSQ over a threshold path, stepwise supports, block cross-validation). Every
support with a ``Q`` term gives a denominator; the best few by :func:`~discovery.methods.sindy_path.support_score`
that stay positive over the data are kept (:func:`implicit_denominators`).

``P/Q`` itself is not the form a scientist writes: its terms are not the law's (``P/Q`` above expands into four
fractions). So each denominator becomes a second, *explicit* library: the monomials up to the ``sindy`` degree and
the low-degree monomials over ``Q`` (``1/Q, x/Q, y/Q, x*y/Q, ...``). Its sparsity path finds the sparsest mix,
``x - 0.333*x**2 - x*y/(1 + 0.98*x)``, scored on the same rows and by the same rule as the polynomial libraries
(:func:`rational_libraries`). The explicit step also corrects what the implicit one gets wrong on noisy data, where
the derivative on the right-hand side biases the fit. The constants inside ``Q`` stay plain numbers, so the
pipeline's refinement fits them against the trajectories with all the others.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.sindy_library import Library
from discovery.methods.sindy_path import PathPoint, sparsity_path, support_score
from discovery.methods.sindy_terms import expression_library, monomials

__all__ = ["RationalConfig", "implicit_denominators", "implicit_path", "rational_libraries", "state_denominators"]


@dataclass(frozen=True)
class RationalConfig:
    """Options of the rational generator.

    Attributes
    ----------
    numerator_degree:
        Highest degree of the monomials of ``P`` in the implicit regression.
    denominator_degree:
        Highest degree of the monomials of ``Q`` (whose constant is 1).
    term_degree:
        Highest degree of the numerators ``m`` of the terms ``m/Q`` of the explicit library.
    max_denominators:
        Most denominators kept per variable (each costs one explicit sparsity path).
    max_denominator_terms:
        Most non-constant terms of a denominator (``1 + a*x + b*y`` has two). On one trajectory, which lies on a
        curve, long denominators fit anything; the laws of the textbooks have one or two.
    min_denominator:
        A denominator must stay above this over the data: a ``Q`` that crosses zero puts a pole inside it.
    margin:
        A denominator is kept only when its implicit support scores at least this much better than the best
        support without one (``Q = 1``): a polynomial law is left alone.
    digits:
        Significant digits of the constants of ``Q``.
    state_denominators:
        Also offer the denominators without a constant made of positive states (:func:`state_denominators`), for
        the variables that the whole polynomial library does not fit to rounding (1e-3 of the error floor; a
        cubic fits the standard incidence of an SIS model's one trajectory to 4e-5, so a higher bar would hide it).
    """

    numerator_degree: int = 3
    denominator_degree: int = 2
    term_degree: int = 2
    max_denominators: int = 2
    max_denominator_terms: int = 2
    min_denominator: float = 0.05
    margin: float = 0.0
    digits: int = 4
    state_denominators: bool = True

    def __post_init__(self) -> None:
        if min(self.numerator_degree, self.denominator_degree, self.max_denominators) < 1 or self.term_degree < 0:
            raise DiscoveryError(
                "rational: expected numerator_degree, denominator_degree, max_denominators >= 1 and "
                f"term_degree >= 0, found {self.numerator_degree}, {self.denominator_degree}, "
                f"{self.max_denominators}, {self.term_degree}"
            )


def _evaluate(features: Sequence[sympy.Expr], syms: Sequence[sympy.Symbol], x: np.ndarray) -> np.ndarray:
    f = sympy.lambdify(list(syms), list(features), modules="numpy", dummify=True)
    return np.stack([np.broadcast_to(np.asarray(c, dtype=float), (len(x),)) for c in f(*x.T)], axis=1)


def implicit_path(
    theta_p: np.ndarray,
    theta_q: np.ndarray,
    dx: np.ndarray,
    thresholds: Sequence[float],
    *,
    alpha: float = 1e-3,
    n_blocks: int = 5,
) -> list[PathPoint]:
    """Sparse supports of ``dx = theta_p @ p - dx * (theta_q @ q)``, i.e. of ``(1 + theta_q @ q) dx = theta_p @ p``.

    Parameters
    ----------
    theta_p:
        Terms of the numerator, shape ``(N, P)``.
    theta_q:
        Non-constant terms of the denominator, shape ``(N, M)``.
    dx:
        The derivative of one variable, shape ``(N,)``.
    thresholds, alpha, n_blocks:
        As in :func:`~discovery.methods.sindy_path.sparsity_path`.

    Returns
    -------
    list of PathPoint
        Supports over the ``P + M`` columns ``[theta_p, -dx * theta_q]``; ``coef[:P]`` is ``p`` and ``coef[P:]``
        is ``q``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0.1, 3.0, 300)
    >>> dx = 2.0 * x / (1.0 + 0.5 * x)  # (1 + 0.5 x) dx = 2 x
    >>> point = min(implicit_path(np.stack([np.ones_like(x), x, x**2], 1), x[:, None], dx, [0.01]),
    ...             key=lambda p: (p.rel_err > 1e-6, p.n_terms))
    >>> point.support, np.round(point.coef[list(point.support)], 3).tolist()
    ((1, 3), [2.0, 0.5])
    """
    dx = np.asarray(dx, dtype=float).reshape(-1)
    design = np.hstack([theta_p, -dx[:, None] * theta_q])  # (N, P + M)
    return sparsity_path(design, dx[:, None], thresholds, alpha=alpha, n_blocks=n_blocks)[0]


def implicit_denominators(
    x: np.ndarray,
    dx: np.ndarray,
    names: Sequence[str],
    config: RationalConfig = RationalConfig(),
    *,
    thresholds: Sequence[float] = tuple(np.geomspace(2e-3, 0.5, 16)),
    alpha: float = 1e-3,
    n_blocks: int = 5,
    penalty: float = 0.15,
    floor: float = 3e-3,
) -> list[sympy.Expr]:
    """Denominators ``Q = 1 + ...`` of one variable's derivative ``dx`` (N,) on states ``x`` (N, D).

    The supports of :func:`implicit_path` with at least one ``Q`` term that score (by
    :func:`~discovery.methods.sindy_path.support_score`) better than every support without one, by
    ``config.margin``, are ranked; the best ``config.max_denominators`` with distinct ``Q`` terms that stay above
    ``config.min_denominator`` over the data are returned, constants rounded to ``config.digits`` significant
    digits.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0.1, 3.0, size=(400, 2))
    >>> dx = x[:, 0] * x[:, 1] / (1.0 + 2.0 * x[:, 0]) - 0.3 * x[:, 1]
    >>> implicit_denominators(x, dx, ["x", "y"])[0]
    2.0*x + 1
    """
    syms = [sympy.Symbol(n) for n in names]
    p_feats = monomials(syms, config.numerator_degree)
    q_feats = monomials(syms, config.denominator_degree, constant=False)
    theta_p, theta_q = _evaluate(p_feats, syms, x), _evaluate(q_feats, syms, x)  # (N, P), (N, M)
    n_p = len(p_feats)
    points = implicit_path(theta_p, theta_q, dx, thresholds, alpha=alpha, n_blocks=n_blocks)
    plain = min((support_score(p, penalty, floor) for p in points if max(p.support, default=0) < n_p),
                default=np.inf)
    ranked = sorted((p for p in points if any(j >= n_p for j in p.support)
                     and support_score(p, penalty, floor) < plain - config.margin),
                    key=lambda p: support_score(p, penalty, floor))
    out: list[sympy.Expr] = []
    seen: set[tuple[int, ...]] = set()
    for point in ranked:
        cols = tuple(j - n_p for j in point.support if j >= n_p)
        q = point.coef[[n_p + j for j in cols]]
        if cols in seen or len(cols) > config.max_denominator_terms or not np.all(np.isfinite(q)):
            continue
        values = 1.0 + theta_q[:, list(cols)] @ q  # (N,)
        if float(np.min(values)) < config.min_denominator:
            continue
        seen.add(cols)
        out.append(sympy.Integer(1) + sympy.Add(*(
            sympy.Float(float(f"{c:.{config.digits}g}")) * q_feats[j] for j, c in zip(cols, q))))
        if len(out) >= config.max_denominators:
            break
    return out


def _numerator_fits(m: sympy.Expr, q: sympy.Expr) -> bool:
    """Whether ``m/q`` belongs in the explicit library of denominator ``q``.

    Not when ``q`` divides ``m`` (``x*y/x`` is a polynomial already in the library). And for a sum of states, not
    when ``m`` holds exactly one of them: ``S**2/(S + I) + S*I/(S + I) = S``, so such terms would give every law
    several exact supports of the same size (``S*I/(S + I) - 0.6*I`` as ``0.4*I - I**2/(S + I)``); the form
    with both states in the numerator (mass action over the total) or none is the one textbooks write.
    """
    if sympy.fraction(sympy.cancel(m / q))[1] == 1:
        return False
    parts = sympy.Add.make_args(q)
    if q.as_coeff_Add()[0] == 0 and len(parts) > 1 and all(p.is_Symbol for p in parts):
        return sum(1 for p in parts if m.has(p)) != 1
    return True


def state_denominators(x: np.ndarray, names: Sequence[str], min_share: float = 0.02) -> list[sympy.Expr]:
    """Denominators with no constant term, which the implicit search (``Q``'s constant fixed to 1) cannot write:
    each state that stays positive (May's predator ``0.1*P*(1 - P/N)``), and the sum of the positive states, two at a
    time and all together (standard incidence ``S*I/(S + I)``, ``S*I/N`` with ``N = S + I + R``).

    A state is positive when its smallest value is at least ``min_share`` of its largest: a denominator that comes
    near zero over the data would put a pole beside it.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.column_stack([np.linspace(1.0, 2.0, 5), np.linspace(0.5, 1.0, 5), np.linspace(-1.0, 1.0, 5)])
    >>> state_denominators(x, ["S", "I", "z"])
    [S, I, I + S]
    """
    syms = [sympy.Symbol(n) for n in names]
    lo, hi = np.min(x[:, : len(names)], axis=0), np.max(x[:, : len(names)], axis=0)
    positive = [syms[i] for i in range(len(names)) if hi[i] > 0 and lo[i] >= min_share * hi[i]]
    out: list[sympy.Expr] = list(positive)
    out += [a + b for a, b in itertools.combinations(positive, 2)]
    if len(positive) > 2:
        out.append(sympy.Add(*positive))
    return out


def rational_libraries(
    x: np.ndarray,
    dx: np.ndarray,
    names: Sequence[str],
    poly_theta: np.ndarray,
    poly_features: Sequence[sympy.Expr],
    config: RationalConfig = RationalConfig(),
    *,
    other_cost: float = 1.5,
    targets: Sequence[int] | None = None,
    **path_options: float | Sequence[float],
) -> list[tuple[Library, np.ndarray, int]]:
    """Explicit libraries ``[polynomials, m/Q]`` of the variables whose law is not polynomial.

    Parameters
    ----------
    x, dx:
        States and derivatives, shape ``(N, D)`` each (the rows the ``sindy`` search regresses on).
    names:
        The ``D`` variable names.
    poly_theta, poly_features:
        The polynomial library's matrix ``(N, P)`` and its terms; every explicit library starts with them.
    config:
        Options (:class:`RationalConfig`).
    other_cost:
        Model-selection cost of a rational term whose denominator has one non-constant term (a monomial costs 1);
        each further term of the denominator adds 1.
    targets:
        The variables to search (default: all).
    **path_options:
        ``thresholds``, ``alpha``, ``n_blocks``, ``penalty``, ``floor`` of the implicit search.

    Returns
    -------
    list of (Library, ndarray, int)
        For each denominator found, its library (named ``"rational:<var>:<Q>"``), the library matrix ``(N, P')``
        and the index of the variable it is for.
    """
    syms = [sympy.Symbol(n) for n in names]
    numerators = monomials(syms, config.term_degree)
    out = []
    by_states = state_denominators(x, names[: dx.shape[1]]) if config.state_denominators else []
    for d, name in enumerate(names[: dx.shape[1]]):  # further columns of x are inputs: no equation of their own
        if targets is not None and d not in targets:
            continue
        found = implicit_denominators(x, dx[:, d], names, config, **path_options)
        # the states' denominators unless the whole polynomial library fits the variable to rounding
        coef, *_ = np.linalg.lstsq(poly_theta, dx[:, d], rcond=None)
        rest = float(np.linalg.norm(poly_theta @ coef - dx[:, d]) / max(np.linalg.norm(dx[:, d]), 1e-300))
        floor = float(path_options.get("floor", 3e-3))  # type: ignore[arg-type]
        for q in found + (by_states if rest > 1e-3 * floor else []):
            # a numerator that the denominator divides (x*y over x) is a polynomial already in the library
            terms = [m / q for m in numerators if _numerator_fits(m, q)]
            features = list(poly_features) + terms
            lib = expression_library(f"rational:{name}:{q}", features, names, other_cost)
            # each non-constant term of an implicit Q beyond the first is one more constant to fit; Q made of
            # states has none
            n_q = len(sympy.Add.make_args(q)) - 1 if q.as_coeff_Add()[0] == 1 else 1
            lib.costs[len(poly_features):] = other_cost + (n_q - 1)
            theta = np.hstack([poly_theta, _evaluate(features[len(poly_features):], syms, x)])
            if np.all(np.isfinite(theta)):
                out.append((lib, theta, d))
    return out

