"""Discovery methods, found by name in one registry (see :mod:`discovery.methods.base`)."""

from __future__ import annotations

# Each module registers its method on import, in this order (the order the API, CLI and app list them in);
# none of them imports torch or PySR at import time.
# isort: off
from discovery.methods import sindy  # noqa: F401
from discovery.methods import sr  # noqa: F401
from discovery.methods import prose  # noqa: F401
from discovery.methods import pinn  # noqa: F401
from discovery.methods import node  # noqa: F401

# isort: on
from discovery.methods.node import NODEMethod as NODE
from discovery.methods.pinn import PINNMethod as PINN
from discovery.methods.prose import ProseMethod as Prose
from discovery.methods.sindy import SINDyMethod as SINDy
from discovery.methods.sr import SRMethod as SR
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

__all__ = [
    "NODE",
    "PINN",
    "Prose",
    "REGISTRY",
    "SINDy",
    "SR",
    "Candidate",
    "Method",
    "MethodContext",
    "expression_complexity",
    "get_method",
    "method_names",
    "register",
]
