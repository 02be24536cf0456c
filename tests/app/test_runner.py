"""The background run: outcome, one-line errors, progress per method, and stopping a real discovery."""

from __future__ import annotations

from app.runner import DiscoveryJob, ProgressEvent, RunCancelled, one_line
from app.settings import RunSettings
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
    assert job.error == "no usable candidate equations (sindy: too few points)"
    assert one_line(KeyError("x")) == "KeyError: 'x'"


def test_progress_event_method() -> None:
    assert ProgressEvent("sindy: fitting library poly", 0.1, 0.0).method == "sindy"
    assert ProgressEvent("refining constants 1/3", 0.1, 0.0).method == ""


def test_stop_cancels_a_real_discovery(lv_csv_bytes: bytes) -> None:
    from app.loading import load_bytes
    from discovery import discover

    data = load_bytes("lv.csv", lv_csv_bytes).trajectories
    settings = RunSettings(methods=("sindy",))
    job = DiscoveryJob(lambda progress: discover(data, progress=progress, **settings.discover_kwargs()))
    job.cancel()  # pressed Stop before the first progress report
    job.start()
    assert job.wait(60)
    assert job.state == "cancelled" and job.result is None
    assert issubclass(RunCancelled, BaseException) and not issubclass(RunCancelled, Exception)


def test_settings_key_and_kwargs() -> None:
    a = RunSettings(methods=("sindy",), options={"sindy": {"degree": 2}})
    b = RunSettings(methods=("sindy",), options={"sindy": {"degree": 2}})
    assert a.key("d1") == b.key("d1") != a.key("d2")
    assert a.key("d1") != RunSettings(methods=("sindy",)).key("d1")
    kwargs = a.discover_kwargs()
    assert kwargs["method"] == ["sindy"] and kwargs["sindy"] == {"degree": 2} and kwargs["known"] is None
    assert RunSettings().discover_kwargs()["method"] == "auto"
