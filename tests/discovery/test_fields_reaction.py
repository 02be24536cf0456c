"""Non-polynomial reaction terms of PDEs (discovery/fields/reaction.py): Monod and exponential kinetics come out
in their own form rather than as the cubic that imitates them; the zoo's polynomial reactions stay as they are."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from discovery.fields import FieldSettings, discover_field, simulate_zoo
from discovery.fields.library import build_library
from discovery.fields.reaction import formula_size
from discovery.fields.simulate import simulate_pde
from discovery.fields.strong import strong_columns, strong_system
from discovery.fields.weak import weak_columns, weak_system
from discovery.terms import term_set

u, u_xx = sympy.symbols("u u_xx")


def _field(rhs: sympy.Expr, n: int = 96, noise: float = 0.0, seed: int = 0):
    x = np.linspace(0, 2 * np.pi, n, endpoint=False)
    t = np.linspace(0, 8, n)
    field = simulate_pde({"u": rhs}, {"u": 1.5 + 0.8 * np.sin(x) + 0.4 * np.cos(3 * x)}, t, {"x": x})
    if noise:
        values = field.values["u"]
        field.values["u"] = values + noise * values.std() * np.random.default_rng(seed).standard_normal(values.shape)
    return field


def _skeleton(expr: sympy.Expr) -> set:
    """Additive terms with every number replaced by its sign (``2.01*u/(u + 0.99)`` -> ``u/(u + 1)``)."""
    out = set()
    for term in sympy.Add.make_args(sympy.expand(expr)):
        _, rest = term.as_coeff_Mul()
        out.add(rest.xreplace({f: sympy.Integer(1 if f > 0 else -1) for f in rest.atoms(sympy.Float)}))
    return out


def test_formula_size_counts_terms_and_non_polynomial_operations():
    assert formula_size(2 * u / (1 + u) - 0.5 * u) == 3
    assert formula_size(u - u**3) == 2
    assert formula_size(0.5 * sympy.exp(-u)) == 2


def test_columns_of_new_terms_match_the_library_rows():
    field = _field(0.05 * u_xx + 2 * u / (1 + u) - 0.5 * u, n=48)
    library = build_library(("u",), ("x",), 3, 2)
    data = field.stack()
    j = next(i for i, t in enumerate(library) if t.powers == (2,) and t.order == 0)  # u^2
    theta_w, _ = weak_system(data, field.dt, [field.spacing("x")], [True], library)
    assert np.allclose(weak_columns(data**2, field.dt, [field.spacing("x")], [True], library)[:, 0], theta_w[:, j])
    theta_s, _ = strong_system(data, field.dt, [field.spacing("x")], [True], library)
    assert np.allclose(strong_columns(data**2, [True])[:, 0], theta_s[:, j])


def test_monod_kinetics_clean_is_found_in_its_own_form():
    truth = 0.05 * u_xx + 2 * u / (1 + u) - 0.5 * u
    result = discover_field(_field(truth))
    found = result.equations["u"]
    assert result.best.method == "pde-sr"
    assert _skeleton(found) == _skeleton(truth)
    k = [d for d in found.atoms(sympy.Add) if d.has(u) and len(d.args) == 2][0].as_coeff_Add()[0]
    assert abs(float(k) - 1.0) < 0.01  # u/(u + 1)
    assert result.metrics["rel_l2"] < 1e-3


def test_exponential_kinetics_at_one_percent_noise_keeps_its_exp_term():
    truth = 0.03 * u_xx + 0.5 * sympy.exp(-u) - 0.2 * u
    result = discover_field(_field(truth, n=128, noise=0.01))
    found = result.equations["u"]
    assert _skeleton(found) == _skeleton(truth), found
    inner = [e.args[0] for e in found.atoms(sympy.exp)][0]
    assert abs(float(inner.as_coeff_Mul()[0]) + 1.0) < 0.05


def test_polynomial_reactions_of_the_zoo_stay_polynomial():
    field = simulate_zoo("fisher_kpp", grid=(64, 64), seed=1)
    result = discover_field(field)
    assert result.best.method == "pde-sparse"
    assert term_set(result.equations["u"]) == term_set(sympy.sympify("u_xx + u - u**2", locals={"u_xx": u_xx}))


def test_the_search_can_be_turned_off(monkeypatch):
    import discovery.fields.reaction as reaction

    def boom(*args, **kwargs):
        raise AssertionError("the reaction search ran")

    monkeypatch.setattr(reaction, "reaction_proposals", boom)
    result = discover_field(_field(0.05 * u_xx + 2 * u / (1 + u) - 0.5 * u, n=48),
                            settings=FieldSettings(reaction_time_s=0))
    assert result.best.method == "pde-sparse"
    with pytest.raises(Exception, match="reaction_time_s"):
        FieldSettings(reaction_time_s=-1)


def test_the_pde_benchmark_judges_terms_with_inner_constants_by_their_skeleton():
    from discovery.bench.pde import coefficient_error, same_law

    truth = {"u": 0.05 * u_xx + 2 * u / (1 + u) - 0.5 * u}
    found = {"u": 0.0501 * u_xx + 2.01 * u / (u + 1.01) - 0.502 * u}
    values = {"u": np.linspace(0.5, 2.5, 50)}
    assert same_law(found, truth)
    assert not same_law({"u": 0.05 * u_xx + 0.9 * u - 0.2 * u**2}, truth)
    assert 1e-3 < coefficient_error(found, truth, values) < 0.01
    assert coefficient_error({"u": 0.05 * u_xx - 0.5 * u}, truth, values) == float("inf")


def test_a_sine_reaction_the_polynomial_library_cannot_imitate_is_found_with_its_diffusion():
    """``u_t = 0.1*u_xx + sin(u)`` over u in [-2, 3]: the sparse model loses ``u_xx`` to derivative terms that
    imitate the reaction; the reaction search chooses the derivative terms again and finds both."""
    truth = 0.1 * u_xx + sympy.sin(u)
    x = np.linspace(0, 2 * np.pi, 128, endpoint=False)
    field = simulate_pde({"u": truth}, {"u": 1.0 + 1.5 * np.sin(x) + 0.5 * np.cos(2 * x)}, np.linspace(0, 3, 128),
                         {"x": x})
    result = discover_field(field)
    assert _skeleton(result.equations["u"]) == _skeleton(truth), result.equations
    assert result.metrics["rel_l2"] < 1e-3
