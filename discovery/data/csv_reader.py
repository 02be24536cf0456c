"""CSV text, decoded and checked here (not by pandas' error messages) so that a bad cell is reported at the line
number a user sees in an editor.

Well-formed files take a fast path through pandas' C parser; only a file that fails it is scanned line by line to
find the first bad cell.
"""

from __future__ import annotations

import csv
import io
import operator
import re
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from discovery.data.assemble import from_table
from discovery.data.cells import cell, first_bad
from discovery.data.layout import Layout, table_layout
from discovery.data.options import LoadOptions
from discovery.data.trajectories import Trajectories
from discovery.errors import DataError


def load_csv(content: bytes | str, file: str | None, opts: LoadOptions) -> Trajectories:
    """Validate and load CSV ``content``: UTF-8 bytes (the fast parser reads them undecoded) or text."""
    if isinstance(content, str):
        return _load_text(content, file, opts)
    return _load_text(_decode(content, file), file, opts, raw=content)


def _load_text(text: str, file: str | None, opts: LoadOptions, raw: bytes | None = None) -> Trajectories:
    """Validate and load CSV ``text``; ``raw`` (its undecoded bytes, when known) feeds the fast parser."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if raw is not None and raw.count(b"\r") != raw.count(b"\r\n"):  # lone CR line ends: parse the text
            raw = None
    if not text.strip():
        raise DataError("file is empty; expected a header row such as 't,x,y' followed by data rows", file=file)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next((rec for rec in reader if not _blank(rec)), None)
    except csv.Error as exc:
        raise DataError(f"cannot parse the CSV header ({exc}); expected comma-separated names", file=file,
                        row=reader.line_num) from None
    if header is None:
        raise DataError("no header row found; expected a header row such as 't,x,y' followed by data rows", file=file)
    header_line = reader.line_num
    layout = table_layout([name.strip() for name in header], file, header_line, opts)
    body = text[_after_lines(text, "\n", header_line):]
    dated = _dates_to_seconds(body, layout.time)
    if dated is not None:
        body, raw = dated, None
    fast_input: Any = io.StringIO(body) if raw is None else io.BytesIO(raw[_after_lines(raw, b"\n", header_line):])

    values = _csv_fast(fast_input, layout)
    if values is not None:
        lines: list[int] | None = None

        def row_of(i: int) -> int:
            nonlocal lines
            if lines is None:
                lines = [line for line, _ in _csv_records(body, header_line, None)]
            return lines[i]
    else:
        values, line_list = _csv_scan(body, layout, header_line, file)
        row_of = line_list.__getitem__
    if values.shape[0] == 0:
        raise DataError(f"the header has no data rows below it; expected at least {opts.min_points} rows", file=file)
    return from_table(values, layout, row_of, file, opts)


_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?\s*$")
"""An ISO 8601 date or date-time (``2024-01-31``, ``2024-01-31T12:00:00.5``, ``... 12:00:00+01:00``)."""


def _dates_to_seconds(body: str, time_col: int) -> str | None:
    """``body`` with its time column of ISO 8601 dates turned into seconds since the earliest one, or ``None``
    when its first data row's time is not such a date. Cells that are not ISO dates are left as they are, so the
    usual checks report them (with advice on dates); line numbers are kept."""
    import pandas as pd

    try:
        first = next((r for r in csv.reader(io.StringIO(body)) if not _blank(r)), None)  # reads one row or so
    except csv.Error:
        return None  # the usual checks report the malformed line
    if first is None or len(first) <= time_col or not _ISO_DATE.match(first[time_col]):
        return None
    try:
        rows = list(csv.reader(io.StringIO(body)))
    except csv.Error:
        return None
    cells = [r[time_col] if len(r) > time_col and not _blank(r) and _ISO_DATE.match(r[time_col]) else None
             for r in rows]
    stamps = pd.to_datetime(pd.Series(cells, dtype=object), utc=True, errors="coerce", format="ISO8601")
    seconds = (stamps - stamps.min()).dt.total_seconds().to_numpy()
    for r, cell_text, value in zip(rows, cells, seconds):
        if cell_text is not None and np.isfinite(value):
            r[time_col] = repr(float(value))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _decode(raw: bytes, file: str | None) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError("file is UTF-16 text; expected UTF-8: re-save it as UTF-8 (in Excel: 'CSV UTF-8')", file=file)
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start
        line = raw.count(b"\n", 0, offset) + 1
        raise DataError(
            f"file is not UTF-8 text: byte 0x{raw[offset]:02X} at offset {offset} cannot be decoded; "
            "expected UTF-8: re-save the file with UTF-8 encoding",
            file=file,
            row=line,
        ) from None
    return text


def _blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip())


def _after_lines(text: Any, newline: Any, n: int) -> int:
    """Offset just past the ``n``-th newline of ``text`` (``str`` or ``bytes``), or its length."""
    start = 0
    for _ in range(n):
        found = text.find(newline, start)
        if found < 0:
            return len(text)
        start = found + 1
    return start


def _csv_fast(source: Any, layout: Layout) -> np.ndarray | None:
    """Values of the used columns ``(R, U)`` via pandas' C parser, or ``None`` when anything looks wrong."""
    import pandas as pd

    ncols = len(layout.names)
    used = layout.used
    try:
        with warnings.catch_warnings():
            # rows longer than the header: without index_col=False pandas would silently take the first column as
            # an index (shifting every value one column left); with it, it warns, and the scan reports the row
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                source,
                header=None,
                names=list(range(ncols)),
                index_col=False,
                dtype={k: (np.float64 if k in used else object) for k in range(ncols)},
                engine="c",
                skip_blank_lines=True,
                encoding="utf-8",
            )
    except Exception:  # any parser complaint: the line-by-line scan finds and reports the exact cell
        return None
    if frame.shape[1] != ncols:
        return None
    unused = [k for k in range(ncols) if k not in used]
    if unused and frame[unused].isna().to_numpy().any():  # a short row or an empty unused cell: let the scan decide
        return None
    values = frame[list(used)].to_numpy(dtype=np.float64)  # (R, U)
    if first_bad(values, layout.trajectory is not None) is not None:
        return None
    return values


