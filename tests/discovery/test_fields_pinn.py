"""The PINN hidden-term method on fields: the known PDE, distillation, and Burgers' hidden term recovered."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from discovery.errors import DiscoveryError
from discovery.fields import discover_field, parse_field_known, simulate_zoo
from discovery.fields.pinn import refit_constants, sparse_formulas
from discovery.terms import term_set

u, u_x, u_xx = sympy.symbols("u u_x u_xx")

# toy size: a 32 x 64 Burgers field before the shock steepens, sparse distillation only (no SR time)
TOY = {"sr_time_budget_s": 0.0, "training": {"warmup_steps": 800, "hidden_steps": 300, "adam_steps": 1200,
                                             "batch_data": 512, "n_collocation": 512}}


def test_burgers_hidden_term_is_recovered_exactly():
    field = simulate_zoo("burgers", grid=(32, 64), t_span=(0.0, 4.0), seed=0)
    result = discover_field(field, method="pinn", known="h1(u, u_x) + 0.1*u_xx", pinn=TOY, device="cpu", seed=0)
    best = result.best
    assert result.method == "pde-pinn" and best.form == "pinn"
    assert term_set(sympy.sympify(best.info["hidden"]["h1"])) == {u * u_x}  # h1 = c * u * u_x, nothing else
    assert term_set(result.equations["u"]) == {u * u_x, u_xx}
    coef = float(sympy.expand(result.equations["u"]).coeff(u * u_x))
    assert abs(coef + 1.0) < 0.1
    assert result.metrics["rel_l2"] < 0.05  # the completed PDE re-simulates the field
    d = result.to_dict()
    assert d["method"] == "pde-pinn" and d["candidates"][0]["info"]["hidden"]["h1"]
    assert sympy.sympify(d["candidates"][0]["info"]["known"]["u"]).has(sympy.Function("h1")(u, u_x))


def test_known_pde_forms():
    one = parse_field_known("h1(u, u_x) + 0.1*u_xx", ("u",), ("x",))
    assert one.hidden == {"h1": ("u", "u_x")} and one.symbols == ("u", "u_x", "u_xx")
    assert one.derivatives() == [(0, (0,)), (0, (1,)), (0, (2,))] and one.hidden_indices() == [(0, 1)]
    two = parse_field_known(["u_t = h1(u, v) + u_xx", "dv/dt = 0.5*v_xx - h1(u, v)"], ("u", "v"), ("x",))
    assert two.hidden == {"h1": ("u", "v")} and set(two.symbols) == {"u", "v", "u_xx", "v_xx"}
    assert parse_field_known({"u": "h2(u_xy) + u_yy"}, ("u",), ("x", "y")).hidden == {"h2": ("u_xy",)}
    assert one.substitute({"h1": -u * u_x})["u"] == -u * u_x + sympy.Float(0.1) * u_xx


@pytest.mark.parametrize("known, match", [
    ("0.1*u_xx", "no hidden term"),
    ("h1(u, w) + u_xx", "unknown name"),
    ("h1(u, u_x) + ", "equation for u_t"),
    ({"v": "h1(u)"}, "'v' is not a field"),
    ("h1(u, u) + u_xx", "takes u twice"),
])
def test_bad_known_pde_is_one_line(known, match):
    with pytest.raises(DiscoveryError, match=match) as info:
        parse_field_known(known, ("u",), ("x",))
    assert "\n" not in str(info.value)


def test_method_errors_are_one_line_before_any_work():
    field = simulate_zoo("heat", grid=(24, 24))
    cases = [
        ({"method": "pinn"}, "needs a partly known PDE"),
        ({"method": "sparse", "known": "h1(u) + u_xx"}, "read by method 'pinn' only"),
        ({"method": "pinn", "known": "h1(u) + u_xx", "pinn": {"max_terms": 0}}, r"pinn.max_terms: expected"),
        ({"method": "pinn", "known": "h1(u) + u_xx", "pinn": {"training": {"steps": 3}}}, r"pinn.training: unknown"),
        ({"method": "pinn", "known": "u_t = h1(q)"}, "unknown name"),
        ({"method": "magic"}, "valid: auto, sparse, pinn"),
    ]
    for kwargs, match in cases:
        with pytest.raises(DiscoveryError, match=match):
            discover_field(field, **kwargs)


def test_sparse_distillation_and_refit():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    forms = sparse_formulas(X, -X[:, 0] * X[:, 1], ["u", "u_x"], max_degree=3, max_terms=3)
    assert term_set(forms[0]) == {u * u_x} and abs(float(forms[0].coeff(u * u_x)) + 1) < 1e-8
    # refit: the surrogate's u_t says the coefficient is -2, the distilled formula said -1
    known = parse_field_known("h1(u, u_x) + 0.1*u_xx", ("u",), ("x",))
    values = rng.uniform(-1, 1, size=(200, 3))  # columns u, u_x, u_xx
    rates = (-2.0 * values[:, 0] * values[:, 1] + 0.1 * values[:, 2])[:, None]
    refit = refit_constants(known, {"h1": -1.0 * u * u_x}, values, rates)
    assert abs(float(refit["h1"].coeff(u * u_x)) + 2.0) < 1e-8
    inside = parse_field_known("sin(h1(u)) + u_xx", ("u",), ("x",))  # not linear in the constants: no refit
    assert refit_constants(inside, {"h1": 2.0 * u}, values, rates) is None
