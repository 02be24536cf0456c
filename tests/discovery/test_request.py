"""One request for trajectory and field files (discovery/request.py): which option goes to which kind of file,
what is refused now, what fails one file, what is only noted."""

from __future__ import annotations

import pickle

import pytest

from discovery.errors import DiscoveryError
from discovery.pipeline.settings import build_settings
from discovery.request import as_request, build_request, pde_names


@pytest.mark.parametrize("known, names", [
    (["u = h1(u, u_x) + 0.1*u_xx"], ["u_x", "u_xx"]),
    ({"u_t": "h1(u) + 0.1*u"}, ["u_t"]),                      # a PDE marked by its left side
    ("h1(u, u_x) + 0.1*u_xx", ["u_x", "u_xx"]),               # one formula without a left side
    (["du/dt = h1(u, v) + u_xx", "v = v_yy - h1(u, v)"], ["u_xx", "v_yy"]),
    (["x = 0.5*x - h1(x, y)", "y = -0.3*y + h2(x, y)"], []),
    (["x_y = -x_y + h1(x, x_y)", "x = x_y"], []),              # a state variable named like a derivative
    (["a = h1(a) + k_x"], []),                                 # k is not a field on a left side
    (None, []),
])
def test_what_marks_a_known_model_as_a_pde(known, names):
    assert pde_names(known) == names


def test_a_field_request_goes_to_fields_and_fails_trajectories_in_one_line():
    request = build_request("pinn", known=["u = h1(u, u_x) + 0.1*u_xx"], operators="fno",
                            fno={"horizon": 0.5, "training": {"steps": 3}}, pinn={"sr_time_budget_s": 0},
                            seed=3, device="cpu", derivative="spline")
    field = request.for_kind("field")
    assert (field.method, field.known, field.operators, field.seed, field.device) == (
        "pinn", ["u = h1(u, u_x) + 0.1*u_xx"], ("fno",), 3, "cpu")
    assert field.fno == {"horizon": 0.5, "training": {"steps": 3}} and field.pinn == {"sr_time_budget_s": 0}
    with pytest.raises(DiscoveryError, match=r"^the known model is a PDE \(it uses u_x\), and this file holds "
                                             r"trajectories"):
        request.for_kind("trajectories")
    assert request.note("field") == "not used for a field: derivative (it is for trajectories)"
    assert pickle.loads(pickle.dumps(request)) == request  # it travels to worker processes


def test_a_mixed_batch_splits_the_operators_and_notes_what_each_kind_does_not_read():
    request = build_request("auto", operators="deeponet,fno", sindy={"ensemble": True}, inputs="a")
    assert request.for_kind("trajectories").operators == ("deeponet",)
    assert request.for_kind("field").operators == ("fno",)
    assert request.note("trajectories") == "not used for trajectories: operator fno (it is for fields)"
    assert request.note("field") == ("not used for a field: operator deeponet, inputs, sindy options (they are for "
                                     "trajectories)")


@pytest.mark.parametrize("options, refused, line", [
    ({"operators": "fno"}, "trajectories", ("operator 'fno' forecasts fields, and this file holds trajectories; ask "
                                            "for deeponet as well (operators deeponet,fno) or drop it")),
    ({"operators": "deeponet"}, "field", ("operator 'deeponet' is for trajectories, and this file is a field; ask "
                                          "for fno as well (operators deeponet,fno) or drop it")),
    ({"method": "sparse"}, "trajectories", "method 'sparse' is for fields, and this file holds trajectories"),
    ({"method": "sindy"}, "field", "unknown PDE method 'sindy'; valid: auto, sparse, pinn (sindy is for trajectories)"),
    ({"known": ["x = 0.5*x - h1(x, y)", "y = -y + h2(x, y)"]}, "field",
     "the known model names no spatial derivative (such as u_x), so it was read as one of trajectories"),
    ({"method": "pinn"}, "field", "method 'pinn' on a field needs a partly known PDE"),
])
def test_a_kind_the_request_cannot_serve_gets_one_line(options, refused, line):
    request = build_request(**options)
    served = "field" if refused == "trajectories" else "trajectories"
    assert request.for_kind(served) is not None
    with pytest.raises(DiscoveryError) as exc:
        request.for_kind(refused)
    assert str(exc.value).startswith(line) and "\n" not in str(exc.value)


@pytest.mark.parametrize("options, message", [
    ({"method": "magic"}, "unknown method 'magic'; valid methods: auto, sindy"),
    ({"method": "sindy,sparse"}, "method 'sparse' is for fields, which take one method"),
    ({"operators": "bogus"}, "unknown operator 'bogus'; valid: deeponet (trajectories), fno (fields)"),
    ({"operators": "fno", "fno": {"horizon": 0}}, "fno.horizon: expected"),
    ({"fno": {"horizon": 1}}, "fno options were given but no FNO forecast was asked for"),
    ({"method": "sparse", "known": "u_t = h1(u) + u_xx"}, "known= and pinn= are read by method 'pinn' only"),
    ({"method": "pinn", "known": ["u = h1(u, u_x) + 0.1*u_xxxxx"]}, "known PDE, equation for u_t: unknown name"),
    ({"method": "pinn", "known": ["u = h1(u, u_x)"], "pinn": {"max_degree": 9}}, "pinn.max_degree"),
    ({"method": "sindy", "operators": "fno"}, "this request fits no file: for trajectories, operator 'fno'"),
    ({"method": "sparse", "sindy": {"bogus": 1}}, "sindy: unknown option(s) 'bogus'"),
])
def test_an_option_wrong_whatever_the_file_is_refused_before_any_file(options, message):
    with pytest.raises(DiscoveryError) as exc:
        build_request(**options)
    assert str(exc.value).startswith(message), str(exc.value)


def test_a_request_for_trajectories_alone_gives_a_field_its_method_seed_and_device():
    request = as_request(build_settings("auto", seed=4, device="cpu", derivative="spline"))
    field = request.for_kind("field")
    assert (field.method, field.seed, field.device, field.operators) == ("auto", 4, "cpu", ())
    assert request.note("field") == "not used for a field: derivative (it is for trajectories)"
    with pytest.raises(DiscoveryError, match="^unknown PDE method 'sindy'"):
        as_request(build_settings("sindy")).for_kind("field")


def test_the_examples_in_the_docstrings_run():
    import doctest

    import discovery.fields.request as field_module
    import discovery.request as module

    assert doctest.testmod(module).failed == 0 and doctest.testmod(field_module).failed == 0


def test_a_known_pde_inside_the_pinn_options_routes_them_to_fields():
    request = build_request("pinn", pinn={"known": ["u_t = h1(u, u_x) + 0.1*u_xx"], "sr_time_budget_s": 0})
    assert request.for_kind("field").pinn == {"known": ["u_t = h1(u, u_x) + 0.1*u_xx"], "sr_time_budget_s": 0}
    with pytest.raises(DiscoveryError, match="known model is a PDE"):
        request.for_kind("trajectories")
