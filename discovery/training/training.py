"""``eqdisco train prose``: generate (or load cached) synthetic data and train a PROSE model.

Under ``torchrun --nproc_per_node=N -m discovery.cli train prose ...`` every process runs this same entry;
:func:`models.prose.train.train` sets up DistributedDataParallel when ``WORLD_SIZE > 1``. Rank 0 generates the
dataset into the cache and the other ranks wait for it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from discovery.errors import DiscoveryError
from discovery.training.data import DEFAULT_CACHE, DISTRIBUTIONS, DataConfig, generate_dataset
from discovery.training.windows import WINDOW_RULES

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "models" / "checkpoints"


@dataclass(frozen=True)
class AugmentConfig:
    """Per-batch augmentation of the (clean, full-length) stored samples during training.

    Attributes
    ----------
    noise_max:
        Each sample gets Gaussian noise ``p * std(x_v)`` with ``p`` uniform in ``[0, noise_max]``.
    drop_prob:
        Probability that a sample loses part of its observed points (variable input length and spacing).
    keep_min:
        Smallest share of observed points kept when dropping.
    no_guess_prob:
        Probability that a sample's symbol input is removed (the model learns to work with and without it).
    queries:
        Query times kept per sample and step (a random subset, cheaper steps); ``None`` keeps all.
    """

    noise_max: float = 0.05
    drop_prob: float = 0.5
    keep_min: float = 0.5
    no_guess_prob: float = 0.5
    queries: int | None = 32


def make_augment(config: AugmentConfig, pad_id: int) -> Callable[[dict, Any], dict]:
    """Build ``augment(batch, generator) -> batch`` for :func:`models.prose.train.train` (CPU tensors)."""
    import torch

    def augment(batch: dict[str, "torch.Tensor"], gen: "torch.Generator") -> dict[str, "torch.Tensor"]:
        batch = dict(batch)
        x, pad, dims = batch["x_in"], batch["in_pad"].clone(), batch["dim_mask"]
        B, T, D = x.shape
        # Variable length and spacing: drop a random share of the observed points of some samples.
        drop = torch.rand(B, generator=gen) < config.drop_prob  # (B,)
        keep_share = config.keep_min + (1.0 - config.keep_min) * torch.rand(B, 1, generator=gen)  # (B, 1)
        dropped = (torch.rand(B, T, generator=gen) > keep_share) & drop[:, None]  # (B, T)
        n_left = (~(pad | dropped)).sum(1)
        dropped[n_left < 4] = False  # always keep enough points
        pad = pad | dropped
        # Noise p * std(x_v) over the valid points, p uniform in [0, noise_max].
        valid = (~pad)[:, :, None].to(x.dtype)  # (B, T, 1)
        n = valid.sum(1, keepdim=True).clamp_min(1.0)
        mean = (x * valid).sum(1, keepdim=True) / n
        std = (((x - mean) ** 2 * valid).sum(1, keepdim=True) / n).sqrt()  # (B, 1, D)
        level = config.noise_max * torch.rand(B, 1, 1, generator=gen)
        noise = level * std * torch.randn(x.shape, generator=gen) * dims[:, None, :].to(x.dtype)
        x = (x + noise) * valid  # padded points zeroed
        t = batch["t_in"] * valid[:, :, 0]
        # Compact: valid points first (in time order), then cut the all-padding tail.
        order = torch.argsort(pad.to(torch.int64) * T + torch.arange(T), dim=1)  # (B, T)
        width = int((~pad).sum(1).max())
        order = order[:, :width]
        batch["t_in"] = torch.gather(t, 1, order)
        batch["x_in"] = torch.gather(x, 1, order[:, :, None].expand(B, width, D))
        batch["in_pad"] = torch.gather(pad, 1, order)
        # A random subset of the query times.
        Q = batch["t_query"].shape[1]
        if config.queries is not None and config.queries < Q:
            pick = torch.rand(B, Q, generator=gen).argsort(dim=1)[:, : config.queries].sort(dim=1).values
            batch["t_query"] = torch.gather(batch["t_query"], 1, pick)
            batch["x_query"] = torch.gather(batch["x_query"], 1, pick[:, :, None].expand(B, -1, D))
            if "query_pad" in batch:
                batch["query_pad"] = torch.gather(batch["query_pad"], 1, pick)
        # Remove the symbol input of some samples.
        if "guess" in batch:
            blank = torch.rand(B, generator=gen) < config.no_guess_prob
            guess = batch["guess"].clone()
            guess[blank] = pad_id
            batch["guess"] = guess
        # Cut token columns that are padding in every sample of the batch.
        for key in ("guess", "target"):
            if key in batch:
                used = (batch[key] != pad_id).any(0).nonzero()
                width = int(used.max()) + 1 if used.numel() else 1
                batch[key] = batch[key][:, :width]
        return batch

    return augment


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``eqdisco train prose``."""
    parser.add_argument("--preset", choices=("tiny", "small", "medium", "base"), default="small",
                        help="model size preset ('tiny' for toy runs, 'medium' for one GPU)")
    parser.add_argument("--device", default="auto", help="'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1'")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps (default: 6000 small, 100000 base)")
    parser.add_argument("--batch-size", type=int, default=None, help="samples per step and process")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate")
    parser.add_argument("--samples", type=int, default=None, help="training samples to generate")
    parser.add_argument("--val-samples", type=int, default=256, help="validation samples (periodic evaluation)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/train_state.pt")
    parser.add_argument("--init-from", type=Path, default=None, metavar="CHECKPOINT",
                        help="start from this checkpoint's weights and architecture (fine-tuning: fresh optimizer "
                             "and schedule)")
    parser.add_argument("--window-rule", choices=WINDOW_RULES, default="predictable",
                        help="zoo windows: 'predictable' (default) or 'span' (see discovery.training.windows)")
    parser.add_argument("--distribution", choices=DISTRIBUTIONS, default="zoo",
                        help="training systems: 'zoo' (zoo families on their windows, a quarter random) or 'broad' "
                             "(law-shaped random systems, zoo a minority, evaluation skeletons held out; see "
                             "discovery.training.data)")
    parser.add_argument("--normalization", choices=("none", "scale"), default=None,
                        help="coordinates of the samples: 'scale' (window to [0, 1], states by their RMS; the "
                             "checkpoint then serves any units) or 'none' (default: 'scale' for broad, else 'none')")
    parser.add_argument("--max-vars", type=int, default=None,
                        help="random systems have 1 to this many variables (default 4 for broad, 3 for zoo)")
    parser.add_argument("--n-input", type=int, default=64, help="observed points a sample is read through")
    parser.add_argument("--data-weight", type=float, default=None,
                        help="weight of the data-decoder loss beside the symbol loss (default: the config's, 1.0)")
    parser.add_argument("--out", type=Path, default=None,
                        help="checkpoint folder (default models/checkpoints/prose-PRESET)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="dataset cache folder")
    parser.add_argument("--workers", type=int, default=None, help="data-generation processes")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after this wall time")
    parser.add_argument("--eval-every", type=int, default=None, help="evaluate every N steps")
    parser.add_argument("--save-every", type=int, default=None, help="checkpoint every N steps")
    parser.add_argument("--amp", choices=("bf16", "fp16", "off"), default="bf16", help="mixed precision on CUDA")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


PRESET_DEFAULTS = {
    "tiny": {"steps": 300, "batch_size": 16, "lr": 2e-3, "samples": 400, "eval_every": 100, "save_every": 100},
    "small": {"steps": 6000, "batch_size": 32, "lr": 1e-3, "samples": 20000, "eval_every": 500, "save_every": 250},
    "medium": {"steps": 20000, "batch_size": 256, "lr": 6e-4, "samples": 24000, "eval_every": 500,
               "save_every": 1000},
    "base": {"steps": 100000, "batch_size": 256, "lr": 3e-4, "samples": 500000, "eval_every": 2000,
             "save_every": 2000},
}


def _wait_for(path: Path, timeout_s: float = 6 * 3600) -> None:
    start = time.time()
    while not path.is_file():
        if time.time() - start > timeout_s:
            raise DiscoveryError(f"rank {os.environ.get('RANK')}: gave up waiting for the dataset {path}")
        time.sleep(5.0)


def _dataset(cfg: DataConfig, args: argparse.Namespace, rank: int) -> tuple[dict, list]:
    from discovery.training.data import _tokenizer, cache_key

    if rank != 0 and args.cache_dir is not None:
        _wait_for(Path(args.cache_dir) / cache_key(cfg, _tokenizer()) / "meta.json")
    return generate_dataset(cfg, workers=args.workers, cache_dir=args.cache_dir, progress=not args.quiet)


def _initial_model(folder: Path, out: Path, vocab_size: int) -> Any:
    """The checkpoint ``--init-from`` names, checked against the output folder and the tokenizer."""
    from models.prose.io import load_model

    if folder.resolve() == out.resolve():
        raise DiscoveryError(f"--init-from {folder}: that is the output folder; give another --out, or use --resume")
    try:
        model = load_model(folder)
    except FileNotFoundError as exc:
        raise DiscoveryError(f"--init-from: {exc}") from None
    if model.config.vocab_size != vocab_size:
        raise DiscoveryError(f"--init-from {folder}: its vocabulary has {model.config.vocab_size} tokens, the "
                             f"tokenizer's {vocab_size}; train from scratch instead")
    return model


def run(args: argparse.Namespace) -> int:
    """Run ``eqdisco train prose``; returns the process exit status.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(); add_arguments(parser)
    >>> run(parser.parse_args(["--steps", "10", "--samples", "64", "--out", "/tmp/p"]))  # doctest: +SKIP
    0
    """
    import torch

    from grammar.tokenizer import ExpressionTokenizer
    from models.prose import ProseModel, TrainConfig, preset, train

    defaults = PRESET_DEFAULTS[args.preset]
    pick = lambda name: getattr(args, name) if getattr(args, name, None) is not None else defaults[name]  # noqa: E731
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rank = int(os.environ.get("RANK", "0"))
    tokenizer = ExpressionTokenizer()
    out = args.out or DEFAULT_OUT / f"prose-{args.preset}"
    resuming = args.resume and (Path(out) / "train_state.pt").is_file()
    if resuming:  # a state that cannot be resumed from is reported now, not after the (long) data generation
        from models.prose.io import CheckpointError, torch_load_state

        try:
            torch_load_state(Path(out) / "train_state.pt")
        except CheckpointError as exc:
            raise DiscoveryError(str(exc)) from None
    start = None  # checked before the (long) data generation
    if args.init_from is not None and not resuming:
        start = _initial_model(Path(args.init_from), Path(out), tokenizer.vocab_size)
    broad = args.distribution == "broad"
    data_cfg = DataConfig(
        n_samples=pick("samples"), seed=args.seed, window_rule=args.window_rule, distribution=args.distribution,
        normalization=args.normalization or ("scale" if broad else "none"), n_input=args.n_input,
        max_random_vars=args.max_vars or (4 if broad else 3), max_tokens=200 if broad else 128,
    )
    val_cfg = data_cfg.replace(n_samples=args.val_samples, seed=args.seed + 10_000)
    arrays, _ = _dataset(data_cfg, args, rank)
    val_arrays, _ = _dataset(val_cfg, args, rank)
    train_data = {k: torch.from_numpy(v) for k, v in arrays.items()}
    eval_data = {k: torch.from_numpy(v) for k, v in val_arrays.items()}
    max_len = max(train_data["target"].shape[1], train_data["guess"].shape[1], eval_data["target"].shape[1])
    model_cfg = preset(
        args.preset,
        vocab_size=tokenizer.vocab_size,
        pad_id=tokenizer.pad_id,
        bos_id=tokenizer.bos_id,
        eos_id=tokenizer.eos_id,
        max_symbol_len=max(256, max_len + 8),
    )
    if resuming and (Path(out) / "config.json").is_file():
        from models.prose.config import ProseConfig

        model_cfg = ProseConfig.load(Path(out) / "config.json")
    elif start is not None:
        model_cfg = start.config
    if args.data_weight is not None:
        model_cfg = model_cfg.replace(data_loss_weight=float(args.data_weight))
    model = ProseModel(model_cfg)
    if start is not None:
        model.load_state_dict(start.state_dict())
    train_cfg = TrainConfig(
        steps=pick("steps"),
        batch_size=pick("batch_size"),
        lr=pick("lr"),
        warmup_steps=min(500, max(pick("steps") // 20, 1)),
        eval_every=pick("eval_every"),
        save_every=pick("save_every"),
        amp=args.amp,
        seed=args.seed,
        max_minutes=args.max_minutes,
        num_threads=args.threads,
    )
    augment = make_augment(AugmentConfig(), tokenizer.pad_id)
    metadata = {
        "preset": args.preset,
        "parameters": model.num_parameters(),
        "data_config": data_cfg.to_dict(),
        "augment": AugmentConfig().__dict__,
        "train_samples": int(train_data["x_in"].shape[0]),
        "init_from": None if args.init_from is None else str(args.init_from),
    }
    if rank == 0:
        print(
            f"PROSE {args.preset}: {model.num_parameters() / 1e6:.2f} M parameters, "
            f"{metadata['train_samples']} training samples -> {out}",
            file=sys.stderr,
        )
    summary = train(
        model,
        train_data,
        train_cfg,
        out,
        eval_data=eval_data,
        tokenizer=tokenizer,
        device=args.device,
        resume=args.resume,
        augment=augment,
        metadata=metadata,
        progress=not args.quiet,
    )
    if rank == 0:
        print(json.dumps(summary, indent=2, default=float))
    return 0
