"""The discovery benchmark command runs at toy size and writes its table and JSON."""

from __future__ import annotations

import json

import sympy

from discovery.benchmarks.core import predictability_horizon
from discovery.benchmarks.terms import same_terms, term_set
from discovery.cli import main

x, y = sympy.symbols("x y")


def test_term_set_ignores_coefficients_not_structure():
    assert term_set(2.5 * x * y - 0.1 * sympy.sin(1.0 * x) + 3) == {x * y, sympy.sin(x), sympy.Integer(1)}
    assert same_terms({"x": 1.01 * x - 0.2 * x * y}, {"x": x - 0.1 * x * y})
    assert not same_terms({"x": 1.01 * x}, {"x": x - 0.1 * x * y})


def test_predictability_horizon_is_short_for_chaos_and_full_otherwise():
    import numpy as np

    from discovery.simulation import simulate
    from grammar.zoo import get_system

    for name, chaotic in (("lorenz", True), ("lotka_volterra", False)):
        system = get_system(name)
        t = np.arange(system.t_span[0], system.t_span[1], system.dt)
        ref = simulate(system, t=t)[0].x
        h = predictability_horizon(system, ref[0], t, ref)
        assert (h < len(t)) == chaotic


def test_bench_command_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "--systems", "lotka_volterra", "--noise", "0", "--contenders", "auto,pysindy",
                 "--out", str(out)])
    assert code == 0
    table = capsys.readouterr().out
    assert "| 0% | auto | 1 |" in table and "pysindy" in table
    payload = json.loads(out.read_text())
    assert payload["complete"] is True
    runs = {r["contender"]: r for r in payload["runs"]}
    assert runs["auto"]["exact_terms"] is True and runs["auto"]["r2_heldout"] > 0.9
    assert runs["auto"]["peak_mb"] > 0


def test_bench_rejects_unknown_system(tmp_path, capsys):
    assert main(["bench", "--systems", "nope", "--out", str(tmp_path / "b.json")]) == 2
    assert "unknown system" in capsys.readouterr().err
