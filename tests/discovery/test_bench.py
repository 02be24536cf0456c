"""The discovery benchmark command runs at toy size and writes its table and JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

from discovery.bench.core import predictability_horizon
from discovery.terms import same_terms, term_set
from discovery.cli import main

x, y = sympy.symbols("x y")


def test_term_set_ignores_coefficients_not_structure():
    assert term_set(2.5 * x * y - 0.1 * sympy.sin(1.0 * x) + 3) == {x * y, sympy.sin(x), sympy.Integer(1)}
    assert same_terms({"x": 1.01 * x - 0.2 * x * y}, {"x": x - 0.1 * x * y})
    assert not same_terms({"x": 1.01 * x}, {"x": x - 0.1 * x * y})


def test_predictability_horizon_is_short_for_chaos_and_full_otherwise():
    import numpy as np

    from discovery.simulation import simulate
    from grammar.zoo import get_system

    for name, chaotic in (("lorenz", True), ("lotka_volterra", False)):
        system = get_system(name)
        t = np.arange(system.t_span[0], system.t_span[1], system.dt)
        ref = simulate(system, t=t)[0].x
        h = predictability_horizon(system.rhs(), system.variables, t, ref)
        assert (h < len(t)) == chaotic


def test_bench_command_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "--systems", "lotka_volterra", "--noise", "0", "--contenders", "auto,pysindy",
                 "--out", str(out)])
    assert code == 0
    table = capsys.readouterr().out
    assert "| 0% | auto | 1 |" in table and "pysindy" in table
    payload = json.loads(out.read_text())
    assert payload["complete"] is True
    runs = {r["contender"]: r for r in payload["runs"]}
    assert runs["auto"]["exact_terms"] is True and runs["auto"]["r2_heldout"] > 0.9
    assert runs["auto"]["peak_mb"] > 0


def test_bench_rejects_unknown_system(tmp_path, capsys):
    assert main(["bench", "--systems", "nope", "--out", str(tmp_path / "b.json")]) == 2
    assert "unknown system" in capsys.readouterr().err


def test_bench_on_a_folder_of_unseen_systems(tmp_path, capsys):
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np

    from discovery.bench.core import folder_cases

    folder = tmp_path / "unseen"
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "unseen.py"
    proc = subprocess.run([sys.executable, str(script), "--out-dir", str(folder)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    cases = {c.name: c for c in folder_cases(folder, noise=0.01, seed=0)}
    assert {"selkov", "rikitake", "rosenzweig_macarthur"} <= set(cases)
    # horizons come from the true equations: short for the chaotic jerk system, the whole span for the limit cycle
    assert cases["genesio_tesi"].fit_horizon < len(cases["genesio_tesi"].fit_t)
    assert cases["selkov"].held_horizon == len(cases["selkov"].held_t)
    assert np.std(np.subtract(cases["selkov"].fit_x, cases["selkov"].fit_clean)) > 0  # noise was added

    for f in folder.glob("*"):
        if not f.stem.startswith("hopf"):
            f.unlink()
    out = tmp_path / "unseen.json"
    code = main(["bench", "--no-zoo", "--data-dir", str(folder), "--noise", "0.01", "--contenders", "sindy",
                 "--out", str(out)])
    assert code == 0
    (run,) = json.loads(out.read_text())["runs"]
    assert run["system"] == "hopf" and run["contender"] == "sindy"
    assert run["exact_terms"] is True and run["r2_heldout"] > 0.9
    assert "| 1% | sindy | 1 |" in capsys.readouterr().out
    decay = np.exp(-np.linspace(0, 1, 5))[:, None]
    assert predictability_horizon({"x": -sympy.Symbol("x")}, ["x"], np.linspace(0, 1, 5), decay) == 5


def test_sampling_set_is_written_as_described(tmp_path):
    from discovery.bench.core import folder_cases
    from discovery.pipeline.shooting import gap_steps

    folder = tmp_path / "sampling"
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "sampling.py"
    proc = subprocess.run([sys.executable, str(script), "--out-dir", str(folder)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    cases = {c.name: c for c in folder_cases(folder, noise=0.0, seed=0)}
    assert set(cases) == {"lorenz_dense", "lorenz_coarse", "pendulum_gap", "lotka_volterra_clock",
                          "van_der_pol_random"}
    assert np.diff(cases["lorenz_dense"].fit_t)[0] == pytest.approx(0.001)
    assert gap_steps(np.asarray(cases["pendulum_gap"].fit_t)).sum() == 1
    assert cases["lotka_volterra_clock"].fit_t[0] == 1.7e9  # written with enough digits to keep the steps
    assert np.allclose(np.diff(cases["lotka_volterra_clock"].fit_t), 0.05)
    steps = np.diff(cases["van_der_pol_random"].fit_t)
    assert steps.std() > 0.6 * steps.mean()  # strongly irregular


def test_bench_no_zoo_needs_a_folder(tmp_path, capsys):
    assert main(["bench", "--no-zoo", "--out", str(tmp_path / "b.json")]) == 2
    assert "--data-dir" in capsys.readouterr().err


def test_bench_data_dir_must_hold_cases(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["bench", "--no-zoo", "--data-dir", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "lonely.csv").write_text("t,x\n0,1\n1,2\n")
    assert main(["bench", "--no-zoo", "--data-dir", str(tmp_path), "--out", str(out)]) == 2
    assert "truth.json" in capsys.readouterr().err
    assert not out.exists()


def test_merge_results_replaces_re_measured_runs(tmp_path):
    def run(system, contender, r2, seconds):
        return {"system": system, "noise": 0.0, "contender": contender, "r2_fit": r2, "r2_heldout": r2,
                "exact_terms": r2 is not None and r2 > 0.9, "seconds": seconds, "peak_mb": 100.0, "equations": {},
                "error": None}

    old = {"runs": [run("lorenz", "auto", 0.5, 1.0), run("lorenz", "sindy", 0.95, 2.0), run("vdp", "auto", None, 3.0)]}
    new = {"runs": [run("lorenz", "auto", 0.99, 4.0)]}
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "merge_results.py"
    out = tmp_path / "merged.json"
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "old.json"), str(tmp_path / "new.json"),
                           "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    merged = json.loads(out.read_text())
    rows = {r["contender"]: r for r in merged["summary"]}
    assert rows["auto"]["systems"] == 2 and rows["auto"]["r2_fit_ge_0.9"] == 0.5  # lorenz replaced, vdp a miss
    assert rows["sindy"]["r2_fit_ge_0.9"] == 1.0 and merged["merged_from"] == ["old.json", "new.json"]
    assert "| auto |" in done.stdout
    missing = subprocess.run([sys.executable, str(script), str(tmp_path / "none.json"), "--out", str(out)],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
