"""Save and load a PROSE model as one folder in the Hugging Face layout, through the library itself.

The model is a :class:`transformers.PreTrainedModel` (:class:`models.prose.model.ProseModel`), so the folder is what
``model.save_pretrained`` writes -- ``config.json`` (``model_type: eqdisco-prose``, registered with ``AutoConfig``)
and ``model.safetensors`` -- plus the tokenizer as a ``transformers.PreTrainedTokenizerFast``
(``tokenizer.json``, ``tokenizer_config.json``) and eqdisco's own tokenizer settings (``eqdisco_tokenizer.json``),
so that ``from_pretrained(folder)`` here, or ``AutoModel.from_pretrained(folder)`` and
``AutoTokenizer.from_pretrained(folder)`` after ``import models.prose``, work offline.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from models.device import DeviceLike, resolve_device
from models.prose.model import ProseModel

if TYPE_CHECKING:  # pragma: no cover
    from grammar.tokenizer import ExpressionTokenizer

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
METADATA_NAME = "training_info.json"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The library's progress bars and info logs off (a checkpoint of one file needs no bar), restored after."""
    from transformers.utils import logging

    bars = logging.is_progress_bar_enabled()
    verbosity = logging.get_verbosity()
    logging.disable_progress_bar()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()


def save_pretrained(
    model: ProseModel,
    folder: str | Path,
    tokenizer: "ExpressionTokenizer | None" = None,
    metadata: dict[str, Any] | None = None,
    half: bool = False,
) -> Path:
    """Write ``model`` (and ``tokenizer``, and optional JSON ``metadata``) to ``folder``.

    ``half=True`` stores the weights in float16 (half the size; :func:`load_model` reads them back as float32),
    leaving ``model`` itself unchanged. Everything is written into a temporary folder beside the files first and each file then replaces its old
    version atomically, so a reader never sees a half-written checkpoint.

    Examples
    --------
    >>> save_pretrained(model, "models/checkpoints/prose-small", tokenizer)  # doctest: +SKIP
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    if half:
        import copy

        model = copy.deepcopy(model).to(torch.float16)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".saving-"))
    try:
        with _quiet():
            model.save_pretrained(staging)
            if tokenizer is not None:
                tokenizer.to_transformers().save_pretrained(staging)
        if tokenizer is not None:
            tokenizer.save(staging)  # eqdisco_tokenizer.json (and the same tokenizer.json)
        if metadata is not None:
            (staging / METADATA_NAME).write_text(json.dumps(metadata, indent=2, default=str) + "\n")
        for path in sorted(staging.iterdir()):
            path.chmod(0o644)  # temporary files are private; a checkpoint is not
            os.replace(path, folder / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def load_model(folder: str | Path, device: DeviceLike = "cpu") -> ProseModel:
    """``ProseModel.from_pretrained(folder)`` on ``device``, in eval mode.

    Raises
    ------
    FileNotFoundError
        When ``config.json`` or ``model.safetensors`` is missing (one line naming the file).
    """
    folder = Path(folder)
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"PROSE checkpoint {str(folder)!r}: expected a file {name!r}, found none")
    with _quiet():
        model = ProseModel.from_pretrained(folder, dtype=torch.float32)
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


def export_half(folder: str | Path, out: str | Path) -> Path:
    """Copy the checkpoint ``folder`` to ``out`` with float16 weights (for a repository's size limit).

    The logs and reports beside the weights (``*.json``, ``*.csv``, ``*.md``) are copied as they are; the training
    state (``train_state.pt``, optimizer included) is not.

    Examples
    --------
    >>> export_half("runs/prose-medium", "models/checkpoints/prose-medium")  # doctest: +SKIP
    """
    folder, out = Path(folder), Path(out)
    model, tokenizer = from_pretrained(folder)
    metadata = json.loads((folder / METADATA_NAME).read_text()) if (folder / METADATA_NAME).is_file() else None
    save_pretrained(model, out, tokenizer, metadata, half=True)
    written = {p.name for p in out.iterdir()}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in (".json", ".csv", ".md") and path.name not in written:
            shutil.copy2(path, out / path.name)
    return out


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
