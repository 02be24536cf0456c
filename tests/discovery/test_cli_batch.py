"""The command line around a batch: bad folders and counts refused before work, resumes, Ctrl-C, the app's server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from discovery.cli import main

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGTERM are POSIX")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_an_output_folder_that_is_a_file_is_refused_before_work(tmp_path, lv_csv, capsys):
    taken = tmp_path / "taken.txt"
    taken.write_text("keep me")
    with pytest.raises(SystemExit) as exc:
        main(["discover", str(lv_csv), "--out", str(taken), "--method", "sindy", "--quiet"])
    assert exc.value.code == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "--out" in line and "taken.txt" in line and "not a folder" in line
    assert taken.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["lv.csv", "taken.txt"]


def test_an_output_folder_name_over_255_bytes_is_refused_before_work(tmp_path, lv_csv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["discover", str(lv_csv), "--out", str(tmp_path / ("é" * 128)), "--method", "sindy", "--quiet"])
    assert exc.value.code == 2
    assert "255" in _one_line_error(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lv.csv"]


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_workers_must_be_a_positive_count(tmp_path, lv_csv, capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["discover", str(lv_csv), "--out", str(tmp_path / "o"), "--workers", value])
    assert exc.value.code == 2
    assert "--workers" in _one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_a_resume_says_how_many_failed_files_it_retried(tmp_path, lv_csv, capsys):
    data = tmp_path / "later.csv"
    data.write_text("t,x\n0,1\n")
    out = tmp_path / "out"
    assert main(["discover", str(lv_csv), str(data), "--out", str(out), "--method", "sindy", "--quiet"]) == 1
    assert "1 discovered, 1 failed, 0 skipped" in capsys.readouterr().err
    data.write_bytes(lv_csv.read_bytes())
    assert main(["discover", str(lv_csv), str(data), "--out", str(out), "--method", "sindy", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "1 discovered, 0 failed, 1 skipped (output exists; --overwrite to redo); 1 retried (failed in an " \
        "earlier run)" in err, err


def test_an_unreachable_scheduler_is_one_line(tmp_path, lv_csv, capsys):
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_free_port()}"
    code = main(["discover", str(lv_csv), "--out", str(tmp_path / "out"), "--scheduler", address,
                 "--scheduler-timeout", "1", "--quiet"])
    assert code == 1
    line = _one_line_error(capsys.readouterr().err)
    assert address in line and "--scheduler" in line
    assert not (tmp_path / "out").exists()


def _results(folder: Path) -> list[Path]:
    return [p for p in folder.glob("*.json") if not p.name.startswith(".")]  # pathlib's * matches .hidden too


@POSIX
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_leaves_only_whole_results(tmp_path, lv_csv, workers):
    files = []
    for k in range(6):
        path = tmp_path / "in" / f"lv{k}.csv"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(lv_csv.read_bytes())
        files.append(str(path))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "discovery", "discover", *files, "--out", str(out), "--method", "sindy",
         "--workers", workers, "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        # a shell that runs the suite in the background (`cmd &`) ignores SIGINT, and the batch would inherit that:
        # give it the terminal's default, as a batch typed at a prompt has
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 240
        while not _results(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the batch ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err, err
    written = _results(out)
    assert 1 <= len(written) < 6, sorted(p.name for p in out.iterdir())
    for path in written:
        assert set(json.loads(path.read_text())["equations"]) == {"x", "y"}
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "no temporary file may be left"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@POSIX
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_app_stops_its_server_when_signalled(sig):
    pytest.importorskip("streamlit")
    port = _free_port()
    # started as a shell's `eqdisco app &` starts it, with SIGINT ignored, and signalled as soon as the port
    # listens: Streamlit takes SIGINT only some time after that, so the app must take it from the start
    proc = subprocess.Popen([sys.executable, "-m", "discovery", "app", "--headless", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 120
        while not _accepts(port) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _accepts(port), "the app's server did not start"
        os.kill(proc.pid, sig)  # as a process manager does: to the process it started, not to its group
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # every process the app started has ended too
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("a process of the app is still running after it was stopped")
        assert not _accepts(port), "the port is still served"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
