"""The page, step by step, through Streamlit's AppTest: data in, set-up, run, results, downloads, stop."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from app import state
from app.loading import load_bytes

RUN_LIMIT_S = 90


def _app(entry: str) -> AppTest:
    return AppTest.from_file(entry, default_timeout=60)


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _wait_for_run(at: AppTest) -> None:
    """Rerun the page (as the progress fragment's polling does) until the background run has ended."""
    deadline = time.monotonic() + RUN_LIMIT_S
    while True:
        job = at.session_state[state.JOB] if state.JOB in at.session_state else None
        if job is None or job.finished:
            at.run()
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the run did not end within {RUN_LIMIT_S} s")
        time.sleep(0.3)
        at.run()


def _method_names(at: AppTest) -> list[str]:
    """Names of the methods offered (the widget shows 'name — description')."""
    return [o.split(" — ")[0] for o in at.multiselect(key="methods").options]


def _uploaded(entry: str, payload: bytes, name: str = "lv.csv") -> AppTest:
    at = _app(entry).run()
    at.file_uploader(key="upload").upload(name, payload, "text/csv")
    return at.run()


def test_page_starts_without_data(app_entry: str) -> None:
    at = _app(app_entry).run()
    assert not at.exception
    assert at.title[0].value == "eqdisco"
    assert at.radio(key="data_source").options == ["Upload a file", "Bundled example"]
    assert not at.button  # no Run button before there is data


def test_pick_a_bundled_example(app_entry: str) -> None:
    at = _app(app_entry).run()
    at.radio(key="data_source").set_value("Bundled example").run()
    at.selectbox(key="example").set_value("lotka_volterra.csv").run()
    assert not at.exception and not _errors(at)
    assert at.session_state[state.DATA].name == "lotka_volterra.csv"
    assert [m.label for m in at.metric][:2] == ["Variables", "Trajectories"]
    assert at.metric[0].value == "x, y"
    assert at.button(key="run").label == "Discover equations"


def test_upload_a_file_through_the_widget(app_entry: str, lv_csv_bytes: bytes) -> None:
    at = _uploaded(app_entry, lv_csv_bytes)
    assert not at.exception and not _errors(at)
    assert at.metric[0].value == "x, y" and at.metric[2].value == "301"
    assert any("lv.csv: 2 variables" in c.value for c in at.caption)


def test_data_injected_in_session_state(app_entry: str, lv_csv_bytes: bytes) -> None:
    at = _app(app_entry)
    at.session_state[state.DATA] = load_bytes("injected.csv", lv_csv_bytes)
    at.session_state["data_source"] = "Bundled example"
    at.session_state[state.DATA_ORIGIN] = ("example", "lotka_volterra.csv")
    at.session_state["example"] = "lotka_volterra.csv"
    at.run()
    assert not at.exception
    assert any("injected.csv" in c.value for c in at.caption)


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("bad.csv", b"t,x,y\n0,1,2\n0.1,oops,2\n0.2,1,2\n", ["bad.csv", "row 3", "column 'x'"]),
        ("notime.csv", b"a,x\n0,1\n1,2\n", ["notime.csv", "time column"]),
    ],
)
def test_bad_file_shows_one_clear_message(app_entry: str, name: str, payload: bytes, expected: list[str]) -> None:
    at = _uploaded(app_entry, payload, name)
    assert not at.exception  # never a traceback
    errors = _errors(at)
    assert len(errors) == 1, errors
    for part in expected:
        assert part in errors[0]
    assert not at.button  # nothing to run
    assert any("What the file should look like" in e.label for e in at.expander)


def test_file_over_the_size_limit(app_entry: str, lv_csv_bytes: bytes, monkeypatch) -> None:
    monkeypatch.setenv("EQDISCO_MAX_UPLOAD_MB", "0.01")
    at = _uploaded(app_entry, lv_csv_bytes)
    errors = _errors(at)
    assert len(errors) == 1 and "0.01 MB limit" in errors[0] and "EQDISCO_MAX_UPLOAD_MB" in errors[0]


