"""Structural comparison of equations: do two right-hand sides have exactly the same terms?

:func:`same_terms` is what ``eqdisco bench`` reports as *exact terms*. It compares the *form* of two right-hand
sides, not their constants: each side is reduced to a multiset of term skeletons by :func:`term_skeletons`, and the
multisets must be equal. The rule, in one place:

1. **Numbers are placeholders.** A float exponent within ``exponent_tol`` (5%) of an integer is that integer
   (``y**2.03`` is ``y**2``); integer exponents are structure (``y**2`` is not ``y**3``). Every other number,
   numeric sub-expressions such as ``log(2)`` or ``pi`` included, is a constant to be fitted.
2. **Expand.** Products and integer powers of sums are multiplied out, ``exp(a + b)`` becomes ``exp(a)*exp(b)`` and
   ``log(a*b)`` becomes ``log(a) + log(b)``: ``x*log(K/x)`` has the terms ``x`` and ``x*log(x)``.
3. **Each additive term keeps its own denominator.** A term is ``coefficient * numerator / denominator`` where the
   denominator is the product of the sums raised to negative integer powers. The denominator is divided by the
   coefficient of its first monomial (``sympy.default_sort_key`` order of the monomial skeletons), so
   ``x/(1 + b*x)`` and ``(x/b)/(1/b + x)`` are the same term, and its other coefficients become placeholders that
   keep their sign relative to the first (``1/(1 + x**2)`` is not ``1/(1 - x**2)``). A monomial common to all terms
   of a denominator moves to the numerator (``y/(x + x**2)`` is ``x**-1*y/(1 + x)``).
4. **The outer coefficient is dropped**, sign included, as for polynomial terms; a term whose coefficient (relative
   to its denominator) is at most ``zero_tol`` in absolute value is not a term.
5. **Numbers inside functions are signed placeholders**: ``exp(-0.7*x)`` and ``exp(-2*x)`` are the term
   ``exp(-c*x)``, which is not ``exp(c*x)``; ``sin(theta1 - theta2)`` is not ``sin(theta1 + theta2)``; a
   non-integer exponent is a signed placeholder too (``x**0.5`` and ``x**0.52`` are ``x**c``).

Two right-hand sides that differ by an extra, missing or different term (an added ``sin``, a different Hill
exponent, a denominator with another monomial) never match. What the skeleton does not see: relations between
constants (``y - y/(1 + x)`` has two terms, though ``x*y/(1 + x)`` equals it when its constants agree), and
equal fractions written over one common denominator (``(x + x*y + y)/((1 + x)*(1 + y))`` is three terms over one
denominator, not ``x/(1 + x) + y/(1 + y)``): a discovered model must be simplified to the law's form to count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

import sympy

PLACEHOLDER = sympy.Symbol("<c>")
"""The symbol that stands for a fitted constant in a skeleton (not a valid variable name, so it never clashes)."""

_EXPAND_HINTS = {"deep": True, "mul": True, "multinomial": True, "power_exp": True, "power_base": True, "log": True,
                 "force": True}


def _normalize_floats(expr: sympy.Expr, rel_tol: float = 0.01) -> sympy.Expr:
    """Floats within ``rel_tol`` of a non-zero integer become that integer (``sin(0.997*x)`` -> ``sin(x)``).

    Used by :func:`term_set` and by the coefficient errors of the neural benchmarks.
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
    absolute value are ignored. Numbers inside functions are kept but rounded (``sin(1.0*x)`` is ``sin(x)``). This
    is the polynomial view; :func:`same_terms` compares :func:`term_skeletons`, which also judge rational,
    exponential and logarithmic terms.
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


def term_skeletons(expr: sympy.Expr | str | float, zero_tol: float = 1e-8,
                   exponent_tol: float = 0.05) -> Counter[sympy.Expr]:
    """The terms of ``expr`` with every fitted constant replaced by a placeholder (the rule of the module docstring).

    Parameters
    ----------
    expr:
        A right-hand side (a sympy expression; text is read by ``sympy.sympify``).
    zero_tol:
        Terms whose coefficient is at most this in absolute value are left out.
    exponent_tol:
        Relative distance within which a float exponent counts as the nearest non-zero integer.

    Returns
    -------
    collections.Counter
        Term skeleton -> how many terms of ``expr`` have it.

    Examples
    --------
    >>> x, y = sympy.symbols("x y")
    >>> term_skeletons(0.5*x*y/(1 + 2*x)) == term_skeletons(0.25*x*y/(0.5 + x))
    True
    >>> sorted(map(str, term_skeletons(x*sympy.log(3/x))))
    ['x', 'x*log(<c>*x)']
    """
    prepared = sympy.expand(_round_exponents(sympy.sympify(expr), exponent_tol), **_EXPAND_HINTS)
    return Counter(skeleton for skeleton, _ in _terms(prepared, zero_tol))


def same_terms(found: Mapping[str, sympy.Expr], truth: Mapping[str, sympy.Expr]) -> bool:
    """Whether every equation of ``found`` has exactly the terms of ``truth`` (see :func:`term_skeletons`).

    Examples
    --------
    >>> x, y = sympy.symbols("x y")
    >>> same_terms({"x": 0.98*x*y/(1.1 + x)}, {"x": x*y/(1 + 0.9*x)})
    True
    >>> same_terms({"x": x*y/(1 + x) + 0.01*sympy.sin(y)}, {"x": x*y/(1 + x)})
    False
    """
    if set(found) != set(truth):
        return False
    return all(term_skeletons(found[v]) == term_skeletons(truth[v]) for v in truth)


