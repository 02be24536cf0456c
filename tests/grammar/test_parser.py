"""The safe formula parser: what it accepts, and what it refuses with a column."""

from __future__ import annotations

import ast
import inspect
import re

import pytest
import sympy

import grammar.parser
from grammar.errors import GrammarError
from grammar.parser import hidden_functions, parse, parse_system

x, y, k = sympy.symbols("x y k")
h1, h2 = sympy.Function("h1"), sympy.Function("h2")
VARS = ["x", "y"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.5*x - h1(x, y)", sympy.Float("0.5") * x - h1(x, y)),
        ("x^2 + 1", x**2 + 1),
        ("x**2 + 1", x**2 + 1),
        ("-x^2", -(x**2)),
        ("2^-1*x", x / 2),
        ("x^2^3", x**8),
        ("x / y / 2", x / y / 2),
        ("x - y - 1", x - y - 1),
        ("(x - y) * (x + y)", (x - y) * (x + y)),
        ("1e-3*x + .5*y + 2.*x", sympy.Float("0.001") * x + sympy.Float("0.5") * y + sympy.Float(2.0) * x),
        ("+x", x),
        ("- -x", x),
        (
            "sin(x) + cos(y) - tan(x) * exp(y) / log(x)",
            sympy.sin(x) + sympy.cos(y) - sympy.tan(x) * sympy.exp(y) / sympy.log(x),
        ),
        ("sqrt(x) + tanh(y) + abs(x) + Abs(y)", sympy.sqrt(x) + sympy.tanh(y) + sympy.Abs(x) + sympy.Abs(y)),
        ("k*x*(1 - x)", k * x * (1 - x)),
        ("h1(x) + 2*h1(x) - h2(y, x)", 3 * h1(x) - h2(y, x)),
        ("  x\t+\ny ", x + y),
        ("10*(y - x)", 10 * (y - x)),
    ],
)
def test_parse_accepts(text, expected):
    got = parse(text, VARS, params=["k"])
    assert got == expected or sympy.simplify(got - expected) == 0


def test_parse_matches_sympy_printing_of_grammar_expressions():
    expr = -2.5 * x * y / (1 + x**2) + sympy.sqrt(sympy.Abs(y)) - sympy.exp(-x) * sympy.sin(y) ** 2
    assert parse(str(expr), VARS) == expr


@pytest.mark.parametrize(
    "text, message",
    [
        ("__import__('os')", "unexpected character \"'\" at column 12; strings are not allowed"),
        ("__import__", "unknown name '__import__' at column 1; known variables: x, y"),
        ("__import__(x)", "unknown function '__import__' at column 1"),
        ("x.real", "unexpected character '.' at column 2; attribute access is not allowed"),
        ("x.__class__", "attribute access is not allowed"),
        ("lambda x: x", "unexpected character ':' at column 9"),
        ("lambda", "unknown name 'lambda' at column 1"),
        ('"x"', "strings are not allowed"),
        ("sin(x=1)", "unexpected character '=' at column 6; keyword arguments"),
        ("0.5*q", "unknown name 'q' at column 5; known variables: x, y"),
        ("x y", "unexpected 'y' at column 3"),
        ("2x", "implicit multiplication is not supported"),
        ("x if y else 1", "Python keywords are not allowed"),
        ("[x]", "unexpected character '[' at column 1"),
        ("{x}", "unexpected character '{' at column 1"),
        ("x; y", "unexpected character ';' at column 2"),
        ("x @ y", "unexpected character '@' at column 3"),
        ("x % y", "unexpected character '%' at column 3"),
        ("x == y", "unexpected character '=' at column 3"),
        ("sin", "function 'sin' at column 1 must be called"),
        ("sin(x, y)", "sin() at column 1 takes 1 argument, found 2"),
        ("sin()", "has no arguments"),
        ("gamma(x)", "unknown function 'gamma' at column 1"),
        ("x(2)", "'x' at column 1 is not a function"),
        ("(x + y", "expected ')' to close '(' at column 1, found end of formula"),
        ("x + y)", "unexpected ')' at column 6"),
        ("x +", "unexpected end of formula"),
        ("", "empty formula"),
        ("   ", "empty formula"),
        ("x / 0", "division by zero at column 3"),
        ("0^-1", "not a finite real expression"),
        ("sqrt(-1)", "not a finite real expression"),
        ("2^10^10", "too large"),
        ("h1(x + 1)", "argument of hidden function h1 at column 4 must be a variable"),
        ("h1(k)", "argument of hidden function h1 at column 4 must be a variable"),
        ("h1(x, x)", "takes x twice"),
        ("h1", "function 'h1' at column 1 must be called"),
        ("h1(x) + h1(y)", "hidden function h1 is used as h1(x) and as h1(y)"),
        ("(" * 150 + "x" + ")" * 150, "nested too deeply at column 101"),
        ("-" * 150 + "x", "nested too deeply"),
    ],
)
def test_parse_rejects(text, message):
    with pytest.raises(GrammarError, match=re.escape(message)):
        parse(text, VARS, params=["k"])


