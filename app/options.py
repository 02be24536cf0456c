"""The registry's methods and their main options, described in plain words for the set-up form.

Everything is read from :data:`discovery.methods.REGISTRY`: a method's description and availability, and its
options from the fields of its ``Options`` dataclass (defaults, types and declared choices) with the help text that
dataclass's docstring gives each field (numpydoc ``Attributes`` section). A method may name the options worth
showing in a ``main_options`` class attribute; otherwise the simple ones (numbers, switches, words) are shown.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["MethodInfo", "OptionSpec", "method_catalog", "option_specs"]

MAX_SHOWN = 6
"""At most this many options per method in the form."""

_CHOICES: dict[str, tuple[str, ...]] = {"backend": ("pyoperon", "pysr")}
"""Choices of string options whose valid values the signature cannot tell (first = usual default)."""


@dataclass(frozen=True)
class OptionSpec:
    """One option of a method, as a form widget.

    Attributes
    ----------
    name:
        Keyword of the method's ``__init__``.
    label:
        Plain-words label (``"max_degree"`` -> ``"Max degree"``).
    help:
        The method's own description of the option (may be empty).
    kind:
        ``"bool"``, ``"int"``, ``"float"``, ``"choice"``, ``"multi"`` or ``"text"``.
    default:
        The method's default value.
    choices:
        Valid values for ``"choice"`` and ``"multi"``.
    """

    name: str
    label: str
    help: str
    kind: str
    default: Any
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class MethodInfo:
    """A registered method as the set-up form shows it."""

    name: str
    description: str
    available: bool
    reason: str
    in_auto: bool
    options: tuple[OptionSpec, ...]


def _label(name: str) -> str:
    words = name.replace("_", " ").strip()
    words = re.sub(r"\bn ", "number of ", words)
    words = re.sub(r"\bmax\b", "max.", words)
    words = re.sub(r"\bmin\b", "min.", words)
    return words[:1].upper() + words[1:]


def _docstring_params(cls: type) -> dict[str, str]:
    """Parameter descriptions from a numpydoc ``Parameters`` section of ``cls``'s docstrings."""
    out: dict[str, str] = {}
    for source in (cls.__doc__, getattr(cls.__init__, "__doc__", None)):
        doc = inspect.cleandoc(source or "")
        m = re.search(r"^(?:Parameters|Attributes)\n-+\n(.*?)(?:\n\n[A-Z][A-Za-z ]+\n-+\n|\Z)", doc,
                      flags=re.S | re.M)
        if not m:
            continue
        current: str | None = None
        for line in m.group(1).splitlines():
            if line and not line[0].isspace():
                names = [n.strip() for n in line.split(":")[0].split(",")]
                current = ",".join(names)
                for n in names:
                    out.setdefault(n, "")
            elif current and line.strip():
                for n in current.split(","):
                    out[n] = (out[n] + " " + line.strip()).strip()
    return {k: _plain_rst(v) for k, v in out.items()}


def _plain_rst(text: str) -> str:
    """Docstring markup to Markdown: ``code`` -> `code`, :func:`name` -> `name`."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _spec(name: str, default: Any, help_text: str, module_choices: dict[str, tuple[str, ...]]) -> OptionSpec | None:
    label = _label(name)
    if isinstance(default, bool):
        return OptionSpec(name, label, help_text, "bool", default)
    if isinstance(default, int):
        return OptionSpec(name, label, help_text, "int", default)
    if isinstance(default, float):
        return OptionSpec(name, label, help_text, "float", default)
    if isinstance(default, str):
        choices = module_choices.get(name) or _CHOICES.get(name)
        if choices:
            values = tuple(dict.fromkeys((default, *choices)))
            return OptionSpec(name, label, help_text, "choice", default, values)
        return OptionSpec(name, label, help_text, "text", default)
    if isinstance(default, (tuple, list)) and default and all(isinstance(v, str) for v in default):
        choices = module_choices.get(name) or tuple(default)
        return OptionSpec(name, label, help_text, "multi", tuple(default), tuple(dict.fromkeys((*choices, *default))))
    return None


def _module_choices(cls: type) -> dict[str, tuple[str, ...]]:
    """Tuples of valid words declared by the method's module, e.g. ``LIBRARIES`` for an option ``libraries``."""
    import sys

    module = sys.modules.get(cls.__module__)
    out: dict[str, tuple[str, ...]] = {}
    for attr, value in vars(module).items() if module else ():
        if attr.isupper() and isinstance(value, tuple) and value and all(isinstance(v, str) for v in value):
            out[attr.lower()] = value
            out[attr.lower().rstrip("s")] = value
    return out


def option_specs(cls: type) -> tuple[OptionSpec, ...]:
    """The options of method class ``cls`` worth a widget, in field order (``main_options`` first if set)."""
    import dataclasses

    options = getattr(cls, "Options", None)
    if options is None or not dataclasses.is_dataclass(options):
        return ()
    docs = _docstring_params(options)
    choices = _module_choices(cls)
    specs: dict[str, OptionSpec] = {}
    for f in dataclasses.fields(options):
        if not f.init or f.default is dataclasses.MISSING:
            continue
        declared = (f.metadata.get("option") or {}).get("choices")
        known = {f.name: tuple(declared)} if declared else choices
        spec = _spec(f.name, f.default, docs.get(f.name, ""), known)
        if spec is not None:
            specs[f.name] = spec
    main = getattr(cls, "main_options", None)
    if main:
        return tuple(specs[n] for n in main if n in specs)
    return tuple(specs.values())[:MAX_SHOWN]


def method_catalog() -> list[MethodInfo]:
    """Every registered method, in registration order, with its availability and options.

    Examples
    --------
    >>> [m.name for m in method_catalog()][:1]  # doctest: +SKIP
    ['sindy']
    """
    from discovery.methods import REGISTRY

    out = []
    for name, cls in REGISTRY.items():
        try:
            ok, reason = cls.availability()
        except Exception as exc:  # noqa: BLE001 -- a broken check shows as unavailable, never breaks the page
            ok, reason = False, f"availability check failed: {type(exc).__name__}: {exc}"
        description = (getattr(cls, "description", "") or "").strip()
        out.append(MethodInfo(name, description, bool(ok), str(reason), bool(getattr(cls, "in_auto", True)),
                              option_specs(cls)))
    return out