# --- the skeleton, step by step ----------------------------------------------------------------------------


def _round_exponents(expr: sympy.Expr, rel_tol: float) -> sympy.Expr:
    """Float exponents within ``rel_tol`` of a non-zero integer become that integer (before expanding)."""

    def near_integer(e: sympy.Expr) -> bool:
        if not (e.is_Pow and e.exp.is_Float):
            return False
        r = round(float(e.exp))
        return r != 0 and abs(float(e.exp) - r) <= rel_tol * abs(r)

    return expr.replace(near_integer, lambda e: sympy.Pow(e.base, sympy.Integer(round(float(e.exp)))))


def _sign(number: sympy.Expr) -> int:
    value = complex(number)
    return -1 if value.real < 0 else 1


def _terms(expr: sympy.Expr, zero_tol: float) -> Iterator[tuple[sympy.Expr, complex]]:
    """``(skeleton, coefficient)`` of each additive term of an expanded ``expr`` (the coefficient relative to the
    term's normalized denominator; the skeleton carries no numeric factor)."""
    for term in sympy.Add.make_args(expr):
        number, numerator, denominators = sympy.Integer(1), [], []
        for factor in sympy.Mul.make_args(term):
            if factor.is_number:
                number *= factor
            elif factor.is_Pow and factor.base.is_Add and factor.exp.is_Integer and factor.exp < 0:
                denominators.append(factor.base ** (-factor.exp))
            else:
                numerator.append(_factor_skeleton(factor, zero_tol))
        skeleton = sympy.Mul(*numerator)
        if denominators:
            denominator, scale = _normalized_sum(sympy.expand(sympy.Mul(*denominators), **_EXPAND_HINTS), zero_tol)
            skeleton, number = skeleton / denominator, number / scale
        coefficient = complex(number)
        if abs(coefficient) <= zero_tol:
            continue
        sign, skeleton = skeleton.as_coeff_Mul()  # an odd function may have moved a sign out (sin(-c*x))
        yield skeleton, coefficient * complex(sign)


def _normalized_sum(expr: sympy.Expr, zero_tol: float) -> tuple[sympy.Expr, sympy.Expr]:
    """The skeleton of a sum divided by its first term's coefficient, and that divisor (numbers and a monomial
    common to every term included): ``2 + 4*x`` -> ``(1 + <c>*x, 2)``, ``x + x**2`` -> ``(x*(1 + x), 1)``."""
    content, core = sympy.factor_terms(expr).as_independent(sympy.Add, as_Add=False)
    if not core.is_Add:  # a single term after all
        content, core = content * core, sympy.Integer(1)
    number, monomial = content.as_independent(*content.free_symbols, as_Add=False)
    parts = sorted(_terms(core, 0.0), key=lambda p: sympy.default_sort_key(p[0]))
    if not parts:
        return sympy.Mul(*[_factor_skeleton(f, zero_tol) for f in sympy.Mul.make_args(monomial) if not f.is_number]), number
    lead = parts[0][1]
    skeleton = parts[0][0] + sum(
        (_sign(c / lead) * PLACEHOLDER * s for s, c in parts[1:] if abs(c / lead) > zero_tol), sympy.Integer(0)
    )
    monomial_skeleton = sympy.Mul(*[_factor_skeleton(f, zero_tol) for f in sympy.Mul.make_args(monomial)
                                    if not f.is_number])
    return monomial_skeleton * skeleton, number * sympy.Float(lead.real if lead.imag == 0 else abs(lead))


def _signed_sum(expr: sympy.Expr, zero_tol: float) -> sympy.Expr:
    """A sum with each coefficient replaced by a placeholder of the same sign: ``-0.7*x + 2`` -> ``-<c>*x + <c>``."""
    expanded = sympy.expand(expr, **_EXPAND_HINTS)
    return sum((_sign(c) * PLACEHOLDER * s for s, c in _terms(expanded, zero_tol)), sympy.Integer(0))


def _factor_skeleton(factor: sympy.Expr, zero_tol: float) -> sympy.Expr:
    """The skeleton of one non-numeric factor of a term: a symbol, a power or a function application."""
    if factor.is_Symbol:
        return factor
    if factor.is_Pow:
        base, exp = factor.args
        if base.is_number:  # 2**x is exp(x*log(2))
            return sympy.exp(_signed_sum(exp * sympy.log(base), zero_tol))
        if base.is_Add:
            base_skeleton = _normalized_sum(sympy.expand(base, **_EXPAND_HINTS), zero_tol)[0]
        else:
            base_skeleton = _factor_skeleton(base, zero_tol)
        if exp.is_Integer:
            return base_skeleton**exp
        if exp.is_number:
            return base_skeleton ** (_sign(exp) * PLACEHOLDER)
        return base_skeleton ** _signed_sum(exp, zero_tol)
    if isinstance(factor, sympy.Function) or factor.is_Function:
        return factor.func(*[_signed_sum(arg, zero_tol) for arg in factor.args])
    return factor.xreplace({n: PLACEHOLDER for n in factor.atoms(sympy.Number)})
