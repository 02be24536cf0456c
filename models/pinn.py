"""A PINN with hidden-term networks for partly known ODE systems.

The user knows part of the model and names what is not known, ``dx/dt = known(x, h(x))``, where each hidden term
``h_k`` is a function of a few state variables. Following "A PINN Approach to Symbolic Differential Operator
Discovery with Sparse Data" (Podina et al., 2022), one network ``u(t)`` fits each observed trajectory (the
surrogate) and one small network per hidden term learns ``h_k``; the loss is

    data misfit + equation residual at collocation points (du/dt by autograd) + initial condition,

minimized by Adam, then L-BFGS. The learned hidden terms are later distilled to formulas (in ``discovery/``).

This module only knows tensors: the known part of the model comes in as a torch callable
``rhs(u (B, D), h (B, K)) -> du/dt (B, D)`` in physical units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from models.device import DeviceLike
from models.mlp import EnsembleMLP, mlp
from models.progress import ProgressFn
from models.scaling import rms_rate
from models.training import adam_cosine, seed_everything, train_loop, training_device

RhsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``rhs(u (B, D), h (B, K)) -> du/dt (B, D)``, physical units."""


class Surrogate(nn.Module):
    """One MLP per trajectory from normalized time ``tau`` in ``[-1, 1]`` to normalized state:
    ``(T, N, 1) -> (T, N, D)``.

    The networks see ``tau`` and the Fourier features ``sin(pi k tau), cos(pi k tau)``, ``k = 1..n_frequencies``,
    so that a few oscillations over the window are as easy to fit as a monotone trend.
    """

    def __init__(self, n_traj: int, n_state: int, width: int, depth: int, n_frequencies: int) -> None:
        super().__init__()
        self.register_buffer("freqs", math.pi * torch.arange(1, n_frequencies + 1, dtype=torch.float32))
        self.net = EnsembleMLP(n_traj, 1 + 2 * n_frequencies, n_state, width, depth)

    def forward(self, tau: torch.Tensor) -> torch.Tensor:
        arg = tau * self.freqs  # (T, N, F)
        return self.net(torch.cat([tau, torch.sin(arg), torch.cos(arg)], dim=-1))


@dataclass(frozen=True)
class PINNModelConfig:
    """Network sizes.

    The surrogate is one tanh MLP per trajectory (evaluated together as an ensemble), from normalized time in
    ``[-1, 1]`` and ``surrogate_frequencies`` Fourier features of it to normalized state; each hidden term is a
    tanh MLP from its normalized arguments to a scalar.
    """

    surrogate_width: int = 48
    surrogate_depth: int = 3
    surrogate_frequencies: int = 6
    hidden_width: int = 32
    hidden_depth: int = 2


@dataclass(frozen=True)
class PINNTrainConfig:
    """Loss weights and optimizer schedule.

    Training runs in three Adam phases, then L-BFGS: ``warmup_steps`` fit the surrogate to the data alone;
    ``hidden_steps`` fit the hidden networks to the equation residual with the surrogate frozen (so that an
    untrained hidden network cannot drag the surrogate away from the data); ``adam_steps`` train everything on
    the full loss.
    """

    n_collocation: int = 256
    """Collocation points per trajectory (resampled every Adam step, fixed for L-BFGS)."""
    warmup_steps: int = 500
    hidden_steps: int = 500
    adam_steps: int = 3000
    adam_lr: float = 5e-3
    lbfgs_steps: int = 300
    weight_data: float = 1.0
    weight_residual: float = 1.0
    weight_ic: float = 1.0
    time_budget_s: float | None = None
    """Stop Adam (and skip L-BFGS) after this many seconds; ``None`` = no limit."""
    threads: int | None = 1
    """Torch CPU threads while training on the CPU (see :func:`models.training.cpu_threads`); ``None`` leaves
    torch's setting."""


