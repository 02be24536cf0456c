"""Tests of discovery.derivatives: exactness, accuracy under noise, irregular grids, shapes and errors."""

from __future__ import annotations

import numpy as np
import pytest

from discovery.derivatives import DERIVATIVE_METHODS, auto_method, central_difference, differentiate, estimate_noise
from discovery.derivatives._checks import merge_close_samples
from discovery.derivatives._reinsch import SplineSystem, evaluate
from discovery.derivatives.local_polynomial import candidate_windows, local_polynomial_fit
from discovery.errors import DataError, DiscoveryError

METHODS = sorted(DERIVATIVE_METHODS)
SMOOTHING = ["smoothed_fd", "savgol", "spline", "tv"]


def make_grid(kind: str, n: int, t1: float, seed: int) -> np.ndarray:
    """``uniform``, ``jittered`` (inner samples moved by up to 40% of a step) or ``random`` (sorted draws)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, t1, n)
    if kind == "jittered":
        t[1:-1] += rng.uniform(-0.4, 0.4, n - 2) * t1 / (n - 1)
    elif kind == "random":
        t = np.concatenate([[0.0], np.sort(rng.uniform(0.0, t1, n - 2)), [t1]])
    return t


def relative_rms(est: np.ndarray, true: np.ndarray) -> float:
    return float(np.sqrt(np.mean((est - true) ** 2)) / np.sqrt(np.mean(true**2)))


# ---------------------------------------------------------------- exactness


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finite_difference_is_exact_for_quadratics_on_irregular_grids(seed):
    t = make_grid("random", 30, 3.0, seed)
    x = np.stack([1.0 - 2.0 * t + 0.7 * t**2, 5.0 + 0.0 * t], axis=1)  # (N, 2)
    _, dxdt = differentiate(t, x, "finite_difference")
    np.testing.assert_allclose(dxdt[:, 0], -2.0 + 1.4 * t, rtol=0, atol=1e-9)
    np.testing.assert_allclose(dxdt[:, 1], 0.0, atol=0)


def test_central_difference_has_second_order_error_at_the_ends_too():
    errors = []
    for n in (20, 40, 80):
        t = make_grid("jittered", n, 2.0, 0)
        errors.append(np.max(np.abs(central_difference(t, np.sin(t)[:, None])[:, 0] - np.cos(t))))
    assert errors[0] / errors[1] > 3.0 and errors[1] / errors[2] > 3.0  # ~4x per halving of the step


def test_local_polynomial_fit_is_exact_for_polynomials_of_its_degree_on_irregular_grids():
    t = make_grid("random", 40, 2.0, 3)
    x = (1.0 + 2.0 * t - t**3 + 0.5 * t**5)[:, None]
    fit = local_polynomial_fit(t, x, window=9, degree=5, uniform=False)
    np.testing.assert_allclose(fit.x_smooth[:, 0], x[:, 0], atol=1e-9)
    np.testing.assert_allclose(fit.dxdt[:, 0], 2.0 - 3.0 * t**2 + 2.5 * t**4, atol=1e-7)


def test_uniform_fast_path_matches_general_local_fits():
    rng = np.random.default_rng(1)
    t = np.linspace(0.0, 3.0, 57)
    x = rng.standard_normal((57, 2))
    for window in (7, 21, 57):
        fast = local_polynomial_fit(t, x, window, 5, uniform=True)
        slow = local_polynomial_fit(t, x, window, 5, uniform=False)
        np.testing.assert_allclose(fast.x_smooth, slow.x_smooth, atol=1e-10)
        np.testing.assert_allclose(fast.dxdt, slow.dxdt, atol=1e-9)
        np.testing.assert_allclose(fast.hat_diagonal, slow.hat_diagonal, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_is_exact_for_straight_lines(method):
    t = make_grid("jittered", 25, 4.0, 2)
    x = np.stack([3.0 * t - 1.0, -0.5 * t], axis=1)
    x_smooth, dxdt = differentiate(t, x, method, noise=[0.1, 0.1])  # even when told the data are noisy
    np.testing.assert_allclose(dxdt, np.broadcast_to([3.0, -0.5], x.shape), rtol=1e-5)  # tv: IRLS tolerance
    np.testing.assert_allclose(x_smooth, x, atol=1e-4)


def test_spline_is_nearly_exact_on_noise_free_smooth_data():
    t = make_grid("jittered", 200, 10.0, 0)
    _, dxdt = differentiate(t, np.sin(t), "spline")
    assert relative_rms(dxdt, np.cos(t)) < 1e-3


# ---------------------------------------------------------------- accuracy under noise

# relative RMS error bounds on sin(t), 200 samples over two periods, 1% noise; measured errors are 2-5x lower
BOUNDS = {"finite_difference": 0.5, "smoothed_fd": 0.03, "savgol": 0.03, "spline": 0.03, "tv": 0.12, "auto": 0.03}


@pytest.mark.parametrize("grid", ["uniform", "jittered"])
@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_relative_error_on_noisy_sine_is_bounded(method, grid):
    t = make_grid(grid, 200, 4 * np.pi, 7)
    rng = np.random.default_rng(11)
    x = np.sin(t) + 0.01 * np.std(np.sin(t)) * rng.standard_normal(t.size)
    _, dxdt = differentiate(t, x, method)
    assert relative_rms(dxdt, np.cos(t)) < BOUNDS[method]


@pytest.mark.parametrize("method", ["savgol", "spline", "tv", "auto"])
def test_smoothers_handle_random_sampling_times(method):
    t = make_grid("random", 300, 4 * np.pi, 5)
    rng = np.random.default_rng(3)
    x = np.sin(t) + 0.01 * np.std(np.sin(t)) * rng.standard_normal(t.size)
    _, dxdt = differentiate(t, x, method)
    assert relative_rms(dxdt, np.cos(t)) < BOUNDS[method]


@pytest.mark.parametrize("method", ["spline", "tv"])
def test_near_duplicate_times_do_not_break_the_banded_solvers(method):
    t = make_grid("random", 3000, 30.0, 0)  # smallest gaps ~1e-6 of the mean step
    t[1001] = t[1000] + 1e-9 * (t[1002] - t[1000])
    rng = np.random.default_rng(0)
    x = np.sin(t) + 0.01 * rng.standard_normal(t.size)
    x_smooth, dxdt = differentiate(t, x, method)
    assert np.all(np.isfinite(dxdt)) and x_smooth.shape == (3000,)
    assert relative_rms(dxdt, np.cos(t)) < BOUNDS[method]


def test_smoothing_beats_plain_differences_under_noise():
    t = np.linspace(0.0, 10.0, 400)
    rng = np.random.default_rng(4)
    x = np.stack([np.sin(t), np.exp(-0.2 * t)], axis=1) + 0.02 * rng.standard_normal((400, 2))
    true = np.stack([np.cos(t), -0.2 * np.exp(-0.2 * t)], axis=1)
    plain = relative_rms(differentiate(t, x, "finite_difference")[1], true)
    for method in SMOOTHING:
        assert relative_rms(differentiate(t, x, method)[1], true) < plain / 3


def test_tv_recovers_a_piecewise_constant_derivative():
    t = np.linspace(0.0, 2.0, 300)
    slope = np.where(t < 1.0, 1.0, -1.0)
    x = np.where(t < 1.0, t, 2.0 - t) + 0.005 * np.random.default_rng(2).standard_normal(t.size)
    _, dxdt = differentiate(t, x, "tv")
    away = np.abs(t - 1.0) > 0.1
    assert np.median(np.abs(dxdt[away] - slope[away])) < 0.05


# ---------------------------------------------------------------- noise estimate


@pytest.mark.parametrize("grid", ["uniform", "jittered", "random"])
def test_estimate_noise_recovers_the_noise_level(grid):
    t = make_grid(grid, 2000, 20.0, 1)
    rng = np.random.default_rng(5)
    clean = np.stack([np.sin(t), 10.0 * np.cos(0.3 * t)], axis=1)
    sigma = np.array([0.05, 0.2])
    estimate = estimate_noise(t, clean + sigma * rng.standard_normal(clean.shape))
    np.testing.assert_allclose(estimate, sigma, rtol=0.1)
    assert np.all(estimate_noise(t, clean) < 1e-3 * sigma)


def test_estimate_noise_ignores_a_few_outliers():
    t = np.linspace(0.0, 10.0, 1000)
    rng = np.random.default_rng(6)
    x = np.sin(t) + 0.01 * rng.standard_normal(1000)
    x[::100] += 5.0  # 1% gross outliers
    assert estimate_noise(t, x)[0] == pytest.approx(0.01, rel=0.15)


# ---------------------------------------------------------------- shapes, small N, constant columns


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_shapes_and_dtypes(method):
    t = np.arange(30)  # integer times are fine
    x = np.stack([np.sin(0.2 * t), np.cos(0.2 * t), 0.1 * t], axis=1).astype(np.float32)
    x_smooth, dxdt = differentiate(t, x, method)
    assert x_smooth.shape == dxdt.shape == (30, 3)
    assert x_smooth.dtype == dxdt.dtype == np.float64
    x1, d1 = differentiate(t, x[:, 0], method)
    assert x1.shape == d1.shape == (30,)
    np.testing.assert_allclose(d1, dxdt[:, 0], atol=1e-6)  # columns are independent


@pytest.mark.parametrize("method", [*METHODS, "auto"])
@pytest.mark.parametrize("n", [3, 4, 6, 10])
def test_small_n(method, n):
    t = make_grid("jittered", n, 1.0, n)
    x = np.stack([np.exp(t), 2.0 * t], axis=1)
    x_smooth, dxdt = differentiate(t, x, method)
    assert np.all(np.isfinite(x_smooth)) and np.all(np.isfinite(dxdt))
    np.testing.assert_allclose(dxdt[:, 1], 2.0, atol=1e-6)
    tolerance = 0.05 if n >= 6 else 0.3
    assert relative_rms(dxdt[:, 0], np.exp(t)) < tolerance


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_constant_columns_have_zero_derivative(method):
    t = make_grid("jittered", 50, 5.0, 0)
    x = np.stack([np.full(50, 3.5), np.sin(t), np.zeros(50)], axis=1)
    x_smooth, dxdt = differentiate(t, x, method)
    np.testing.assert_array_equal(dxdt[:, [0, 2]], 0.0)
    np.testing.assert_array_equal(x_smooth[:, [0, 2]], x[:, [0, 2]])


@pytest.mark.parametrize("method", ["savgol", "spline", "tv", "auto"])
def test_results_follow_rescaling_of_time_and_values(method):
    t = make_grid("jittered", 120, 6.0, 4)
    x = np.sin(t) + 0.01 * np.random.default_rng(8).standard_normal(120)
    _, base = differentiate(t, x, method)
    _, scaled = differentiate(1e3 + 50.0 * t, 1e-4 * x, method)
    np.testing.assert_allclose(scaled, 1e-4 * base / 50.0, rtol=1e-4, atol=1e-4 * 1e-4 * np.max(np.abs(base)) / 50)


def test_auto_picks_savgol_on_regular_grids_and_spline_on_random_ones():
    assert auto_method(np.linspace(0, 1, 100)) == "savgol"
    assert auto_method(make_grid("jittered", 100, 1.0, 0)) == "savgol"
    assert auto_method(make_grid("random", 100, 1.0, 0)) == "spline"


def test_noise_option_overrides_the_estimate():
    t = np.linspace(0.0, 6.0, 200)
    x = np.sin(t) + 0.05 * np.random.default_rng(9).standard_normal(200)
    smooth_given_zero, _ = differentiate(t, x, "spline", noise=0.0)  # told noise-free: nearly interpolates
    smooth_estimated, _ = differentiate(t, x, "spline")
    assert np.sqrt(np.mean((smooth_given_zero - x) ** 2)) < 0.005
    assert np.sqrt(np.mean((smooth_estimated - x) ** 2)) > 0.03


# ---------------------------------------------------------------- internals of the spline


def test_spline_traces_match_dense_linear_algebra():
    rng = np.random.default_rng(0)
    knots = np.sort(rng.uniform(0.0, 3.0, 25))
    weights = rng.integers(1, 4, 25).astype(float)
    system = SplineSystem.build(knots, weights)
    h = np.diff(knots)
    q = np.zeros((25, 23))
    r = np.zeros((23, 23))
    for j in range(23):
        q[j : j + 3, j] = [1 / h[j], -1 / h[j] - 1 / h[j + 1], 1 / h[j + 1]]
        r[j, j] = (h[j] + h[j + 1]) / 3
        if j < 22:
            r[j, j + 1] = r[j + 1, j] = h[j + 1] / 6
    k = q @ np.linalg.solve(r, q.T)  # penalty matrix: lam * g^T K g = lam * int g''^2
    lams = np.array([1e-4, 1e-2, 1.0, 100.0])
    y = rng.standard_normal((25, 2))
    for lam, trace in zip(lams, system.traces(lams)):
        hat = np.linalg.solve(np.diag(weights) + lam * k, np.diag(weights))  # (W + lam K)^-1 W
        assert trace == pytest.approx(np.trace(hat), rel=1e-6)  # the dense reference is the ill-conditioned one
        g, _ = system.solve(y, float(lam))
        np.testing.assert_allclose(g, hat @ y, atol=1e-9)


def test_spline_evaluation_interpolates_knots_and_extends_linearly():
    knots = np.array([0.0, 1.0, 2.5, 3.0])
    g = np.array([[0.0], [1.0], [0.5], [2.0]])
    second = np.array([[0.0], [0.7], [-0.3], [0.0]])
    values, slopes = evaluate(knots, g, second, np.array([0.0, 1.0, 2.5, 3.0, 4.0, -1.0]))
    np.testing.assert_allclose(values[:4], g, atol=1e-12)
    np.testing.assert_allclose(values[4], g[3] + slopes[3], atol=1e-12)
    np.testing.assert_allclose(values[5], g[0] - slopes[0], atol=1e-12)


def test_merge_close_samples():
    t = np.array([0.0, 1.0, 1.001, 2.0, 3.0, 3.0005, 3.0009])
    x = np.arange(7.0)[:, None]
    knots, weights, values = merge_close_samples(t, x, tol=0.01)
    np.testing.assert_allclose(knots, [0.0, 1.0005, 2.0, (3.0 + 3.0005 + 3.0009) / 3])
    np.testing.assert_array_equal(weights, [1, 2, 1, 3])
    np.testing.assert_allclose(values[:, 0], [0.0, 1.5, 3.0, 5.0])


def test_candidate_windows_are_odd_increasing_and_bounded():
    windows = candidate_windows(1000, 5, 401)
    assert windows[0] == 7 and windows[-1] == 401
    assert all(w % 2 == 1 for w in windows) and windows == sorted(set(windows))
    assert candidate_windows(6, 5, 401) == [5]


# ---------------------------------------------------------------- errors


def test_unknown_method_lists_the_valid_names():
    with pytest.raises(DiscoveryError) as info:
        differentiate(np.arange(5.0), np.arange(5.0), method="magic")
    for name in [*METHODS, "auto"]:
        assert name in str(info.value)


def test_unknown_or_invalid_options_are_rejected():
    t = np.arange(10.0)
    with pytest.raises(DiscoveryError, match="window"):
        differentiate(t, t, "spline", window=5)
    with pytest.raises(DiscoveryError, match="degree"):
        differentiate(t, t, "savgol", degree=0)
    with pytest.raises(DiscoveryError, match="auto"):
        differentiate(t, t, "auto", lam=1.0)
    with pytest.raises(DiscoveryError, match="noise"):
        differentiate(t, t, "spline", noise=-1.0)
    with pytest.raises(DiscoveryError, match="one per variable"):
        differentiate(t, np.stack([t, t], axis=1), "spline", noise=[0.1, 0.2, 0.3])


@pytest.mark.parametrize(
    ("t", "x", "match"),
    [
        (np.array([0.0, 1.0, 1.0, 2.0]), np.zeros(4), "strictly increasing"),
        (np.array([0.0, 1.0, np.nan, 2.0]), np.zeros(4), "finite times"),
        (np.arange(4.0), np.array([0.0, np.inf, 1.0, 2.0]), "finite states"),
        (np.arange(4.0), np.zeros(5), "as many"),
        (np.arange(2.0), np.zeros(2), "at least 3"),
        (np.arange(4.0), np.zeros((4, 2, 1)), "shape"),
    ],
)
def test_bad_input_raises_data_error(t, x, match):
    with pytest.raises(DataError, match=match):
        differentiate(t, x)


def test_data_error_names_the_row():
    with pytest.raises(DataError) as info:
        differentiate(np.array([0.0, 1.0, 3.0, 2.0, 4.0]), np.zeros(5))
    assert info.value.row == 3 and info.value.column == "t"
