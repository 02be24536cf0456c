"""The ``prose`` method and ``eqdisco bench prose`` against a tiny PROSE model trained here on Lotka-Volterra.

The module fixture trains a one-layer model for 150 steps on 16 Lotka-Volterra samples (about 15 s on one CPU
thread): enough for the symbol decoder to write the Lotka-Volterra structure, so that candidates, variable
mapping, operator predictions and the benchmark's metrics are checked on real outputs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import sympy

torch = pytest.importorskip("torch")

from discovery.terms import same_terms  # noqa: E402
from discovery.data import Trajectories, Trajectory  # noqa: E402
from discovery.errors import DiscoveryError  # noqa: E402
from discovery.methods import get_method, method_names  # noqa: E402
from discovery.methods.base import MethodContext  # noqa: E402
from discovery.methods.prose import DEFAULT_CHECKPOINT, ProseMethod, clear_cache  # noqa: E402
from discovery.training.data import DataConfig, generate_dataset  # noqa: E402
from discovery.simulation import simulate  # noqa: E402

LV_DATA = DataConfig(systems=("lotka_volterra",), random_fraction=0.0, n_samples=16, n_input=32, n_query=16,
                     irregular_fraction=0.0, seed=0)


@pytest.fixture(scope="module")
def lv_checkpoint(tmp_path_factory) -> Path:
    from grammar.tokenizer import ExpressionTokenizer
    from models.prose import ProseConfig, ProseModel, TrainConfig, train

    tok = ExpressionTokenizer()
    arrays, _ = generate_dataset(LV_DATA, workers=1, cache_dir=None)
    data = {k: torch.from_numpy(v) for k, v in arrays.items()}
    torch.manual_seed(0)
    config = ProseConfig(vocab_size=tok.vocab_size, pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id,
                         d_model=64, n_heads=4, d_ff=128, n_data_layers=1, n_symbol_layers=1, n_fusion_layers=1,
                         n_operator_layers=1, n_decoder_layers=1, max_symbol_len=64, n_time_frequencies=8)
    folder = tmp_path_factory.mktemp("prose_lv")
    train(ProseModel(config), data, TrainConfig(steps=150, batch_size=16, lr=3e-3, warmup_steps=10), folder,
          tokenizer=tok, device="cpu", progress=False, metadata={"data_config": LV_DATA.to_dict()})
    clear_cache()
    return folder


@pytest.fixture(scope="module")
def lv_data() -> Trajectories:
    """Lotka-Volterra over the training input window, with user variable names."""
    sim = simulate("lotka_volterra", t=np.linspace(0.0, 2.5, 40))
    return Trajectories(["prey", "predator"], [Trajectory(sim[0].t, sim[0].x)], source="lv")


def truth() -> dict[str, sympy.Expr]:
    prey, pred = sympy.symbols("prey predator")
    return {"prey": prey - 0.1 * prey * pred, "predator": 0.075 * prey * pred - 1.5 * pred}


def test_registered():
    assert "prose" in method_names()
    assert ProseMethod.requires == ("torch",)
    assert isinstance(get_method("prose"), ProseMethod)


def test_candidates_and_prediction(lv_checkpoint, lv_data):
    context = MethodContext()
    candidates = ProseMethod(checkpoint=lv_checkpoint).propose(lv_data, context)
    assert 1 <= len(candidates) <= 10
    best = candidates[0]
    assert best.method == "prose" and best.variables == ("prey", "predator")
    assert same_terms(best.equations, truth())
    coef = float(sympy.expand(best.equations["predator"]).as_coefficients_dict()[sympy.Symbol("predator")])
    assert coef == pytest.approx(-1.5, rel=0.15)
    # Two reads (the whole span and its first half; shorter windows have under 16 points): best of each first.
    assert best.info["reads"] == 2
    assert {tuple(c.info["window"]) for c in candidates[:2]} <= {(0.0, 2.5), (0.0, lv_data[0].t[19])}
    assert candidates[0].info["beam_rank"] == 0
    (pred,) = context.predictions
    tr = lv_data[0]
    assert pred.model == "prose" and pred.variables == ("prey", "predator")
    # 40 points: a third of the span holds under 16, so no backtest: the whole span is read, twice it forecast
    assert pred.info["read_fraction"] is None and pred.info["backtest_rel_l2"] is None
    assert pred.t[0] == tr.t[0] and pred.t[-1] == pytest.approx(tr.t[-1] + 2.0 * tr.duration)
    assert pred.x.shape == (pred.t.size, 2)
    assert np.all(np.diff(pred.t) > 0)
    assert pred.rel_l2 is not None and pred.rel_l2 < 0.5


def test_the_forecast_reads_the_length_its_backtest_picks(lv_checkpoint):
    sim = simulate("lotka_volterra", t=np.linspace(0.0, 12.0, 241))
    data = Trajectories(["prey", "predator"], [Trajectory(sim[0].t, sim[0].x)])
    context = MethodContext()
    method = ProseMethod(checkpoint=lv_checkpoint, horizon=1.5)
    method.propose(data, context)
    (pred,) = context.predictions
    fraction = pred.info["read_fraction"]
    assert fraction in method.options.forecast_reads
    read = fraction * 12.0
    assert pred.info["read"] == [pytest.approx(12.0 - read, abs=0.05), 12.0]
    assert pred.t[0] == pytest.approx(12.0 - read, abs=0.05) and pred.t[-1] == pytest.approx(12.0 + 1.5 * read)
    assert np.all(np.diff(pred.t) > 0) and pred.x.shape == (pred.t.size, 2)
    # its error estimate is the backtest's: the same read length, one read earlier, on data it had not seen
    assert pred.rel_l2 == pred.info["backtest_rel_l2"] and 0.0 <= pred.rel_l2 < 10.0
    with pytest.raises(DiscoveryError, match="forecast_reads"):
        ProseMethod(checkpoint=lv_checkpoint, forecast_reads=(0.5,)).propose(data, MethodContext())


def test_model_is_cached(lv_checkpoint):
    from discovery.methods.prose import load_predictor

    assert load_predictor(lv_checkpoint, "cpu") is load_predictor(lv_checkpoint, "cpu")


def test_guess_is_read_and_changes_the_input(lv_checkpoint, lv_data):
    guess = {"prey": "prey - 0.1*prey*predator", "predator": "0.075*prey*predator - 1.5*predator"}
    method = ProseMethod(checkpoint=lv_checkpoint)
    with_guess = MethodContext(options={"guess": guess})
    candidates = method.propose(lv_data, with_guess)
    assert candidates and candidates[0].info["guess"] is True
    assert with_guess.predictions[0].info["guess"] is True
    plain = MethodContext()
    method.propose(lv_data, plain)
    assert not np.allclose(plain.predictions[0].x, with_guess.predictions[0].x)


@pytest.mark.parametrize(
    "guess, message",
    [
        ({"prey": "prey"}, "missing"),
        ({"prey": "prey", "predator": "pred", "z": "1"}, "unknown"),
        ({"prey": "prey +* 2", "predator": "predator"}, "guess, equation for 'prey'"),
        ("prey", "expected entries like"),
    ],
)
def test_bad_guess(lv_checkpoint, lv_data, guess, message):
    with pytest.raises(DiscoveryError, match=message):
        ProseMethod(checkpoint=lv_checkpoint).propose(lv_data, MethodContext(options={"guess": guess}))


def test_too_many_variables(lv_checkpoint):
    t = np.linspace(0, 1, 20)
    data = Trajectories([f"v{i}" for i in range(6)], [Trajectory(t, np.random.default_rng(0).normal(size=(20, 6)))])
    with pytest.raises(DiscoveryError, match="at most 5 state variables"):
        ProseMethod(checkpoint=lv_checkpoint).propose(data, MethodContext())
    assert not ProseMethod(checkpoint=lv_checkpoint).suits(data)


def test_missing_checkpoint(tmp_path, lv_data):
    with pytest.raises(DiscoveryError, match="no PROSE checkpoint"):
        ProseMethod(checkpoint=tmp_path).propose(lv_data, MethodContext())
    with pytest.raises(DiscoveryError, match="beam_size"):
        ProseMethod(checkpoint=tmp_path, beam_size=0).propose(lv_data, MethodContext())
    with pytest.raises(DiscoveryError, match="windows"):
        ProseMethod(checkpoint=tmp_path, windows=(0.5, 2.0)).propose(lv_data, MethodContext())


def test_benchmark_on_the_tiny_model(lv_checkpoint, tmp_path, monkeypatch):
    import argparse

    from discovery.training import evaluate

    parser = argparse.ArgumentParser()
    evaluate.add_arguments(parser)
    out = tmp_path / "report.json"
    args = parser.parse_args(["--checkpoint", str(lv_checkpoint), "--samples", "4", "--noise", "0", "0.02",
                              "--sets", "zoo", "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
                              "--workers", "1", "--device", "cpu"])
    # The tiny model only knows Lotka-Volterra: benchmark it on that family alone.
    original = evaluate.bench_data_configs

    def lv_only(samples, holdout, seed=evaluate.TEST_SEED, base=None):
        configs = original(samples, holdout, seed, base)
        configs["zoo"] = configs["zoo"].replace(systems=("lotka_volterra",))
        return configs

    monkeypatch.setattr(evaluate, "bench_data_configs", lv_only)
    assert evaluate.run(args) == 0
    report = json.loads(out.read_text())
    rows = report["results"]
    assert [(r["noise"], r["guess"]) for r in rows] == [(0.0, True), (0.0, False), (0.02, True), (0.02, False)]
    for r in rows:
        assert r["n"] == 4 and 0.0 <= r["valid"] <= 1.0 and 0.0 <= r["terms"] <= 1.0
        assert math.isfinite(r["rel_l2_mean"]) and math.isfinite(r["rel_l2_observed_mean"])
        # the hypothesis picked by its fit to the noisy observations is scored on clean data: at most one sample worse
        assert r["r2_select_ge_0.9"] >= r["r2_ge_0.9"] - 0.25
        # the true equations 1% off predict Lotka-Volterra's (predictable) window within a few percent
        assert 0.0 < r["oracle_rel_l2_mean"] < 0.06
        assert r["per_system"]["lotka_volterra"]["n"] == 4
        assert r["per_system"]["lotka_volterra"]["rel_l2_mean"] == pytest.approx(r["rel_l2_mean"])
    assert report["config"]["window_rule"] == "predictable"
    assert rows[0]["valid"] >= 0.75 and rows[0]["terms"] >= 0.75 and rows[0]["r2_ge_0.9"] >= 0.5
    assert report["seconds_per_system"] > 0
    table = out.with_suffix(".md").read_text()
    assert "exact terms" in table and "oracle" in table and table.count("\n| zoo") == 4


def test_oracle_is_exact_without_error_and_grows_with_it():
    from discovery.training import evaluate

    cfg = DataConfig(systems=("lorenz", "van_der_pol"), random_fraction=0.0, n_samples=4, n_input=32, n_query=24,
                     seed=1)
    arrays, meta = generate_dataset(cfg, workers=1, cache_dir=None)
    exact = evaluate.oracle_rel_l2(arrays, meta, error=0.0)
    off = evaluate.oracle_rel_l2(arrays, meta, error=0.05)
    assert exact.shape == (4,) and np.all(exact < 1e-4)
    assert np.all(off > exact) and np.mean(off) > 1e-3


@pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "model.safetensors").is_file(), reason="no shipped PROSE checkpoint")
def test_shipped_checkpoint_runs(lv_data):
    clear_cache()
    context = MethodContext(device="cpu")
    candidates = ProseMethod().propose(lv_data, context)
    assert context.predictions and context.predictions[0].x.shape[1] == 2
    for c in candidates:
        assert c.variables == ("prey", "predator")
        assert all(e.free_symbols <= {sympy.Symbol("prey"), sympy.Symbol("predator")} for e in c.equations.values())


def test_an_absolute_clock_reads_like_relative_times(lv_checkpoint, lv_data):
    # Unix timestamps: before the times were shifted in float64, every read collapsed onto steps of 128 s and
    # the method proposed nothing, silently
    shifted = Trajectories(lv_data.variables, [Trajectory(tr.t + 1.7e9, tr.x) for tr in lv_data])

    def run(data):
        context = MethodContext(device="cpu")
        found = ProseMethod(checkpoint=lv_checkpoint).propose(data, context)
        return [{v: str(e) for v, e in c.equations.items()} for c in found], context.predictions[0]

    plain, plain_pred = run(lv_data)
    clock, clock_pred = run(shifted)
    assert plain and clock == plain
    np.testing.assert_allclose(clock_pred.times - 1.7e9, plain_pred.times, atol=1e-6)
    np.testing.assert_allclose(clock_pred.values, plain_pred.values, rtol=1e-3, atol=1e-3)


def test_discover_returns_the_operator_prediction(lv_checkpoint, lv_data):
    from discovery import discover

    result = discover(lv_data, method="prose", prose={"checkpoint": lv_checkpoint}, max_refine=1,
                      prune_tolerances=())
    pred = result.operator_prediction
    assert pred is result.operator_predictions[0]
    assert pred.model == "prose" and pred.variables == ("prey", "predator")
    assert pred.values.shape == (pred.times.size, 2)
    assert pred.times[-1] > lv_data[0].t[-1]  # beyond the observed window
    assert result.to_dict()["operator_predictions"][0]["model"] == "prose"


@pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "model.safetensors").is_file(), reason="no shipped PROSE checkpoint")
def test_forecast_benchmark_runs(tmp_path, capsys):
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "prose_forecast.py"
    spec = importlib.util.spec_from_file_location("prose_forecast", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "forecast.json"
    assert module.main(["--systems", "sir", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["system"] == "sir" and row["read_fraction"] is not None
    assert row["forecast_rel_l2"] < row["whole_read_rel_l2"]  # the point of picking the read by backtest
    assert "| sir |" in capsys.readouterr().out
