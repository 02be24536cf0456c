"""A neural ODE: an MLP vector field fitted to trajectories with torchdiffeq, by multiple shooting.

Every observed point starts a short window; the window's start state is a free parameter (initialized at the
observation, so noise in the start point is corrected, as in multiple shooting), the network integrates it over
the next ``window`` observations, and the loss compares the integrated states with the observations. Short
windows keep gradients tame for long or chaotic data. States are normalized per variable and time by a
characteristic time scale, so one set of defaults fits systems of any units.

The fitted field is later distilled to formulas (in ``discovery/``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from models.device import DeviceLike
from models.mlp import mlp
from models.progress import ProgressFn
from models.scaling import rms_rate
from models.training import adam_cosine, seed_everything, train_loop, training_device


@dataclass(frozen=True)
class NODEModelConfig:
    """Vector-field network: ``depth`` hidden layers of ``width`` units with ``activation`` (``"tanh"``,
    ``"softplus"`` or ``"silu"``, see :data:`models.mlp.ACTIVATIONS`)."""

    width: int = 64
    depth: int = 2
    activation: str = "tanh"


@dataclass(frozen=True)
class NODETrainConfig:
    """Multiple-shooting schedule.

    ``window`` observations per window (after its start), ``substeps`` RK4 steps between consecutive
    observation times, ``batch_windows`` windows per Adam step (all of them when fewer).
    """

    window: int = 6
    substeps: int = 2
    batch_windows: int = 256
    steps: int = 1500
    lr: float = 1e-2
    weight_decay: float = 0.0
    time_budget_s: float | None = None
    """Stop early after this many seconds; ``None`` = no limit."""
    threads: int | None = 1
    """Torch CPU threads while training on the CPU (see :func:`models.training.cpu_threads`)."""


class VectorField(nn.Module):
    """Autonomous vector field ``dz/dtau = g(z)`` on normalized states ``z`` ``(B, D)``."""

    def __init__(self, n_state: int, config: NODEModelConfig = NODEModelConfig()) -> None:
        super().__init__()
        self.net = mlp(n_state, n_state, config.width, config.depth, config.activation)

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:  # noqa: ARG002 (autonomous)
        return self.net(z)


@dataclass
class NODEFit:
    """A trained neural ODE with its normalization; answers in physical units.

    Attributes
    ----------
    network:
        The trained :class:`VectorField` (normalized units).
    x_mean, x_std:
        State normalization ``(D,)``.
    t_scale:
        Time unit of the normalized field: ``dz/dtau`` with ``tau = t / t_scale``.
    start_states:
        Fitted (denoised) start states of the windows, physical units ``(W, D)``.
    history:
        Loss recorded during training.
    """

    network: VectorField
    x_mean: torch.Tensor
    x_std: torch.Tensor
    t_scale: float
    start_states: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)
    elapsed_s: float = 0.0

    @torch.no_grad()
    def vector_field(self, x: np.ndarray) -> np.ndarray:
        """``dx/dt`` ``(N, D)`` at physical states ``x`` ``(N, D)``."""
        xx = torch.as_tensor(np.asarray(x, dtype=np.float32), device=self.x_mean.device)
        g = self.network(None, (xx - self.x_mean) / self.x_std)
        return (g * self.x_std / self.t_scale).cpu().numpy().astype(float)

    @torch.no_grad()
    def simulate(self, x0: np.ndarray, t: np.ndarray, substeps: int = 4) -> np.ndarray:
        """Integrate the learned field from ``x0`` ``(D,)`` or ``(B, D)`` over times ``t`` ``(N,)``.

        Returns ``(N, D)`` or ``(N, B, D)``, physical units (RK4 with ``substeps`` steps per interval).
        """
        from torchdiffeq import odeint

        dev = self.x_mean.device
        x0 = torch.as_tensor(np.asarray(x0, dtype=np.float32), device=dev)
        t = np.asarray(t, dtype=np.float64)
        tau = torch.as_tensor((t - t[0]) / self.t_scale, dtype=torch.float32, device=dev)  # float64 shift first
        grid, pick = _refine_grid(tau, substeps)
        z = odeint(self.network, (x0 - self.x_mean) / self.x_std, grid, method="rk4")[pick]
        return (z * self.x_std + self.x_mean).cpu().numpy().astype(float)


class _IndexTimeField(nn.Module):
    """``dz/ds = step[:, j] * g(z)`` on ``s`` in ``[j, j + 1]``: the field in each window's index time.

    torchdiffeq's fixed-grid solvers call :meth:`callback_step` with the start of every step, which tells the
    interval ``j`` (every step of the refined grid lies inside one interval).
    """

    def __init__(self, field: VectorField, step: torch.Tensor) -> None:
        super().__init__()
        self.field, self.step, self.j = field, step, 0  # step: (B, K - 1)

    def callback_step(self, t0: torch.Tensor, y0: torch.Tensor, dt: torch.Tensor) -> None:  # noqa: ARG002
        self.j = min(max(int(torch.floor(t0 + 1e-4)), 0), self.step.shape[1] - 1)

    def forward(self, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.step[:, self.j, None] * self.field(s, z)  # (B, D)


def _refine_grid(times: torch.Tensor, substeps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Insert ``substeps - 1`` equally spaced points into every interval of sorted ``times`` ``(M,)``.

    Returns the fine grid and the indices of the original times in it.
    """
    if times.numel() < 2 or substeps <= 1:
        return times, torch.arange(times.numel(), device=times.device)
    frac = torch.arange(substeps, device=times.device, dtype=times.dtype) / substeps  # (S,)
    inner = times[:-1, None] + (times[1:] - times[:-1])[:, None] * frac[None, :]  # (M-1, S)
    grid = torch.cat([inner.reshape(-1), times[-1:]])
    pick = torch.arange(times.numel(), device=times.device) * substeps
    return grid, pick


