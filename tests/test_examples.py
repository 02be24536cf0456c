"""Every example in examples/ runs, at toy size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from discovery import load_trajectories

ROOT = Path(__file__).resolve().parent.parent


def test_make_examples_regenerates_the_data(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "make_examples.py"), "--out-dir", str(tmp_path), "--points", "120"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("lorenz.csv", "lotka_volterra.csv", "pendulum.csv"):
        data = load_trajectories(tmp_path / name)
        assert data.n_points == 120


def test_bundled_examples_are_valid():
    for name in ("lorenz.csv", "lotka_volterra.csv", "pendulum.csv"):
        assert load_trajectories(ROOT / "examples" / name).n_points >= 100


def test_quickstart_runs(tmp_path):
    small = tmp_path / "lv.csv"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "make_examples.py"), "--out-dir", str(tmp_path), "--points", "200"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    small = tmp_path / "lotka_volterra.csv"
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), str(small), "--method", "sindy", "--out", str(out),
         "--plot", str(tmp_path / "r.png")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dx/dt" in proc.stdout and out.exists()
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")