def _csv_records(body: str, header_line: int, file: str | None) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(body))
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"cannot parse this CSV line ({exc}); expected comma-separated values",
                            file=file, row=header_line + reader.line_num) from None
        if not _blank(record):
            yield header_line + reader.line_num, record


def _csv_scan(body: str, layout: Layout, header_line: int, file: str | None) -> tuple[np.ndarray, list[int]]:
    """Scan the body line by line; raise at the first bad row or cell, else return values ``(R, U)`` and lines."""
    ncols, used, names = len(layout.names), layout.used, layout.names
    pick = operator.itemgetter(*used)  # used has at least two columns: time and one state
    cells: list[tuple[str, ...]] = []
    lines: list[int] = []
    for line, record in _csv_records(body, header_line, file):
        if len(record) == ncols + 1 and not record[-1].strip():
            record = record[:ncols]  # a trailing comma (as pandas' fast path reads it): the empty cell holds nothing
        if len(record) != ncols:
            _convert_cells(cells, lines, layout, file)  # a bad cell in an earlier row is reported first
            raise DataError(
                f"expected {ncols} comma-separated fields ({', '.join(names)}), found {len(record)}; "
                "every row needs one value per header column",
                file=file,
                row=line,
            )
        cells.append(pick(record))
        lines.append(line)
    return _convert_cells(cells, lines, layout, file), lines


def _convert_cells(cells: list[tuple[str, ...]], lines: list[int], layout: Layout, file: str | None,
                   block: int = 8192) -> np.ndarray:
    """Text cells ``(R, U)`` as floats; raise a DataError at the first bad cell in row-major order."""
    used, names = layout.used, layout.names
    parts = []
    for a in range(0, len(cells), block):
        chunk = cells[a : a + block]
        try:
            values = np.array(chunk, dtype=np.float64)  # (B, U); float() semantics per cell
        except ValueError:
            values = None
        if values is None or first_bad(values, layout.trajectory is not None) is not None:
            for i, row in enumerate(chunk):  # the slow way, only within the failing block
                for pos, text in enumerate(row):
                    cell(text, names[used[pos]], used[pos] == layout.trajectory, file, lines[a + i])
            values = np.array([[float(c) for c in row] for row in chunk], dtype=np.float64)
        parts.append(values)
    return np.concatenate(parts) if parts else np.empty((0, len(used)))
