"""The field's doors besides the API: ``eqdisco discover FIELD --out DIR`` takes the PDE path from the data, and the
whole-span re-simulation the app draws is the one a result's ``rel_l2`` measures."""

from __future__ import annotations

import json

import numpy as np
import sympy

from discovery.fields import discover_field, simulate_zoo
from discovery.fields.resimulate import resimulate_field
from discovery.terms import term_set


def test_the_command_line_discovers_a_field_beside_trajectories(tmp_path, capsys) -> None:
    from discovery.cli import main

    field = tmp_path / "rod.npz"
    simulate_zoo("heat", grid=(24, 32)).save(field)
    trajectories = tmp_path / "lv.csv"
    assert main(["simulate", "lotka_volterra", "--noise", "0.01", "--out", str(trajectories)]) == 0
    out = tmp_path / "results"
    assert main(["discover", str(field), str(trajectories), "--out", str(out), "--quiet", "--workers", "1",
                 "--no-uncertainty"]) == 0
    payload = json.loads((out / "rod.json").read_text())
    assert payload["kind"] == "field" and payload["source"] == "rod.npz" and payload["axes"] == ["x"]
    assert term_set(sympy.sympify(payload["equations"]["u"])) == {sympy.Symbol("u_xx")}
    assert set(json.loads((out / "lv.json").read_text())["equations"]) == {"x", "y"}


def test_an_ode_method_on_a_field_is_one_line(tmp_path, capsys) -> None:
    from discovery.cli import main

    field = tmp_path / "rod.npz"
    simulate_zoo("heat", grid=(24, 32)).save(field)
    assert main(["discover", str(field), "--out", str(tmp_path / "r"), "--method", "sindy", "--quiet"]) != 0
    payload = json.loads((tmp_path / "r" / "rod.json").read_text())
    assert payload["error"].startswith("unknown PDE method 'sindy'; valid: auto, sparse")


def test_the_resimulated_field_is_what_rel_l2_measures() -> None:
    observed = simulate_zoo("burgers", grid=(48, 48), seed=1, noise=0.01)
    result = discover_field(observed)
    sim = resimulate_field(result.equations, observed)
    assert sim.shape == observed.shape and sim.periodic == observed.periodic
    rel = np.linalg.norm(sim.stack() - observed.stack()) / np.linalg.norm(observed.stack())
    assert rel == result.metrics["rel_l2"] and rel < 0.05
