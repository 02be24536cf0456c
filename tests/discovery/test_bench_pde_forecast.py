"""The forecast column of ``eqdisco bench pde``: its summary and table (the measurement itself is the bench's)."""

from __future__ import annotations

import argparse
import io

from discovery.bench.pde import add_arguments, print_table, summarize


def _row(system: str, noise: float, contender: str, **extra) -> dict:
    return {"system": system, "noise": noise, "contender": contender, "grid": [128, 128], "seconds": 1.0,
            "peak_mb": 10.0, "exact": True, "coef_err": 0.001, "rel_l2": 0.002, **extra}


def test_summary_and_table_carry_the_forecast():
    rows = [
        _row("heat", 0.0, "eqdisco", forecast_rel_l2=0.01, forecast_persistence=0.1, forecast_seconds=30.0),
        _row("kdv", 0.0, "eqdisco", forecast_rel_l2=0.5, forecast_persistence=1.0, forecast_seconds=30.0),
        _row("burgers", 0.0, "eqdisco", forecast_rel_l2=None, forecast_persistence=None, forecast_seconds=1.0,
             forecast_error="the run died"),
        _row("heat", 0.0, "pysindy"),
    ]
    summary = summarize(rows)
    assert summary["eqdisco@0"]["forecast_rel_l2_median"] == 0.5  # a failed forecast counts as infinite
    assert abs(summary["eqdisco@0"]["forecast_within_5pct"] - 1 / 3) < 1e-12
    assert "forecast_rel_l2_median" not in summary["pysindy@0"]
    out = io.StringIO()
    print_table(rows, file=out)
    text = out.getvalue()
    assert "fcst L2" in text and "1.00e-02" in text and "(33% within 5%)" in text


def test_the_forecast_column_can_be_skipped():
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args(["--no-forecast"]).no_forecast and not parser.parse_args([]).no_forecast
