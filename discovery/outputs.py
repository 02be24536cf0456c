"""Where a batch writes: one output name per input, the output folder checked before any work, and paths shown
in result files without the user's absolute folders.

Output names (:func:`output_paths`) are a function of the set of inputs, never of their order:

1. ``<stem>.json``, when no other input has the same stem (compared case-insensitively, as some file systems do);
2. ``<parent>_<stem>.json`` (the name of the folder holding the input) for inputs whose names still collide;
3. ``<parent>_<stem>-<hash>.json`` when even those collide, ``<hash>`` being 8 hex digits of a SHA-256 of the
   input's resolved path.

A name longer than :data:`MAX_NAME_BYTES` bytes (UTF-8) keeps its first :data:`KEEP_NAME_BYTES` bytes, then
``~`` and 10 hex digits of a SHA-256 of the whole name, so every output and its temporary file fit the file
system's 255-byte limit on a name, and the same input always gets the same output (a batch resumes).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from discovery.errors import DiscoveryError

__all__ = [
    "KEEP_NAME_BYTES",
    "MAX_NAME_BYTES",
    "check_output_folder",
    "display_path",
    "output_paths",
    "plot_path",
    "prepare_output_folder",
    "without_absolute_paths",
]

MAX_NAME_BYTES = 200
"""Longest output stem kept as it is, in UTF-8 bytes (``.json``, ``.png`` and temporary names fit beside it)."""
KEEP_NAME_BYTES = 180
"""Bytes of an over-long stem kept before ``~<hash>``."""


def _digest(text: str, digits: int) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:digits]


def _fit(stem: str) -> str:
    raw = stem.encode("utf-8", "surrogateescape")
    if len(raw) <= MAX_NAME_BYTES:
        return stem
    head = raw[:KEEP_NAME_BYTES].decode("utf-8", "ignore")  # a character cut in two is dropped
    return f"{head}~{_digest(stem, 10)}"


def _stem(path: Path, level: int) -> str:
    stem = path.stem
    if level >= 1:
        stem = f"{path.parent.name or 'root'}_{stem}"
    if level >= 2:
        stem = f"{stem}-{_digest(str(path), 8)}"
    return _fit(stem)


def output_paths(files: Sequence[str | Path], out_dir: str | Path) -> list[Path]:
    """The result JSON of each input, ``out_dir/<name>.json``, named by the rule of this module's docstring.

    The same input (the same resolved path) given twice gets the same output.

    Examples
    --------
    >>> [p.name for p in output_paths(["a/x.csv", "b/x.csv", "y.csv"], "out")]
    ['a_x.json', 'b_x.json', 'y.json']
    """
    out = Path(out_dir)
    inputs = [Path(f).resolve() for f in files]
    level = dict.fromkeys(inputs, 0)
    while True:
        stems = {p: _stem(p, level[p]) for p in level}
        groups: dict[str, list[Path]] = defaultdict(list)
        for p, stem in stems.items():
            groups[stem.casefold()].append(p)
        clashing = [p for group in groups.values() if len(group) > 1 for p in group if level[p] < 2]
        if not clashing:
            return [out / f"{stems[p]}.json" for p in inputs]
        for p in clashing:
            level[p] += 1


def plot_path(output: str | Path) -> Path:
    """Where the figure of a result JSON goes: beside it, as ``<stem>.png``."""
    return Path(output).with_suffix(".png")


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows) or an unusual file system
        return 255


def check_output_folder(out_dir: str | Path) -> Path:
    """Check, without writing anything, that ``out_dir`` is or can become a folder this process writes in.

    Returns
    -------
    pathlib.Path
        ``out_dir`` as a path.

    Raises
    ------
    DiscoveryError
        In one line, when ``out_dir`` (or a folder above it) is a file, a name in it is longer than the file
        system allows, or the nearest existing folder above it is not writable.
    """
    out = Path(out_dir)
    if str(out_dir) == "":
        raise DiscoveryError("the output folder is empty; name a folder such as results/")
    existing = out
    while not os.path.exists(existing) and existing.parent != existing:  # os.path: False on any error
        existing = existing.parent
    limit = _name_max(existing if os.path.isdir(existing) else Path.cwd())
    for part in out.parts:
        size = len(os.fsencode(part))
        if size > limit:
            raise DiscoveryError(f"output folder: the name {part[:40]!r}... is {size} bytes, over the file "
                                 f"system's limit of {limit} bytes on a name; choose a shorter one")
    if os.path.exists(existing) and not os.path.isdir(existing):
        where = "" if existing == out else f": {str(existing)!r} above it"
        raise DiscoveryError(f"output folder {str(out)!r}{where} is a file, not a folder; choose another folder")
    if os.path.isdir(existing) and not os.access(existing, os.W_OK | os.X_OK):
        raise DiscoveryError(f"cannot write results to {str(out)!r}: {str(existing)!r} is not writable "
                             f"(permission denied); choose a folder you can write to")
    return out


def prepare_output_folder(out_dir: str | Path) -> Path:
    """Create ``out_dir`` (and the folders above it) and make sure a file can be written in it.

    Raises
    ------
    DiscoveryError
        In one line, naming the folder and the reason, when it cannot be created or written in.
    """
    out = check_output_folder(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".eqdisco-", suffix=".probe", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DiscoveryError(f"cannot write results to {str(out)!r}: {reason}; choose a folder you can write to"
                             ) from None
    return out


def display_path(path: str | Path) -> str:
    """``path`` as result files show it: relative to the working folder when it is inside it, else its name."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return p.name


def without_absolute_paths(text: str, *paths: str | Path) -> str:
    """``text`` with every absolute spelling of each of ``paths`` replaced by :func:`display_path`'s."""
    for path in paths:
        shown = display_path(path)
        spellings = {str(path), os.path.abspath(path), str(Path(path).resolve())}
        for spelling in sorted((s for s in spellings if os.path.isabs(s)), key=len, reverse=True):
            text = text.replace(spelling, shown)
    return text
