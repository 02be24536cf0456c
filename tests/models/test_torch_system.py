"""SympySystem (sympy -> torch vector field) and torch_simulate (torchdiffeq), against numpy and exact solutions."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest
import sympy
import torch

from discovery.simulation import integrate, lambdify_system
from grammar.errors import GrammarError
from grammar.zoo import ZOO
from models.torch_system import SympySystem, TorchSimulationError, torch_simulate

torch.set_num_threads(1)
x, y, z = sympy.symbols("x y z")


def _numpy_rhs(exprs: list[sympy.Expr], names: list[str], states: np.ndarray) -> np.ndarray:
    f = lambdify_system(exprs, names)
    return np.stack([f(0.0, s) for s in states])  # (B, D)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_vector_fields_match_numpy(name: str) -> None:
    system = ZOO[name]
    rhs = system.rhs()
    module = SympySystem(rhs, dtype=torch.float64)
    states = np.random.default_rng(0).uniform(0.2, 1.5, size=(5, system.dim))  # (B, D)
    expected = _numpy_rhs([rhs[v] for v in system.variables], list(system.variables), states)
    got = module(0.0, torch.as_tensor(states))
    assert got.shape == (5, system.dim)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)
    single = module(0.0, torch.as_tensor(states[0]))
    assert single.shape == (system.dim,)
    np.testing.assert_allclose(single.numpy(), expected[0], rtol=1e-12, atol=1e-12)


def test_powers_and_functions_of_the_grammar() -> None:
    exprs = [
        x**-1 + x**-2 + sympy.sqrt(x) + 1 / sympy.sqrt(y) + x ** sympy.Rational(3, 2),
        2**x + x**y + sympy.exp(-y) * sympy.log(x) + sympy.Abs(x - y) + sympy.tanh(y) + sympy.tan(x / 4),
        sympy.pi * x**3 + sympy.E + sympy.Rational(1, 3) * y + x**2.5,
    ]
    states = np.array([[0.7, 1.3, 0.0], [2.0, 0.4, 1.0]])
    module = SympySystem(exprs, ["x", "y", "z"], dtype=torch.float64)
    expected = _numpy_rhs(exprs, ["x", "y", "z"], states)
    np.testing.assert_allclose(module(0.0, torch.as_tensor(states)).numpy(), expected, rtol=1e-12)


def test_constants_become_parameters_and_round_trip_to_sympy() -> None:
    equations = {"x": -1.5 * x + 0.5 * y, "y": sympy.sin(2.0 * x) - y / 3}
    learn = SympySystem(equations, learn_constants=True)
    assert [p.numel() for p in learn.parameters()] == [3]  # -1.5, 0.5 and 2.0; -1 and 1/3 are structural
    assert learn.to_sympy() == {"x": -1.5 * x + 0.5 * y, "y": sympy.sin(2.0 * x) - y / 3}
    replace = {-1.5: -2.0, 0.5: 0.25, 2.0: 3.0}  # constants come in sympy's argument order
    with torch.no_grad():
        learn.constants.copy_(torch.tensor([replace[v] for v in learn.constants.tolist()]))
    assert learn.to_sympy() == {"x": -2.0 * x + 0.25 * y, "y": sympy.sin(3.0 * x) - y / 3}
    fixed = SympySystem(equations)
    assert list(fixed.parameters()) == [] and fixed.constants.numel() == 3
    assert "constants" in dict(fixed.named_buffers())


def test_systems_pickle_and_copy() -> None:
    module = SympySystem({"x": -1.5 * x * y, "y": sympy.cos(0.5 * x)}, learn_constants=True, dtype=torch.float64)
    states = torch.rand(3, 2, dtype=torch.float64)
    for clone in (pickle.loads(pickle.dumps(module)), copy.deepcopy(module)):
        torch.testing.assert_close(clone(0.0, states), module(0.0, states))
        assert clone.to_sympy() == module.to_sympy()


def test_constant_right_hand_sides_broadcast_over_the_batch() -> None:
    module = SympySystem({"x": sympy.Float(1.2), "y": sympy.Integer(2)})
    out = module(0.0, torch.zeros(4, 2))
    assert out.shape == (4, 2)
    torch.testing.assert_close(out, torch.tensor([[1.2, 2.0]]).expand(4, 2))


def test_errors_name_the_problem() -> None:
    with pytest.raises(GrammarError, match="'k'.*not a state variable"):
        SympySystem({"x": sympy.Symbol("k") * x})
    with pytest.raises(GrammarError, match="unsupported operator 'gamma'"):
        SympySystem({"x": sympy.gamma(x)})
    with pytest.raises(GrammarError, match="needs `variables`"):
        SympySystem([x])
    with pytest.raises(ValueError, match="2 components"):
        SympySystem({"x": y, "y": x})(0.0, torch.zeros(3, 3))


def test_torch_simulation_of_a_linear_system_matches_exp_and_scipy() -> None:
    equations = {"x": -0.5 * x + 1.0 * y, "y": -1.0 * x - 0.5 * y}
    module = SympySystem(equations, dtype=torch.float64)
    t = np.linspace(0.0, 5.0, 51)
    sol = torch_simulate(module, torch.tensor([1.0, 0.0], dtype=torch.float64), torch.as_tensor(t), device="cpu",
                         rtol=1e-9, atol=1e-11)
    assert sol.shape == (51, 2) and sol.dtype == torch.float64
    exact = np.exp(-0.5 * t)[:, None] * np.c_[np.cos(t), -np.sin(t)]
    np.testing.assert_allclose(sol.numpy(), exact, atol=1e-5)
    scipy_sol = integrate(lambdify_system(equations, ["x", "y"]), [1.0, 0.0], t)
    np.testing.assert_allclose(sol.numpy(), scipy_sol, atol=1e-5)
    batch = torch_simulate(module, [[1.0, 0.0], [0.0, 2.0]], t, device="cpu")  # (N, B, D)
    assert batch.shape == (51, 2, 2)
    np.testing.assert_allclose(batch[:, 0].numpy(), exact, atol=1e-5)


def test_gradients_reach_the_constants_and_adam_recovers_a_decay_rate() -> None:
    t = torch.linspace(0.0, 2.0, 21, dtype=torch.float64)
    target = 2.0 * torch.exp(-0.7 * t)  # data from dx/dt = -0.7 x
    model = SympySystem({"x": -0.3 * x}, learn_constants=True, dtype=torch.float64)
    pred = torch_simulate(model, torch.tensor([2.0], dtype=torch.float64), t, device="cpu")[:, 0]
    loss = ((pred - target) ** 2).mean()
    loss.backward()
    grad = model.constants.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().item() > 0
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(80):
        optimizer.zero_grad()
        pred = torch_simulate(model, torch.tensor([2.0], dtype=torch.float64), t, device="cpu", rtol=1e-6,
                              atol=1e-8)[:, 0]
        loss = ((pred - target) ** 2).mean()
        loss.backward()
        optimizer.step()
    assert abs(model.constants.item() + 0.7) < 5e-3
    learned = model.to_sympy()["x"]
    assert abs(float(learned.coeff(x)) + 0.7) < 5e-3


def test_blow_up_raises_torch_simulation_error() -> None:
    module = SympySystem({"x": x**2})  # x(t) = 1 / (1 - t)
    with pytest.raises(TorchSimulationError, match="blew up|gave up"):
        torch_simulate(module, torch.tensor([1.0]), torch.linspace(0.0, 2.0, 11), device="cpu")


def test_fixed_grid_methods_and_options() -> None:
    module = SympySystem({"x": -1.0 * x}, dtype=torch.float64)
    t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    sol = torch_simulate(module, torch.tensor([1.0], dtype=torch.float64), t, method="rk4", device="cpu",
                         options={"step_size": 0.01})
    np.testing.assert_allclose(sol[:, 0].numpy(), np.exp(-t.numpy()), atol=1e-8)


def test_importing_models_is_light() -> None:
    code = "import sys, models; sys.exit('torch' in sys.modules or 'transformers' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=".", capture_output=True).returncode == 0
    from models import SympySystem as exported, torch_simulate as exported_simulate

    assert exported is SympySystem and exported_simulate is torch_simulate


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_simulation_on_cuda_matches_cpu() -> None:
    system = ZOO["lorenz"]
    module = SympySystem(system.rhs(), dtype=torch.float64)
    t = torch.linspace(0.0, 1.0, 51, dtype=torch.float64)
    x0 = torch.tensor(system.x0, dtype=torch.float64)
    cpu = torch_simulate(module, x0, t, device="cpu")
    gpu = torch_simulate(module, x0, t, device="cuda")
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)