def test_method_choice_shows_options_and_validates_the_guess(app_entry: str, lv_csv_bytes: bytes) -> None:
    at = _uploaded(app_entry, lv_csv_bytes)
    methods = at.multiselect(key="methods")
    assert methods.value == ["sindy"]
    assert any(e.label == "Options of `sindy`" for e in at.expander)
    assert any(e.label == "About the methods" for e in at.expander)
    methods.set_value([]).run()
    assert at.button(key="run").disabled
    if "prose" not in _method_names(at):
        pytest.skip("the prose method is not available here; its guess box cannot be shown")
    at.multiselect(key="methods").set_value(["sindy", "prose"]).run()
    at.text_area(key="prose_guess").input("dx/dt = 1.0*x - 0.1*x*y\ndy/dt = bogus(y)").run()
    assert any("line 2 (dy/dt): unknown function 'bogus'" in e for e in _errors(at))
    assert at.button(key="run").disabled
    at.text_area(key="prose_guess").input("dx/dt = 1.0*x - 0.1*x*y\ndy/dt = 0.075*x*y - 1.5*y").run()
    assert not _errors(at) and not at.button(key="run").disabled
    assert any("\\dot{y}" in e.value for e in at.latex)


def test_pinn_known_model_is_checked_live(app_entry: str, lv_csv_bytes: bytes) -> None:
    at = _uploaded(app_entry, lv_csv_bytes)
    if "pinn" not in _method_names(at):
        pytest.skip("the pinn method is not registered here")
    at.multiselect(key="methods").set_value(["pinn"]).run()
    from grammar.parser import MAX_FORMULA_CHARS

    assert at.text_area(key="pinn_known").max_chars == MAX_FORMULA_CHARS  # the box takes no more than the parser
    assert at.button(key="run").disabled  # pinn needs the known part
    assert any("write the known part of the model" in w.value for w in at.warning)
    at.text_area(key="pinn_known").input("dx/dt = 1.0*x\ndy/dt = -1.5*y").run()
    assert any("no hidden term" in e for e in _errors(at)), _errors(at)
    at.text_area(key="pinn_known").input("dx/dt = 1.0*x + h1(x, y)\ndy/dt = -1.5*y + h2(x, y)").run()
    assert not _errors(at) and not at.button(key="run").disabled
    assert any("h_{1}" in e.value or "h1" in e.value for e in at.latex)


def test_auto_lists_the_methods_it_will_run(app_entry: str, lv_csv_bytes: bytes) -> None:
    at = _uploaded(app_entry, lv_csv_bytes)
    at.toggle(key="auto_methods").set_value(True).run()
    assert not at.exception
    assert any(c.value.startswith("Auto runs: ") and "`sindy`" in c.value for c in at.caption)


def test_run_results_and_downloads(app_entry: str, lv_csv_bytes: bytes) -> None:
    at = _uploaded(app_entry, lv_csv_bytes)
    at.button(key="run").click().run()
    _wait_for_run(at)
    assert not at.exception and not _errors(at)
    result = at.session_state[state.RESULT]
    assert result.method == "sindy" and set(result.equations) == {"x", "y"}
    assert result.metrics["r2"] > 0.9
    code = [c.value for c in at.code]
    assert any(c.startswith("dx/dt = ") and "\ndy/dt = " in c for c in code), code
    assert any("\\dot{x}" in latex.value for latex in at.latex)
    assert at.selectbox(key=state.CANDIDATE).value == 0
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Result (JSON)", "Simulated trajectories (CSV)", "Right-hand side (Python)", "Equations (LaTeX)",
                      "Figure (PNG)"]
    table = at.dataframe[-1].value
    assert list(table["rank"][: len(result.candidates)]) == list(range(1, len(result.candidates) + 1))

    # a widget change after the run redraws from the cache: same result, no new run
    at.slider(key="horizon").set_value(100).run()
    assert at.session_state[state.RESULT] is result and state.JOB not in at.session_state
    if len(result.candidates) > 1:
        at.selectbox(key=state.CANDIDATE).set_value(1).run()
        assert not at.exception and at.session_state[state.RESULT] is result

    # running the same settings again is answered by the result cache
    at.button(key="run").click().run()
    _wait_for_run(at)
    again = at.session_state[state.RESULT]
    assert again is not result and again.to_dict()["equations"] == result.to_dict()["equations"]


