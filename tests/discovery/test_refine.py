"""Constant refinement fits constants to trajectories, not to derivative estimates."""

from __future__ import annotations

import numpy as np
import sympy

from discovery.methods.base import Candidate
from discovery.pipeline.refine import parameterize, refine_candidate

x, y = sympy.symbols("x y")


def test_parameterize_replaces_each_float():
    eqs, params, p0 = parameterize({"x": 1.5 * x - 0.25 * x * y, "y": -2 * y})
    assert len(params) == 2
    assert sorted(p0.tolist()) == [-0.25, 1.5]
    assert not any(e.atoms(sympy.Float) for e in eqs.values())


def test_refinement_recovers_perturbed_constants(lotka_volterra, lotka_volterra_truth, close):
    truth = lotka_volterra_truth
    # perturb every constant by 15%
    perturbed = {v: e.xreplace({f: f * 1.15 for f in e.atoms(sympy.Float)}) for v, e in truth.items()}
    refined = refine_candidate(Candidate("test", perturbed), lotka_volterra)
    assert refined.info["refined"] is True
    assert refined.info["refine_cost_after"] < 1e-3 * refined.info["refine_cost_before"]
    for v in truth:
        got = sorted(float(c) for c in refined.equations[v].atoms(sympy.Float))
        want = sorted(float(c) for c in truth[v].atoms(sympy.Float))
        close(got, want, rtol=1e-2, what=f"d{v}/dt constants")


def test_refinement_keeps_candidate_without_constants(lotka_volterra):
    sx, sy = sympy.symbols("x y")
    c = Candidate("test", {"x": sx - sx * sy, "y": sx * sy - sy})
    assert refine_candidate(c, lotka_volterra) is c


def test_refinement_survives_divergent_candidate(lotka_volterra):
    c = Candidate("test", {"x": 3.0 * x**3, "y": 2.0 * y**2})
    out = refine_candidate(c, lotka_volterra)
    assert set(out.equations) == {"x", "y"}
    assert np.isfinite([float(f) for e in out.equations.values() for f in e.atoms(sympy.Float)]).all()


def test_polish_removes_the_bias_of_smoothed_window_starts():
    from discovery.methods.base import MethodContext
    from discovery.pipeline.refine import polish_candidate
    from discovery.simulation import simulate
    from grammar.zoo import get_system

    system = get_system("lotka_volterra")
    data = simulate(system, noise=0.05, seed=3)
    smoothed = [s for s, _ in MethodContext().derivatives(data)]
    truth = system.rhs()
    start = {v: e.xreplace({f: f * 1.1 for f in e.atoms(sympy.Float)}) for v, e in truth.items()}
    polished = polish_candidate(Candidate("test", start), data, smoothed)
    assert polished.info["polished"] is True
    assert polished.info["polish_cost_after"] < polished.info["polish_cost_before"]

    def worst_error(eqs):
        got = sorted(float(c) for v in truth for c in eqs[v].atoms(sympy.Float))
        want = sorted(float(c) for v in truth for c in truth[v].atoms(sympy.Float))
        return max(abs(g / w - 1) for g, w in zip(got, want))

    assert worst_error(polished.equations) < 0.03 < worst_error(start)


def test_polish_keeps_a_candidate_it_cannot_improve(lotka_volterra):
    from discovery.pipeline.refine import polish_candidate

    c = Candidate("test", {"x": x - x * y, "y": x * y - y})  # no constants
    assert polish_candidate(c, lotka_volterra) is c


def _damped_oscillator(noise: float, seed: int):
    """``x' = y, y' = -2 x - 0.05 y`` over about 13 periods, with Gaussian noise of ``noise`` times each state's
    spread."""
    from scipy.integrate import solve_ivp

    from discovery.data import Trajectories, Trajectory

    t = np.linspace(0.0, 60.0, 601)
    clean = solve_ivp(lambda _, s: [s[1], -2.0 * s[0] - 0.05 * s[1]], (0.0, 60.0), [1.0, 0.0], t_eval=t,
                      rtol=1e-10, atol=1e-12).y.T
    rng = np.random.default_rng(seed)
    return Trajectories(["x", "y"], [Trajectory(t, clean + noise * clean.std(axis=0) * rng.standard_normal(clean.shape))])


