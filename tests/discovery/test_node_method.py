"""The ``node`` method: neural ODE fitted with torchdiffeq, vector field distilled by symbolic regression."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from discovery.errors import DiscoveryError
from discovery.methods import MethodContext, get_method, method_names

torch.set_num_threads(1)


def test_registered_and_options_checked() -> None:
    assert "node" in method_names()
    with pytest.raises(DiscoveryError, match="node"):
        get_method("node", bogus=True)


def test_bad_training_field_is_a_discovery_error_before_any_work() -> None:
    with pytest.raises(DiscoveryError, match=r"node.training: unknown option\(s\) 'stepz'; valid: .*steps"):
        get_method("node", training={"stepz": 3})
    with pytest.raises(DiscoveryError, match="node.sr_backend: expected one of 'auto'"):
        get_method("node", sr_backend="gplearn")


def test_distills_a_linear_system() -> None:
    """x' = -0.5 x, y' = x - y from two clean trajectories: each component is recovered as a linear formula."""
    from discovery.data import Trajectories, Trajectory
    from discovery.simulation import integrate, lambdify_system

    x, y = sympy.symbols("x y")
    truth = {"x": -0.5 * x, "y": x - y}
    f = lambdify_system(truth, ["x", "y"])
    t = np.linspace(0.0, 4.0, 30)
    ics = ([2.0, 0.0], [1.0, 2.0], [-1.0, 1.0], [-2.0, -1.0])
    data = Trajectories(("x", "y"), [Trajectory(t, integrate(f, x0, t)) for x0 in ics])
    method = get_method("node", training={"steps": 500, "window": 4}, sr_time_budget_s=3.0, n_samples=300)
    candidates = method.propose(data, MethodContext(device="cpu", seed=0))
    assert candidates and all(c.method == "node" for c in candidates)
    # the pipeline ranks the candidates; here some candidate must have x' = c x exactly, and the dominant
    # linear terms of y' (a toy-sized network leaves small higher-order corrections)
    good = [c.equations for c in candidates if c.equations["x"].free_symbols == {x}
            and c.equations["x"].is_polynomial(x) and sympy.Poly(c.equations["x"], x).monoms() == [(1,)]]
    assert good, [c.equations for c in candidates]
    assert float(good[0]["x"].coeff(x)) == pytest.approx(-0.5, rel=0.1)
    dy = sympy.expand(good[0]["y"])
    assert float(dy.coeff(x).subs(y, 0).subs(x, 0)) == pytest.approx(1.0, rel=0.1)
    assert float(dy.coeff(y).subs(x, 0).subs(y, 0)) == pytest.approx(-1.0, rel=0.1)
    assert candidates[0].info["train_s"] > 0
