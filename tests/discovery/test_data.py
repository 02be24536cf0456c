"""Loading and validating trajectories: the data contract of DESIGN.md.

Every bad input must raise a DataError that names file, row (CSV: the 1-based line, header = line 1) and column,
in a single line; every supported kind of good input must load to the same values.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from discovery.data import MAX_STATE_VARS, Trajectories, Trajectory, load_trajectories
from discovery.errors import DataError

# ------------------------------------------------------------------------------------------------- helpers


def _csv(n: int = 12, dt: float = 0.1) -> str:
    """A valid CSV with columns t, x, y and ``n`` rows."""
    return "t,x,y\n" + "".join(f"{k * dt:.6g},{np.sin(k):.6g},{np.cos(k):.6g}\n" for k in range(n))


def _rows(n: int, start: float = 0.0) -> str:
    return "".join(f"{start + 0.1 * k:.6g},{k}\n" for k in range(n))


def _raises(data: object, **kwargs: object) -> DataError:
    with pytest.raises(DataError) as info:
        load_trajectories(data, **kwargs)
    err = info.value
    text = str(err)
    assert "\n" not in text and "\r" not in text, f"message is not one line: {text!r}"
    assert isinstance(err, ValueError)
    return err


# -------------------------------------------------------------------------------------- bad CSV inputs

GOOD12 = _rows(12)

# (id, file content, load options, expected row, expected column, words the message must contain)
BAD_CSV = [
    ("missing-time", "a,x\n" + GOOD12, {}, 1, None, ["'t' or 'time'", "'a', 'x'"]),
    ("missing-named-time", "t,x\n" + GOOD12, {"time_column": "tau"}, 1, None, ["'tau'", "'t', 'x'"]),
    ("two-time-columns", "t,time,x\n0,0,1\n", {}, 1, None, ["'t' and 'time'", "time_column"]),
    ("semicolon-separated", "t;x\n0;1\n", {}, 1, None, ["semicolon"]),
    ("no-header", "0,1\n0.1,2\n", {}, 1, None, ["header row"]),
    ("non-numeric", "t,x\n" + _rows(3) + "0.3,abc\n" + _rows(9, 0.4), {}, 5, "x", ["'abc'", "expected a number"]),
    ("non-numeric-time", "t,x\n0,1\n1 s,2\n", {}, 3, "t", ["'1 s'"]),
    ("nan", "t,x\n" + _rows(4) + "0.4,NaN\n" + _rows(8, 0.5), {}, 6, "x", ["'NaN'", "finite"]),
    ("inf", "t,x\n" + _rows(2) + "0.2,-inf\n" + _rows(9, 0.3), {}, 4, "x", ["'-inf'", "finite"]),
    ("empty-cell", "t,x,y\n0,1,2\n0.1,,3\n", {}, 3, "x", ["empty cell"]),
    ("empty-cell-last", "t,x,y\n0,1,2\n0.1,2,\n", {}, 3, "y", ["empty cell"]),
    ("duplicate-column", "t,x,y,x\n0,1,2,3\n", {}, 1, "x", ["twice", "columns 2 and 4"]),
    ("duplicate-after-strip", "t, x ,x\n0,1,2\n", {}, 1, "x", ["twice"]),
    ("empty-column-name", "t,x,\n0,1,2\n", {}, 1, None, ["column 3", "empty name"]),
    ("name-not-identifier", "t,1x\n0,1\n", {}, 1, "1x", ["not a valid variable name", "'x1x'"]),
    ("name-with-space", "t,x pos\n0,1\n", {}, 1, "x pos", ["not a valid variable name", "'x_pos'"]),
    ("name-non-ascii", "t,θ\n0,1\n", {}, 1, "θ", ["ASCII"]),
    ("name-function", "t,sin\n0,1\n", {}, 1, "sin", ["reserved"]),
    ("name-grammar-operator", "t,x,neg\n0,1,2\n", {}, 1, "neg", ["reserved"]),
    ("name-time-as-state", "tau,t,x\n0,1,2\n", {"time_column": "tau"}, 1, "t", ["reserved"]),
    ("no-state-columns", "t\n0\n0.1\n", {}, 1, None, ["no state-variable columns"]),
    ("only-time-and-trajectory", "t,trajectory\n0,0\n", {}, 1, None, ["no state-variable columns"]),
    ("too-many-variables", "t," + ",".join(f"x{k}" for k in range(MAX_STATE_VARS + 1)) + "\n", {}, 1, None,
     [f"at most {MAX_STATE_VARS}", "variables="]),
    ("too-few-points", "t,x\n" + _rows(4), {}, None, None, ["only 4 data rows", "at least 10"]),
    ("too-few-points-min", "t,x\n" + _rows(12), {"min_points": 20}, None, None, ["at least 20"]),
    ("trajectory-too-short", "t,x,trajectory\n" + "".join(f"{0.1 * k:g},{k},0\n" for k in range(12))
     + "0,1,1\n0.1,2,1\n", {}, 14, "trajectory", ["trajectory 1 has only 2 points"]),
    ("time-repeats", "t,x\n" + _rows(5) + "0.4,9\n" + _rows(8, 0.5), {}, 7, "t", ["0.4 appears twice"]),
    ("time-goes-back", "t,x\n" + _rows(5) + "0.1,9\n" + _rows(8, 0.5), {}, 7, "t",
     ["goes back from 0.4 to 0.1", "'trajectory' column"]),
    ("time-back-in-trajectory", "t,x,trajectory\n" + "".join(f"{0.1 * k:g},{k},{k % 2}\n" for k in range(20))
     + "0,1,1\n", {}, 22, "t", ["in trajectory 1"]),
    ("header-only", "t,x\n", {}, None, None, ["no data rows"]),
    ("ragged-short", "t,x,y\n0,1,2\n0.1,1\n0.2,1,2\n", {}, 3, None, ["expected 3", "found 2"]),
    ("ragged-long", "t,x,y\n0,1,2\n0.1,1,2\n0.2,1,2,3\n", {}, 4, None, ["expected 3", "found 4"]),
    # every row one field longer than the header: pandas would take the first column as an index and shift the rest
    ("every-row-one-longer", "t,x\n" + "".join(f"{0.1 * k:g},{k},{k}\n" for k in range(12)), {}, 2, None,
     ["expected 2", "found 3"]),
    ("date-not-iso", "time,x\n01/31/2024 12:00,1\n", {}, 2, "time", ["date or clock time", "ISO 8601",
                                                                     "total_seconds"]),
    ("iso-then-not", "time,x\n" + "".join(f"2024-01-01T00:00:{k:02d},{k}\n" for k in range(12)) + "later,12\n",
     {}, 14, "time", ["'later'"]),
    ("clock-time", "t,x\n12:00:01,1\n", {}, 2, "t", ["date or clock time", "pd.to_datetime(df['t'])"]),
    ("decimal-comma", 't,x\n0,"1,5"\n', {}, 2, "x", ["'1,5'", "decimal point"]),
    ("ragged-unused-column", "t,x,note\n0,1,a\n0.1,2\n", {"variables": ["x"]}, 3, None, ["found 2"]),
    ("trajectory-not-integer", "t,x,trajectory\n0,1,0\n0.1,2,1.5\n", {}, 3, "trajectory", ["'1.5'", "integer"]),
    ("trajectory-text", "t,x,trajectory\n0,1,run1\n", {}, 2, "trajectory", ["'run1'", "integer"]),
    ("named-trajectory-missing", _csv(), {"trajectory_column": "run"}, 1, None, ["'run' not found"]),
    ("variable-not-found", _csv(), {"variables": ["x", "w"]}, 1, None, ["'w' not found"]),
    # line numbers count blank lines, CRLF line ends and blank lines before the header
    ("blank-lines-counted", "t,x\n\n0,1\n\n0.1,abc\n", {}, 5, "x", ["'abc'"]),
    ("crlf-lines", "t,x\r\n0,1\r\n0.1,oops\r\n", {}, 3, "x", ["'oops'"]),
    ("header-after-blank", "\n\nt,x\n0,1\n0.1,?\n", {}, 5, "x", ["'?'"]),
    ("time-error-after-blank", "t,x\n\n" + _rows(5) + "0.4,9\n" + _rows(8, 0.5), {}, 8, "t", ["appears twice"]),
    # the first bad cell in reading order wins: a NaN on line 3 before text on line 4 or a ragged line 4
    ("first-bad-nan-then-text", "t,x\n0,1\n0.1,nan\n0.2,abc\n", {}, 3, "x", ["'nan'"]),
    ("first-bad-nan-then-ragged", "t,x\n0,1\n0.1,nan\n0.2\n", {}, 3, "x", ["'nan'"]),
    ("first-bad-left-column", "t,x,y\n0,1,2\n0.1,inf,abc\n", {}, 3, "x", ["finite"]),
]


@pytest.mark.parametrize(
    "content, options, row, column, words", [case[1:] for case in BAD_CSV], ids=[case[0] for case in BAD_CSV]
)
def test_bad_csv_names_file_row_and_column(
    tmp_path: Path, content: str, options: dict, row: int | None, column: str | None, words: list[str]
) -> None:
    path = tmp_path / "data.csv"
    path.write_text(content, encoding="utf-8", newline="")
    err = _raises(path, **options)
    assert (err.file, err.row, err.column) == (str(path), row, column), str(err)
    for word in words:
        assert word in str(err), f"{word!r} not in {str(err)!r}"


BAD_FILES = [
    # (id, file name, bytes, expected row, words)
    ("empty", "e.csv", b"", None, ["empty"]),
    ("whitespace-only", "w.csv", b"  \n\n \n", None, ["empty"]),
    ("bom-only", "b.csv", b"\xef\xbb\xbf", None, ["empty"]),
    ("latin1", "l.csv", "t,x\n0,1\n0.1,café\n".encode("latin-1"), 3, ["not UTF-8", "0xE9", "offset 15"]),
    ("latin1-after-bom", "lb.csv", b"\xef\xbb\xbft,x\xe9\n", 1, ["not UTF-8", "offset 6"]),
    ("utf16", "u.csv", "t,x\n0,1\n".encode("utf-16"), None, ["UTF-16"]),
    ("bad-parquet", "p.parquet", b"PAR1 this is not parquet", None, ["cannot read the Parquet file"]),
    ("bad-npz", "n.npz", b"PK\x03\x04 truncated zip", None, ["cannot read the NPZ file"]),
    ("unsupported-extension", "d.xlsx", b"whatever", None, ["'.xlsx'", ".csv, .parquet"]),
]


@pytest.mark.parametrize(
    "name, content, row, words", [case[1:] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES]
)
def test_bad_files(tmp_path: Path, name: str, content: bytes, row: int | None, words: list[str]) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    err = _raises(path)
    assert (err.file, err.row, err.column) == (str(path), row, None), str(err)
    for word in words:
        assert word in str(err), f"{word!r} not in {str(err)!r}"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    err = _raises(str(path))
    assert (err.file, err.row, err.column) == (str(path), None, None)
    assert "file not found" in str(err)


def test_npz_holding_pickled_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "obj.npz"
    np.savez(path, t=np.arange(12.0), x=np.array([{"a": 1}] * 12, dtype=object))
    err = _raises(path)
    assert err.file == str(path) and "cannot read the NPZ file" in str(err)


def test_bad_parquet_cell_reports_zero_based_row(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    x = np.arange(12.0)
    x[7] = np.inf
    pd.DataFrame({"t": np.arange(12.0), "x": x}).to_parquet(path)
    err = _raises(path)
    assert (err.file, err.row, err.column) == (str(path), 7, "x")


# ------------------------------------------------------------------------------------ bad in-memory inputs


def test_dataframe_non_numeric_cell_reports_row_index() -> None:
    frame = pd.DataFrame({"t": np.arange(12.0), "x": ["1.0"] * 5 + ["n/a"] + ["2"] * 6})
    err = _raises(frame, source="upload")
    assert (err.file, err.row, err.column) == ("upload", 5, "x")
    assert "'n/a'" in str(err)


def test_dataframe_none_is_an_empty_cell() -> None:
    frame = pd.DataFrame({"t": np.arange(12.0), "x": [1.0] * 3 + [None] + [2.0] * 8}, dtype=object)
    err = _raises(frame)
    assert (err.row, err.column) == (3, "x") and "empty cell" in str(err)


def test_a_time_column_of_dates_or_durations_becomes_seconds(tmp_path: Path) -> None:
    dates = pd.date_range("2024-01-01", periods=12, freq="250ms")
    for frame in (pd.DataFrame({"time": dates, "x": np.arange(12.0)}),
                  pd.DataFrame({"time": dates, "x": np.arange(12.0)}).set_index("time"),
                  pd.DataFrame({"t": dates - dates[0], "x": np.arange(12.0)})):
        np.testing.assert_allclose(load_trajectories(frame)[0].t, 0.25 * np.arange(12))
    path = tmp_path / "dated.parquet"
    pd.DataFrame({"time": dates, "x": np.arange(12.0)}).to_parquet(path)
    np.testing.assert_allclose(load_trajectories(path)[0].t, 0.25 * np.arange(12))
    missing = pd.DataFrame({"time": dates, "x": np.arange(12.0)})
    missing.loc[3, "time"] = pd.NaT
    assert (_raises(missing).row, _raises(missing).column) == (3, "time")


def test_dataframe_dates_are_not_states() -> None:
    frame = pd.DataFrame({"t": np.arange(12.0), "x": pd.date_range("2024-01-01", periods=12)})
    err = _raises(frame)
    assert (err.row, err.column) == (0, "x") and "non-numeric" in str(err)


def test_arrays_nan_reports_row_and_variable() -> None:
    t = np.linspace(0, 1, 12)
    x = np.ones((12, 2))
    x[4, 1] = np.nan
    err = _raises((t, x), variables=["u", "v"])
    assert (err.file, err.row, err.column) == (None, 4, "v")


def test_arrays_non_increasing_time_in_second_trajectory() -> None:
    t = np.linspace(0, 1, 12)
    t_bad = t.copy()
    t_bad[6] = t_bad[5]
    err = _raises([(t, np.ones(12)), (t_bad, np.ones(12))])
    assert (err.row, err.column) == (6, "t") and "trajectory 1" in str(err)


@pytest.mark.parametrize(
    "data, words",
    [
        ((np.arange(12.0), np.ones((11, 2))), ["shape (12,)", "(11, 2)"]),
        ([(np.arange(12.0), np.ones((12, 2))), (np.arange(12.0), np.ones((12, 3)))], ["3 state columns"]),
        ((np.arange(12.0), np.ones((12, 2)), np.ones(3)), ["not a pair"]),
        (np.ones((12, 3)), ["no time axis"]),
        (42, ["unsupported data of type int"]),
        ({"t": np.arange(12.0), "x": np.ones(11)}, ["'x' has 11 values", "12"]),
        ({"t": np.arange(12.0), "x": np.ones((12, 2))}, ["shape (12, 2)"]),
    ],
    ids=["length-mismatch", "width-mismatch", "triple", "bare-array", "int", "dict-lengths", "dict-2d"],
)
def test_bad_in_memory_shapes(data: object, words: list[str]) -> None:
    err = _raises(data)
    for word in words:
        assert word in str(err), f"{word!r} not in {str(err)!r}"


def test_array_variable_names_are_checked() -> None:
    t = np.linspace(0, 1, 12)
    assert "reserved" in str(_raises((t, np.ones((12, 2))), variables=["x", "sin"]))
    assert "2 state columns" in str(_raises((t, np.ones((12, 2))), variables=["x"]))


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="min_points"):
        load_trajectories({"t": [0.0, 1.0], "x": [1.0, 2.0]}, min_points=0)
    assert "sequence of column names" in str(_raises({"t": [0.0], "x": [1.0]}, variables="x"))


# ------------------------------------------------------------------------------------------- good inputs


@pytest.fixture
def reference() -> Trajectories:
    """Two trajectories of (x, y) on different uniform grids (dt 0.1 and 0.05)."""
    t0, t1 = np.linspace(0, 2, 21), np.linspace(0, 1, 21)
    return Trajectories(
        ["x", "y"],
        [Trajectory(t0, np.c_[np.sin(t0), np.cos(t0)]), Trajectory(t1, np.c_[t1**2, 1 - t1])],
        source="ref",
    )


def _assert_same(a: Trajectories, b: Trajectories) -> None:
    assert a.variables == b.variables and len(a) == len(b)
    for ta, tb in zip(a, b):
        np.testing.assert_array_equal(ta.t, tb.t)
        np.testing.assert_array_equal(ta.x, tb.x)


def test_csv_loads_with_summary(tmp_path: Path) -> None:
    path = tmp_path / "lorenz.csv"
    t = np.round(np.arange(2001) * 0.01, 2)
    pd.DataFrame({"t": t, "x": np.sin(t), "y": np.cos(t), "z": t / 20}).to_csv(path, index=False)
    data = load_trajectories(path)
    assert data.variables == ("x", "y", "z") and data.n_vars == 3 and len(data) == 1
    assert data.source == "lorenz.csv" and data.is_uniform and data.dt == pytest.approx(0.01)
    expected = "lorenz.csv: 3 variables (x, y, z), 1 trajectory, 2001 points, t in [0, 20], uniform dt=0.01"
    assert data.summary() == expected
    np.testing.assert_array_equal(data[0].t, t)
    np.testing.assert_array_equal(data[0].x[:, 0], np.sin(t))
    assert data.t_range == (0.0, 20.0)
    assert data.x_range["z"] == (0.0, 1.0)


def test_csv_with_bom_crlf_spaces_quotes_and_time_name(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    lines = ["Time , x ,y"] + [f'{0.5 * k},"{k}", {2 * k} ' for k in range(12)]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    data = load_trajectories(path)
    assert data.variables == ("x", "y")
    np.testing.assert_array_equal(data[0].t, 0.5 * np.arange(12))
    np.testing.assert_array_equal(data[0].x, np.c_[np.arange(12), 2 * np.arange(12)])


def test_csv_rows_with_a_trailing_comma_load_by_both_parsers(tmp_path: Path) -> None:
    # the fast (pandas) path; then an empty unused cell sends the file to the line-by-line scan
    fast = tmp_path / "fast.csv"
    fast.write_text("t,x\n" + "".join(f"{0.1 * k:g},{k},\n" for k in range(12)))
    scan = tmp_path / "scan.csv"
    scan.write_text("t,x,note\n" + "".join(f"{0.1 * k:g},{k},{'' if k == 3 else 'a'},\n" for k in range(12)))
    for path, options in ((fast, {}), (scan, {"variables": ["x"]})):
        data = load_trajectories(path, **options)
        np.testing.assert_allclose(data[0].t, 0.1 * np.arange(12))
        np.testing.assert_array_equal(data[0].x[:, 0], np.arange(12))


def test_csv_iso_dates_are_read_as_seconds(tmp_path: Path) -> None:
    path = tmp_path / "logger.csv"
    stamps = pd.date_range("2024-03-01 08:00", periods=12, freq="500ms", tz="UTC")
    lines = ["time,x"] + [f"{s.isoformat()},{k}" for k, s in enumerate(stamps)]
    lines[3] = lines[3].replace("+00:00", "Z")  # mixed spellings of the same zone
    path.write_text("\n".join(lines) + "\n")
    data = load_trajectories(path)
    np.testing.assert_allclose(data[0].t, 0.5 * np.arange(12))
    np.testing.assert_array_equal(data[0].x[:, 0], np.arange(12))


def test_summary_counts_gaps_in_the_sampling() -> None:
    t = np.concatenate([np.arange(30) * 0.1, 10.0 + np.arange(30) * 0.1])
    data = load_trajectories((t, np.sin(t)))
    assert data.summary().endswith("1 gap (a step over 10x the median)")
    assert "gap" not in load_trajectories((np.arange(60) * 0.1, np.sin(np.arange(60)))).summary()


def test_csv_lone_cr_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(_csv().replace("\n", "\r").encode())
    assert load_trajectories(path).n_points == 12


def test_csv_irregular_grid(tmp_path: Path) -> None:
    t = np.sort(np.random.default_rng(0).uniform(0, 5, 40))
    path = tmp_path / "irregular.csv"
    pd.DataFrame({"t": t, "x": np.exp(-t)}).to_csv(path, index=False)
    data = load_trajectories(path)
    assert not data.is_uniform and data.dt is None
    assert "irregular dt from" in data.summary()
    np.testing.assert_array_equal(data[0].t, t)


def test_csv_several_trajectories_interleaved(tmp_path: Path, reference: Trajectories) -> None:
    frame = reference.to_frame()
    assert list(frame.columns) == ["t", "x", "y", "trajectory"]
    path = tmp_path / "two.csv"
    mixed = frame.sort_values("t", kind="stable")  # rows of the two trajectories interleaved
    assert not mixed["trajectory"].is_monotonic_increasing
    mixed.to_csv(path, index=False)
    data = load_trajectories(path)
    _assert_same(data, reference)
    assert "2 trajectories" in data.summary()
    assert data.summary().endswith("uniform per trajectory, dt from 0.05 to 0.1")


def test_csv_variables_selects_and_orders_columns(tmp_path: Path) -> None:
    path = tmp_path / "extra.csv"
    lines = ["t,x,note,y"] + [f"{0.1 * k:g},{k},free text {k},{-k}" for k in range(12)]
    path.write_text("\n".join(lines) + "\n")
    data = load_trajectories(path, variables=["y", "x"])
    assert data.variables == ("y", "x")
    np.testing.assert_array_equal(data[0].x, np.c_[-np.arange(12), np.arange(12)])


def test_csv_scan_and_fast_path_agree(tmp_path: Path) -> None:
    """A file the fast parser refuses (an empty unused cell) loads to the same values; '1_0' (Python's digit
    grouping, which float() reads) is refused on either path (tests/discovery/test_data_hostile.py)."""
    clean, odd = tmp_path / "clean.csv", tmp_path / "odd.csv"
    lines = ["t,x,note,y"] + [f"{0.1 * k:.6g},{float(np.sin(k))!r},a,{float(np.cos(k))!r}" for k in range(30)]
    clean.write_text("\n".join(lines) + "\n")
    lines[4] = lines[4].replace(",a,", ",,")  # an empty cell in the unused column sends the file to the scan
    odd.write_text("\n".join(lines) + "\n")
    _assert_same(load_trajectories(clean, variables=["x", "y"]), load_trajectories(odd, variables=["x", "y"]))
    underscores = tmp_path / "u.csv"
    underscores.write_text("t,x\n" + "".join(f"{k},1_0\n" for k in range(12)))
    with pytest.raises(DataError, match=r"row 2, column 'x': non-numeric value '1_0'"):
        load_trajectories(underscores)


def test_parquet(tmp_path: Path, reference: Trajectories) -> None:
    path = tmp_path / "ref.parquet"
    reference.to_frame().to_parquet(path)
    data = load_trajectories(path)
    _assert_same(data, reference)
    assert data.source == "ref.parquet"


def test_npz_stacked_arrays_with_names(tmp_path: Path) -> None:
    t = np.linspace(0, 1, 15)
    x = np.stack([np.c_[t + m, np.exp(-m * t)] for m in range(3)])  # (M, N, D)
    path = tmp_path / "stack.npz"
    np.savez(path, t=t, x=x, variables=np.array(["u", "v"]))
    data = load_trajectories(path)
    assert data.variables == ("u", "v") and len(data) == 3
    np.testing.assert_array_equal(data[2].x, x[2])


def test_npz_single_and_per_trajectory_times(tmp_path: Path) -> None:
    t = np.linspace(0, 1, 15)
    np.savez(tmp_path / "one.npz", t=t, x=np.c_[t, t**2])
    one = load_trajectories(tmp_path / "one.npz")
    assert one.variables == ("x0", "x1") and one.n_points == 15
    ts = np.stack([t, 2 * t])  # (M, N)
    np.savez(tmp_path / "many.npz", t=ts, x=np.stack([np.c_[t], np.c_[t]]))
    many = load_trajectories(tmp_path / "many.npz", variables=["q"])
    np.testing.assert_array_equal(many[1].t, 2 * t)


def test_npz_named_columns(tmp_path: Path) -> None:
    t = np.linspace(0, 1, 12)
    np.savez(tmp_path / "cols.npz", time=t, x=np.sin(t), y=np.cos(t))
    data = load_trajectories(tmp_path / "cols.npz")
    assert data.variables == ("x", "y")
    np.testing.assert_array_equal(data[0].x[:, 1], np.cos(t))


def test_dataframe_dict_and_time_index(reference: Trajectories) -> None:
    frame = reference.to_frame()
    _assert_same(load_trajectories(frame), reference)
    _assert_same(load_trajectories({k: frame[k].to_numpy() for k in frame.columns}), reference)
    single = frame[frame.trajectory == 0].drop(columns="trajectory").set_index("t")
    _assert_same(load_trajectories(single), reference.subset([0]))


def test_arrays_pair_and_list_of_pairs(reference: Trajectories) -> None:
    pairs = [(tr.t, tr.x) for tr in reference]
    _assert_same(load_trajectories(pairs, variables=["x", "y"]), reference)
    _assert_same(load_trajectories(pairs[0], variables=("x", "y")), reference.subset([0]))
    t = list(np.linspace(0, 1, 12))
    one = load_trajectories((t, np.sin(t)))  # lists and a 1-D x
    assert one.variables == ("x0",) and one[0].x.shape == (12, 1)


def test_file_like_objects(tmp_path: Path, reference: Trajectories) -> None:
    buffer = io.BytesIO(reference.to_frame().to_csv(index=False).encode())
    buffer.name = "upload.csv"
    data = load_trajectories(buffer)
    _assert_same(data, reference)
    assert data.source == "upload.csv"
    _assert_same(load_trajectories(io.StringIO(reference.to_frame().to_csv(index=False))), reference)


def test_trajectories_returned_as_is(reference: Trajectories) -> None:
    assert load_trajectories(reference) is reference
    swapped = load_trajectories(reference, variables=["y", "x"])
    np.testing.assert_array_equal(swapped[0].x, reference[0].x[:, ::-1])


# ------------------------------------------------------------------------------------ Trajectories itself


def test_csv_round_trip_is_exact_and_atomic(tmp_path: Path, reference: Trajectories) -> None:
    out = reference.to_csv(tmp_path / "out" / "ref.csv")
    assert out.exists() and [p.name for p in out.parent.iterdir()] == ["ref.csv"]
    _assert_same(load_trajectories(out), reference)


@settings(max_examples=25, deadline=None)
@given(x=arrays(np.float64, (12, 2), elements=st.floats(-1e149, 1e149, allow_nan=False, allow_infinity=False)))
def test_round_trip_any_finite_values(tmp_path_factory: pytest.TempPathFactory, x: np.ndarray) -> None:
    # any value a float can square (see discovery.data.magnitudes); a column of only sub-1e-150 values is refused
    x = np.where(np.abs(x).max(axis=0) < 1e-150, 0.0, x)
    data = Trajectories(["a", "b"], [Trajectory(np.arange(12) * 0.1, x)])
    path = data.to_csv(tmp_path_factory.mktemp("rt") / "x.csv")
    _assert_same(load_trajectories(path), data)


def test_sequence_protocol_and_properties(reference: Trajectories) -> None:
    assert len(reference) == 2 and reference.n_points == 42
    assert [tr.n_points for tr in reference] == [21, 21]
    assert reference[1].duration == 1.0 and reference[-1] is reference[1]
    assert isinstance(reference[:1], Trajectories) and len(reference[:1]) == 1
    assert reference.t_range == (0.0, 2.0)
    assert reference.is_uniform and reference.dt is None  # uniform grids, but with different steps
    assert reference.subset([1, 0])[0] is reference[1]
    with pytest.raises(IndexError, match="out of range"):
        reference.subset([2])
    assert "trajectory" not in load_trajectories(reference.subset([0])).to_frame().columns


def test_with_noise_scale_and_seed() -> None:
    t = np.linspace(0, 10, 4000)
    clean = Trajectories(["x", "y"], [Trajectory(t, np.c_[np.sin(t), 100 * np.cos(t)])])
    noisy = clean.with_noise(0.05, seed=3)
    residual = noisy[0].x - clean[0].x
    np.testing.assert_allclose(residual.std(axis=0), 0.05 * clean[0].x.std(axis=0), rtol=0.1)
    np.testing.assert_array_equal(noisy[0].x, clean.with_noise(0.05, seed=3)[0].x)
    assert not np.array_equal(noisy[0].x, clean.with_noise(0.05, seed=4)[0].x)
    np.testing.assert_array_equal(clean.with_noise(0.0)[0].x, clean[0].x)
    with pytest.raises(ValueError, match="noise level"):
        clean.with_noise(-0.1)


@pytest.mark.parametrize(
    "t, x, words",
    [
        (np.zeros((3, 2)), np.zeros((3, 1)), "shape (N,)"),
        (np.arange(3.0), np.zeros(3), "x[:, None]"),
        (np.arange(3.0), np.zeros((4, 1)), "(3, D)"),
        (np.arange(3.0), np.zeros((3, 0)), "D >= 1"),
        (np.array([]), np.zeros((0, 1)), "N >= 1"),
    ],
)
def test_trajectory_checks_shapes(t: np.ndarray, x: np.ndarray, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        Trajectory(t, x)


def test_trajectory_converts_to_float64() -> None:
    tr = Trajectory([0, 1, 2], [[1], [2], [3]])
    assert tr.t.dtype == np.float64 and tr.x.dtype == np.float64 and tr.x.shape == (3, 1)


@pytest.mark.parametrize(
    "variables, trajectories, words",
    [
        ("xy", [Trajectory([0.0], [[1.0, 2.0]])], "sequence of names"),
        (["x", "x"], [Trajectory([0.0], [[1.0, 2.0]])], "unique"),
        (["x", "y"], [], "at least one trajectory"),
        (["x"], [Trajectory([0.0], [[1.0, 2.0]])], "expected 1"),
        (["x"], [(np.zeros(2), np.zeros((2, 1)))], "Trajectory objects"),
    ],
)
def test_trajectories_constructor_checks(variables: object, trajectories: list, words: str) -> None:
    with pytest.raises(DataError, match=words):
        Trajectories(variables, trajectories)  # type: ignore[arg-type]


# --- magnitudes a float cannot work with (issue 14, item 12) ----------------------------------------------------
def _lv_csv(path: Path, t: np.ndarray, x: np.ndarray) -> Path:
    lines = ["t,x,y"] + [f"{float(a)!r},{float(b)!r},{float(c)!r}" for a, (b, c) in zip(t, x)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "scale_t,offset_t,scale_x,column,words",
    [
        (1.0, 0.0, 1e300, "x", ["'x'", "1.1e+301", "squares overflow", "units of 1e+301"]),
        (1.0, 0.0, 1e-300, "x", ["'x'", "1.1e-299", "squares underflow", "units of 1e-299"]),
        (1e305, 0.0, 1.0, "t", ["'t'", "squares overflow", "rescale"]),
        (1.0, 1e307, 1.0, "t", ["'t'", "rescale"]),
        (1e150, 0.0, 1.0, "t", ["'t'", "squares overflow", "rescale"]),
        (1e-300, 0.0, 1.0, "t", ["'t'", "underflow", "rescale"]),
        (1.0, 1e17, 1.0, "t", ["'t'", "subtract the first time"]),
    ],
)
def test_magnitudes_a_float_cannot_work_with_are_refused_at_load(
    tmp_path: Path, scale_t: float, offset_t: float, scale_x: float, column: str, words: list[str]
) -> None:
    t = np.linspace(0.0, 30.0, 61)
    x = np.c_[10 + np.sin(t), 5 + np.cos(t)]
    path = _lv_csv(tmp_path / "big.csv", t * scale_t + offset_t, x * scale_x)
    with pytest.raises(DataError) as info:
        load_trajectories(path)
    message = str(info.value)
    assert info.value.column == column, message
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)
    with pytest.raises(DataError):  # the same rule for arrays and Trajectories built in Python
        load_trajectories((t * scale_t + offset_t, x * scale_x))


def test_large_but_workable_magnitudes_load() -> None:
    t = np.linspace(0.0, 30.0, 61)
    x = np.c_[10 + np.sin(t), np.zeros_like(t)]
    for scale in (1e-100, 1e100):
        data = load_trajectories((t * scale, x * scale))
        assert data[0].x.max() == pytest.approx(11 * scale, rel=0.01)
