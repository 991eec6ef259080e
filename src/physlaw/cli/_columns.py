"""Which columns of a measurement file are x, y and σ: ``--x``, ``--y``, ``--sigma-column``, ``--region``.

Every measurement command (spectrum, relaxation, regress, fit) reads its data through
:func:`read_measurement_file`, so files are read alike everywhere.

Rules (documented in ``COLUMNS_HELP``):

- ``--x COLUMN --y COLUMN [--sigma-column COLUMN]``: a header name (exact, else ignoring case) or a
  1-based column number. With more than two columns both ``--x`` and ``--y`` are needed; with two,
  either one alone names the other as the remaining column. A σ column is used only when named.
- No column options: two columns are x, y. Three columns are x, y, σ when there is no header, or
  when the header's third name says it is an uncertainty (``sigma``, ``σ``, ``err``, ``error``,
  ``uncertainty``, ``unc``, ``std``, ``sd``, ``stdev``, ``dy``, ``yerr``, ``y_err``, ``s``, ``e``,
  or a name starting or ending with one of them after ``_``/``-``, e.g. ``counts_err``). A header
  naming three columns otherwise (``channel,velocity_mm_s,counts``) is refused with one line listing
  the columns and the options to give; more than three columns always need the options.
- VAMAS ``.vms`` files (``physlaw.io.vamas``): ``--region NAME`` chooses the block; x is the binding
  energy when the block records kinetic energy with its excitation energy; y the counts.
- Rows keep the file's order: x may decrease (XPS binding energy) or be unordered; nothing is sorted.

``Measurement.counts`` is True when every y is a non-negative integer (Poisson counting data),
for ``--likelihood auto``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from physlaw.errors import InputError

if TYPE_CHECKING:   # NumPy is imported where a file is read, not to build the argument parser
    import numpy as np

COLUMNS_HELP = (
    "Columns: --x and --y choose columns by header name or 1-based number (--sigma-column adds per-point "
    "noise). Without them, 2 columns are x, y and 3 are x, y, sigma (unless a header names the third "
    "column as something other than an uncertainty; then give --x and --y). VAMAS .vms files: "
    "--region NAME chooses the block (x = binding energy, y = counts). x may decrease; rows keep their order."
)

_SIGMA_WORDS = {"sigma", "σ", "err", "error", "errors", "uncertainty", "unc", "std", "sd", "stdev", "stddev", "dy",
                "yerr", "s", "e", "noise", "delta", "δ"}


@dataclass
class Measurement:
    """One measured curve as read from a file.

    Attributes:
        x, y: [n] in the file's row order (never sorted).
        sigma: [n] per-point noise standard deviations (all > 0), or None.
        x_name, y_name: the columns' names (header names, ``column N``, or the VAMAS axis names).
        source: where the data came from, in words (file, columns or region, axis conversion).
        counts: every y is a non-negative integer (counting data: Poisson likelihood under ``auto``).
        region: the VAMAS block's name, or None.
        path: the file.
    """

    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray | None
    x_name: str
    y_name: str
    source: str
    counts: bool
    region: str | None = None
    path: str = ""
    notes: list[str] = field(default_factory=list)
    sigma_name: str | None = None


def add_column_options(parser, *, region: bool = True) -> None:
    """``--x``, ``--y``, ``--sigma-column`` (and ``--region`` for VAMAS files) on a command's parser."""
    import textwrap

    group = parser.add_argument_group("columns", textwrap.fill(COLUMNS_HELP, 90))  # also under Raw formatters
    group.add_argument("--x", metavar="COLUMN", dest="x_column",
                       help="the x column: header name or 1-based number")
    group.add_argument("--y", metavar="COLUMN", dest="y_column",
                       help="the y column: header name or 1-based number")
    group.add_argument("--sigma-column", metavar="COLUMN", dest="sigma_column",
                       help="a column of per-point noise standard deviations: header name or 1-based number")
    if region:
        group.add_argument("--region", metavar="NAME",
                           help="VAMAS .vms file: the block (region) to fit, by name (e.g. 'C 1s') or number")


def is_counts(y) -> bool:
    """True for counts: non-negative integers, or counts times one constant (``measure.noise.count_scale``)."""
    from physlaw.measure.noise import count_scale

    return count_scale(y) is not None


def _option(args, name):
    return getattr(args, name, None)


