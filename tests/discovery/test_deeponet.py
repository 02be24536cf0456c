"""DeepONet operator predictions for a discovery result (discovery/deeponet.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from discovery.deeponet import _initial_conditions, fit_operator, predict_with_deeponet
from discovery.errors import DiscoveryError

torch.set_num_threads(1)

FAST = {"training": {"steps": 400}, "model": {"width": 48, "depth": 2, "n_basis": 24, "n_frequencies": 4},
        "n_simulated": 48}


@pytest.fixture(scope="module")
def lv_data():
    from discovery.simulation import simulate

    return simulate("lotka_volterra", x0=[[10.0, 5.0], [12.0, 4.0]], t=np.linspace(0.0, 6.0, 30), noise=0.0)


@pytest.fixture(scope="module")
def lv_truth():
    from grammar.zoo import get_system

    return get_system("lotka_volterra").rhs()


def test_initial_conditions_stay_in_the_observed_range(lv_data) -> None:
    ics = _initial_conditions(lv_data, 50, 0.2, np.random.default_rng(0))
    allx = np.concatenate([tr.x for tr in lv_data])
    assert ics.shape == (50, 2)
    assert np.all(ics >= allx.min(axis=0)) and np.all(ics <= allx.max(axis=0))


def test_predictions_per_trajectory(lv_data, lv_truth) -> None:
    preds = predict_with_deeponet(lv_data, lv_truth, horizon=1.5, device="cpu", seed=0, **FAST)
    assert [p.trajectory for p in preds] == [0, 1]
    for p, tr in zip(preds, lv_data):
        assert p.model == "deeponet" and p.variables == ("x", "y")
        assert p.t[0] == tr.t[0] and p.t[-1] == pytest.approx(tr.t[0] + 1.5 * 6.0)
        assert p.x.shape == (len(p.t), 2)
        np.testing.assert_allclose(p.x[0], tr.x[0], rtol=1e-5)  # the initial condition is exact
        assert p.rel_l2 is not None and p.rel_l2 < 0.15
        assert p.info["n_simulated"] > 0


def test_operator_predicts_a_new_initial_condition(lv_data, lv_truth) -> None:
    from discovery.pipeline.scoring import simulate_candidate

    op = fit_operator(lv_data, lv_truth, device="cpu", seed=0, **FAST)
    x0 = np.array([11.0, 4.5])
    t = np.linspace(0.0, 6.0, 40)
    pred = op.predict(x0, t)
    truth = simulate_candidate(lv_truth, ["x", "y"], x0, t)
    assert pred.shape == (40, 2)
    assert np.linalg.norm(pred - truth) / np.linalg.norm(truth) < 0.15
    assert op.predict(np.stack([x0, x0]), t).shape == (2, 40, 2)


def test_bad_inputs_raise(lv_data, lv_truth) -> None:
    with pytest.raises(DiscoveryError, match="horizon must be >= 1"):
        fit_operator(lv_data, lv_truth, horizon=0.5)
    op = fit_operator(lv_data, lv_truth, device="cpu", training={"steps": 2}, n_simulated=4)
    with pytest.raises(DiscoveryError, match=r"shape \(2,\)"):
        op.predict(np.zeros(3), np.linspace(0, 1, 5))
