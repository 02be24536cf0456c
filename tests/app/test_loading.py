"""Loading uploaded bytes: valid files, the data contract's errors as one line, the size limit."""

from __future__ import annotations

import pytest

from app import state
from app.loading import example_bytes, example_names, load_bytes, max_upload_mb
from app.views.data_view import load_into_state
from discovery.errors import DataError


def test_load_bytes_reads_a_csv_in_memory(lv_csv_bytes: bytes, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    loaded = load_bytes("predator prey.csv", lv_csv_bytes)
    assert loaded.trajectories.variables == ("x", "y")
    assert loaded.trajectories.n_points == 301
    assert loaded.name == "predator_prey.csv"
    assert loaded.size == len(lv_csv_bytes) and len(loaded.digest) == 64
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_same_bytes_same_digest(lv_csv_bytes: bytes) -> None:
    assert load_bytes("a.csv", lv_csv_bytes).digest == load_bytes("b.csv", lv_csv_bytes).digest
    assert load_bytes("a.csv", lv_csv_bytes).digest != load_bytes("a.csv", lv_csv_bytes + b"\n").digest


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [
        ("bad.csv", b"t,x\n0,1\n0.1,zz\n", ["bad.csv", "row 3", "'x'", "non-numeric"]),
        ("bad.csv", b"a,b\n1,2\n3,4\n", ["bad.csv", "time column"]),
        ("empty.csv", b"", ["empty.csv", "empty"]),
        ("sheet.xlsx", b"PK\x03\x04", ["sheet.xlsx", ".csv", "found .xlsx"]),
    ],
)
def test_bad_input_is_one_line_naming_the_place(name: str, payload: bytes, expected: list[str]) -> None:
    with pytest.raises(DataError) as info:
        load_bytes(name, payload)
    message = str(info.value)
    assert "\n" not in message
    for part in expected:
        assert part in message


def test_size_limit(lv_csv_bytes: bytes, monkeypatch) -> None:
    with pytest.raises(DataError, match=r"over the 0\.01 MB limit.*EQDISCO_MAX_UPLOAD_MB"):
        load_bytes("lv.csv", lv_csv_bytes, max_mb=0.01)
    monkeypatch.setenv("EQDISCO_MAX_UPLOAD_MB", "0.01")
    assert max_upload_mb() == 0.01
    with pytest.raises(DataError, match="limit"):
        load_bytes("lv.csv", lv_csv_bytes)
    monkeypatch.setenv("EQDISCO_MAX_UPLOAD_MB", "not a number")
    assert max_upload_mb() == 50.0


def test_load_into_state_once_per_origin(lv_csv_bytes: bytes) -> None:
    session: dict = {}
    reads = []

    def read() -> tuple[str, bytes]:
        reads.append(1)
        return "lv.csv", lv_csv_bytes

    first = load_into_state(session, ("upload", "lv.csv", 1, "id"), read)
    again = load_into_state(session, ("upload", "lv.csv", 1, "id"), read)
    assert first is again and len(reads) == 1
    assert session[state.DATA] is first and state.DATA_ERROR not in session


def test_load_into_state_keeps_the_problem_and_clears_old_results(lv_csv_bytes: bytes) -> None:
    session: dict = {state.RESULT: object(), state.RESULT_KEY: "old"}
    assert load_into_state(session, ("upload", "bad.csv", 9, "x"), lambda: ("bad.csv", b"t,x\n0,1\n0.1,zz\n")) is None
    assert "row 3" in session[state.DATA_ERROR]
    assert state.RESULT not in session and state.DATA not in session


def test_examples_are_listed_and_load() -> None:
    names = example_names()
    assert "lotka_volterra.csv" in names, f"bundled examples found: {names}"
    for name in names:
        loaded = load_bytes(name, example_bytes(name))
        assert loaded.trajectories.n_points >= 10
    with pytest.raises(DataError, match="no bundled example"):
        example_bytes("../pyproject.toml")


def test_parquet_and_npz_uploads(lv_csv_bytes: bytes) -> None:
    import io

    import numpy as np
    import pandas as pd

    frame = pd.read_csv(io.BytesIO(lv_csv_bytes))
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    loaded = load_bytes("lv.parquet", buffer.getvalue())
    assert loaded.trajectories.variables == ("x", "y") and loaded.trajectories.n_points == len(frame)

    buffer = io.BytesIO()
    np.savez(buffer, t=frame["t"].to_numpy(), x=frame[["x", "y"]].to_numpy(), variables=np.array(["x", "y"]))
    loaded = load_bytes("lv.npz", buffer.getvalue())
    assert loaded.trajectories.variables == ("x", "y")
    assert np.allclose(loaded.trajectories[0].x, frame[["x", "y"]].to_numpy())
