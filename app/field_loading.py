"""Uploaded bytes to a field or to trajectories, told apart by the data through the discovery layer's readers.

A field (``u(t, x[, y])`` on a grid) comes as NPZ, NetCDF/HDF5 or a long CSV (``t, x[, y], u, ...``); trajectories
as CSV, Parquet or NPZ. :func:`load_upload` asks :func:`discovery.fields.is_field` which one the bytes hold and
reads fields with :func:`discovery.fields.load_field`, trajectories with :func:`app.loading.load_bytes`. The field
readers read files, so a field upload is written to a private temporary folder for the time of the read and
deleted at once; problems are the readers' own :class:`~discovery.errors.DataError` lines, naming the upload
(never the temporary path).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from app.loading import (
    ALLOWED_SUFFIXES,
    LoadedData,
    _safe_name,
    load_bytes,
    max_upload_mb,
)

__all__ = ["FIELD_SUFFIXES", "UPLOAD_SUFFIXES", "LoadedField", "is_loaded_field", "load_upload"]

FIELD_SUFFIXES = (".nc", ".nc4", ".h5", ".hdf5")
"""Grid files that always hold fields (NetCDF/HDF5, read through xarray); ``.npz`` and ``.csv`` may hold either."""

UPLOAD_SUFFIXES = tuple(dict.fromkeys(ALLOWED_SUFFIXES + FIELD_SUFFIXES))
"""Every file type the page accepts."""

_MAYBE_FIELD = (".npz", ".csv") + FIELD_SUFFIXES


@dataclass(frozen=True)
class LoadedField:
    """A validated field with the name and content hash of the bytes it came from.

    Attributes
    ----------
    name:
        File name as the user gave it (made safe).
    digest:
        SHA-256 of the bytes (and of stated periodicity); keys the result cache with the run settings.
    size:
        Number of bytes.
    field:
        The :class:`~discovery.fields.Field` read from the bytes (periodicity stated, stored or detected).
    payload:
        The bytes themselves.
    """

    name: str
    digest: str
    size: int
    field: Any
    payload: bytes = b""

    @property
    def columns(self) -> tuple[str, ...]:
        """A field has no column roles (inputs, parameters): always empty."""
        return ()


def is_loaded_field(loaded: Any) -> bool:
    """Whether the page's loaded data is a field (else trajectories)."""
    return isinstance(loaded, LoadedField)


def load_upload(name: str, payload: bytes, *, max_mb: float | None = None, inputs: Sequence[str] = (),
                parameters: Sequence[str] = (), periodic: Mapping[str, bool] | None = None,
                ) -> LoadedData | LoadedField:
    """Read ``payload`` (the content of the file ``name``) as a field when its data is one, else as trajectories.

    Parameters
    ----------
    name:
        The file's name; its suffix picks the reader and it names the file in error messages.
    payload:
        The file's bytes.
    max_mb:
        Size limit in MB (default :func:`app.loading.max_upload_mb`).
    inputs, parameters:
        Column roles of trajectories (see :func:`app.loading.load_bytes`); ignored for a field.
    periodic:
        Periodicity per axis of a field (``None``: stored in the file or detected).

    Returns
    -------
    LoadedData or LoadedField

    Raises
    ------
    DataError
        One line, naming the upload: too large, an unknown type, empty, or the readers' own message.
    """
    from discovery.errors import DataError

    safe = _safe_name(name)
    suffix = Path(safe).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise DataError(f"expected a {', '.join(UPLOAD_SUFFIXES)} file, found {suffix or 'no suffix'}; save "
                        "trajectories as CSV (t, then one column per variable) or a field as NPZ/NetCDF "
                        "(t, x[, y] and the fields)", file=safe)
    limit = max_upload_mb() if max_mb is None else float(max_mb)
    size = len(payload)
    readable = 0 < size <= limit * 1024 * 1024
    if suffix not in FIELD_SUFFIXES and (suffix not in _MAYBE_FIELD or not readable):
        return load_bytes(name, payload, max_mb=max_mb, inputs=inputs, parameters=parameters)  # it says why
    if size > limit * 1024 * 1024:
        raise DataError(f"the file is {size / 1024 / 1024:.1f} MB, over the {limit:g} MB limit; upload a coarser "
                        "grid (subsample t or x) or raise the limit with EQDISCO_MAX_UPLOAD_MB", file=safe)
    if not size:
        raise DataError("the file is empty; expected coordinates t, x [, y] and one array per field", file=safe)
    from discovery.fields import is_field, load_field

    with tempfile.TemporaryDirectory(prefix="eqdisco-upload-") as folder:
        path = Path(folder) / safe
        path.write_bytes(payload)
        if not is_field(path):  # trajectories (NetCDF/HDF5 files always count as fields)
            return load_bytes(name, payload, max_mb=max_mb, inputs=inputs, parameters=parameters)
        try:
            field = load_field(path, periodic=dict(periodic) if periodic else None, source=safe)
        except DataError as exc:  # the reader's own line, naming the upload instead of the temporary file
            raise DataError(exc.reason, file=safe, row=exc.row, column=exc.column) from None
    digest = hashlib.sha256(payload)
    if periodic:
        digest.update(("\nperiodic:" + ",".join(f"{a}={bool(p)}" for a, p in sorted(periodic.items()))).encode())
    return LoadedField(name=safe, digest=digest.hexdigest(), size=len(payload), field=field, payload=payload)
