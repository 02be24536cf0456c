"""EquationDiscovery: the pipeline as a scikit-learn estimator, used the way a pysindy user would."""

from __future__ import annotations

import numpy as np
import pytest

from discovery import EquationDiscovery, SINDy, simulate
from discovery.errors import DataError, DiscoveryError


@pytest.fixture(scope="module")
def lv():
    return simulate("lotka_volterra")[0]


@pytest.fixture(scope="module")
def fitted(lv):
    return EquationDiscovery(method="sindy").fit(lv.x, t=lv.t, feature_names=["N", "P"])


def test_fit_returns_self_and_learns_underscored_attributes(fitted):
    assert isinstance(fitted, EquationDiscovery)
    assert list(fitted.feature_names_in_) == ["N", "P"] and fitted.n_features_in_ == 2
    assert set(fitted.equations_) == {"N", "P"} and fitted.result_.variables == ("N", "P")


def test_print_and_equations_read_like_pysindy(fitted, capsys):
    fitted.print()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("(N)' = ") and out[1].startswith("(P)' = ") and "N*P" in out[0]
    assert fitted.equations() == [line.split(" = ", 1)[1] for line in out]


def test_predict_simulate_and_score(fitted, lv):
    dxdt = fitted.predict(lv.x[:3])
    n, p = lv.x[0]
    np.testing.assert_allclose(dxdt[0], [n - 0.1 * n * p, 0.075 * n * p - 1.5 * p], rtol=1e-3)
    sim = fitted.simulate(lv.x[0], lv.t)
    assert sim.shape == lv.x.shape
    assert fitted.score(lv.x, t=lv.t) > 0.99


def test_time_step_and_several_trajectories():
    data = simulate("lotka_volterra", x0=np.array([[10.0, 5.0], [6.0, 8.0]]), t=np.arange(0, 20, 0.05))
    model = EquationDiscovery(method=SINDy(degree=2), refine=False).fit([tr.x for tr in data], t=0.05)
    assert model.score([tr.x for tr in data], t=0.05) > 0.99
    assert list(model.feature_names_in_) == ["x0", "x1"]


def test_bad_parameters_fail_at_fit_before_the_data(lv):
    with pytest.raises(DiscoveryError, match="sindy.degree"):
        EquationDiscovery(method="sindy", method_options={"sindy": {"degree": 0}}).fit(lv.x, t=lv.t)
    with pytest.raises(DataError, match="feature_names"):
        EquationDiscovery(method="sindy").fit(lv.x, t=lv.t, feature_names=["a"])
    with pytest.raises(DataError, match="time step"):
        EquationDiscovery(method="sindy").fit(lv.x, t=-1.0)


def test_unfitted_use_raises_not_fitted(lv):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        EquationDiscovery().predict(lv.x)


@pytest.mark.parametrize("check", [
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_no_attributes_set_in_init",
    "check_estimators_unfitted",
])
def test_scikit_learn_checks_that_apply(check):
    """The subset of scikit-learn's ``check_estimator`` that applies to an estimator whose ``fit`` takes states and
    times (not features and targets): construction, the parameter protocol, and nothing learned in ``__init__``.
    The checks that fit on random features and targets do not apply (``t`` is not a target)."""
    from sklearn.utils import estimator_checks

    getattr(estimator_checks, check)("EquationDiscovery", EquationDiscovery())


def test_sklearn_clone_and_repr():
    from sklearn.base import clone

    est = EquationDiscovery(method="sindy", seed=3)
    again = clone(est)
    assert again.get_params() == est.get_params() and again is not est
    assert repr(est) == "EquationDiscovery(method='sindy', seed=3)"
