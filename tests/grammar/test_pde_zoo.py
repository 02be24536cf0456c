"""The PDE zoo: consistency of every entry, derivative naming, parameters."""

from __future__ import annotations

import pytest
import sympy

from grammar.errors import GrammarError
from grammar.pde_zoo import (
    BOUNDARIES,
    PDE_ZOO,
    PDESystem,
    check_field_name,
    derivative_name,
    derivative_names,
    get_pde,
    list_pdes,
    parse_derivative_name,
)

REQUIRED = ("heat", "advection_diffusion", "burgers", "kdv", "kuramoto_sivashinsky", "allen_cahn", "fisher_kpp")


def test_zoo_has_the_required_equations():
    for name in REQUIRED:
        assert get_pde(name).dim == 1
    assert any(len(s.fields) == 2 for s in PDE_ZOO.values()), "a two-species reaction-diffusion system"
    assert list_pdes(dim=2), "a 2-D system"
    assert set(list_pdes(1)) | set(list_pdes(2)) == set(PDE_ZOO)


@pytest.mark.parametrize("name", sorted(PDE_ZOO))
def test_entry_is_consistent(name):
    s = get_pde(name)
    assert s.boundary in BOUNDARIES
    rhs = s.rhs()
    assert set(rhs) == set(s.fields)
    allowed = {n for n in derivative_names(s.fields, s.axes, 4)}
    for f, e in rhs.items():
        assert e.free_symbols, f"{name}: {f}_t has no terms"
        assert {sym.name for sym in e.free_symbols} <= allowed, f"{name}: parameters left in {e}"
    assert 1 <= s.max_order <= 4
    for p, (lo, hi) in s.param_ranges.items():
        assert lo < s.params[p] < hi


def test_known_equations_and_parameters():
    u, u_x, u_xx, u_xxx, u_xxxx = sympy.symbols("u u_x u_xx u_xxx u_xxxx")
    assert get_pde("burgers").rhs() == {"u": -u * u_x + sympy.Float(0.1) * u_xx}
    assert get_pde("kuramoto_sivashinsky").rhs()["u"] == -u * u_x - u_xx - u_xxxx
    assert get_pde("kdv").max_order == 3
    assert get_pde("burgers").rhs({"nu": 0.2})["u"].coeff(u_xx) == pytest.approx(0.2)
    with pytest.raises(GrammarError, match="unknown parameter"):
        get_pde("burgers").rhs({"mu": 1.0})
    with pytest.raises(GrammarError, match="unknown PDE 'nope'; known: heat"):
        get_pde("nope")


def test_derivative_names_round_trip():
    assert derivative_name("u", (0,)) == "u"
    assert derivative_name("v", (1, 2)) == "v_xyy"
    assert parse_derivative_name("u_xxx", ("u",)) == ("u", (3,))
    assert parse_derivative_name("S_xy", ("S", "I"), ("x", "y")) == ("S", (1, 1))
    assert parse_derivative_name("u_yx", ("u",), ("x", "y")) is None  # axes must be sorted
    assert parse_derivative_name("w_x", ("u",)) is None
    assert parse_derivative_name("u_q", ("u",)) is None
    assert derivative_names(["u"], ["x", "y"], 2) == ["u", "u_x", "u_y", "u_xx", "u_xy", "u_yy"]


@pytest.mark.parametrize("bad", ["u_x", "t", "x", "2u", "", "u-v"])
def test_bad_field_names_are_refused(bad):
    with pytest.raises(GrammarError, match="not usable"):
        check_field_name(bad)


def test_invalid_entry_is_refused():
    u_xx = sympy.Symbol("u_xx")
    with pytest.raises(GrammarError, match="unknown symbols"):
        PDESystem("bad", "bad", ("u",), ("x",), (u_xx + sympy.Symbol("q"),), {}, {}, ((0.0, 1.0),), "periodic",
                  (0.0, 1.0), (32, 32), "fourier", "")
    with pytest.raises(GrammarError, match="boundary"):
        PDESystem("bad", "bad", ("u",), ("x",), (u_xx,), {}, {}, ((0.0, 1.0),), "robin", (0.0, 1.0), (32, 32),
                  "fourier", "")