def test_errors_are_one_line():
    with pytest.raises(GrammarError) as info:
        parse("x +\n q", VARS)
    assert "\n" not in str(info.value) and "'q' at column 6" in str(info.value)


def test_hidden_false_rejects_hidden_functions():
    with pytest.raises(GrammarError, match="unknown function 'h1'"):
        parse("h1(x)", VARS, hidden=False)
    # ... and then h1 may be a parameter.
    assert parse("h1*x", VARS, params=["h1"], hidden=False) == sympy.Symbol("h1") * x


@pytest.mark.parametrize(
    "variables, params, message",
    [
        (["x", "x"], (), "given twice"),
        (["x"], ["x"], "given twice"),
        (["sin"], (), "also a function name"),
        (["x", "h2"], (), "looks like a hidden function"),
        (["x y"], (), "not a valid identifier"),
        ("xy", (), "not a single string"),
    ],
)
def test_bad_names(variables, params, message):
    with pytest.raises(GrammarError, match=message):
        parse("1", variables, params)


def test_parser_never_evaluates_text():
    """The parser module calls none of eval, exec, compile, sympify, parse_expr, S() on anything."""
    tree = ast.parse(inspect.getsource(grammar.parser))
    builtins_called, anything_called = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                builtins_called.add(node.func.id)
                anything_called.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                anything_called.add(node.func.attr)
    assert not builtins_called & {"eval", "exec", "compile", "__import__", "getattr"}
    assert not anything_called & {"sympify", "parse_expr", "S", "literal_eval"}


def test_parse_system_dict_and_text():
    expected = {"x": sympy.Float("0.5") * x - h1(x, y), "y": -x + y**2}
    assert parse_system({"y": "-x + y^2", "x": "0.5*x - h1(x, y)"}, VARS) == expected
    text = "# model\nx: 0.5*x - h1(x, y)\n\n  y = -x + y^2\n"
    result = parse_system(text, VARS)
    assert result == expected and list(result) == VARS


@pytest.mark.parametrize(
    "lines, message",
    [
        ("x: y\ny: q", "line 2, equation for 'y': unknown name 'q' at column 4"),
        ({"x": "y", "y": "sin("}, "equation for 'y': unexpected end of formula"),
        ("x: y", "no equation for 'y'"),
        ("x: y\ny: x\nz: 1", "line 3, equation for 'z', which is not a variable"),
        ("x: y\nx: 1\ny: x", "line 2: a second equation for 'x'"),
        ("x: h1(x)\ny: h1(y)", "hidden function h1 is used as h1(x) and as h1(y)"),
        ("x y", "line 1: expected 'variable: formula'"),
        (["x: y"], "expected a dict of formulas"),
    ],
)
def test_parse_system_errors_name_the_variable(lines, message):
    with pytest.raises(GrammarError, match=re.escape(message)):
        parse_system(lines, VARS)


