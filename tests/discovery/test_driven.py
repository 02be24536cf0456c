"""Driven systems (issue 18): inputs, per-trajectory parameters and explicit time, through every layer."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import sympy

from discovery import discover
from discovery.data import Trajectories, Trajectory, load_trajectories
from discovery.errors import DataError, DiscoveryError
from discovery.inputs import InputSignal, input_function, input_jumps, smooth_pieces
from discovery.result import DiscoveryResult
from discovery.simulation import integrate, lambdify_system


def _csv(rows: list[list[float]], header: str) -> io.BytesIO:
    buffer = io.BytesIO((header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)).encode())
    buffer.name = "driven.csv"
    return buffer


def _forced_oscillator(t: np.ndarray, u: np.ndarray, x0=(1.0, 0.0)) -> np.ndarray:
    """x' = v, v' = -x - 0.1 v + u(t): a damped linear oscillator pushed by the input."""
    x, v, w = sympy.symbols("x v u")
    f = lambdify_system([v, -x - 0.1 * v + w], ["x", "v"], ["u"], InputSignal(t, u[:, None]))
    return integrate(f, list(x0), t)


# --- the data layer ----------------------------------------------------------------------------------------
def test_loader_splits_states_inputs_and_parameters() -> None:
    t = np.linspace(0, 1, 20)
    data = load_trajectories({"t": np.r_[t, t], "x": np.r_[t, -t], "u": np.r_[np.sin(t), np.cos(t)],
                              "mu": np.r_[np.ones(20), 2 * np.ones(20)], "trajectory": np.r_[np.zeros(20), np.ones(20)]},
                             inputs=["u"], parameters="mu")
    assert data.variables == ("x",) and data.inputs == ("u",) and data.parameters == ("mu",)
    assert data[1].u.shape == (20, 2) and data[1].u[0, 1] == 2.0
    assert "1 input (u), 1 parameter (mu)" in data.summary()
    assert list(data.to_frame().columns) == ["t", "x", "u", "mu", "trajectory"]
    assert data.subset([1]).external == ("u", "mu") and data.with_noise(0.1)[0].u.shape == (20, 2)


@pytest.mark.parametrize("kwargs, text, column", [
    ({"inputs": ["w"]}, "input 'w' not found", None),
    ({"inputs": ["u"], "parameters": ["u"]}, "both an input and a parameter", None),
    ({"parameters": ["u"]}, "parameter 'u' changes", "u"),
])
def test_loader_refuses_bad_roles(kwargs: dict, text: str, column: str | None) -> None:
    rows = [[0.1 * k, np.exp(-0.1 * k), np.sin(k)] for k in range(15)]
    with pytest.raises(DataError, match=text) as info:
        load_trajectories(_csv(rows, "t,x,u"), **kwargs)
    assert "\n" not in str(info.value) and info.value.column == column


def test_an_input_with_a_gap_is_named_with_its_row() -> None:
    rows = [[0.1 * k, np.exp(-0.1 * k), np.sin(k)] for k in range(15)]
    text = "t,x,u\n" + "".join(f"{a},{b},{'' if k == 6 else c}\n" for k, (a, b, c) in enumerate(rows))
    buffer = io.BytesIO(text.encode())
    buffer.name = "gappy.csv"
    with pytest.raises(DataError, match="input 'u' has a gap") as info:
        load_trajectories(buffer, inputs=["u"])
    assert info.value.row == 8 and info.value.file == "gappy.csv"  # the header is line 1


def test_a_parameter_that_changes_within_a_trajectory_names_the_row() -> None:
    rows = [[0.1 * k, np.exp(-0.1 * k), 1.0 if k < 9 else 1.5] for k in range(15)]
    with pytest.raises(DataError, match="parameter 'mu' changes .*declare it an input") as info:
        load_trajectories(_csv(rows, "t,x,mu"), parameters=["mu"])
    assert info.value.row == 11


# --- simulation with inputs --------------------------------------------------------------------------------
def test_simulation_with_inputs_matches_the_analytic_solution() -> None:
    # x' = -x + u with u = sin(t), x(0) = 0: x = (sin t - cos t + exp(-t)) / 2
    t = np.linspace(0, 6, 601)
    x = sympy.Symbol("x")
    f = lambdify_system([-x + sympy.Symbol("u")], ["x"], ["u"], InputSignal(t, np.sin(t)[:, None]))
    exact = 0.5 * (np.sin(t) - np.cos(t) + np.exp(-t))
    assert np.max(np.abs(integrate(f, [0.0], t)[:, 0] - exact)) < 1e-4  # linear between samples: O(dt^2)
    g = lambdify_system([-x + sympy.sin(sympy.Symbol("t"))], ["x"])  # the same drive written in time
    assert np.max(np.abs(integrate(g, [0.0], t)[:, 0] - exact)) < 1e-7


def test_input_function_takes_callables_arrays_and_dicts() -> None:
    t = np.linspace(0, 1, 11)
    for given in (lambda s: [np.sin(s), 2.0], np.c_[np.sin(t), 2 * np.ones(11)], {"u": np.sin(t), "mu": 2.0}):
        assert np.allclose(input_function(given, t, ["u", "mu"])(0.5), [np.sin(0.5), 2.0], atol=2e-3)
    with pytest.raises(DataError, match="needs its inputs"):
        input_function(None, t, ["u"])
    with pytest.raises(DataError, match="shape"):
        input_function(np.zeros((5, 2)), t, ["u", "mu"])


def test_input_jumps_cut_the_regression_rows() -> None:
    u = np.r_[np.full(100, 0.2), np.full(100, 0.5)][:, None]
    assert input_jumps(u).tolist() == [99]
    pieces = smooth_pieces(u)
    assert len(pieces) == 2 and pieces[0].stop < 100 < pieces[1].start
    assert smooth_pieces(np.sin(np.linspace(0, 10, 200))[:, None]) == [slice(0, 200)]


# --- discovery -----------------------------------------------------------------------------------------------
def test_a_forced_linear_oscillator_is_recovered_with_its_input() -> None:
    t = np.arange(0, 20.0001, 0.02)
    u = np.sin(1.3 * t) + 0.5 * np.cos(3.1 * t)
    data = Trajectories(["x", "v"], [Trajectory(t, _forced_oscillator(t, u), u[:, None])], inputs=["u"])
    result = discover(data, method="sindy", uncertainty=False)
    x, v, w = sympy.symbols("x v u")
    assert sympy.simplify(result.equations["v"].xreplace({f: round(float(f), 2) for f in
                                                          result.equations["v"].atoms(sympy.Float)})
                          - (w - x - 0.1 * v)) == 0
    assert result.inputs == ("u",) and result.to_dict()["inputs"] == ["u"]
    # simulated under a new input signal, given three ways
    t2 = np.linspace(0, 10, 501)
    u2 = 0.7 * np.cos(0.8 * t2)
    truth = _forced_oscillator(t2, u2, (0.0, 1.0))
    for given in (u2, lambda s: [0.7 * np.cos(0.8 * s)], {"u": u2}):
        assert np.max(np.abs(result.simulate([0.0, 1.0], t2, inputs=given) - truth)) < 1e-2
    with pytest.raises(DataError, match="needs its inputs"):
        result.simulate([0.0, 1.0], t2)
    # exports take the inputs as arguments
    f = result.rhs_numpy()
    assert np.allclose(f(0.0, np.array([1.0, 0.0]), [0.5]), [0.0, -0.5], atol=1e-2)
    space: dict = {}
    exec(result.python_source(), space)  # our own generated code
    assert np.allclose(space["rhs"](0.0, [1.0, 0.0], [0.5]), [0.0, -0.5], atol=1e-2)
    back = DiscoveryResult.from_dict(json.loads(result.to_json()))
    assert back.inputs == ("u",) and back.equations == result.equations


def test_rhs_torch_takes_the_inputs() -> None:
    torch = pytest.importorskip("torch")
    from models.torch_system import SympySystem

    x, u, t = sympy.symbols("x u t")
    system = SympySystem({"x": -2.0 * x + u + sympy.cos(t)}, inputs=["u"])
    out = system(0.0, torch.tensor([[1.0], [2.0]]), torch.tensor([[1.0], [0.5]]))
    assert torch.allclose(out[:, 0], torch.tensor([0.0, -2.5]))
    with pytest.raises(ValueError, match="inputs"):
        system(0.0, torch.tensor([[1.0]]))


def test_a_parameter_sweep_is_recovered() -> None:
    t = np.arange(0, 8.0001, 0.02)
    x = sympy.Symbol("x")
    trajectories = []
    for mu, x0 in ((-1.0, 1.5), (0.3, 0.1), (1.0, -0.2), (1.5, 2.0)):
        f = lambdify_system([mu * x - x**3], ["x"])
        trajectories.append(Trajectory(t, integrate(f, [x0], t), np.full((len(t), 1), mu)))
    data = Trajectories(["x"], trajectories, parameters=["mu"])
    result = discover(data, method="sindy", uncertainty=False)
    found = result.equations["x"]
    mu = sympy.Symbol("mu")
    assert {sympy.Mul(*[f for f in term.args if not f.is_Number]) for term in sympy.Add.make_args(found)} == \
        {mu * x, x**3}
    truth = integrate(lambdify_system([0.8 * x - x**3], ["x"]), [0.3], t)  # a value of mu it never saw
    assert np.max(np.abs(result.simulate([0.3], t, inputs={"mu": 0.8}) - truth)) < 2e-2


def test_methods_that_cannot_use_inputs_refuse_in_one_line() -> None:
    with pytest.raises(DiscoveryError, match="cannot use inputs") as info:
        discover(np.zeros(1), method="sindy,node", inputs=["u"])  # refused before the data is read
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["lotka_volterra", "van_der_pol"])
def test_the_drive_search_leaves_autonomous_data_alone(name: str) -> None:
    from discovery.methods.base import MethodContext
    from discovery.pipeline import drive
    from discovery.simulation import simulate

    data = simulate(name, noise=0.01, seed=0)
    plain = discover(data, method="sindy", uncertainty=False)
    peak = drive.residual_peak(plain.best, data, MethodContext().derivatives(data))
    assert peak is not None and not peak.clear  # auto never tries a drive here
    timed = discover(data, method="sindy", uncertainty=False, time_dependent=True)  # tried: it must not win
    assert any("drive_frequency" in c.info for c in timed.candidates)
    assert timed.equations == plain.equations


def test_a_periodic_drive_is_found_in_time() -> None:
    t = np.arange(0, 40.0001, 0.02)
    x, v, tt = sympy.symbols("x v t")
    f = lambdify_system([v, -0.2 * v - x - x**3 + 0.8 * sympy.cos(1.3 * tt)], ["x", "v"])
    data = Trajectories(["x", "v"], [Trajectory(t, integrate(f, [0.5, 0.0], t))])
    from discovery.methods.base import MethodContext
    from discovery.pipeline import drive as drv
    from discovery.pipeline.scoring import select_best, selection_error

    plain = discover(data, method="sindy", uncertainty=False)  # autonomous
    simplest = select_best(plain.candidates, paired=False)  # what auto looks at
    peak = drv.residual_peak(simplest, data, MethodContext().derivatives(data))
    assert peak.clear and drv.unexplained(selection_error(simplest), 0.0)  # so auto tries the drive
    result = discover(data, method="sindy", time_dependent=True, uncertainty=False)
    drive = [a for a in result.equations["v"].atoms(sympy.cos)]
    assert len(drive) == 1 and abs(float(drive[0].args[0].coeff(tt)) - 1.3) < 1e-3
    assert result.metrics["r2"] > 0.99


def test_the_command_line_takes_inputs_and_parameters(tmp_path, capsys) -> None:
    from discovery.cli import main

    t = np.arange(0, 20.0001, 0.02)
    u = np.sin(1.3 * t) + 0.5 * np.cos(3.1 * t)
    x = _forced_oscillator(t, u)
    path = tmp_path / "forced.csv"
    Trajectories(["x", "v"], [Trajectory(t, x, u[:, None])], inputs=["u"]).to_csv(path)
    out = tmp_path / "out"
    assert main(["discover", str(path), "--out", str(out), "--method", "sindy", "--inputs", "u",
                 "--no-uncertainty", "--quiet"]) == 0
    payload = json.loads((out / "forced.json").read_text())
    assert payload["inputs"] == ["u"] and payload["parameters"] == [] and "u" in payload["equations"]["v"]
    assert main(["discover", str(path), "--out", str(tmp_path / "bad"), "--inputs", "w", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "input 'w' not found" in err
