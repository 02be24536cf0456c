"""Scoring re-simulates candidates; selection prefers the simplest model that is about as good as the best."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from discovery.data import Trajectories, Trajectory
from discovery.methods.base import Candidate
from discovery.scoring import (
    ScoringConfig,
    pareto_front,
    score_candidate,
    select_best,
    trajectory_r2,
)

x, y = sympy.symbols("x y")


@pytest.fixture(scope="module")
def decay() -> Trajectories:
    t = np.linspace(0, 4, 200)
    xs = np.stack([2 * np.exp(-0.5 * t), np.exp(-t)], axis=1)
    return Trajectories(["x", "y"], [Trajectory(t, xs)], source="decay")


def test_trajectory_r2_is_variance_weighted():
    true = np.stack([np.linspace(0, 10, 50), np.linspace(0, 0.1, 50)], axis=1)
    pred = true.copy()
    pred[:, 1] += 0.05  # a large error on the small-variance variable barely counts
    assert trajectory_r2(true, true) == 1.0
    assert 0.99 < trajectory_r2(pred, true) < 1.0


def test_true_model_scores_perfectly(decay):
    c = score_candidate(Candidate("test", {"x": -0.5 * x, "y": -1.0 * y}), decay)
    assert c.metrics["stable"] is True
    assert c.metrics["r2"] > 0.9999
    assert c.metrics["r2_window"] > 0.9999
    assert c.metrics["complexity"] == c.complexity


def test_blow_up_is_caught_quickly(decay):
    c = score_candidate(Candidate("test", {"x": x**2 + 10, "y": -y}), decay, config=ScoringConfig(time_limit_s=5))
    assert c.metrics["stable"] is False
    assert c.metrics["r2"] is None
    assert "failure" in c.metrics


def test_selection_prefers_simplest_of_near_equals(decay):
    exact = Candidate("a", {"x": -0.5 * x, "y": -1.0 * y})
    extra = Candidate("b", {"x": -0.5 * x + 1e-6 * x * y, "y": -1.0 * y + 1e-6 * x})
    wrong = Candidate("c", {"x": -0.2 * x, "y": -1.0 * y})
    for c in (exact, extra, wrong):
        score_candidate(c, decay)
    assert select_best([extra, wrong, exact]) is exact
    front = pareto_front([extra, wrong, exact])
    assert exact in front and extra not in front


def test_unstable_candidates_lose_to_stable(decay):
    good = score_candidate(Candidate("a", {"x": -0.4 * x, "y": -y}), decay)
    bad = score_candidate(Candidate("b", {"x": x**3, "y": -y}), decay)
    assert select_best([bad, good]) is good
    assert math.isfinite(good.metrics["r2_window"])
