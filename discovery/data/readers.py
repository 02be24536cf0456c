"""Data files: a path or a file's content, read by its extension as CSV, Parquet or NPZ."""

from __future__ import annotations

import io
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from discovery.data.csv_reader import load_csv
from discovery.data.layout import find_time
from discovery.data.memory import load_columns, load_frame, load_pairs
from discovery.data.options import LoadOptions
from discovery.data.trajectories import Trajectories
from discovery.errors import DataError, one_line

SUPPORTED_EXTENSIONS = (".csv", ".parquet", ".pq", ".npz")


def load_path(path: Path, file: str, opts: LoadOptions) -> Trajectories:
    """Read the file at ``path`` (``file`` is the path as given, for messages) and load it by its extension."""
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise DataError(
            f"unsupported file type {ext or '(no extension)'!r}; expected one of {', '.join(SUPPORTED_EXTENSIONS)} "
            "(export spreadsheets as CSV)",
            file=file,
        )
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise DataError(
            f"file not found: the path {what}; expected a data file (working folder: {os.getcwd()})", file=file
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror or exc}; check its permissions", file=file) from None
    return load_content(raw, ext, file, replace(opts, source=opts.source or path.name))


def load_content(content: bytes | str, ext: str, file: str | None, opts: LoadOptions) -> Trajectories:
    """Load a file's ``content`` by its lower-case extension ``ext``; CSV when the extension is empty or ``.txt``."""
    if ext in (".parquet", ".pq"):
        return _load_parquet(_binary(content, "a Parquet file", file), file, opts)
    if ext == ".npz":
        return _load_npz(_binary(content, "an NPZ file", file), file, opts)
    if ext not in ("", ".csv", ".txt"):
        raise DataError(f"unsupported file type {ext!r}; expected one of {', '.join(SUPPORTED_EXTENSIONS)}", file=file)
    return load_csv(content, file, opts)


def _binary(content: bytes | str, what: str, file: str | None) -> bytes:
    if isinstance(content, str):
        raise DataError(f"{what} must be opened in binary mode ('rb'); got text", file=file)
    return content


def _load_parquet(content: bytes, file: str | None, opts: LoadOptions) -> Trajectories:
    import pandas as pd

    try:
        frame = pd.read_parquet(io.BytesIO(content))
    except ImportError:
        raise
    except Exception as exc:  # any reader failure means the file is not a readable Parquet file
        raise DataError(
            f"cannot read the Parquet file ({one_line(exc, limit=200)}); expected a valid Parquet file", file=file
        ) from None
    return load_frame(frame, file, opts)


def _load_npz(content: bytes, file: str | None, opts: LoadOptions) -> Trajectories:
    """Arrays ``t`` and ``x`` (``(N, D)`` or ``(M, N, D)``) with optional ``variables``, or one array per column."""
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as exc:  # any reader failure means the file is not a readable NPZ archive
        raise DataError(
            f"cannot read the NPZ file ({one_line(exc, limit=200)}); expected an archive written by numpy.savez "
            "without Python objects",
            file=file,
        ) from None
    if not arrays:
        raise DataError("the NPZ archive holds no arrays; expected arrays t and x, or one array per column", file=file)
    x = arrays.get("x")
    if x is None or x.ndim < 2:  # one 1-D array per column
        columns = {k: v for k, v in arrays.items() if k != "variables"}
        return load_columns(list(columns), list(columns.values()), file, opts)
    time_key = find_time(list(arrays), opts.time_column, file, None)
    t = arrays[list(arrays)[time_key]]
    names = opts.variables
    if "variables" in arrays:
        listed = np.atleast_1d(arrays["variables"]).tolist()
        stored = tuple((v.decode() if isinstance(v, bytes) else str(v)).strip() for v in listed)
        names = names or stored
    if x.ndim == 2:
        pairs: list[tuple[Any, Any]] = [(t, x)]
    elif x.ndim == 3:
        if t.ndim == 1:
            pairs = [(t, xm) for xm in x]
        elif t.shape == x.shape[:2]:
            pairs = list(zip(t, x))
        else:
            raise DataError(
                f"NPZ array t has shape {t.shape}; expected ({x.shape[1]},) or {x.shape[:2]} to match x {x.shape}",
                file=file,
                column="t",
            )
    else:
        raise DataError(f"NPZ array x has shape {x.shape}; expected (N, D) or (M, N, D)", file=file, column="x")
    return load_pairs(pairs, file, replace(opts, variables=names), force_list=True)
