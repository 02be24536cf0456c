"""Simulation: numpy right-hand sides, the guarded stiff-aware integrator, zoo data with noise."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import sympy

from discovery.data import Trajectories
from discovery.errors import DataError, SimulationError
from discovery.simulation import (
    default_time_grid,
    integrate,
    lambdify_system,
    sample_initial_condition,
    sample_params,
    simulate,
)
from grammar.errors import GrammarError
from grammar.zoo import ZOO, get_system

x, y, z = sympy.symbols("x y z")


# --- lambdify_system -------------------------------------------------------------------------------------------
def test_lambdify_system_evaluates_single_and_batched_states() -> None:
    f = lambdify_system([x * y, sympy.sin(x) - 2.5, sympy.Float(3.0)], ["x", "y", "z"])
    state = np.array([0.5, 2.0, -1.0])
    np.testing.assert_allclose(f(0.0, state), [1.0, np.sin(0.5) - 2.5, 3.0])
    batch = np.array([[0.5, 1.0], [2.0, 3.0], [0.0, 0.0]])  # (D, K) as solve_ivp's vectorized mode passes it
    out = f(0.0, batch)
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out[:, 1], [3.0, np.sin(1.0) - 2.5, 3.0])


def test_lambdify_system_accepts_a_mapping_and_checks_symbols() -> None:
    f = lambdify_system({"y": -x, "x": y}, ["x", "y"])
    np.testing.assert_allclose(f(0.0, np.array([1.0, 2.0])), [2.0, -1.0])
    with pytest.raises(GrammarError, match=r"\['k'\].*not state variables"):
        lambdify_system([sympy.Symbol("k") * x], ["x"])
    with pytest.raises(GrammarError, match="one right-hand side per variable"):
        lambdify_system([x, y], ["x"])
    with pytest.raises(GrammarError, match=r"no right-hand side for variable\(s\) \['y'\]"):
        lambdify_system({"x": y}, ["x", "y"])


# --- integrate -------------------------------------------------------------------------------------------------
def test_integrate_matches_the_exact_solution_of_a_linear_system() -> None:
    f = lambdify_system([-0.5 * x + y, -x - 0.5 * y], ["x", "y"])
    t = np.linspace(0.0, 5.0, 51)
    sol = integrate(f, [1.0, 0.0], t)
    exact = np.exp(-0.5 * t)[:, None] * np.c_[np.cos(t), -np.sin(t)]
    np.testing.assert_allclose(sol, exact, atol=1e-8)
    for method in ("RK45", "LSODA", "Radau"):
        np.testing.assert_allclose(integrate(f, [1.0, 0.0], t, method=method, rtol=1e-9), exact, atol=1e-6)


def test_integrate_single_time_point_returns_the_initial_state() -> None:
    out = integrate(lambdify_system([-x], ["x"]), [2.0], [0.0])
    np.testing.assert_array_equal(out, [[2.0]])


def test_blow_up_raises_simulation_error() -> None:
    f = lambdify_system([x**2], ["x"])  # x(t) = 1 / (1 - t) blows up at t = 1
    with pytest.raises(SimulationError, match=r"blew up.*t=(0\.99|1)"):
        integrate(f, [1.0], np.linspace(0.0, 2.0, 201), time_limit=30.0)


def test_non_finite_states_raise_simulation_error() -> None:
    f = lambdify_system([sympy.log(x) - 3], ["x"])  # reaches x = 0 in finite time, then log is undefined
    with pytest.raises(SimulationError, match="could not integrate"):
        integrate(f, [0.5], np.linspace(0.0, 5.0, 51))


def test_stiff_van_der_pol_finishes_with_auto() -> None:
    f = lambdify_system([y, 1000.0 * (1 - x**2) * y - x], ["x", "y"])
    t = np.linspace(0.0, 3000.0, 301)
    sol = integrate(f, [2.0, 0.0], t, rtol=1e-6, atol=1e-8)
    assert sol.shape == (301, 2) and np.all(np.isfinite(sol))
    assert np.abs(sol[:, 0]).max() < 2.1  # relaxation oscillation between about -2 and 2
    assert sol[:, 0].min() < -1.9  # and it really oscillates (the slow drift reaches the other branch)


def test_stiff_robertson_conserves_mass() -> None:
    f = lambdify_system([-0.04 * x + 1e4 * y * z, 0.04 * x - 1e4 * y * z - 3e7 * y**2, 3e7 * y**2], ["x", "y", "z"])
    t = np.concatenate([[0.0], np.logspace(-4, 1, 20), [40.0], np.logspace(2, 4, 10)])
    sol = integrate(f, [1.0, 0.0, 0.0], t, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(sol.sum(axis=1), 1.0, atol=1e-5)
    # the classic reference values at t = 40 (Hairer & Wanner, Solving ODEs II)
    at40 = sol[np.flatnonzero(t == 40.0)[0]]
    np.testing.assert_allclose(at40[[0, 2]], [0.7158271, 0.2841637], rtol=1e-4)


def test_time_limit_stops_a_slow_integration() -> None:
    f = lambdify_system([y, 1000.0 * (1 - x**2) * y - x], ["x", "y"])  # stiff: explicit RK45 crawls
    with pytest.raises(SimulationError, match="time_limit=0.2"):
        integrate(f, [2.0, 0.0], np.linspace(0.0, 3000.0, 301), method="RK45", time_limit=0.2)


def test_integrate_rejects_bad_inputs() -> None:
    f = lambdify_system([-x], ["x"])
    with pytest.raises(DataError, match="strictly increase"):
        integrate(f, [1.0], [0.0, 1.0, 1.0])
    with pytest.raises(DataError, match="shape"):
        integrate(f, [[1.0]], [0.0, 1.0])
    with pytest.raises(DataError, match="finite"):
        integrate(f, [np.nan], [0.0, 1.0])
    with pytest.raises(ValueError, match="valid methods: auto, RK45"):
        integrate(f, [1.0], [0.0, 1.0], method="euler")
    with pytest.raises(SimulationError, match="not finite at the initial state"):
        integrate(lambdify_system([1 / x], ["x"]), [0.0], [0.0, 1.0])


# --- the zoo -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_zoo_system_simulates_over_its_span(name: str) -> None:
    system = get_system(name)
    data = simulate(name, rtol=1e-6, atol=1e-8)
    assert isinstance(data, Trajectories) and data.source == name and data.variables == system.variables
    (traj,) = list(data)
    np.testing.assert_allclose(traj.t, default_time_grid(system))
    assert traj.t[0] == system.t_span[0] and abs(traj.t[-1] - system.t_span[1]) <= system.dt
    assert np.all(np.isfinite(traj.x)) and np.abs(traj.x).max() < 1e3
    assert np.all(traj.x.std(axis=0) > 1e-3)  # every variable moves
    # sampled parameters and initial conditions stay in the well-behaved regime too
    rng = np.random.default_rng(0)
    for _ in range(2):
        sampled = simulate(
            system, sample_params(system, rng), sample_initial_condition(system, rng), rtol=1e-6, atol=1e-8
        )
        assert np.abs(sampled[0].x).max() < 1e3


def test_simulate_noise_is_relative_and_seeded() -> None:
    t = np.linspace(0.0, 10.0, 2001)
    clean = simulate("van_der_pol", t=t)[0].x
    noisy = simulate("van_der_pol", t=t, noise=0.1, seed=3)[0].x
    again = simulate("van_der_pol", t=t, noise=0.1, seed=3)[0].x
    np.testing.assert_array_equal(noisy, again)
    ratio = (noisy - clean).std(axis=0) / (0.1 * clean.std(axis=0))
    np.testing.assert_allclose(ratio, 1.0, atol=0.1)


def test_simulate_overrides_parameters_and_initial_states() -> None:
    t = np.linspace(0.0, 2.0, 21)
    data = simulate("logistic", params={"r": 2.0}, x0={"x": 1.0}, t=t)
    r, k = 2.0, 10.0
    exact = k / (1 + (k - 1.0) * np.exp(-r * t))
    np.testing.assert_allclose(data[0].x[:, 0], exact, rtol=1e-7)
    many = simulate("van_der_pol", x0=np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]), t=t)
    assert len(many) == 3
    np.testing.assert_allclose(many[0].x[0], [1.0, 0.0])


def test_simulate_reports_parameter_and_state_mistakes() -> None:
    with pytest.raises(DataError, match=r"no parameter\(s\) \['kappa'\]"):
        simulate("lorenz", params={"kappa": 1.0})
    with pytest.raises(DataError, match="must have 3 values"):
        simulate("lorenz", x0=[1.0, 2.0])
    with pytest.raises(DataError, match=r"missing \['z'\]"):
        simulate("lorenz", x0={"x": 1.0, "y": 2.0})
    with pytest.raises(DataError, match="noise"):
        simulate("lorenz", noise=-0.1)
    with pytest.raises(ValueError, match="unknown ODE system"):
        simulate("no_such_system")


def test_samplers_stay_inside_the_ranges() -> None:
    rng = np.random.default_rng(5)
    for system in ZOO.values():
        params = sample_params(system, rng)
        assert all(system.param_ranges[k][0] <= v <= system.param_ranges[k][1] for k, v in params.items())
        x0 = sample_initial_condition(system, rng)
        assert x0.shape == (system.dim,)
        lo, hi = np.asarray(system.x0_range).T
        assert np.all((lo <= x0) & (x0 <= hi))
    first = sample_params("lorenz", np.random.default_rng(1))
    assert first == sample_params("lorenz", np.random.default_rng(1))


def test_importing_simulation_does_not_import_torch() -> None:
    code = "import sys, discovery.simulation; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=".", capture_output=True).returncode == 0