def _time_scale(times: Sequence[torch.Tensor], states: Sequence[torch.Tensor], x_std: torch.Tensor) -> float:
    """A characteristic time: median over variables of ``std(x_v) / rms(dx_v/dt)``."""
    return float(torch.median(x_std / rms_rate(times, states, floor=1e-12)))


def fit_node(
    times: Sequence[torch.Tensor | np.ndarray],
    states: Sequence[torch.Tensor | np.ndarray],
    *,
    model_config: NODEModelConfig = NODEModelConfig(),
    train_config: NODETrainConfig = NODETrainConfig(),
    device: DeviceLike = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> NODEFit:
    """Fit a neural ODE to trajectories by multiple shooting over short windows.

    Parameters
    ----------
    times, states:
        One ``(N_i,)`` time vector (strictly increasing) and one ``(N_i, D)`` state array per trajectory.
    model_config, train_config:
        Network and schedule (see :class:`NODEModelConfig`, :class:`NODETrainConfig`).
    device:
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``.
    seed:
        Seeds initialization and window sampling.
    progress:
        Optional ``progress(message, fraction)`` callback.

    Returns
    -------
    NODEFit

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 3, 30); x = np.exp(-t)[:, None]
    >>> fit = fit_node([t], [x], train_config=NODETrainConfig(steps=50), device="cpu")
    >>> fit.vector_field(np.array([[0.5]])).shape
    (1, 1)
    """
    with training_device(device, train_config.threads) as dev:
        return _fit_node(times, states, model_config, train_config, dev, seed, progress)


def _fit_node(
    times: Sequence[torch.Tensor | np.ndarray],
    states: Sequence[torch.Tensor | np.ndarray],
    model_config: NODEModelConfig,
    train_config: NODETrainConfig,
    dev: torch.device,
    seed: int,
    progress: ProgressFn | None,
) -> NODEFit:
    from torchdiffeq import odeint

    gen = seed_everything(seed)
    tc = train_config
    ts = [torch.as_tensor(np.asarray(t, dtype=np.float64)) for t in times]
    xs = [torch.as_tensor(np.asarray(x, dtype=np.float64)) for x in states]
    if max(x.shape[0] for x in xs) < 2:
        raise ValueError("fit_node needs at least one trajectory with 2 or more points; found none")
    n_state = xs[0].shape[1]
    allx = torch.cat(xs, dim=0)
    x_mean, x_std = allx.mean(dim=0), allx.std(dim=0).clamp_min(1e-8)
    t_scale = _time_scale(ts, xs, x_std)

    # Windows: each observation that has at least one successor starts one; k = min(window, N_i - 1) steps.
    starts, rel, targets = [], [], []
    for t, x in zip(ts, xs):
        n = x.shape[0]
        k = min(tc.window, n - 1)
        if k < 1:
            continue
        for j in range(n - k):
            starts.append((x[j] - x_mean) / x_std)
            rel.append((t[j : j + k + 1] - t[j]) / t_scale)
            targets.append((x[j : j + k + 1] - x_mean) / x_std)
    k_max = max(r.numel() for r in rel)
    n_win = len(starts)
    # pad windows to k_max + 1 points with a mask (shorter trajectories have shorter windows)
    rel_pad = torch.zeros(n_win, k_max)
    tgt_pad = torch.zeros(n_win, k_max, n_state)
    mask = torch.zeros(n_win, k_max)
    for w, (r, y) in enumerate(zip(rel, targets)):
        m = r.numel()
        rel_pad[w, :m], tgt_pad[w, :m], mask[w, :m] = r.float(), y.float(), 1.0
    # Windows are integrated together in "index time" s: between observations j and j + 1 of window w,
    # dt/ds = dts[w, j], so every window uses the same s grid 0, 1, ..., K (refined by substeps) whatever its
    # time spacing; padded steps are zero (the state stays put, and is masked out).
    dts = torch.diff(rel_pad, dim=1) * (mask[:, 1:] > 0)  # (W, K - 1)
    s_grid, pick = _refine_grid(torch.arange(k_max, dtype=torch.float32), tc.substeps)
    s_grid, pick, dts = s_grid.to(dev), pick.to(dev), dts.to(dev)
    rel_pad, tgt_pad, mask = rel_pad.to(dev), tgt_pad.to(dev), mask.to(dev)

    vf = VectorField(n_state, model_config).to(dev)
    z0 = nn.Parameter(torch.stack(starts).float().to(dev))  # (W, D) free start states
    opt, sched = adam_cosine(
        [{"params": vf.parameters(), "weight_decay": tc.weight_decay}, {"params": [z0], "lr": tc.lr * 0.1}], tc.lr,
        tc.steps, final_fraction=0.02,
    )

    def loss(step: int) -> torch.Tensor:  # noqa: ARG001 (every step alike)
        batch = (
            torch.randperm(n_win, generator=gen)[: tc.batch_windows].to(dev)
            if n_win > tc.batch_windows
            else torch.arange(n_win, device=dev)
        )
        field_s = _IndexTimeField(vf, dts[batch])
        pred = odeint(field_s, z0[batch], s_grid, method="rk4")[pick].transpose(0, 1)  # (B, K, D)
        m = mask[batch]
        return (((pred - tgt_pad[batch]) ** 2).sum(-1) * m).sum() / (m.sum() * n_state)

    log = train_loop(loss, opt, steps=tc.steps, name="neural ODE", scheduler=sched,
                     time_budget_s=tc.time_budget_s, progress=progress)
    x_mean32, x_std32 = x_mean.float().to(dev), x_std.float().to(dev)
    start_states = (z0.detach() * x_std32 + x_mean32).cpu().numpy().astype(float)
    return NODEFit(vf.eval(), x_mean32, x_std32, t_scale, start_states, log.history, log.elapsed_s())
