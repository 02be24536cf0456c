"""The random ODE-system sampler."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from grammar.errors import GrammarError
from grammar.numbers import round_float
from grammar.prefix import from_prefix, to_prefix
from grammar.sampler import SamplerConfig, sample_system
from grammar.tokenizer import ExpressionTokenizer, canonical_symbols


def _draw(n_systems: int, n_vars: int, config: SamplerConfig = SamplerConfig(), seed: int = 0):
    rng = np.random.default_rng(seed)
    return [sample_system(n_vars, rng, config) for _ in range(n_systems)]


def test_same_seed_same_systems():
    assert _draw(5, 3, seed=11) == _draw(5, 3, seed=11)
    assert _draw(5, 3, seed=11) != _draw(5, 3, seed=12)


@pytest.mark.parametrize("n_vars", [1, 2, 5])
def test_systems_are_inside_the_grammar(n_vars):
    config = SamplerConfig()
    variables = set(canonical_symbols(n_vars))
    tokenizer = ExpressionTokenizer()
    for system in _draw(15, n_vars, config, seed=n_vars):
        assert len(system) == n_vars
        for expr in system:
            assert expr.free_symbols and expr.free_symbols <= variables
            tokens = to_prefix(expr, config.precision)
            assert len(tokens) <= config.max_size
            assert from_prefix(tokens) == expr
            assert all(round_float(f, config.precision) == float(f) for f in expr.atoms(sympy.Float))
        assert tokenizer.decode_system(tokenizer.encode_system(system)) == system


def test_polynomial_only_respects_the_degree_cap():
    config = SamplerConfig(unary_probability=0.0, rational_probability=0.0, max_degree=2, max_terms=5)
    x = canonical_symbols(3)
    degrees = set()
    for system in _draw(20, 3, config, seed=3):
        for expr in system:
            poly = sympy.Poly(expr, *x)
            degrees.add(poly.total_degree())
    assert degrees == {1, 2}


def test_unary_operators_follow_the_config():
    config = SamplerConfig(unary_probability=1.0, unary_operators=(("tanh", 1.0), ("cos", 0.0)), max_terms=2)
    ops = {t for system in _draw(10, 2, config, seed=4) for e in system for t in to_prefix(e)}
    assert "tanh" in ops and "cos" not in ops and "sin" not in ops


@pytest.mark.parametrize("name", ["log", "sqrt", "inv"])
def test_functions_needing_a_positive_argument_get_one(name):
    config = SamplerConfig(unary_probability=1.0, unary_operators=((name, 1.0),), max_terms=2)
    x = canonical_symbols(2)
    points = np.random.default_rng(0).normal(scale=3.0, size=(50, 2))
    for system in _draw(8, 2, config, seed=5):
        for expr in system:
            f = sympy.lambdify(x, expr, modules="numpy")
            with np.errstate(all="raise"):
                values = np.asarray(f(points[:, 0], points[:, 1]), dtype=float)
            assert np.all(np.isfinite(values)), expr


def test_nested_unary_functions_with_max_depth():
    config = SamplerConfig(unary_probability=1.0, unary_operators=(("sin", 1.0),), max_depth=2, max_size=80)
    nested = [
        e for system in _draw(10, 2, config, seed=6) for e in system
        if any(isinstance(a, sympy.sin) for f in e.atoms(sympy.sin) for a in sympy.preorder_traversal(f.args[0]))
    ]
    assert nested


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_terms": 0}, "min_terms"),
        ({"min_terms": 3, "max_terms": 2}, "min_terms"),
        ({"max_degree": 0}, "max_degree"),
        ({"unary_probability": 1.5}, "unary_probability"),
        ({"unary_operators": (("gamma", 1.0),)}, "unary operators among"),
        ({"unary_operators": (("add", 1.0),)}, "unary operators among"),
        ({"unary_operators": (("sin", -1.0),)}, "non-negative weight"),
        ({"unary_operators": (("sin", 0.0),)}, "positive weight"),
        ({"max_integer": 11}, "max_integer"),
        ({"coefficient_range": (0.0, 1.0)}, "coefficient_range"),
        ({"max_size": 0}, "max_size"),
        ({"precision": 0}, "precision"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(GrammarError, match=message):
        SamplerConfig(**kwargs)


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(GrammarError, match="n_vars"):
        sample_system(0, rng)
    with pytest.raises(GrammarError, match="numpy.random.Generator"):
        sample_system(2, 42)
    with pytest.raises(GrammarError, match="max_size=3"):
        sample_system(2, rng, SamplerConfig(min_terms=4, max_terms=4, max_size=3))
