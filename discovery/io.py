"""Atomic file writing: an output file is either complete or absent, never half-written.

Every writer in eqdisco (CSV, JSON results, plots, checkpoints) goes through this module. Data is written to a
temporary file in the destination folder, flushed to disk, and then renamed onto the destination with
:func:`os.replace`, which is atomic on POSIX and Windows when both paths are on the same file system. When
writing fails, the temporary file is removed and an existing destination is left untouched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "remove_temporaries"]


def _temporary_parts(path: Path) -> tuple[str, str]:
    """The stem (its first 64 bytes at most) and extension (when short) that ``path``'s temporary files carry."""
    raw = os.fsencode(path.stem)
    stem = raw[:64].decode("utf-8", "ignore") if len(raw) > 64 else path.stem
    return stem, path.suffix if len(os.fsencode(path.suffix)) <= 32 else ""


def _new_temporary(path: Path) -> Path:
    """Create an empty, uniquely named file next to ``path`` and return its path.

    The name keeps ``path``'s extension, so that writers which pick a format from the extension
    (``savefig``, ``to_parquet``, ``np.savez``) behave as they would on ``path`` itself, and at most the first
    64 bytes of its stem, so that it fits the file system's limit on a name whenever ``path``'s own name does.
    The file is created with mode ``0o666`` filtered by the process umask, like a file opened with
    ``open(path, "w")``.
    """
    stem, suffix = _temporary_parts(path)
    for _ in range(100):
        candidate = path.with_name(f".{stem}.{secrets.token_hex(4)}.tmp{suffix}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(f"could not create a temporary file next to {str(path)!r}: 100 names were taken")


def _fsync(path: Path) -> None:
    """Flush ``path``'s content to disk (best effort where the platform cannot open files for syncing)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. a writer left the file unreadable
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` when the ``with`` block succeeds.

    The temporary file lives in ``path``'s folder (created if missing) and has the same extension. Write to it
    with any writer; when the block exits normally the file is flushed and moved onto ``path`` in one atomic
    step. When the block raises, the temporary file is removed, ``path`` keeps its previous content (or stays
    absent), and the exception propagates.

    Parameters
    ----------
    path:
        Destination file.

    Yields
    ------
    pathlib.Path
        The temporary file to write (it exists and is empty when the block starts).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("t,x\\n0,1\\n")
    >>> out.read_text()
    't,x\\n0,1\\n'
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {str(target)!r}: expected a file path, found a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temporary(target)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_temporaries(path: PathLike) -> int:
    """Remove the temporary files that :func:`atomic_path` left beside ``path`` when its writer was killed (a worker
    ended by the system, or after Ctrl-C); returns how many were removed. Only that writer's names are touched."""
    target = Path(path)
    stem, suffix = _temporary_parts(target)
    removed = 0
    for tmp in target.parent.glob(f".{glob.escape(stem)}.{'[0-9a-f]' * 8}.tmp{glob.escape(suffix)}"):
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed += 1
    return removed


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`) and return ``path`` as a ``Path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "blob.bin"
    >>> atomic_write_bytes(out, b"\\x00\\x01").read_bytes()
    b'\\x00\\x01'
    """
    target = Path(path)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return target


def atomic_write_text(path: PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return ``path`` as a ``Path``.

    Newlines are written as they are in ``text`` (no platform translation), so output is identical everywhere.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "result.json"
    >>> atomic_write_text(out, '{"ok": true}\\n').read_text()
    '{"ok": true}\\n'
    """
    return atomic_write_bytes(path, text.encode(encoding))
