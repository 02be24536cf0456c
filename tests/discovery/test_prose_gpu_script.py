"""benchmarks/gpu/train_prose_base.sh: the prepared GPU session, checked at toy size on the CPU."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu" / "train_prose_base.sh"


def test_script_parses_and_refuses_unknown_arguments():
    assert subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True).returncode == 0
    bad = subprocess.run(["bash", str(SCRIPT), "--fast"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--toy" in bad.stderr
    usage = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True)
    assert usage.returncode == 0 and "--toy" in usage.stdout


@pytest.mark.slow
def test_toy_session_leaves_what_a_device_run_brings_back(tmp_path):
    """About 3 minutes: data, training, half-precision export, OOD bench; at most 8 files of 16 MiB in $OUT."""
    out, work = tmp_path / "out", tmp_path / "work"
    env = {**os.environ, "OUT": str(out), "WORK": str(work), "OMP_NUM_THREADS": "1"}
    run = subprocess.run(["bash", str(SCRIPT), "--toy"], capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and all(p.stat().st_size < 16 * 2**20 for p in out.iterdir())
    assert {"run.log", "timings.tsv", "ood_report.json", "ood_report.md"} <= set(files)
    parts = sorted(out.glob("prose-tiny-fp16.tar.part-*"))
    (tmp_path / "ckpt.tar").write_bytes(b"".join(p.read_bytes() for p in parts))
    with tarfile.open(tmp_path / "ckpt.tar") as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    from models.prose.inference import ProsePredictor

    predictor = ProsePredictor.from_pretrained(tmp_path / "unpacked" / "prose-tiny-fp16")
    assert predictor.normalization == "scale"
    timings = (out / "timings.tsv").read_text().splitlines()[1:]
    assert [line.split("\t")[:2] for line in timings] == [["train", "0"], ["export", "0"], ["bench_ood", "0"]]
