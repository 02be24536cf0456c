"""A PINN with hidden-term networks for partly known PDEs ``f_t = g(derivatives, h(...))``.

The PDE form of :mod:`models.pinn` (Podina et al., "A PINN approach to symbolic differential operator discovery
with sparse data", 2022, whose Burgers example is ``u_t = h1(u, u_x) + 0.1 u_xx``): one network ``U(t, x[, y])``
fits the sampled field (the surrogate), one small network per hidden term learns ``h_k`` from its arguments
(fields and spatial derivatives), and the loss is

    data misfit on the grid + weight * PDE residual at random collocation points,

every derivative (``U_t``, ``U_x``, ``U_xx``, ...) taken by automatic differentiation of the surrogate. Training
runs in three Adam phases: the surrogate on the data alone, the hidden networks on the residual with the surrogate
held, then everything on the full loss. The learned hidden terms are distilled to formulas in ``discovery/``.

This module only knows tensors and arrays: the known part comes in as a torch callable
``rhs(d (B, S), h (B, K)) -> f_t (B, F)`` over the values ``d`` of the derivatives it reads, in physical units.

Examples
--------
>>> import numpy as np
>>> t, x = np.linspace(0, 1, 16), np.linspace(0, 1, 16)
>>> u = np.exp(-t)[:, None] * (1 + 0 * x)[None, :]               # u_t = h1(u) with h1 = -u
>>> fit = fit_field_pinn(t, [x], u[None], lambda d, h: h, [(0, (0,))], [(0,)],
...                      train_config=FieldPINNTrainConfig(warmup_steps=20, hidden_steps=20, adam_steps=20),
...                      device="cpu")
>>> fit.hidden(0, np.array([[0.5]])).shape
(1,)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from models.device import DeviceLike
from models.mlp import mlp
from models.progress import ProgressFn
from models.training import adam_cosine, seed_everything, train_loop, training_device

RhsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``rhs(d (B, S), h (B, K)) -> f_t (B, F)``, physical units."""

Derivative = tuple[int, tuple[int, ...]]
"""``(field index, orders per spatial axis)``: ``(0, (2,))`` is ``u_xx``, ``(0, (0,))`` is ``u`` itself."""


@dataclass(frozen=True)
class FieldPINNModelConfig:
    """Network sizes: the surrogate is a tanh MLP from normalized ``(t, x[, y])`` to the normalized fields; each
    hidden term a tanh MLP from its normalized arguments to a scalar."""

    width: int = 48
    depth: int = 4
    hidden_width: int = 32
    hidden_depth: int = 2


@dataclass(frozen=True)
class FieldPINNTrainConfig:
    """Batch sizes, loss weight and the three Adam phases (see the module docstring)."""

    batch_data: int = 1024
    """Grid points of the data misfit per step."""
    n_collocation: int = 1024
    """Collocation points of the residual per step (uniform over the space-time box, redrawn every step)."""
    warmup_steps: int = 1500
    hidden_steps: int = 500
    adam_steps: int = 3000
    lr: float = 3e-3
    weight_residual: float = 1.0
    time_budget_s: float | None = None
    """Stop after this many seconds; ``None`` = no limit."""
    threads: int | None = 1
    """Torch CPU threads while training on the CPU (see :func:`models.training.cpu_threads`)."""


class FieldPINN(nn.Module):
    """Surrogate ``U(s) -> z`` ``(P, 1 + dim) -> (P, F)`` in normalized units, plus one network per hidden term.

    Parameters
    ----------
    n_fields, dim:
        Number of fields and of spatial axes.
    hidden_args:
        For each hidden term, the indices of its arguments among the derivatives the model reads.
    arg_scales:
        Typical magnitude of each derivative read ``(S,)``; the hidden networks see their arguments divided by it.
    hidden_scales:
        Output scale of each hidden network ``(K,)`` (a typical magnitude of the term, physical units).
    config:
        Network sizes.
    """

    def __init__(self, n_fields: int, dim: int, hidden_args: Sequence[Sequence[int]], arg_scales: Sequence[float],
                 hidden_scales: Sequence[float], config: FieldPINNModelConfig = FieldPINNModelConfig()) -> None:
        super().__init__()
        self.hidden_args = [tuple(int(i) for i in a) for a in hidden_args]
        self.surrogate = mlp(1 + dim, n_fields, config.width, config.depth, "tanh")
        self.hidden_nets = nn.ModuleList(
            [mlp(len(a), 1, config.hidden_width, config.hidden_depth, "tanh") for a in self.hidden_args])
        self.register_buffer("arg_scales", torch.tensor([float(s) for s in arg_scales]))
        self.register_buffer("hidden_scales", torch.tensor([float(s) for s in hidden_scales]))

    def hidden_values(self, d: torch.Tensor) -> torch.Tensor:
        """Every hidden term ``(P, K)`` from the physical derivative values ``d`` ``(P, S)``."""
        z = d / self.arg_scales
        cols = [net(z[:, list(a)])[:, 0] * self.hidden_scales[k]
                for k, (net, a) in enumerate(zip(self.hidden_nets, self.hidden_args))]
        return torch.stack(cols, dim=1)


