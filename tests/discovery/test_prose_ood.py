"""``eqdisco bench prose --ood``: systems never seen in training (issue 16 item 6)."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

pytest.importorskip("torch")

from discovery.training import evaluate  # noqa: E402
from discovery.training.heldout import heldout_skeletons, system_skeleton  # noqa: E402
from discovery.training.ood import OodConfig, benchmark_cases, random_cases, run_ood, summarize  # noqa: E402


def test_summary_shares_split_by_size():
    rows = [
        {"n_vars": 1, "valid": True, "exact_top": True, "exact_beam": True, "r2_refined": 0.95, "rel_l2": 0.1,
         "seconds": 0.1},
        {"n_vars": 2, "valid": True, "exact_top": False, "exact_beam": True, "r2_refined": 0.5, "rel_l2": math.inf,
         "seconds": 0.3},
        {"n_vars": 3, "valid": False, "exact_top": False, "exact_beam": False, "r2_refined": -math.inf,
         "rel_l2": 0.3, "seconds": 0.2},
    ]
    s = summarize(rows)
    assert s["n"] == 3 and s["valid"] == pytest.approx(2 / 3) and s["exact_top"] == pytest.approx(1 / 3)
    assert s["exact_beam_1_2_vars"] == 1.0 and s["exact_beam_3_4_vars"] == 0.0
    assert s["r2_refined_ge_0.9"] == pytest.approx(1 / 3)
    assert s["rel_l2_mean"] == pytest.approx((0.1 + 10.0 + 0.3) / 3)  # an unusable prediction counts 10


def test_cases_are_the_benchmark_systems_and_held_out_random_ones():
    unseen = benchmark_cases("unseen")
    assert len(unseen) == 6
    for case in unseen:
        assert case.x.shape == (case.t.size, len(case.truth)) and np.all(np.isfinite(case.x))
    cases, skipped = random_cases(6)
    assert len(cases) + skipped == 6 and len(cases) >= 4
    held = heldout_skeletons(("rossler", "brusselator"))
    for case in cases:
        assert system_skeleton(case.truth) in held  # the random test systems are held out of training
        assert np.ptp(case.x, axis=0).min() > 0


def test_ood_bench_runs_on_the_shipped_checkpoint(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    evaluate.add_arguments(parser)
    out = tmp_path / "ood.json"
    args = parser.parse_args(["--ood", "--samples", "3", "--noise", "0.01", "--sets", "unseen", "random",
                              "--out", str(out), "--device", "cpu", "--threads", "1"])
    assert evaluate.run(args) == 0
    report = json.loads(out.read_text())
    assert [(e["set"], e["noise"]) for e in report["summary"]] == [("unseen", 0.01), ("random", 0.01)]
    unseen = report["summary"][0]
    assert unseen["n"] == 6 and 0.0 <= unseen["valid"] <= 1.0
    for case in report["cases"]:
        assert case["exact_beam"] or not case["exact_top"]  # the top hypothesis is in the beam
    assert "exact beam" in out.with_suffix(".md").read_text() and "| unseen |" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown OOD test sets"):
        run_ood(None, OodConfig(sets=("zoo",)))
