"""``eqdisco train prose``: the entry generates data, trains, writes a loadable folder, and resumes."""

from __future__ import annotations

import argparse
import csv
import json

import pytest

pytest.importorskip("torch")

from discovery.training import training  # noqa: E402


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


def test_init_from_fine_tunes_a_checkpoint(tmp_path, capsys):
    from models.prose.io import load_model

    common = ["--samples", "8", "--val-samples", "4", "--cache-dir", str(tmp_path / "cache"), "--workers", "1",
              "--batch-size", "4", "--eval-every", "2", "--save-every", "2", "--quiet", "--device", "cpu",
              "--threads", "1"]
    first = tmp_path / "first"
    assert training.run(parse(["--steps", "2", "--out", str(first), *common])) == 0
    capsys.readouterr()
    tuned = tmp_path / "tuned"
    argv = ["--steps", "1", "--lr", "0", "--out", str(tuned), "--init-from", str(first), "--data-weight", "2", *common]
    assert training.run(parse(argv)) == 0
    a, b = load_model(first), load_model(tuned)
    assert b.config.data_loss_weight == 2.0 and a.config.d_model == b.config.d_model
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert (p == q).all(), name  # one step at lr 0: the starting weights, saved again
    info = json.loads((tuned / "training_info.json").read_text())
    assert info["init_from"] == str(first) and info["data_config"]["window_rule"] == "predictable"


@pytest.mark.parametrize("where", ["missing", "same"])
def test_init_from_errors_are_one_line(tmp_path, where):
    out = tmp_path / "out"
    source = tmp_path / "nowhere" if where == "missing" else out
    argv = ["--steps", "1", "--samples", "8", "--val-samples", "4", "--out", str(out), "--init-from", str(source),
            "--cache-dir", str(tmp_path / "cache"), "--workers", "1", "--quiet", "--device", "cpu"]
    with pytest.raises(training.DiscoveryError, match="--init-from") as info:
        training.run(parse(argv))
    assert "\n" not in str(info.value)
    assert not (tmp_path / "cache").exists()  # refused before any data is generated