def test_hidden_functions():
    assert hidden_functions(x - h1(x, y) + h2(y) * h1(x, y)) == {"h1": (x, y), "h2": (y,)}
    assert hidden_functions(x + 1) == {}
    with pytest.raises(GrammarError, match="used as h1\\(x\\) and as h1\\(x, y\\)"):
        hidden_functions(h1(x) + h1(x, y))
    with pytest.raises(GrammarError, match="arguments must be variables"):
        hidden_functions(h1(x + 1))


# --- size: linear-time parsing, a length limit and a hidden-function limit (issue 14, item 8) -------------------
def _long_sum(n: int) -> str:
    """``n`` distinct terms: sympy cannot merge them, so each one stays in the sum."""
    return " + ".join(f"{k + 0.5}*x**{k % 7 + 1}*sin({k}*y)" for k in range(1, n + 1))


@pytest.mark.parametrize("op, text", [
    (sympy.Add, _long_sum(400)),
    (sympy.Mul, " * ".join(f"(x + {k})" for k in range(1, 401))),
    (sympy.Mul, "x / " + " / ".join(f"(y + {k})" for k in range(1, 400))),
], ids=["sum", "product", "quotient"])
def test_parsing_a_long_chain_builds_each_operand_once(monkeypatch, op, text):
    """Linear time, counted rather than timed: flattening a chain of n operands must touch O(n) arguments in all,
    not n**2 / 2 as a left fold of binary operations does."""
    touched = []
    flatten = op.flatten.__func__

    def counting(cls, seq):  # a sum (product) among the arguments is flattened operand by operand
        touched.append(sum(len(a.args) if isinstance(a, op) else 1 for a in seq))
        return flatten(cls, seq)

    monkeypatch.setattr(op, "flatten", classmethod(counting))
    expr = parse(text, VARS)
    assert len(expr.args) == 400
    assert sum(touched) < 10 * 400, f"flattening touched {sum(touched)} arguments for 400 operands"


@pytest.mark.timeout(120)
def test_a_formula_at_the_size_limit_parses():
    text = _long_sum(2000)[: grammar.parser.MAX_FORMULA_CHARS]
    text = text[: text.rfind(" + ")]
    assert 0.8 * grammar.parser.MAX_FORMULA_CHARS < len(text) <= grammar.parser.MAX_FORMULA_CHARS
    assert len(parse(text, VARS).args) > 400


@pytest.mark.timeout(60)
def test_a_formula_over_the_size_limit_is_refused_with_the_limit():
    text = "x + " * 25_000 + "x"  # 100 KB
    limit = f"at most {grammar.parser.MAX_FORMULA_CHARS:,} are accepted"
    with pytest.raises(GrammarError, match=f"formula is 100,001 characters; {limit}") as info:
        parse(text, VARS)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300
    with pytest.raises(GrammarError, match=limit):
        parse_system({"x": text, "y": "x"}, VARS)
    with pytest.raises(GrammarError, match=f"system text is 100,009 characters; {limit}"):
        parse_system(f"x: {text}\ny: x", VARS)


def test_too_many_hidden_functions_are_refused():
    limit = grammar.parser.MAX_HIDDEN_FUNCTIONS
    ok = " + ".join(f"h{k}(x)" for k in range(1, limit + 1))
    assert len(hidden_functions(parse(ok, VARS))) == limit
    with pytest.raises(GrammarError, match=rf"{limit + 1} hidden functions \(h1, .*\); at most {limit}"):
        parse(ok + f" + h{limit + 1}(y)", VARS)
    split = {"x": ok, "y": f"h{limit + 1}(y)"}
    with pytest.raises(GrammarError, match=f"at most {limit}"):
        parse_system(split, VARS)
