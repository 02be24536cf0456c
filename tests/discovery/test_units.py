"""Results do not depend on units: states and time rescaled by any power of ten give the same equations (rescaled)
and the same scores."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from discovery import discover, simulate
from discovery.data import Trajectories, Trajectory
from discovery.pipeline.scoring import score_candidate, simulate_candidate
from discovery.methods.base import Candidate
from discovery.simulation import integrate

x, y = sympy.symbols("x y")
LV = {"x": x - 0.1 * x * y, "y": 0.075 * x * y - 1.5 * y}


def _rescaled(data: Trajectories, a: float, b: float) -> Trajectories:
    return Trajectories(data.variables, [Trajectory(tr.t * b, tr.x * a) for tr in data], source=data.source)


def _to_units(equations: dict, a: float, b: float) -> dict:
    """Lotka-Volterra's equations in units where ``x_new = a x`` and ``t_new = b t``."""
    subs = {x: x / a, y: y / a}
    return {v: sympy.expand(a / b * e.xreplace(subs)) for v, e in equations.items()}


@pytest.fixture(scope="module")
def lv() -> Trajectories:
    return simulate("lotka_volterra", noise=0.0, seed=0)


@pytest.mark.parametrize("a", [1e-20, 1e-12, 1e-9, 1e12])
def test_integration_tolerances_follow_the_size_of_the_state(a: float) -> None:
    t = np.linspace(0.0, 2.0, 21)
    exact = a * np.exp(-t)
    got = integrate(lambda _t, s: -s, [a], t)[:, 0]
    np.testing.assert_allclose(got, exact, rtol=1e-7)


@pytest.mark.parametrize("a,b", [(1e-12, 1.0), (1e12, 1.0), (1.0, 1e-6), (1.0, 1e6), (1e-12, 1e-6)])
def test_the_true_model_scores_the_same_in_any_units(lv: Trajectories, a: float, b: float) -> None:
    reference = score_candidate(Candidate("true", dict(LV)), lv).metrics
    scaled = score_candidate(Candidate("true", _to_units(LV, a, b)), _rescaled(lv, a, b)).metrics
    assert scaled["stable"], scaled.get("failure")
    assert scaled["r2"] == pytest.approx(reference["r2"], abs=1e-9)
    assert scaled["r2_window"] == pytest.approx(reference["r2_window"], abs=1e-9)


def test_a_simulated_model_keeps_its_precision_at_small_scales(lv: Trajectories) -> None:
    tr = lv[0]
    reference = simulate_candidate(LV, ["x", "y"], tr.x[0], tr.t)
    scaled = simulate_candidate(_to_units(LV, 1e-15, 1.0), ["x", "y"], 1e-15 * tr.x[0], tr.t)
    np.testing.assert_allclose(scaled, 1e-15 * reference, rtol=1e-5, atol=1e-5 * 1e-15 * np.abs(reference).max())


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_discovery_gives_the_same_model_in_any_units(noise: float) -> None:
    data = simulate("lotka_volterra", noise=noise, seed=0)
    reference = discover(data, method="sindy")
    for a, b in [(1e-12, 1.0), (1e12, 1.0), (1e-12, 1e-6), (1e12, 1e6), (1.0, 1e-6)]:
        result = discover(_rescaled(data, a, b), method="sindy")
        assert not result.warnings, result.warnings
        # Rescaling states alone changes nothing. Rescaling time turns the exact coefficient 1 of dx/dt = x - ...
        # into a fitted constant (1e6*x), which refinement then moves within the noise.
        tol = 1e-6 if b == 1.0 or noise == 0 else 1e-3
        assert result.metrics["r2"] == pytest.approx(reference.metrics["r2"], abs=tol), (a, b)
        assert result.metrics["r2_window"] == pytest.approx(reference.metrics["r2_window"], abs=tol), (a, b)
        expected = _to_units(reference.equations, a, b)
        for v in data.variables:
            got = sympy.expand(result.equations[v]).as_coefficients_dict()
            want = expected[v].as_coefficients_dict()
            assert set(got) == set(want), (a, b, v, result.equations[v], expected[v])
            for term, coef in want.items():
                assert float(got[term]) == pytest.approx(float(coef), rel=max(tol, 1e-5)), (a, b, v, term)


@pytest.mark.parametrize("a,b", [(1e-100, 1.0), (1e80, 1.0), (1.0, 1e100), (1.0, 1e-100), (1e40, 1e-40)])
def test_far_units_work_as_long_as_a_float_can_square_the_data(lv: Trajectories, a: float, b: float) -> None:
    # constants such as 1e-81 lie outside the PROSE tokenizer's number range, which does not bound candidates
    result = discover(_rescaled(lv, a, b), method="sindy", uncertainty=False)
    assert result.metrics["r2"] == pytest.approx(1.0, abs=1e-6), result.warnings
    expected = _to_units(LV, a, b)
    for v in lv.variables:
        got = sympy.expand(result.equations[v]).as_coefficients_dict()
        want = expected[v].as_coefficients_dict()
        assert set(got) == set(want), (v, result.equations[v])
        for term, coef in want.items():
            assert float(got[term]) == pytest.approx(float(coef), rel=1e-3), (v, term)
