"""The FNO field stepper (models/fno.py): training, rollout, history and unrolled training, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from models.fno import FNOFit, FNOModelConfig, FNOTrainConfig, fit_fno

SMALL = FNOModelConfig(n_modes=6, hidden_channels=12, n_layers=2)


def _wave(nt: int = 40, nx: int = 32) -> np.ndarray:
    """A travelling wave ``cos(x - t)`` on a periodic grid, ``(1, nt, nx)``."""
    x = np.linspace(0, 2 * np.pi, nx, endpoint=False)
    t = np.linspace(0, 2.0, nt)
    return np.cos(x[None, :] - t[:, None])[None]


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_rollout_of_a_travelling_wave_beats_persistence():
    u = _wave()
    train, test = u[:, :30], u[:, 30:]
    fit = fit_fno([train], periodic=[True], model_config=SMALL, train_config=FNOTrainConfig(steps=250),
                  device="cpu", seed=0)
    assert isinstance(fit, FNOFit) and fit.history and np.isfinite(fit.history[-1]["loss"])
    pred = fit.rollout(train, test.shape[1])
    assert pred.shape == test.shape
    persistence = _rel(np.repeat(train[:, -1:], test.shape[1], axis=1), test)
    assert _rel(pred, test) < 0.3 * persistence


def test_history_unroll_and_continued_training():
    u = np.concatenate([_wave(), 0.5 * _wave()], axis=0)  # two fields
    cfg = FNOModelConfig(n_modes=4, hidden_channels=8, n_layers=1, history=3)
    fit = fit_fno([u, u[:, ::-1]], periodic=[True], model_config=cfg,
                  train_config=FNOTrainConfig(steps=5, unroll=2, batch_size=4), device="cpu", seed=1)
    assert fit.rollout(u[:, :1], 4).shape == (2, 4, 32)  # one frame given: padded to the history
    more = fit_fno([u], periodic=[True], train_config=FNOTrainConfig(steps=3), init=fit, device="cpu")
    assert more.model is fit.model and len(more.history) > len(fit.history)


def test_two_dimensional_field_with_a_padded_axis():
    rng = np.random.default_rng(0)
    u = rng.standard_normal((1, 6, 12, 10))
    fit = fit_fno([u], periodic=[False, True], model_config=FNOModelConfig(n_modes=3, hidden_channels=4, n_layers=1),
                  train_config=FNOTrainConfig(steps=2), device="cpu")
    assert fit.rollout(u, 2).shape == (1, 2, 12, 10)


@pytest.mark.parametrize("arrays, periodic, match", [
    ([np.zeros((1, 10))], [True], "shape"),
    ([np.zeros((1, 10, 8)), np.zeros((2, 10, 8))], [True], "shape"),
    ([np.zeros((1, 10, 8))], [True, False], "periodic flag"),
    ([np.zeros((1, 1, 8))], [True], "frames"),
])
def test_bad_inputs_are_one_clear_error(arrays, periodic, match):
    with pytest.raises(ValueError, match=match):
        fit_fno(arrays, periodic=periodic, model_config=SMALL, train_config=FNOTrainConfig(steps=1), device="cpu")
