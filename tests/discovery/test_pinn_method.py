"""The partly known model (discovery/known.py) and the ``pinn`` method (discovery/methods/pinn.py)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from discovery.errors import DiscoveryError
from discovery.known import parse_known
from discovery.methods import MethodContext, get_method, method_names
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
        ({"x": "x + " * 25_000 + "h1(x)", "y": "1"}, r"equation for 'x': formula is 100,005 characters; at most "),
        ({"x": " + ".join(f"h{k}(x)" for k in range(1, 7)), "y": " + ".join(f"h{k}(y)" for k in range(7, 12))},
         r"11 hidden terms \(h1, h2, h3, ... h11\); at most 10"),
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


# --- options, checked when the method is made --------------------------------------------------------------------
def test_training_config_is_checked_up_front() -> None:
    assert get_method("pinn", training={"adam_steps": 5}).options.training == PINNTrainConfig(adam_steps=5)
    with pytest.raises(DiscoveryError, match=r"pinn.training: unknown option\(s\) 'adam_step'; valid: .*adam_steps"):
        get_method("pinn", training={"adam_step": 5})
    with pytest.raises(DiscoveryError, match="pinn.training.adam_steps: expected an integer"):
        get_method("pinn", training={"adam_steps": "many"})
    with pytest.raises(DiscoveryError, match="pinn.n_formulas: expected an integer >= 1, found 0"):
        get_method("pinn", n_formulas=0)


def test_known_option_is_parsed_up_front() -> None:
    with pytest.raises(DiscoveryError, match="pinn.known|equation for 'x'"):
        get_method("pinn", known={"x": "0.5*x - h1(x,", "y": "1"})
    assert get_method("pinn", known={"x": "h1(x)"}).options.known == {"x": "h1(x)"}


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
