"""Rational right-hand sides: the implicit (SINDy-PI) regression, its explicit libraries, and recoveries through the
``sindy`` method and ``discover``."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from discovery.data import Trajectories, Trajectory
from discovery.errors import DiscoveryError
from discovery.methods.base import MethodContext
from discovery.methods.rational import (
    RationalConfig,
    implicit_denominators,
    implicit_path,
    rational_libraries,
)
from discovery.methods.sindy import SINDyMethod
from discovery.methods.sindy_terms import ExpressionColumns, monomials
from discovery.simulation import integrate, lambdify_system


def _trajectory(equations: list[str], names: str, x0: list[float], t_end: float, dt: float,
                noise: float = 0.0, seed: int = 0) -> Trajectories:
    syms = sympy.symbols(names)
    exprs = [sympy.sympify(e, locals={str(s): s for s in syms}) for e in equations]
    t = np.arange(0.0, t_end + 0.5 * dt, dt)
    x = integrate(lambdify_system(exprs, [str(s) for s in syms]), np.asarray(x0, dtype=float), t)
    x = x + noise * x.std(axis=0) * np.random.default_rng(seed).standard_normal(x.shape)
    return Trajectories([str(s) for s in syms], [Trajectory(t, x)])


def _skeleton(expr: sympy.Expr) -> frozenset[sympy.Expr]:
    """The terms of ``expr`` with every number in them set to 1: ``0.49*x*y/(1.02*x + 1)`` -> ``x*y/(x + 1)``."""
    out = set()
    for term in sympy.Add.make_args(sympy.expand(sympy.expand_log(expr, force=True))):
        _, rest = term.as_independent(*term.free_symbols, as_Add=False)
        numbers = {a: sympy.Integer(1) for a in rest.atoms(sympy.Number) if not (a.is_Integer and abs(a) <= 4)}
        out.add(rest.xreplace(numbers))
    return frozenset(out)


def _same_skeleton(found: dict[str, sympy.Expr], truth: dict[str, str]) -> bool:
    return all(_skeleton(found[v]) == _skeleton(sympy.sympify(e, locals={n: sympy.Symbol(n) for n in found}))
               for v, e in truth.items())


def test_implicit_path_recovers_numerator_and_denominator_on_exact_data():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 3.0, size=(300, 2))
    dx = (x[:, 0] - 0.5 * x[:, 0] * x[:, 1]) / (1.0 + 0.8 * x[:, 1])  # (1 + 0.8 y) dx = x - 0.5 x y
    syms = sympy.symbols("x y")
    p_feats, q_feats = monomials(syms, 2), monomials(syms, 2, constant=False)
    theta_p = ExpressionColumns(p_feats, list(syms)).transform(x)
    theta_q = ExpressionColumns(q_feats, list(syms)).transform(x)
    points = implicit_path(theta_p, theta_q, dx, np.geomspace(2e-3, 0.5, 16))
    # rel_err comes from the Gram matrix (rss = yy - 2 c.b + c.G.c), so an exact support reads ~1e-7, not 0:
    # the floor is sqrt(eps * cond), and it moves with the BLAS; the nearest inexact support is at ~0.1
    exact = min((p for p in points if p.rel_err < 1e-6), key=lambda p: p.n_terms)
    labels = [str(f) for f in p_feats] + [f"Q:{f}" for f in q_feats]
    assert sorted(labels[j] for j in exact.support) == ["Q:y", "x", "x*y"]
    coef = {labels[j]: exact.coef[j] for j in exact.support}
    np.testing.assert_allclose([coef["x"], coef["x*y"], coef["Q:y"]], [1.0, -0.5, 0.8], rtol=1e-6)


def test_implicit_denominators_stay_positive_and_leave_polynomial_laws_alone():
    rng = np.random.default_rng(2)
    x = rng.uniform(0.2, 2.5, size=(400, 2))
    rational = x[:, 0] * x[:, 1] / (1.0 + 2.0 * x[:, 0]) - 0.3 * x[:, 1]
    q = implicit_denominators(x, rational, ["x", "y"])[0]
    assert q.free_symbols == {sympy.Symbol("x")}
    assert float(q.coeff(sympy.Symbol("x"))) == pytest.approx(2.0, rel=1e-3)
    polynomial = x[:, 0] - 0.1 * x[:, 0] * x[:, 1]
    assert implicit_denominators(x, polynomial, ["x", "y"]) == []


def test_rational_libraries_hold_the_polynomials_and_the_terms_over_q():
    rng = np.random.default_rng(3)
    x = rng.uniform(0.2, 2.5, size=(400, 2))
    dx = np.stack([x[:, 0] * x[:, 1] / (1.0 + x[:, 0]), -0.2 * x[:, 1]], axis=1)
    syms = list(sympy.symbols("x y"))
    poly = monomials(syms, 3)
    theta = ExpressionColumns(poly, syms).transform(x)
    libs = rational_libraries(x, dx, ["x", "y"], theta, poly)
    assert libs and all(d == 0 for _, _, d in libs)  # y' = -0.2 y is polynomial: no library for it
    lib, matrix, _ = libs[0]
    assert lib.features[: len(poly)] == poly and matrix.shape == (400, len(lib.features))
    np.testing.assert_allclose(matrix, lib.transform(x), rtol=1e-12)
    assert np.all(lib.costs[len(poly):] > 1.0) and np.all(lib.costs[: len(poly)] == 1.0)


def test_rational_config_refuses_bad_degrees():
    with pytest.raises(DiscoveryError, match="denominator_degree"):
        RationalConfig(denominator_degree=0)


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_sindy_proposes_rosenzweig_macarthur_in_holling_form(noise):
    truth = {"x": "x*(1 - x/3) - x*y/(1 + x)", "y": "0.5*x*y/(1 + x) - 0.2*y"}
    data = _trajectory(list(truth.values()), "x y", [1.0, 0.5], 100.0, 0.1, noise=noise)
    candidates = SINDyMethod().propose(data, MethodContext())
    assert _same_skeleton(candidates[0].equations, truth), candidates[0].equations


def test_rational_and_saturating_generators_can_be_turned_off():
    truth = {"x": "x*(1 - x/3) - x*y/(1 + x)", "y": "0.5*x*y/(1 + x) - 0.2*y"}
    data = _trajectory(list(truth.values()), "x y", [1.0, 0.5], 100.0, 0.1)
    candidates = SINDyMethod(rational=False, saturating=False).propose(data, MethodContext())
    assert all(e.is_polynomial(*sympy.symbols("x y")) for c in candidates for e in c.equations.values()
               if not e.has(sympy.sin, sympy.cos))
    assert not any(c.info["label"] in ("rational", "saturating") for c in candidates)


def test_discover_with_sindy_returns_a_holling_predator_prey_after_refinement():
    from discovery import discover

    truth = {"x": "x*(1 - x/3) - x*y/(1 + x)", "y": "0.5*x*y/(1 + x) - 0.2*y"}
    data = _trajectory(list(truth.values()), "x y", [1.0, 0.5], 60.0, 0.1, noise=0.01)
    result = discover(data, method="sindy")
    assert _same_skeleton(result.equations, truth), result.equations
    x = sympy.Symbol("x")
    denominators = [f.base for e in result.equations.values() for f in e.atoms(sympy.Pow) if f.exp == -1]
    half_saturation = [float(b.subs(x, 0)) / float(b.coeff(x)) for b in denominators]  # 1 + b*x or k + x: k = 1
    assert half_saturation and all(k == pytest.approx(1.0, rel=0.05) for k in half_saturation), denominators
