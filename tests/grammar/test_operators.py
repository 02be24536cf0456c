"""The operator table and what is derived from it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

from grammar.errors import GrammarError
from grammar.operators import (
    BINARY_OPERATORS,
    OPERATORS,
    UNARY_OPERATORS,
    function_names,
    function_operator,
    numpy_function,
    numpy_namespace,
    pysr_operators,
    torch_function,
    torch_namespace,
)

X, Y = sympy.symbols("x y")
# Inside every operator's domain (log, sqrt, pow with a real exponent).
XS = np.array([0.3, 0.7, 1.1, 2.5])
YS = np.array([1.7, 0.4, 2.2, 1.5])


def _args(op):
    return (X,) if op.arity == 1 else (X, Y)


def _values(op):
    return (XS,) if op.arity == 1 else (XS, YS)


def test_table_has_the_issue_operators():
    assert set(BINARY_OPERATORS) == {"add", "sub", "mul", "div", "pow"}
    assert set(UNARY_OPERATORS) == {"neg", "inv", "sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "abs"}
    assert all(name == op.name for name, op in OPERATORS.items())


def test_operator_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        OPERATORS["sin"].arity = 2


@pytest.mark.parametrize("name", list(OPERATORS))
def test_sympy_and_numpy_agree(name):
    op = OPERATORS[name]
    expr = op.sympy(*_args(op))
    f = sympy.lambdify(list(_args(op)), expr, modules=numpy_namespace())
    np.testing.assert_allclose(f(*_values(op)), op.numpy(*_values(op)), rtol=1e-12)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_torch_function_agrees_with_numpy(name):
    torch = pytest.importorskip("torch")
    op = OPERATORS[name]
    tensors = [torch.tensor(v, dtype=torch.float64) for v in _values(op)]
    got = torch_function(name)(*tensors).numpy()
    np.testing.assert_allclose(got, op.numpy(*_values(op)), rtol=1e-12)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_torch_namespace_lambdify(name):
    torch = pytest.importorskip("torch")
    op = OPERATORS[name]
    expr = 0.5 * op.sympy(*_args(op)) + sympy.Rational(1, 3)
    f = sympy.lambdify(list(_args(op)), expr, modules=torch_namespace())
    tensors = [torch.tensor(v, dtype=torch.float64) for v in _values(op)]
    expected = 0.5 * op.numpy(*_values(op)) + 1 / 3
    np.testing.assert_allclose(f(*tensors).numpy(), expected, rtol=1e-12)


def test_numpy_namespace_handles_constants():
    f = sympy.lambdify([X], sympy.E * X + sympy.pi, modules=numpy_namespace())
    assert f(1.0) == pytest.approx(np.e + np.pi)


def test_numpy_function_compiles_each_system_once_and_tells_systems_apart():
    exprs = [X * Y, sympy.sqrt(X) - 2]
    f = numpy_function([X, Y], exprs)
    assert numpy_function([X, Y], list(exprs)) is f  # the same system: compiled once
    np.testing.assert_allclose(f(XS, YS), [XS * YS, np.sqrt(XS) - 2])
    # another constant, another argument order, one expression instead of a list: each its own function
    assert numpy_function([X, Y], [X * Y, sympy.sqrt(X) - 3])(XS, YS)[1] == pytest.approx(np.sqrt(XS) - 3)
    assert numpy_function([Y, X], exprs)(YS, XS)[0] == pytest.approx(XS * YS)
    assert numpy_function([X], sympy.sqrt(X))(XS) == pytest.approx(np.sqrt(XS))
    assert numpy_function([X, Y], exprs, cse=True) is not f


def test_torch_function_accepts_torch_names_and_rejects_unknown():
    pytest.importorskip("torch")
    assert torch_function("reciprocal") is torch_function("inv")
    with pytest.raises(GrammarError, match="unknown operator 'gamma'"):
        torch_function("gamma")


@pytest.mark.parametrize("name", UNARY_OPERATORS)
def test_function_operator_finds_function_nodes(name):
    built = OPERATORS[name].sympy(X)
    if isinstance(built, sympy.Function):
        assert function_operator(built) is OPERATORS[name]
    else:  # neg, inv and sqrt build Mul / Pow nodes, which are not function nodes
        assert name in {"neg", "inv", "sqrt"}
        with pytest.raises(GrammarError):
            function_operator(built)


@pytest.mark.parametrize(
    "expr, named",
    [(sympy.gamma(X), "gamma"), (sympy.Function("f")(X), "'f'"), (sympy.asin(X), "asin"), (sympy.sinh(X), "sinh")],
)
def test_function_operator_names_unsupported_functions(expr, named):
    with pytest.raises(GrammarError, match=named):
        function_operator(expr)


def test_function_names_include_sympy_spellings():
    names = function_names()
    assert names["Abs"] is OPERATORS["abs"] and names["abs"] is OPERATORS["abs"]
    assert set(UNARY_OPERATORS) <= set(names)


def test_pysr_operators_are_derived_from_the_table():
    binary, unary = pysr_operators()
    assert binary == [OPERATORS[n].pysr for n in BINARY_OPERATORS]
    assert unary == [OPERATORS[n].pysr for n in UNARY_OPERATORS]
    assert {"+", "-", "*", "/", "^"} == set(binary)
    assert {"sin", "exp", "log", "sqrt", "tanh", "abs", "inv", "neg"} <= set(unary)
    assert pysr_operators(["mul", "cos", "add"]) == (["*", "+"], ["cos"])
    with pytest.raises(GrammarError, match="unknown operator 'erf'"):
        pysr_operators(["add", "erf"])


def test_exact_power_guard():
    assert OPERATORS["pow"].sympy(2, 10) == 1024
    with pytest.raises(GrammarError, match="too large"):
        OPERATORS["pow"].sympy(10, 10**10)
    # Symbolic and float powers are not affected.
    assert OPERATORS["pow"].sympy(X, 10**10) == X ** (10**10)


def test_import_grammar_does_not_import_torch_or_transformers():
    code = "import sys, grammar; print('torch' in sys.modules, 'transformers' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.split() == ["False", "False"]
