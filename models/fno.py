"""A Fourier neural operator (FNO) that steps a field forward in time, trained per dataset, rolled out to forecast.

The network is :class:`neuralop.models.FNO` from the ``neuraloperator`` library (Li et al., "Fourier neural
operator for parametric partial differential equations", 2021). It maps the last ``history`` frames of the field
(all fields stacked as channels; the library appends the grid coordinates as further channels) to the increment
to the next frame::

    z_{k+1} = z_k + delta * FNO(z_{k-H+1}, ..., z_k)          z: each field normalized by its mean and std

where ``delta`` is the typical one-step increment of each normalized field, so the network's output is of order
one. Learning the increment rather than the frame makes a slowly changing field (diffusion near steady state) as
easy as a fast one. Training minimizes the mean squared error of ``unroll`` consecutive predicted frames, each
fed the previous predictions (``unroll=1``: one-step teacher forcing). A forecast is an autoregressive rollout.

Non-periodic axes are padded (``domain_padding``) so that the Fourier layers do not wrap one boundary onto the
other; periodic axes are not.

This module only knows tensors and arrays: fields come in as ``(F, Nt, *N)`` arrays sampled at equal time steps.

Examples
--------
>>> import numpy as np
>>> x = np.linspace(0, 2 * np.pi, 32, endpoint=False); t = np.linspace(0, 1, 20)
>>> u = np.cos(x[None, :] - t[:, None])[None]                     # (F=1, Nt=20, Nx=32), a travelling wave
>>> fit = fit_fno([u], periodic=[True], model_config=FNOModelConfig(n_modes=4, hidden_channels=8),
...               train_config=FNOTrainConfig(steps=20), device="cpu")
>>> fit.rollout(u[:, -1:], 5).shape
(1, 5, 32)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from models.device import DeviceLike
from models.progress import ProgressFn
from models.training import adam_cosine, seed_everything, train_loop, training_device

PADDING = 0.25
"""Domain padding of each non-periodic axis, as a fraction of its length."""


@dataclass(frozen=True)
class FNOModelConfig:
    """Network sizes.

    Attributes
    ----------
    n_modes:
        Fourier modes kept per spatial axis (capped at half the grid size).
    hidden_channels:
        Width of the Fourier layers.
    n_layers:
        Number of Fourier layers.
    history:
        Frames the network reads (the current one and ``history - 1`` before it).
    """

    n_modes: int = 16
    hidden_channels: int = 32
    n_layers: int = 4
    history: int = 1


@dataclass(frozen=True)
class FNOTrainConfig:
    """Adam with a cosine decay of the learning rate; each step draws ``batch_size`` random (trajectory, frame)
    starts and predicts ``unroll`` frames from each."""

    steps: int = 1000
    lr: float = 3e-3
    batch_size: int = 32
    unroll: int = 1
    time_budget_s: float | None = None
    """Stop early after this many seconds; ``None`` = no limit."""
    threads: int | None = 1
    """Torch CPU threads while training on the CPU (see :func:`models.training.cpu_threads`)."""


class FieldStepper(nn.Module):
    """``history`` normalized frames ``(B, H, F, *N)`` -> the next normalized frame ``(B, F, *N)``.

    Parameters
    ----------
    n_fields, dim:
        Number of fields ``F`` and of spatial axes (1 or 2).
    shape:
        Grid size per axis (caps the Fourier modes).
    periodic:
        Per axis: periodic (no padding) or not (padded by :data:`PADDING`).
    delta:
        Typical one-step increment of each normalized field ``(F,)``; scales the network's output.
    config:
        Network sizes.
    """

    def __init__(self, n_fields: int, shape: Sequence[int], periodic: Sequence[bool], delta: torch.Tensor,
                 config: FNOModelConfig = FNOModelConfig()) -> None:
        super().__init__()
        try:
            from neuralop.models import FNO
        except ImportError as exc:  # pragma: no cover - a dependency of eqdisco
            raise ImportError("the FNO forecast needs the 'neuraloperator' package: pip install neuraloperator"
                              ) from exc
        self.n_fields, self.history = n_fields, config.history
        modes = tuple(max(1, min(config.n_modes, n // 2)) for n in shape)
        padding = [0.0 if p else PADDING for p in periodic]
        self.fno = FNO(n_modes=modes, in_channels=n_fields * config.history, out_channels=n_fields,
                       hidden_channels=config.hidden_channels, n_layers=config.n_layers,
                       domain_padding=padding if any(padding) else None)
        self.register_buffer("delta", delta.reshape((1, n_fields) + (1,) * len(shape)))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b = frames.shape[0]
        x = frames.reshape((b, -1) + tuple(frames.shape[3:]))  # (B, H*F, *N)
        return frames[:, -1] + self.delta * self.fno(x)  # (B, F, *N)


@dataclass
class FNOFit:
    """A trained :class:`FieldStepper` with its normalization; answers in physical units.

    Attributes
    ----------
    model:
        The trained stepper.
    mean, std:
        Per-field normalization ``(F,)``.
    history:
        Training loss (``step``, ``loss``).
    elapsed_s:
        Training wall time.
    """

    model: FieldStepper
    mean: torch.Tensor
    std: torch.Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    elapsed_s: float = 0.0

    def _norm(self, u: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * (u.ndim - 1)
        return (u - self.mean.reshape(shape)) / self.std.reshape(shape)

    @torch.no_grad()
    def rollout(self, frames: np.ndarray, steps: int) -> np.ndarray:
        """The next ``steps`` frames ``(F, steps, *N)`` after ``frames`` ``(F, K, *N)`` (the last ``history`` of
        them are read; fewer are padded by repeating the first)."""
        dev = self.mean.device
        u = torch.as_tensor(np.ascontiguousarray(frames, dtype=np.float32), device=dev)  # (F, K, *N)
        z = self._norm(u).transpose(0, 1)  # (K, F, *N)
        h = self.model.history
        if z.shape[0] < h:
            z = torch.cat([z[:1].expand((h - z.shape[0],) + tuple(z.shape[1:])), z])
        window = list(z[-h:])
        out = []
        for _ in range(steps):
            nxt = self.model(torch.stack(window)[None])[0]  # (F, *N)
            out.append(nxt)
            window = window[1:] + [nxt]
        pred = torch.stack(out, dim=1)  # (F, steps, *N)
        shape = (-1,) + (1,) * (pred.ndim - 1)
        return (pred * self.std.reshape(shape) + self.mean.reshape(shape)).cpu().numpy().astype(float)


def fit_fno(
    trajectories: Sequence[np.ndarray],
    *,
    periodic: Sequence[bool],
    model_config: FNOModelConfig = FNOModelConfig(),
    train_config: FNOTrainConfig = FNOTrainConfig(),
    init: FNOFit | None = None,
    device: DeviceLike = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> FNOFit:
    """Train an FNO stepper on fields sampled at one time step on one grid.

    Parameters
    ----------
    trajectories:
        Fields ``(F, Nt_i, *N)``, each a run of equally spaced frames (the same step and grid for all).
    periodic:
        Per spatial axis, whether the fields are periodic along it.
    model_config, train_config:
        Network sizes and schedule.
    init:
        Continue training this fit (its network and normalization) instead of starting afresh.
    device, seed, progress:
        Torch device (``"auto"`` = CUDA when present), seed, ``progress(message, fraction)`` callback.

    Returns
    -------
    FNOFit
    """
    with training_device(device, train_config.threads) as dev:
        return _fit_fno(trajectories, periodic, model_config, train_config, init, dev, seed, progress)


def _fit_fno(
    trajectories: Sequence[np.ndarray],
    periodic: Sequence[bool],
    mc: FNOModelConfig,
    tc: FNOTrainConfig,
    init: FNOFit | None,
    dev: torch.device,
    seed: int,
    progress: ProgressFn | None,
) -> FNOFit:
    gen = seed_everything(seed)
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in trajectories]
    if not arrays or any(a.ndim < 3 or a.shape[0] != arrays[0].shape[0] or a.shape[2:] != arrays[0].shape[2:]
                         for a in arrays):
        raise ValueError("expected fields of shape (F, Nt, *N) with the same F and grid, found shapes "
                         f"{[a.shape for a in arrays]}")
    n_fields, grid = arrays[0].shape[0], arrays[0].shape[2:]
    if len(periodic) != len(grid):
        raise ValueError(f"expected one periodic flag per spatial axis ({len(grid)}), found {len(periodic)}")
    h = init.model.history if init is not None else mc.history
    r = tc.unroll
    usable = [i for i, a in enumerate(arrays) if a.shape[1] >= h + r]
    if not usable:
        raise ValueError(f"every field has fewer than history + unroll = {h + r} frames; nothing to train on")
    f32 = {"dtype": torch.float32, "device": dev}
    if init is None:
        pooled = np.concatenate([a.reshape(n_fields, -1) for a in arrays], axis=1)
        mean, std = pooled.mean(axis=1), np.maximum(pooled.std(axis=1), 1e-12)
        shape = (-1,) + (1,) * (arrays[0].ndim - 1)
        steps = np.concatenate([np.diff((a - mean.reshape(shape)) / std.reshape(shape), axis=1)
                                .transpose(1, 0, *range(2, a.ndim)).reshape(-1, n_fields) for a in arrays])
        delta = torch.as_tensor(np.maximum(np.sqrt(np.mean(steps**2, axis=0)), 1e-6), **f32)  # (F,)
        model = FieldStepper(n_fields, grid, periodic, delta, mc).to(dev)
        mean_t, std_t = torch.as_tensor(mean, **f32), torch.as_tensor(std, **f32)
    else:
        model, mean_t, std_t = init.model.to(dev).train(), init.mean.to(dev), init.std.to(dev)
    shape_t = (1, -1) + (1,) * len(grid)
    # normalized runs as (Nt_i, F, *N), and every start (run, k): frames k-h+1..k in, k+1..k+r out
    runs = [((torch.as_tensor(a, **f32).transpose(0, 1) - mean_t.reshape(shape_t)) / std_t.reshape(shape_t))
            for a in arrays]
    starts = torch.tensor([(i, k) for i in usable for k in range(h - 1, arrays[i].shape[1] - r)], dtype=torch.long)
    opt, sched = adam_cosine(model.parameters(), tc.lr, tc.steps, final_fraction=0.01)

    def batch(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frames, targets = [], []
        for i, k in starts[idx].tolist():
            frames.append(runs[i][k - h + 1:k + 1])
            targets.append(runs[i][k + 1:k + 1 + r])
        return torch.stack(frames), torch.stack(targets)  # (B, h, F, *N), (B, r, F, *N)

    def loss(step: int) -> torch.Tensor:
        idx = torch.randint(0, starts.shape[0], (min(tc.batch_size, starts.shape[0]),), generator=gen)
        frames, targets = batch(idx)
        total = torch.zeros((), device=dev)
        for j in range(r):
            nxt = model(frames)  # (B, F, *N)
            total = total + ((nxt - targets[:, j]) / model.delta).pow(2).mean()  # in units of one step
            frames = torch.cat([frames[:, 1:], nxt[:, None]], dim=1)
        return total / r

    log = train_loop(loss, opt, steps=tc.steps, name="FNO", scheduler=sched, log_every=100,
                     time_budget_s=tc.time_budget_s, progress=progress)
    history = (init.history if init is not None else []) + log.history
    return FNOFit(model.eval(), mean_t, std_t, history, log.elapsed_s() + (init.elapsed_s if init else 0.0))


__all__ = ["PADDING", "FNOFit", "FNOModelConfig", "FNOTrainConfig", "FieldStepper", "fit_fno"]
