"""Typed, validated option dataclasses: the one mechanism behind every method's and the pipeline's settings.

An options class is a frozen dataclass whose fields carry their type (the annotation) and, where it matters, a
range or a set of choices (:func:`option`). :func:`build_options` makes one from user values (keyword arguments,
a dict from the command line's ``--set``, the app's widgets) and checks every value against its field *before any
work starts*: an unknown name, a value of the wrong type or out of range is one :class:`DiscoveryError` line naming
``owner.field``, what was expected and what was found. Values are normalized on the way (a list becomes a tuple, an
integer a float where a float is expected), so two equal settings compare and hash equal.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Search(Options):
...     owner = "demo"
...     depth: int = option(3, low=1)
...     rates: tuple[float, ...] = (0.1, 0.5)
>>> build_options(Search, {"rates": [1, 2]})
Search(depth=3, rates=(1.0, 2.0))
>>> Search(depth=0)
Traceback (most recent call last):
...
discovery.errors.DiscoveryError: demo.depth: expected an integer >= 1, found 0
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, Union

from discovery.errors import DiscoveryError

T = TypeVar("T")

_SHOWN = 80
"""Characters of a bad value shown in an error line."""


def option(default: Any, *, low: float | None = None, high: float | None = None, low_open: bool = False,
           high_open: bool = False, choices: tuple[Any, ...] | None = None, each: bool = False) -> Any:
    """A dataclass field with a range (``low``/``high``, closed unless ``*_open``) or a set of ``choices``.

    With ``each=True`` the range applies to every item of a tuple-valued field.
    """
    meta = {"low": low, "high": high, "low_open": low_open, "high_open": high_open, "choices": choices, "each": each}
    if isinstance(default, (list, dict, set)):
        raise TypeError("option defaults must be immutable (use a tuple)")
    return dataclasses.field(default=default, metadata={"option": meta})


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


class _Mismatch(Exception):
    def __init__(self, expected: str) -> None:
        self.expected = expected


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if origin is Literal:
        return "one of " + ", ".join(repr(c) for c in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) if a is not type(None) else "None" for a in typing.get_args(tp))
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
        return f"a list of {len(args)} values ({', '.join(_describe(a) for a in args)})"
    if origin in (dict, Mapping, typing.get_origin(Mapping[str, int])):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any) -> Any:
    """``value`` converted to type ``tp`` (see the module docstring), or :class:`_Mismatch`."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if tp is type(None):
        if value is None:
            return None
        raise _Mismatch("None")
    if tp is bool:
        if isinstance(value, (bool,)):
            return value
        raise _Mismatch(_describe(tp))
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        raise _Mismatch(_describe(tp))
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value)):
            return float(value)
        raise _Mismatch("a finite number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch(_describe(tp))
    if tp is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        raise _Mismatch("a path")
    if origin is Literal:
        if value in typing.get_args(tp) and not isinstance(value, bool):
            return value
        raise _Mismatch(_describe(tp))
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg)
            except _Mismatch:
                continue
        raise _Mismatch(_describe(tp))
    if origin is tuple:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
            raise _Mismatch(_describe(tp))
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0]) for v in value)
        if len(value) != len(args):
            raise _Mismatch(_describe(tp))
        return tuple(_coerce(v, a) for v, a in zip(value, args))
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        if not isinstance(value, Mapping):
            raise _Mismatch("a mapping")
        key_t, val_t = typing.get_args(tp) or (Any, Any)
        return types.MappingProxyType({_coerce(k, key_t): _coerce(v, val_t) for k, v in value.items()})
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if isinstance(value, Mapping):
            return build_options(tp, value)
        raise _Mismatch(f"a {tp.__name__} or a mapping of its fields")
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise _Mismatch(_describe(tp))
    return value


def _in_range(value: Any, meta: Mapping[str, Any]) -> str | None:
    """What the range of ``meta`` expects, when ``value`` is outside it (else ``None``)."""
    if meta.get("choices") is not None and value not in meta["choices"]:
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    low, high = meta.get("low"), meta.get("high")
    if (low is None and high is None) or not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    bad_low = low is not None and (value <= low if meta["low_open"] else value < low)
    bad_high = high is not None and (value >= high if meta["high_open"] else value > high)
    if not (bad_low or bad_high):
        return None
    parts = []
    if low is not None:
        parts.append(f"{'>' if meta['low_open'] else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if meta['high_open'] else '<='} {high:g}")
    return " and ".join(parts)


