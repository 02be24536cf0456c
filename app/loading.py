"""Turn uploaded bytes, or a bundled example, into validated trajectories.

Uploads never touch the disk: the bytes are read from memory by :func:`discovery.load_trajectories` (an
in-memory file object whose name picks the reader). Every problem is raised as a
:class:`~discovery.errors.DataError` whose one-line message says what, where and how to fix it.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

__all__ = [
    "ALLOWED_SUFFIXES",
    "EXAMPLES_DIR",
    "LoadedData",
    "example_bytes",
    "example_names",
    "load_bytes",
    "max_upload_mb",
]

ALLOWED_SUFFIXES = (".csv", ".parquet", ".pq", ".npz")
"""File types the data contract knows (DESIGN.md)."""

DEFAULT_MAX_UPLOAD_MB = 50.0
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


def max_upload_mb() -> float:
    """Upload size limit in MB: ``EQDISCO_MAX_UPLOAD_MB`` when set to a positive number, else 50."""
    raw = os.environ.get("EQDISCO_MAX_UPLOAD_MB", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_MAX_UPLOAD_MB
    return value if value > 0 else DEFAULT_MAX_UPLOAD_MB


@dataclass(frozen=True)
class LoadedData:
    """Validated trajectories with the name and content hash of the bytes they came from.

    Attributes
    ----------
    name:
        File name as the user gave it (or the example's name).
    digest:
        SHA-256 of the bytes; keys the result cache together with the run settings.
    size:
        Number of bytes.
    trajectories:
        The :class:`~discovery.data.Trajectories` read from the bytes.
    payload:
        The bytes themselves, to read again when the user marks columns as inputs or parameters.
    """

    name: str
    digest: str
    size: int
    trajectories: Any
    payload: bytes = b""

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column besides time and trajectory: the states, the inputs and the parameters."""
        data = self.trajectories
        return (*data.variables, *data.external)


def _safe_name(name: str) -> str:
    base = Path(str(name).replace("\\", "/")).name or "upload"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base)[:120] or "upload"


def load_bytes(name: str, payload: bytes, *, max_mb: float | None = None, inputs: Sequence[str] = (),
               parameters: Sequence[str] = ()) -> LoadedData:
    """Validate ``payload`` (the content of a CSV, Parquet or NPZ file called ``name``) into trajectories.

    Parameters
    ----------
    name:
        The file's name; its suffix picks the reader and it names the file in error messages.
    payload:
        The file's bytes.
    max_mb:
        Size limit in MB (default :func:`max_upload_mb`).
    inputs, parameters:
        Columns the user marked as input signals and as per-trajectory parameters (no equation of their own).

    Returns
    -------
    LoadedData

    Raises
    ------
    DataError
        For a file that is too large, of an unknown type, empty, or that breaks the data contract.

    Examples
    --------
    >>> loaded = load_bytes("toy.csv", b"t,x\\n0,1\\n0.1,0.9\\n0.2,0.81\\n0.3,0.73\\n0.4,0.66\\n")  # doctest: +SKIP
    >>> loaded.trajectories.variables  # doctest: +SKIP
    ('x',)
    """
    from discovery.data import load_trajectories
    from discovery.errors import DataError

    limit = max_upload_mb() if max_mb is None else float(max_mb)
    safe = _safe_name(name)
    size = len(payload)
    if size > limit * 1024 * 1024:
        raise DataError(
            f"the file is {size / 1024 / 1024:.1f} MB, over the {limit:g} MB limit; upload fewer rows "
            "(e.g. subsample in time) or raise the limit with EQDISCO_MAX_UPLOAD_MB",
            file=safe,
        )
    suffix = Path(safe).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise DataError(
            f"expected a {', '.join(ALLOWED_SUFFIXES)} file, found {suffix or 'no suffix'}; "
            "save the data as CSV with a header row (t, then one column per variable)",
            file=safe,
        )
    if size == 0:
        raise DataError("the file is empty; expected a header row (t, x, ...) and one row per time point", file=safe)
    buffer = io.BytesIO(payload)  # uploads stay in memory; the name picks the reader and names the file
    buffer.name = safe
    trajectories = load_trajectories(buffer, inputs=list(inputs) or None, parameters=list(parameters) or None)
    digest = hashlib.sha256(payload)
    if inputs or parameters:  # the same bytes with other column roles are other data
        digest.update(("\n" + ",".join(inputs) + ";" + ",".join(parameters)).encode())
    return LoadedData(name=safe, digest=digest.hexdigest(), size=size, trajectories=trajectories, payload=payload)


def example_names() -> list[str]:
    """File names of the bundled examples (``examples/*.csv``), sorted."""
    if not EXAMPLES_DIR.is_dir():
        return []
    return sorted(p.name for p in EXAMPLES_DIR.glob("*.csv"))


def example_bytes(name: str) -> bytes:
    """Content of the bundled example ``name`` (one of :func:`example_names`)."""
    from discovery.errors import DataError

    if name not in example_names():
        raise DataError(f"no bundled example named {name!r}; expected one of {', '.join(example_names()) or '(none)'}")
    return (EXAMPLES_DIR / name).read_bytes()
