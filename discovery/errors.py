"""Errors a user can act on, raised by the discovery layer."""

from __future__ import annotations


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
        self.reason = message
        where = []
        if file is not None:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


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
