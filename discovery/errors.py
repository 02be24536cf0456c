"""Errors a user can act on, raised by the discovery layer."""

from __future__ import annotations

from collections.abc import Iterable


class DataError(ValueError):
    """Input data violates the data contract (see DESIGN.md).

    Parameters
    ----------
    message:
        What was expected and what was found, in one line.
    file, row, column:
        Where the problem is, when known. ``row`` is the 1-based line number of the file as a user sees it
        in an editor (the header is line 1) for files, or the 0-based row index for in-memory arrays.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.reason = shorten(message, MAX_MESSAGE)
        where = []
        if file is not None:
            where.append(shorten(str(file)))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {shorten(repr(column))}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {self.reason}" if prefix else self.reason)


MAX_MESSAGE = 800
"""Longest reason a :class:`DataError` keeps (a 100,000-column header must not make a 790 KB line)."""


def shorten(text: str, limit: int = 120) -> str:
    """``text`` cut in the middle to at most ``limit`` characters (``"abc...xyz"``).

    Examples
    --------
    >>> shorten("x" * 20, 10)
    'xxx...xxxx'
    """
    text = str(text)
    if len(text) <= limit:
        return text
    keep = max(limit - 3, 2)
    return text[: keep // 2] + "..." + text[len(text) - (keep - keep // 2):]


def listed(items: Iterable[object], limit: int = 8, *, quote: bool = True) -> str:
    """Items joined by commas, each shortened, the first ``limit`` only and ``"... (N more)"`` for the rest.

    Examples
    --------
    >>> listed(["a", "b", "c"], 2)
    "'a', 'b', ... (1 more)"
    """
    items = list(items)
    shown = [shorten(repr(v) if quote else str(v), 60) for v in items[:limit]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f", ... ({more:,} more)" if more > 0 else "")


class SimulationError(RuntimeError):
    """A system could not be integrated: it blew up, became too stiff, or ran out of time."""


class DiscoveryError(ValueError):
    """Discovery could not run as asked (unknown method, bad option, no usable candidate)."""


MAX_LINE = 600
"""Longest message :func:`one_line` returns; longer ones are cut in the middle (``...``)."""

_PROJECT_PACKAGES = ("discovery", "grammar", "models", "app")


def one_line(exc: BaseException, *, limit: int = MAX_LINE) -> str:
    """An exception as one bounded line: its message with whitespace collapsed.

    Project errors (raised by eqdisco's own packages) read as their message alone; any other exception is prefixed
    with its type (``OverflowError: ...``) so an internal failure is recognizable. Messages over ``limit``
    characters keep their start and end around ``" ... "``.
    """
    text = " ".join(str(exc).split())
    own = type(exc).__module__.split(".")[0] in _PROJECT_PACKAGES or isinstance(exc, (FileNotFoundError,))
    if not text:
        text = type(exc).__name__
    elif not own:
        text = f"{type(exc).__name__}: {text}"
    if len(text) > limit:
        keep = max(limit - 5, 10)
        text = text[: keep * 2 // 3] + " ... " + text[-(keep - keep * 2 // 3):]
    return text