def check_options(obj: Any, owner: str) -> None:
    """Check and normalize every field of the frozen dataclass ``obj`` in place (see :func:`build_options`)."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        tp = hints.get(f.name, Any)
        try:
            value = _coerce(value, tp)
        except _Mismatch as exc:
            raise DiscoveryError(f"{owner}.{f.name}: expected {exc.expected}, found {_shown(value)}") from None
        meta = f.metadata.get("option")
        if meta:
            items = value if meta["each"] and isinstance(value, tuple) else (value,)
            for item in items:
                expected = _in_range(item, meta)
                if expected is not None:
                    what = "" if meta.get("choices") is not None else (_describe(tp) if not meta["each"] else "values")
                    expected = f"{what} {expected}".strip()
                    raise DiscoveryError(f"{owner}.{f.name}: expected {expected}, found {_shown(value)}")
        object.__setattr__(obj, f.name, value)


class Options:
    """Base of the option dataclasses: every field is checked (:func:`check_options`) when one is made.

    Subclasses are frozen dataclasses; ``owner`` names them in error lines (``"sindy"`` -> ``sindy.degree: ...``).
    Checks that involve several fields go in :meth:`validate`, which runs after the per-field checks.
    """

    owner: ClassVar[str] = "options"

    def __post_init__(self) -> None:
        check_options(self, self.owner)
        self.validate()

    def validate(self) -> None:
        """Checks across fields; raise :class:`DiscoveryError` naming ``owner.field``."""


def build_options(cls: type[T], values: Mapping[str, Any] | None = None, owner: str | None = None) -> T:
    """An instance of the options dataclass ``cls`` from ``values``, every field checked.

    Raises
    ------
    DiscoveryError
        For an unknown name (the message lists the valid ones), a value of the wrong type, or one out of range.
    """
    if values is not None and not isinstance(values, Mapping):
        raise DiscoveryError(f"{owner or getattr(cls, 'owner', cls.__name__)}: expected a mapping of option names "
                             f"to values, found {_shown(values)}")
    values = dict(values or {})
    owner = owner or getattr(cls, "owner", None) or cls.__name__
    names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    unknown = sorted(str(k) for k in values if k not in names)
    if unknown:
        raise DiscoveryError(f"{owner}: unknown option(s) {', '.join(_shown(k) for k in unknown)}; valid: "
                             f"{', '.join(names) or '(none)'}")
    obj = cls(**values)
    if not isinstance(obj, Options):
        check_options(obj, owner)
    return obj



def config_from(cls: type[T], value: Any, owner: str) -> T:
    """``cls`` built from ``value``: ``None`` (the defaults), an instance of ``cls`` (kept), or a mapping of its
    fields (checked by :func:`build_options`, errors naming ``owner``).

    For option fields whose dataclass lives in a module that must not be imported before it is needed (the torch
    models' network and training configs): the field is typed ``Any`` and the method converts it with this.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Net:
    ...     width: int = 8
    >>> config_from(Net, {"width": 16}, "demo.model")
    Net(width=16)
    >>> config_from(Net, {"widht": 16}, "demo.model")
    Traceback (most recent call last):
    ...
    discovery.errors.DiscoveryError: demo.model: unknown option(s) 'widht'; valid: width
    """
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise DiscoveryError(f"{owner}: expected a {cls.__name__} or a mapping of its fields, found {_shown(value)}")
    return build_options(cls, value, owner=owner)

def non_default(obj: Any) -> dict[str, Any]:
    """The fields of the options dataclass ``obj`` that differ from their defaults (for ``repr`` and JSON)."""
    out = {}
    for f in dataclasses.fields(obj):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING)
        value = getattr(obj, f.name)
        if default is dataclasses.MISSING or value != default:
            out[f.name] = value
    return out
