"""The weak (integral) form of the ``sindy`` method: the system on exactly known trajectories, the window width,
recovery from noisy data, and when ``form="auto"`` uses it."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.base import MethodContext
from discovery.methods.sindy import SINDyMethod, fit_weak_sindy
from discovery.methods.weak_form import (
    WeakConfig,
    choose_half_width,
    wants_forms,
    weak_system,
)
from discovery.simulation import simulate
from discovery.terms import same_terms
from grammar.zoo import get_system


def _irregular(n: int, t_end: float, seed: int = 0) -> np.ndarray:
    steps = np.random.default_rng(seed).uniform(0.5, 1.5, n - 1)
    return np.concatenate([[0.0], np.cumsum(steps)]) * t_end / steps.sum()


@pytest.mark.parametrize("grid", ["uniform", "irregular"])
def test_exponential_decay_solves_the_weak_system(grid):
    t = np.linspace(0.0, 3.0, 601) if grid == "uniform" else _irregular(601, 3.0)
    x = np.exp(-2.0 * t)[:, None]  # x' = -2 x
    system = weak_system([t], [x], half_width=20)
    g = system.rows(np.hstack([np.ones_like(x), x]))  # library [1, x], shape (K, 2)
    assert system.n_rows == len(t) - 40
    np.testing.assert_allclose(g[:, 0], 1.0, rtol=1e-12)  # unit integral: the constant term's row is 1
    coef = np.linalg.lstsq(g, system.b, rcond=None)[0][:, 0]
    tol = 1e-10 if grid == "uniform" else 1e-4  # only the data's linear interpolation errs, and on a uniform grid
    # its error scales the two sides of the weak equation alike
    np.testing.assert_allclose(coef, [0.0, -2.0], atol=tol)
    np.testing.assert_allclose(g @ coef, system.b[:, 0], rtol=tol)


def test_windows_stay_inside_each_trajectory_and_skip_gaps():
    t1 = np.linspace(0.0, 1.0, 101)
    t2 = np.concatenate([np.linspace(0.0, 1.0, 60), np.linspace(1.5, 2.0, 30)])  # a gap of 50 steps
    xs = [np.sin(t1)[:, None], np.cos(t2)[:, None]]
    system = weak_system([t1, t2], xs, half_width=10)
    test = system.test.toarray()  # (K, 191)
    first, second = test[:, :101], test[:, 101:]
    assert not np.any((first != 0).any(axis=1) & (second != 0).any(axis=1))  # no window spans two trajectories
    gap = (second[:, 59] != 0) | (second[:, 60] != 0)  # a window around the gap holds both of its ends
    assert not np.any(gap & (second[:, 50] != 0) & (second[:, 65] != 0))
    assert system.n_rows == (101 - 20) + (60 - 20) + (30 - 20)


def test_noisier_data_gets_wider_windows():
    t = np.linspace(0.0, 20.0, 2001)
    clean = np.stack([np.sin(t), np.cos(1.3 * t)], axis=1)
    rng = np.random.default_rng(0)
    widths = [choose_half_width(t, clean + p * rng.standard_normal(clean.shape)) for p in (0.0, 0.001, 0.01, 0.05)]
    assert widths[0] == WeakConfig().min_half_width
    assert widths == sorted(widths) and widths[-1] > widths[0]


def test_too_short_for_a_window_is_one_clear_error():
    t = np.linspace(0.0, 1.0, 8)
    with pytest.raises(DiscoveryError, match="too short for one window.*form='strong'"):
        weak_system([t], [t[:, None]], half_width=5)


def test_weak_form_recovers_lotka_volterra_at_five_percent_noise():
    data = simulate("lotka_volterra", noise=0.05, seed=0)
    candidates = SINDyMethod(form="weak").propose(data, MethodContext(seed=0))
    first = candidates[0]
    assert first.info["label"] == "weak:best" and first.info["form"] == "weak"
    assert all(c.info["label"].startswith("weak:") for c in candidates)
    assert same_terms(first.equations, get_system("lotka_volterra").rhs())
    x, y = sympy.symbols("x y")
    assert float(first.equations["y"].coeff(x * y)) == pytest.approx(0.075, rel=0.05)


def test_weak_form_on_raw_samples_needs_no_derivative():
    t = np.linspace(0.0, 4.0, 400)
    rng = np.random.default_rng(1)
    x = (2.0 * np.exp(-0.5 * t) + 0.01 * rng.standard_normal(t.shape))[:, None]
    model = fit_weak_sindy(weak_system([t], [x]), ["a"])[0]
    assert [str(s) for s in model.equations["a"].free_symbols] == ["a"]
    assert float(model.equations["a"].coeff(sympy.Symbol("a"))) == pytest.approx(-0.5, rel=0.02)


def test_auto_form_adds_the_weak_form_on_noisy_data_only():
    clean = simulate("van_der_pol", noise=0.0)
    noisy = simulate("van_der_pol", noise=0.02, seed=0)
    assert wants_forms("auto", clean, 0.005) == (True, False)
    assert wants_forms("auto", noisy, 0.005) == (True, True)
    assert wants_forms("weak", clean, 0.005) == (False, True)
    assert wants_forms("both", clean, 0.005) == (True, True)
    with pytest.raises(DiscoveryError, match="sindy.form"):
        SINDyMethod(form="integral")
