"""Many datasets from one command line: files, folders, glob patterns and wide tables.

``physlaw spectrum|relaxation|regress|fit`` accept several datasets at once (issue 12, "many
datasets"). :func:`expand_datasets` turns the command's ``FILE`` arguments into a list of
:class:`NamedDataset`, each with

* a **name**, safe as a folder name (``DIR/<name>/`` holds its results): the file's stem, or the
  column header of a wide table, with every character outside ``A-Z a-z 0-9 . _ -`` replaced by
  ``_``. Two datasets whose names differ only in case or in replaced characters are refused (they
  would share a folder on some file systems);
* a **label**, a number read from the name (``"T_300K"`` → 300.0, ``"run_1p5"`` → 1.5,
  ``"field_-2.5e-3"`` → −0.0025; the last number in the name when there are several), or ``None``;
  the overview figure uses it as its axis (a temperature series, a pulse-length series);
* the arrays ``x, y, sigma`` (``sigma`` per point or ``None``) as read and checked here, so that a
  bad file is refused before anything is computed.

Each ``FILE`` argument is, in this order:

1. an existing **file**: a table of ``x, y[, sigma]`` (one dataset), or a *wide* table — one x
   column and one y column per dataset, the header naming the datasets — when ``wide=True``, or
   with ``wide="auto"`` when it has more than three columns (a 3-column table is read as
   ``x, y, sigma``; pass ``wide=True`` for a pair of y columns);
2. an existing **folder**: every regular, non-hidden file in it whose suffix is one of
   ``TABLE_SUFFIXES``, in sorted order (not recursive);
3. a **glob pattern** (``*``, ``?``, ``[...]``) expanded here by :mod:`glob` — no shell, hidden
   files are not matched, at most ``MAX_DATASETS`` matches.

Untrusted input: every problem is one ``InputError`` line (what, where, how to fix).

The one-row-per-dataset table of a batch (``DIR/table.csv``) is written by :func:`write_table_csv`.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from physlaw.errors import InputError

MAX_DATASETS = 100_000
"""Most datasets one command takes (files, folder entries, glob matches or wide columns together)."""
MAX_NAME = 100
"""Longest dataset name (characters); longer names are cut and end in ``…`` replaced by ``_``."""
TABLE_SUFFIXES = (".csv", ".txt", ".dat", ".tsv", ".xy")
"""Suffixes of the files a folder argument contributes (case-insensitive)."""
RESERVED = frozenset({"table.csv", "report.html", "overview.png", "summary.json"})
"""Names of the batch's own files in ``DIR``: no dataset may be called so."""

