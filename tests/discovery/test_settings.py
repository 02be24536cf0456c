"""The one request object: every door builds it with build_settings, and a bad request fails before any work."""

from __future__ import annotations

import pickle
import time

import pytest

from discovery import discover
from discovery.errors import DiscoveryError
from discovery.methods import SINDy, SR, get_method
from discovery.methods.base import valid_methods
from discovery.options import build_options
from discovery.pipeline.scoring import ScoringConfig
from discovery.pipeline.settings import DiscoverySettings, build_settings


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(method=None), "valid methods"),
        (dict(method=""), "no method given"),
        (dict(method="sindy,auto"), "'auto' cannot be combined"),
        (dict(method="magic"), "unknown method 'magic'; valid methods"),
        (dict(sindy="ensemble"), "sindy: expected a mapping"),
        (dict(sindy={"bogus": 1}), "sindy: unknown option(s) 'bogus'; valid: libraries"),
        (dict(sindy={"thresholds": 5}), "sindy.thresholds: expected a list of 3 values"),
        (dict(sindy={"degree": "2"}), "sindy.degree: expected an integer"),
        (dict(sindy={"alpha": -1}), "sindy.alpha: expected a number >= 0"),
        (dict(sindy={"libraries": "poly"}), "sindy.libraries: expected a list of strings"),
        (dict(sindy={"max_rows": 0}), "sindy.max_rows: expected an integer >= 10"),
        (dict(sindy={"ensemble": "yes"}), "sindy.ensemble: expected true or false"),
        (dict(sr={"backend": "julia"}), "sr.backend: expected one of 'auto', 'pyoperon', 'pysr'"),
        (dict(sr={"operators": ["foo"]}), "sr.operators: expected names among"),
        (dict(operators="deeponet"), "settings.operators: expected a list of strings"),
        (dict(operators=["fno"]), "settings.operators: expected one of 'deeponet'"),
        (dict(refine="no"), "settings.refine: expected true or false"),
        (dict(max_refine=-1), "refinement.max_candidates: expected an integer >= 0"),
        (dict(prune_tolerances=(2.0,)), "refinement.prune_tolerances"),
        (dict(derivative="magic"), "settings.derivative: expected 'auto' or one of"),
        (dict(device="gpu"), "settings.device"),
        (dict(seed=-1), "settings.seed"),
        (dict(scoring={"rel_tol": "a"}), "scoring.rel_tol: expected a finite number"),
        (dict(bogus={}), "unknown option(s) 'bogus'; per-method options are keyed by a method name"),
        (dict(method="sindy", sr={"time_budget_s": 3}), "options for sr were given, but that method is not run"),
        (dict(method="sindy", known={"x": "x - h1(x)"}), "a known model is used only by method 'pinn'"),
        (dict(method="sindy", guess={"x": "x"}), "a guess is used only by method 'prose'"),
        (dict(known=["x = 0.5*x - h1(x, y)", "y = y +"]), "known model, equation for 'y'"),
        (dict(known={"x": "0.5*x"}), "no hidden term"),
        (dict(guess={"x": "x +* y"}), "guess, equation for 'x'"),
        (dict(method=[SINDy()], sindy={"degree": 2}), "options given both"),
        (dict(method=["sindy", "sindy"]), "given twice"),
    ],
)
def test_a_bad_request_is_one_line(kwargs, message):
    with pytest.raises(DiscoveryError) as info:
        build_settings(**kwargs)
    text = str(info.value)
    assert message in text and "\n" not in text and len(text) < 600


def test_unknown_option_fails_before_any_method_runs(lotka_volterra):
    started = time.monotonic()
    with pytest.raises(DiscoveryError, match="sindy: unknown option"):
        discover(lotka_volterra, "sr,sindy", sindy={"bogus": 1})
    assert time.monotonic() - started < 5  # sr (about 15 s) never started


def test_values_are_normalized_and_requests_compare_equal():
    a = build_settings("sindy,sr", sindy={"thresholds": [0.01, 0.5, 8]}, sr={"time_budget_s": 4})
    b = build_settings(["sindy", SR(time_budget_s=4.0)], sindy={"thresholds": (0.01, 0.5, 8)})
    assert a.methods == b.methods and a.to_dict() == b.to_dict()
    assert a.methods[0].options.thresholds == (0.01, 0.5, 8)
    assert a.method_label() == "sindy,sr" and not a.is_auto and build_settings().is_auto


def test_method_objects_are_strategies():
    method = SINDy(ensemble=True, degree=2)
    assert repr(method) == "SINDy(degree=2, ensemble=True)"
    assert method.options.degree == 2 and method.get_params() == {"degree": 2, "ensemble": True}
    assert pickle.loads(pickle.dumps(method)) == method
    assert get_method("sindy", degree=2) == SINDy(degree=2) != SINDy()
    assert build_settings(method).methods == (method,)


def test_auto_uses_the_methods_the_user_configured():
    s = build_settings("auto", sindy={"degree": 2})
    assert s.is_auto and s.configured == (SINDy(degree=2),)


def test_settings_pickle_for_batch_workers():
    s = build_settings("sindy", known=None, seed=3, scoring=ScoringConfig(rel_tol=0.4))
    again = pickle.loads(pickle.dumps(s))
    assert isinstance(again, DiscoverySettings) and again.to_dict() == s.to_dict()


def test_formulas_are_normalized_to_one_equation_per_variable():
    s = build_settings(known=["dx/dt = 0.5*x - h1(x, y)", "y' = -0.3*y + h2(x, y)"])
    assert dict(s.known) == {"x": "0.5*x - h1(x, y)", "y": "-0.3*y + h2(x, y)"}


def test_build_options_lists_valid_names_and_checks_nested_configs():
    with pytest.raises(DiscoveryError, match="scoring: unknown option"):
        build_options(ScoringConfig, {"nope": 1})
    assert build_options(ScoringConfig, {"rel_tol": 1}).rel_tol == 1.0
    assert "sindy" in valid_methods() and valid_methods().endswith("or 'auto'")


def test_settings_drive_discover(lotka_volterra):
    s = build_settings("sindy", refine=False)
    result = discover(lotka_volterra, settings=s)
    assert result.options["method"] == "sindy" and result.equations["x"] is not None
    with pytest.raises(DiscoveryError, match="not both"):
        discover(lotka_volterra, "sr", settings=s)
