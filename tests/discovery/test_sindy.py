"""The ``sindy`` method: libraries, sparsity path, automatic threshold choice, ensemble, registry wrapper."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from scipy.integrate import solve_ivp

from discovery.data import Trajectories, Trajectory
from discovery.errors import DiscoveryError
from discovery.methods import get_method
from discovery.methods.base import MethodContext
from discovery.methods.sindy import SINDyConfig, SINDyMethod, build_library, fit_sindy, term_set
from discovery.symbolic import to_candidate_expr


def _solve(rhs, x0, t):
    sol = solve_ivp(rhs, (t[0], t[-1]), x0, t_eval=t, rtol=1e-10, atol=1e-10, method="LSODA")
    return sol.y.T  # (N, D)


def _exact_derivatives(rhs, x):
    return np.array([rhs(0.0, row) for row in x])  # (N, D)


def _lorenz(t, s):
    x, y, z = s
    return [10.0 * (y - x), x * (28.0 - z) - y, x * y - 8.0 / 3.0 * z]


def _lotka_volterra(scale_x: float = 1.0, scale_t: float = 1.0):
    """LV with states multiplied by ``scale_x`` and time by ``scale_t``: same orbit, other coefficient scale."""
    a, b, c, d = 1.0, 0.1, 0.075, 1.5

    def rhs(t, s):
        x, y = s[0] / scale_x, s[1] / scale_x
        return [scale_x / scale_t * (a * x - b * x * y), scale_x / scale_t * (c * x * y - d * y)]

    truth = {
        "x": a / scale_t * sympy.Symbol("x") - b / (scale_t * scale_x) * sympy.Symbol("x") * sympy.Symbol("y"),
        "y": c / (scale_t * scale_x) * sympy.Symbol("x") * sympy.Symbol("y") - d / scale_t * sympy.Symbol("y"),
    }
    return rhs, truth


def _coefficients(expr):
    return {t.as_coeff_Mul()[1]: float(t.as_coeff_Mul()[0]) for t in sympy.Add.make_args(sympy.expand(expr))}


def _assert_recovered(found: dict, truth: dict, rtol: float) -> None:
    for v, true_expr in truth.items():
        got = to_candidate_expr(found[v], rel_tol=0.0)
        assert term_set(got) == term_set(true_expr), f"d{v}/dt: found {got}, expected {true_expr}"
        want, have = _coefficients(true_expr), _coefficients(got)
        for term, value in want.items():
            assert have[term] == pytest.approx(value, rel=rtol), f"d{v}/dt, term {term}: {have[term]} vs {value}"


@pytest.mark.parametrize("name", ["poly", "poly_trig", "rational"])
def test_library_columns_match_their_sympy_features(name):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 2.0, size=(40, 3))
    lib = build_library(name, x, ["a", "b", "c"], degree=3, trig_vars=[0, 2])
    theta = lib.transform(x)  # (N, P)
    f = sympy.lambdify(sympy.symbols("a b c"), lib.features, modules="numpy")
    expected = np.stack([np.broadcast_to(np.asarray(col, dtype=float), (40,)) for col in f(*x.T)], axis=1)
    assert theta.shape == expected.shape
    np.testing.assert_allclose(theta, expected, rtol=1e-12, atol=1e-12)
    if name == "poly_trig":
        assert sympy.sin(sympy.Symbol("a")) in lib.features and sympy.sin(sympy.Symbol("b")) not in lib.features


def test_unknown_library_and_option_are_refused():
    with pytest.raises(DiscoveryError, match="valid libraries"):
        build_library("fourier", np.ones((10, 1)), ["x"])
    with pytest.raises(DiscoveryError, match="libraries"):
        SINDyConfig(libraries=("poly", "bessel"))
    with pytest.raises(DiscoveryError, match="unknown option"):
        SINDyMethod(treshold=0.1).config()


def test_lorenz_terms_and_coefficients_on_clean_data():
    t = np.linspace(0, 10, 2000)
    x = _solve(_lorenz, [-8.0, 8.0, 27.0], t)
    models = fit_sindy([x], [_exact_derivatives(_lorenz, x)], ["x", "y", "z"])
    s = sympy.symbols("x y z")
    truth = {"x": 10 * s[1] - 10 * s[0], "y": 28 * s[0] - s[0] * s[2] - s[1], "z": s[0] * s[1] - 8 / 3 * s[2]}
    assert models[0].label == "best"
    _assert_recovered(models[0].equations, truth, rtol=1e-3)
    assert len(models) <= SINDyConfig().max_candidates


def test_threshold_adapts_to_the_coefficient_scale():
    # The same Lotka-Volterra orbit at two coefficient scales: cross terms of about 1e-1 and about 4e-6.
    t = np.linspace(0, 30, 600)
    for scale_x, scale_t in [(1.0, 1.0), (100.0, 50.0)]:
        rhs, truth = _lotka_volterra(scale_x, scale_t)
        x = _solve(rhs, [10.0 * scale_x, 5.0 * scale_x], t * scale_t)
        models = fit_sindy([x], [_exact_derivatives(rhs, x)], ["x", "y"])
        _assert_recovered(models[0].equations, truth, rtol=1e-3)


def test_constant_variable_gets_a_zero_equation():
    t = np.linspace(0, 4, 300)
    x = np.stack([np.exp(-0.5 * t), np.full_like(t, 2.0)], axis=1)  # (N, 2): x decays, c stays
    dx = np.stack([-0.5 * x[:, 0], np.zeros_like(t)], axis=1)
    models = fit_sindy([x], [dx], ["x", "c"], SINDyConfig(libraries=("poly",)))
    assert models[0].equations["c"] == 0
    got = to_candidate_expr(models[0].equations["x"], rel_tol=0.0)
    # x and c are both constant-times-x here; the fit may write -0.5*x or an equivalent in c, but must be exact
    f = sympy.lambdify(sympy.symbols("x c"), got)
    np.testing.assert_allclose(f(x[:, 0], x[:, 1]), dx[:, 0], rtol=1e-6, atol=1e-9)


def _lv_data(noise: float, n_traj: int = 1) -> Trajectories:
    rhs, _ = _lotka_volterra()
    t = np.linspace(0, 30, 600)
    rng = np.random.default_rng(3)
    trajs = []
    for k in range(n_traj):
        x = _solve(rhs, [10.0 + 3 * k, 5.0 - k], t)
        x = x + noise * x.std(axis=0) * rng.standard_normal(x.shape)
        trajs.append(Trajectory(t, x))
    return Trajectories(["x", "y"], trajs, source="lv")


def test_propose_through_the_registry_with_two_trajectories_and_noise():
    data = _lv_data(noise=0.01, n_traj=2)
    method = get_method("sindy")
    candidates = method.propose(data, MethodContext(seed=0))
    assert 1 <= len(candidates) <= 8
    assert all(c.method == "sindy" and set(c.equations) == {"x", "y"} for c in candidates)
    keys = [tuple(str(c.equations[v]) for v in ("x", "y")) for c in candidates]
    assert len(set(keys)) == len(keys)  # distinct
    _, truth = _lotka_volterra()
    _assert_recovered(candidates[0].equations, truth, rtol=0.03)
    assert candidates[0].info["libraries"] and candidates[0].info["elapsed_s"] >= 0


def test_ensemble_candidate_comes_first_with_inclusion_probabilities():
    data = _lv_data(noise=0.02)
    candidates = SINDyMethod(ensemble=True, n_models=8).propose(data, MethodContext(seed=1))
    first = candidates[0]
    assert first.info["label"] == "ensemble"
    inclusion = first.info["inclusion"]
    assert set(inclusion) == {"x", "y"}
    assert inclusion["x"]["x*y"] == pytest.approx(1.0) and inclusion["y"]["y"] == pytest.approx(1.0)
    _, truth = _lotka_volterra()
    _assert_recovered(first.equations, truth, rtol=0.05)


def test_damped_pendulum_needs_and_finds_the_sine():
    b, c = 0.25, 5.0

    def rhs(t, s):
        return [s[1], -b * s[1] - c * np.sin(s[0])]

    t = np.linspace(0, 20, 1000)
    x = _solve(rhs, [np.pi - 0.1, 0.0], t)
    models = fit_sindy([x], [_exact_derivatives(rhs, x)], ["theta", "omega"])
    th, om = sympy.symbols("theta omega")
    _assert_recovered(models[0].equations, {"theta": om, "omega": -b * om - c * sympy.sin(th)}, rtol=1e-3)


def test_docstring_examples():
    import doctest

    import discovery.methods.sindy as sindy
    import discovery.methods.sindy_library as sindy_library
    import discovery.methods.sindy_path as sindy_path

    for module in (sindy, sindy_library, sindy_path):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__


def test_best_subsets_find_the_law_on_a_trajectory_that_settles():
    """Lotka-Volterra competition from one initial state: y dies out and x settles at 3, so the library's columns
    are nearly collinear and greedy searches returned ``3 - 0.11*x**3 - 2.04*x*y`` for ``x*(3 - x - 2*y)``;
    enumerating the small supports finds the law."""
    def rhs(t, s):
        return [s[0] * (3 - s[0] - 2 * s[1]), s[1] * (2 - s[0] - s[1])]

    t = np.linspace(0.0, 12.0, 601)
    xs = _solve(rhs, [2.5, 0.5], t)
    x, y = sympy.symbols("x y")
    models = fit_sindy([xs], [_exact_derivatives(rhs, xs)], ["x", "y"])
    # among the proposals (the pipeline re-simulates them; block cross-validation cannot judge the supports well
    # here, since without the transient block the remaining rows sit at the equilibrium)
    law = term_set(3 * x - x**2 - 2 * x * y)
    assert any(term_set(m.equations["x"]) == law for m in models), [m.equations for m in models]
