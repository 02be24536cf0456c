"""``eqdisco train prose``: the entry generates data, trains, writes a loadable folder, and resumes."""

from __future__ import annotations

import argparse
import csv
import json

import pytest

pytest.importorskip("torch")

from discovery.prose import training  # noqa: E402


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    training.add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_and_choices():
    args = parse([])
    assert args.preset == "small" and args.device == "auto" and not args.resume
    with pytest.raises(SystemExit):
        parse(["--preset", "huge"])


def test_train_then_resume(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--samples", "8", "--val-samples", "4", "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
              "--workers", "1", "--batch-size", "4", "--eval-every", "2", "--save-every", "2", "--quiet",
              "--device", "cpu", "--threads", "1"]
    assert training.run(parse(["--steps", "2", *common])) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["step"] == 2
    for name in ("config.json", "model.safetensors", "tokenizer.json", "train_log.csv", "train_state.pt",
                 "training_info.json"):
        assert (out / name).is_file(), name
    info = json.loads((out / "training_info.json").read_text())
    assert info["preset"] == "small" and info["data_config"]["n_samples"] == 8 and info["train_samples"] == 8
    assert training.run(parse(["--steps", "4", "--resume", *common])) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 4
    rows = list(csv.DictReader((out / "train_log.csv").open()))
    assert [int(r["step"]) for r in rows] == [2, 4]

    from models.prose.inference import ProsePredictor

    predictor = ProsePredictor.from_pretrained(out)
    assert predictor.model.config.d_model == 128 and predictor.n_input == 64