@dataclass
class PINNFit:
    """A trained PINN with its normalization; answers in physical units.

    Attributes
    ----------
    model:
        The trained :class:`HiddenPINN`.
    history:
        Loss terms recorded during training (``step``, ``data``, ``residual``, ``ic``).
    elapsed_s:
        Training wall time.
    """

    model: "HiddenPINN"
    t0: torch.Tensor  # (T,) float64 on the CPU: absolute clocks (Unix timestamps) keep their resolution
    t_span: torch.Tensor  # (T,)
    x_mean: torch.Tensor  # (D,)
    x_std: torch.Tensor  # (D,)
    history: list[dict[str, float]] = field(default_factory=list)
    elapsed_s: float = 0.0

    @torch.no_grad()
    def states(self, trajectory: int, t: np.ndarray) -> np.ndarray:
        """Surrogate states ``(N, D)`` of trajectory ``trajectory`` at times ``t`` ``(N,)``."""
        dev = self.x_mean.device
        shifted = np.asarray(t, dtype=np.float64) - float(self.t0[trajectory])  # in float64, then to float32
        tt = torch.as_tensor(shifted, dtype=torch.float32, device=dev)
        tau = 2.0 * tt / self.t_span[trajectory] - 1.0  # (N,)
        taus = torch.zeros(self.model.n_traj, tau.numel(), 1, device=dev)
        taus[trajectory, :, 0] = tau
        z = self.model.surrogate(taus)[trajectory]  # (N, D)
        return (z * self.x_std + self.x_mean).cpu().numpy().astype(float)

    @torch.no_grad()
    def hidden(self, k: int, args: np.ndarray) -> np.ndarray:
        """Values ``(N,)`` of hidden term ``k`` at physical arguments ``args`` ``(N, a_k)``."""
        dev = self.x_mean.device
        a = torch.as_tensor(np.asarray(args, dtype=np.float32), device=dev).reshape(-1, len(self.model.hidden_args[k]))
        idx = list(self.model.hidden_args[k])
        z = (a - self.x_mean[idx]) / self.x_std[idx]
        return self.model.hidden_value(k, z).cpu().numpy().astype(float)


class HiddenPINN(nn.Module):
    """Surrogate ensemble ``u_i(tau)`` plus one network per hidden term.

    Parameters
    ----------
    n_traj, n_state:
        Number of trajectories ``T`` and state variables ``D``.
    hidden_args:
        For each hidden term, the indices of the state variables it takes, e.g. ``[(0, 1)]``.
    hidden_scales:
        Output scale of each hidden network (a typical magnitude of the term, physical units).
    config:
        Network sizes.
    """

    def __init__(
        self,
        n_traj: int,
        n_state: int,
        hidden_args: Sequence[Sequence[int]],
        hidden_scales: Sequence[float],
        config: PINNModelConfig = PINNModelConfig(),
    ) -> None:
        super().__init__()
        self.n_traj = n_traj
        self.n_state = n_state
        self.hidden_args = [tuple(int(i) for i in a) for a in hidden_args]
        self.surrogate = Surrogate(
            n_traj, n_state, config.surrogate_width, config.surrogate_depth, config.surrogate_frequencies
        )
        self.hidden_nets = nn.ModuleList(
            [mlp(len(a), 1, config.hidden_width, config.hidden_depth) for a in self.hidden_args]
        )
        self.register_buffer("hidden_scales", torch.tensor([float(s) for s in hidden_scales]))

    def hidden_value(self, k: int, z_args: torch.Tensor) -> torch.Tensor:
        """Hidden term ``k`` (physical units, ``(B,)``) at normalized arguments ``z_args`` ``(B, a_k)``."""
        return self.hidden_nets[k](z_args)[:, 0] * self.hidden_scales[k]

    def hidden_values(self, z: torch.Tensor) -> torch.Tensor:
        """All hidden terms ``(B, K)`` at normalized states ``z`` ``(B, D)``."""
        cols = [self.hidden_value(k, z[:, list(a)]) for k, a in enumerate(self.hidden_args)]
        return torch.stack(cols, dim=1)


