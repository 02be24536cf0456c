"""DeepONet for initial-value problems (models/deeponet.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.deeponet import DeepONet, DeepONetModelConfig, DeepONetTrainConfig, fit_deeponet

torch.set_num_threads(1)

SMALL = DeepONetModelConfig(width=32, depth=2, n_basis=16, n_frequencies=2)


def _rotations(n: int, rng: np.random.Generator):
    """dx/dt = -y, dy/dt = x: the solution rotates x0 by angle t."""
    t = np.linspace(0.0, 3.0, 40)
    x0 = rng.uniform(-1.0, 1.0, size=(n, 2))
    c, s = np.cos(t)[:, None], np.sin(t)[:, None]
    states = [np.concatenate([c * a - s * b, s * a + c * b], axis=1) for a, b in x0]
    return x0, t, states


def test_shapes_and_exact_initial_condition() -> None:
    torch.manual_seed(0)
    net = DeepONet(3, SMALL)
    z0 = torch.randn(4, 3)
    tau = torch.linspace(0, 1, 7)
    z = net(z0, tau)
    assert z.shape == (4, 7, 3)
    torch.testing.assert_close(z[:, 0], z0)
    # the pairwise form agrees with the grid form
    torch.testing.assert_close(net.pairs(z0[[1, 2]], tau[[3, 5]]), z[[1, 2], [3, 5]])


def test_predicts_new_initial_conditions() -> None:
    rng = np.random.default_rng(0)
    x0, t, states = _rotations(64, rng)
    fit = fit_deeponet(
        x0, [t] * len(states), states, model_config=SMALL, train_config=DeepONetTrainConfig(steps=600, lr=3e-3),
        device="cpu", seed=0,
    )
    new_x0, _, truth = _rotations(8, np.random.default_rng(1))
    new_x0 = 0.8 * new_x0  # inside the training range
    truth = [0.8 * s for s in truth]
    pred = fit.predict(new_x0, t)
    assert pred.shape == (8, len(t), 2)
    err = np.linalg.norm(pred - np.stack(truth)) / np.linalg.norm(np.stack(truth))
    assert err < 0.1


def test_mixed_time_grids() -> None:
    rng = np.random.default_rng(0)
    x0, t, states = _rotations(4, rng)
    times = [t, t[::2], t[1::3], t]
    states = [states[0], states[1][::2], states[2][1::3], states[3]]
    fit = fit_deeponet(x0, times, states, model_config=SMALL, train_config=DeepONetTrainConfig(steps=30), device="cpu")
    assert fit.horizon == pytest.approx(t[-1])
    assert np.all(np.isfinite(fit.predict(x0, t)))


def test_mismatched_inputs_raise() -> None:
    with pytest.raises(ValueError, match="expected x0 of shape"):
        fit_deeponet(np.zeros((2, 2)), [np.arange(3.0)], [np.zeros((3, 2))], device="cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trains_on_cuda() -> None:
    x0, t, states = _rotations(16, np.random.default_rng(0))
    fit = fit_deeponet(x0, [t] * 16, states, model_config=SMALL, train_config=DeepONetTrainConfig(steps=20),
                       device="cuda")
    assert next(fit.model.parameters()).is_cuda
    assert fit.predict(x0, t).shape == (16, len(t), 2)
