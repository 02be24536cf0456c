"""Prefix serialization: exact round trips, and errors that name what and where."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy

from grammar.errors import GrammarError
from grammar.numbers import round_float
from grammar.operators import OPERATORS
from grammar.prefix import SEP_TOKEN, from_prefix, system_from_prefix, system_to_prefix, to_prefix
from grammar.sampler import sample_system

x, y, z = sympy.symbols("x y z")
x0, x1, x2 = sympy.symbols("x_0 x_1 x_2")


def rounded(expr: sympy.Expr, precision: int) -> sympy.Expr:
    """``expr`` with every float rounded to ``precision`` significant digits."""
    return expr.xreplace({f: sympy.Float(round_float(f, precision)) for f in expr.atoms(sympy.Float)})


def assert_round_trip(expr: sympy.Expr, precision: int = 3) -> list[str]:
    tokens = to_prefix(expr, precision)
    back = from_prefix(tokens)
    expected = rounded(expr, precision)
    assert back == expected or sympy.simplify(back - expected) == 0, (expr, tokens, back)
    return tokens


HAND_WRITTEN = [
    x + y,
    x - y,
    x * y,
    x / y,
    x**2,
    x**-2,
    x ** sympy.Rational(3, 2),
    x ** sympy.Rational(-3, 2),
    sympy.sqrt(x),
    1 / sympy.sqrt(x),
    x**-1,
    -x,
    -3 * x,
    -x / 2,
    3 * x / 2,
    -2.5 * x * y / z,
    sympy.sin(x) + sympy.cos(y) - sympy.tan(z),
    sympy.exp(-x) * sympy.log(y),
    sympy.tanh(x - y) + sympy.Abs(z),
    10 * (y - x),
    x * (28 - z) - y,
    x * y - sympy.Rational(8, 3) * z,
    x * y - 2.66666667 * z,
    1 / (1 + x**2),
    -1 / x,
    sympy.sqrt(2) * x,
    sympy.E * x,
    2**x,
    x**y,
    x**12,
    x**1.5,
    0.001 * x - 1234.5 * y,
    sympy.sin(sympy.exp(x) / (1 + y**2)),
    sympy.Float("6.674e-11") * x * y / z**2,
    x - y - z,
    -x - y,
    x / 100,
    sympy.Integer(7),
    sympy.Float(-0.25),
    sympy.Rational(-1, 2),
]


@pytest.mark.parametrize("expr", HAND_WRITTEN, ids=[str(e) for e in HAND_WRITTEN])
def test_round_trip_hand_written(expr):
    assert_round_trip(expr)


def test_hand_written_cover_every_operator():
    used = {t for e in HAND_WRITTEN for t in to_prefix(e)}
    assert set(OPERATORS) <= used


@pytest.mark.parametrize("name", list(OPERATORS))
def test_round_trip_each_operator(name):
    op = OPERATORS[name]
    for args in [(x,), (1.5 * x + 1,), (-y / 3 + sympy.sqrt(x),)] if op.arity == 1 else \
            [(x, y), (x + 1, 2.5 * y), (sympy.sin(x), -y**2 + 3)]:
        assert_round_trip(op.sympy(*args))


@pytest.mark.parametrize(
    "expr, tokens",
    [
        (x - 3.14159 * y**2, "sub x mul + N314 E-2 pow y 2"),
        (sympy.sqrt(x) / y, "div sqrt x y"),
        (x / y, "div x y"),
        (x**-1, "inv x"),
        (-x, "neg x"),
        (-3 * x, "mul -3 x"),
        (-0.5 * x, "mul - N500 E-3 x"),
        (-x / 2, "neg div x 2"),
        (x ** sympy.Rational(3, 2), "pow x div 3 2"),
        (x**-2, "pow x -2"),
        (x + y + z, "add add x y z"),
        (sympy.E, "exp 1"),
        (sympy.Rational(1, 3), "div 1 3"),
    ],
)
def test_canonical_tokens(expr, tokens):
    assert " ".join(to_prefix(expr)) == tokens


def test_precision_is_configurable():
    assert to_prefix(sympy.pi * x, precision=5) == ["mul", "+", "N31416", "E-4", "x"]
    assert from_prefix(to_prefix(1.23456789 * x, precision=6)) == sympy.Float("1.23457") * x


def test_any_identifier_is_a_symbol_token():
    expr = sympy.Symbol("theta_dot") * sympy.Symbol("Omega")
    assert from_prefix(to_prefix(expr)) == expr
    # Names spelled like number tokens (two species N1, N2; an enzyme E2) read as symbols outside numbers.
    n1, n2, e2 = sympy.symbols("N1 N2 E2")
    expr = 0.5 * n1 - 1.25 * n1 * n2 + e2 / n2
    tokens = to_prefix(expr)
    assert from_prefix(tokens) == expr and "N125" in tokens


def test_round_trip_2000_sampled_expressions():
    rng = np.random.default_rng(2024)
    exprs: list[sympy.Expr] = []
    while len(exprs) < 2000:
        exprs += sample_system(int(rng.integers(1, 6)), rng)
    failures = [e for e in exprs if from_prefix(to_prefix(e)) != e]
    assert not failures, failures[:5]


@pytest.mark.parametrize(
    "expr, named",
    [
        (sympy.gamma(x), "'gamma'"),
        (sympy.Derivative(sympy.Function("f")(x), x), "'Derivative'"),
        (sympy.Function("h1")(x, y), "'h1'"),
        (sympy.Max(x, y), "'Max'"),
        (sympy.I * x, "unsupported number I"),
        (x + sympy.oo, "unsupported number oo"),
        (sympy.Symbol("a b"), "'a b' is not a valid identifier"),
        (sympy.Symbol("sin") + 1, "'sin' is also an operator"),
        (sympy.Symbol("add"), "'add' is also an operator"),
        (sympy.Eq(x, 1), "expected a sympy expression"),
        ("x + 1", "found the string"),
        (1e40 * x, "outside the encodable range"),
    ],
)
def test_unsupported_expressions_name_the_culprit(expr, named):
    with pytest.raises(GrammarError, match=re.escape(named)):
        to_prefix(expr)


@pytest.mark.parametrize(
    "tokens, message",
    [
        ([], "empty expression at position 0"),
        (["add", "x"], "operator 'add' at position 0 expects 2 operand(s), found 1 before the end"),
        (["mul", "x", "sin"], "operator 'sin' at position 2 expects 1 operand(s), found 0"),
        (["x", "y"], "leftover token 'y' at position 1"),
        (["add", "x", "y", "z"], "leftover token 'z' at position 3"),
        (["add", "x", "foo!"], "unknown token 'foo!' at position 2"),
        (["add", "x", "<sep>"], "unknown token '<sep>' at position 2"),
        (["add", "x", "3.5"], "unknown token '3.5' at position 2"),
        (["add", "x", "11"], "unknown token '11' at position 2"),
        (["mul", "E-2", "x"], "unknown token 'E-2' at position 1"),
        (["mul", "+", "N314", "x"], "exponent token like 'E-2' at position 3 after sign '+' at position 1"),
        (["mul", "x", "-", "x", "E1"], "mantissa token like 'N314' at position 3"),
        (["div", "x", "0"], "operator 'div' at position 0 gives zoo"),
        (["add", "x", "log", "0"], "operator 'log' at position 2 gives zoo"),
        (["sqrt", "-1"], "operator 'sqrt' at position 0 gives I"),
        (["pow", "10", "pow", "10", "pow", "10", "10"], "too large"),
        ("add x y", "found the string"),
        (["add", "x", 3], "token at position 2 is int"),
    ],
)
def test_malformed_sequences_name_position_and_token(tokens, message):
    with pytest.raises(GrammarError, match=re.escape(message)):
        from_prefix(tokens)


def test_system_round_trip():
    system = [x1, -x0 + 0.5 * x1 * x2, sympy.sin(x0) - x2**2]
    tokens = system_to_prefix(system)
    assert tokens.count(SEP_TOKEN) == 2
    assert system_from_prefix(tokens) == [x1, -x0 + sympy.Float("0.5") * x1 * x2, sympy.sin(x0) - x2**2]


@pytest.mark.parametrize(
    "tokens, message",
    [
        ([], "empty token sequence"),
        (["x", SEP_TOKEN], "empty equation 1 before the end"),
        ([SEP_TOKEN, "x"], "empty equation 0 before '<sep>' at position 0"),
        (["x", SEP_TOKEN, SEP_TOKEN, "y"], "empty equation 1 before '<sep>' at position 2"),
        (["x", SEP_TOKEN, "add", "y"], "operator 'add' at position 2 expects 2 operand(s), found 1 before the end"),
        (["add", "x", SEP_TOKEN, "y"], "found 1 before '<sep>' at position 2"),
        (["x", SEP_TOKEN, "y", "z"], "leftover token 'z' at position 3"),
    ],
)
def test_malformed_systems(tokens, message):
    with pytest.raises(GrammarError, match=re.escape(message)):
        system_from_prefix(tokens)


@pytest.mark.parametrize("exprs", [[], x, {"x": x}, "x"])
def test_system_to_prefix_needs_a_list(exprs):
    with pytest.raises(GrammarError, match="expected"):
        system_to_prefix(exprs)


def test_system_to_prefix_names_the_equation():
    with pytest.raises(GrammarError, match="equation 1: unsupported operator 'gamma'"):
        system_to_prefix([x, sympy.gamma(y)])
