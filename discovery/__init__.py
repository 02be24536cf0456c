"""eqdisco's discovery layer: data, derivatives, methods, refinement, scoring, results, API and CLI.

Public names are imported lazily so that ``import discovery`` stays fast and never pulls in torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "DataError": "discovery.errors",
    "DiscoveryError": "discovery.errors",
    "SimulationError": "discovery.errors",
    "Trajectory": "discovery.data",
    "Trajectories": "discovery.data",
    "load_trajectories": "discovery.data",
    "simulate": "discovery.simulation",
    "differentiate": "discovery.derivatives",
    "OperatorPrediction": "discovery.prediction",
    "discover": "discovery.api",
    "build_settings": "discovery.pipeline.settings",
    "DiscoverySettings": "discovery.pipeline.settings",
    "EquationDiscovery": "discovery.estimator",
    "SINDy": "discovery.methods",
    "SR": "discovery.methods",
    "Prose": "discovery.methods",
    "PINN": "discovery.methods",
    "NODE": "discovery.methods",
    "DiscoveryResult": "discovery.result",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'discovery' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
