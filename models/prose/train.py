"""Training loop of PROSE over in-memory tensors.

AdamW, linear warm-up then cosine or linear decay, mixed precision on CUDA (bf16 or fp16 with a grad scaler),
periodic evaluation, periodic checkpoints that ``resume=True`` continues from, a tqdm progress bar, a CSV log of
metrics, and DistributedDataParallel when the script was launched by ``torchrun`` (``WORLD_SIZE > 1``).

The dataset is a dict of equally long tensors (see :mod:`models.prose.model` for the keys); the training loop
knows nothing about how they were generated.
"""

from __future__ import annotations

import csv
import math
import os
import time
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import torch

from models.device import DeviceLike, resolve_device
from models.prose.config import TrainConfig
from models.prose.io import save_pretrained, torch_load_state
from models.prose.model import ProseModel

if TYPE_CHECKING:  # pragma: no cover
    from grammar.tokenizer import ExpressionTokenizer

Batch = dict[str, torch.Tensor]
STATE_NAME = "train_state.pt"
LOG_NAME = "train_log.csv"
LOG_FIELDS = [
    "step",
    "elapsed_s",
    "lr",
    "loss",
    "data_loss",
    "symbol_loss",
    "eval_loss",
    "eval_data_loss",
    "eval_symbol_loss",
    "eval_token_acc",
    "eval_sequence_acc",
]


def lr_factor(step: int, config: TrainConfig, time_fraction: float = 0.0) -> float:
    """Multiplier of ``config.lr`` at ``step``: linear warm-up, then cosine or linear decay to ``min_lr_ratio``.

    The decay follows the larger of the step fraction and ``time_fraction`` (the share of ``max_minutes`` spent),
    so that a run stopped by its time budget has finished its decay.
    """
    if config.warmup_steps > 0 and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    span = max(config.steps - config.warmup_steps, 1)
    progress = min(max((step - config.warmup_steps) / span, time_fraction, 0.0), 1.0)
    if config.schedule == "cosine":
        decay = 0.5 * (1.0 + math.cos(math.pi * progress))
    else:
        decay = 1.0 - progress
    return config.min_lr_ratio + (1.0 - config.min_lr_ratio) * decay


def dataset_size(data: Batch) -> int:
    sizes = {k: int(v.shape[0]) for k, v in data.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"PROSE dataset: every tensor must have the same first dimension, found {sizes}")
    return next(iter(sizes.values()))


def take(data: Batch, idx: torch.Tensor, device: torch.device) -> Batch:
    """Rows ``idx`` of every tensor, moved to ``device``."""
    return {k: v[idx].to(device, non_blocking=True) for k, v in data.items()}


class _Distributed:
    """Process-group bookkeeping: a no-op unless launched by torchrun with ``WORLD_SIZE > 1``."""

    def __init__(self, device: DeviceLike) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if self.world > 1:
            import torch.distributed as dist

            if torch.cuda.is_available():
                torch.cuda.set_device(self.local_rank)
                self.device = torch.device("cuda", self.local_rank)
                backend = "nccl"
            else:
                self.device = torch.device("cpu")
                backend = "gloo"
            if not dist.is_initialized():
                dist.init_process_group(backend=backend)
        else:
            self.device = resolve_device(device)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def wrap(self, model: ProseModel) -> torch.nn.Module:
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.local_rank] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def any(self, flag: bool, device: torch.device) -> bool:
        """Whether ``flag`` is true on any process (so that every process stops at the same step)."""
        if self.world == 1:
            return flag
        import torch.distributed as dist

        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def _autocast(device: torch.device, amp: str):
    if device.type != "cuda" or amp == "off":
        return nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


