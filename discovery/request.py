"""One request for a batch of trajectory and field files: which option goes to which kind of file, decided here.

:func:`build_request` takes the keywords of :func:`discovery.discover` (what the command line and the batch runner
pass) and splits them into the request for trajectory files (a
:class:`~discovery.pipeline.settings.DiscoverySettings`) and the one for field files (a
:class:`~discovery.fields.request.FieldRequest`):

==================================  ===========================================  ===============================
option                              trajectories                                 fields
==================================  ===========================================  ===============================
``method``                          ``auto``, ``sindy``, ``sr``, ``prose``,      ``auto``, ``sparse``, ``pinn``
                                    ``pinn``, ``node`` or a list of them         (one name)
``known``                           a model in the state variables               a PDE (see :func:`pde_names`)
``operators``                       ``deeponet``                                 ``fno``
``fno={...}``                       --                                           FNO options
``pinn={...}``                      with a known model for trajectories          with a known PDE
``seed``, ``device``                yes                                          yes
``derivative``, ``guess``,          yes                                          --
``inputs``, ``parameters``,
``time_dependent``, ``scoring``,
``refinement``, ``max_refine``,
``prune_tolerances``, options of
``sindy``/``sr``/``prose``/``node``
==================================  ===========================================  ===============================

A known model is a PDE when a left side is ``u_t`` or when it uses a derivative name of one of its fields
(``u_x``, ``u_xx``, ``v_xy``: the field, ``_``, then axis letters ``x``/``y``); otherwise it is a model of
trajectories.

The rules:

- An option that is wrong whatever the file (an unknown method or operator, a bad option value, a formula that
  does not parse) raises :class:`~discovery.errors.DiscoveryError` now, before any file is read.
- A file of a kind the request cannot serve (a method, known model or operators of the other kind only) fails with
  one line that says why and how to fix it (:meth:`Request.for_kind`); a batch goes on with the other files. When
  neither kind can be served, :func:`build_request` raises now.
- Options that only tune what the other kind of file runs are a warning on each file that does not read them
  (:meth:`Request.note`). ``refine``, ``polish`` and ``uncertainty`` turned off need no warning: a field has none
  of these stages.

Examples
--------
>>> request = build_request("pinn", known=["u = h1(u, u_x) + 0.1*u_xx"], operators="fno", fno={"horizon": 0.5})
>>> request.for_kind("field").known, request.refused["trajectories"][:40]
(['u = h1(u, u_x) + 0.1*u_xx'], 'the known model is a PDE (it uses u_x), ')
>>> build_request("sindy", operators="deeponet,fno").note("trajectories")
'not used for trajectories: operator fno (it is for fields)'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as _default
from typing import Any

from discovery.errors import DiscoveryError
from discovery.fields.api import METHODS as FIELD_METHODS
from discovery.fields.operator import OPERATORS as FIELD_OPERATORS
from discovery.fields.request import FieldRequest, field_request
from discovery.methods.base import REGISTRY
from discovery.pipeline.settings import (
    OPERATOR_MODELS,
    DiscoverySettings,
    RefinementSettings,
    build_settings,
)

KINDS = ("trajectories", "field")
"""The kinds of input file: trajectories (the ODE path) and fields (the PDE path)."""


_LHS = re.compile(r"^\s*(?:d\s*(\w+?)\s*/\s*dt|(\w+?)(?:_t)?\s*'?)\s*$")
_DERIVATIVE = re.compile(r"\b([A-Za-z][A-Za-z0-9]*)_([xy]+)\b")
_TRAJECTORY_ONLY = {"derivative": "auto", "guess": None, "inputs": None, "parameters": None, "time_dependent": False,
                    "scoring": None, "refinement": None, "max_refine": 6, "prune_tolerances": (0.01, 0.05)}
"""Options only trajectories read, with their defaults (a field notes the ones given otherwise)."""


@dataclass(frozen=True)
class Request:
    """A request split by the kind of file (build it with :func:`build_request`); plain values, so it pickles.

    Attributes
    ----------
    trajectories, field:
        The checked request for each kind, or ``None`` where :attr:`refused` says why that kind cannot run it.
    refused:
        Kind -> one line: why a file of that kind cannot run this request, and how to fix it.
    unused:
        Kind -> the options given that a file of that kind does not read.
    """

    trajectories: DiscoverySettings | None
    field: FieldRequest | None
    refused: Mapping[str, str] = _default(default_factory=dict)
    unused: Mapping[str, tuple[str, ...]] = _default(default_factory=dict)

    def for_kind(self, kind: str) -> Any:
        """The request for a file of ``kind`` (``"trajectories"`` or ``"field"``).

        Raises
        ------
        DiscoveryError
            The one line of :attr:`refused` when that kind cannot run this request.
        """
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {KINDS}, found {kind!r}")
        if kind in self.refused:
            raise DiscoveryError(self.refused[kind])
        return self.trajectories if kind == "trajectories" else self.field

    def note(self, kind: str) -> str | None:
        """A warning for each file of ``kind`` naming the options it does not read, or ``None``."""
        unused = self.unused.get(kind)
        if not unused:
            return None
        which = "they are" if len(unused) > 1 else "it is"
        here, other = ("a field", "trajectories") if kind == "field" else ("trajectories", "fields")
        return f"not used for {here}: {', '.join(unused)} ({which} for {other})"


def _pairs(known: Any) -> list[tuple[str | None, str]]:
    """``known`` as ``(left side or None, formula text)`` pairs, leniently (the parsers check the form later)."""
    if isinstance(known, Mapping):
        return [(str(k), str(v)) for k, v in known.items()]
    items = re.split(r"[;\n]", known) if isinstance(known, str) else list(known) if isinstance(known, Sequence) \
        else []
    out: list[tuple[str | None, str]] = []
    for item in items:
        text = str(item)
        if not text.strip():
            continue
        lhs, sep, rhs = text.partition("=")
        out.append((lhs, rhs) if sep else (None, text))
    return out


def pde_names(known: Any) -> list[str]:
    """What marks a known model as a PDE: the left sides written ``u_t`` and the derivative names of its fields
    (``u_x``, ``u_xx``, ``v_xy``: a field, ``_``, axis letters) in its formulas; ``[]`` for a model of trajectories.

    With a left side, only derivatives of the fields on the left sides count, and never a name that is itself on a
    left side (a state variable may be called ``x_y``); one formula without a left side counts any such name.

    >>> pde_names(["u = h1(u, u_x) + 0.1*u_xx"]), pde_names({"u_t": "h1(u)"}), pde_names(["x = 0.5*x - h1(x, y)"])
    (['u_x', 'u_xx'], ['u_t'], [])
    """
    if known is None:
        return []
    pairs = _pairs(known)
    lhs = [side.strip() for side, _ in pairs if side is not None]
    marked = [s for s in lhs if s.endswith("_t")]
    heads = set()
    for side in lhs:
        m = _LHS.match(side)
        heads.add(next((g for g in m.groups() if g), side) if m else side)
    names = []
    for _, formula in pairs:
        for m in _DERIVATIVE.finditer(formula):
            if m.group(0) not in lhs and (not lhs or m.group(1) in heads) and m.group(0) not in names:
                names.append(m.group(0))
    return marked + names


def _method_names(method: Any) -> list[str] | None:
    """``method`` as a list of names when it is text (``[]`` for ``auto``), ``None`` for method objects."""
    if not isinstance(method, str):
        return None
    names = [m.strip() for m in method.split(",") if m.strip()]
    return [] if names == ["auto"] else names


def _operator_names(operators: Any) -> list[str]:
    if operators is None:
        return []
    if isinstance(operators, str):
        return [o.strip() for o in operators.split(",") if o.strip()]
    if isinstance(operators, Sequence) and all(isinstance(o, str) for o in operators):
        return [o.strip() for o in operators if o.strip()]
    raise DiscoveryError(f"operators: expected names (a list of text, or 'deeponet,fno'), found "
                         f"{str(operators)[:60]!r}")


def build_request(method: Any = "auto", **options: Any) -> Request:
    """Check a request (the keywords of :func:`discovery.discover`) for both kinds of file and split it (the table
    of the module docstring).

    Raises
    ------
    DiscoveryError
        One line, before any file is read, for an option that is wrong whatever the file, or for a request that
        neither trajectories nor fields can run.
    """
    from discovery.fields.operator import fno_options

    known, operators = options.pop("known", None), _operator_names(options.pop("operators", ()))
    fno = options.pop("fno", None)
    names = _method_names(method)
    for name in names or []:
        if name not in REGISTRY and name not in FIELD_METHODS:
            raise DiscoveryError(f"unknown method {name[:60]!r}; valid methods: auto, {', '.join(REGISTRY)} "
                                 f"(trajectories); auto, {', '.join(m for m in FIELD_METHODS if m != 'auto')} (fields)")
    field_only = [n for n in names or [] if n not in REGISTRY]
    if field_only and len(names or []) > 1:
        raise DiscoveryError(f"method {field_only[0]!r} is for fields, which take one method (auto, sparse or pinn); "
                             f"found method={','.join(names or [])!r}")
    unknown_ops = [o for o in operators if o not in OPERATOR_MODELS and o not in FIELD_OPERATORS]
    if unknown_ops:
        raise DiscoveryError(f"unknown operator {unknown_ops[0][:40]!r}; valid: {', '.join(OPERATOR_MODELS)} "
                             f"(trajectories), {', '.join(FIELD_OPERATORS)} (fields)")
    ode_ops = [o for o in operators if o in OPERATOR_MODELS]
    field_ops = [o for o in operators if o in FIELD_OPERATORS]
    if fno is not None:
        fno_options(fno)  # checked whatever runs
        if not field_ops:
            raise DiscoveryError("fno options were given but no FNO forecast was asked for; add operators fno")
    pinn = options.get("pinn")
    marks = pde_names(known) or pde_names(pinn.get("known") if isinstance(pinn, Mapping) else None)
    field_known, field_pinn = (known, options.pop("pinn", None)) if marks else (None, None)
    # the trajectories' options are checked even where no trajectory file can run the request
    settings = build_settings("auto" if field_only else method, known=None if marks else known, operators=ode_ops,
                              **options)
    label = field_only[0] if field_only else settings.method_label()

    refused: dict[str, str] = {}
    if field_only:
        refused["trajectories"] = (f"method {label!r} is for fields, and this file holds trajectories; use auto or "
                                   f"{', '.join(REGISTRY)} for them")
    elif marks:
        refused["trajectories"] = (f"the known model is a PDE (it uses {marks[0]}), and this file holds trajectories; "
                                   "give one in its state variables (e.g. 'x = 0.5*x - h1(x, y)') or run it apart")
    elif operators and not ode_ops:
        refused["trajectories"] = (f"operator {field_ops[0]!r} forecasts fields, and this file holds trajectories; "
                                   f"ask for {OPERATOR_MODELS[0]} as well (operators {OPERATOR_MODELS[0]},"
                                   f"{field_ops[0]}) or drop it")
    given = bool(known) if isinstance(known, (str, Sequence, Mapping)) else known is not None
    field_refusal = _field_refusal(label, given and not marks, ode_ops if not field_ops else [],
                                   label == "pinn" and not marks)
    if field_refusal:
        refused["field"] = field_refusal
    if len(refused) == len(KINDS):
        raise DiscoveryError(f"this request fits no file: for trajectories, {refused['trajectories']}; for fields, "
                             f"{refused['field']}")
    field_req = None if field_refusal else field_request(
        label, known=field_known, operators=tuple(field_ops), fno=fno, pinn=field_pinn,
        seed=settings.seed, device=settings.device)
    unused = {"trajectories": tuple(f"operator {o}" for o in field_ops) if ode_ops else (),
              "field": _unused_for_field(settings, options, ode_ops if field_ops else [])}
    return Request(None if "trajectories" in refused else settings, field_req, refused,
                   {k: v for k, v in unused.items() if v})


def _field_refusal(label: str, ode_known: bool, ode_ops: Sequence[str], pinn_without_known: bool) -> str | None:
    """Why a field cannot run a request (its method label, whether its known model is one of trajectories, its
    operators when all are for trajectories, whether it asks for ``pinn`` without a known PDE), or ``None``."""
    if label not in FIELD_METHODS:
        return (f"unknown PDE method {label[:60]!r}; valid: {', '.join(FIELD_METHODS)} ({label[:60]} is for "
                "trajectories)")
    if ode_known:
        return ("the known model names no spatial derivative (such as u_x), so it was read as one of trajectories, "
                "and this file is a field; mark a PDE by its left side, e.g. 'u_t = h1(u) + 0.1*u'")
    if ode_ops:
        return (f"operator {ode_ops[0]!r} is for trajectories, and this file is a field; ask for "
                f"{FIELD_OPERATORS[0]} as well (operators {ode_ops[0]},{FIELD_OPERATORS[0]}) or drop it")
    if pinn_without_known:
        return ("method 'pinn' on a field needs a partly known PDE, e.g. known 'u_t = h1(u, u_x) + 0.1*u_xx'; none "
                "was given")
    return None


def _unused_for_field(settings: DiscoverySettings, options: Mapping[str, Any], ode_ops: Sequence[str]) -> tuple:
    """The options given that a field does not read (see the module docstring)."""
    out = [f"operator {o}" for o in ode_ops]
    for name, default in _TRAJECTORY_ONLY.items():
        value = options.get(name, default)
        value = tuple(value) if isinstance(value, list) else value
        if (bool(value) if default is None else value != default):
            out.append(name)
    for name in [*(n for n in options if n in REGISTRY), *(m.name for m in (*settings.methods, *settings.configured)
                                                            if m.get_params())]:
        if f"{name} options" not in out:
            out.append(f"{name} options")
    return tuple(out)


def request_from_settings(settings: DiscoverySettings) -> Request:
    """A :class:`Request` from a request for trajectories alone (what :func:`discovery.batch.run_batch` may be
    given): a field file gets the same method, seed and device, and one line where the rest does not fit a field."""
    label = settings.method_label()
    refusal = _field_refusal(label, bool(settings.known), settings.operators, label == "pinn")
    field_req = None if refusal else FieldRequest(method=label, seed=settings.seed, device=settings.device)
    given = {"derivative": settings.derivative, "guess": settings.guess, "inputs": settings.inputs or None,
             "parameters": settings.parameters or None, "time_dependent": settings.time_dependent}
    unused = list(_unused_for_field(settings, given, []))
    if settings.scoring != DiscoverySettings().scoring:
        unused.append("scoring")
    if replace(settings.refinement, enabled=True, polish=True) != RefinementSettings():
        unused.append("refinement")
    return Request(settings, field_req, {"field": refusal} if refusal else {},
                   {"field": tuple(unused)} if unused else {})


def as_request(value: Request | DiscoverySettings) -> Request:
    """``value`` as a :class:`Request` (see :func:`request_from_settings`)."""
    if isinstance(value, Request):
        return value
    if isinstance(value, DiscoverySettings):
        return request_from_settings(value)
    raise DiscoveryError(f"settings: expected a Request (build_request) or DiscoverySettings (build_settings), found "
                         f"{type(value).__name__}")


__all__ = ["KINDS", "Request", "as_request", "build_request", "pde_names", "request_from_settings"]