def test_the_whole_record_pins_down_a_cycles_rate():
    from discovery.methods.base import MethodContext
    from discovery.pipeline.refine import fit_record

    data = _damped_oscillator(0.05, seed=0)
    smoothed = [s for s, _ in MethodContext().derivatives(data)]
    start = Candidate("test", {"x": 1.0 * y, "y": -2.1 * x - 0.05 * y})  # the rate 5% off, the phase drifts
    fitted = fit_record(start, data, smoothed)
    assert fitted.info["record_fit"] is True
    assert fitted.info["record_cost_after"] < 0.1 * fitted.info["record_cost_before"]
    rate = float(-fitted.equations["y"].coeff(x)) / float(fitted.equations["x"].coeff(y))  # omega^2
    assert abs(rate / 2.0 - 1.0) < 0.005


def test_the_whole_record_fit_leaves_a_model_that_drifts_off_the_record():
    from discovery.methods.base import MethodContext
    from discovery.pipeline.settings import build_settings
    from discovery.pipeline.scoring import ScoringConfig
    from discovery.pipeline.stages import Progress, RunState, fit_whole_record

    follows = ScoringConfig().chaotic_error
    data = _damped_oscillator(0.05, seed=1)
    state = RunState(data=data, settings=build_settings("sindy"), progress=Progress(None), context=MethodContext())
    off = state.score(Candidate("test", {"x": 1.0 * y, "y": -2.3 * x - 0.05 * y}))  # out of phase within 5 periods
    assert off.metrics["stable"] and 1.0 - off.metrics["r2"] > follows
    state.candidates, state.best = [off], off
    fit_whole_record(state)
    assert state.best is off and "record_fit" not in off.info
    close = state.score(Candidate("test", {"x": 1.0 * y, "y": -2.01 * x - 0.05 * y}))
    assert 1.0 - close.metrics["r2"] <= follows
    state.candidates, state.best = [close], close
    fit_whole_record(state)
    assert state.best is not close and state.best.info["record_fit"] is True
    assert state.best in state.candidates and close not in state.candidates
    assert abs(float(-state.best.equations["y"].coeff(x)) / 2.0 - 1.0) < 0.005


def test_the_whole_record_fit_does_not_integrate_across_a_gap():
    from discovery.data import Trajectories, Trajectory
    from discovery.methods.base import MethodContext
    from discovery.pipeline.settings import build_settings
    from discovery.pipeline.stages import Progress, RunState, fit_whole_record

    full = _damped_oscillator(0.05, seed=1)[0]
    keep = (full.t < 20.0) | (full.t > 30.0)  # ten seconds missing
    data = Trajectories(["x", "y"], [Trajectory(full.t[keep], full.x[keep])])
    state = RunState(data=data, settings=build_settings("sindy"), progress=Progress(None), context=MethodContext())
    close = state.score(Candidate("test", {"x": 1.0 * y, "y": -2.01 * x - 0.05 * y}))
    state.candidates, state.best = [close], close
    fit_whole_record(state)
    assert state.best is close and "record_fit" not in close.info


def test_a_fit_says_why_it_ended_and_the_record_fit_ends_on_evaluations_not_the_clock():
    import time
    from dataclasses import replace

    from discovery.methods.base import MethodContext
    from discovery.pipeline.refine import RECORD, _fit, fit_record, shooting_fit

    data = _damped_oscillator(0.05, seed=1)
    smoothed = [s for s, _ in MethodContext().derivatives(data)]
    start = Candidate("test", {"x": 1.0 * y, "y": -2.01 * x - 0.05 * y})
    fitted = fit_record(start, data, smoothed)
    assert fitted.info["record_ended"] in ("converged", "evaluations")  # where it stops does not depend on speed
    # A slow problem under a short guard ends on the clock, with the best point so far.
    setup = shooting_fit(start, data, smoothed, RECORD, free_starts=True)
    fast = setup.problem.residuals

    def slow(z):
        time.sleep(0.02)
        return fast(z)

    setup.problem.residuals = slow
    out = _fit(setup.problem, setup.z0, replace(RECORD, time_budget_s=0.05))
    assert out.ended == "time" and out.cost <= out.cost_start
