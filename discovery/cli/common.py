"""What every sub-command shares: exit codes, the usage error, the user errors shown as one line, small parsers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn, Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CLIError(Exception):
    """A problem with the command line itself (exit code 2)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``eqdisco discover: error: ...``), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text[:40]!r}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a number above 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text[:40]!r}")
    return value


def output_folder(text: str) -> str:
    """An argparse type: a folder results can be written to (checked without writing anything)."""
    from discovery.errors import DiscoveryError
    from discovery.outputs import check_output_folder

    try:
        check_output_folder(text)
    except DiscoveryError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that are the user's to fix: shown as one line (exit code 1), never as a traceback."""
    from discovery.errors import DataError, DiscoveryError, SimulationError
    from grammar.errors import GrammarError

    return (DataError, DiscoveryError, GrammarError, SimulationError, FileNotFoundError, ImportError)


def floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise CLIError(f"{what} must be numbers separated by commas, got {text!r}") from None


def assignments(text: str, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise CLIError(f"{what} must look like 'a=1.5,b=2', got {part.strip()!r}")
        key, value = part.split("=", 1)
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise CLIError(f"{what}: {key.strip()!r} must be a number, got {value.strip()!r}") from None
    return out


def expand_folders(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """Paths with each folder replaced by the data files directly inside it (sorted), and one error line per
    folder that holds none."""
    from discovery.data import SUPPORTED_EXTENSIONS

    files: list[str] = []
    errors: list[str] = []
    for p in paths:
        folder = Path(p)
        if not folder.is_dir():
            files.append(p)
            continue
        inside = sorted(str(f) for f in folder.iterdir() if f.is_file() and f.suffix.lower() in SUPPORTED_EXTENSIONS)
        if not inside:
            errors.append(f"error: {p}: folder holds no data files ({', '.join(SUPPORTED_EXTENSIONS)}); pass files "
                          "or a folder that has some")
        files.extend(inside)
    return files, errors


