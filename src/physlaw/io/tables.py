"""Reading a user's numeric table: CSV or whitespace-separated, header optional.

Every problem is reported as an ``InputError`` naming the file, the line and the column, and how
to fix it.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from pathlib import Path

import numpy as np

from physlaw.errors import InputError

_SPLIT = re.compile(r"[,;\t ]+")

MAX_FILE_BYTES = 1 << 30
"""Largest text file physlaw reads (1 GiB); larger files are refused with a message (thin or split them)."""
MAX_ROWS = 50_000_000
"""Most data rows in one table (5·10⁷); larger tables are refused."""


def read_text(path: str | Path, *, what: str, label: str | None = None, max_bytes: int | None = None) -> str:
    """The text of a user's file, decoded as UTF-8 (a byte-order mark is dropped); see :func:`read_file`."""
    return read_file(path, what=what, label=label, max_bytes=max_bytes)[1]


def read_file(path: str | Path, *, what: str, label: str | None = None,
              max_bytes: int | None = None) -> tuple[bytes, str]:
    """``(bytes, text)`` of a user's text file, the text decoded as UTF-8 (a byte-order mark is dropped).

    Refuses, each with one ``InputError`` line: a missing path, a folder or other non-regular file
    (a FIFO or device would block or never end), a file over ``MAX_FILE_BYTES``, binary content (NUL
    bytes or invalid UTF-8). ``label`` (default the path) starts every message, e.g. ``--prior FILE``;
    ``max_bytes`` lowers the size limit for small formats.
    """
    path = Path(path)
    label = label or str(path)
    if not path.exists():
        raise InputError(f"{label}: no such file; give the path of a {what}")
    if path.is_dir():
        raise InputError(f"{label} is a folder; give the path of a {what}")
    if not path.is_file():
        raise InputError(f"{label} is not a regular file; give the path of a {what}")
    size, limit = path.stat().st_size, MAX_FILE_BYTES if max_bytes is None else min(max_bytes, MAX_FILE_BYTES)
    if size > limit:
        raise InputError(f"{label} is {_size(size)}; physlaw reads a {what} of at most {_size(limit)}; "
                         "thin, split or average the data first")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"{label}: cannot read the file ({err.strerror or err}); check its permissions") from None
    if b"\x00" in data:
        raise InputError(f"{label} is a binary file (it contains NUL bytes); give a {what} as UTF-8 text")
    try:
        return data, data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(f"{label} is not UTF-8 text (undecodable byte {data[err.start]:#04x} on line {line}); "
                         f"give a {what} saved as UTF-8 text") from None


def _size(num_bytes: int) -> str:
    return f"{num_bytes / 2**20:.3g} MiB" if num_bytes >= 2**20 else f"{num_bytes / 2**10:.3g} KiB"


def _cells(line: str) -> list[str]:
    return [c for c in _SPLIT.split(line.strip()) if c != ""]


def _header_cells(line: str) -> list[str]:
    """The names of a header line: split on its delimiter (comma, semicolon or tab) when it has one, so
    that a name may hold spaces (``time (s),signal``); on runs of spaces otherwise."""
    for delim in ",;\t":
        if delim in line:
            return [c.strip() for c in line.strip().split(delim)]
    return _cells(line)


def _lines(text: str):
    """The lines of ``text`` with their line ends, lazily (no copy of the whole text)."""
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end + 1
        yield text[pos:end]
        pos = end


