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
from discovery.data.cells import cell, first_bad, plain_number_text
from discovery.data.layout import Layout, table_layout
from discovery.data.options import LoadOptions
from discovery.data.trajectories import Trajectories
from discovery.errors import DataError, listed


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
    try:
        first = next(_csv_records(text, 0, file), None)
    except DataError as exc:
        raise DataError(f"cannot read the header row: {exc.reason}", file=file, row=exc.row) from None
    if first is None:
        raise DataError("no header row found; expected a header row such as 't,x,y' followed by data rows", file=file)
    header_start, header_line, header = first
    layout = table_layout([name.strip() for name in header], file, header_start, opts)
    body = text[_after_lines(text, "\n", header_line):]
    dated = _dates_to_seconds(body, layout, header_line, file)
    if dated is not None:
        body, raw = dated, None
    fast_input: Any = io.StringIO(body) if raw is None else io.BytesIO(raw[_after_lines(raw, b"\n", header_line):])

    values = _csv_fast(fast_input, layout)
    if values is not None:
        lines: list[int] | None = None

        def row_of(i: int) -> int:
            nonlocal lines
            if lines is None:
                lines = [line for line, _, _ in _csv_records(body, header_line, None)]
            return lines[i]
    else:
        values, line_list = _csv_scan(body, layout, header_line, file)
        row_of = line_list.__getitem__
    if values.shape[0] == 0:
        raise DataError(f"the header has no data rows below it; expected at least {opts.min_points} rows", file=file)
    return from_table(values, layout, row_of, file, opts)


_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?\s*$")
"""An ISO 8601 date or date-time (``2024-01-31``, ``2024-01-31T12:00:00.5``, ``... 12:00:00+01:00``)."""


def _dates_to_seconds(body: str, layout: Layout, header_line: int, file: str | None) -> str | None:
    """``body`` with its time column of ISO 8601 dates turned into seconds since the earliest one, or ``None``
    when its first data row's time is not such a date. Cells that are not ISO dates are left as they are, so the
    usual checks report them (with advice on dates); line numbers are kept. Dates with a time zone are compared
    in UTC (true elapsed time across daylight-saving changes); a column that mixes dates with and without a zone
    is refused, since the two cannot be ordered."""
    import pandas as pd

    time_col = layout.time
    try:
        first = next((r for r in csv.reader(io.StringIO(body), strict=True) if not _blank(r)), None)  # a row or so
    except csv.Error:
        return None  # the usual checks report the malformed line
    if first is None or len(first) <= time_col or not _ISO_DATE.match(first[time_col]):
        return None
    try:
        rows = list(csv.reader(io.StringIO(body), strict=True))
    except csv.Error:
        return None
    matches = [_ISO_DATE.match(r[time_col]) if len(r) > time_col and not _blank(r) else None for r in rows]
    _check_zones(matches, body, header_line, layout.names[time_col], file)
    cells = [r[time_col] if m else None for r, m in zip(rows, matches)]
    stamps = pd.to_datetime(pd.Series(cells, dtype=object), utc=True, errors="coerce", format="ISO8601")
    seconds = (stamps - stamps.min()).dt.total_seconds().to_numpy()
    for r, cell_text, value in zip(rows, cells, seconds):
        if cell_text is not None and np.isfinite(value):
            r[time_col] = repr(float(value))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _check_zones(matches: list[re.Match[str] | None], body: str, header_line: int, column: str,
                 file: str | None) -> None:
    """Raise at the first date (``matches`` of :data:`_ISO_DATE`, one per record of ``body``) whose time zone,
    present or absent, differs from the first date's."""
    first = next(m for m in matches if m is not None)
    zoned = first.lastindex == 4  # the zone is the pattern's last group
    bad = next((i for i, m in enumerate(matches) if m is not None and (m.lastindex == 4) != zoned), None)
    if bad is None:
        return
    reader = csv.reader(io.StringIO(body), strict=True)
    for _ in range(bad):  # the row of record ``bad``: only read again when there is an error to report
        next(reader)
    raise DataError(
        f"date {matches[bad].group(0).strip()!r} has {'a' if not zoned else 'no'} time zone but the first date "
        f"{first.group(0).strip()!r} has {'none' if not zoned else 'one'}; expected every date with a zone (such as "
        "+01:00 or Z) or every date without one",
        file=file, row=header_line + reader.line_num + 1, column=column)


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


def _csv_records(text: str, offset: int, file: str | None) -> Iterator[tuple[int, int, list[str]]]:
    """The non-blank records of ``text`` as ``(first line, last line, cells)``, lines counted after ``offset``.

    Quotes are read strictly: a quote that is never closed is reported at the row that opened it (a lenient reader
    would swallow the rest of the file into one cell and blame the last line).
    """
    reader = csv.reader(io.StringIO(text), strict=True)
    while True:
        start = offset + reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                message = ("a quote (\") opened in this row is never closed, so the rest of the file would be read "
                           "as one cell; expected a closing quote: close it or remove it")
            else:
                message = (f"cannot parse this CSV line ({exc}); expected comma-separated values, with quotes (\") "
                           "only around a whole cell")
            raise DataError(message, file=file, row=start) from None
        if not _blank(record):
            yield start, offset + reader.line_num, record


def _csv_scan(body: str, layout: Layout, header_line: int, file: str | None) -> tuple[np.ndarray, list[int]]:
    """Scan the body line by line; raise at the first bad row or cell, else return values ``(R, U)`` and lines."""
    ncols, used, names = len(layout.names), layout.used, layout.names
    pick = operator.itemgetter(*used)  # used has at least two columns: time and one state
    cells: list[tuple[str, ...]] = []
    lines: list[int] = []
    for line, last, record in _csv_records(body, header_line, file):
        if last > line:  # a quoted cell spans lines: fine in a column that is not loaded, not in one that is
            spanning = [k for k in used if k < len(record) and "\n" in record[k]]
            if spanning:
                raise DataError(f"a quoted cell runs from row {line} to row {last}; expected each value on one line: "
                                "close the quote (\") where the value ends", file=file, row=line,
                                column=names[spanning[0]])
        if len(record) == ncols + 1 and not record[-1].strip():
            record = record[:ncols]  # a trailing comma (as pandas' fast path reads it): the empty cell holds nothing
        if len(record) != ncols:
            _convert_cells(cells, lines, layout, file)  # a bad cell in an earlier row is reported first
            raise DataError(
                f"expected {ncols} comma-separated fields ({listed(names, quote=False)}), found {len(record)}; "
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
        if values is not None and not plain_number_text("".join(map("".join, chunk))):
            values = None  # float() read '1_000' or non-ASCII digits: the cell-by-cell pass reports the cell
        if values is None or first_bad(values, layout.trajectory is not None) is not None:
            for i, row in enumerate(chunk):  # the slow way, only within the failing block
                for pos, text in enumerate(row):
                    cell(text, names[used[pos]], used[pos] == layout.trajectory, file, lines[a + i])
            values = np.array([[float(c) for c in row] for row in chunk], dtype=np.float64)
        parts.append(values)
    return np.concatenate(parts) if parts else np.empty((0, len(used)))