@torch.no_grad()
def evaluate(
    model: ProseModel,
    data: Batch,
    batch_size: int,
    n_batches: int | None = None,
    device: DeviceLike = "cpu",
    amp: str = "off",
) -> dict[str, float]:
    """Mean losses, next-token accuracy and whole-sequence accuracy (teacher forcing) on ``data``."""
    device = resolve_device(device) if not isinstance(device, torch.device) else device
    was_training = model.training
    model.eval()
    n = dataset_size(data)
    totals = {"eval_loss": 0.0, "eval_data_loss": 0.0, "eval_symbol_loss": 0.0}
    correct = tokens = seq_ok = seqs = 0
    count = 0
    for b, start in enumerate(range(0, n, batch_size)):
        if n_batches is not None and b >= n_batches:
            break
        batch = take(data, torch.arange(start, min(start + batch_size, n)), device)
        with _autocast(device, amp):
            out, loss = model(batch)
        totals["eval_loss"] += float(loss) if loss is not None else float("nan")
        totals["eval_data_loss"] += float(out.get("data_loss", float("nan")))
        totals["eval_symbol_loss"] += float(out.get("symbol_loss", float("nan")))
        count += 1
        if "logits" in out:
            tgt = batch["target"][:, 1:]
            mask = tgt != model.config.pad_id
            hit = (out["logits"].argmax(-1) == tgt) | ~mask
            correct += int((hit & mask).sum())
            tokens += int(mask.sum())
            seq_ok += int(hit.all(dim=1).sum())
            seqs += int(tgt.shape[0])
    model.train(was_training)
    metrics = {k: v / max(count, 1) for k, v in totals.items()}
    metrics["eval_token_acc"] = correct / tokens if tokens else float("nan")
    metrics["eval_sequence_acc"] = seq_ok / seqs if seqs else float("nan")
    return metrics


def _append_log(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LOG_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: row.get(k, "") for k in LOG_FIELDS})


