"""What the training loops of ``models/`` share: device and CPU threads, seeding, and the Adam loop.

:func:`fit_pinn <models.pinn.fit_pinn>`, :func:`fit_node <models.node.fit_node>` and
:func:`fit_deeponet <models.deeponet.fit_deeponet>` each build their data and network, then hand
:func:`train_loop` a function that computes the loss of one step. The loop owns what they have in common:
zeroing the gradients, the check for a non-finite loss, the optimizer and learning-rate steps, the loss log every
``log_every`` steps with a progress report, and the wall-clock budget.

Examples
--------
>>> import torch
>>> with training_device("cpu", threads=1) as dev:
...     gen = seed_everything(0)
...     w = torch.nn.Parameter(torch.zeros(2, device=dev))
...     opt, sched = adam_cosine([w], lr=0.1, steps=200, final_fraction=0.1)
...     log = train_loop(lambda step: ((w - 1.0) ** 2).sum(), opt, steps=200, name="toy", scheduler=sched)
>>> round(log.history[-1]["loss"], 6), log.out_of_time
(0.0, False)
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Union

import torch

from models.device import DeviceLike, resolve_device
from models.progress import ProgressFn

Loss = Union[torch.Tensor, Mapping[str, torch.Tensor]]
"""A scalar loss, or named loss terms whose ``"total"`` is minimized (every term is logged)."""


@contextlib.contextmanager
def cpu_threads(device: torch.device, threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch CPU threads when ``device`` is the CPU, then restore the setting.

    The networks here are small: one thread trains them fastest, and several threads on a busy machine can be
    many times slower. ``None`` leaves torch's setting alone.
    """
    if threads is None or device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(threads)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def training_device(device: DeviceLike, threads: int | None) -> Iterator[torch.device]:
    """Resolve ``device`` (``"auto"`` = CUDA when present) and train on it with ``threads`` CPU threads
    (:func:`cpu_threads`); yields the ``torch.device``."""
    dev = resolve_device(device)
    with cpu_threads(dev, threads):
        yield dev


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch's global generator (network initialization) and return a CPU generator seeded alike, for the
    random draws of training (batches, collocation points)."""
    torch.manual_seed(seed)
    return torch.Generator(device="cpu").manual_seed(seed)


def adam_cosine(
    params: object, lr: float, steps: int, final_fraction: float
) -> tuple[torch.optim.Adam, torch.optim.lr_scheduler.CosineAnnealingLR]:
    """Adam over ``params`` (parameters or parameter groups) with a cosine decay of the learning rate from ``lr``
    to ``final_fraction * lr`` over ``steps`` scheduler steps."""
    opt = torch.optim.Adam(params, lr=lr)  # type: ignore[arg-type]
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1), eta_min=lr * final_fraction)
    return opt, sched


@dataclass
class TrainingLog:
    """What :func:`train_loop` recorded.

    Attributes
    ----------
    history:
        One entry every ``log_every`` steps and at the last step: ``{"step": s, "loss": ...}``, or ``"step"`` and
        every named loss term.
    out_of_time:
        Whether the time budget was used up (the loop stopped there, possibly before its last step).
    started:
        ``time.perf_counter()`` when the loop started.
    """

    history: list[dict[str, float]] = field(default_factory=list)
    out_of_time: bool = False
    started: float = field(default_factory=time.perf_counter)

    def elapsed_s(self) -> float:
        """Seconds since the loop started."""
        return time.perf_counter() - self.started


def train_loop(
    loss_fn: Callable[[int], Loss],
    optimizer: torch.optim.Optimizer | Callable[[int], torch.optim.Optimizer],
    *,
    steps: int,
    name: str,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    schedule_from: int = 0,
    log_every: int = 100,
    time_budget_s: float | None = None,
    progress: ProgressFn | None = None,
    progress_share: float = 1.0,
) -> TrainingLog:
    """Minimize ``loss_fn(step)`` for ``steps`` steps; returns the :class:`TrainingLog`.

    Parameters
    ----------
    loss_fn:
        The loss of step ``step`` (a scalar tensor, or a mapping of named terms with the minimized ``"total"``),
        computed after the gradients were zeroed (it may draw random batches).
    optimizer:
        The optimizer, or ``optimizer(step)`` choosing one per step (training in phases).
    steps:
        Number of steps.
    name:
        How progress messages and errors name the training (``"neural ODE"`` -> ``"neural ODE step 100/1500,
        loss 0.012"``).
    scheduler, schedule_from:
        Learning-rate scheduler, stepped after the optimizer from step ``schedule_from`` on.
    log_every:
        Record the loss (and report progress) every this many steps, and at the last one.
    time_budget_s:
        Stop after the step during which this many seconds have passed; ``None`` = no limit.
    progress, progress_share:
        ``progress(message, fraction)`` callback; the loop reports fractions up to ``progress_share``.

    Raises
    ------
    FloatingPointError
        When the loss is not finite (``"<name> loss became nan at step 12"``).
    """
    log = TrainingLog()
    for step in range(steps):
        opt = optimizer(step) if callable(optimizer) else optimizer
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(step)
        terms = loss if isinstance(loss, Mapping) else {"loss": loss}
        key = "total" if isinstance(loss, Mapping) else "loss"
        total = terms[key]
        if not torch.isfinite(total):
            raise FloatingPointError(f"{name} loss became {total.item()} at step {step}")
        total.backward()
        opt.step()
        if scheduler is not None and step >= schedule_from:
            scheduler.step()
        if step % log_every == 0 or step == steps - 1:
            log.history.append({"step": step, **{k: float(v.detach()) for k, v in terms.items()}})
            if progress is not None:
                progress(f"{name} step {step}/{steps}, loss {log.history[-1][key]:.3g}", step / steps * progress_share)
        if time_budget_s is not None and time.perf_counter() - log.started > time_budget_s:
            log.out_of_time = True
            break
    return log


__all__ = ["Loss", "TrainingLog", "adam_cosine", "cpu_threads", "seed_everything", "train_loop", "training_device"]