@pytest.mark.parametrize("auto", [False, True], ids=["defaults", "auto"])
def test_a_saturating_predator_prey_file_comes_back_in_holling_form(app_entry: str, auto: bool) -> None:
    """A new user's file of a Rosenzweig-MacArthur predator-prey (Holling II predation, 1% noise), run with the
    page's defaults and with ``auto``: the law's rational terms, no trigonometric stand-in, and the table of its
    constants."""
    import io

    import numpy as np
    import pandas as pd
    import sympy

    from discovery.simulation import integrate, lambdify_system

    x, y = sympy.symbols("x y")
    law = [x * (1 - x / 3) - x * y / (1 + x), sympy.Rational(1, 2) * x * y / (1 + x) - sympy.Rational(1, 5) * y]
    t = np.arange(0.0, 60.05, 0.1)
    states = integrate(lambdify_system(law, ["x", "y"]), np.array([1.0, 0.5]), t)
    states = states + 0.01 * states.std(axis=0) * np.random.default_rng(1).standard_normal(states.shape)
    buffer = io.StringIO()
    pd.DataFrame({"t": t, "x": states[:, 0], "y": states[:, 1]}).to_csv(buffer, index=False)

    at = _uploaded(app_entry, buffer.getvalue().encode(), "predator_prey.csv")
    if auto:
        at.toggle(key="auto_methods").set_value(True).run()
    at.button(key="run").click().run()
    _wait_for_run(at)
    assert not at.exception and not _errors(at)
    result = at.session_state[state.RESULT]
    for v, equation in result.equations.items():
        assert not equation.has(sympy.sin, sympy.cos), (v, equation)
        holling = [term for term in sympy.Add.make_args(sympy.expand(equation))
                   if term.has(x) and term.has(y) and sympy.denom(term).has(x)]
        assert len(holling) == 1, (v, equation)  # x*y/(x + K): the saturating predation, in both equations
    assert _coefficient_tables(at)


def test_stop_a_run(app_entry: str, lv_csv_bytes: bytes) -> None:
    at = _uploaded(app_entry, lv_csv_bytes)
    if "node" not in _method_names(at):
        pytest.skip("the node method (a run slow enough to stop) is not available here")
    at.multiselect(key="methods").set_value(["node"]).run()  # trains a network: seconds, reporting progress
    at.button(key="run").click().run()
    job = at.session_state[state.JOB] if state.JOB in at.session_state else None
    assert job is not None and not job.finished, "the node run ended before Stop could be pressed"
    assert at.button(key="stop_run").label == "Stop"
    at.button(key="stop_run").click().run()
    assert job.cancel_requested
    _wait_for_run(at)
    assert not at.exception
    assert job.state == "cancelled", f"the run ended as {job.state!r} after {job.elapsed_s:.1f} s"
    assert any("Stopped after" in e for e in _errors(at))
    assert state.RESULT not in at.session_state and state.JOB not in at.session_state


def test_operator_predictions_are_drawn_and_compared(app_entry: str, lv_csv_bytes: bytes) -> None:
    import json

    import numpy as np

    from discovery import discover
    from discovery.prediction import OperatorPrediction, relative_l2

    loaded = load_bytes("lv.csv", lv_csv_bytes)
    tr = loaded.trajectories[0]
    result = discover(loaded.trajectories, method="sindy", refine=False)
    t = np.linspace(tr.t[0], tr.t[-1] * 1.5, 200)
    x = result.simulate(tr.x[0], t) * 1.01  # a prediction 1% off the model, reaching past the data
    observed = np.interp(tr.t, t, x[:, 0])
    rel = relative_l2(observed, tr.x[:, 0])
    result.operator_predictions.append(OperatorPrediction("deeponet", result.variables, t, x, 0, rel))

    at = _app(app_entry)
    at.session_state["data_source"] = "Bundled example"
    at.session_state["example"] = "lotka_volterra.csv"
    at.session_state[state.DATA_ORIGIN] = ("example", "lotka_volterra.csv")
    at.session_state[state.DATA] = loaded
    at.session_state[state.RESULT] = result
    at.session_state[state.RESULT_KEY] = "injected-" + loaded.digest
    at.run()
    assert not at.exception and not _errors(at)
    charts = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    names = {tr_["name"] for spec in charts.values() for tr_ in spec["data"] if "name" in tr_}
    assert "deeponet (operator)" in names and "data" in names
    table = at.dataframe[-1].value
    row = table[table["kind"] == "operator"].iloc[0]
    assert row["model"] == "deeponet (trajectory 0)" and row["relative L2 error"] == pytest.approx(rel)


