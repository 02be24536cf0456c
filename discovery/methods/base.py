"""The methods registry: every discovery method is found here by name.

A method turns trajectories into candidate systems of equations. The API, the command line and the app all
read :data:`REGISTRY`; an unknown name raises :class:`~discovery.errors.DiscoveryError` listing the valid ones.
Methods that need heavy optional dependencies (torch models, PySR) import them inside :meth:`Method.propose`,
so that importing the registry stays cheap.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.options import Options, build_options, non_default
from models.progress import ProgressFn  # re-exported: discovery's name for the progress callback

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories
    from discovery.prediction import OperatorPrediction



FUNCTION_WEIGHT = 3
"""What one elementary function (``sin``, ``exp``, ``log``, ...) counts in :func:`selection_complexity`."""
FUNCTION_TIE = 0.5
"""What one elementary function adds to :attr:`Candidate.selection_cost` beyond :data:`FUNCTION_WEIGHT`: a tie
breaker (below one node), so of two models of equal complexity the one with fewer functions wins."""


def expression_complexity(expr: sympy.Expr) -> int:
    """Number of nodes in the expression tree (operators, symbols and numbers)."""
    return sum(1 for _ in sympy.preorder_traversal(expr))


def selection_complexity(expr: sympy.Expr) -> int:
    """Node count in which each elementary function application counts :data:`FUNCTION_WEIGHT` nodes.

    The selection rule compares models by this count (as PySR's ``complexity_of_operators`` weighs operators), so
    a formula built from nested functions, such as ``2.9*sin(sin(0.31*x))``, does not pass for simpler than the
    polynomial ``0.99*x - 0.1*x**2`` it imitates.
    """
    return sum(FUNCTION_WEIGHT if isinstance(node, sympy.Function) else 1 for node in sympy.preorder_traversal(expr))


@dataclass
class Candidate:
    """One candidate system proposed by a method.

    Attributes
    ----------
    method:
        Name of the method that proposed it (``"sindy"``, ``"sr"``, ...).
    equations:
        Right-hand side of ``d v/dt`` for each state variable ``v``, as sympy expressions in the variables'
        symbols (``sympy.Symbol(v)``).
    info:
        Method-specific details (backend, hyper-parameters, training loss, ...), JSON-serializable.
    metrics:
        Filled in by scoring (``r2``, ``complexity``, ``stable``, ...).
    window_errors:
        Filled in by scoring: each scoring window's share of the window error, ``(B,)`` (their mean is
        ``1 - r2_window``), or ``None``; the selection rule compares candidates window by window. Not part of the
        result's JSON.
    """

    method: str
    equations: dict[str, sympy.Expr]
    info: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    window_errors: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self.equations)

    @property
    def complexity(self) -> int:
        """Node count of the right-hand sides."""
        return sum(expression_complexity(e) for e in self.equations.values())

    @property
    def selection_complexity(self) -> int:
        """Node count with functions weighted (:func:`selection_complexity`), used by the selection rule."""
        return sum(selection_complexity(e) for e in self.equations.values())

    @property
    def selection_cost(self) -> float:
        """What the selection rule minimizes: :attr:`selection_complexity`, ties broken against elementary
        functions (half a node each, less than any whole node). ``x**2*y/(x**2 + 2.0)`` and
        ``0.35*y - 1.4*y*exp(-0.78*x)`` count 13 nodes each and fit a Holling type III law alike on noisy data;
        the rational term, the law's own form more often than not, wins the tie."""
        n_functions = sum(1 for e in self.equations.values() for node in sympy.preorder_traversal(e)
                          if isinstance(node, sympy.Function))
        return self.selection_complexity + FUNCTION_TIE * n_functions