def fit_pinn(
    times: Sequence[torch.Tensor | np.ndarray],
    states: Sequence[torch.Tensor | np.ndarray],
    rhs: RhsFn,
    hidden_args: Sequence[Sequence[int]],
    *,
    hidden_scales: Sequence[float] | None = None,
    model_config: PINNModelConfig = PINNModelConfig(),
    train_config: PINNTrainConfig = PINNTrainConfig(),
    device: DeviceLike = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> PINNFit:
    """Train a :class:`HiddenPINN` on observed trajectories.

    Parameters
    ----------
    times, states:
        One ``(N_i,)`` time vector and one ``(N_i, D)`` state array per trajectory (physical units).
    rhs:
        The known model ``rhs(u (B, D), h (B, K)) -> du/dt (B, D)`` with the hidden terms as the columns of ``h``.
    hidden_args:
        For each hidden term, the indices of the state variables it depends on.
    hidden_scales:
        Typical magnitude of each hidden term; default: the root-mean-square rate of the variables.
    model_config, train_config:
        Network sizes and optimization schedule.
    device:
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``.
    seed:
        Seeds network initialization and collocation sampling.
    progress:
        Optional ``progress(message, fraction)`` callback.

    Returns
    -------
    PINNFit

    Examples
    --------
    >>> import numpy as np, torch
    >>> t = np.linspace(0, 2, 20); x = np.exp(-t)[:, None]            # dx/dt = h1(x) with h1 = -x
    >>> fit = fit_pinn([t], [x], lambda u, h: h, [(0,)],
    ...                train_config=PINNTrainConfig(warmup_steps=50, adam_steps=200, lbfgs_steps=0), device="cpu")
    >>> fit.hidden(0, np.array([[0.5]])).shape
    (1,)
    """
    with training_device(device, train_config.threads) as dev:
        return _fit_pinn(times, states, rhs, hidden_args, hidden_scales, model_config, train_config, dev, seed,
                         progress)


def _fit_pinn(
    times: Sequence[torch.Tensor | np.ndarray],
    states: Sequence[torch.Tensor | np.ndarray],
    rhs: RhsFn,
    hidden_args: Sequence[Sequence[int]],
    hidden_scales: Sequence[float] | None,
    model_config: PINNModelConfig,
    train_config: PINNTrainConfig,
    dev: torch.device,
    seed: int,
    progress: ProgressFn | None,
) -> PINNFit:
    gen = seed_everything(seed)
    tc = train_config
    # times relative to each trajectory's start, subtracted in float64: float32 would round Unix timestamps
    # (1.7e9 s) to steps of 128 s
    times64 = [np.asarray(t, dtype=np.float64) for t in times]
    t0 = torch.tensor([t[0] for t in times64], dtype=torch.float64)  # (T,), kept on the CPU
    ts = [torch.as_tensor((t - t[0]).astype(np.float32)).to(dev) for t in times64]
    xs = [torch.as_tensor(np.asarray(x, dtype=np.float32)).to(dev) for x in states]
    n_traj, n_state = len(xs), xs[0].shape[1]

    # Normalization: state per variable over all data; time per trajectory to [-1, 1].
    allx = torch.cat(xs, dim=0)  # (sum N_i, D)
    x_mean = allx.mean(dim=0)
    x_std = allx.std(dim=0).clamp_min(1e-6)
    t_span = torch.stack([t[-1] for t in ts]).clamp_min(1e-8)  # (T,)
    if hidden_scales is None:
        rate = rms_rate(ts, xs)
        hidden_scales = [float(rate[list(a)].mean()) for a in hidden_args]

    # Data padded to (T, Nmax) with a mask.
    n_max = max(x.shape[0] for x in xs)
    tau_d = torch.zeros(n_traj, n_max, 1, device=dev)
    z_d = torch.zeros(n_traj, n_max, n_state, device=dev)
    mask = torch.zeros(n_traj, n_max, device=dev)
    for i, (t, x) in enumerate(zip(ts, xs)):
        n = x.shape[0]
        tau_d[i, :n, 0] = 2.0 * t / t_span[i] - 1.0
        z_d[i, :n] = (x - x_mean) / x_std
        mask[i, :n] = 1.0
    # d(tau)/dt = 2 / span: du_v/dt = x_std_v * 2 / span_i * dz_v/dtau
    rate_scale = x_std[None, :] * 2.0 / t_span[:, None]  # (T, D)
    # the residual is measured relative to each variable's typical rate, so that its size does not depend on
    # how many oscillations the window holds
    rate_rms = rms_rate(ts, xs)  # (D,)

    model = HiddenPINN(n_traj, n_state, hidden_args, hidden_scales, model_config).to(dev)

    def losses(tau_c: torch.Tensor, use_residual: bool) -> dict[str, torch.Tensor]:
        z = model.surrogate(tau_d)  # (T, Nmax, D)
        err = ((z - z_d) ** 2).sum(-1)  # (T, Nmax)
        out = {"data": (err * mask).sum() / (mask.sum() * n_state)}
        out["ic"] = err[:, 0].mean() / n_state
        if use_residual:
            tau_c = tau_c.requires_grad_(True)
            zc = model.surrogate(tau_c)  # (T, C, D)
            dz = torch.stack(
                [torch.autograd.grad(zc[..., d].sum(), tau_c, create_graph=True)[0][..., 0] for d in range(n_state)],
                dim=-1,
            )  # (T, C, D) d z / d tau
            flat = zc.reshape(-1, n_state)  # (T*C, D)
            u = flat * x_std + x_mean
            h = model.hidden_values(flat)  # (T*C, K)
            f = rhs(u, h).reshape(zc.shape)  # (T, C, D) physical du/dt
            res = (dz * rate_scale[:, None, :] - f) / rate_rms
            out["residual"] = (res**2).mean()
        else:
            out["residual"] = torch.zeros((), device=dev)
        out["total"] = tc.weight_data * out["data"] + tc.weight_ic * out["ic"] + tc.weight_residual * out["residual"]
        return out

    def sample_collocation() -> torch.Tensor:
        u = torch.rand(n_traj, tc.n_collocation, 1, generator=gen)
        return (2.0 * u - 1.0).to(dev)  # (T, C, 1)

    opt, sched = adam_cosine(model.parameters(), tc.adam_lr, tc.adam_steps, final_fraction=0.05)
    opt_hidden = torch.optim.Adam(model.hidden_nets.parameters(), lr=tc.adam_lr)
    phase_end = (tc.warmup_steps, tc.warmup_steps + tc.hidden_steps)
    log = train_loop(
        lambda step: losses(sample_collocation(), step >= phase_end[0]),
        lambda step: opt_hidden if phase_end[0] <= step < phase_end[1] else opt,
        steps=phase_end[1] + tc.adam_steps, name="PINN Adam", scheduler=sched, schedule_from=phase_end[1],
        time_budget_s=tc.time_budget_s, progress=progress, progress_share=0.85,
    )
    if tc.lbfgs_steps > 0 and not log.out_of_time:
        _lbfgs(model, losses, sample_collocation(), tc.lbfgs_steps, log.history)
    if progress is not None:
        progress("PINN trained", 1.0)
    return PINNFit(model.eval(), t0, t_span, x_mean, x_std, log.history, log.elapsed_s())


def _lbfgs(model: nn.Module, losses: Callable, tau_c: torch.Tensor, steps: int, history: list) -> None:
    """L-BFGS polish on fixed collocation points; keeps the Adam weights if it diverges."""
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    loss_before = float(losses(tau_c.clone(), True)["total"].detach())
    opt = torch.optim.LBFGS(
        model.parameters(), lr=1.0, max_iter=steps, history_size=50, line_search_fn="strong_wolfe",
        tolerance_grad=1e-9, tolerance_change=1e-12,
    )

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        total = losses(tau_c.clone(), True)["total"]
        total.backward()
        return total

    opt.step(closure)
    terms = losses(tau_c.clone(), True)
    after = float(terms["total"].detach())
    if not math.isfinite(after) or after > loss_before:
        model.load_state_dict(before)
        return
    history.append({"step": -1, **{k: float(v.detach()) for k, v in terms.items()}})