def _coefficient_tables(at: AppTest) -> list:
    """The coefficient tables on the page (by their columns)."""
    return [d.value for d in at.dataframe
            if list(d.value.columns) == ["equation", "term", "coefficient", "interval", "inclusion"]]


def _band_traces(at: AppTest) -> list:
    """The traces of the prediction band on the page's charts (its lower and upper edges, per variable)."""
    import plotly.io

    figures = [plotly.io.from_json(c.proto.spec) for c in at.get("plotly_chart")]
    return [t for fig in figures for t in fig.data if "prediction band" in str(t.name or "")]


def _values(array):
    """A plotly array as numbers: plotly 6 writes numpy arrays as ``{"dtype", "bdata"}`` (base64) in JSON."""
    import base64

    import numpy as np

    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).astype(float)
    return np.asarray(array, dtype=float)


def _inject(app_entry: str, loaded, result) -> AppTest:
    at = _app(app_entry)
    at.session_state["data_source"] = "Bundled example"
    at.session_state["example"] = "lotka_volterra.csv"
    at.session_state[state.DATA_ORIGIN] = ("example", "lotka_volterra.csv")
    at.session_state[state.DATA] = loaded
    at.session_state[state.RESULT] = result
    at.session_state[state.RESULT_KEY] = "injected-" + loaded.digest + str(id(result))
    return at.run()


def test_uncertainty_table_band_and_notes(app_entry: str, lv_csv_bytes: bytes) -> None:
    import numpy as np

    from discovery import discover

    loaded = load_bytes("lv.csv", lv_csv_bytes)
    result = discover(loaded.trajectories, method="sindy")
    assert result.uncertainty
    note = ("other equations fit these data about as well (chosen in at least 20% of resamples): "
            "dx/dt = -0.1*x*y + 1.0*x; dy/dt = 0.075*x*y - 1.5*y")
    result.warnings.append(note)
    at = _inject(app_entry, loaded, result)
    assert not at.exception and not _errors(at)

    tables = _coefficient_tables(at)
    assert len(tables) == 1
    table = tables[0]
    expected = [(f"d{v}/dt", r["coefficient"], r["inclusion"]) for v in result.variables
                for r in result.term_uncertainty()[v]]
    assert [(e, c, p) for e, c, p in zip(table["equation"], table["coefficient"], table["inclusion"])] == expected
    assert table["inclusion"].between(0.0, 1.0).all()
    with_interval = [r for v in result.variables for r in result.term_uncertainty()[v] if r["interval"]]
    assert with_interval and sum(s.startswith("[") for s in table["interval"]) == len(with_interval)

    band = _band_traces(at)
    assert len(band) == 2 * len(result.variables)  # a lower and an upper edge per variable
    assert all(t.name == "95% prediction band of #1" for t in band)
    assert [t.fill for t in band] == [None, "tonexty"] * len(result.variables)
    for lo, hi in zip(band[::2], band[1::2]):
        assert np.all(_values(hi.y) >= _values(lo.y)) and np.any(_values(hi.y) > _values(lo.y))

    # the notes of the run show, formulas as written (a product's * escaped, not read as italics)
    shown = [w.value for w in at.warning if "Notes from the run" in w.value]
    assert len(shown) == 1 and "dx/dt = -0.1\\*x\\*y + 1.0\\*x" in shown[0]

    # a result without uncertainty shows neither the table nor the band
    plain = discover(loaded.trajectories, method="sindy", uncertainty=False)
    at = _inject(app_entry, loaded, plain)
    assert not at.exception and not _errors(at)
    assert not _coefficient_tables(at) and not _band_traces(at)


def test_the_uncertainty_toggle_turns_it_off(app_entry: str, lv_csv_bytes: bytes) -> None:
    at = _uploaded(app_entry, lv_csv_bytes)
    assert at.toggle(key="uncertainty").value is True  # on by default
    at.button(key="run").click().run()
    _wait_for_run(at)
    assert not at.exception and not _errors(at)
    assert at.session_state[state.RESULT].uncertainty
    assert len(_coefficient_tables(at)) == 1 and _band_traces(at)

    at.toggle(key="uncertainty").set_value(False).run()
    at.button(key="run").click().run()
    _wait_for_run(at)
    assert not at.exception and not _errors(at)
    assert at.session_state[state.RESULT].uncertainty is None
    assert not _coefficient_tables(at) and not _band_traces(at)
