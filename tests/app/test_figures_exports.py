"""Figures and downloads built from a real discovery result on a small Lotka–Volterra data set."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from app.compute import extended_time
from app.exports import figure_png, file_stem, latex_document, python_module, result_json, simulation_csv
from app.plots import data_figure, overlay_figure, Curve, pareto_figure, phase_figure, residual_figure


@pytest.fixture(scope="module")
def lv_result(lv_csv_bytes: bytes):
    from app.loading import load_bytes
    from discovery import discover

    data = load_bytes("lotka_volterra.csv", lv_csv_bytes).trajectories
    return data, discover(data, method="sindy", refine=False)


def test_figure_png_is_the_command_line_figure(lv_result) -> None:
    data, result = lv_result
    png = figure_png(result, data, result.best, 0.5)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_data_and_phase_figures(lv_result) -> None:
    data, _ = lv_result
    fig = data_figure(data, data.variables)
    assert len(fig.data) == 2  # one trace per variable and trajectory
    phase = phase_figure(data, data.variables)
    assert phase is not None and phase.data[0].x.size == data[0].t.size
    assert phase_figure(data, ("x",)) is None


def test_pareto_points_carry_their_candidate_index(lv_result) -> None:
    _, result = lv_result
    fig = pareto_figure(result.candidates, result.front, selected=0)
    indices = sorted({int(cd[0]) for tr in fig.data for cd in tr.customdata})
    assert indices == list(range(len(result.candidates)))
    assert fig.layout.yaxis.type == "log"
    assert any(tr.name == "Pareto front" for tr in fig.data)


def test_pareto_errors_are_the_selection_errors_and_unknown_ones_sit_on_top(lv_result) -> None:
    from discovery.methods.base import Candidate
    from discovery.pipeline.scoring import selection_error

    _, result = lv_result
    x = sympy.Symbol("x")
    # whole-trajectory R^2 but no window R^2: no selection error, whatever r2 says
    unscored = Candidate("sindy", {v: x for v in result.variables}, metrics={"r2": 0.9, "r2_window": None})
    candidates = [*result.candidates, unscored]
    fig = pareto_figure(candidates, result.front)
    shown = {int(cd[0]): y for tr in fig.data if tr.name != "Pareto front" for cd, y in zip(tr.customdata, tr.y)}
    errors = [selection_error(c) for c in result.candidates]
    for i, e in enumerate(errors):
        if np.isfinite(e) and e > 0:
            assert shown[i] == pytest.approx(e)
    assert shown[len(candidates) - 1] >= max(shown[i] for i in range(len(result.candidates)))


def test_overlay_and_residual(lv_result) -> None:
    data, result = lv_result
    tr = data[0]
    t = extended_time(tr.t, 0.5)
    x = result.simulate(tr.x[0], t)
    fig = overlay_figure(result.variables, tr.t, tr.x, [Curve("model", t, x, "red")], float(tr.t[-1]))
    assert [d.name for d in fig.data] == ["data", "model", "data", "model"]
    res = residual_figure(result.variables, tr.t, [("model", tr.x - x[: tr.t.size], "red")])
    assert len(res.data) == 2


def test_exports_round_trip(lv_result, tmp_path) -> None:
    data, result = lv_result
    best = result.best
    payload = json.loads(result_json(result))
    assert payload["variables"] == ["x", "y"] and set(payload["equations"]) == {"x", "y"}
    assert payload["candidates"] and payload["source"] == "lotka_volterra.csv"
    for v, text in payload["equations"].items():
        assert sympy.simplify(sympy.sympify(text) - best.equations[v]) == 0

    source = python_module(result, best)
    namespace: dict = {}
    exec(compile(source, "rhs.py", "exec"), namespace)  # our own generated code, checked to run
    x0 = data[0].x[0]
    expected = [float(best.equations[v].subs({sympy.Symbol("x"): x0[0], sympy.Symbol("y"): x0[1]})) for v in "xy"]
    assert np.allclose(namespace["rhs"](0.0, x0), expected)

    tex = latex_document(result, best)
    assert tex.startswith("\\documentclass") and "\\dot{x}" in tex and tex.rstrip().endswith("\\end{document}")

    tr = data[0]
    t = extended_time(tr.t, 0.2)
    csv_text = simulation_csv(result.variables, [(0, t, result.simulate(tr.x[0], t)), (1, t, None)], [float(tr.t[-1])])
    lines = csv_text.strip().splitlines()
    assert lines[0] == "trajectory,t,extrapolated,x,y" and len(lines) == 1 + t.size
    assert lines[-1].split(",")[2] == "1" and lines[1].split(",")[2] == "0"
    assert file_stem("/a/b/lotka volterra.csv") == "lotka_volterra"


def test_cacheable_makes_free_form_info_picklable(lv_result) -> None:
    import pickle

    from app.compute import cacheable

    _, result = lv_result
    assert cacheable(result) is result  # a plain result is kept as it is
    result.candidates[-1].info["callback"] = lambda x: x  # a method may leave anything in info
    try:
        fixed = cacheable(result)
        assert isinstance(fixed.candidates[-1].info["callback"], str)
        pickle.dumps(fixed)
    finally:
        result.candidates[-1].info.pop("callback", None)


def test_simulations_through_gaps_are_compared_at_the_observed_times(lv_result) -> None:
    from app.views.results_view import _at_observed
    from discovery.plotting import model_times

    data, result = lv_result
    tr = data[0]
    keep = (tr.t < 5.0) | (tr.t > 15.0)
    t_obs = tr.t[keep]
    t_sim = model_times(t_obs, 0.5)
    assert t_sim.size > t_obs.size  # the gap was filled, and the horizon added
    x_sim = result.simulate(tr.x[0], t_sim)
    np.testing.assert_allclose(_at_observed(t_sim, x_sim, t_obs), result.simulate(tr.x[0], t_obs), rtol=1e-4,
                               atol=1e-4)


def _crafted_result(source: str, method: str = "sindy"):
    from discovery.methods.base import Candidate
    from discovery.result import DiscoveryResult

    x, y = sympy.symbols("x y")
    return DiscoveryResult(variables=("x", "y"), candidates=[Candidate(method, {"x": y, "y": -x})], source=source)


@pytest.mark.parametrize("template", ['x"""; {code}; """.csv', "x\n{code}\n.csv", "x'''; {code}; '''.csv",
                                      'x\\"""\n{code}\n""".csv', "# -*- coding: utf-7 -*-\n{code}.csv"])
def test_python_download_runs_nothing_from_the_source_name(template, tmp_path) -> None:
    sentinel = tmp_path / "ran"
    source = template.format(code=f"__import__('pathlib').Path({str(sentinel)!r}).touch()")
    result = _crafted_result(source, method=source)
    module = python_module(result, result.best)
    namespace: dict = {}
    exec(compile(module, "rhs.py", "exec"), namespace)  # the generated module: the payload must stay text
    assert not sentinel.exists()
    assert source in namespace["__doc__"] and list(namespace["rhs"](0.0, np.array([1.0, 2.0]))) == [2.0, -1.0]


def test_latex_download_keeps_names_in_their_comment() -> None:
    source = "a\n\\input{/etc/passwd}\r\\immediate\\write18{id}\u2028\\def.csv"
    result = _crafted_result(source, method="\\input{/etc/passwd}^~{}")
    tex = latex_document(result, result.best)
    code_lines = [line.split("%", 1)[0] for line in tex.splitlines()]
    assert not any("\\input" in line or "\\write18" in line or "\\def" in line for line in code_lines), tex
    assert all(ch == "\n" or ch.isprintable() for ch in tex)
