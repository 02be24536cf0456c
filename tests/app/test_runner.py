"""The background run: outcome, one-line errors, progress per method, and stopping a real discovery."""

from __future__ import annotations

from app.runner import DiscoveryJob, ProgressEvent, RunCancelled, one_line
from app.settings import run_key
from discovery.pipeline.settings import build_settings
from discovery.errors import DiscoveryError


def test_job_records_progress_and_result() -> None:
    def work(progress):
        progress("sindy: fitting", 0.2)
        progress("sr: searching", 0.5)
        progress("scoring candidate 1/3", 0.7)
        return "the result"

    job = DiscoveryJob(work, key="k").start()
    assert job.wait(10)
    assert job.state == "done" and job.result == "the result" and job.error is None
    assert list(job.per_method()) == ["sindy", "sr"]
    assert job.latest().fraction == 0.7


def test_job_failure_is_one_line() -> None:
    def work(progress):
        raise DiscoveryError("no usable candidate equations (sindy: too few points)\nmore detail")

    job = DiscoveryJob(work).start()
    job.wait(10)
    assert job.state == "failed"
    assert job.error == "no usable candidate equations (sindy: too few points) more detail"  # one line
    assert one_line(KeyError("x")) == "KeyError: 'x'"


def test_progress_event_method() -> None:
    assert ProgressEvent("sindy: fitting library poly", 0.1, 0.0).method == "sindy"
    assert ProgressEvent("refining constants 1/3", 0.1, 0.0).method == ""


def test_stop_cancels_a_real_discovery(lv_csv_bytes: bytes) -> None:
    from app.loading import load_bytes
    from discovery import discover

    data = load_bytes("lv.csv", lv_csv_bytes).trajectories
    settings = build_settings("sindy")
    job = DiscoveryJob(lambda progress: discover(data, progress=progress, settings=settings))
    job.cancel()  # pressed Stop before the first progress report
    job.start()
    assert job.wait(60)
    assert job.state == "cancelled" and job.result is None
    assert issubclass(RunCancelled, BaseException) and not issubclass(RunCancelled, Exception)


def test_settings_key() -> None:
    a = build_settings("sindy", sindy={"degree": 2})
    b = build_settings(["sindy"], sindy={"degree": 2})
    assert run_key(a, "d1") == run_key(b, "d1") != run_key(a, "d2")
    assert run_key(a, "d1") != run_key(build_settings("sindy"), "d1")
    assert a.methods[0].options.degree == 2 and a.known is None
    assert build_settings().is_auto and build_settings().method_label() == "auto"
