"""Users' names are theirs: variables that sympy or Python give a meaning (S, I, E, N, Q, O, beta, gamma, lambda, pi,
if, E1, ...) work everywhere: loading, discovery, scoring, JSON, generated code, LaTeX, the command line, the parser."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy

from discovery import discover, simulate
from discovery.data import Trajectories, Trajectory, load_trajectories
from discovery.result import DiscoveryResult
from discovery.simulation import lambdify_system
from discovery.symbolic import to_candidate_expr
from grammar.parser import parse, parse_system
from grammar.tokenizer import canonicalize, decanonicalize

SYMPY_NAMES = ["S", "I", "E", "N", "Q", "O", "beta", "gamma", "lambda", "pi"]
OTHER_NAMES = ["zeta", "E1", "if", "arcsin", "oo", "nan", "add", "numpy", "N314", "x0"]


def _renamed(data: Trajectories, names: list[str]) -> Trajectories:
    return Trajectories(names, list(data), source=data.source)


def _csv(path: Path, data: Trajectories) -> Path:
    return data.to_csv(path)


@pytest.fixture(scope="module")
def sir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = _renamed(simulate("sir", noise=0.0, seed=0), ["S", "I", "R"])
    return _csv(tmp_path_factory.mktemp("sir") / "sir.csv", data)


@pytest.mark.parametrize("names", [SYMPY_NAMES, OTHER_NAMES])
def test_names_sympy_or_python_give_a_meaning_load(tmp_path: Path, names: list[str]) -> None:
    t = np.linspace(0.0, 1.0, 12)
    frame = "t," + ",".join(names) + "\n" + "".join(
        f"{a}," + ",".join(str(k + a) for k in range(len(names))) + "\n" for a in t)
    (tmp_path / "d.csv").write_text(frame)
    data = load_trajectories(tmp_path / "d.csv")
    assert data.variables == tuple(names)


def test_sir_with_capital_names_end_to_end(sir: Path, tmp_path: Path) -> None:
    result = discover(sir, method="sindy")
    S, I, R = sympy.symbols("S I R")
    assert set(result.equations) == {"S", "I", "R"}
    assert result.metrics["r2"] > 0.999, result.warnings
    assert result.equations["S"].free_symbols == {S, I}
    assert not result.equations["S"].has(sympy.I)
    beta = -float(sympy.expand(result.equations["S"]).coeff(S * I))
    assert beta == pytest.approx(0.4, rel=1e-3)
    # JSON round trip reads S*I back as the symbols S and I (not sympy's S or its imaginary unit I)
    back = DiscoveryResult.from_dict(json.loads(result.to_json()))
    for v in ("S", "I", "R"):
        assert sympy.expand(back.equations[v] - result.equations[v]) == 0, (v, back.equations[v])
        assert not back.equations[v].has(sympy.I)
    # generated Python runs and agrees with the numpy right-hand side
    namespace: dict = {}
    exec(compile(result.python_source(), "<generated>", "exec"), namespace)
    state = np.array([0.9, 0.1, 0.05])
    np.testing.assert_allclose(namespace["rhs"](0.0, state), result.rhs_numpy()(0.0, state), rtol=1e-12)
    latex = result.latex()
    assert r"\dot{S}" in latex and r"\dot{I}" in latex


def test_sir_with_capital_names_from_the_command_line(sir: Path, tmp_path: Path, capsys) -> None:
    from discovery.cli import main

    out = tmp_path / "out"
    assert main(["discover", str(sir), "--method", "sindy", "--out", str(out)]) == 0
    saved = json.loads((out / "sir.json").read_text())
    assert "error" not in saved, saved
    assert saved["variables"] == ["S", "I", "R"]
    back = DiscoveryResult.from_dict(saved)
    assert back.equations["S"].free_symbols == set(sympy.symbols("S I"))


@pytest.mark.parametrize(
    "system,names",
    [
        ("lotka_volterra", ["N", "P"]),
        ("lotka_volterra", ["beta", "gamma"]),
        ("lotka_volterra", ["lambda", "if"]),
        ("lotka_volterra", ["E", "Q"]),
        ("lotka_volterra", ["O", "E1"]),
        ("lotka_volterra", ["pi", "add"]),
    ],
)
def test_discovery_and_exports_with_names_sympy_gives_a_meaning(system: str, names: list[str]) -> None:
    data = _renamed(simulate(system, noise=0.0, seed=0), names)
    result = discover(data, method="sindy", uncertainty=False)
    a, b = (sympy.Symbol(n) for n in names)
    assert result.metrics["r2"] > 0.999, result.warnings
    assert sympy.expand(result.equations[names[0]]).free_symbols == {a, b}
    coefficient = float(sympy.expand(result.equations[names[0]]).coeff(a * b))
    assert coefficient == pytest.approx(-0.1, rel=1e-3)
    back = DiscoveryResult.from_dict(json.loads(result.to_json()))
    for v in names:
        assert sympy.expand(back.equations[v] - result.equations[v]) == 0
    namespace: dict = {}
    exec(compile(result.python_source(), "<generated>", "exec"), namespace)
    state = np.array([5.0, 3.0])
    np.testing.assert_allclose(namespace["rhs"](0.0, state), result.rhs_numpy()(0.0, state), rtol=1e-12)
    assert result.latex()


@pytest.mark.parametrize("names", [["lambda", "if"], ["numpy", "x0"], ["E", "pi"], ["arcsin", "exp_"]])
def test_lambdify_takes_any_variable_name(names: list[str]) -> None:
    a, b = (sympy.Symbol(n) for n in names)
    f = lambdify_system([a * b - sympy.asin(b / 4), -a + sympy.exp(b / 10)], names)
    np.testing.assert_allclose(f(0.0, np.array([2.0, 1.0])), [2.0 - np.arcsin(0.25), -2.0 + np.exp(0.1)])


@pytest.mark.parametrize("name", ["add", "E1", "N314", "neg_", "pi", "x_0"])
def test_candidates_may_use_any_variable_name(name: str) -> None:
    v, w = sympy.Symbol(name), sympy.Symbol("w")
    assert to_candidate_expr(2.0 * v * w - 0.5 * v) == 2.0 * v * w - 0.5 * v


def test_parser_reads_names_sympy_gives_a_meaning() -> None:
    names = ["S", "I", "R", "beta", "lambda", "pi", "E", "if", "oo"]
    expr = parse("-beta*S*I + lambda^2 - pi*E + if/oo", names)
    S, I, beta, lam, pi, E, if_, oo = (sympy.Symbol(n) for n in ["S", "I", "beta", "lambda", "pi", "E", "if", "oo"])
    assert expr == -beta * S * I + lam**2 - pi * E + if_ / oo
    system = parse_system("S: -h1(S, I)\nI: h1(S, I) - 0.1*I\nR: 0.1*I", ["S", "I", "R"])
    assert system["R"] == 0.1 * I


def test_prose_canonical_names_take_any_user_name() -> None:
    S, I = sympy.symbols("S I")
    exprs, mapping = canonicalize({"S": -0.4 * S * I, "I": 0.4 * S * I - 0.1 * I})
    assert mapping == {"S": "x_0", "I": "x_1"}
    back = decanonicalize(exprs, mapping)
    assert back["I"] == 0.4 * S * I - 0.1 * I


def test_symbolic_regression_with_a_keyword_and_a_sympy_name() -> None:
    data = _renamed(simulate("lotka_volterra", noise=0.0, seed=0), ["lambda", "I"])
    result = discover(data, method="sr", uncertainty=False)
    lam, I = sympy.symbols("lambda I")
    assert result.metrics["r2"] > 0.999, result.warnings
    assert sympy.expand(result.equations["lambda"]).free_symbols == {lam, I}


def test_a_result_with_hidden_function_names_as_variables_reads_back() -> None:
    data = _renamed(simulate("lotka_volterra", noise=0.0, seed=0), ["h1", "h2"])
    result = discover(data, method="sindy", uncertainty=False)
    back = DiscoveryResult.from_dict(json.loads(result.to_json()))
    assert back.equations["h1"] == result.equations["h1"]


def test_a_temperature_named_T_beside_time_t_is_a_state(tmp_path: Path) -> None:
    t = np.linspace(0.0, 1.0, 12)
    rows = "".join(f"{a},{1 - a},{300 + a}\n" for a in t)
    (tmp_path / "cstr.csv").write_text("t,C,T\n" + rows)
    data = load_trajectories(tmp_path / "cstr.csv")
    assert data.variables == ("C", "T")
    np.testing.assert_allclose(data[0].t, t)


def test_two_lower_case_time_columns_stay_ambiguous(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("t,time,x\n" + "".join(f"{a},{a},{a}\n" for a in range(12)))
    with pytest.raises(ValueError, match="expected a single time column"):
        load_trajectories(tmp_path / "d.csv")
