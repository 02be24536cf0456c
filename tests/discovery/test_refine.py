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
