"""Loading data a hostile or unlucky user sends: time zones, huge trajectory ids, Python-only number spellings,
unterminated quotes and enormous headers. Each is read right or refused in one bounded line at the right row."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from discovery.data import load_trajectories
from discovery.errors import DataError


def _raises(data: object, **kwargs: object) -> DataError:
    with pytest.raises(DataError) as info:
        load_trajectories(data, **kwargs)
    text = str(info.value)
    assert "\n" not in text and "\r" not in text, f"message is not one line: {text[:200]!r}"
    assert len(text) <= 1000, f"message is {len(text)} characters long: {text[:200]!r}..."
    return info.value


def _csv(rows: list[str], header: str = "t,x") -> io.StringIO:
    return io.StringIO(header + "\n" + "\n".join(rows) + "\n")


# --- time zones -------------------------------------------------------------------------------------------------
# 2024-03-31 is the spring daylight-saving change in Paris: 02:00 local jumps to 03:00, so local clock readings
# 30 minutes apart in true time show a one-and-a-half-hour step across the change.
_PARIS = pd.date_range("2024-03-31 00:00", periods=12, freq="30min", tz="Europe/Paris")
_ELAPSED = np.arange(12) * 1800.0


def test_tz_aware_frame_time_is_true_elapsed_seconds(tmp_path: Path) -> None:
    frame = pd.DataFrame({"t": _PARIS, "x": np.arange(12.0)})
    assert np.array_equal(load_trajectories(frame)[0].t, _ELAPSED)
    assert np.array_equal(load_trajectories({"t": frame["t"], "x": frame["x"]})[0].t, _ELAPSED)
    path = tmp_path / "paris.parquet"
    frame.to_parquet(path)
    assert np.array_equal(load_trajectories(path)[0].t, _ELAPSED)


def test_csv_dates_with_offsets_are_true_elapsed_seconds() -> None:
    rows = [f"{stamp.isoformat()},{k}" for k, stamp in enumerate(_PARIS)]
    assert np.array_equal(load_trajectories(_csv(rows))[0].t, _ELAPSED)


def test_csv_dates_mixing_zones_and_no_zones_are_refused() -> None:
    rows = [f"2024-01-01T{h:02d}:00:00{'+01:00' if h >= 4 else ''},{h}" for h in range(12)]
    err = _raises(_csv(rows))
    assert err.row == 6 and err.column == "t" and "time zone" in err.reason


def test_frame_dates_mixing_zones_and_no_zones_are_refused() -> None:
    stamps = [pd.Timestamp("2024-01-01 00:00"), *(pd.Timestamp(f"2024-01-01 {h:02d}:00", tz="UTC") for h in range(1, 12))]
    err = _raises(pd.DataFrame({"t": pd.Series(stamps, dtype=object), "x": np.arange(12.0)}))
    assert err.row == 1 and "time zone" in err.reason


# --- trajectory ids ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("base", [2**63, 2**53, 2**70])
def test_csv_trajectory_ids_beyond_exact_integers_are_refused(base: int) -> None:
    rows = [f"{k // 2},{k},{base + k % 2}" for k in range(24)]
    err = _raises(_csv(rows, "t,x,trajectory"))
    assert err.row == 2 and err.column == "trajectory" and "too large" in err.reason


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_frame_trajectory_ids_beyond_exact_integers_are_refused(dtype) -> None:
    ids = np.array([2**60 + k % 2 for k in range(24)], dtype=dtype)
    frame = pd.DataFrame({"t": np.arange(24) // 2, "x": np.arange(24.0), "trajectory": ids})
    err = _raises(frame)
    assert err.row == 0 and err.column == "trajectory" and "too large" in err.reason


def test_large_but_exact_trajectory_ids_still_split() -> None:
    rows = [f"{k // 2},{k},{2**53 - 1 - k % 2}" for k in range(24)]
    assert len(load_trajectories(_csv(rows, "t,x,trajectory"))) == 2


# --- numbers ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["1_000", "1_0.5", "\u0661\u0662", "\uff11", "1e1_0"])
def test_python_only_number_spellings_are_not_numbers(cell: str) -> None:
    rows = [f"{k},{k}" for k in range(12)]
    rows[3] = f"3,{cell}"
    err = _raises(_csv(rows))
    assert err.row == 5 and err.column == "x" and "non-numeric" in err.reason
    column = np.array([str(k) for k in range(12)], dtype=object)
    column[3] = cell
    err = _raises(pd.DataFrame({"t": np.arange(12.0), "x": column}))
    assert err.row == 3 and "non-numeric" in err.reason


def test_a_large_csv_block_with_one_underscore_is_refused() -> None:
    rows = [f"{k},{k}" for k in range(20_000)]
    rows[15_000] = "15000,15_000"
    err = _raises(_csv(rows))
    assert err.row == 15_002 and err.column == "x"


# --- quotes -----------------------------------------------------------------------------------------------------
def test_unterminated_quote_blames_its_row() -> None:
    rows = [f"{k},{k}" for k in range(12)]
    rows[4] = '4,"5'
    err = _raises(_csv(rows))
    assert err.row == 6 and "quote" in err.reason


def test_unterminated_quote_in_an_unused_column_does_not_swallow_rows() -> None:
    rows = [f"{k},{k},ok" for k in range(12)]
    rows[4] = '4,4,"never closed'
    err = _raises(_csv(rows, "t,x,note"), variables=["x"])
    assert err.row == 6 and "quote" in err.reason


def test_unterminated_quote_in_the_header_blames_the_header() -> None:
    err = _raises(io.StringIO('t,"x\n' + "".join(f"{k},{k}\n" for k in range(12))))
    assert err.row == 1 and "quote" in err.reason


def test_quoted_multi_line_text_in_an_unused_column_is_fine() -> None:
    rows = [f"{k},{k},ok" for k in range(12)]
    rows[4] = '4,4,"two\nlines"'
    data = load_trajectories(_csv(rows, "t,x,note"), variables=["x"])
    assert data.n_points == 12


def test_dated_file_with_unterminated_quote_blames_its_row() -> None:
    rows = [f"2024-01-01T{h:02d}:00:00,{h}" for h in range(12)]
    rows[7] = '2024-01-01T07:00:00,"7'
    err = _raises(_csv(rows))
    assert err.row == 9 and "quote" in err.reason


# --- bounded messages -------------------------------------------------------------------------------------------
@pytest.mark.timeout(120)
def test_a_100000_column_header_gives_a_short_line() -> None:
    header = "t," + ",".join(f"c{k}" for k in range(100_000))
    err = _raises(io.StringIO(header + "\n" + "0," + ",".join(["1"] * 100_000) + "\n"))
    assert "more)" in str(err)


@pytest.mark.parametrize("header", [
    "t,x," + "y" * 1_000_000,            # a name of a million characters
    "t,x," + "y" * 500_000 + ",x",      # ... then a duplicate
    "t,x," + "é" * 300_000,             # an invalid name
    "t," + ",".join(f"c{k}" for k in range(50_000)) + ",t",  # two time columns after many names
    ",".join(f"c{k}" for k in range(100_000)),               # no time column among many
], ids=["long name", "long duplicate", "long invalid name", "two times after many", "no time among many"])
def test_huge_or_many_names_give_a_short_line(header: str) -> None:
    _raises(io.StringIO(header + "\n0,1\n"))


def test_a_missing_variable_among_many_columns_gives_a_short_line() -> None:
    frame = pd.DataFrame({"t": np.arange(12.0), **{f"c{k}": np.zeros(12) for k in range(5_000)}})
    _raises(frame, variables=["nope" * 100_000])