_GLOB_MAGIC = re.compile(r"[*?\[]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# a number in a name: optional sign (only after a non-alphanumeric character or at the start),
# digits, an optional decimal part written with "." or "p" (1p5 = 1.5), an optional exponent
_NUMBER = re.compile(r"(?:(?<![A-Za-z0-9])[-+])?\d+(?:[.p]\d+)?(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class NamedDataset:
    """One dataset of a batch.

    Attributes:
        name: folder-safe name (``DIR/<name>/``).
        label: a number parsed from the name (e.g. a temperature), or None.
        x, y: [n] float64 arrays.
        sigma: [n] per-point noise standard deviations, or None.
        source: where it came from, for messages and the summary (``"a.csv"`` or ``"wide.csv, column T_300K"``).
        header: the column names of x and y as the file gives them (``("x", "y")`` when it has no header).
    """

    name: str
    label: float | None
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    sigma: np.ndarray | None = field(default=None, repr=False)
    source: str = ""
    header: tuple[str, str] = ("x", "y")

    @property
    def num_points(self) -> int:
        return int(self.x.size)

    def digest(self) -> str:
        """SHA-256 of the arrays (x, y, sigma): a resumed batch redoes a dataset whose data changed."""
        h = hashlib.sha256()
        for a in (self.x, self.y, self.sigma):
            h.update(b"none" if a is None else np.ascontiguousarray(a, dtype=np.float64).tobytes())
            h.update(b"|")
        return h.hexdigest()


def safe_name(text: str) -> str:
    """A folder-safe dataset name: characters outside ``A-Za-z0-9._-`` become ``_``; no leading dot.

    Returns ``""`` when nothing usable is left (the caller refuses it).
    """
    name = _UNSAFE.sub("_", text.strip())
    name = name.lstrip(".")  # never hidden: DIR/.x is where staging folders live
    if len(name) > MAX_NAME:
        name = name[: MAX_NAME - 1] + "_"
    return "" if name in ("", "_") or set(name) <= {"_", "-", "."} else name


def parse_label(name: str) -> float | None:
    """The number in a dataset name (the last one if there are several), or None.

    ``"T_300K"`` → 300.0; ``"T300p5"`` → 300.5; ``"B_-0.5T"`` → −0.5; ``"sample-3"`` → 3.0 (a hyphen
    after a letter is a separator, not a sign); ``"2024-05-01_T77"`` → 77.0; ``"blank"`` → None.
    """
    found = _NUMBER.findall(name)
    if not found:
        return None
    value = float(found[-1].replace("p", "."))
    return value if math.isfinite(value) else None


def _is_table_file(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES and not path.name.startswith(".") and path.is_file()


def _expand_argument(arg: str) -> list[Path]:
    """The files one command-line argument stands for (see the module docstring)."""
    if arg == "":
        raise InputError("an empty FILE argument; give a file, a folder or a glob pattern such as 'data/*.csv'")
    path = Path(arg)
    if path.is_dir():
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as err:
            raise InputError(f"{arg}: cannot list the folder ({err.strerror}); check its permissions") from None
        files = [Path(e.path) for e in entries if _is_table_file(Path(e.path))]
        if not files:
            raise InputError(f"{arg} is a folder without data tables (files ending in {', '.join(TABLE_SUFFIXES)}); "
                             "give a folder of tables or the files themselves")
        return files
    if os.path.lexists(path) or not _GLOB_MAGIC.search(arg):
        return [path]  # a file (read_table says what is wrong with it, including "no such file")
    matches = []
    for m in glob.iglob(arg):  # hidden files are not matched by * or ?; no shell is involved
        if len(matches) >= MAX_DATASETS:
            raise InputError(f"the pattern {arg!r} matches more than {MAX_DATASETS} files; split the batch")
        if Path(m).is_file():
            matches.append(Path(m))
    if not matches:
        raise InputError(f"the pattern {arg!r} matches no file; check the folder and the pattern "
                         "(quote it so that your shell leaves it to physlaw)")
    return sorted(matches)


def _read_wide(path: Path, *, min_points: int) -> list[NamedDataset]:
    from physlaw.io.tables import read_table

    table, header = read_table(path, min_columns=2, max_columns=MAX_DATASETS + 1,
                               what="wide table (one x column, then one y column per dataset)")
    ncol = table.shape[1]
    if header is not None and len(header) != ncol:
        raise InputError(f"{path}: the header has {len(header)} names but the rows have {ncol} columns; "
                         "give one name per column (x first, then one per dataset)")
    if table.shape[0] < min_points:
        raise InputError(f"{path}: {table.shape[0]} row(s); each dataset needs at least {min_points} points")
    x = table[:, 0]
    if np.ptp(x) == 0:
        raise InputError(f"{path}: all x values (first column) are equal ({x[0]}); nothing can be measured")
    xname = header[0] if header else "x"
    out = []
    for j in range(1, ncol):
        column = header[j] if header else f"{path.stem}_y{j}"
        out.append(_named(column, x, table[:, j].copy(), None, f"{path}, column {j + 1} ({column[:40]})",
                          (xname, column)))
    return out


def _read_one(path: Path, *, min_points: int) -> NamedDataset:
    from physlaw.io.tables import read_xy

    x, y, sigma = read_xy(path, min_points=min_points)
    return _named(path.stem, x, y, sigma, str(path), ("x", "y"))


def _named(raw: str, x, y, sigma, source: str, header) -> NamedDataset:
    name = safe_name(raw)
    if not name:
        raise InputError(f"{source}: the name {raw[:40]!r} has no letters or digits to name a folder; rename it")
    if name.lower() in RESERVED:
        raise InputError(f"{source}: a dataset may not be called {name!r} (a file of the batch folder has that name); "
                         "rename it")
    return NamedDataset(name, parse_label(name), np.asarray(x, np.float64), np.asarray(y, np.float64),
                        None if sigma is None else np.asarray(sigma, np.float64), source, tuple(header))


def _column_count(path: Path) -> int:
    """Columns of the first data line of a table (0 when it cannot be told; read_table then says why)."""
    from physlaw.io.tables import _cells, is_number, read_text

    text = read_text(path, what="table")
    header_seen = False
    for line in io.StringIO(text):
        s = line.strip()
        if not s or s[0] in "#%":
            continue
        cells = _cells(s)
        if not header_seen and not all(is_number(c) for c in cells):
            header_seen = True
            continue
        return len(cells)
    return 0


def expand_datasets(paths, *, wide: bool | str = "auto", min_points: int = 3) -> list[NamedDataset]:
    """The datasets named by a command's ``FILE`` arguments (files, folders, glob patterns, wide tables).

    Args:
        paths: the arguments as given (strings or paths).
        wide: ``True`` every file is a wide table; ``False`` none is; ``"auto"`` a file with more than
            three columns is.
        min_points: fewest points a dataset may have (a command's own minimum).

    Returns:
        The datasets in argument order (a folder's or a pattern's files sorted by name).

    Raises:
        InputError: nothing to read, an unreadable or malformed table, a name that cannot be a folder
            name, two datasets with the same (case-insensitive) name, more than ``MAX_DATASETS``.
    """
    if wide not in (True, False, "auto"):
        raise ValueError(f"wide must be True, False or 'auto', got {wide!r}")
    paths = [str(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    if not paths:
        raise InputError("no FILE given; give data files, a folder or a glob pattern")
    files: list[Path] = []
    for arg in paths:
        files.extend(_expand_argument(arg))
        if len(files) > MAX_DATASETS:
            raise InputError(f"more than {MAX_DATASETS} files given; split the batch")
    datasets: list[NamedDataset] = []
    for f in files:
        is_wide = wide is True or (wide == "auto" and f.is_file() and _column_count(f) > 3)
        datasets.extend(_read_wide(f, min_points=min_points) if is_wide else [_read_one(f, min_points=min_points)])
        if len(datasets) > MAX_DATASETS:
            raise InputError(f"more than {MAX_DATASETS} datasets given; split the batch")
    seen: dict[str, NamedDataset] = {}
    for d in datasets:
        other = seen.get(d.name.lower())
        if other is not None:
            raise InputError(f"{other.source} and {d.source} would both be written to the folder {d.name!r}; "
                             "rename one of them (dataset names come from file stems or column headers and must "
                             "differ in more than case or punctuation)")
        seen[d.name.lower()] = d
    return datasets


def write_table_csv(path: str | os.PathLike, rows: list[dict], *, first: tuple[str, ...] = ()) -> list[str]:
    """Write one row per dataset as CSV, atomically; returns the columns.

    The columns are ``first`` and then every key of the rows in the order first seen (stable for a
    given dataset order); a missing value is an empty cell. Floats are written with ``repr`` (all
    digits: two runs agree byte for byte exactly when their numbers do).
    """
    from physlaw.io.atomic import atomic_path

    columns = list(first)
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    with atomic_path(path) as tmp:
        Path(tmp).write_text(buf.getvalue(), encoding="utf-8")
    return columns


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return repr(v) if math.isfinite(v) else ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def read_table_csv(path: str | os.PathLike) -> tuple[list[str], list[dict]]:
    """The columns and rows of a ``table.csv`` written by :func:`write_table_csv` (integers as int, other
    numbers as float, empty cells as None, text as str)."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        columns = next(reader)
        rows = []
        for cells in reader:
            rows.append({c: _parse(v) for c, v in zip(columns, cells)})
    return columns, rows


def _parse(cell: str):
    if cell == "":
        return None
    if re.fullmatch(r"-?\d+", cell):
        return int(cell)
    try:
        return float(cell)
    except ValueError:
        return cell
