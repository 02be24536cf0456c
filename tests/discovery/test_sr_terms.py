"""What symbolic regression may use: operators from what the data shows, periodic functions that show their period,
functions costing more in the knee choice."""

from __future__ import annotations

import numpy as np
import sympy

from discovery.derivatives import differentiate
from discovery.methods.base import expression_complexity
from discovery.methods.sr import SROptions, SymbolicFit, knee_index
from discovery.methods.sr_terms import (
    choose_operators,
    formula_cost,
    trig_evidence,
    trig_spans,
)
from discovery.simulation import simulate

OPERATORS = ("add", "sub", "mul", "div", "pow", "sin", "cos", "log")


def _smoothed(name: str, noise: float = 0.01):
    data = simulate(name, noise=noise, seed=0)
    x, dx = differentiate(data[0].t, data[0].x)
    return x, dx, list(data.variables)


def test_a_pendulum_keeps_sin_and_cos():
    x, dx, names = _smoothed("damped_pendulum")
    assert trig_evidence(x, dx, names) == ["theta"]
    kept, dropped = choose_operators(OPERATORS, x, dx, names)
    assert kept == ("add", "sub", "mul", "div", "pow", "sin", "cos")
    assert dropped == ["log/sqrt: the states are not all positive"]


def test_predator_prey_gets_no_trigonometry_though_its_states_span_many_radians():
    x, dx, names = _smoothed("lotka_volterra")
    assert np.ptp(x, axis=0).min() > np.pi  # eligible by range: the sparse fit decides
    assert trig_evidence(x, dx, names) == []
    kept, dropped = choose_operators(OPERATORS, x, dx, names)
    assert kept == ("add", "sub", "mul", "div", "pow", "log")  # positive states: log may stay
    assert len(dropped) == 1 and dropped[0].startswith("sin/cos")


def test_states_spanning_less_than_the_range_get_no_trigonometry():
    t = np.linspace(0, 10, 400)
    x = np.stack([0.3 * np.sin(t), 0.3 * np.cos(t)], axis=1)  # a small circle: sin(x) ~ x
    dx = np.stack([x[:, 1], -x[:, 0]], axis=1)
    assert trig_evidence(x, dx, ["a", "b"]) == []
    assert choose_operators(("add", "cos"), x, dx, ["a", "b"])[0] == ("add",)


def test_a_periodic_function_must_show_its_period():
    v, w = sympy.symbols("v w")
    data = {"v": np.linspace(0.0, 0.44, 100), "w": np.linspace(-3.0, 3.0, 100)}
    assert not trig_spans(-v + 0.7 * sympy.cos(3.34 * v) + 3.3, data)  # a bump over 1.5 radians
    assert trig_spans(sympy.sin(w) - 0.2 * v**2, data)
    assert not trig_spans(sympy.sin(w) + sympy.sin(v), data)
    assert trig_spans(v * w, data)


def test_functions_cost_more_in_the_knee():
    x = sympy.Symbol("x")
    assert formula_cost(x**3 - x) == expression_complexity(x**3 - x)  # no function: the plain node count
    assert formula_cost(sympy.sin(x)) == 4 and formula_cost(sympy.sin(sympy.cos(x))) == 10
    scale = 1.0
    polynomial = SymbolicFit(0.9 * x - 0.1 * x**3, 8, 1e-4)
    nested = SymbolicFit(2.9 * sympy.sin(sympy.sin(0.31 * x)), 7, 0.8e-4)  # fewer nodes, a little better
    assert knee_index([nested, polynomial], scale) == 1  # ... but nested functions cost 6 each


def test_operator_choice_is_an_option():
    assert SROptions().operator_choice == "data"
    assert SROptions(operator_choice="given").operator_choice == "given"
