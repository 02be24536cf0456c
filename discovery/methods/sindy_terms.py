"""Libraries of the ``sindy`` method made of arbitrary sympy terms (rational and saturating generators).

The pysindy libraries of :mod:`discovery.methods.sindy_library` are built once for all variables. The rational
(:mod:`discovery.methods.rational`) and saturating (:mod:`discovery.methods.saturating`) generators instead make a
small library per variable, out of terms with fitted constants inside them (``x*y/(1 + 0.98*x)``,
``1/(7.7 + y**3)``); :func:`expression_library` wraps such a list of terms as a
:class:`~discovery.methods.sindy_library.Library`, so that the sparsity path and the model building treat it like
any other library.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.sindy_library import Library


def monomials(syms: Sequence[sympy.Symbol], degree: int, constant: bool = True) -> list[sympy.Expr]:
    """Monomials of ``syms`` up to ``degree``, lowest degree first (pysindy's order within a degree).

    Examples
    --------
    >>> import sympy
    >>> monomials(sympy.symbols("x y"), 2)
    [1, x, y, x**2, x*y, y**2]
    """
    out: list[sympy.Expr] = [sympy.Integer(1)] if constant else []
    for k in range(1, degree + 1):
        for combo in itertools.combinations_with_replacement(syms, k):
            out.append(sympy.Mul(*combo))
    return out


@dataclass
class ExpressionColumns:
    """Evaluates a list of sympy terms on states ``(N, D)``: the ``library`` of an expression :class:`Library`."""

    features: list[sympy.Expr]
    symbols: list[sympy.Symbol]

    def __post_init__(self) -> None:
        from grammar.operators import numpy_function

        self._f = numpy_function(self.symbols, self.features)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Library matrix ``(N, P)`` of states ``x`` ``(N, D)``; non-finite where a term is undefined."""
        x = np.asarray(x, dtype=float)
        with np.errstate(all="ignore"):
            cols = self._f(*x.T)
        return np.stack([np.broadcast_to(np.asarray(c, dtype=float), (len(x),)) for c in cols], axis=1)


def expression_library(
    name: str, features: Sequence[sympy.Expr], names: Sequence[str], other_cost: float = 1.5
) -> Library:
    """A :class:`Library` whose columns are ``features`` (sympy terms in the symbols of ``names``).

    Monomials cost 1 in model selection, every other term ``other_cost`` (see
    :class:`~discovery.methods.sindy.SINDyConfig`).
    """
    features = list(features)
    if not features:
        raise DiscoveryError(f"library {name!r}: expected at least one term, found none")
    syms = [sympy.Symbol(n) for n in names]
    lib = Library(name, ExpressionColumns(features, syms), features)
    lib.costs = np.asarray([1.0 if f.is_polynomial(*syms) else other_cost for f in features])
    return lib


def relative_residual(theta: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Relative RMS residual of the least-squares fit of each column of ``y`` (N, D) on ``theta`` (N, P), (D,).

    The generators search a variable only when this is not negligible: a polynomial law is left alone.
    """
    scale = np.sqrt(np.mean(theta**2, axis=0))
    theta_n = theta / np.where(scale > 0, scale, 1.0)
    coef, *_ = np.linalg.lstsq(theta_n, y, rcond=None)
    norm = np.sqrt(np.sum(y**2, axis=0))
    return np.sqrt(np.sum((y - theta_n @ coef) ** 2, axis=0)) / np.where(norm > 0, norm, 1.0)


def activation_form(expr: sympy.Expr) -> sympy.Expr:
    """Rewrite ``c*f/(a + b*m)`` as ``(c/a)*f - (c*b/a)*f*m/(a + b*m)`` where that does not add a term.

    ``f/(a + b*m) = (f - (b/a)*f*m/(a + b*m))/a``: a constant plus a repression term is an activation term, and
    ``y`` plus ``y/(1 + x)`` is a Holling term. Both forms are equally sparse whenever ``f`` or ``f*m/(a + b*m)`` is
    already a term of ``expr``, and then the activation form, the one that vanishes with the state ``m`` (Michaelis-
    Menten ``0.6 - 1.5*s/(0.8 + s)``, not ``-0.9 + 1.2/(0.8 + s)``), is the one textbooks write. Terms whose
    numerator already holds a symbol of ``m``, and denominators of more than two terms, are left alone; so is a
    repression term beside an ``f`` under a tenth of its size at ``m = 0`` (``3/(x**2 + 1) - y + 0.002``: the
    constant is likely spurious, and the rewrite would make it large).

    Examples
    --------
    >>> import sympy
    >>> s = sympy.Symbol("s")
    >>> activation_form(-0.9 + 1.2 / (s + 0.8))
    -1.5*s/(s + 0.8) + 0.6
    >>> activation_form(3.0 / (s**2 + 1.0) - s)  # no constant term: stays a repression
    -s + 3.0/(s**2 + 1.0)
    """
    terms = list(sympy.Add.make_args(expr))
    for _ in range(len(terms)):
        present = {t.as_coeff_Mul()[1]: t.as_coeff_Mul()[0] for t in terms}
        for t in terms:
            c, rest = t.as_coeff_Mul()
            f, q = sympy.fraction(rest)
            parts = sympy.Add.make_args(sympy.expand(q))
            const = [p for p in parts if p.is_number]
            if len(parts) != 2 or len(const) != 1 or const[0] == 0:
                continue
            b, m = next(p for p in parts if not p.is_number).as_coeff_Mul()
            if f.free_symbols & m.free_symbols or not m.is_polynomial():
                continue
            a = const[0]
            activation = f * m / q
            if f in present and abs(present[f]) < 0.1 * abs(c / a):
                continue  # a small f beside the repression term is likely spurious: the repression form stays
            if f in present or activation in present:
                terms = list(sympy.Add.make_args(sympy.Add(*(u for u in terms if u is not t), c / a * f,
                                                           -c * b / a * activation)))
                break
        else:
            break
    return sympy.Add(*terms)
