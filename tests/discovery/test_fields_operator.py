"""The FNO forecast of a field (discovery/fields/operator.py) and its place in discover_field and FieldResult."""

from __future__ import annotations

import json

import numpy as np
import pytest

from discovery.errors import DiscoveryError
from discovery.fields import FieldForecast, discover_field, forecast_field, simulate_zoo
from discovery.fields.operator import simulate_near
from grammar.pde_zoo import get_pde

TOY = {"model": {"hidden_channels": 16, "n_modes": 8}, "training": {"steps": 300}}


@pytest.fixture(scope="module")
def heat():
    return simulate_zoo("heat", grid=(48, 32), seed=3)


def test_forecast_of_heat_beats_persistence_by_far(heat):
    fc = forecast_field(heat, options={**TOY, "n_simulated": 0}, device="cpu", seed=0)
    # the backtest: trained on the first 3/4 of the window, forecasting the last quarter from the frame before it
    assert fc.backtest is not None and fc.backtest.shape == (12, 32)
    truth = heat.stack()[:, -12:]
    assert np.allclose(fc.rel_l2, np.linalg.norm(fc.backtest.stack() - truth) / np.linalg.norm(truth))
    persistence = fc.info["persistence_rel_l2"]
    assert persistence > 0.05  # the field changes over the held-out quarter ...
    assert fc.rel_l2 < 0.25 * persistence  # ... and the FNO follows it far better than repeating the last frame
    # the forecast proper: past the observed window, one time step apart, on the observed grid
    assert isinstance(fc, FieldForecast) and fc.model == "fno"
    assert np.allclose(fc.times, heat.t[-1] + heat.dt * np.arange(1, 13))
    assert fc.array.shape == (1, 12, 32) and fc.values["u"].shape == (12, 32) and fc.axes == ("x",)
    assert np.all(np.isfinite(fc.array))
    # heat keeps decaying past the window
    assert np.abs(fc.array[0, -1]).max() < np.abs(heat.values["u"][-1]).max()


def test_discover_field_reports_the_forecast(heat):
    progress = []
    result = discover_field(heat, operators="fno", fno={**TOY, "n_simulated": 2, "finetune": 0.2}, device="cpu",
                            progress=lambda m, f: progress.append(f))
    assert result.forecast is not None and not result.warnings
    assert result.forecast.info["n_simulated"] == 2  # fields simulated from the discovered PDE joined the training
    assert result.forecast.rel_l2 < 0.25 * result.forecast.info["persistence_rel_l2"]
    assert progress == sorted(progress) and progress[-1] == 1.0
    d = json.loads(result.to_json())
    assert d["forecast"]["model"] == "fno" and len(d["forecast"]["t"]) == 12
    assert np.asarray(d["forecast"]["values"]["u"]).shape == (12, 32)
    assert len(d["forecast"]["backtest"]["t"]) == 12 and d["forecast"]["rel_l2"] == result.forecast.rel_l2
    assert "fno forecast of t in" in result.summary()
    assert "forecast" not in discover_field(heat).to_dict()  # asked for only


def test_no_holdout_means_no_backtest(heat):
    fc = forecast_field(heat, options={**TOY, "holdout": 0.0, "horizon": 0.5, "n_simulated": 0,
                                       "training": {"steps": 5}}, device="cpu")
    assert fc.rel_l2 is None and fc.backtest is None and fc.array.shape == (1, 24, 32)


def test_simulated_fields_keep_the_observed_boundary(heat):
    sims = simulate_near(heat, get_pde("heat").rhs(), 2, 0.2, seed=0)
    assert len(sims) == 2
    for s in sims:
        assert s.shape == (1, 48, 32)
        assert np.allclose(s[:, :, [0, -1]], heat.stack()[:, :, [0, -1]])  # Dirichlet data from the observation
        assert not np.allclose(s[:, 0], heat.stack()[:, 0])  # a perturbed start


@pytest.mark.parametrize("kwargs, match", [
    ({"operators": "deeponet"}, r"unknown field operator\(s\) \['deeponet'\]; valid: fno"),
    ({"operators": "fno", "fno": {"bogus": 1}}, r"fno: unknown option\(s\) 'bogus'; valid: holdout"),
    ({"operators": "fno", "fno": {"holdout": 0.9}}, r"fno.holdout: expected a number >= 0 and <= 0.5, found 0.9"),
    ({"operators": "fno", "fno": {"model": {"widht": 3}}}, r"fno.model: unknown option\(s\) 'widht'"),
    ({"fno": {"holdout": 0.1}}, "no FNO forecast was asked for; add operators='fno'"),
])
def test_option_errors_are_one_line_before_any_work(heat, kwargs, match):
    with pytest.raises(DiscoveryError, match=match) as info:
        discover_field(heat, **kwargs)
    assert "\n" not in str(info.value)


def test_too_short_a_record_for_the_backtest(heat):
    with pytest.raises(DiscoveryError, match="too few to train on"):
        forecast_field(heat.time_slice(0, 4), options={"holdout": 0.5})


def test_discover_passes_the_field_options_on(heat):
    from discovery import discover

    with pytest.raises(DiscoveryError, match=r"unknown field operator\(s\) \['deeponet'\]"):
        discover(heat, operators=("deeponet",))
    with pytest.raises(DiscoveryError, match="read by method 'pinn' only"):
        discover(heat, method="sparse", known="h1(u) + u_xx")
    with pytest.raises(DiscoveryError, match="fno.horizon: expected"):
        discover(heat, operators=("fno",), fno={"horizon": 0})