def read_measurement_file(path, args, *, min_points: int = 3, names: tuple[str, str] = ("x", "y"),
                          hints: dict | None = None, hints_from: str = "the model file") -> Measurement:
    """Read ``path`` as chosen by the column options on ``args`` (see the module docstring).

    ``args`` may lack any of the options (a Namespace built by hand): missing means not given.
    ``names`` are the command's words for x and y in messages (e.g. ``("t", "m")``).
    ``hints``: ``{"x_column", "y_column", "sigma_column"}`` from a model file, used where the command
    line gives none; a name is looked up only in a file with a header (without one it just names
    the axis), a number always.

    Checks (one-line ``InputError``): the columns exist and differ, at least ``min_points`` rows,
    σ > 0, x not all equal, magnitudes that do not overflow in squares (``check_data_scale``).
    """
    import numpy as np

    from physlaw.cli._common import check_data_scale

    path = Path(path)
    xcol, ycol, scol, region = (_option(args, "x_column"), _option(args, "y_column"), _option(args, "sigma_column"),
                                _option(args, "region"))
    from physlaw.io.vamas import is_vamas

    if is_vamas(path):
        if xcol is not None or ycol is not None or scol is not None:
            raise InputError(f"{path} is a VAMAS file: choose its block with --region NAME; --x, --y and "
                             "--sigma-column are for tables")
        m = _read_vamas(path, region)
    else:
        if region is not None:
            raise InputError(f"--region chooses a block of a VAMAS (.vms) file; {path} is a table: choose its "
                             "columns with --x and --y")
        m = _read_table(path, xcol, ycol, scol, hints or {}, hints_from)
    n = m.x.size
    if n < min_points:
        raise InputError(f"{path}: {n} data point(s); at least {min_points} are needed")
    if m.sigma is not None:
        bad = np.flatnonzero(~(m.sigma > 0))
        if bad.size:
            raise InputError(f"{path}: the sigma column ({m.sigma_name}) must be positive (per-point noise "
                             f"standard deviations); data row {bad[0] + 1} has {m.sigma[bad[0]]}")
    if np.ptp(m.x) == 0:
        raise InputError(f"{path}: all {m.x_name} values are equal ({m.x[0]}); nothing can be measured along x")
    check_data_scale(m.x, m.y, str(path), sigma=m.sigma, xname=names[0], yname=names[1])
    m.counts = is_counts(m.y)
    return m


def _read_vamas(path: Path, region) -> Measurement:
    from physlaw.io.vamas import vamas_region

    r = vamas_region(path, region)
    source = f"{path}, VAMAS region {r.index} {r.name!r}: {r.note}"
    return Measurement(r.x, r.y, None, r.x_name, r.y_name, source, False, region=r.name, path=str(path),
                       notes=[r.note])


def _listing(header, width: int) -> str:
    if header is None:
        return f"{width} unnamed columns (numbers 1..{width})"
    shown = ", ".join(f"{i}: {h[:30]}" for i, h in enumerate(header[:20], start=1))
    return shown + (f", ... ({len(header)} in all)" if len(header) > 20 else "")


def _ref(header, i: int) -> str:
    """How to name column ``i`` (0-based) on the command line."""
    if header is None:
        return str(i + 1)
    name = header[i]
    return name if re.fullmatch(r"[\w.+\-]+", name) else repr(name)


def _resolve(spec: str, header, width: int, option: str, path: Path) -> int:
    """The 0-based column named by ``spec`` (a header name, exact then ignoring case; or a number)."""
    text = str(spec).strip()
    if header is not None:
        if text in header:
            hits = [i for i, h in enumerate(header) if h == text]
        else:
            hits = [i for i, h in enumerate(header) if h.lower() == text.lower()]
        if len(hits) > 1:
            raise InputError(f"{path}: {option} {text[:40]!r} matches columns {', '.join(str(i + 1) for i in hits)}; "
                             "choose one by number")
        if hits:
            return hits[0]
    if re.fullmatch(r"\d{1,9}", text):
        i = int(text)
        if 1 <= i <= width:
            return i - 1
        raise InputError(f"{path}: {option} {text}: the table has {width} columns (numbers 1..{width}); "
                         f"columns: {_listing(header, width)}")
    raise InputError(f"{path}: {option} {text[:40]!r} is not a column; columns: {_listing(header, width)}")


def _is_sigma_name(name: str) -> bool:
    low = name.strip().lower()
    if low in _SIGMA_WORDS:
        return True
    parts = [p for p in re.split(r"[_\-\s()\[\]]+", low) if p]
    return bool(parts) and (parts[0] in _SIGMA_WORDS - {"s", "e"} or parts[-1] in _SIGMA_WORDS - {"s", "e"})


