"""PROSE training loop and folder round-trip: schedule, CSV log, checkpoints, resume, save/load."""

from __future__ import annotations

import csv

import pytest
import torch

from models.prose import ProseConfig, ProseModel, TrainConfig, load_model, lr_factor, save_pretrained, train
from models.prose.train import LOG_NAME, STATE_NAME

V = 20


def tiny_model(seed: int = 0) -> ProseModel:
    torch.manual_seed(seed)
    return ProseModel(ProseConfig(vocab_size=V, d_model=32, n_heads=2, d_ff=64, max_symbol_len=16,
                                  n_time_frequencies=4))


def toy_dataset(n: int = 24, seed: int = 0) -> dict[str, torch.Tensor]:
    """Damped oscillations x(t) = a exp(-t) cos(w t); the target 'equation' encodes w as a token."""
    g = torch.Generator().manual_seed(seed)
    T, Q, D = 16, 8, 5
    w = torch.randint(1, 4, (n,), generator=g)
    a = 1.0 + torch.rand(n, generator=g)
    t_in = torch.linspace(0.0, 2.0, T).repeat(n, 1)
    t_q = torch.linspace(0.0, 6.0, Q).repeat(n, 1)
    f = lambda t: a[:, None] * torch.exp(-0.2 * t) * torch.cos(w[:, None] * t)  # noqa: E731
    x_in = torch.zeros(n, T, D)
    x_in[:, :, 0] = f(t_in)
    x_q = torch.zeros(n, Q, D)
    x_q[:, :, 0] = f(t_q)
    dim_mask = torch.zeros(n, D, dtype=torch.bool)
    dim_mask[:, 0] = True
    target = torch.stack([torch.ones(n, dtype=torch.long), 3 + w, torch.full((n,), 2)], dim=1)
    return {"t_in": t_in, "x_in": x_in, "in_pad": torch.zeros(n, T, dtype=torch.bool), "dim_mask": dim_mask,
            "guess": torch.zeros(n, 3, dtype=torch.long), "t_query": t_q, "x_query": x_q, "target": target}


def test_lr_schedule():
    cfg = TrainConfig(steps=100, warmup_steps=10, schedule="cosine", min_lr_ratio=0.1)
    assert lr_factor(0, cfg) == pytest.approx(0.1)
    assert lr_factor(9, cfg) == pytest.approx(1.0)
    assert lr_factor(100, cfg) == pytest.approx(0.1)
    assert lr_factor(55, cfg) == pytest.approx(0.55, abs=0.01)
    assert lr_factor(20, cfg, time_fraction=1.0) == pytest.approx(0.1)  # the time budget is spent
    assert lr_factor(55, cfg, time_fraction=0.1) == pytest.approx(lr_factor(55, cfg))
    lin = cfg.replace(schedule="linear")
    assert lr_factor(55, lin) == pytest.approx(0.1 + 0.9 * 0.5, abs=0.01)
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="step")


def test_train_logs_checkpoints_and_resumes(tmp_path):
    data = toy_dataset()
    cfg = TrainConfig(steps=40, batch_size=8, lr=3e-3, warmup_steps=4, eval_every=20, save_every=20, log_every=10,
                      eval_batches=2, seed=1)
    model = tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    summary = train(model, data, cfg.replace(steps=20), tmp_path, eval_data=toy_dataset(8, seed=5),
                    device="cpu", progress=False)
    assert summary["step"] == 20 and summary["stopped_by"] == "steps"
    assert (tmp_path / "config.json").is_file() and (tmp_path / "model.safetensors").is_file()
    assert (tmp_path / STATE_NAME).is_file()
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    # Resume to 40 steps: starts at step 20, appends to the same log.
    model2 = tiny_model(seed=3)
    summary2 = train(model2, data, cfg, tmp_path, eval_data=toy_dataset(8, seed=5), device="cpu", resume=True,
                     progress=False)
    assert summary2["step"] == 40
    rows = list(csv.DictReader((tmp_path / LOG_NAME).open()))
    steps = [int(r["step"]) for r in rows]
    assert steps == sorted(steps) and steps[0] == 10 and steps[-1] == 40
    evals = [r for r in rows if r["eval_loss"]]
    assert len(evals) == 2 and 0.0 <= float(evals[-1]["eval_token_acc"]) <= 1.0
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])  # it learns
    # A fresh model from the folder matches the trained one.
    loaded = load_model(tmp_path)
    model2.eval()
    with torch.no_grad():
        a, _ = model2(data)
        b, _ = loaded(data)
    torch.testing.assert_close(a["x_query"], b["x_query"])


