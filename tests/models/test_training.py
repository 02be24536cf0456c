"""The training-loop helpers shared by the PINN, the neural ODE and DeepONet (models/training.py)."""

from __future__ import annotations

import pytest
import torch

from models.training import adam_cosine, cpu_threads, seed_everything, train_loop, training_device

torch.set_num_threads(1)


def _quadratic(target: float = 1.0):
    w = torch.nn.Parameter(torch.zeros(2))
    return w, (lambda step: ((w - target) ** 2).sum())


def test_minimizes_and_logs_every_interval_and_the_last_step() -> None:
    w, loss = _quadratic()
    opt, sched = adam_cosine([w], lr=0.1, steps=250, final_fraction=0.1)
    reports: list[tuple[str, float]] = []
    log = train_loop(loss, opt, steps=250, name="toy", scheduler=sched, log_every=100,
                     progress=lambda m, f: reports.append((m, f)), progress_share=0.5)
    torch.testing.assert_close(w.detach(), torch.ones(2), atol=1e-3, rtol=0)
    assert [h["step"] for h in log.history] == [0, 100, 200, 249]
    assert log.history[0]["loss"] == pytest.approx(2.0)
    assert reports[0] == ("toy step 0/250, loss 2", 0.0)
    assert reports[-1][1] == pytest.approx(249 / 250 * 0.5)
    assert not log.out_of_time and log.elapsed_s() > 0
    assert sched.get_last_lr()[0] == pytest.approx(0.01)  # decayed to final_fraction * lr


def test_named_terms_are_logged_and_the_total_minimized() -> None:
    w = torch.nn.Parameter(torch.zeros(1))
    log = train_loop(lambda step: {"a": (w - 1).pow(2).sum(), "b": w.abs().sum() * 0, "total": (w - 1).pow(2).sum()},
                     torch.optim.SGD([w], lr=0.25), steps=3, name="toy", log_every=1)
    assert list(log.history[0]) == ["step", "a", "b", "total"]
    assert [h["total"] for h in log.history] == pytest.approx([1.0, 0.25, 0.0625])


def test_optimizer_per_step_and_a_scheduler_from_a_later_step() -> None:
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt_a, opt_all = torch.optim.SGD([a], lr=0.1), torch.optim.SGD([a, b], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt_all, step_size=1, gamma=0.5)
    seen_b = []

    def loss(step: int) -> torch.Tensor:
        seen_b.append(float(b.detach()))
        return ((a - 1) ** 2 + (b - 1) ** 2).sum()

    train_loop(loss, lambda step: opt_a if step < 2 else opt_all, steps=4, name="toy", scheduler=sched,
               schedule_from=2)
    assert seen_b[:3] == [0.0, 0.0, 0.0]  # b moves only once the second optimizer takes over
    assert seen_b[3] > 0.0
    assert sched.get_last_lr()[0] == pytest.approx(0.1 * 0.5**2)  # stepped at steps 2 and 3 only


def test_time_budget_stops_the_loop() -> None:
    w, loss = _quadratic()
    log = train_loop(loss, torch.optim.SGD([w], lr=0.1), steps=1000, name="toy", time_budget_s=0.0)
    assert log.out_of_time
    assert [h["step"] for h in log.history] == [0]


def test_non_finite_loss_names_the_training_and_the_step() -> None:
    w = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(FloatingPointError, match="toy loss became nan at step 2"):
        train_loop(lambda step: w.sum() * (float("nan") if step == 2 else 1.0), torch.optim.SGD([w], lr=0.1),
                   steps=5, name="toy")


def test_seed_everything_repeats_initialization_and_draws() -> None:
    gen = seed_everything(4)
    first = (torch.nn.Linear(2, 2).weight.detach().clone(), torch.rand(3, generator=gen))
    gen = seed_everything(4)
    second = (torch.nn.Linear(2, 2).weight.detach().clone(), torch.rand(3, generator=gen))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def test_cpu_threads_is_restored() -> None:
    before = torch.get_num_threads()
    with cpu_threads(torch.device("cpu"), 1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with cpu_threads(torch.device("cpu"), None):
        assert torch.get_num_threads() == before


def test_training_device_resolves_and_sets_threads() -> None:
    before = torch.get_num_threads()
    with training_device("cpu", threads=1) as dev:
        assert dev == torch.device("cpu") and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
