"""Configuration of the PROSE model and of its training loop (frozen dataclasses, grouped, JSON round-trip)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_STATE_DIM = 5
"""Most state variables the model reads and writes (missing ones are padded with zeros and masked)."""


@dataclass(frozen=True)
class ProseConfig:
    """Architecture of a PROSE network.

    The five parts are a data encoder (self-attention over the observed ``(t, x)`` samples), a symbol
    encoder (self-attention over the tokenized equation guess), a fusion encoder (self-attention over both),
    an operator data decoder (query times cross-attend to the fused features; no attention between queries)
    and an autoregressive symbol decoder.

    Attributes
    ----------
    vocab_size, pad_id, bos_id, eos_id:
        Taken from the :class:`grammar.ExpressionTokenizer` the model was built for.
    max_dim:
        Number of state channels (``MAX_STATE_DIM``).
    d_model, n_heads, d_ff:
        Width of every transformer block, attention heads, hidden width of the feed-forward layers.
    n_data_layers, n_symbol_layers, n_fusion_layers, n_operator_layers, n_decoder_layers:
        Depth of each of the five parts.
    max_symbol_len:
        Longest token sequence (guess or output) the learned positional table covers.
    n_time_frequencies:
        Number of Fourier frequencies used to embed a (normalized) time value.
    dropout:
        Dropout in attention and feed-forward layers.
    data_loss_weight, symbol_loss_weight:
        Weights of the data-decoder MSE and of the symbol cross-entropy in the total loss.
    """

    vocab_size: int = 0
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    max_dim: int = MAX_STATE_DIM
    d_model: int = 128
    n_heads: int = 4
    d_ff: int = 256
    n_data_layers: int = 2
    n_symbol_layers: int = 2
    n_fusion_layers: int = 2
    n_operator_layers: int = 2
    n_decoder_layers: int = 2
    max_symbol_len: int = 256
    n_time_frequencies: int = 16
    dropout: float = 0.0
    data_loss_weight: float = 1.0
    symbol_loss_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads != 0:
            raise ValueError(
                f"ProseConfig: d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})"
            )
        if self.max_dim < 1 or self.max_dim > MAX_STATE_DIM:
            raise ValueError(f"ProseConfig: max_dim must be in 1..{MAX_STATE_DIM}, got {self.max_dim}")

    @classmethod
    def small(cls, **overrides: Any) -> "ProseConfig":
        """A CPU-trainable preset (about 2 M parameters)."""
        return cls(**overrides)

    @classmethod
    def base(cls, **overrides: Any) -> "ProseConfig":
        """The paper-sized preset (d_model 512, 8 heads), meant for a GPU."""
        values = dict(
            d_model=512,
            n_heads=8,
            d_ff=2048,
            n_data_layers=2,
            n_symbol_layers=4,
            n_fusion_layers=8,
            n_operator_layers=8,
            n_decoder_layers=8,
            dropout=0.0,
        )
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> "ProseConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ProseConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names - {"model_type", "eqdisco_version"})
        if unknown:
            raise ValueError(f"ProseConfig: unknown keys {unknown} in config; expected a subset of {sorted(names)}")
        return cls(**{k: v for k, v in d.items() if k in names})

    def save(self, path: str | Path) -> None:
        payload = {"model_type": "eqdisco-prose", **self.to_dict()}
        Path(path).write_text(json.dumps(payload, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "ProseConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


@dataclass(frozen=True)
class TrainConfig:
    """Schedule and bookkeeping of :func:`models.prose.train.train`.

    Attributes
    ----------
    steps:
        Number of optimizer steps.
    batch_size:
        Samples per step (per process under DDP).
    lr, weight_decay, betas, grad_clip:
        AdamW settings and gradient-norm clipping.
    warmup_steps:
        Linear warm-up from 0 to ``lr``.
    schedule:
        Decay after warm-up: ``"cosine"`` or ``"linear"`` (to ``min_lr_ratio * lr``).
    eval_every, save_every, log_every:
        Period (in steps) of evaluation, checkpointing and CSV logging.
    eval_batches:
        Number of batches of the evaluation set used per evaluation.
    amp:
        Mixed precision on CUDA: ``"bf16"``, ``"fp16"`` or ``"off"``; ignored on CPU.
    seed:
        Seed of parameter initialization and batch order.
    max_minutes:
        Stop (and save) after this wall time, ``None`` for no limit.
    num_threads:
        ``torch.set_num_threads`` on CPU (``None`` leaves torch's default).
    """

    steps: int = 2000
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    grad_clip: float = 1.0
    warmup_steps: int = 200
    schedule: str = "cosine"
    min_lr_ratio: float = 0.05
    eval_every: int = 500
    save_every: int = 250
    log_every: int = 50
    eval_batches: int = 4
    amp: str = "bf16"
    seed: int = 0
    max_minutes: float | None = None
    num_threads: int | None = None

    def __post_init__(self) -> None:
        if self.schedule not in ("cosine", "linear"):
            raise ValueError(f"TrainConfig: schedule must be 'cosine' or 'linear', got {self.schedule!r}")
        if self.amp not in ("bf16", "fp16", "off"):
            raise ValueError(f"TrainConfig: amp must be 'bf16', 'fp16' or 'off', got {self.amp!r}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"TrainConfig: steps and batch_size must be >= 1, got {self.steps}, {self.batch_size}")

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in d.items() if k in names}
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        return cls(**values)


PRESETS = {"small": ProseConfig.small, "base": ProseConfig.base}
"""Named model presets: ``PRESETS[name](vocab_size=..., ...)``."""


def preset(name: str, **overrides: Any) -> ProseConfig:
    """Build the preset ``name`` (``"small"`` or ``"base"``) with ``overrides``.

    Examples
    --------
    >>> preset("small", vocab_size=100).d_model
    128
    """
    try:
        factory = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown PROSE preset {name!r}; valid presets: {', '.join(sorted(PRESETS))}") from None
    return factory(**overrides)
