"""What a user should be told (issue 14, item 16): a constant state variable, a selected model that follows the data on
short windows but not over the whole record; and nothing from the libraries on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

from discovery import discover, simulate
from discovery.data import Trajectories, Trajectory
from discovery.methods.base import Candidate
from discovery.pipeline.diagnostics import data_warnings, fit_warnings, invariants


def _with_column(data: Trajectories, name: str, values: list[float]) -> Trajectories:
    return Trajectories([*data.variables, name],
                        [Trajectory(tr.t, np.c_[tr.x, np.full(len(tr.t), v)]) for tr, v in zip(data, values)])


@pytest.fixture(scope="module")
def lv() -> Trajectories:
    return simulate("lotka_volterra", noise=0.01, seed=0, x0=[[10.0, 5.0], [6.0, 3.0]])


def test_a_constant_variable_is_named_with_its_equation(lv: Trajectories) -> None:
    result = discover(_with_column(lv, "z", [3.0, 3.0]), method="sindy", uncertainty=False)
    lines = [w for w in result.warnings if "'z'" in w]
    assert len(lines) == 1, result.warnings
    assert "constant" in lines[0] and "dz/dt = 0" in lines[0] and "drop the column" in lines[0]
    assert result.equations["z"] == 0


def test_a_variable_constant_within_each_trajectory_is_a_parameter(lv: Trajectories) -> None:
    (line,) = data_warnings(_with_column(lv, "k", [3.0, 4.5]))
    assert "'k'" in line and "within each trajectory" in line and "parameters=" in line


def test_varying_variables_get_no_warning(lv: Trajectories) -> None:
    assert data_warnings(lv) == []
    assert data_warnings(_with_column(lv, "z", [1e-300 * 0, 0.0])) != []  # an all-zero column is constant too


@pytest.mark.parametrize("noise", [0.0, 0.01, 0.05])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_conservation_law_is_found_within_the_noise(noise: float, seed: int) -> None:
    """SIR without births: s + i + r keeps its initial total; at 5% noise each coefficient is within a few %."""
    data = simulate("sir", noise=noise, seed=seed, x0=[[0.9, 0.1, 0.0]])
    (law,) = invariants(data)
    assert set(law.coefficients) == {"s", "i", "r"}
    assert all(abs(c - 1.0) < 0.05 for c in law.coefficients.values()), law
    assert abs(law.total - 1.0) < 0.05, law
    (line,) = data_warnings(data)
    assert "conservation law" in line and "1, s, i, r" in line and "another total" in line


def test_no_conservation_law_where_the_totals_differ_or_none_holds(lv: Trajectories) -> None:
    """Totals that differ between trajectories cannot be stood in for by a constant term; Lotka-Volterra and a
    noisy transient that settles on a steady state (the toggle switch at 5%) conserve nothing affine."""
    from discovery.bench.core import folder_cases

    assert invariants(simulate("sir", noise=0.01, seed=0, x0=[[0.9, 0.1, 0.0], [0.5, 0.1, 0.1]])) == []
    assert invariants(lv) == [] and invariants(simulate("lorenz", noise=0.05, seed=0)) == []
    root = Path(__file__).resolve().parents[2] / "benchmarks" / "textbook"
    for case in folder_cases(root, 0.05, 0):
        if case.name in ("toggle_switch", "sis_standard", "competition", "goodwin"):
            assert invariants(Trajectories(case.variables, [Trajectory(np.asarray(case.fit_t),
                                                                       np.asarray(case.fit_x))])) == [], case.name


def test_a_model_that_only_follows_short_windows_is_flagged() -> None:
    x = sympy.Symbol("x")
    drifting = Candidate("sindy", {"x": -x}, metrics={"r2": -0.74, "r2_window": 0.997, "stable": True})
    (line,) = fit_warnings(drifting)
    assert "-0.74" in line and "0.997" in line and "whole" in line
    good = Candidate("sindy", {"x": -x}, metrics={"r2": 0.99, "r2_window": 0.999, "stable": True})
    poor = Candidate("sindy", {"x": -x}, metrics={"r2": -2.0, "r2_window": 0.3, "stable": True})
    assert fit_warnings(good) == [] and fit_warnings(poor) == []  # a poor window fit has its own warning


def test_chaotic_data_gets_the_whole_record_warning() -> None:
    data = simulate("lorenz", noise=0.05, seed=0)
    result = discover(data, method="sindy", uncertainty=False)
    assert result.metrics["r2"] < 0 < result.metrics["r2_window"]
    assert any("whole" in w and "short windows" in w for w in result.warnings), result.warnings


def _stderr_lines(tmp_path: Path, data: Trajectories, *options: str) -> list[str]:
    path = data.to_csv(tmp_path / "data.csv")
    proc = subprocess.run([sys.executable, "-m", "discovery", "discover", str(path), "--out", str(tmp_path / "out"),
                           "--quiet", *options], capture_output=True, text=True)
    return [line for line in proc.stderr.replace("\r", "\n").splitlines() if line.strip()]


def test_library_warnings_do_not_reach_stderr(tmp_path: Path, lv: Trajectories) -> None:
    huge = Trajectories(lv.variables, [Trajectory(tr.t, tr.x * 1e120) for tr in lv])  # overflows inside pysindy
    lines = _stderr_lines(tmp_path, huge, "--method", "sindy")
    assert not [line for line in lines if "Warning" in line or line.startswith(" ")], lines
    assert any(line.startswith("error:") for line in lines), lines
    lines = _stderr_lines(tmp_path, lv, "--method", "sindy", "--plots")
    assert not [line for line in lines if "Warning" in line], lines
