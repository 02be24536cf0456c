"""The typed request every door builds: one frozen :class:`DiscoverySettings`, checked completely before any work.

The Python API (:func:`discovery.discover`, :class:`discovery.EquationDiscovery`), the command line, the batch
runner and the app all call :func:`build_settings` with the same keywords, so a request means the same thing
whichever door it came through, and a bad one (an unknown method or option, a value of the wrong type or out of
range, a formula that does not parse) is one :class:`~discovery.errors.DiscoveryError` line before any data is
touched.

Examples
--------
>>> from discovery.methods import SINDy
>>> s = build_settings("sindy,sr", sr={"time_budget_s": 4})
>>> s.methods
(SINDy(), SR(time_budget_s=4.0))
>>> build_settings(SINDy(ensemble=True)).methods
(SINDy(ensemble=True),)
>>> build_settings("sindy", sindy={"bogus": 1})
Traceback (most recent call last):
...
discovery.errors.DiscoveryError: sindy: unknown option(s) 'bogus'; valid: libraries, degree, ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from discovery.errors import DiscoveryError
from discovery.methods.base import REGISTRY, Method, get_method, valid_methods
from discovery.options import Options, build_options, option
from discovery.pipeline.refine import RefineConfig
from discovery.pipeline.scoring import ScoringConfig

OPERATOR_MODELS = ("deeponet",)
"""Operator models fitted after selection, on the selected equations (PROSE's forecast comes with its method)."""

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class RefinementSettings(Options):
    """What the pipeline does after the first scoring: refine, prune and polish the most promising candidates.

    Attributes
    ----------
    enabled:
        Fit the ``max_candidates`` most promising candidates' constants to the trajectories.
    max_candidates:
        How many candidates are refined (and get pruned variants).
    polish:
        Fit the selected model and its simpler rivals once more by full multiple shooting, then select again
        (skipped on data without measurable noise).
    prune_tolerances:
        For each refined candidate, also try variants without the terms whose RMS over the data is below each of
        these fractions of their equation's largest term; ``()`` turns this off.
    windows:
        The refinement's own settings (:class:`~discovery.pipeline.refine.RefineConfig`).
    """

    owner = "refinement"

    enabled: bool = True
    max_candidates: int = option(6, low=0)
    polish: bool = True
    prune_tolerances: tuple[float, ...] = option((0.01, 0.05), low=0.0, high=1.0, low_open=True, high_open=True,
                                                 each=True)
    windows: RefineConfig = RefineConfig()


@dataclass(frozen=True)
class DiscoverySettings(Options):
    """One discovery request (build it with :func:`build_settings`).

    Attributes
    ----------
    methods:
        The configured methods to run, or ``()`` for ``auto`` (every available method that suits the data).
    configured:
        Under ``auto``: methods the user configured; ``auto`` runs these instances instead of default ones.
    derivative:
        Derivative estimator for the methods that regress on derivatives (:mod:`discovery.derivatives`).
    known, guess:
        A partly known model for ``pinn`` and a guessed system for ``prose`` (variable -> formula).
    operators:
        Operator models fitted after selection (:data:`OPERATOR_MODELS`).
    refinement, scoring:
        Pipeline knobs, grouped.
    uncertainty:
        Quantify the selected model's uncertainty (intervals, inclusion probabilities, identifiability warnings;
        :mod:`discovery.pipeline.uncertainty`).
    seed, device:
        Seed of every random choice; torch device of the neural methods (``"auto"`` = CUDA when present).
    inputs, parameters:
        Columns of the data that are measured input signals, and per-trajectory parameters: symbols of the
        equations without an equation of their own (the data loader takes these names).
    time_dependent:
        Search right-hand sides that depend on time explicitly: a periodic drive ``a*cos(w*t) + b*sin(w*t)`` whose
        frequency ``w`` is found from the data (:mod:`discovery.pipeline.drive`). ``False``: only under ``auto``,
        and only when the best autonomous model leaves a residual with a clear spectral peak.
    """

    owner = "settings"

    methods: tuple[Method, ...] = ()
    configured: tuple[Method, ...] = ()
    derivative: str = "auto"
    known: Mapping[str, Any] | None = None
    guess: Mapping[str, Any] | None = None
    operators: tuple[str, ...] = option((), choices=OPERATOR_MODELS, each=True)
    refinement: RefinementSettings = RefinementSettings()
    scoring: ScoringConfig = ScoringConfig()
    uncertainty: bool = True
    seed: int = option(0, low=0)
    device: str = "auto"
    inputs: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    time_dependent: bool = False

    @property
    def is_auto(self) -> bool:
        return not self.methods

    def validate(self) -> None:
        from discovery.derivatives import DERIVATIVE_METHODS

        if self.derivative != "auto" and self.derivative not in DERIVATIVE_METHODS:
            raise DiscoveryError(f"settings.derivative: expected 'auto' or one of {', '.join(DERIVATIVE_METHODS)}, "
                                 f"found {self.derivative!r}")
        if not _DEVICE.match(self.device):
            raise DiscoveryError(f"settings.device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', found "
                                 f"{self.device[:40]!r}")
        names = [m.name for m in self.methods]
        if len(set(names)) != len(names):
            raise DiscoveryError(f"settings.methods: a method is given twice ({', '.join(names)})")
        external = [*self.inputs, *self.parameters]
        both = sorted(set(self.inputs) & set(self.parameters))
        if both:
            raise DiscoveryError(f"settings: {both[0]!r} is given both as an input and as a parameter; give it once")
        if len(set(external)) != len(external) or any(not n.strip() or n in ("t", "time") for n in external):
            raise DiscoveryError(f"settings.inputs/parameters: expected distinct column names other than the time, "
                                 f"found {external}")
        refused = [m.name for m in self.methods if not m.handles_inputs]
        if refused and (external or self.time_dependent):
            what = "inputs or parameters" if external else "explicit time dependence (time_dependent)"
            raise DiscoveryError(f"method {refused[0]!r} cannot use {what}; use method='sindy', 'sr' or 'auto'")

    def method_label(self) -> str:
        """How the request named its methods: ``"auto"``, or the method names joined by commas (``"sindy,sr"``)."""
        return "auto" if self.is_auto else ",".join(m.name for m in self.methods)

    def to_dict(self) -> dict[str, Any]:
        """The request as plain JSON values (the result's ``options``, the app's cache key)."""
        from dataclasses import asdict

        return {
            "method": self.method_label(),
            "method_options": {m.name: _plain(m.get_params()) for m in (*self.methods, *self.configured)
                               if m.get_params()},
            "derivative": self.derivative,
            "known": dict(self.known) if self.known else None,
            "guess": dict(self.guess) if self.guess else None,
            "operators": list(self.operators),
            "refinement": _plain(asdict(self.refinement)),
            "scoring": _plain(asdict(self.scoring)),
            "uncertainty": self.uncertainty,
            "seed": self.seed,
            "device": self.device,
            "inputs": list(self.inputs),
            "parameters": list(self.parameters),
            "time_dependent": self.time_dependent,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _method_list(method: Any) -> list[str | Method]:
    """``method`` as a list of names and method objects (``[]`` for ``auto``)."""
    if isinstance(method, str):
        if method.strip() == "auto":
            return []
        items: list[Any] = [m.strip() for m in method.split(",") if m.strip()]
    elif isinstance(method, Method):
        items = [method]
    elif isinstance(method, Sequence) and not isinstance(method, (bytes, bytearray)):
        items = list(method)
    else:
        raise DiscoveryError(f"method: expected 'auto', a method name, a method object or a list of them, found "
                             f"{type(method).__name__}; {valid_methods()}")
    if not items:
        raise DiscoveryError(f"no method given; {valid_methods()}")
    for item in items:
        if item == "auto":
            raise DiscoveryError("'auto' cannot be combined with other methods")
        if not isinstance(item, (str, Method)):
            raise DiscoveryError(f"method: expected method names or method objects, found "
                                 f"{type(item).__name__}; {valid_methods()}")
        if isinstance(item, str) and item not in REGISTRY:
            raise DiscoveryError(f"unknown method {item[:60]!r}; {valid_methods()}")
    return items


def _names(value: Any, what: str) -> Any:
    """Column names given as a list or a comma-separated string (``"u1,u2"``), stripped; ``()`` for none."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value)
    raise DiscoveryError(f"settings.{what}: expected column names (a list of text, or 'u1,u2'), found "
                         f"{str(value)[:60]!r}")


def _formulas(value: Any, what: str) -> Mapping[str, Any] | None:
    """``known``/``guess`` as a mapping variable -> formula (lists of ``"x = ..."`` lines accepted), or ``None``."""
    if value is None or (isinstance(value, (Mapping, list, tuple, str)) and not value):
        return None
    from discovery.known import formula_entries

    return dict(formula_entries(value, what))


def build_settings(
    method: str | Method | Sequence[str | Method] = "auto",
    *,
    derivative: str = "auto",
    known: Any = None,
    guess: Any = None,
    refine: bool = True,
    max_refine: int = 6,
    polish: bool = True,
    prune_tolerances: Sequence[float] = (0.01, 0.05),
    operators: Sequence[str] = (),
    scoring: ScoringConfig | Mapping[str, Any] | None = None,
    refinement: RefineConfig | Mapping[str, Any] | None = None,
    uncertainty: bool = True,
    seed: int = 0,
    device: str = "auto",
    inputs: Sequence[str] | str | None = None,
    parameters: Sequence[str] | str | None = None,
    time_dependent: bool = False,
    **method_options: Any,
) -> DiscoverySettings:
    """Check a request completely and return it as :class:`DiscoverySettings`.

    Parameters are those of :func:`discovery.discover` (``**method_options`` keyed by method name, e.g.
    ``sindy={"ensemble": True}``). Formulas in ``known``/``guess`` are parsed here (with the grammar's safe
    parser), so a typo fails now rather than after the other methods ran.

    Raises
    ------
    DiscoveryError
        One line naming the bad setting, what was expected and what was found.
    """
    items = _method_list(method)
    unknown = sorted(str(k) for k in method_options if k not in REGISTRY)
    if unknown:
        raise DiscoveryError(f"unknown option(s) {', '.join(repr(u[:60]) for u in unknown)}; per-method options are "
                             f"keyed by a method name ({', '.join(REGISTRY)}); pipeline options are derivative, known, "
                             "guess, refine, max_refine, polish, prune_tolerances, operators, scoring, refinement, "
                             "uncertainty, seed, device, inputs, parameters, time_dependent")
    for name, values in method_options.items():
        if not isinstance(values, Mapping):
            raise DiscoveryError(f"{name}: expected a mapping of option names to values (e.g. {name}={{...}}), "
                                 f"found {type(values).__name__}")
    methods: list[Method] = []
    for item in items:
        if isinstance(item, Method):
            if item.name in method_options:
                raise DiscoveryError(f"{item.name}: options given both in the method object and as {item.name}=...; "
                                     "give them in one place")
            methods.append(item)
        else:
            methods.append(get_method(item, **method_options.get(item, {})))
    configured: list[Method] = []
    if items:
        unused = sorted(set(method_options) - {m.name for m in methods})
        if unused:
            raise DiscoveryError(f"options for {', '.join(unused)} were given, but that method is not run (method="
                                 f"{', '.join(m.name for m in methods)}); add it to the methods or drop its options")
    else:
        configured = [get_method(name, **values) for name, values in method_options.items()]
    known_map, guess_map = _formulas(known, "known model"), _formulas(guess, "guess")
    names = {m.name for m in methods}
    if items and known_map and "pinn" not in names:
        raise DiscoveryError("a known model is used only by method 'pinn'; add it (e.g. method='sindy,pinn') or drop "
                             "the known model")
    if items and guess_map and "prose" not in names:
        raise DiscoveryError("a guess is used only by method 'prose'; add it (e.g. method='sindy,prose') or drop "
                             "the guess")
    if known_map:
        from discovery.known import parse_known

        parse_known(known_map, list(known_map))  # every formula, its names and its hidden terms, now
    if guess_map:
        from discovery.known import check_guess

        check_guess(guess_map)
    if not isinstance(refine, bool) or not isinstance(polish, bool):
        bad = "refine" if not isinstance(refine, bool) else "polish"
        raise DiscoveryError(f"settings.{bad}: expected true or false, found {refine if bad == 'refine' else polish!r}")
    refinement_settings = build_options(RefinementSettings, {
        "enabled": refine, "max_candidates": max_refine, "polish": polish, "prune_tolerances": prune_tolerances,
        "windows": RefineConfig() if refinement is None else refinement,
    })
    settings = build_options(DiscoverySettings, {
        "methods": tuple(methods), "configured": tuple(configured), "derivative": derivative, "known": known_map,
        "guess": guess_map, "operators": operators, "refinement": refinement_settings,
        "scoring": ScoringConfig() if scoring is None else scoring, "uncertainty": uncertainty, "seed": seed,
        "device": device, "inputs": _names(inputs, "inputs"), "parameters": _names(parameters, "parameters"),
        "time_dependent": time_dependent,
    })
    if settings.device.startswith("cuda"):
        from models.device import resolve_device

        try:
            resolve_device(settings.device)
        except ValueError as exc:
            raise DiscoveryError(f"settings.device: {exc}") from None
    return settings


__all__ = ["OPERATOR_MODELS", "DiscoverySettings", "RefinementSettings", "build_settings"]
