"""Discovery methods, found by name in one registry (see :mod:`discovery.methods.base`)."""

from __future__ import annotations

import importlib

from discovery.methods.base import (
    REGISTRY,
    Candidate,
    Method,
    MethodContext,
    expression_complexity,
    get_method,
    method_names,
    register,
)

# Each module registers its method on import; none of them imports torch or PySR at import time.
for _module in ("sindy", "sr", "prose", "pinn", "node"):
    try:
        importlib.import_module(f"discovery.methods.{_module}")
    except ModuleNotFoundError as exc:  # a method module not written yet, never a missing dependency
        if exc.name != f"discovery.methods.{_module}":
            raise

__all__ = [
    "REGISTRY",
    "Candidate",
    "Method",
    "MethodContext",
    "expression_complexity",
    "get_method",
    "method_names",
    "register",
]
