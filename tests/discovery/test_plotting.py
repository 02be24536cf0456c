"""Static figures of results: ``result.plot``, and ``eqdisco discover --plots`` beside each JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy

pytest.importorskip("matplotlib")

from discovery import discover  # noqa: E402
from discovery.batch import plot_path, run_batch  # noqa: E402
from discovery.data import Trajectories, Trajectory  # noqa: E402
from discovery.errors import DiscoveryError  # noqa: E402
from discovery.methods.base import Candidate  # noqa: E402
from discovery.plotting import extended_time, result_figure  # noqa: E402
from discovery.prediction import OperatorPrediction  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def lv_result(lotka_volterra):
    return discover(lotka_volterra, method="sindy")


def _lines(ax) -> dict[str, np.ndarray]:
    return {line.get_label(): np.asarray(line.get_xdata(), dtype=float) for line in ax.get_lines()}


def test_figure_draws_data_model_extrapolation_and_operators(lotka_volterra, lv_result, tmp_path):
    tr = lotka_volterra[0]
    span = tr.t[-1] - tr.t[0]
    lv_result.operator_predictions = [
        OperatorPrediction("prose", lotka_volterra.variables, tr.t, tr.x * 1.01, trajectory=0,
                           info={"backtest_rel_l2": 0.0123}),
        OperatorPrediction("deeponet", lotka_volterra.variables, tr.t, tr.x, trajectory=1),  # no such column
    ]
    try:
        fig = lv_result.plot(lotka_volterra, tmp_path / "lv.png", horizon=0.5)
    finally:
        lv_result.operator_predictions = []
    assert (tmp_path / "lv.png").read_bytes().startswith(PNG)
    assert not list(tmp_path.glob("*.tmp*")), "the PNG is written atomically"
    axes = fig.axes
    assert len(axes) == 2  # one panel per variable, one trajectory
    lines = _lines(axes[0])
    assert {"data", "model", "prose operator"} <= set(lines) and "deeponet operator" not in lines
    assert lines["model"][-1] == pytest.approx(tr.t[-1] + 0.5 * span)  # half a window beyond
    assert lines["data"].size == tr.t.size
    assert axes[0].get_title() == "prose forecast, backtest error 0.012"
    title = fig.get_suptitle()
    assert "method sindy" in title and "dx/dt = " in title and "dy/dt = " in title


def test_a_model_that_blows_up_is_named_not_drawn(lotka_volterra, lv_result):
    x, y = sympy.symbols("x y")
    blowing = Candidate("sindy", {"x": x**3, "y": y}, metrics={"r2": None})
    fig = result_figure(lv_result, lotka_volterra, candidate=blowing)
    assert "model" not in _lines(fig.axes[0])
    assert any("model not drawn" in text.get_text() for text in fig.axes[0].texts)


def test_the_model_is_drawn_through_gaps(lotka_volterra, lv_result):
    tr = lotka_volterra[0]
    keep = (tr.t < 10.0) | (tr.t > 20.0)
    gappy = Trajectories(lotka_volterra.variables, [Trajectory(tr.t[keep], tr.x[keep])])
    t_model = _lines(result_figure(lv_result, gappy, horizon=0).axes[0])["model"]
    inside = t_model[(t_model > 10.0) & (t_model < 20.0)]
    assert inside.size >= 90 and np.diff(inside).max() < 2 * np.median(np.diff(tr.t))


def test_several_trajectories_get_columns_up_to_the_limit(lv_result, lotka_volterra):
    tr = lotka_volterra[0]
    four = Trajectories(lotka_volterra.variables, [Trajectory(tr.t, tr.x * s) for s in (1.0, 1.1, 0.9, 1.2)])
    fig = result_figure(lv_result, four)
    assert len(fig.axes) == 2 * 3 and "first 3 of 4 trajectories" in fig.get_suptitle()
    assert len(result_figure(lv_result, four, max_trajectories=4, horizon=0).axes) == 2 * 4


def test_the_data_must_match_the_result(lv_result):
    t = np.linspace(0, 1, 20)
    other = Trajectories(("u", "v"), [Trajectory(t, np.c_[t, t])])
    with pytest.raises(DiscoveryError, match="variables"):
        lv_result.plot(other)


def test_extended_time_continues_at_the_median_step():
    t = np.array([0.0, 0.5, 1.0, 2.0])
    ext = extended_time(t, 1.0)
    np.testing.assert_allclose(ext[:4], t)
    assert ext[-1] == pytest.approx(4.0) and np.allclose(np.diff(ext[3:]), 0.5)
    np.testing.assert_array_equal(extended_time(t, 0.0), t)
    assert extended_time(np.linspace(0.0, 10.0, 101), 100.0, max_points=300).size == 300  # capped


def test_batch_writes_a_figure_beside_each_result_and_resumes(tmp_path, lv_csv):
    bad = tmp_path / "bad.csv"
    bad.write_text("t,x\n0,1\n1,oops\n")
    out = tmp_path / "out"
    report = run_batch([lv_csv, bad], out, method="sindy", show_progress=False, echo=lambda line: None)
    assert not list(out.glob("*.png"))  # only when asked
    report = run_batch([lv_csv, bad], out, method="sindy", show_progress=False, echo=lambda line: None, plot=True)
    ok = [i for i in report.items if i.source == "lv.csv"][0]
    assert ok.status == "ok" and ok.plot == str(plot_path(out / "lv.json"))  # its figure was missing: redone
    assert (out / "lv.png").read_bytes().startswith(PNG)
    assert not (out / "bad.png").exists() and "error" in json.loads((out / "bad.json").read_text())
    again = run_batch([lv_csv, bad], out, method="sindy", show_progress=False, echo=lambda line: None, plot=True)
    status = {i.source: i.status for i in again.items}
    assert status == {"lv.csv": "skipped", "bad.csv": "error"}  # a result and its figure: done; a failure: retried


def test_cli_plots_flag(tmp_path, lv_csv):
    from discovery.cli import main

    assert main(["discover", str(lv_csv), "--out", str(tmp_path / "r"), "--method", "sindy", "--plots",
                 "--quiet"]) == 0
    assert Path(tmp_path / "r" / "lv.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize("scale", [1e-9, 1.0, 1e12])
def test_the_blow_up_cap_of_a_figure_is_the_data_own_scale(scale: float) -> None:
    """A growing model is drawn over the window and half a window beyond (12x the data) in any units, and an
    extrapolation past 100x the data's magnitude is dropped (the observed window alone is drawn)."""
    from discovery.plotting import simulate_extended
    from discovery.result import DiscoveryResult

    x = sympy.Symbol("x")
    t = np.linspace(0.0, 10.0, 101)
    data = Trajectories(["x"], [Trajectory(t, scale * np.exp(0.5 * t)[:, None])])
    result = DiscoveryResult(variables=("x",), candidates=[Candidate("sindy", {"x": 0.5 * x})])
    t_sim, x_sim, problem = simulate_extended(result, data, 0, 0.5)
    assert problem == "" and x_sim is not None and t_sim[-1] == pytest.approx(15.0)
    np.testing.assert_allclose(x_sim[:, 0], scale * np.exp(0.5 * t_sim), rtol=1e-5)
    t_sim, x_sim, problem = simulate_extended(result, data, 0, 2.0)  # e^15 / e^5: 2e4 times the data
    assert x_sim is not None and t_sim[-1] == pytest.approx(10.0)
