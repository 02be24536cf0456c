"""Variable names: which names a state variable may take, and the DataError that says why one may not."""

from __future__ import annotations

import re
from collections.abc import Iterable

from discovery.errors import DataError

MAX_STATE_VARS = 10
"""Most state variables a data set may have (the grammar and the PROSE tokenizer are sized for this)."""

RESERVED_NAMES = frozenset({"t", "time", "trajectory"})
"""Names a state variable may not take: the time and trajectory columns.

Besides these, only the function names of the grammar (:func:`grammar.operators.function_names`: ``sin``,
``exp``, ``abs``, ...) are refused, because a formula could not tell ``sin(x)`` from a variable. Every other
ASCII identifier is the user's: names that sympy or Python give a meaning (``S``, ``I``, ``E``, ``N``, ``beta``,
``gamma``, ``pi``, ``lambda``, ``if``, ...) are plain symbols everywhere. Equations are never read back by
``sympify``: the grammar's parser reads them with the variables' names (:func:`grammar.parser.parse`), and numpy
functions are built with dummy argument names (:func:`grammar.operators.lambdify_numpy`).
"""

TIME_NAMES = ("t", "time")
"""Column names taken as time (any case) when no ``time_column`` is given."""


def check_variable_names(names: Iterable[str], *, file: str | None, row: int | None) -> None:
    """Raise a :class:`~discovery.errors.DataError` for the first name a state variable may not take."""
    for name in names:
        _check_variable_name(name, file=file, row=row)


def _check_variable_name(name: str, *, file: str | None, row: int | None) -> None:
    if name.isascii() and name.isidentifier() and not _is_reserved(name):
        return
    fix = f"rename it, e.g. to {_suggest(name)!r}"
    if not (name.isascii() and name.isidentifier()):
        reason = "expected ASCII letters, digits and underscores, not starting with a digit"
        raise DataError(f"{name!r} is not a valid variable name: {reason}; {fix}", file=file, row=row, column=name)
    raise DataError(
        f"{name!r} is reserved: formulas read it as time or a function, not a variable; {fix}",
        file=file,
        row=row,
        column=name,
    )


def _suggest(name: str) -> str:
    """A valid name close to ``name``, for the fix a message proposes."""
    cleaned = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_") or "x"
    if cleaned[0].isdigit():
        cleaned = "x" + cleaned
    if _is_reserved(cleaned):
        cleaned += "_"
    return cleaned


def _is_reserved(name: str) -> bool:
    from grammar.operators import function_names

    return name in RESERVED_NAMES or name in function_names()

