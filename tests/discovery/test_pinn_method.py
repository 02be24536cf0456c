"""The partly known model (discovery/known.py) and the ``pinn`` method (discovery/methods/pinn.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import sympy
import torch

from discovery.errors import DiscoveryError
from discovery.known import parse_known
from discovery.methods import MethodContext, get_method, method_names
from discovery.methods.pinn import combine, make_config, pick_from_front, snap_inner_constants
from models.pinn import PINNTrainConfig

torch.set_num_threads(1)
x, y, theta = sympy.symbols("x y theta")
h1 = sympy.Function("h1")


# --- the partly known model ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "known",
    [
        {"x": "0.5*x - h1(x, y)", "y": "-0.3*y + h2(x, y)"},
        ["x = 0.5*x - h1(x, y)", "y = -0.3*y + h2(x, y)"],
        ["dx/dt = 0.5*x - h1(x, y)", "y' = -0.3*y + h2(x, y)"],
        "x = 0.5*x - h1(x, y); y = -0.3*y + h2(x, y)",
    ],
)
def test_parse_known_forms(known) -> None:
    m = parse_known(known, ["x", "y"])
    assert m.hidden == {"h1": ("x", "y"), "h2": ("x", "y")}
    assert m.equations["x"] == 0.5 * x - h1(x, y)
    assert m.hidden_indices() == [(0, 1), (0, 1)]
    assert m.users("h1") == ["x"]


@pytest.mark.parametrize(
    "known, message",
    [
        ({"x": "0.5*x - h1(x, y)"}, r"no equation for 'y'"),
        ({"x": "h1(x)", "z": "1", "y": "1"}, r"'z' is not a state variable; expected one of x, y"),
        ({"x": "h1(x)", "y": "h1(y)"}, r"equation for 'y': hidden term h1 is used as h1\(y\) but as h1\(x\)"),
        ({"x": "0.5*x - h1(x,", "y": "1"}, r"equation for 'x': .*end of formula"),
        ({"x": "q*h1(x)", "y": "1"}, r"equation for 'x': .*'q'"),
        ({"x": "x", "y": "y"}, r"no hidden term"),
        ({"x": "h1(x*y)", "y": "1"}, r"equation for 'x': .*must be a variable"),
        (["x = h1(x)", "x = 2", "y = 1"], r"two equations for 'x'"),
        (["x h1(x)"], r"expected entries like"),
        (None, r"needs a partly known model"),
        (3.5, r"expected a dict"),
    ],
)
def test_parse_known_errors_name_the_problem(known, message) -> None:
    with pytest.raises(DiscoveryError, match=message):
        parse_known(known, ["x", "y"])


def test_substitute_and_torch_rhs_agree() -> None:
    m = parse_known({"theta": "omega", "omega": "-0.25*omega + h1(theta)"}, ["theta", "omega"])
    full = m.substitute({"h1": -5.0 * sympy.sin(theta)})
    assert sympy.simplify(full["omega"] - (-0.25 * sympy.Symbol("omega") - 5.0 * sympy.sin(theta))) == 0
    u = torch.tensor([[0.3, 1.0], [1.2, -2.0]])
    h = -5.0 * torch.sin(u[:, :1])  # (B, K)
    expected = torch.stack([u[:, 1], -0.25 * u[:, 1] + h[:, 0]], dim=1)
    torch.testing.assert_close(m.torch_rhs()(u, h), expected)


def test_torch_rhs_broadcasts_constant_equations() -> None:
    m = parse_known({"x": "h1(x)", "y": "2"}, ["x", "y"])
    out = m.torch_rhs()(torch.ones(3, 2), torch.zeros(3, 1))
    torch.testing.assert_close(out, torch.tensor([[0.0, 2.0]] * 3))


# --- picking formulas ------------------------------------------------------------------------------------------
def test_pick_from_front_prefers_knee_then_simplest_eligible() -> None:
    front = [
        SimpleNamespace(expr="a", complexity=1, mse=1.0),
        SimpleNamespace(expr="b", complexity=3, mse=0.012),
        SimpleNamespace(expr="c", complexity=9, mse=0.010),
        SimpleNamespace(expr="d", complexity=15, mse=0.003),
    ]
    assert [f.expr for f in pick_from_front(front, 3, scale=1.0, knee=2)] == ["c", "b", "d"]
    assert [f.expr for f in pick_from_front(front, 2, scale=1.0, knee=None)] == ["b", "c"]
    # with a small target scale only fits within 4x the best error are eligible; an ineligible knee is skipped
    front[1].mse, front[2].mse = 0.02, 0.015
    assert [f.expr for f in pick_from_front(front, 3, scale=0.01, knee=1)] == ["d"]
    assert pick_from_front([], 3, scale=1.0) == []


def test_snap_inner_constants_only_touches_function_arguments() -> None:
    assert snap_inner_constants(-5.02 * sympy.sin(0.9952 * theta)) == -5.02 * sympy.sin(theta)
    assert snap_inner_constants(sympy.sin(0.7 * theta)) == sympy.sin(0.7 * theta)
    assert snap_inner_constants(0.99 * theta) == 0.99 * theta


def test_prune_terms_drops_what_the_data_do_not_need() -> None:
    from discovery.methods.pinn import prune_terms

    X = np.random.default_rng(0).uniform(0.5, 3.0, size=(80, 2))  # (N, 2)
    target = 0.1 * X[:, 0] * X[:, 1]
    pruned = prune_terms(0.1003 * x * y - 0.0375 + 2e-4 * x**3, X, target, ["x", "y"], limit=1e-8)
    assert pruned.free_symbols == {x, y} and len(sympy.Add.make_args(pruned)) == 1
    assert float(pruned.coeff(x * y)) == pytest.approx(0.1, rel=1e-6)
    # a term the data need stays
    kept = prune_terms(0.1 * x * y - 0.5 * x, X, 0.1 * X[:, 0] * X[:, 1] - 0.5 * X[:, 0], ["x", "y"], limit=1e-8)
    assert len(sympy.Add.make_args(kept)) == 2


def test_combine_orders_by_rank_sum() -> None:
    assert combine([["a0", "a1"], ["b0", "b1", "b2"]], 4) == [("a0", "b0"), ("a0", "b1"), ("a1", "b0"),
                                                               ("a0", "b2")]


def test_make_config_rejects_unknown_fields() -> None:
    assert make_config(PINNTrainConfig, {"adam_steps": 5}, "training").adam_steps == 5
    with pytest.raises(DiscoveryError, match="unknown field.*adam_step"):
        make_config(PINNTrainConfig, {"adam_step": 5}, "training")


# --- the method --------------------------------------------------------------------------------------------------
def test_registered() -> None:
    assert "pinn" in method_names()
    with pytest.raises(DiscoveryError, match="pinn"):
        get_method("pinn", no_such_option=1)


def test_propose_without_known_model_says_what_to_give() -> None:
    from discovery.simulation import simulate

    data = simulate("van_der_pol", t=np.linspace(0, 5, 20))
    with pytest.raises(DiscoveryError, match="needs a partly known model"):
        get_method("pinn").propose(data, MethodContext(device="cpu"))


def test_recovers_a_hidden_restoring_force() -> None:
    """x' = y, y' = h1(x) on a clean harmonic oscillator: h1 = -x is found and substituted."""
    from discovery.data import Trajectories, Trajectory

    t = np.linspace(0.0, 6.0, 30)
    trajs = [Trajectory(t, np.stack([a * np.cos(t), -a * np.sin(t)], axis=1)) for a in (1.0, 2.0)]
    data = Trajectories(("x", "y"), trajs)
    method = get_method(
        "pinn",
        known={"x": "y", "y": "h1(x)"},
        training={"n_collocation": 64, "warmup_steps": 300, "hidden_steps": 300, "adam_steps": 600,
                  "lbfgs_steps": 50},
        sr_time_budget_s=3.0,
        n_samples=200,
    )
    context = MethodContext(device="cpu", seed=0)
    candidates = method.propose(data, context)
    assert candidates and all(c.method == "pinn" for c in candidates)
    assert all(c.equations["x"] == y for c in candidates)
    linear = [c.equations["y"] for c in candidates if c.equations["y"].is_polynomial(x)
              and c.equations["y"].free_symbols == {x} and sympy.Poly(c.equations["y"], x).degree() == 1]
    assert linear, [c.equations["y"] for c in candidates]
    assert float(linear[0].coeff(x)) == pytest.approx(-1.0, rel=0.05)
    assert all(set(c.info["hidden"]) == {"h1"} for c in candidates)


# --- the benchmark's helpers ---------------------------------------------------------------------------------------
def test_benchmark_coefficient_error_and_arguments() -> None:
    import argparse

    from discovery.bench.neural import CASES, add_arguments, coefficient_error

    truth = {"x": -0.1 * x * y + x, "y": 0.075 * x * y - 1.5 * y}
    found = {"x": -0.11 * x * y + 1.0 * x, "y": 0.075 * x * y - 1.5 * y}
    assert coefficient_error(found, truth) == pytest.approx(0.1)
    assert set(CASES) == {"lotka_volterra", "damped_pendulum", "sir", "van_der_pol"}
    for case in CASES.values():  # every partly known model parses against its system's variables
        from grammar.zoo import get_system

        variables = [v.lower() for v in get_system(case.system).variables]
        assert parse_known(case.known, variables).hidden
    parser = argparse.ArgumentParser()
    add_arguments(parser, "node")
    assert parser.parse_args([]).which == "node"
    with pytest.raises(ValueError, match="'pinn' or 'node'"):
        add_arguments(argparse.ArgumentParser(), "prose")
