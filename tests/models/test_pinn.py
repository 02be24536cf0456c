"""PINN with hidden-term networks (models/pinn.py) on toy problems with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.pinn import HiddenPINN, PINNModelConfig, PINNTrainConfig, fit_pinn

torch.set_num_threads(1)

TOY = PINNTrainConfig(n_collocation=64, warmup_steps=300, hidden_steps=300, adam_steps=700, lbfgs_steps=50)


def _decay_data(rates=(0.7,), n: int = 25, noise: float = 0.0):
    """x(t) = x0 exp(-r t) for one trajectory per rate: dx/dt = h1(x) with h1 = -r x."""
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 2.0, n)
    xs = []
    for i, r in enumerate(rates):
        x = (1.0 + i) * np.exp(-r * t)[:, None]
        xs.append(x + noise * x.std() * rng.standard_normal(x.shape))
    return [t] * len(rates), xs


def test_hidden_values_use_only_their_arguments() -> None:
    torch.manual_seed(0)
    model = HiddenPINN(1, 3, [(0, 2), (1,)], [1.0, 2.0], PINNModelConfig(hidden_width=8))
    z = torch.randn(4, 3)
    h = model.hidden_values(z)
    assert h.shape == (4, 2)
    z2 = z.clone()
    z2[:, 1] += 1.0  # h1 takes columns 0 and 2 only
    assert torch.equal(model.hidden_values(z2)[:, 0], h[:, 0])
    assert not torch.allclose(model.hidden_values(z2)[:, 1], h[:, 1])


def test_learns_linear_hidden_term() -> None:
    t, x = _decay_data(rates=(0.7, 0.7), noise=0.01)
    fit = fit_pinn(t, x, lambda u, h: h, [(0,)], train_config=TOY, device="cpu", seed=0)
    grid = np.linspace(0.4, 1.8, 20)[:, None]
    np.testing.assert_allclose(fit.hidden(0, grid), -0.7 * grid[:, 0], rtol=0.05, atol=0.02)
    # the surrogate follows the data
    np.testing.assert_allclose(fit.states(1, t[1]), 2.0 * np.exp(-0.7 * t[1])[:, None], atol=0.05)


def test_known_part_is_respected() -> None:
    """dx/dt = -0.5 x + h1(x) with the data decaying at rate 0.7: h1 must supply the remaining -0.2 x."""
    t, x = _decay_data(rates=(0.7,))
    fit = fit_pinn(t, x, lambda u, h: -0.5 * u + h, [(0,)], train_config=TOY, device="cpu", seed=0)
    grid = np.linspace(0.3, 0.9, 10)[:, None]
    np.testing.assert_allclose(fit.hidden(0, grid), -0.2 * grid[:, 0], atol=0.02)


def test_non_finite_loss_raises() -> None:
    t, x = _decay_data()
    cfg = PINNTrainConfig(warmup_steps=1, hidden_steps=1, adam_steps=1, lbfgs_steps=0)
    with pytest.raises(FloatingPointError, match="PINN Adam loss became nan at step 1"):
        fit_pinn(t, x, lambda u, h: h * float("nan"), [(0,)], train_config=cfg, device="cpu")


def test_seeded_training_is_repeatable() -> None:
    t, x = _decay_data()
    cfg = PINNTrainConfig(n_collocation=16, warmup_steps=20, hidden_steps=20, adam_steps=20, lbfgs_steps=0)
    a = fit_pinn(t, x, lambda u, h: h, [(0,)], train_config=cfg, device="cpu", seed=3)
    b = fit_pinn(t, x, lambda u, h: h, [(0,)], train_config=cfg, device="cpu", seed=3)
    grid = np.array([[0.5], [1.0]])
    np.testing.assert_array_equal(a.hidden(0, grid), b.hidden(0, grid))


def test_absolute_clocks_train_like_relative_times() -> None:
    # Unix-timestamp times: in float32, 1.7e9 + 0.08 k would collapse onto steps of 128 s
    t, x = _decay_data()
    cfg = PINNTrainConfig(n_collocation=16, warmup_steps=20, hidden_steps=20, adam_steps=20, lbfgs_steps=0)
    a = fit_pinn(t, x, lambda u, h: h, [(0,)], train_config=cfg, device="cpu", seed=3)
    b = fit_pinn([tt + 1.7e9 for tt in t], x, lambda u, h: h, [(0,)], train_config=cfg, device="cpu", seed=3)
    grid = np.array([[0.5], [1.0]])
    np.testing.assert_allclose(a.hidden(0, grid), b.hidden(0, grid), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(a.states(0, t[0]), b.states(0, t[0] + 1.7e9), rtol=1e-3, atol=1e-4)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trains_on_cuda() -> None:
    t, x = _decay_data(rates=(0.7,))
    fit = fit_pinn(t, x, lambda u, h: h, [(0,)], train_config=TOY, device="cuda", seed=0)
    assert next(fit.model.parameters()).is_cuda
    grid = np.linspace(0.4, 0.9, 10)[:, None]
    np.testing.assert_allclose(fit.hidden(0, grid), -0.7 * grid[:, 0], rtol=0.05, atol=0.02)
