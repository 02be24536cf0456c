"""Structural comparison of equations: do two right-hand sides have exactly the same terms?"""

from __future__ import annotations

import sympy


def _normalize_floats(expr: sympy.Expr, rel_tol: float = 0.01) -> sympy.Expr:
    """Floats within ``rel_tol`` of a non-zero integer become that integer (``sin(0.997*x)`` -> ``sin(x)``).

    Only the numbers *inside* terms matter here (the outer coefficients are dropped by :func:`term_set`), so a
    frequency or exponent recovered to within 1% counts as the same term.
    """
    repl = {}
    for f in expr.atoms(sympy.Float):
        r = round(float(f))
        if r != 0 and abs(float(f) - r) <= rel_tol * abs(r):
            repl[f] = sympy.Integer(r)
    return expr.xreplace(repl)


def term_set(expr: sympy.Expr, zero_tol: float = 1e-8) -> frozenset[sympy.Expr]:
    """The set of terms of an expanded expression, each with its numeric coefficient removed.

    ``2.5*x*y - 0.1*sin(z) + 3`` gives ``{x*y, sin(z), 1}``. Terms whose coefficient is below ``zero_tol`` in
    absolute value are ignored. Numbers inside functions are kept but rounded (``sin(1.0*x)`` is ``sin(x)``).
    """
    expanded = sympy.expand(_normalize_floats(sympy.sympify(expr)))
    terms = set()
    for term, coeff in expanded.as_coefficients_dict().items():
        try:
            if abs(float(coeff)) <= zero_tol:
                continue
        except TypeError:  # symbolic coefficient: keep the term
            pass
        terms.add(term)
    return frozenset(terms)


def same_terms(found: dict[str, sympy.Expr], truth: dict[str, sympy.Expr]) -> bool:
    """Whether every equation of ``found`` has exactly the terms of ``truth``."""
    if set(found) != set(truth):
        return False
    return all(term_set(found[v]) == term_set(truth[v]) for v in truth)
