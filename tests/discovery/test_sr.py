"""The ``sr`` method: fit_symbolic with the pyoperon backend, names, fronts, backend choice, PySR where it runs."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from discovery.errors import DiscoveryError
from discovery.methods import get_method
from discovery.methods.base import MethodContext
from discovery.methods.sindy import term_set
from discovery.methods.sr import SRMethod, SymbolicFit, drop_weak_terms, fit_symbolic, knee_index, pareto_front
from discovery.methods.sr_backends import operon_symbols, pysr_available, resolve_backend
from discovery.simulation import simulate
from grammar.prefix import to_prefix

PYSR_OK, PYSR_REASON = pysr_available()


def _coefficients(expr):
    return {t.as_coeff_Mul()[1]: float(t.as_coeff_Mul()[0]) for t in sympy.Add.make_args(sympy.expand(expr))}


def _product_data(n: int = 300):
    X = np.random.default_rng(0).uniform(-2.0, 2.0, size=(n, 2))  # (N, 2)
    return X, 2.5 * X[:, 0] * X[:, 1] - X[:, 1]


def _assert_front(front: list[SymbolicFit]) -> None:
    assert front, "empty front"
    complexities = [f.complexity for f in front]
    errors = [f.mse for f in front]
    assert complexities == sorted(complexities) and len(set(complexities)) == len(complexities)
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    for f in front:
        to_prefix(f.expr)  # inside the grammar


def test_pyoperon_recovers_a_product_with_names_mapped():
    X, y = _product_data()
    # "X1" is also pyoperon's internal name of the *first* column: renaming must not mix them up.
    front = fit_symbolic(X, y, ["u", "X1"], backend="pyoperon", time_budget_s=2, seed=0)
    _assert_front(front)
    best = front[-1]
    u, x1 = sympy.symbols("u X1")
    assert best.expr.free_symbols == {u, x1}
    assert term_set(best.expr) == {u * x1, x1}
    coefs = _coefficients(best.expr)
    assert coefs[u * x1] == pytest.approx(2.5, rel=1e-3) and coefs[x1] == pytest.approx(-1.0, rel=1e-3)
    assert best.mse < 1e-6


def test_fit_symbolic_downsamples_and_is_repeatable():
    X, y = _product_data(n=3000)
    # a generation limit well inside the time limit, so that the machine's speed cannot change the result
    kwargs = dict(backend="pyoperon", time_budget_s=10, seed=3, max_points=200, generations=8)
    a = fit_symbolic(X, y, ["a", "b"], **kwargs)
    b = fit_symbolic(X, y, ["a", "b"], **kwargs)
    assert [str(f.expr) for f in a] == [str(f.expr) for f in b]


def test_fit_symbolic_refuses_bad_input():
    X, y = _product_data(n=20)
    with pytest.raises(DiscoveryError, match="expected X of shape"):
        fit_symbolic(X, y[:-1], ["a", "b"])
    with pytest.raises(DiscoveryError, match="distinct names"):
        fit_symbolic(X, y, ["a"])
    with pytest.raises(DiscoveryError, match="finite"):
        fit_symbolic(np.where(X > 1.9, np.nan, X), y, ["a", "b"])
    with pytest.raises(DiscoveryError, match="unknown operator"):
        fit_symbolic(X, y, ["a", "b"], backend="pyoperon", operators=["add", "gamma"])
    with pytest.raises(DiscoveryError, match="pyoperon backend"):
        fit_symbolic(X, y, ["a", "b"], backend="pyoperon", time_budget_s=1, no_such_option=3)


def test_constant_target_needs_no_search():
    X = np.random.default_rng(1).uniform(size=(30, 2))
    assert fit_symbolic(X, np.zeros(30), ["a", "b"], backend="pyoperon") == [SymbolicFit(sympy.Integer(0), 1, 0.0)]
    (fit,) = fit_symbolic(X, np.full(30, 2.5), ["a", "b"], backend="pyoperon")
    assert float(fit.expr) == 2.5 and fit.mse == 0.0


def test_drop_weak_terms_removes_an_intercept_fitted_to_noise():
    rng = np.random.default_rng(2)
    X = rng.uniform(-3, 3, size=(200, 2))
    y = 1.0 * X[:, 1] + 0.05 * rng.standard_normal(200)
    a, b = sympy.symbols("a b")
    assert drop_weak_terms(1.003 * b + 0.0017, X, y, ["a", "b"]) == 1.003 * b
    assert drop_weak_terms(1.003 * b + 0.5 * a, X, y + 0.5 * X[:, 0], ["a", "b"]) is None  # both terms matter


def test_unknown_backend_lists_the_valid_ones():
    with pytest.raises(DiscoveryError, match="valid backends: pyoperon, pysr"):
        resolve_backend("gplearn")


def test_auto_backend_follows_pysr_availability():
    assert resolve_backend("auto") == ("pysr" if PYSR_OK else "pyoperon")
    assert isinstance(PYSR_REASON, str) and (PYSR_OK or PYSR_REASON)


@pytest.mark.skipif(PYSR_OK, reason="PySR runs here")
def test_pysr_backend_says_why_it_cannot_run():
    with pytest.raises(DiscoveryError, match="cannot run here"):
        resolve_backend("pysr")


def test_operon_symbols_come_from_grammar_operators():
    assert operon_symbols(["add", "sub", "mul", "div", "sin", "neg", "pow"]) == (
        "add,sub,mul,div,sin,square,constant,variable"
    )


def test_pareto_front_and_knee():
    x = sympy.Symbol("x")
    fits = [
        SymbolicFit(x, 1, 4.0),
        SymbolicFit(2 * x, 3, 4.5),  # dominated
        SymbolicFit(2 * x + 1, 5, 1e-4),
        SymbolicFit(2 * x + 1 + 1e-3 * x**2, 9, 0.9e-4),
        SymbolicFit(2 * x + 1, 5, 1e-4),  # duplicate
    ]
    front = pareto_front(fits)
    assert [f.complexity for f in front] == [1, 5, 9]
    assert knee_index(front, scale=2.0) == 1  # the last point's 10% gain does not pay for 4 more nodes
    with pytest.raises(DiscoveryError, match="empty"):
        knee_index([], scale=1.0)


def test_sr_method_recovers_lotka_volterra():
    data = simulate("lotka_volterra", noise=0.0)
    method = get_method("sr", backend="pyoperon", time_budget_s=4)
    assert isinstance(method, SRMethod)
    candidates = method.propose(data, MethodContext(seed=0))
    assert 1 <= len(candidates) <= 4
    first = candidates[0]
    assert first.method == "sr" and first.info["label"] == "knee" and first.info["backend"] == "pyoperon"
    assert set(first.info["fronts"]) == {"x", "y"}
    x, y = sympy.symbols("x y")
    assert term_set(first.equations["x"]) == {x, x * y}
    assert term_set(first.equations["y"]) == {y, x * y}
    assert _coefficients(first.equations["y"])[x * y] == pytest.approx(0.075, rel=0.02)


@pytest.mark.pysr
@pytest.mark.skipif(not PYSR_OK, reason=f"PySR cannot run here: {PYSR_REASON}")
def test_pysr_recovers_a_product():
    X, y = _product_data()
    front = fit_symbolic(X, y, ["u", "v"], backend="pysr", time_budget_s=30, seed=0)
    _assert_front(front)
    u, v = sympy.symbols("u v")
    assert term_set(front[-1].expr) == {u * v, v}


@pytest.mark.slow
def test_docstring_examples():
    import doctest

    import discovery.methods.sr as sr
    import discovery.methods.sr_backends as sr_backends

    for module in (sr, sr_backends):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0, module.__name__
