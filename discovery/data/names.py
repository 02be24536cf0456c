"""Variable names: which names a state variable may take, and the DataError that says why one may not."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from functools import lru_cache

from discovery.errors import DataError

MAX_STATE_VARS = 10
"""Most state variables a data set may have (the grammar and the PROSE tokenizer are sized for this)."""

RESERVED_NAMES = frozenset(
    {"t", "time", "trajectory", "pi", "E", "I", "inf", "nan", "oo"}
    | {"arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh"}  # numpy spellings sympy reads as symbols
)
"""Names a state variable may not take: time names, constants, and numpy function spellings.

Besides these, the function names of the grammar (:func:`grammar.operators.function_names`: ``sin``, ``exp``,
``abs``, ...) and any name that ``sympy.sympify`` reads as something other than a plain symbol (``S``, ``N``,
``gamma``, ``beta``, ...) are refused, because result equations are strings that ``sympify`` parses back.
"""

TIME_NAMES = ("t", "time")
"""Column names taken as time (any case) when no ``time_column`` is given."""


def check_variable_names(names: Iterable[str], *, file: str | None, row: int | None) -> None:
    """Raise a :class:`~discovery.errors.DataError` for the first name a state variable may not take."""
    for name in names:
        _check_variable_name(name, file=file, row=row)


def _check_variable_name(name: str, *, file: str | None, row: int | None) -> None:
    if name.isascii() and name.isidentifier() and not keyword.iskeyword(name) and not _is_reserved(name):
        return
    fix = f"rename it, e.g. to {_suggest(name)!r}"
    if not (name.isascii() and name.isidentifier()):
        reason = "expected ASCII letters, digits and underscores, not starting with a digit"
        raise DataError(f"{name!r} is not a valid variable name: {reason}; {fix}", file=file, row=row, column=name)
    if keyword.iskeyword(name):
        raise DataError(
            f"{name!r} is a Python keyword and cannot name a variable; {fix}", file=file, row=row, column=name
        )
    raise DataError(
        f"{name!r} is reserved: formulas read it as time, a function or a constant, not a variable; {fix}",
        file=file,
        row=row,
        column=name,
    )


def _suggest(name: str) -> str:
    """A valid name close to ``name``, for the fix a message proposes."""
    cleaned = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_") or "x"
    if cleaned[0].isdigit():
        cleaned = "x" + cleaned
    if keyword.iskeyword(cleaned) or _is_reserved(cleaned):
        cleaned += "_"
    return cleaned


def _is_reserved(name: str) -> bool:
    from grammar.operators import function_names

    return name in RESERVED_NAMES or name in function_names() or not _sympy_reads_as_symbol(name)


@lru_cache(maxsize=256)
def _sympy_reads_as_symbol(name: str) -> bool:
    import sympy

    try:
        value = sympy.sympify(name)
    except (sympy.SympifyError, SyntaxError, TypeError, ValueError, AttributeError):
        return False
    return isinstance(value, sympy.Symbol) and value.name == name
