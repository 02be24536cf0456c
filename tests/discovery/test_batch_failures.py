"""Batch runs lose nothing: dead workers, earlier failures, output folder and name problems, unreachable clusters."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest

from discovery.batch import output_paths, run_batch
from discovery.errors import DiscoveryError

# A test-only method, importable by the spawned workers (the test puts its folder on sys.path, which spawn passes
# on): on a file whose name starts with "die" it kills its own process with SIGKILL, as the out-of-memory killer
# does; on any other file it is plain SINDy.
KILLER = '''
import os
import signal
from pathlib import Path

from discovery.methods import Method, SINDy


class DieOnMarkedFiles(Method):
    name = "die_on_marked_files"
    description = "test-only: SIGKILLs its own process on files named die*"

    def propose(self, data, context):
        if Path(data.source or "").name.startswith("die"):
            os.kill(os.getpid(), signal.SIGKILL)
        return SINDy().propose(data, context)
'''


def _copies(folder: Path, source: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = folder / name
        path.write_bytes(source.read_bytes())
        paths.append(path)
    return paths


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_dead_worker_fails_its_own_file_only(tmp_path, lv_csv, monkeypatch):
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "eqdisco_test_killer.py").write_text(KILLER)
    monkeypatch.syspath_prepend(str(plugin))
    from eqdisco_test_killer import DieOnMarkedFiles

    files = _copies(tmp_path / "in", lv_csv, ["a.csv", "die.csv", "b.csv", "c.csv"])
    messages: list[str] = []
    report = run_batch(files, tmp_path / "out", method=DieOnMarkedFiles(), workers=2, show_progress=False,
                       echo=messages.append)
    status = {i.source: i.status for i in report.items}
    assert status == {"a.csv": "ok", "die.csv": "error", "b.csv": "ok", "c.csv": "ok"}, messages
    for name in ("a", "b", "c"):
        assert set(json.loads((tmp_path / "out" / f"{name}.json").read_text())["equations"]) == {"x", "y"}
    error = json.loads((tmp_path / "out" / "die.json").read_text())["error"]
    assert "worker process died" in error and "die.csv" in error and "BrokenProcessPool" not in error, error
    assert [m for m in messages if m.startswith("error: ")] == [f"error: {error}"]
    assert not list((tmp_path / "out").glob(".*")), "no temporary files may be left behind"


def test_a_resume_retries_the_files_that_failed(tmp_path, lv_csv):
    good, fixed = _copies(tmp_path / "in", lv_csv, ["good.csv", "fixed.csv"])
    fixed.write_text("t,x\n0,1\n1,oops\n")
    out = tmp_path / "out"
    first = run_batch([good, fixed], out, method="sindy", show_progress=False, echo=lambda s: None)
    assert sorted(i.status for i in first.items) == ["error", "ok"]
    fixed.write_bytes(lv_csv.read_bytes())  # the user repairs the file and resumes
    again = run_batch([good, fixed], out, method="sindy", show_progress=False, echo=lambda s: None)
    assert {i.source: i.status for i in again.items} == {"good.csv": "skipped", "fixed.csv": "ok"}
    assert [i.source for i in again.retried] == ["fixed.csv"]
    assert "equations" in json.loads((out / "fixed.json").read_text())


def test_the_output_folder_is_checked_before_any_work(tmp_path, lv_csv):
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    with pytest.raises(DiscoveryError, match="taken.*not a folder"):
        run_batch([lv_csv], taken, method="sindy", show_progress=False)
    with pytest.raises(DiscoveryError, match="255"):
        run_batch([lv_csv], tmp_path / ("o" * 256) / "results", method="sindy", show_progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lv.csv", "taken"]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc, where no folder can be made")
def test_an_output_folder_that_cannot_be_made_is_one_line(tmp_path, lv_csv):
    with pytest.raises(DiscoveryError, match="cannot write results to '/proc/eqdisco-results'"):
        run_batch([lv_csv], "/proc/eqdisco-results", method="sindy", show_progress=False)


def test_over_long_names_get_short_stable_outputs(tmp_path, lv_csv):
    long_a, long_b, short = _copies(tmp_path / "in", lv_csv, ["a" * 251 + ".csv", "a" * 250 + "b.csv", "s.csv"])
    out = tmp_path / "out"
    report = run_batch([long_a, long_b, short], out, method="sindy", show_progress=False, plot=False)
    assert [i.status for i in report.items] == ["ok", "ok", "ok"], [i.error for i in report.items]
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 3 and "s.json" in names and all(len(n.encode()) <= 255 for n in names)
    assert [i.status for i in run_batch([long_b, long_a], out, method="sindy", show_progress=False).items] == [
        "skipped", "skipped"], "the shortened names must not depend on the run"


def test_a_file_whose_output_cannot_be_written_fails_alone(tmp_path, lv_csv):
    first, second = _copies(tmp_path / "in", lv_csv, ["first.csv", "second.csv"])
    out = tmp_path / "out"
    (out / "first.json").mkdir(parents=True)  # something in the way of this one output
    messages: list[str] = []
    report = run_batch([first, second], out, method="sindy", show_progress=False, echo=messages.append)
    assert [i.status for i in report.items] == ["error", "ok"]
    assert len(messages) == 1 and "first.json" in messages[0] and "\n" not in messages[0]


def test_output_names_do_not_depend_on_the_order(tmp_path):
    files = [tmp_path / "a" / "x.csv", tmp_path / "b" / "x.csv", tmp_path / "y.csv", tmp_path / "a" / "x.npz",
             tmp_path / "a_x.csv"]
    forward = dict(zip(files, output_paths(files, tmp_path / "o")))
    backward = dict(zip(files[::-1], output_paths(files[::-1], tmp_path / "o")))
    assert forward == backward
    assert len(set(forward.values())) == len(files)
    assert forward[files[2]].name == "y.json" and forward[files[1]].name == "b_x.json"


def test_error_files_hold_no_absolute_paths(tmp_path, monkeypatch):
    bad = tmp_path / "data" / "bad.csv"
    bad.parent.mkdir()
    bad.write_text("t,x\n0,1\n1,oops\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the input is outside the working folder: only its name may appear
    run_batch([bad.resolve()], tmp_path / "out", method="sindy", show_progress=False, echo=lambda s: None)
    text = (tmp_path / "out" / "bad.json").read_text()
    assert "bad.csv" in json.loads(text)["error"] and str(tmp_path) not in text
    monkeypatch.chdir(tmp_path)  # inside it: the path relative to the working folder
    run_batch([bad.resolve()], tmp_path / "out", method="sindy", show_progress=False, echo=lambda s: None)
    text = (tmp_path / "out" / "bad.json").read_text()
    assert os.path.join("data", "bad.csv") in json.loads(text)["error"] and str(tmp_path) not in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line_naming_it(tmp_path, lv_csv):
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(DiscoveryError, match=f"cannot reach the Dask scheduler at {address} within 1 s") as info:
        run_batch([lv_csv], tmp_path / "out", method="sindy", scheduler=address, scheduler_timeout=1,
                  show_progress=False)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists(), "nothing is written before the cluster answers"


@pytest.mark.parametrize("workers", [0, -2])
def test_workers_must_be_at_least_one(tmp_path, lv_csv, workers):
    with pytest.raises(DiscoveryError, match="workers"):
        run_batch([lv_csv], tmp_path / "out", method="sindy", workers=workers, show_progress=False)
