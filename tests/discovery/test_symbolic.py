"""Cleaning of method outputs into candidate expressions (discovery.symbolic)."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import sympy

import discovery.symbolic as symbolic
from discovery.symbolic import (
    check_in_grammar,
    prune_small_terms,
    round_floats,
    simplify_bounded,
    to_candidate_expr,
    to_candidate_system,
)
from grammar.errors import GrammarError
from grammar.prefix import to_prefix

x, y, z = sympy.symbols("x y z")


def test_docstring_examples():
    result = doctest.testmod(symbolic, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_simplify_expands_products_of_sums():
    raw = -0.49 * (1.43 - 3.59 * x) * (1.42 * y)
    out = simplify_bounded(raw)
    assert isinstance(out, sympy.Add)
    assert sympy.expand(out - raw) == 0
    assert out.coeff(x * y) == pytest.approx(0.49 * 3.59 * 1.42)


def test_simplify_keeps_a_power_of_a_long_sum_unexpanded():
    raw = (x + y + z + 1) ** 12
    assert simplify_bounded(raw) == raw


def test_simplify_makes_float_exponents_integers():
    out = simplify_bounded(x ** sympy.Float(2.0) + y ** sympy.Float(0.5))
    assert out.has(x**2)
    assert sympy.Float(0.5) in out.atoms(sympy.Float)  # a real non-integer exponent stays


def test_round_floats_to_significant_digits():
    out = round_floats(2.666666666 * x + 0.000123456 * y + 12345.678 * z, digits=3)
    assert out.coeff(x) == sympy.Float(2.67)
    assert float(out.coeff(y)) == pytest.approx(0.000123)
    assert float(out.coeff(z)) == pytest.approx(12300.0)


def test_round_floats_makes_unit_coefficients_exact():
    assert round_floats(1.00001 * x - 0.99999 * y) == x - y
    with pytest.raises(ValueError, match="digits"):
        round_floats(x, digits=0)


def test_prune_by_coefficient_without_data():
    assert prune_small_terms(3.0 * x + 1e-7 * y + 2.0) == 3.0 * x + 2.0


def test_prune_by_size_on_data_keeps_small_coefficients_of_large_terms():
    expr = 1e-3 * x**3 + 2.0 * x + 1e-7 * y
    data = {"x": np.linspace(10, 40, 50), "y": np.linspace(-1, 1, 50)}
    out = prune_small_terms(expr, rel_tol=1e-3, data=data)
    assert out == 1e-3 * x**3 + 2.0 * x  # x**3 ~ 3e4 matters, y does not
    # without data the x**3 term would look negligible next to 2.0*x
    assert prune_small_terms(expr, rel_tol=1e-2) == 2.0 * x


def test_prune_inside_function_arguments():
    out = prune_small_terms(sympy.sin(2.0 * x + 1e-9) + y)
    assert out == sympy.sin(2.0 * x) + y


def test_to_candidate_expr_is_clean_and_inside_the_grammar():
    raw = -0.49999999 * (2.0 * x - 4.0 * y) + 1e-9 * x * y + 0.3333333 * sympy.sin(1.0000001 * z)
    out = to_candidate_expr(raw)
    assert out == -x + 2.0 * y + sympy.Float(0.3333) * sympy.sin(z)
    to_prefix(out)  # the grammar writes it


def test_to_candidate_expr_rejects_non_finite_and_foreign_operators():
    with pytest.raises(GrammarError, match="finite"):
        to_candidate_expr(x + sympy.zoo)
    with pytest.raises(GrammarError, match="finite"):
        check_in_grammar(x * sympy.Float("inf"))
    with pytest.raises(GrammarError):
        to_candidate_expr(sympy.gamma(x) + y)


def test_to_candidate_system_applies_to_every_equation():
    out = to_candidate_system({"x": 1.00001 * y, "y": -2.0000001 * x}, digits=3)
    assert out == {"x": y, "y": -2.0 * x}
