"""The ODE zoo: completeness, consistency, grammar membership, parameter handling, prefix round trips."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import sympy

from grammar.errors import GrammarError
from grammar.operators import function_operator
from grammar.zoo import FAMILIES, ZOO, ODESystem, get_system, list_systems

PROSE_FAMILIES = (
    "thomas", "lorenz", "aizawa", "chen_lee", "dadras", "rossler", "halvorsen", "rabinovich_fabrikant", "sprott_b",
    "sprott_linz_f", "four_wing", "duffing", "lorenz96_4d", "lorenz96_5d", "double_pendulum",
)
CLASSICS = ("lotka_volterra", "van_der_pol", "fitzhugh_nagumo", "damped_pendulum", "sir", "brusselator", "logistic")

NAMES = sorted(ZOO)


def _grammar_violations(expr: sympy.Basic) -> list[str]:
    """Nodes of ``expr`` outside the grammar (arithmetic, integer/rational powers, the operator table)."""
    bad = []
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, (sympy.Add, sympy.Mul, sympy.Symbol)) or node.is_Number:
            continue
        if isinstance(node, sympy.Pow):
            if not node.exp.is_Rational:
                bad.append(f"non-rational exponent in {node}")
            continue
        try:
            function_operator(node)
        except GrammarError as exc:
            bad.append(str(exc))
    return bad


def test_zoo_holds_every_prose_family_and_the_classics() -> None:
    assert len(ZOO) >= 20
    assert set(PROSE_FAMILIES) <= set(ZOO)
    assert set(CLASSICS) <= set(ZOO)
    assert set(list_systems("prose")) == set(PROSE_FAMILIES)
    assert set(list_systems("prose")) | set(list_systems("classic")) == set(list_systems())
    assert list_systems() == list(ZOO)


@pytest.mark.parametrize("name", NAMES)
def test_system_is_consistent_and_inside_the_grammar(name: str) -> None:
    system = get_system(name)
    assert system.name == name and system.family in FAMILIES and system.title and system.description
    assert len(system.equations) == len(system.variables) == len(system.x0) == len(system.x0_range) == system.dim
    for value, (lo, hi) in zip(system.x0, system.x0_range):
        assert lo <= value <= hi
    for key, value in system.params.items():
        lo, hi = system.param_ranges[key]
        assert lo < hi and lo <= value <= hi, (key, value, (lo, hi))
    t0, t1 = system.t_span
    assert 200 <= (t1 - t0) / system.dt <= 2500  # a few hundred to a couple of thousand samples

    rhs = system.rhs()
    assert list(rhs) == list(system.variables)
    for var, expr in rhs.items():
        assert expr.free_symbols <= set(system.symbols), (var, expr)
        assert _grammar_violations(expr) == [], (var, expr)
    # every parameter matters: changing it changes some right-hand side at a generic state
    point = np.random.default_rng(0).uniform(0.3, 0.9, system.dim)
    base = _evaluate(system, rhs, point)
    for key, value in system.params.items():
        changed = _evaluate(system, system.rhs({**system.params, key: value * 1.5 + 0.1}), point)
        assert not np.allclose(changed, base), key


def _evaluate(system: ODESystem, rhs: dict[str, sympy.Expr], point: np.ndarray) -> np.ndarray:
    subs = dict(zip(system.symbols, point))
    return np.array([float(rhs[v].evalf(subs=subs)) for v in system.variables])


def test_rhs_substitutes_given_values() -> None:
    lorenz = get_system("lorenz")
    rhs = lorenz.rhs({"sigma": 2.0, "rho": 3.0, "beta": 4.0})
    x, y, z = lorenz.symbols
    assert sympy.simplify(rhs["x"] - 2.0 * (y - x)) == 0
    assert sympy.simplify(rhs["y"] - (x * (3.0 - z) - y)) == 0
    assert sympy.simplify(rhs["z"] - (x * y - 4.0 * z)) == 0


def test_rhs_names_missing_and_unknown_parameters() -> None:
    lorenz = get_system("lorenz")
    with pytest.raises(GrammarError, match=r"missing \['beta'\].*unknown \['kappa'\]"):
        lorenz.rhs({"sigma": 10.0, "rho": 28.0, "kappa": 1.0})
    with pytest.raises(GrammarError, match="finite"):
        lorenz.rhs({"sigma": float("nan"), "rho": 28.0, "beta": 1.0})


def test_unknown_system_lists_valid_names() -> None:
    with pytest.raises(GrammarError, match="lorenz") as info:
        get_system("lorenz63")
    assert isinstance(info.value, ValueError)
    assert all(name in str(info.value) for name in ZOO)
    with pytest.raises(GrammarError, match="family"):
        list_systems("exotic")


def test_inconsistent_system_is_refused() -> None:
    x, y, k = sympy.symbols("x y k")
    good = dict(
        name="toy", title="Toy", variables=("x", "y"), equations=(-k * x, x - y), params={"k": 1.0},
        param_ranges={"k": (0.9, 1.1)}, x0=(1.0, 0.0), x0_range=((0.0, 1.0), (0.0, 1.0)), t_span=(0.0, 1.0),
        dt=0.01, family="classic", description="toy",
    )
    assert ODESystem(**good).rhs() == {"x": -1.0 * x, "y": x - y}
    with pytest.raises(GrammarError, match="2 equations"):
        ODESystem(**{**good, "equations": (-k * x,)})
    with pytest.raises(GrammarError, match=r"unknown symbols \['q'\]"):
        ODESystem(**{**good, "equations": (-k * x, sympy.Symbol("q"))})
    with pytest.raises(GrammarError, match="param_ranges"):
        ODESystem(**{**good, "param_ranges": {}})
    with pytest.raises(GrammarError, match="not function names"):
        ODESystem(**{**good, "variables": ("x", "sin")})
    I = sympy.Symbol("I")  # sympy's name, the user's symbol
    assert ODESystem(**{**good, "variables": ("x", "I"), "equations": (-k * x, x - I)}).variables == ("x", "I")
    with pytest.raises(GrammarError, match="family"):
        ODESystem(**{**good, "family": "exotic"})


def test_systems_are_hashable_and_frozen() -> None:
    lorenz = get_system("lorenz")
    assert {lorenz: 1}[get_system("lorenz")] == 1
    with pytest.raises(AttributeError):
        lorenz.dt = 1.0  # type: ignore[misc]


def test_importing_the_zoo_does_not_import_torch() -> None:
    code = "import sys, grammar.zoo; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=".", capture_output=True).returncode == 0


@pytest.mark.skipif(importlib.util.find_spec("grammar.prefix") is None, reason="grammar.prefix is not written yet")
@pytest.mark.parametrize("name", NAMES)
def test_rhs_round_trips_through_prefix_tokens(name: str) -> None:
    from grammar.prefix import system_from_prefix, system_to_prefix

    system = get_system(name)
    exprs = [system.rhs()[v] for v in system.variables]
    decoded = system_from_prefix(system_to_prefix(exprs))
    assert len(decoded) == len(exprs)
    # constants keep 3 significant digits: compare values at states from the system's sampling box
    rng = np.random.default_rng(0)
    lo, hi = np.asarray(system.x0_range).T
    points = rng.uniform(lo - 0.5, hi + 0.5, size=(20, system.dim))
    syms = system.symbols
    for original, back in zip(exprs, decoded):
        assert back.free_symbols <= set(syms), back
        f = sympy.lambdify(syms, original, "numpy")
        g = sympy.lambdify(syms, back, "numpy")
        a = np.broadcast_to(f(*points.T), (20,))
        b = np.broadcast_to(g(*points.T), (20,))
        scale = 1.0 + np.abs(a).max()
        np.testing.assert_allclose(b, a, rtol=1e-2, atol=1e-2 * scale, err_msg=f"{original} -> {back}")
