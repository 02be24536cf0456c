"""DeepONet for initial-value problems: initial state in, whole trajectory out, in one forward pass.

Lu et al.'s DeepONet ("Learning nonlinear operators via DeepONet", 2021) factors the solution operator
``G(x0)(t)`` into a branch net ``b(x0)`` and a trunk net ``tr(t)``::

    z_d(x0, tau) = z0_d + tau * sum_p b_{d,p}(z0) * tr_{d,p}(tau)          (normalized units)

where ``tau = t / horizon`` is in ``[0, 1]`` and ``z0`` the normalized initial state; the factor ``tau`` makes
the initial condition exact. The trunk sees ``tau`` and a few Fourier features of it, so that oscillations over
the horizon are cheap to represent. Trained per dataset (in ``discovery/deeponet.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from models.device import DeviceLike
from models.mlp import mlp
from models.progress import ProgressFn
from models.training import adam_cosine, seed_everything, train_loop, training_device


@dataclass(frozen=True)
class DeepONetModelConfig:
    """Branch and trunk: ``depth`` hidden tanh layers of ``width``; ``n_basis`` basis functions per variable;
    ``n_frequencies`` Fourier features ``sin/cos(2 pi k tau)``, ``k = 1..n_frequencies``, fed to the trunk."""

    width: int = 128
    depth: int = 3
    n_basis: int = 64
    n_frequencies: int = 16


@dataclass(frozen=True)
class DeepONetTrainConfig:
    """Adam with cosine decay; each step uses up to ``batch_trajectories`` random trajectories of every group of
    trajectories that share a time grid (all their points)."""

    steps: int = 5000
    lr: float = 3e-3
    batch_trajectories: int = 64
    time_budget_s: float | None = None
    """Stop early after this many seconds; ``None`` = no limit."""
    threads: int | None = 1
    """Torch CPU threads while training on the CPU (see :func:`models.training.cpu_threads`)."""


class DeepONet(nn.Module):
    """Branch ``(B, D) -> (B, D, P)`` and trunk ``(M,) -> (M, D, P)`` combined into states ``(B, M, D)``."""

    def __init__(self, n_state: int, config: DeepONetModelConfig = DeepONetModelConfig()) -> None:
        super().__init__()
        self.n_state, self.n_basis, self.n_freq = n_state, config.n_basis, config.n_frequencies
        self.branch = mlp(n_state, n_state * config.n_basis, config.width, config.depth)
        self.trunk = mlp(1 + 2 * config.n_frequencies, n_state * config.n_basis, config.width, config.depth)

    def _trunk(self, tau: torch.Tensor) -> torch.Tensor:
        k = torch.arange(1, self.n_freq + 1, device=tau.device, dtype=tau.dtype)  # (F,)
        arg = 2.0 * math.pi * tau[:, None] * k[None, :]  # (M, F)
        feats = torch.cat([tau[:, None], torch.sin(arg), torch.cos(arg)], dim=1)  # (M, 1 + 2F)
        return self.trunk(feats).reshape(-1, self.n_state, self.n_basis)  # (M, D, P)

    def forward(self, z0: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """States ``(B, M, D)`` for initial states ``z0`` ``(B, D)`` on a shared grid ``tau`` ``(M,)``."""
        b = self.branch(z0).reshape(-1, self.n_state, self.n_basis)  # (B, D, P)
        tr = self._trunk(tau)  # (M, D, P)
        return z0[:, None, :] + tau[None, :, None] * torch.einsum("bdp,mdp->bmd", b, tr)

    def pairs(self, z0: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """States ``(Q, D)`` for ``Q`` (initial state ``(Q, D)``, time ``(Q,)``) pairs."""
        b = self.branch(z0).reshape(-1, self.n_state, self.n_basis)  # (Q, D, P)
        tr = self._trunk(tau)  # (Q, D, P)
        return z0 + tau[:, None] * (b * tr).sum(-1)


@dataclass
class DeepONetFit:
    """A trained DeepONet with its normalization; answers in physical units.

    Attributes
    ----------
    model:
        The trained :class:`DeepONet`.
    x_mean, x_std:
        State normalization ``(D,)``.
    horizon:
        Time span the operator was trained on (``tau = t / horizon``); times past it are extrapolation.
    history:
        Training loss.
    """

    model: DeepONet
    x_mean: torch.Tensor
    x_std: torch.Tensor
    horizon: float
    history: list[dict[str, float]] = field(default_factory=list)
    elapsed_s: float = 0.0

    @torch.no_grad()
    def predict(self, x0: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Trajectories ``(B, M, D)`` from initial states ``x0`` ``(B, D)`` at times ``t`` ``(M,)`` after the start.

        Examples
        --------
        >>> import numpy as np
        >>> t = np.linspace(0, 1, 11); x0 = np.array([[1.0], [2.0]])
        >>> fit = fit_deeponet(x0, [t, t], [np.exp(-t)[:, None], 2 * np.exp(-t)[:, None]],
        ...                    train_config=DeepONetTrainConfig(steps=20), device="cpu")
        >>> fit.predict(np.array([[1.5]]), t).shape
        (1, 11, 1)
        """
        dev = self.x_mean.device
        z0 = (torch.as_tensor(np.asarray(x0, dtype=np.float32), device=dev) - self.x_mean) / self.x_std
        tau = torch.as_tensor(np.asarray(t, dtype=np.float32) / self.horizon, device=dev)
        z = self.model(z0.reshape(-1, self.model.n_state), tau)
        return (z * self.x_std + self.x_mean).cpu().numpy().astype(float)