def train(
    model: ProseModel,
    train_data: Batch,
    config: TrainConfig,
    out_dir: str | Path,
    eval_data: Batch | None = None,
    tokenizer: "ExpressionTokenizer | None" = None,
    device: DeviceLike = "auto",
    resume: bool = False,
    augment: Callable[[Batch, torch.Generator], Batch] | None = None,
    metadata: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``model`` on ``train_data`` and save it to ``out_dir`` (Hugging Face layout) as it goes.

    Parameters
    ----------
    model:
        The network; moved to the device and, under torchrun, wrapped in DistributedDataParallel.
    train_data, eval_data:
        Dicts of tensors with the same first dimension (samples), kept on CPU; batches are moved to the device.
    config:
        Schedule, optimizer, AMP, logging and checkpoint periods.
    out_dir:
        Receives ``config.json``, ``model.safetensors`` (+ tokenizer files), ``train_state.pt`` (optimizer and
        step, for ``resume``) and ``train_log.csv``.
    resume:
        Continue from ``out_dir/train_state.pt`` when it exists.
    augment:
        Optional ``augment(batch, generator) -> batch`` applied to each CPU batch before it is moved to the device.

    Returns
    -------
    dict
        ``step`` reached, ``elapsed_s``, last training losses and last evaluation metrics.

    Examples
    --------
    >>> train(model, data, TrainConfig(steps=100), "runs/prose")  # doctest: +SKIP
    """
    dist = _Distributed(device)
    dev = dist.device
    if dev.type == "cpu" and config.num_threads is not None:
        torch.set_num_threads(config.num_threads)
    out_dir = Path(out_dir)
    if dist.main:
        out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model.to(dev)
    net = dist.wrap(model)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim >= 2 and "pos" not in name else no_decay).append(p)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
        betas=config.betas,
        fused=dev.type == "cuda",
    )
    use_scaler = dev.type == "cuda" and config.amp == "fp16"
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)

    step = 0
    elapsed_before = 0.0
    state_path = out_dir / STATE_NAME
    if resume and state_path.exists():
        state = torch_load_state(state_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if use_scaler and "scaler" in state:
            scaler.load_state_dict(state["scaler"])
        step = int(state["step"])
        elapsed_before = float(state.get("elapsed_s", 0.0))

    n = dataset_size(train_data)
    gen = torch.Generator().manual_seed(config.seed * 1000 + dist.rank)
    gen.manual_seed(config.seed * 1000 + dist.rank + 7919 * step)  # a resumed run draws fresh batches
    order = torch.empty(0, dtype=torch.long)

    def next_indices() -> torch.Tensor:
        nonlocal order
        if order.numel() < config.batch_size:
            perm = torch.randperm(n, generator=gen)
            perm = perm[dist.rank :: dist.world]  # each process its own shard
            order = torch.cat([order, perm])
        idx, order = order[: config.batch_size], order[config.batch_size :]
        return idx

    def save(final: bool = False) -> None:
        if not dist.main:
            return
        info = dict(metadata or {})
        info.update({"step": step, "train_config": config.to_dict(), "final": final})
        save_pretrained(model, out_dir, tokenizer=tokenizer, metadata=info)
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "elapsed_s": elapsed_before + (time.time() - t_start),
        }
        if use_scaler:
            state["scaler"] = scaler.state_dict()
        tmp = out_dir / (STATE_NAME + ".tmp")
        torch.save(state, tmp)
        tmp.replace(state_path)

    bar = None
    if dist.main and progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.steps, initial=step, desc="prose", mininterval=5.0, dynamic_ncols=True)
    t_start = time.time()
    log_path = out_dir / LOG_NAME
    running = {"loss": 0.0, "data_loss": 0.0, "symbol_loss": 0.0}
    n_running = 0
    last_eval: dict[str, float] = {}
    net.train()
    stop_reason = "steps"
    while step < config.steps:
        batch = take(train_data, next_indices(), torch.device("cpu"))
        if augment is not None:
            batch = augment(batch, gen)
        batch = {k: v.to(dev, non_blocking=True) for k, v in batch.items()}
        time_fraction = 0.0
        if config.max_minutes:
            time_fraction = (elapsed_before + time.time() - t_start) / (60.0 * config.max_minutes)
        lr = config.lr * lr_factor(step, config, time_fraction)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with _autocast(dev, config.amp):
            out, loss = net(batch)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if config.grad_clip > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        step += 1
        running["loss"] += float(loss.detach())
        running["data_loss"] += float(out.get("data_loss", torch.tensor(float("nan"))))
        running["symbol_loss"] += float(out.get("symbol_loss", torch.tensor(float("nan"))))
        n_running += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}", refresh=False)
        do_eval = eval_data is not None and (step % config.eval_every == 0 or step == config.steps)
        elapsed = time.time() - t_start
        out_of_time = config.max_minutes is not None and elapsed_before + elapsed > 60.0 * config.max_minutes
        if config.max_minutes is not None:
            out_of_time = dist.any(out_of_time, dev)
        if do_eval and dist.main:
            last_eval = evaluate(model, eval_data, config.batch_size, config.eval_batches, dev, config.amp)
        if dist.main and (step % config.log_every == 0 or do_eval or step == config.steps or out_of_time):
            row = {"step": step, "elapsed_s": round(elapsed_before + elapsed, 2), "lr": lr}
            row.update({k: v / max(n_running, 1) for k, v in running.items()})
            if do_eval:
                row.update(last_eval)
            _append_log(log_path, row)
            running = {k: 0.0 for k in running}
            n_running = 0
        if step % config.save_every == 0:
            save()
            dist.barrier()
        if out_of_time:
            stop_reason = "time"
            break
    if eval_data is not None and dist.main and not last_eval:
        last_eval = evaluate(model, eval_data, config.batch_size, config.eval_batches, dev, config.amp)
    save(final=True)
    dist.barrier()
    if bar is not None:
        bar.close()
    summary = {
        "step": step,
        "stopped_by": stop_reason,
        "elapsed_s": elapsed_before + (time.time() - t_start),
        **last_eval,
    }
    dist.close()
    return summary
