"""Save and load a PROSE model as one folder in the Hugging Face layout.

The folder holds ``config.json`` (the :class:`ProseConfig`), ``model.safetensors`` (the weights) and the
tokenizer's own files (written by :meth:`grammar.ExpressionTokenizer.save`), so that
``from_pretrained(folder)`` works offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from models.device import DeviceLike, resolve_device
from models.prose.config import ProseConfig
from models.prose.model import ProseModel

if TYPE_CHECKING:  # pragma: no cover
    from grammar.tokenizer import ExpressionTokenizer

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
METADATA_NAME = "training_info.json"


def save_pretrained(
    model: ProseModel,
    folder: str | Path,
    tokenizer: "ExpressionTokenizer | None" = None,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and ``tokenizer``, and optional JSON ``metadata``) to ``folder``.

    Examples
    --------
    >>> save_pretrained(model, "models/checkpoints/prose-small", tokenizer)  # doctest: +SKIP
    """
    from safetensors.torch import save_model

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    if tokenizer is not None:
        tokenizer.save(folder)
    model.config.save(folder / CONFIG_NAME)
    tmp = folder / (WEIGHTS_NAME + ".tmp")
    save_model(model, str(tmp), metadata={"format": "pt"})
    tmp.replace(folder / WEIGHTS_NAME)
    if metadata is not None:
        (folder / METADATA_NAME).write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    return folder


def load_model(folder: str | Path, device: DeviceLike = "cpu") -> ProseModel:
    """Build a :class:`ProseModel` from ``folder/config.json`` and load ``folder/model.safetensors``."""
    from safetensors.torch import load_model as _load

    folder = Path(folder)
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"PROSE checkpoint {str(folder)!r}: expected a file {name!r}, found none")
    config = ProseConfig.load(folder / CONFIG_NAME)
    model = ProseModel(config)
    _load(model, str(folder / WEIGHTS_NAME), strict=True)
    model.to(resolve_device(device))
    model.eval()
    return model


def from_pretrained(
    folder: str | Path, device: DeviceLike = "cpu"
) -> tuple[ProseModel, "ExpressionTokenizer"]:
    """Load the model and its tokenizer from a folder written by :func:`save_pretrained` (no network access).

    Examples
    --------
    >>> model, tokenizer = from_pretrained("models/checkpoints/prose-small")  # doctest: +SKIP
    """
    from grammar.tokenizer import ExpressionTokenizer

    model = load_model(folder, device)
    tokenizer = ExpressionTokenizer.from_pretrained(folder)
    if tokenizer.vocab_size != model.config.vocab_size:
        raise ValueError(
            f"PROSE checkpoint {str(folder)!r}: tokenizer has {tokenizer.vocab_size} tokens but the model "
            f"was built for {model.config.vocab_size}"
        )
    return model, tokenizer


class CheckpointError(ValueError):
    """A training-state file that cannot be resumed from (unreadable, or holding more than tensors and plain
    values)."""


def torch_load_state(path: str | Path) -> dict[str, Any]:
    """Load a training-state file written by :mod:`models.prose.train` (weights, optimizer, step).

    The file is read with ``weights_only=True``: torch's restricted unpickler builds tensors, dicts, lists,
    tuples, numbers, strings and ``None``, and refuses anything else, so a crafted file cannot run code.

    Raises
    ------
    CheckpointError
        When the file is not a state this code wrote: one line saying what it holds and what to do.
    """
    import pickle

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, TypeError) as exc:
        import re

        text = str(exc)
        unsafe = re.search(r"Unsupported global: GLOBAL (\S+)", text)
        detail = text.split("WeightsUnpickler error:", 1)[-1]  # torch's own words, without its preamble
        first = next((line.strip() for line in detail.splitlines() if line.strip()), type(exc).__name__)[:200]
        reason = f"it would call {unsafe.group(1)}, not only build tensors and plain values" if unsafe else first
        raise CheckpointError(
            f"cannot resume from {str(path)!r}: not a training state eqdisco wrote ({reason}); delete it to start "
            "afresh, or train into another folder"
        ) from None
    if not isinstance(state, dict) or not {"model", "optimizer", "step"} <= set(state):
        raise CheckpointError(f"cannot resume from {str(path)!r}: expected the keys model, optimizer and step; "
                              "delete it to start afresh, or train into another folder")
    return state
