"""Neural ODE by multiple shooting (models/node.py) on problems with exact solutions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.node import NODEModelConfig, NODETrainConfig, VectorField, _refine_grid, fit_node

torch.set_num_threads(1)

TOY = NODETrainConfig(window=4, steps=300)


def _oscillator(n: int = 30, irregular: bool = False):
    """Damped linear oscillator dx/dt = y, dy/dt = -x - 0.2 y, exact solution by matrix exponential."""
    from scipy.linalg import expm

    a = np.array([[0.0, 1.0], [-1.0, -0.2]])
    rng = np.random.default_rng(0)
    ts, xs = [], []
    for x0 in ([1.0, 0.0], [0.0, -1.5]):
        t = np.sort(rng.uniform(0, 6, n)) if irregular else np.linspace(0, 6, n)
        ts.append(t)
        xs.append(np.stack([expm(a * s) @ np.asarray(x0) for s in t]))
    return a, ts, xs


def test_refine_grid_keeps_original_times() -> None:
    times = torch.tensor([0.0, 1.0, 3.0])
    grid, pick = _refine_grid(times, 2)
    torch.testing.assert_close(grid, torch.tensor([0.0, 0.5, 1.0, 2.0, 3.0]))
    torch.testing.assert_close(grid[pick], times)


def test_unknown_activation_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="softplus"):
        VectorField(2, NODEModelConfig(activation="relu6"))


@pytest.mark.parametrize("irregular", [False, True])
def test_learns_linear_field(irregular: bool) -> None:
    a, ts, xs = _oscillator(irregular=irregular)
    fit = fit_node(ts, xs, train_config=TOY, device="cpu", seed=0)
    states = np.concatenate(xs)
    truth = states @ a.T
    assert np.linalg.norm(fit.vector_field(states) - truth) / np.linalg.norm(truth) < 0.05
    sim = fit.simulate(xs[0][0], ts[0])
    assert sim.shape == xs[0].shape
    np.testing.assert_allclose(sim, xs[0], atol=0.1)


def test_start_states_are_denoised() -> None:
    a, ts, xs = _oscillator()
    rng = np.random.default_rng(1)
    noisy = [x + 0.05 * rng.standard_normal(x.shape) for x in xs]
    fit = fit_node(ts, noisy, train_config=TOY, device="cpu", seed=0)
    clean_starts = np.concatenate([x[: len(x) - TOY.window] for x in xs])
    noisy_starts = np.concatenate([x[: len(x) - TOY.window] for x in noisy])
    err_fit = np.sqrt(np.mean((fit.start_states - clean_starts) ** 2))
    err_obs = np.sqrt(np.mean((noisy_starts - clean_starts) ** 2))
    assert err_fit < err_obs


def test_batched_simulation_shape() -> None:
    _, ts, xs = _oscillator()
    fit = fit_node(ts, xs, train_config=NODETrainConfig(steps=5), device="cpu")
    assert fit.simulate(np.zeros((3, 2)), ts[0]).shape == (len(ts[0]), 3, 2)


def test_simulation_on_an_absolute_clock() -> None:
    _, ts, xs = _oscillator()
    fit = fit_node(ts, xs, train_config=NODETrainConfig(steps=5), device="cpu")
    np.testing.assert_allclose(fit.simulate(xs[0][0], ts[0] + 1.7e9), fit.simulate(xs[0][0], ts[0]),
                               rtol=1e-4, atol=1e-5)


def test_needs_two_points() -> None:
    with pytest.raises(ValueError, match="2 or more points"):
        fit_node([np.array([0.0])], [np.zeros((1, 2))], device="cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trains_on_cuda() -> None:
    a, ts, xs = _oscillator()
    fit = fit_node(ts, xs, train_config=TOY, device="cuda", seed=0)
    assert next(fit.network.parameters()).is_cuda
    states = np.concatenate(xs)
    truth = states @ a.T
    assert np.linalg.norm(fit.vector_field(states) - truth) / np.linalg.norm(truth) < 0.05
