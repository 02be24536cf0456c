"""PDE discovery at toy size: heat and Burgers on clean fields, the weak form on a noisy one, result exports."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from discovery.errors import DataError, DiscoveryError
from discovery.fields import FieldSettings, discover_field, parse_field_equations, simulate_zoo
from discovery.fields.library import build_library
from discovery.fields.regression import sparsity_path
from discovery.fields.weak import weak_system
from discovery.terms import term_set
from grammar.pde_zoo import get_pde


def _coef_error(found: dict, truth: dict) -> float:
    worst = 0.0
    for f, expr in truth.items():
        got = sympy.expand(found[f]).as_coefficients_dict()
        for term, c in sympy.expand(expr).as_coefficients_dict().items():
            worst = max(worst, abs(float(got.get(term, 0.0)) / float(c) - 1.0))
    return worst


@pytest.fixture(scope="module")
def burgers_result():
    return discover_field(simulate_zoo("burgers", grid=(48, 64), seed=1))


def test_heat_clean_is_recovered_exactly():
    truth = get_pde("heat").rhs()
    result = discover_field(simulate_zoo("heat", grid=(40, 48), seed=1))
    assert term_set(result.equations["u"]) == term_set(truth["u"])
    assert _coef_error(result.equations, truth) < 1e-3
    assert result.metrics["rel_l2"] < 1e-3


def test_burgers_clean_is_recovered_exactly(burgers_result):
    truth = get_pde("burgers").rhs()
    assert term_set(burgers_result.equations["u"]) == term_set(truth["u"])
    assert _coef_error(burgers_result.equations, truth) < 1e-3
    scores = [c.metrics["score"] for c in burgers_result.candidates]
    assert burgers_result.candidates[0].metrics["n_terms"] == 2 and len(scores) >= 2


def test_weak_form_recovers_burgers_from_a_noisy_field():
    field = simulate_zoo("burgers", grid=(64, 64), seed=1, noise=0.05, noise_seed=7)
    truth = get_pde("burgers").rhs()
    # the weak form alone, by regression: the true support is on the path with accurate constants
    data = field.stack()
    library = build_library(("u",), ("x",), 3)
    theta, target = weak_system(data, field.dt, [field.spacing("x")], [True], library)
    two = [fit for fit in sparsity_path(theta, target[:, 0]) if len(fit.support) == 2][0]
    labels = {library[j].label_for(("u",), ("x",)) for j in two.support}
    assert labels == {"(u^2)_x", "u_xx"}
    # and the whole method selects it
    result = discover_field(field)
    assert result.noise["u"] == pytest.approx(0.05, rel=0.3)
    assert term_set(result.equations["u"]) == term_set(truth["u"])
    assert _coef_error(result.equations, truth) < 0.05


def test_result_exports(burgers_result, tmp_path):
    r = burgers_result
    d = json.loads(r.to_json(tmp_path / "out.json"))
    assert d["kind"] == "field" and d["variables"] == ["u"] and d["axes"] == ["x"] and d["periodic"] == {"x": True}
    assert json.loads((tmp_path / "out.json").read_text()) == d
    back = parse_field_equations(d["equations"], ["u"], ["x"])
    got, want = back["u"].as_coefficients_dict(), r.equations["u"].as_coefficients_dict()
    assert set(got) == set(want) and all(float(got[k]) == pytest.approx(float(want[k]), rel=1e-12) for k in want)
    assert {t["term"] for t in d["terms"]["u"]} == {"(u^2)_x", "u_xx"}
    assert r.latex().startswith(r"\frac{\partial u}{\partial t} = ") and "u_{xx}" in r.latex()
    # the numpy right-hand side and the standalone source agree with the formula on a periodic grid
    x = np.linspace(-8, 8, 64, endpoint=False)
    state = np.exp(-(x**2))[None]
    exact = -state[0] * (-2 * x * state[0]) * 1.0 + 0.1 * (4 * x**2 - 2) * state[0]
    fast = r.rhs_numpy()(state)[0]
    np.testing.assert_allclose(fast, exact, atol=2e-3 * np.abs(exact).max())
    namespace: dict = {}
    exec(r.python_source(), namespace)
    np.testing.assert_allclose(namespace["rhs"](state, spacing=(x[1] - x[0],))[0], fast, atol=1e-9)
    assert "re-simulation rel. L2" in r.summary()


def test_bad_requests_are_one_line():
    with pytest.raises(DiscoveryError, match="unknown PDE method 'fno'; valid: auto, sparse"):
        discover_field(simulate_zoo("heat", grid=(16, 16)), method="fno")
    with pytest.raises(DiscoveryError, match="invalid field discovery option"):
        FieldSettings(max_terms=0)
    with pytest.raises(DataError, match="too few points along 't'"):
        discover_field(simulate_zoo("heat", grid=(8, 32)))


def test_command_line_simulates_and_validates_fields_and_discover_dispatches(tmp_path, capsys):
    from discovery import discover
    from discovery.cli import main
    from discovery.fields import FieldResult, load_field

    out = tmp_path / "field.npz"
    assert main(["simulate", "heat", "--grid", "24,32", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert load_field(out).shape == (24, 32)
    assert main(["validate", str(out)]) == 0
    assert "ok: field.npz: 1 field (u) on t (24 points" in capsys.readouterr().out
    assert main(["simulate", "burgers", "--grid", "8", "--out", str(tmp_path / "bad.npz")]) == 2
    assert "--grid needs 2 sizes" in capsys.readouterr().err
    result = discover(out)
    assert isinstance(result, FieldResult) and term_set(result.equations["u"]) == {sympy.Symbol("u_xx")}
