"""The local worker pool under Ctrl-C: it stops promptly, leaves no process behind and prints no traceback, whether
a worker is idle, busy, or running a job that does not answer the interruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT to them are POSIX")

# The jobs, importable by the spawned workers (the script puts its folder on sys.path, which spawn passes on). Each
# job writes its worker's pid to FOLDER/started-<i> when it begins.
JOBS = '''
import os
import signal
import time
from pathlib import Path


def _started(folder, i):
    (Path(folder) / f"started-{i}").write_text(str(os.getpid()))


def quick(folder, i):
    _started(folder, i)
    return i


def waits(folder, i):
    """Sleeps until interrupted (KeyboardInterrupt ends it)."""
    _started(folder, i)
    time.sleep(600)


def deaf(folder, i):
    """Ignores Ctrl-C, as a long computation in compiled code does, and would run ten minutes writing its result."""
    from discovery.io import atomic_path

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with atomic_path(Path(folder) / f"result-{i}.json"):
        _started(folder, i)
        time.sleep(600)


def run(folder, i, kind):
    return globals()[kind](folder, i)
'''

SCRIPT = '''
import sys

sys.path[:0] = [{folder!r}, {root!r}]

import eqdisco_test_jobs as jobs
from discovery.io import remove_temporaries
from discovery.workers import run_in_pool

def abandoned(jobs):
    for folder, i, kind in jobs:
        remove_temporaries(f"{{folder}}/result-{{i}}.json")
    print("abandoned", sorted(job[1] for job in jobs), file=sys.stderr)


if __name__ == "__main__":
    kinds = {kinds!r}
    try:
        run_in_pool(jobs.run, [({folder!r}, i, kind) for i, kind in enumerate(kinds)], 2,
                    on_result=lambda job, value: print("done", job[1], flush=True),
                    on_error=lambda job, exc: print("error", job[1], exc, flush=True),
                    on_death=lambda job, times: print("died", job[1], flush=True), grace=1.0,
                    on_abandoned=abandoned)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
'''


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (ended, not yet reaped by its parent) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _run_and_interrupt(tmp_path: Path, kinds: list[str], wait_for: list[int]) -> tuple[int, str, float, list[int]]:
    (tmp_path / "eqdisco_test_jobs.py").write_text(JOBS)
    script = tmp_path / "batch.py"
    script.write_text(textwrap.dedent(SCRIPT.format(folder=str(tmp_path), root=str(ROOT), kinds=kinds)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        marks = [tmp_path / f"started-{i}" for i in wait_for]
        while not all(m.exists() and m.read_text() for m in marks) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.5)  # the quick jobs' workers are back waiting for work
        pids = [int(m.read_text()) for m in marks]
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        _, err = proc.communicate(timeout=90)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, err, took, pids


@POSIX
def test_ctrl_c_with_one_worker_idle_and_one_busy_stops_cleanly(tmp_path):
    # job 0 ends at once and its worker waits for the next job holding the pool's queue lock; job 1 runs
    code, err, took, pids = _run_and_interrupt(tmp_path, ["quick", "waits"], wait_for=[0, 1])
    assert code == 130 and "interrupted" in err and "Traceback" not in err, err
    assert took < 60, f"the batch took {took:.0f} s to stop"
    assert "abandoned" not in err, "a job that answers Ctrl-C is not ended by force"
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), "a worker process outlived its batch"


@POSIX
def test_a_job_that_ignores_ctrl_c_is_ended_after_the_grace(tmp_path):
    code, err, took, pids = _run_and_interrupt(tmp_path, ["deaf", "deaf"], wait_for=[0, 1])
    assert code == 130 and "interrupted" in err and "Traceback" not in err, err
    assert took < 60, f"the batch took {took:.0f} s to stop (its jobs would run ten minutes)"
    assert not any(_alive(p) for p in pids), "a worker process outlived its batch"
    assert "abandoned [0, 1]" in err, err
    assert not list(tmp_path.glob(".result-*")), "the ended jobs' temporary files are removed"


def test_workers_of_a_pool_of_several_run_one_thread_each_and_a_lone_worker_keeps_its_threads(monkeypatch):
    from discovery.workers import run_in_pool

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # the spawned workers inherit this environment

    def seen(workers: int) -> list:
        got, errors = [], []
        run_in_pool(os.getenv, [("OMP_NUM_THREADS",)] * workers, workers, on_result=lambda job, r: got.append(r),
                    on_error=lambda job, exc: errors.append(exc), on_death=lambda job, n: errors.append(n))
        assert not errors, errors
        return got

    assert seen(2) == ["1", "1"]  # torch reads it when it loads
    assert seen(1) == [None]


def test_one_thread_each_limits_blas_loaded_before_and_after_it():
    # in a fresh interpreter: numpy's BLAS loaded before the call is limited by threadpoolctl, one loaded after it by
    # the environment
    for before in ("import numpy", "pass"):
        script = textwrap.dedent(f"""
            {before}
            from discovery.workers import one_thread_each
            one_thread_each()
            import numpy, threadpoolctl
            print(max(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"))
        """)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "1", (before, out.stdout)