class _Payload:
    """Pickled as a call that creates ``path``: what a crafted training-state file could run when unpickled."""

    def __init__(self, path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').close()",))


def test_resume_state_is_loaded_as_weights_only(tmp_path):
    cfg = TrainConfig(steps=4, batch_size=4, save_every=2, log_every=2, eval_every=100)
    train(tiny_model(), toy_dataset(8), cfg, tmp_path, device="cpu", progress=False)
    state = torch.load(tmp_path / STATE_NAME, weights_only=True)  # tensors and plain values only
    assert state["step"] == 4 and "optimizer" in state

    sentinel = tmp_path / "ran"
    state["extra"] = _Payload(sentinel)
    torch.save(state, tmp_path / STATE_NAME)
    from models.prose.io import CheckpointError

    with pytest.raises(CheckpointError, match="cannot resume from .*train_state.pt.*delete it") as info:
        train(tiny_model(), toy_dataset(8), cfg.replace(steps=6), tmp_path, device="cpu", resume=True,
              progress=False)
    assert not sentinel.exists(), "unpickling the training state ran code"
    assert "\n" not in str(info.value)


def test_time_budget_stops_and_saves(tmp_path):
    cfg = TrainConfig(steps=10_000, batch_size=4, max_minutes=0.0, save_every=10_000)
    summary = train(tiny_model(), toy_dataset(8), cfg, tmp_path, device="cpu", progress=False)
    assert summary["stopped_by"] == "time" and summary["step"] == 1
    assert (tmp_path / "model.safetensors").is_file()


def test_save_and_load_roundtrip(tmp_path):
    model = tiny_model().eval()
    save_pretrained(model, tmp_path / "ckpt", metadata={"note": "toy"})
    loaded = load_model(tmp_path / "ckpt")
    for (k, v), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    assert loaded.config == model.config
    (tmp_path / "ckpt" / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_model(tmp_path / "ckpt")


def test_mismatched_dataset_is_refused(tmp_path):
    data = toy_dataset(8)
    data["target"] = data["target"][:4]
    with pytest.raises(ValueError, match="same first dimension"):
        train(tiny_model(), data, TrainConfig(steps=1, batch_size=2), tmp_path, device="cpu", progress=False)


def _ddp_worker(rank: int, world: int, port: int, folder: str) -> None:
    import os

    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    model = tiny_model(seed=rank)  # different initial weights: DDP broadcasts rank 0's
    cfg = TrainConfig(steps=6, batch_size=4, lr=3e-3, warmup_steps=2, save_every=3, log_every=3, seed=0)
    summary = train(model, toy_dataset(16), cfg, folder, device="cpu", progress=False)
    torch.save({"step": summary["step"], "state": model.state_dict()}, f"{folder}/rank{rank}.pt")


def test_distributed_data_parallel_on_cpu(tmp_path):
    """Two processes with the gloo backend, as under torchrun: weights stay in sync, rank 0 writes the folder."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert r0["step"] == r1["step"] == 6
    for k in r0["state"]:
        torch.testing.assert_close(r0["state"][k], r1["state"][k])
    loaded = load_model(tmp_path)
    for k, v in loaded.state_dict().items():
        torch.testing.assert_close(v, r0["state"][k])
    rows = list(csv.DictReader((tmp_path / LOG_NAME).open()))
    assert [int(r["step"]) for r in rows] == [3, 6]  # one writer
