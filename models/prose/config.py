"""Configuration of the PROSE model (a ``transformers`` config) and of its training loop (a frozen dataclass).

:class:`ProseConfig` is a :class:`transformers.PretrainedConfig` registered under the model type
``"eqdisco-prose"`` (see :mod:`models.prose.model`), so ``config.json`` is written and read by the library
itself (``save_pretrained``/``from_pretrained``, ``AutoConfig``).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from transformers import PretrainedConfig

MAX_STATE_DIM = 5
"""Most state variables the model reads and writes (missing ones are padded with zeros and masked)."""

MODEL_TYPE = "eqdisco-prose"
"""The ``model_type`` of ``config.json`` under which :class:`ProseConfig` is registered with ``AutoConfig``."""

ARCHITECTURE_DEFAULTS: dict[str, Any] = {
    "vocab_size": 0, "pad_id": 0, "bos_id": 1, "eos_id": 2, "max_dim": MAX_STATE_DIM,
    "d_model": 128, "n_heads": 4, "d_ff": 256,
    "n_data_layers": 2, "n_symbol_layers": 2, "n_fusion_layers": 2, "n_operator_layers": 2, "n_decoder_layers": 2,
    "max_symbol_len": 256, "n_time_frequencies": 16, "dropout": 0.0,
    "data_loss_weight": 1.0, "symbol_loss_weight": 1.0,
}
"""The fields that define a PROSE network, with their defaults (the ``small`` preset)."""


@lru_cache(maxsize=1)
def _library_keys() -> frozenset[str]:
    """Keys that ``transformers`` itself writes into (or accepts from) any ``config.json``."""
    return frozenset(PretrainedConfig().to_dict()) | {"model_type", "transformers_version", "architectures",
                                                       "torch_dtype", "dtype", "_name_or_path", "name_or_path",
                                                       "eqdisco_version", "tie_word_embeddings"}


class ProseConfig(PretrainedConfig):
    """Architecture of a PROSE network.

    The five parts are a data encoder (self-attention over the observed ``(t, x)`` samples), a symbol
    encoder (self-attention over the tokenized equation guess), a fusion encoder (self-attention over both),
    an operator data decoder (query times cross-attend to the fused features; no attention between queries)
    and an autoregressive symbol decoder whose output projection is tied to its token embedding.

    Parameters
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
    **kwargs:
        What :class:`transformers.PretrainedConfig` takes (``config.json`` bookkeeping such as
        ``transformers_version``); other unknown keys raise ``ValueError``.

    Two configs are equal when they build the same network (:meth:`architecture`), whatever the library's
    bookkeeping (``_name_or_path``, ``dtype``) says.

    Examples
    --------
    >>> ProseConfig(vocab_size=40, d_model=64).d_model
    64
    >>> ProseConfig.small(vocab_size=40) == ProseConfig(vocab_size=40)
    True
    """

    model_type = MODEL_TYPE

    def __init__(
        self,
        vocab_size: int = 0,
        pad_id: int = 0,
        bos_id: int = 1,
        eos_id: int = 2,
        max_dim: int = MAX_STATE_DIM,
        d_model: int = 128,
        n_heads: int = 4,
        d_ff: int = 256,
        n_data_layers: int = 2,
        n_symbol_layers: int = 2,
        n_fusion_layers: int = 2,
        n_operator_layers: int = 2,
        n_decoder_layers: int = 2,
        max_symbol_len: int = 256,
        n_time_frequencies: int = 16,
        dropout: float = 0.0,
        data_loss_weight: float = 1.0,
        symbol_loss_weight: float = 1.0,
        **kwargs: Any,
    ) -> None:
        unknown = sorted(set(kwargs) - _library_keys())
        if unknown:
            raise ValueError(f"ProseConfig: unknown keys {unknown} in config; expected a subset of "
                             f"{sorted(ARCHITECTURE_DEFAULTS)}")
        if d_model % n_heads != 0:
            raise ValueError(f"ProseConfig: d_model ({d_model}) must be a multiple of n_heads ({n_heads})")
        if max_dim < 1 or max_dim > MAX_STATE_DIM:
            raise ValueError(f"ProseConfig: max_dim must be in 1..{MAX_STATE_DIM}, got {max_dim}")
        self.vocab_size, self.pad_id, self.bos_id, self.eos_id = int(vocab_size), int(pad_id), int(bos_id), int(eos_id)
        self.max_dim, self.d_model, self.n_heads, self.d_ff = int(max_dim), int(d_model), int(n_heads), int(d_ff)
        self.n_data_layers, self.n_symbol_layers = int(n_data_layers), int(n_symbol_layers)
        self.n_fusion_layers, self.n_operator_layers = int(n_fusion_layers), int(n_operator_layers)
        self.n_decoder_layers, self.max_symbol_len = int(n_decoder_layers), int(max_symbol_len)
        self.n_time_frequencies, self.dropout = int(n_time_frequencies), float(dropout)
        self.data_loss_weight, self.symbol_loss_weight = float(data_loss_weight), float(symbol_loss_weight)
        kwargs.pop("model_type", None)
        kwargs.pop("eqdisco_version", None)
        kwargs["tie_word_embeddings"] = True  # the symbol decoder's output projection is its token embedding
        super().__init__(**kwargs)

    def architecture(self) -> dict[str, Any]:
        """The fields that define the network (``ARCHITECTURE_DEFAULTS``' keys) and their values."""
        return {name: getattr(self, name) for name in ARCHITECTURE_DEFAULTS}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProseConfig) and self.architecture() == other.architecture()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.architecture().items())))

    @classmethod
    def small(cls, **overrides: Any) -> "ProseConfig":
        """A CPU-trainable preset (about 2 M parameters)."""
        return cls(**overrides)

    @classmethod
    def tiny(cls, **overrides: Any) -> "ProseConfig":
        """A toy preset (about 0.2 M parameters) for smoke tests and toy-size runs of the training scripts."""
        values = dict(d_model=64, n_heads=4, d_ff=128, n_data_layers=1, n_symbol_layers=1, n_fusion_layers=1,
                      n_operator_layers=1, n_decoder_layers=1, n_time_frequencies=8)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def medium(cls, **overrides: Any) -> "ProseConfig":
        """A one-GPU preset (about 14 M parameters, 29 MB in half precision: fits the repository's 50 MB)."""
        values = dict(d_model=256, n_heads=8, d_ff=1024, n_data_layers=2, n_symbol_layers=2, n_fusion_layers=4,
                      n_operator_layers=4, n_decoder_layers=4)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def base(cls, **overrides: Any) -> "ProseConfig":
        """The paper-sized preset (d_model 512, 8 heads; about 105 M parameters, 210 MB even in half precision),
        meant for a GPU."""
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
        """A new config with ``changes`` applied to the architecture fields."""
        return type(self)(**{**self.architecture(), **changes})

    def save(self, path: str | Path) -> None:
        """Write the library's ``config.json`` form of this config to ``path``."""
        Path(path).write_text(self.to_json_string(use_diff=True))

    @classmethod
    def load(cls, path: str | Path) -> "ProseConfig":
        """Read a ``config.json`` written by :meth:`save` or by ``save_pretrained`` (also the older eqdisco form)."""
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


PRESETS = {"tiny": ProseConfig.tiny, "small": ProseConfig.small, "medium": ProseConfig.medium,
           "base": ProseConfig.base}
"""Named model presets: ``PRESETS[name](vocab_size=..., ...)``."""


def preset(name: str, **overrides: Any) -> ProseConfig:
    """Build the preset ``name`` (``"tiny"``, ``"small"``, ``"medium"`` or ``"base"``) with ``overrides``.

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
