"""eqdisco's torch models: sympy systems as torch vector fields, PROSE, PINNs, neural ODEs, DeepONet.

The public names below are re-exported lazily, so that importing a sub-package (``models.prose``) does not load
every model, and ``import models`` stays cheap.

Examples
--------
>>> from models import SympySystem, resolve_device
>>> resolve_device("cpu")
device(type='cpu')
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DeviceLike": "models.device",
    "ProgressFn": "models.progress",
    "resolve_device": "models.device",
    "SympySystem": "models.torch_system",
    "TorchSimulationError": "models.torch_system",
    "torch_simulate": "models.torch_system",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
