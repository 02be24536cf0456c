"""Batch discovery: one JSON per input, bad files reported, resumable, local pool or Dask."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from discovery.pipeline.settings import build_settings
from discovery.batch import discover_file, output_paths, run_batch


@pytest.fixture
def batch_files(tmp_path: Path, lotka_volterra) -> list[Path]:
    good = tmp_path / "in" / "good.csv"
    good.parent.mkdir()
    lotka_volterra.to_csv(good)
    bad = tmp_path / "in" / "bad.csv"
    bad.write_text("t,x\n0,1\n1,oops\n")
    return [good, bad]


def test_batch_reports_bad_file_and_goes_on(tmp_path, batch_files):
    out = tmp_path / "out"
    messages: list[str] = []
    report = run_batch(batch_files, out, method="sindy", show_progress=False, echo=messages.append)
    assert [i.status for i in sorted(report.items, key=lambda i: i.source)] == ["error", "ok"]
    good = json.loads((out / "good.json").read_text())
    bad = json.loads((out / "bad.json").read_text())
    assert good["source"] == "good.csv" and set(good["equations"]) == {"x", "y"}
    assert bad["source"] == "bad.csv" and "oops" in bad["error"] and "\n" not in bad["error"]
    assert len(messages) == 1 and messages[0].startswith("error: ") and "row 3" in messages[0]
    assert messages[0].count("bad.csv") == 1, messages[0]  # the file is named once, not as 'bad.csv: bad.csv, row 3'
    assert not list(out.glob("*.tmp*")), "no temporary files may be left behind"


def test_batch_resumes_and_overwrites(tmp_path, batch_files):
    out = tmp_path / "out"
    run_batch(batch_files[:1], out, method="sindy", show_progress=False)
    stamp = (out / "good.json").stat().st_mtime_ns
    report = run_batch(batch_files[:1], out, method="sindy", show_progress=False)
    assert [i.status for i in report.items] == ["skipped"]
    assert (out / "good.json").stat().st_mtime_ns == stamp
    report = run_batch(batch_files[:1], out, method="sindy", show_progress=False, overwrite=True)
    assert [i.status for i in report.items] == ["ok"]


def test_output_names_do_not_collide(tmp_path):
    paths = output_paths([tmp_path / "a" / "x.csv", tmp_path / "b" / "x.csv", tmp_path / "y.csv"], tmp_path / "o")
    assert len(set(paths)) == 3
    assert paths[2].name == "y.json"


def test_batch_on_a_dask_local_cluster(tmp_path, batch_files):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        report = run_batch(batch_files, tmp_path / "out", method="sindy", scheduler=cl.scheduler_address,
                           show_progress=False, echo=lambda s: None)
    assert sorted(i.status for i in report.items) == ["error", "ok"]
    assert (tmp_path / "out" / "good.json").exists()


def test_notes_from_the_run_reach_the_console(tmp_path, lotka_volterra):
    import pandas as pd

    tr = lotka_volterra[0]
    path = tmp_path / "flat.csv"
    pd.DataFrame({"t": tr.t, "x": tr.x[:, 0], "y": 0.0}).to_csv(path, index=False)
    messages: list[str] = []
    report = run_batch([path], tmp_path / "out", method="sindy", show_progress=False, echo=messages.append)
    assert report.items[0].status == "ok"
    assert len(messages) == 1 and messages[0].startswith("warning: flat.csv: the selected model fits the data poorly")
    assert "fits the data poorly" in json.loads((tmp_path / "out" / "flat.json").read_text())["warnings"][0]


def test_a_file_in_this_process_reports_its_stages(tmp_path, lv_csv):
    stages: list[tuple[str, float]] = []
    done = discover_file(str(lv_csv), str(tmp_path / "lv.json"), build_settings("sindy"),
                         progress=lambda m, f: stages.append((m, f)))
    assert done["status"] == "ok"
    messages = [m for m, _ in stages]
    assert any(m.startswith("sindy: ") for m in messages) and messages[-1] == "done"
    assert not any(m.startswith("sindy: sindy:") for m in messages)
