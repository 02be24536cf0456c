"""Uncertainty of the selected model: intervals that hold the true constants, inclusion of true and spurious
terms, identifiability warnings, bands, and the JSON contract."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from discovery import DiscoveryResult, discover, simulate
from discovery.methods.base import Candidate
from discovery.pipeline.uncertainty import (
    inclusion,
    own_shares,
    skeletons,
    structure,
    support_of,
    undetermined,
    unsure_terms,
)


@pytest.fixture(scope="module")
def lv_noisy():
    return simulate("lotka_volterra", noise=0.01, seed=3)


@pytest.fixture(scope="module")
def lv_result(lv_noisy):
    return discover(lv_noisy, method="sindy")


TRUE_LV = {"x": {"x": 1.0, "x*y": -0.1}, "y": {"y": -1.5, "x*y": 0.075}}


def test_every_term_has_an_interval_holding_the_truth(lv_result):
    table = lv_result.term_uncertainty()
    assert set(table) == {"x", "y"}
    for v, truth in TRUE_LV.items():
        rows = {r["term"]: r for r in table[v]}
        assert set(rows) == set(truth)
        for term, value in truth.items():
            lo, hi = rows[term]["interval"]
            assert lo < value < hi and lo < rows[term]["coefficient"] < hi
            assert (hi - lo) < 0.05 * abs(value)  # 1% noise pins the constants down
            assert rows[term]["inclusion"] >= 0.9


def test_summary_writes_plus_minus(lv_result):
    first = lv_result.summary().splitlines()[0]
    assert first.startswith("dx/dt = (") and "+-" in first


def test_json_round_trip_keeps_the_uncertainty(lv_result, lv_noisy):
    d = json.loads(lv_result.to_json())
    assert d["uncertainty"]["x"][0]["interval"] and d["constants"]["covariance"]
    again = DiscoveryResult.from_dict(d)
    assert again.term_uncertainty() == lv_result.term_uncertainty()
    tr = lv_noisy[0]
    band = again.prediction_band(tr.x[0], tr.t[:50], n=20)
    assert band is not None
    lo, hi = band
    assert lo.shape == (50, 2) and np.all(lo <= hi + 1e-12)
    mid = again.simulate(tr.x[0], tr.t[:50])
    assert np.mean((lo <= mid) & (mid <= hi)) > 0.9


def test_uncertainty_can_be_turned_off(lv_noisy):
    result = discover(lv_noisy, method="sindy", uncertainty=False)
    assert result.uncertainty is None and result.to_dict()["uncertainty"] is None
    assert "+-" not in result.summary()


def test_a_spurious_term_gets_low_inclusion_and_does_not_survive(lv_noisy):
    """A model forced to carry a term the data does not need (a constant in dx/dt): the resampled selections, with
    the drop-one variant in their pool, rarely keep it, and the stable selection drops it."""
    x, y = sympy.symbols("x y")
    from discovery.methods.base import MethodContext
    from discovery.pipeline.settings import build_settings
    from discovery.pipeline.stages import Progress, RunState, quantify, stabilize
    from discovery.pipeline.uncertainty import inclusion

    settings = build_settings("sindy")
    state = RunState(data=lv_noisy, settings=settings, progress=Progress(None), context=MethodContext())
    spurious = Candidate("test", {"x": 1.0 * x - 0.1 * x * y + 0.001, "y": -1.5 * y + 0.075 * x * y})
    state.candidates = [state.score(spurious)]
    state.best = spurious
    stabilize(state)
    shares = inclusion(state.bootstrap, ["x", "y"])["x"]
    (constant,) = skeletons(sympy.Float(0.001))
    assert shares.get(constant, 0.0) <= 0.3
    assert state.best is not spurious and len(sympy.Add.make_args(state.best.equations["x"])) == 2
    quantify(state)
    rows = {r["term"]: r for r in state.uncertainty["terms"]["x"] if not r.get("inner")}
    assert set(rows) == {"x", "x*y"} and min(r["inclusion"] for r in rows.values()) >= 0.9


@pytest.mark.parametrize("rounds", [1, 2])
def test_a_second_resampling_drops_the_term_the_first_one_left(lv_noisy, rounds, monkeypatch):
    """Two terms the data do not need: the first resampled selection drops one of them (its pool has the drop-one
    variants of the model it started from); with a second round, over the new selection's own drop-one variants,
    the other goes too."""
    from discovery.methods.base import MethodContext
    from discovery.pipeline import stages
    from discovery.pipeline.settings import build_settings

    monkeypatch.setattr(stages, "STABILIZE_ROUNDS", rounds)
    x, y = sympy.symbols("x y")
    state = stages.RunState(data=lv_noisy, settings=build_settings("sindy"), progress=stages.Progress(None),
                            context=MethodContext())
    spurious = Candidate("test", {"x": 1.0 * x - 0.1 * x * y + 0.001 + 0.0005 * y,
                                  "y": -1.5 * y + 0.075 * x * y})
    state.candidates = [state.score(spurious)]
    state.best = spurious
    stages.stabilize(state)
    kept = len(sympy.Add.make_args(state.best.equations["x"]))
    assert kept == (3 if rounds == 1 else 2)


def test_skeletons_ignore_constants():
    x, y = sympy.symbols("x y")
    assert skeletons(0.5 * x * y / (1 + 0.2 * x)) == skeletons(3.0 * x * y / (1 + 0.7 * x))
    assert skeletons(2.0 * x) != skeletons(2.0 * y)
    a = Candidate("a", {"x": 2.0 * x - 3.1 * x * y + 1.5})
    b = Candidate("b", {"x": x - x * y + 7.0})
    assert structure(a, ["x"]) == structure(b, ["x"])


def test_undetermined_names_loose_constants():
    table = {"x": [{"term": "y", "coefficient": 0.01, "interval": [-0.02, 0.04]},
                   {"term": "x", "coefficient": 1.0, "interval": [0.9, 1.1]}]}
    found = undetermined(table)
    assert len(found) == 1 and "coefficient of y" in found[0]


def test_unsure_terms_names_rarely_chosen_terms_only():
    table = {"N": [{"term": "N", "coefficient": -1.3, "inclusion": 0.9},
                   {"term": "N/(N + 1.17)", "coefficient": 3.4, "inclusion": 0.35},
                   {"term": "N/(N + 1.17)", "inner": True, "coefficient": 1.17, "inclusion": 0.35},
                   {"term": "1", "coefficient": 0.1, "inclusion": None}]}
    assert unsure_terms(table) == ["dN/dt: N/(N + 1.17) (0.35)"]


def test_inclusion_multiplies_the_window_and_the_bagged_shares():
    from discovery.pipeline.uncertainty import Bootstrap

    x = sympy.Symbol("x")
    a, b = Candidate("sindy", {"x": -x}), Candidate("sindy", {"x": -x + 0.1 * x**2})
    boot = Bootstrap([a, b], np.array([0, 1, 1, 1]), [structure(c, ["x"]) for c in (a, b)])
    shares = inclusion(boot, ["x"], {"x": {next(iter(skeletons(x**2))): 0.5}})
    assert shares["x"][next(iter(skeletons(-x)))] == 1.0  # no bagged share: the window share alone
    assert shares["x"][next(iter(skeletons(x**2)))] == 0.75 * 0.5


def test_support_reads_each_equation_off_the_bag_shares():
    """An equation's support is the smallest bag share of its terms (``nan`` when the bags never saw one), its form
    the same id wherever the terms are the same up to constants."""
    C, N = sympy.symbols("C N")

    def key(term):
        return next(iter(skeletons(term)))

    shares = {"N": {key(N * sympy.log(C)): 0.03, key(N): 0.88, key(C * N / (C + 1)): 0.9},
              "C": {key(sympy.Integer(1)): 0.3, key(C): 0.2}}
    stand_in = Candidate("sindy", {"N": 0.49 * N * sympy.log(C), "C": 3.0 - 1.0 * C})
    law = Candidate("sindy", {"N": 2.0 * C * N / (C + 0.99) - 1.01 * N, "C": 3.01 - 0.99 * C})
    unseen = Candidate("sindy", {"N": 0.1 * N**2, "C": 3.0 - 1.0 * C})
    support = support_of([stand_in, law, unseen], shares, ["N", "C"])
    assert support.share[:2].tolist() == [[0.03, 0.2], [0.88, 0.2]]
    assert np.isnan(support.share[2, 0]) and support.share[2, 1] == 0.2
    assert support.form[0, 1] == support.form[1, 1] == support.form[2, 1] and support.form[0, 0] != support.form[1, 0]
    assert own_shares(law, shares, ["N", "C"])["N"] == {key(N): 0.88, key(C * N / (C + 1)): 0.9}
    assert own_shares(unseen, shares, ["N", "C"]) is None


def test_equation_text_shows_intervals_beside_a_fixed_coefficient() -> None:
    from discovery.result import Candidate, DiscoveryResult

    x, y = sympy.symbols("x y")
    best = Candidate(equations={"x": 0.5 * x - x * y, "y": -y}, method="sindy", metrics={"r2": 1.0})
    result = DiscoveryResult(variables=("x", "y"), candidates=[best], uncertainty={"terms": {
        "x": [{"term": "x", "coefficient": 0.5, "interval": [0.49, 0.51], "inclusion": 1.0},
              {"term": "x*y", "coefficient": -1.0, "interval": None, "inclusion": 1.0}],
        "y": [{"term": "y", "coefficient": -1.0, "interval": None, "inclusion": 1.0}]}})
    assert result.equation_text("x") == "(0.5 +- 0.01)*x - x*y"
    assert result.equation_text("y") == "-y"  # no interval at all: the plain equation


def test_bench_uncertainty_reports_each_run_in_order_with_workers(tmp_path, capsys):
    """``eqdisco bench uncertainty --workers 2`` says how far it is (a line per run, in order), prints the table
    and writes the JSON."""
    import argparse
    import json

    from discovery.bench import uncertainty as bench

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    out = tmp_path / "unc.json"
    args = parser.parse_args(["--systems", "lotka_volterra", "--noise", "0.01", "--seeds", "2", "--method", "sindy",
                              "--workers", "2", "--out", str(out)])
    assert bench.run(args) == 0
    printed = capsys.readouterr().out
    assert printed.index("[1/2] lotka_volterra noise=0.01 seed=0") < printed.index("[2/2] lotka_volterra noise=0.01 seed=1")
    assert "coverage(95%)" in printed
    saved = json.loads(out.read_text())
    assert saved["method"] == "sindy" and len(saved["runs"]) == 2 and saved["summary"][0]["runs"] == 2


def test_a_model_that_misses_part_of_the_law_has_its_inclusion_scaled_down(lv_noisy):
    """A model whose window error is many times what the noise explains (here the law's terms with constants 7% off,
    which no resample or drop-one variant mends): every term's inclusion is at most the model's fit support, and a
    warning says the law has terms the model lacks."""
    x, y = sympy.symbols("x y")
    from discovery.methods.base import MethodContext
    from discovery.pipeline.settings import build_settings
    from discovery.pipeline.stages import Progress, RunState, quantify, stabilize
    from discovery.pipeline.uncertainty import fit_support
    from discovery.pipeline.scoring import selection_error

    settings = build_settings("sindy")
    state = RunState(data=lv_noisy, settings=settings, progress=Progress(None), context=MethodContext())
    off = Candidate("test", {"x": 1.0 * x - 0.1 * x * y, "y": -1.4 * y + 0.07 * x * y})
    state.candidates = [state.score(off)]
    state.best = off
    stabilize(state)
    quantify(state)
    support = fit_support(selection_error(state.best), state.floor)
    assert support < 0.5, (selection_error(state.best), state.floor)
    rows = [r for rs in state.uncertainty["terms"].values() for r in rs if not r.get("inner")]
    assert rows and all(r["inclusion"] <= support + 1e-12 for r in rows)
    assert any("times the short-window error that the measurement noise explains" in w for w in state.warnings)


def test_fit_support_is_one_within_the_noise_and_falls_with_the_excess():
    from discovery.pipeline.uncertainty import MISFIT, MISFIT_ABS, fit_support

    assert fit_support(1e-4, 1e-4) == 1.0 and fit_support(MISFIT * 1e-3 + MISFIT_ABS, 1e-3) == 1.0
    assert fit_support(1e-2, 1e-3) == pytest.approx((MISFIT * 1e-3 + MISFIT_ABS) / 1e-2)
    assert fit_support(1e-6, 0.0) == 1.0 and fit_support(float("inf"), 1e-3) == 0.0


@pytest.mark.parametrize("system, rates, contradicted", [
    ("lotka_volterra", {"x": 1.0, "y": 1.0}, False),  # follows the record: support 1
    ("lotka_volterra", {"x": 1.25, "y": 1.0}, True),  # a cycle out of phase, and the same from nearby starts
    ("lorenz", {"x": 1.0, "y": 1.0}, False),  # drifts off the record as it drifts off itself: chaos
])
def test_the_record_contradicts_a_model_that_leaves_it_only_where_the_model_is_not_chaotic(system, rates,
                                                                                            contradicted):
    from discovery.methods.base import MethodContext
    from discovery.pipeline.scoring import ScoringConfig, score_candidate, trajectory_error
    from discovery.pipeline.uncertainty import record_support
    from grammar.zoo import get_system

    data = simulate(system, noise=0.01, seed=1)
    smoothed = [s for s, _ in MethodContext().derivatives(data)]
    law = get_system(system).rhs()
    model = score_candidate(Candidate("test", {v: e * rates.get(v, 1.0) for v, e in law.items()}), data, smoothed)
    support = record_support(model, data, smoothed, seed=0)
    E, follows = trajectory_error(model), ScoringConfig().chaotic_error
    if contradicted:
        assert E > 2 * follows and support < 0.6, (E, support)
    else:
        assert support == 1.0, (E, support)
    if system == "lorenz":
        assert E > follows  # the law itself leaves the chaotic record, and that is no evidence against it
