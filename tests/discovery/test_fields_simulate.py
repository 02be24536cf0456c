"""PDE simulation: exact solutions, conservation laws, boundary conditions, failures, the zoo at toy size."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from discovery.errors import DataError, DiscoveryError, SimulationError
from discovery.fields import simulate_pde, simulate_zoo
from discovery.fields.compile import compile_rhs
from discovery.fields.solvers import solve_bounded, solve_periodic
from grammar.pde_zoo import PDE_ZOO, get_pde

u, u_x, u_xx, u_xxx, u_yy = sympy.symbols("u u_x u_xx u_xxx u_yy")
PERIODIC_X = np.linspace(0, 2 * np.pi, 64, endpoint=False)


def test_periodic_heat_matches_the_exact_decay_and_conserves_mass(close):
    t = np.linspace(0, 1, 11)
    u0 = 0.3 + np.sin(PERIODIC_X) + 0.5 * np.cos(3 * PERIODIC_X)
    f = simulate_pde({"u": 0.2 * u_xx}, {"u": u0}, t, {"x": PERIODIC_X})
    exact = 0.3 + np.exp(-0.2 * t)[:, None] * np.sin(PERIODIC_X) + 0.5 * np.exp(-1.8 * t)[:, None] * np.cos(
        3 * PERIODIC_X)
    close(f.values["u"], exact, rtol=0, atol=1e-8, what="heat")
    close(f.values["u"].mean(axis=1), np.full(11, 0.3), atol=1e-12, what="mass")
    assert f.periodic == {"x": True}


def test_dirichlet_heat_decays_like_the_sine_series(close):
    x = np.linspace(0, np.pi, 65)
    t = np.linspace(0, 1, 6)
    f = simulate_pde({"u": 0.5 * u_xx}, {"u": np.sin(x) + 0.2 * np.sin(4 * x)}, t, {"x": x}, boundary="dirichlet")
    exact = np.exp(-0.5 * t)[:, None] * np.sin(x) + 0.2 * np.exp(-8 * t)[:, None] * np.sin(4 * x)
    close(f.values["u"], exact, rtol=0, atol=2e-4, what="dirichlet heat")
    assert np.all(np.diff(np.abs(f.values["u"]).max(axis=1)) < 0), "heat decays"
    assert f.periodic == {"x": False}


def test_neumann_keeps_mass_and_allen_cahn_stays_bounded():
    x = np.linspace(0, 1, 65)
    t = np.linspace(0, 0.5, 6)
    f = simulate_pde({"u": 0.1 * u_xx}, {"u": np.cos(np.pi * x) + 1.0}, t, {"x": x}, boundary="neumann")
    mass = np.trapezoid(f.values["u"], x, axis=1)
    assert np.ptp(mass) < 1e-4 * mass[0]
    ac = simulate_zoo("allen_cahn", grid=(16, 48), seed=3)
    assert np.abs(ac.values["u"]).max() <= 1.0 + 1e-6


def test_burgers_conserves_mass_and_loses_energy_and_both_solvers_agree(close):
    system = get_pde("burgers")
    f = simulate_zoo(system, grid=(16, 128))
    values = f.values["u"]
    close(values.sum(axis=1), np.full(16, values[0].sum()), rtol=1e-9, what="mass")
    assert np.all(np.diff((values**2).sum(axis=1)) < 0)
    rhs = compile_rhs(system.rhs(), ("u",), ("x",))
    fd = solve_bounded(rhs, values[:1], [f.spacing("x")], f.t, ["periodic"], rtol=1e-8)
    close(fd[0], values, rtol=0, atol=5e-3, what="finite differences vs spectral")


def test_kdv_conserves_mass_and_momentum(close):
    f = simulate_zoo("kdv", grid=(12, 128))
    values = f.values["u"]
    close(values.sum(axis=1), np.full(12, values[0].sum()), rtol=1e-9, what="mass")
    close((values**2).sum(axis=1), np.full(12, (values[0] ** 2).sum()), rtol=1e-3, what="momentum")


def test_two_dimensional_heat_mode_decays_exactly(close):
    x = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    t = np.linspace(0, 1, 5)
    X, Y = np.meshgrid(x, x, indexing="ij")
    f = simulate_pde({"u": 0.1 * u_xx + 0.1 * u_yy}, {"u": np.sin(X) * np.cos(2 * Y)}, t, {"x": x, "y": x})
    exact = np.exp(-0.5 * t)[:, None, None] * (np.sin(X) * np.cos(2 * Y))[None]
    close(f.values["u"], exact, rtol=0, atol=1e-8, what="2-D heat")


@pytest.mark.parametrize("name", sorted(PDE_ZOO))
def test_every_zoo_pde_simulates_at_toy_size(name):
    system = get_pde(name)
    grid = (8, 96) if system.dim == 1 else (8, 16, 16)
    f = simulate_zoo(name, grid=grid, seed=2)
    assert f.shape == grid and f.names == system.fields
    assert all(np.all(np.isfinite(v)) for v in f.values.values())
    assert f.periodic == {a: system.periodic for a in system.axes}


def test_failures_are_clear():
    t = np.linspace(0, 5, 6)
    with pytest.raises(SimulationError, match="ill-posed|blew up"):
        simulate_pde({"u": -1.0 * u_xx}, {"u": np.sin(PERIODIC_X)}, t, {"x": PERIODIC_X})
    with pytest.raises(SimulationError, match="blew up|cannot be resolved"):
        simulate_pde({"u": u**3}, {"u": 2 + np.sin(PERIODIC_X)}, t, {"x": PERIODIC_X})
    with pytest.raises(DiscoveryError, match="uses 'w', which is not a field"):
        simulate_pde({"u": sympy.Symbol("w")}, {"u": np.sin(PERIODIC_X)}, t, {"x": PERIODIC_X})
    with pytest.raises(DataError, match="initial fields have shape"):
        simulate_pde({"u": u_xx}, {"u": np.zeros(10)}, t, {"x": PERIODIC_X})


def test_periodic_solver_respects_its_time_limit():
    rhs = compile_rhs({"u": -u * u_x - 1e-4 * u_xxx}, ("u",), ("x",))
    with pytest.raises(SimulationError, match="time limit"):
        solve_periodic(rhs, 20 * np.sin(PERIODIC_X)[None], [PERIODIC_X[1]], np.linspace(0, 50, 400),
                       rtol=1e-12, time_limit=0.05)
