"""The candidate-term library of PDE discovery: spatial derivatives of monomials of the fields.

A term is ``D^alpha (u^p v^q ...)``: a monomial of the fields (degree 0 to ``max_degree``) under a spatial
derivative of multi-index ``alpha`` (total order 0 to ``max_order``; the constant only underived). Burgers'
``-u u_x`` is ``-(u^2)_x / 2``, KdV's ``-6 u u_x - u_xxx`` is ``-3 (u^2)_x - (u)_xxx``, Gray-Scott's ``u v^2``
is ``(u v^2)``. This *conservative* library serves both regressions: the strong form differentiates the
monomial fields, and the weak form moves every derivative onto the test functions by parts, so no derivative
of noisy data is ever taken (:mod:`discovery.fields.weak`). Each term also has its sympy expression in
derivative symbols (``(u^2)_x`` -> ``2*u*u_x``), which is how results are written.

Products such as ``u u_xx`` that are not a derivative of a monomial are outside this library (``(u^2)_xx / 2``
is ``u u_xx + u_x^2``).

Examples
--------
>>> lib = build_library(("u",), ("x",), max_degree=2, max_order=2)
>>> [t.label_for(("u",), ("x",)) for t in lib]
['1', 'u', 'u_x', 'u_xx', 'u^2', '(u^2)_x', '(u^2)_xx']
>>> lib[5].expr(("u",), ("x",))
2*u*u_x
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import sympy

from discovery.fields.derivatives import partial
from grammar.pde_zoo import derivative_name


@dataclass(frozen=True)
class LibraryTerm:
    """``D^orders (prod fields[i] ** powers[i])``."""

    powers: tuple[int, ...]
    orders: tuple[int, ...]

    @property
    def degree(self) -> int:
        """Total degree of the monomial."""
        return sum(self.powers)

    @property
    def order(self) -> int:
        """Total derivative order."""
        return sum(self.orders)

    def monomial_label(self, fields: Sequence[str]) -> str:
        parts = [f if p == 1 else f"{f}^{p}" for f, p in zip(fields, self.powers) if p]
        return " ".join(parts) if parts else "1"

    def label_for(self, fields: Sequence[str], axes: Sequence[str]) -> str:
        """Readable name: ``u``, ``u_xx``, ``(u^2)_x``, ``u v^2``."""
        mono = self.monomial_label(fields)
        if not self.order:
            return mono
        suffix = "".join(a * n for a, n in zip(axes, self.orders))
        return f"{mono}_{suffix}" if (self.degree == 1) else f"({mono})_{suffix}"

    def expr(self, fields: Sequence[str], axes: Sequence[str]) -> sympy.Expr:
        """The term in derivative symbols, expanded (``(u^2)_x`` -> ``2*u*u_x``)."""
        return _expand_term(self.powers, self.orders, tuple(fields), tuple(axes))

    def values(self, data: np.ndarray, spacings: Sequence[float], periodic: Sequence[bool]) -> np.ndarray:
        """The term on the grid: ``data`` is ``(F, Nt, *N)``; returns ``(Nt, *N)``."""
        mono = np.ones(data.shape[1:])
        for f, p in enumerate(self.powers):
            if p:
                mono = mono * data[f] ** p
        axes = tuple(range(1, data.ndim - 1))
        return partial(mono, self.orders, axes, spacings, periodic)


@lru_cache(maxsize=4096)
def _expand_term(powers: tuple[int, ...], orders: tuple[int, ...], fields: tuple[str, ...],
                 axes: tuple[str, ...]) -> sympy.Expr:
    coords = [sympy.Symbol(f"_{a}") for a in axes]
    funcs = [sympy.Function(f"_{f}")(*coords) for f in fields]
    mono = sympy.Integer(1)
    for fn, p in zip(funcs, powers):
        mono = mono * fn**p
    d = mono
    for c, n in zip(coords, orders):
        if n:
            d = sympy.diff(d, c, n)
    repl = {}
    for k, (f, fn) in enumerate(zip(fields, funcs)):
        for deriv in d.atoms(sympy.Derivative):
            if deriv.expr == fn:
                counts = dict(deriv.variable_count)
                repl[deriv] = sympy.Symbol(derivative_name(f, [counts.get(c, 0) for c in coords], axes))
        repl[fn] = sympy.Symbol(f)
    # replace derivatives first (they contain the function), then the plain functions
    d = d.xreplace({k: v for k, v in repl.items() if isinstance(k, sympy.Derivative)})
    return sympy.expand(d.xreplace({k: v for k, v in repl.items() if not isinstance(k, sympy.Derivative)}))


def _multi_indices(dim: int, max_order: int) -> list[tuple[int, ...]]:
    out = [m for m in itertools.product(range(max_order + 1), repeat=dim) if sum(m) <= max_order]
    return sorted(out, key=lambda m: (sum(m), tuple(-n for n in m)))


def build_library(fields: Sequence[str], axes: Sequence[str], max_degree: int = 3,
                  max_order: int | None = None) -> list[LibraryTerm]:
    """Every ``D^alpha`` of every monomial up to ``max_degree``, ``|alpha| <= max_order`` (4 in 1-D, 2 in 2-D).

    Ordered by degree, then derivative order: the constant first, then ``u``, ``u_x``, ... .
    """
    order = max_order if max_order is not None else (4 if len(axes) == 1 else 2)
    F, dim = len(fields), len(axes)
    monomials = [p for d in range(1, max_degree + 1)
                 for p in sorted((q for q in itertools.product(range(d + 1), repeat=F) if sum(q) == d),
                                 reverse=True)]
    terms = [LibraryTerm((0,) * F, (0,) * dim)]
    for p in monomials:
        terms.extend(LibraryTerm(p, m) for m in _multi_indices(dim, order))
    return terms


def rhs_expression(terms: Sequence[LibraryTerm], coefficients: Sequence[float], fields: Sequence[str],
                   axes: Sequence[str]) -> sympy.Expr:
    """``sum c_k term_k`` in derivative symbols (zero coefficients skipped)."""
    out = sympy.Integer(0)
    for term, c in zip(terms, coefficients):
        if c != 0:
            out += sympy.Float(float(c)) * term.expr(fields, axes)
    return sympy.expand(out)
