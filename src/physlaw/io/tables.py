"""Reading a user's numeric table: CSV or whitespace-separated, header optional.

Every problem is reported as an ``InputError`` naming the file, the line and the column, and how
to fix it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from physlaw.errors import InputError

_SPLIT = re.compile(r"[,;\t ]+")


def _cells(line: str) -> list[str]:
    return [c for c in _SPLIT.split(line.strip()) if c != ""]


def read_table(path: str | Path, *, min_columns: int, max_columns: int, what: str) -> tuple[np.ndarray, list[str] | None]:
    """Read a numeric table with ``min_columns``..``max_columns`` columns.

    Lines starting with ``#`` or ``%`` and blank lines are skipped; the first remaining line is a
    header if any of its cells is not a number.

    Returns:
        ``(table [rows, columns], header or None)``.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; give the path of a {what}")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the path of a {what}")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a text file; give a CSV or whitespace-separated {what}") from None
    rows: list[list[float]] = []
    header = None
    width = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#%":
            continue
        cells = _cells(stripped)
        values = []
        for col, cell in enumerate(cells, start=1):
            try:
                values.append(float(cell))
            except ValueError:
                if not rows and header is None:
                    values = None
                    break
                raise InputError(
                    f"{path}, line {number}, column {col}: {cell!r} is not a number; "
                    "every cell after the header must be numeric"
                ) from None
        if values is None:
            header = cells
            continue
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
    return np.array(rows, dtype=np.float64), header


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