def _read_table(path: Path, xcol, ycol, scol, hints: dict, hints_from: str) -> Measurement:
    from physlaw.io.tables import read_columns

    table, header = read_columns(path)
    width = table.shape[1]
    chosen, labels = [], {}
    for option, given in (("x_column", xcol), ("y_column", ycol), ("sigma_column", scol)):
        hint = hints.get(option)
        if given is None and hint is not None and (header is not None or str(hint).strip().isdigit()):
            given = hint
            labels[option + "_from"] = f"{option.split('_')[0]} in {hints_from}"
        elif given is None and hint is not None and option == "sigma_column":
            raise InputError(f"{path} has no header, so the sigma column {str(hint)[:40]!r} named in {hints_from} "
                             "cannot be found; add a header or give the column's number")
        elif given is None and hint is not None:
            labels[option] = str(hint)  # a headerless file: the model's name only labels the axis
        chosen.append(given)
    xcol, ycol, scol = chosen

    def name(i):
        return header[i] if header is not None else f"column {i + 1}"

    if xcol is None and ycol is None:
        if scol is not None:
            raise InputError(f"{path}: --sigma-column needs --x and --y as well; columns: {_listing(header, width)}")
        if width == 2:
            ix, iy, isg = 0, 1, None
        elif width == 3 and (header is None or _is_sigma_name(header[2])):
            ix, iy, isg = 0, 1, 2
        else:
            raise InputError(_ambiguous(path, header, width))
    else:
        if width > 2 and (xcol is None or ycol is None):
            raise InputError(f"{path} has {width} columns: give both --x and --y; columns: {_listing(header, width)}")
        ix = _resolve(xcol, header, width, labels.get("x_column_from", "--x"), path) if xcol is not None else None
        iy = _resolve(ycol, header, width, labels.get("y_column_from", "--y"), path) if ycol is not None else None
        if ix is None:
            ix = 1 - iy
        if iy is None:
            iy = 1 - ix
        isg = _resolve(scol, header, width, labels.get("sigma_column_from", "--sigma-column"), path) if scol is not None else None
        used = [("--x", ix), ("--y", iy)] + ([("--sigma-column", isg)] if isg is not None else [])
        for a in range(len(used)):
            for b in range(a + 1, len(used)):
                if used[a][1] == used[b][1]:
                    raise InputError(f"{path}: {used[a][0]} and {used[b][0]} name the same column "
                                     f"({name(used[a][1])}); choose different columns")
    sigma = table[:, isg].copy() if isg is not None else None
    source = f"{path}: x = {name(ix)}, y = {name(iy)}" + (f", sigma = {name(isg)}" if isg is not None else "")
    return Measurement(table[:, ix].copy(), table[:, iy].copy(), sigma, labels.get("x_column", name(ix)),
                       labels.get("y_column", name(iy)), source, False,
                       path=str(path), sigma_name=name(isg) if isg is not None else None)


_INDEX_WORDS = {"channel", "chan", "ch", "index", "idx", "i", "n", "no", "num", "point", "row", "#", "step", "bin"}


def _ambiguous(path: Path, header, width: int) -> str:
    """The one-line refusal for a table whose columns cannot be told apart without options."""
    if header is not None and width >= 3 and header[0].strip().lower() in _INDEX_WORDS:
        hint = f"--x {_ref(header, 1)} --y {_ref(header, 2)}"  # the first column counts rows
    elif width >= 3 and header is not None:
        hint = f"--x {_ref(header, 0)} --y {_ref(header, 1)}"
    else:
        hint = "--x 1 --y 2 (and --sigma-column N for per-point noise)"
    why = ("its header does not name the third column as an uncertainty" if width == 3
           else f"it has {width} columns")
    return (f"{path}: which columns are x and y? {why}; columns: {_listing(header, width)}; "
            f"give e.g. {hint}")


def choose_noise(m: Measurement, *, sigma=None, likelihood: str = "auto", estimate: bool = False,
                 sigma_from: str = "--sigma") -> tuple[object, str, str]:
    """The noise model of a measurement with the defaults of every command (issue 11, item 10).

    Precedence: a given ``sigma`` (a number, from ``sigma_from``), else the file's σ column, else
    nothing known. ``likelihood="auto"`` is Poisson when nothing is known, the noise is not asked to
    be estimated (``estimate``) and every y is a non-negative integer (``m.counts``); Gaussian
    otherwise, with σ estimated over the temperature ladder when unknown.

    Returns:
        ``(sigma or None, "gaussian" | "poisson", how it was chosen in words)``.

    Raises:
        InputError: Poisson with a σ, or Poisson for data that are not counts.
    """
    how = ""
    if sigma is not None:
        how = f"Gaussian, sigma = {sigma:g} given ({sigma_from})"
    elif m.sigma is not None:
        sigma, sigma_from = m.sigma, f"the sigma column {m.sigma_name}"
        how = f"Gaussian, per-point sigma from {sigma_from}"
    if likelihood == "poisson" and sigma is not None:
        raise InputError(f"a Poisson likelihood has no sigma: drop --likelihood poisson or the sigma ({sigma_from})")
    if likelihood == "auto":
        likelihood = "poisson" if (m.counts and sigma is None and not estimate) else "gaussian"
        if likelihood == "poisson":
            how = "Poisson (auto: every y is a non-negative integer, so the data are taken as counts)"
    if likelihood == "poisson" and not m.counts:
        raise InputError(f"{m.path}: --likelihood poisson needs counts (every y a non-negative integer); "
                         "use --likelihood gaussian")
    if likelihood == "poisson" and not how:
        how = "Poisson (counts)"
    if likelihood == "gaussian" and sigma is None:
        how = "Gaussian, sigma estimated over the temperature ladder"
    return sigma, likelihood, how