def is_number(cell: str) -> bool:
    """True when ``cell`` reads as a float (header detection)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_table(path: str | Path, *, min_columns: int, max_columns: int, what: str) -> tuple[np.ndarray, list[str] | None]:
    """Read a numeric table with ``min_columns``..``max_columns`` columns.

    Lines starting with ``#`` or ``%`` and blank lines are skipped; the first remaining line is a
    header if any of its cells is not a number. Cells are separated by commas, semicolons, tabs or
    spaces. The file is read as UTF-8 (a byte-order mark is ignored) and parsed by NumPy's
    vectorised reader; only when that fails is the file scanned line by line to name the line and
    column at fault. Files over ``MAX_FILE_BYTES`` (1 GiB) or ``MAX_ROWS`` (5·10⁷) rows are refused.

    Returns:
        ``(table [rows, columns], header or None)``.
    """
    path = Path(path)
    data, text = read_file(path, what=what)
    if b"\r" in data and b"\n" not in data:  # old Mac line ends
        data, text = data.replace(b"\r", b"\n"), text.replace("\r", "\n")
    header, first, offset = None, None, 0
    for number, line in enumerate(_lines(text), start=1):
        stripped = line.strip()
        if stripped and stripped[0] not in "#%":
            if header is None and not all(is_number(c) for c in _cells(stripped)):
                header = _header_cells(stripped)
                offset += len(line)
                continue
            first = (number, stripped)
            break
        offset += len(line)
    if first is None:
        raise InputError(f"{path}: no numeric rows found; expected a {what}")
    start = len(text[:offset].encode()) + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
    body = data[start:]
    num_lines = body.count(b"\n") + 1
    if num_lines > MAX_ROWS:
        raise InputError(f"{path} has about {num_lines} lines; physlaw reads tables of at most {MAX_ROWS} rows; "
                         "thin or average the data first")
    table = _fast(body, first[1])
    if table is None or not _fast_ok(table, min_columns, max_columns):
        table = _scan(path, text, header, min_columns=min_columns, max_columns=max_columns, what=what)
    return table, header


def _fast(body: bytes, first_line: str) -> np.ndarray | None:
    """The rows by ``numpy.loadtxt`` (C parser), or None when it cannot read them (the scan then says why)."""
    delimiter = next((d for d in ",;\t" if d in first_line), None)
    comments = tuple(c for c in "#%" if c.encode() in body) or None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = np.loadtxt(io.BytesIO(body), delimiter=delimiter, comments=comments, ndmin=2, dtype=np.float64,
                               encoding="utf-8")
    except (ValueError, TypeError, IndexError):
        return None
    return table


def _fast_ok(table: np.ndarray, min_columns: int, max_columns: int) -> bool:
    return table.shape[0] > 0 and min_columns <= table.shape[1] <= max_columns and bool(np.all(np.isfinite(table)))


def _scan(path: Path, text: str, header, *, min_columns: int, max_columns: int, what: str) -> np.ndarray:
    """The line-by-line reader: slow, but it names the line and column of the first problem."""
    rows: list[list[float]] = []
    seen_header = header is None
    width = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#%":
            continue
        cells = _cells(stripped)
        if not seen_header:
            seen_header = True
            continue
        values = []
        for col, cell in enumerate(cells, start=1):
            try:
                values.append(float(cell))
            except ValueError:
                raise InputError(
                    f"{path}, line {number}, column {col}: {cell!r:.40} is not a number; "
                    "every cell after the header must be numeric"
                ) from None
        if width is None:
            width = len(values)
            if width < min_columns:
                raise InputError(
                    f"{path}, line {number}: found {width} column(s), need at least {min_columns} ({what})"
                )
            if width > max_columns:
                raise InputError(f"{path}, line {number}: found {width} columns, expected at most {max_columns} ({what})")
        elif len(values) != width:
            raise InputError(f"{path}, line {number}: {len(values)} columns where earlier lines have {width}")
        for col, v in enumerate(values, start=1):
            if not math.isfinite(v):
                raise InputError(f"{path}, line {number}, column {col}: {v} is not a finite number; remove or fix that row")
        rows.append(values)
    if not rows:
        raise InputError(f"{path}: no numeric rows found; expected a {what}")
    return np.array(rows, dtype=np.float64)


MAX_COLUMNS = 10_000
"""Most columns in a table read by :func:`read_columns`."""


def read_columns(path: str | Path, *, what: str = "table of measured columns",
                 max_columns: int = MAX_COLUMNS) -> tuple[np.ndarray, list[str] | None]:
    """Read a numeric table of 2..``max_columns`` columns, keeping the header's column names.

    As :func:`read_table`; the header (when there is one) is split on the delimiter of its line, so
    a name may contain spaces. A header whose number of names differs from the number of columns is
    refused: the names cannot be matched to the columns.

    Returns:
        ``(table [rows, columns], header names or None)``; rows keep the file's order.
    """
    table, header = read_table(path, min_columns=2, max_columns=max_columns, what=what)
    if header is not None and len(header) != table.shape[1]:
        raise InputError(f"{path}: the header names {len(header)} column(s) ({_names(header)}) but the rows "
                         f"have {table.shape[1]}; make the header one name per column (or remove it and "
                         "choose columns by number)")
    if header is not None and any(not h for h in header):
        raise InputError(f"{path}: the header has an empty column name ({_names(header)}); name every column")
    return table, header


def _names(header: list[str]) -> str:
    shown = ", ".join(h[:30] for h in header[:12])
    return shown + (f", ... ({len(header)} in all)" if len(header) > 12 else "")


def read_xy(path: str | Path, *, min_points: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Read ``x, y[, σ]`` columns (a measurement with optional per-point noise).

    Returns:
        ``(x, y, sigma or None)``.
    """
    table, _ = read_table(path, min_columns=2, max_columns=3, what="table of x, y[, sigma] columns")
    if table.shape[0] < min_points:
        raise InputError(f"{path}: {table.shape[0]} data point(s); at least {min_points} are needed")
    sigma = None
    if table.shape[1] == 3:
        sigma = table[:, 2]
        bad = np.flatnonzero(sigma <= 0)
        if bad.size:
            raise InputError(
                f"{path}: the third column (per-point sigma) must be positive; row {bad[0] + 1} has {sigma[bad[0]]}"
            )
    if np.ptp(table[:, 0]) == 0:
        raise InputError(f"{path}: all x values are equal ({table[0, 0]}); a slope cannot be measured")
    return table[:, 0], table[:, 1], sigma