@dataclass
class MethodContext:
    """What the pipeline hands every method besides the data.

    Attributes
    ----------
    derivative_method:
        Name of the derivative estimator (see :mod:`discovery.derivatives`); ``"auto"`` picks the default.
    seed:
        Seed for every random choice, so that runs are repeatable.
    device:
        Torch device for methods that train networks (``"auto"`` = CUDA when present).
    progress:
        Optional callback ``progress(message, fraction)``.
    """

    derivative_method: str = "auto"
    seed: int = 0
    device: str = "auto"
    progress: ProgressFn | None = None
    options: dict[str, Any] = field(default_factory=dict)
    """Pipeline-wide options a method may read (e.g. ``known`` equations for ``pinn``, ``guess`` for ``prose``)."""
    predictions: list["OperatorPrediction"] = field(default_factory=list)
    """Operator predictions a method makes besides its candidates (PROSE's data decoder) are appended here."""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def report(self, message: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(message, float(min(max(fraction, 0.0), 1.0)))

    def derivatives(self, data: "Trajectories") -> list[tuple[np.ndarray, np.ndarray]]:
        """Smoothed states and time derivatives, one ``(x, dxdt)`` pair of shape ``(N, D)`` per trajectory.

        Computed once per context and data object, then cached.
        """
        from discovery.derivatives import differentiate

        key = f"deriv:{self.derivative_method}:{id(data)}"
        if key not in self._cache:
            self._cache[key] = [differentiate(tr.t, tr.x, method=self.derivative_method) for tr in data]
        return self._cache[key]

    def share_derivatives(self, data: "Trajectories", like: "Trajectories") -> None:
        """Let ``data`` use the derivatives of ``like``: the same states with other inputs (a drive added)."""
        self._cache[f"deriv:{self.derivative_method}:{id(data)}"] = self.derivatives(like)


@dataclass(frozen=True)
class NoOptions(Options):
    """The options of a method that has none."""


class Method(ABC):
    """Base class of a discovery method: a strategy object, configured once, that proposes candidates.

    Subclasses set :attr:`name`, :attr:`description` and :attr:`Options` (a frozen
    :class:`~discovery.options.Options` dataclass: every option typed, ranged and documented there), and implement
    :meth:`propose`. ``Method(**options)`` only stores the checked options (``self.options``), as a scikit-learn
    estimator's ``__init__`` does: an unknown option, a wrong type or a value out of range raises
    :class:`DiscoveryError` at once, before any work.

    Examples
    --------
    >>> from discovery.methods import SINDy
    >>> SINDy(ensemble=True)
    SINDy(ensemble=True)
    """

    name: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type] = NoOptions
    """The method's options dataclass."""
    requires: ClassVar[tuple[str, ...]] = ()
    """Importable modules the method needs; :meth:`availability` checks them without importing."""
    install_hint: ClassVar[str] = ""
    """What to install when a requirement is missing, e.g. ``pip install 'eqdisco[pysr]'``."""
    in_auto: ClassVar[bool] = True
    """Whether ``method="auto"`` runs it when it suits the data."""
    auto_when_unexplained: ClassVar[bool] = False
    """Whether ``auto`` runs it only where the other methods leave something unexplained: after their candidates
    are scored and refined, and only when the best of them leaves more window error than the noise explains
    (:func:`discovery.pipeline.stages.propose_unexplained`)."""
    handles_inputs: ClassVar[bool] = False
    """Whether it can use the data's inputs, parameters and time (:mod:`discovery.inputs`); ``auto`` leaves a method
    that cannot out on data with inputs or parameters, and asking for it there is an error."""

    def __init__(self, **options: Any) -> None:
        self.options = build_options(self.Options, options, owner=self.name)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in non_default(self.options).items())
        return f"{type(self).__name__.removesuffix('Method')}({shown})"

    def get_params(self) -> dict[str, Any]:
        """The options that differ from their defaults, as a plain dict (JSON-friendly for simple values)."""
        return non_default(self.options)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.options == self.options  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), repr(self.options)))

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (batch workers, caches) as class + options
        return (_rebuild, (type(self), non_default(self.options)))

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        """``(True, "")`` when the method can run here, else ``(False, reason)``."""
        missing = [m for m in cls.requires if importlib.util.find_spec(m) is None]
        if missing:
            hint = f"; install with {cls.install_hint}" if cls.install_hint else ""
            return False, f"method {cls.name!r} needs {', '.join(missing)}, which is not installed{hint}"
        return True, ""

    def suits(self, data: "Trajectories") -> bool:
        """Whether ``auto`` should run this method on ``data``."""
        return True

    @abstractmethod
    def propose(self, data: "Trajectories", context: MethodContext) -> list[Candidate]:
        """Return candidate systems for ``data`` (may be empty, never ``None``)."""


def _rebuild(cls: type[Method], options: dict[str, Any]) -> Method:
    return cls(**options)


REGISTRY: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    """Class decorator that adds a method to :data:`REGISTRY` under ``cls.name``."""
    if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
        raise DiscoveryError(f"a method named {cls.name!r} is already registered")
    REGISTRY[cls.name] = cls
    return cls


def valid_methods() -> str:
    """The one line that lists what ``method`` may be: ``"valid methods: sindy, sr, ..., or 'auto'"``."""
    return f"valid methods: {', '.join(REGISTRY) or '(none registered)'}, or 'auto'"


def method_names() -> list[str]:
    """Names of every registered method, in registration order."""
    return list(REGISTRY)


def get_method(name: str, **options: Any) -> Method:
    """Build the method registered as ``name`` with ``options``.

    Raises
    ------
    DiscoveryError
        If no method has that name (the message lists the valid ones) or the method cannot run here.
    """
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise DiscoveryError(f"unknown method {str(name)[:60]!r}; {valid_methods()}") from None
    ok, reason = cls.availability()
    if not ok:
        raise DiscoveryError(reason)
    try:
        return cls(**options)
    except TypeError as exc:  # a method with its own __init__ given an unknown keyword
        raise DiscoveryError(f"method {name!r}: {exc}") from None