def fit_deeponet(
    x0: np.ndarray,
    times: Sequence[np.ndarray],
    states: Sequence[np.ndarray],
    *,
    horizon: float | None = None,
    model_config: DeepONetModelConfig = DeepONetModelConfig(),
    train_config: DeepONetTrainConfig = DeepONetTrainConfig(),
    device: DeviceLike = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> DeepONetFit:
    """Train a DeepONet on trajectories that start at ``x0``.

    Parameters
    ----------
    x0:
        Initial states ``(B, D)``.
    times:
        For each trajectory, times after its start ``(M_i,)`` (``t - t_start``; grids may differ).
    states:
        For each trajectory, states ``(M_i, D)`` at those times.
    horizon:
        Time span of the operator; default the longest trajectory.
    model_config, train_config:
        Network and schedule.
    device, seed, progress:
        Torch device (``"auto"`` = CUDA when present), seed, ``progress(message, fraction)`` callback.

    Returns
    -------
    DeepONetFit
    """
    with training_device(device, train_config.threads) as dev:
        return _fit_deeponet(x0, times, states, horizon, model_config, train_config, dev, seed, progress)


def _fit_deeponet(
    x0: np.ndarray,
    times: Sequence[np.ndarray],
    states: Sequence[np.ndarray],
    horizon: float | None,
    model_config: DeepONetModelConfig,
    train_config: DeepONetTrainConfig,
    dev: torch.device,
    seed: int,
    progress: ProgressFn | None,
) -> DeepONetFit:
    gen = seed_everything(seed)
    tc = train_config
    x0 = np.asarray(x0, dtype=float)
    if x0.ndim != 2 or len(times) != x0.shape[0] or len(states) != x0.shape[0]:
        raise ValueError(
            f"expected x0 of shape (B, D) and B time and state arrays, found x0 {x0.shape}, "
            f"{len(times)} time arrays, {len(states)} state arrays"
        )
    n_state = x0.shape[1]
    all_x = np.concatenate([np.asarray(s, dtype=float) for s in states] + [x0], axis=0)
    mean = all_x.mean(axis=0)
    std = np.maximum(all_x.std(axis=0), 1e-8)
    horizon = float(horizon if horizon is not None else max(float(np.max(t)) for t in times))

    # Trajectories on the same time grid form a group: one branch pass per trajectory and one trunk pass per
    # grid point, instead of one pass per (trajectory, time) pair.
    f32 = dict(dtype=torch.float32, device=dev)
    groups: dict[bytes, list[int]] = {}
    for i, t in enumerate(times):
        groups.setdefault(np.asarray(t, dtype=float).tobytes(), []).append(i)
    batches = []  # (z0 (G, D), tau (M,), target (G, M, D))
    for members in groups.values():
        t = np.asarray(times[members[0]], dtype=float)
        z0 = torch.as_tensor((x0[members] - mean) / std, **f32)
        tgt = torch.as_tensor((np.stack([np.asarray(states[i], dtype=float) for i in members]) - mean) / std, **f32)
        batches.append((z0, torch.as_tensor(t / horizon, **f32), tgt))

    model = DeepONet(n_state, model_config).to(dev)
    opt, sched = adam_cosine(model.parameters(), tc.lr, tc.steps, final_fraction=0.01)

    def loss(step: int) -> torch.Tensor:  # noqa: ARG001 (every step alike)
        sq, count = torch.zeros((), device=dev), 0
        for z0, tau, tgt in batches:
            if z0.shape[0] > tc.batch_trajectories:
                pick = torch.randperm(z0.shape[0], generator=gen)[: tc.batch_trajectories].to(dev)
                z0, tgt = z0[pick], tgt[pick]
            pred = model(z0, tau)  # (G, M, D)
            sq = sq + ((pred - tgt) ** 2).sum()
            count += tgt.numel()
        return sq / count

    log = train_loop(loss, opt, steps=tc.steps, name="DeepONet", scheduler=sched, log_every=200,
                     time_budget_s=tc.time_budget_s, progress=progress)
    return DeepONetFit(
        model.eval(), torch.as_tensor(mean, **f32), torch.as_tensor(std, **f32), horizon, log.history, log.elapsed_s()
    )
