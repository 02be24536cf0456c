"""The eqdisco command line: one clear line per problem, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from discovery.cli import main
from grammar.zoo import ZOO

MALFORMED = {
    "no_time.csv": "a,b\n1,2\n3,4\n",
    "text_cell.csv": "t,x\n0,1\n1,abc\n2,3\n",
    "nan.csv": "t,x\n0,1\n1,nan\n2,3\n",
    "backwards.csv": "t,x\n0,1\n2,2\n1,3\n",
    "empty.csv": "",
    "dup.csv": "t,x,x\n0,1,2\n1,2,3\n",
}


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("discover", "simulate", "validate", "systems", "app", "train", "bench"):
        assert command in out


def test_systems_lists_the_zoo(capsys):
    assert main(["systems"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == len(ZOO) >= 20
    assert main(["systems", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == set(ZOO)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_simulate_writes_a_file_validate_accepts(tmp_path, capsys, name):
    system = ZOO[name]
    t1 = system.t_span[0] + min(system.t_span[1] - system.t_span[0], 50 * system.dt)
    out = tmp_path / f"{name}.csv"
    assert main(["simulate", name, "--t1", str(t1), "--noise", "0.01", "--out", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    assert capsys.readouterr().out.count("ok:") == 1


def test_simulate_rejects_bad_arguments(tmp_path, capsys):
    assert main(["simulate", "lorenz", "--x0", "1,2", "--out", str(tmp_path / "a.csv")]) == 2
    assert "--x0 needs 3 values" in capsys.readouterr().err
    assert main(["simulate", "lorenz", "--params", "nope=1", "--out", str(tmp_path / "a.csv")]) == 2
    assert "unknown parameter" in capsys.readouterr().err
    assert main(["simulate", "no_such_system", "--out", str(tmp_path / "a.csv")]) == 1
    assert "lorenz" in capsys.readouterr().err  # the error lists valid names
    assert not (tmp_path / "a.csv").exists()


def test_validate_malformed_files_one_line_each(tmp_path):
    files = []
    for name, text in MALFORMED.items():
        (tmp_path / name).write_text(text)
        files.append(str(tmp_path / name))
    proc = subprocess.run([sys.executable, "-m", "discovery", "validate", *files], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(MALFORMED)
    for name, line in zip(MALFORMED, lines):
        assert line.startswith("error: ") and name in line


def test_discover_batch_from_cli(tmp_path, lv_csv, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("t,x\n0,1\n")
    out = tmp_path / "results"
    code = main(["discover", str(lv_csv), str(bad), str(tmp_path / "missing.csv"), "--out", str(out),
                 "--method", "sindy", "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "missing.csv: file not found" in err and "1 discovered, 2 failed" in err
    assert json.loads((out / "lv.json").read_text())["method"] == "sindy"
    assert "error" in json.loads((out / "bad.json").read_text())


def test_folders_stand_for_the_data_files_inside(tmp_path, lv_csv, capsys):
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "lv_copy.csv").write_bytes(lv_csv.read_bytes())
    (folder / "notes.txt").write_text("not data")
    (folder / "nested").mkdir()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["validate", str(folder)]) == 0
    assert capsys.readouterr().out.count("ok:") == 1
    out = tmp_path / "results"
    assert main(["discover", str(folder), str(empty), "--out", str(out), "--method", "sindy", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "empty: folder holds no data files" in err and "1 discovered, 1 failed" in err
    assert sorted(p.name for p in out.iterdir()) == ["lv_copy.json"]


def test_discover_rejects_unknown_method(tmp_path, lv_csv, capsys):
    assert main(["discover", str(lv_csv), "--out", str(tmp_path), "--method", "magic"]) == 2
    assert "valid methods" in capsys.readouterr().err


def test_discover_prints_each_constant_with_its_uncertainty(tmp_path, lv_csv, capsys):
    from discovery.result import DiscoveryResult

    out = tmp_path / "with"
    assert main(["discover", str(lv_csv), "--out", str(out), "--method", "sindy"]) == 0
    line = capsys.readouterr().out.strip()
    payload = json.loads((out / "lv.json").read_text())
    assert payload["uncertainty"] and payload["constants"]
    result = DiscoveryResult.from_dict(payload)  # the line is the result's own text of each equation
    assert line == "lv.csv: " + "; ".join(f"d{v}/dt = {result.equation_text(v)}" for v in result.variables)
    assert "+-" in line

    out = tmp_path / "without"
    assert main(["discover", str(lv_csv), "--out", str(out), "--method", "sindy", "--no-uncertainty"]) == 0
    line = capsys.readouterr().out.strip()
    payload = json.loads((out / "lv.json").read_text())
    assert payload["uncertainty"] is None and payload["constants"] is None
    assert line == "lv.csv: " + "; ".join(f"d{v}/dt = {e}" for v, e in payload["equations"].items())
    assert "+-" not in line