@dataclass
class FieldPINNFit:
    """A trained :class:`FieldPINN` with its normalization; answers in physical units.

    Attributes
    ----------
    model:
        The trained networks.
    derivatives:
        The derivatives the model reads, ``(field, orders)`` each.
    lo, span:
        Lower corner and extent of the space-time box ``(1 + dim,)``: ``s = 2 (p - lo) / span - 1``.
    mean, std:
        Per-field normalization ``(F,)``.
    history:
        Loss terms recorded during training (``step``, ``data``, ``residual``, ``total``).
    elapsed_s:
        Training wall time.
    """

    model: FieldPINN
    derivatives: list[Derivative]
    lo: torch.Tensor
    span: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    elapsed_s: float = 0.0

    def evaluate(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Physical ``(f_t (P, F), d (P, S))`` at normalized points ``s`` ``(P, 1 + dim)`` (with gradients)."""
        if not s.requires_grad:
            s = s.requires_grad_(True)
        z = self.model.surrogate(s)  # (P, F)
        scale = 2.0 / self.span  # d s / d p per coordinate, (1 + dim,)
        cache: dict[tuple[int, tuple[int, ...]], torch.Tensor] = {}

        def grad(g: torch.Tensor, axis: int) -> torch.Tensor:
            return torch.autograd.grad(g.sum(), s, create_graph=True)[0][:, axis]

        def normalized(f: int, orders: tuple[int, ...]) -> torch.Tensor:
            if (f, orders) not in cache:
                if not any(orders):
                    cache[(f, orders)] = z[:, f]
                else:
                    a = max(i for i, n in enumerate(orders) if n)
                    lower = orders[:a] + (orders[a] - 1,) + orders[a + 1:]
                    cache[(f, orders)] = grad(normalized(f, lower), 1 + a)
            return cache[(f, orders)]

        cols = []
        for f, orders in self.derivatives:
            value = normalized(f, tuple(orders)) * self.std[f]
            for a, n in enumerate(orders):
                value = value * scale[1 + a] ** n
            cols.append(value + self.mean[f] if not any(orders) else value)
        n_fields = z.shape[1]
        rates = torch.stack([grad(z[:, f], 0) * self.std[f] * scale[0] for f in range(n_fields)], dim=1)
        return rates, torch.stack(cols, dim=1)

    def _normalized(self, points: np.ndarray) -> torch.Tensor:
        p = torch.as_tensor(np.asarray(points, dtype=np.float32), device=self.mean.device)
        return 2.0 * (p - self.lo) / self.span - 1.0

    def derivative_values(self, points: np.ndarray) -> np.ndarray:
        """The derivatives the model reads ``(P, S)`` at physical points ``(P, 1 + dim)`` = ``(t, x[, y])``."""
        _, d = self.evaluate(self._normalized(points))
        return d.detach().cpu().numpy().astype(float)

    def rates(self, points: np.ndarray) -> np.ndarray:
        """The surrogate's time derivatives ``(P, F)`` at physical points ``(P, 1 + dim)``."""
        f_t, _ = self.evaluate(self._normalized(points))
        return f_t.detach().cpu().numpy().astype(float)

    @torch.no_grad()
    def hidden(self, k: int, args: np.ndarray) -> np.ndarray:
        """Values ``(P,)`` of hidden term ``k`` at physical arguments ``args`` ``(P, a_k)``."""
        a = torch.as_tensor(np.asarray(args, dtype=np.float32), device=self.mean.device)
        idx = list(self.model.hidden_args[k])
        z = a.reshape(-1, len(idx)) / self.model.arg_scales[idx]
        return (self.model.hidden_nets[k](z)[:, 0] * self.model.hidden_scales[k]).cpu().numpy().astype(float)


def fit_field_pinn(
    t: np.ndarray,
    coords: Sequence[np.ndarray],
    values: np.ndarray,
    rhs: RhsFn,
    derivatives: Sequence[Derivative],
    hidden_args: Sequence[Sequence[int]],
    *,
    arg_scales: Sequence[float] | None = None,
    hidden_scales: Sequence[float] | None = None,
    model_config: FieldPINNModelConfig = FieldPINNModelConfig(),
    train_config: FieldPINNTrainConfig = FieldPINNTrainConfig(),
    device: DeviceLike = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> FieldPINNFit:
    """Train a :class:`FieldPINN` on a field sampled on a grid.

    Parameters
    ----------
    t, coords:
        Times ``(Nt,)`` and the spatial coordinates ``[(Nx,)[, (Ny,)]]`` of the grid.
    values:
        The fields ``(F, Nt, Nx[, Ny])``.
    rhs:
        The known model ``rhs(d (B, S), h (B, K)) -> f_t (B, F)``, ``d`` the values of ``derivatives``.
    derivatives:
        The derivatives the model reads, ``(field index, orders per axis)`` each.
    hidden_args:
        For each hidden term, the indices of its arguments in ``derivatives``.
    arg_scales, hidden_scales:
        Typical magnitudes of the derivatives ``(S,)`` and of the hidden terms ``(K,)``; default: the fields'
        standard deviations for every derivative, and the root-mean-square time derivative of the fields.
    model_config, train_config:
        Network sizes and schedule.
    device, seed, progress:
        Torch device (``"auto"`` = CUDA when present), seed, ``progress(message, fraction)`` callback.

    Returns
    -------
    FieldPINNFit
    """
    with training_device(device, train_config.threads) as dev:
        return _fit(t, coords, values, rhs, derivatives, hidden_args, arg_scales, hidden_scales, model_config,
                    train_config, dev, seed, progress)


def _fit(t, coords, values, rhs, derivatives, hidden_args, arg_scales, hidden_scales, mc, tc, dev, seed,
         progress) -> FieldPINNFit:
    gen = seed_everything(seed)
    values = np.asarray(values, dtype=np.float64)
    axes = [np.asarray(t, dtype=np.float64)] + [np.asarray(c, dtype=np.float64) for c in coords]
    if values.ndim != 1 + len(axes) or values.shape[1:] != tuple(a.shape[0] for a in axes):
        raise ValueError(f"expected values of shape (F, {', '.join(str(a.shape[0]) for a in axes)}), "
                         f"found {values.shape}")
    n_fields, dim = values.shape[0], len(coords)
    f32 = {"dtype": torch.float32, "device": dev}
    lo = torch.as_tensor([a[0] for a in axes], **f32)
    span = torch.as_tensor([max(a[-1] - a[0], 1e-12) for a in axes], **f32)
    mean = values.reshape(n_fields, -1).mean(axis=1)
    std = np.maximum(values.reshape(n_fields, -1).std(axis=1), 1e-12)
    rate = np.gradient(values, axes[0], axis=1)  # (F, Nt, *N)
    rate_rms = np.maximum(np.sqrt(np.mean(rate.reshape(n_fields, -1) ** 2, axis=1)), 1e-12)
    if arg_scales is None:
        arg_scales = [float(std[f]) for f, _ in derivatives]
    if hidden_scales is None:
        hidden_scales = [float(rate_rms.mean())] * len(hidden_args)

    grids = np.meshgrid(*axes, indexing="ij")
    points = torch.as_tensor(np.stack([g.ravel() for g in grids], axis=1), **f32)  # (Nt*N, 1 + dim)
    s_data = 2.0 * (points - lo) / span - 1.0
    shape = (-1,) + (1,) * (values.ndim - 1)
    z_data = torch.as_tensor(((values - mean.reshape(shape)) / std.reshape(shape)).reshape(n_fields, -1).T,
                             **f32)  # (Nt*N, F)
    model = FieldPINN(n_fields, dim, hidden_args, arg_scales, hidden_scales, mc).to(dev)
    fit = FieldPINNFit(model, [(int(f), tuple(int(n) for n in o)) for f, o in derivatives], lo, span,
                       torch.as_tensor(mean, **f32), torch.as_tensor(std, **f32))
    rate_t = torch.as_tensor(rate_rms, **f32)

    def losses(step: int) -> dict[str, torch.Tensor]:
        model.zero_grad(set_to_none=True)  # each phase steps some networks: none may carry another's gradients
        idx = torch.randint(0, s_data.shape[0], (min(tc.batch_data, s_data.shape[0]),), generator=gen).to(dev)
        out = {"data": ((model.surrogate(s_data[idx]) - z_data[idx]) ** 2).mean()}
        if step >= tc.warmup_steps:
            s = (2.0 * torch.rand(tc.n_collocation, 1 + dim, generator=gen) - 1.0).to(dev)
            f_t, d = fit.evaluate(s)
            res = (f_t - rhs(d, model.hidden_values(d))) / rate_t
            out["residual"] = (res**2).mean()
        else:
            out["residual"] = torch.zeros((), device=dev)
        out["total"] = out["data"] + tc.weight_residual * out["residual"]
        return out

    opt, sched = adam_cosine(model.parameters(), tc.lr, tc.adam_steps, final_fraction=0.02)
    opt_warm = torch.optim.Adam(model.surrogate.parameters(), lr=tc.lr)
    opt_hidden = torch.optim.Adam(model.hidden_nets.parameters(), lr=tc.lr)
    ends = (tc.warmup_steps, tc.warmup_steps + tc.hidden_steps)

    def phase(step: int) -> torch.optim.Optimizer:
        return opt_warm if step < ends[0] else opt_hidden if step < ends[1] else opt

    log = train_loop(losses, phase, steps=ends[1] + tc.adam_steps, name="field PINN", scheduler=sched,
                     schedule_from=ends[1], log_every=250, time_budget_s=tc.time_budget_s, progress=progress)
    model.eval()
    fit.history, fit.elapsed_s = log.history, log.elapsed_s()
    return fit


__all__ = ["Derivative", "FieldPINN", "FieldPINNFit", "FieldPINNModelConfig", "FieldPINNTrainConfig",
           "fit_field_pinn"]
