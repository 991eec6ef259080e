"""Trajectory files: ``.npz`` (plain arrays plus JSON metadata) and trajectory CSV tables.

Every file a user gives may be hostile: arrays are loaded without pickle, shapes, values and
coordinate names are checked, and each problem is an ``InputError`` that names the file and says
how to fix it.
"""

from __future__ import annotations

import json
import os
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np

from physlaw.dynamics import GAP_MODES, Dataset, agents_dataset, repair_gaps
from physlaw.errors import InputError
from physlaw.io.atomic import atomic_path
from physlaw.io.tables import is_number, read_text



def save_dataset(path: str | os.PathLike, dataset: Dataset) -> None:
    """Write a dataset to ``.npz`` atomically (plain arrays, metadata as a JSON string).

    Keys: ``q``, ``p``, ``t``, ``coordinate_names``, ``metadata`` (JSON) and, when known,
    ``dq``, ``dp``, and the controls ``u`` with ``control_names``. Readable with ``numpy.load(path, allow_pickle=False)``.
    """
    arrays = {
        "q": dataset.q,
        "p": dataset.p,
        "t": dataset.t,
        "coordinate_names": np.array(dataset.coordinate_names, dtype=str),
        "metadata": np.array(json.dumps(dataset.metadata)),
    }
    if dataset.dq is not None:
        arrays.update(dq=dataset.dq, dp=dataset.dp)
    if dataset.u is not None:
        arrays.update(u=dataset.u, control_names=np.array(dataset.control_names, dtype=str))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


MAX_NPZ_BYTES = 1 << 32
"""Largest total uncompressed size of the arrays in a trajectory ``.npz`` (4 GiB)."""
_NPZ_ARRAYS = ("q", "p", "t", "coordinate_names", "metadata", "dq", "dp", "u", "control_names")


def load_dataset(path: str | os.PathLike, *, q: list[str] | None = None, p: list[str] | None = None,
                 names: list[str] | None = None, gaps: str | None = None, max_gap: int = 5,
                 min_length: int = 7, u: list[str] | None = None) -> Dataset:
    """Read a dataset from ``.npz`` (written by :func:`save_dataset`) or a trajectory CSV.

    CSV format: a header line (it may start with ``%`` or ``#``), then numeric rows separated by
    commas or whitespace, UTF-8 (a byte-order mark is ignored). Columns: ``trajectory``, ``t``, then
    the coordinates; names starting with ``q`` are positions, with ``p`` momenta, ``u``, ``u1``, ``u2`` … control
    inputs (the value at ``t_k`` acting until ``t_{k+1}``). ``q``/``p``/``u`` name other columns as
    positions, momenta and controls. If no column starts with q or p, an even number of
    coordinates is split into positions then momenta (the Schmidt–Lipson files: trial, t, θ, ω,
    header ``%o v``), an odd number are all positions; other columns are ignored. Rows are grouped
    by the trajectory column (in order of appearance) and each trajectory is sorted by t; every
    trajectory must have the same number of rows and no time twice.

    Coordinate names must be plain names (see :func:`physlaw.dynamics.check_coordinate_names`);
    ``names`` replaces them (positions then momenta) before that check, so a file with unusable
    names can still be read.

    Gaps: a missing value (``nan``; in a CSV read with ``gaps`` also an empty cell, ``NA``, ``null``)
    in a chosen coordinate makes its sample a gap. By default a gap refuses the file; ``gaps="drop"``
    splits the trajectories there and ``gaps="interpolate"`` fills gaps of at most ``max_gap`` samples
    (:func:`physlaw.dynamics.repair_gaps`); either way stretches of fewer than ``min_length`` samples
    are dropped and the rest cut into windows of one length (then CSV trajectories may also differ in
    length). ``metadata["gaps"]`` says what was done. Infinite values are always refused; every row
    needs its trajectory id and time.

    Args:
        path: ``.npz`` file or text file.
        q, p: optional column names to use as positions / momenta (CSV only).
        u: optional column names to use as control inputs (CSV only; default: the columns named u…
            when the positions are named q…).
        names: optional new coordinate names, one per chosen coordinate.
        gaps: ``None`` (refuse gaps), ``"drop"`` or ``"interpolate"``.
        max_gap, min_length: see :func:`physlaw.dynamics.repair_gaps`.

    Raises:
        InputError: missing, binary or oversized file, unreadable content, inconsistent shapes or
            columns, non-finite values, duplicate times, unusable coordinate names.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data file {str(path)!r} does not exist; pass the path of a .npz or trajectory CSV file")
    if gaps is not None and gaps not in GAP_MODES:
        raise InputError(f"gaps must be one of {', '.join(GAP_MODES)} (or None to refuse gaps), got {gaps!r}")
    if u and path.suffix == ".npz":
        raise InputError(f"{str(path)!r}: control columns are chosen in CSV files only; a .npz stores its controls")
    q_, p_, t, coords, meta, dq, dp, u_, unames = (_load_npz(path, gaps, max_gap, min_length) if path.suffix == ".npz"
                                                   else _load_csv(path, q, p, gaps, max_gap, min_length, u))
    if names is not None:
        if len(names) != len(coords):
            raise InputError(f"{len(names)} names given for {len(coords)} coordinates ({', '.join(coords)}) of "
                             f"{str(path)!r}; give one name per coordinate, positions first")
        coords = tuple(names)
    try:
        return Dataset(q_, p_, t, coords, meta, dq, dp, u=u_, control_names=unames)
    except InputError as err:
        raise InputError(f"{str(path)!r}: {err}") from None


def _load_npz(path: Path, gaps=None, max_gap=5, min_length=7):
    where = repr(str(path))
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise InputError(f"cannot read {where} as .npz ({err}); write it with physlaw simulate or save_dataset") from None
    if total > MAX_NPZ_BYTES:
        raise InputError(f"{where} unpacks to {total / 2**20:.0f} MiB; physlaw reads .npz files of at most "
                         f"{MAX_NPZ_BYTES / 2**20:.0f} MiB of arrays; thin or split the data")
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as f:
            for k in f.files:
                if k not in _NPZ_ARRAYS:
                    continue
                try:
                    arrays[k] = f[k]
                except ValueError as err:
                    if "allow_pickle" in str(err) or "Object arrays" in str(err):
                        raise InputError(f"{where}: array {k!r} holds Python objects, which physlaw never unpickles; "
                                         "save plain numeric arrays (and names as a string array)") from None
                    raise
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 — any unreadable file is the user's to fix
        raise InputError(f"cannot read {where} as .npz: {str(err)[:200]}") from None
    missing = {"q", "p", "t", "coordinate_names"} - set(arrays)
    if missing:
        raise InputError(f"{where} lacks the arrays {sorted(missing)}; write it with physlaw simulate or save_dataset")
    if ("dq" in arrays) != ("dp" in arrays):
        raise InputError(f"{where} has only one of the arrays dq and dp; store both exact derivatives or neither")
    if ("u" in arrays) != ("control_names" in arrays):
        raise InputError(f"{where} has only one of the arrays u and control_names; store both or neither")
    if "u" in arrays and gaps is not None:
        raise InputError(f"{where} holds controls u: gap repair is not supported for controlled data; remove the gaps")
    for k in ("q", "p", "t", "dq", "dp", "u"):
        if k not in arrays:
            continue
        a = arrays[k]
        if a.dtype.kind not in "iuf":
            raise InputError(f"{where}: array {k!r} has dtype {a.dtype}; expected real numbers (float or int)")
        arrays[k] = a = a.astype(np.float64)
        gap_ok = gaps is not None and k != "t"
        bad = np.argwhere(np.isinf(a) if gap_ok else ~np.isfinite(a))
        if bad.size:
            hint = f", {GAPS_HINT}" if k != "t" and gaps is None and not np.isinf(a).any() else ""
            raise InputError(f"{where}: array {k!r} has {len(bad)} non-finite value(s) (NaN or inf), the first at index "
                             f"{tuple(int(i) for i in bad[0])}; remove or fill those samples{hint}")
    q, p, t = arrays["q"], arrays["p"], arrays["t"]
    if q.ndim != 3 or p.ndim != 3 or t.ndim != 2:
        raise InputError(f"{where}: q and p must be [trajectory, time, coordinate] and t [trajectory, time]; got "
                         f"q {q.shape}, p {p.shape}, t {t.shape}")
    if p.shape[:2] != q.shape[:2] or p.shape[2] not in (q.shape[2], 0) or t.shape != q.shape[:2]:
        raise InputError(f"{where}: shapes do not match: q {q.shape}, p {p.shape}, t {t.shape}; p must have the "
                         "shape of q (or no coordinates) and t the first two sizes of q")
    if 0 in q.shape[:2] or q.shape[2] + p.shape[2] == 0:
        raise InputError(f"{where} holds no samples (q {q.shape}, p {p.shape})")
    for k, like in (("dq", q), ("dp", p)):
        if k in arrays and arrays[k].shape != like.shape:
            raise InputError(f"{where}: array {k!r} has shape {arrays[k].shape}, expected {like.shape} like "
                             f"{k[1]!r}")
    raw = arrays["coordinate_names"]
    if raw.dtype.kind != "U" or raw.ndim != 1:
        raise InputError(f"{where}: coordinate_names must be a 1-D array of strings, got dtype {raw.dtype} and "
                         f"shape {raw.shape}")
    coords = tuple(str(n) for n in raw)
    if len(coords) != q.shape[2] + p.shape[2]:
        raise InputError(f"{where}: {len(coords)} coordinate names for {q.shape[2] + p.shape[2]} coordinates "
                         f"(q {q.shape[2]} + p {p.shape[2]}); store one name per coordinate")
    meta = {}
    if "metadata" in arrays:
        m = arrays["metadata"]
        if m.dtype.kind != "U" or m.ndim != 0:
            raise InputError(f"{where}: metadata must be one JSON string, got dtype {m.dtype} and shape {m.shape}")
        try:
            meta = json.loads(str(m))
        except (ValueError, RecursionError) as err:
            raise InputError(f"{where}: metadata is not valid JSON ({str(err)[:120]}); store json.dumps of a "
                             "dict") from None
        if not isinstance(meta, dict):
            raise InputError(f"{where}: metadata must be a JSON object, got {type(meta).__name__}; store json.dumps "
                             "of a dict")
    dq, dp = arrays.get("dq"), arrays.get("dp")
    if gaps is not None and not all(np.all(np.isfinite(a)) for a in (q, p, dq, dp) if a is not None):
        d, n = q.shape[2], q.shape[2] + p.shape[2]
        parts = [q, p] + ([dq, dp] if dq is not None else [])
        x = np.concatenate(parts, axis=-1)
        t, x, report = _repair(where, list(zip(t, x)), gaps, max_gap, min_length)
        meta = {**meta, "gaps": report.to_dict()}
        if dq is not None and report.num_filled:  # filled samples have no exact derivatives
            meta["gaps"]["note"] = "stored exact derivatives dropped: some samples were interpolated"
            dq = dp = None
        elif dq is not None:
            dq, dp = x[..., n:n + d], x[..., n + d:]
        q, p = x[..., :d], x[..., d:n]
    u, unames = arrays.get("u"), ()
    if u is not None:
        raw = arrays["control_names"]
        if raw.dtype.kind != "U" or raw.ndim != 1:
            raise InputError(f"{where}: control_names must be a 1-D array of strings, got dtype {raw.dtype} and "
                             f"shape {raw.shape}")
        unames = tuple(str(n) for n in raw)
    return q, p, t, coords, meta, dq, dp, u, unames


MISSING_CELLS = frozenset({"", "na", "n/a", "nan", "null", "none", "-"})
"""Cells read as a missing value (NaN) when gaps are accepted (case-insensitive)."""
GAPS_HINT = "or pass gaps='drop' (split there) or gaps='interpolate' (fill short gaps)"


def _read_table(path: Path, *, what: str, example: str, header_example: str, allow_missing: bool = False):
    """A numeric text table: ``(where, header names, rows [N, C], data lines [(line number, text)])``.

    With ``allow_missing`` empty cells and ``NA``/``null``/``-`` read as NaN (a gap), else they are refused.
    """
    where = repr(str(path))
    text = read_text(path, what=what, label=where)
    lines = [(i, line.strip()) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise InputError(f"{where} is empty; expected a header and rows {example}")
    header = lines[0][1].lstrip("%#").replace(",", " ").split()
    if header and all(is_number(c) for c in header):
        raise InputError(f"{where} has no header line (line {lines[0][0]} is numeric); add one such as "
                         f"'{header_example}'")
    data = [(i, line) for i, line in lines[1:] if line[0] not in "#%"]
    if not data:
        raise InputError(f"{where} has a header but no data rows; add rows {example}")
    delimiter = "," if "," in data[0][1] else None
    rows = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = np.loadtxt([line for _, line in data], delimiter=delimiter, ndmin=2, comments=None)
    except ValueError:
        pass
    if rows is None:  # missing cells (if accepted), else locate the fault
        width, parsed = None, []
        for i, line in data:
            cells = [c.strip() for c in line.split(delimiter)]
            for col, cell in enumerate(cells, start=1):
                if not is_number(cell) and not (allow_missing and cell.lower() in MISSING_CELLS):
                    raise InputError(f"{where}, line {i}, column {col}: non-numeric cell {cell!r:.40}; every row after "
                                     "the header must hold numbers only"
                                     + ("; an empty or NA cell is a gap: pass gaps='drop' or gaps='interpolate'"
                                        if cell.lower() in MISSING_CELLS else ""))
            if width is None:
                width = len(cells)
            elif len(cells) != width:
                raise InputError(f"{where}, line {i}: {len(cells)} columns where earlier rows have {width}")
            parsed.append([float(c) if is_number(c) else np.nan for c in cells])
        if not allow_missing:
            raise InputError(f"{where} has non-numeric rows after the header")
        rows = np.array(parsed, dtype=float).reshape(len(parsed), width)
    return where, header, rows, data


def _load_csv(path: Path, q_names, p_names, gaps=None, max_gap=5, min_length=7, u_names=None):
    where, header, rows, data = _read_table(path, what="trajectory CSV (columns trajectory, t, coordinates)",
                                            example="trajectory, t, coordinates", header_example="trajectory,t,q1,p1",
                                            allow_missing=gaps is not None)
    if rows.shape[1] < 3:
        raise InputError(f"{where} needs columns trajectory, t and at least one coordinate; the rows have "
                         f"{rows.shape[1]} column(s)")
    bad = np.argwhere(~np.isfinite(rows) if gaps is None else np.isinf(rows))
    if bad.size:
        r, c = bad[0]
        raise InputError(f"{where} has {len(bad)} non-finite value(s) (NaN or inf), the first on line {data[r][0]} "
                         f"(data row {r + 1}, column {c + 1}); remove or fill those rows"
                         + (f", {GAPS_HINT}" if gaps is None and np.all(~np.isinf(rows)) else ""))
    bad = np.argwhere(~np.isfinite(rows[:, :2]))
    if bad.size:
        r, c = bad[0]
        raise InputError(f"{where}, line {data[r][0]}: no {('trajectory id', 'time')[c]} (a missing value); every row "
                         "needs its trajectory and time: remove that row")
    ncoord = rows.shape[1] - 2
    if len(header) == rows.shape[1]:
        names = header[2:]
    elif len(header) == ncoord:
        names = header
    else:
        raise InputError(f"{where}: the header names {len(header)} columns but the rows have {rows.shape[1]} "
                         f"(trajectory, t and {ncoord} coordinates); give one name per column")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(f"{where}: the header names column {dup!r:.40} twice; column names must be distinct")
    if u_names:
        u_names = list(u_names)
        unknown = [n for n in u_names if n not in names]
        if unknown:
            raise InputError(f"{where} has no columns {unknown}; its columns are {names}")
    if q_names or p_names:
        q_names, p_names = list(q_names or []), list(p_names or [])
        unknown = [n for n in q_names + p_names if n not in names]
        if unknown:
            raise InputError(f"{where} has no columns {unknown}; its coordinates are {names}")
    else:
        q_names = [n for n in names if n.lower().startswith("q")]
        p_names = [n for n in names if n.lower().startswith("p")]
        if u_names is None and q_names:
            u_names = [n for n in names if re.fullmatch(r"[uU]\d*", n)]
        if not q_names and not p_names:
            half = ncoord // 2 if ncoord % 2 == 0 else ncoord
            q_names, p_names = names[:half], names[half:]
    if p_names and len(q_names) != len(p_names):
        raise InputError(f"{where}: {len(q_names)} position columns but {len(p_names)} momentum columns")
    u_names = list(u_names or [])
    overlap = sorted(set(u_names) & set(q_names + p_names))
    if overlap:
        raise InputError(f"{where}: column {overlap[0]!r} is chosen both as a coordinate and as a control")
    if u_names and gaps is not None:
        raise InputError(f"{where} has control columns {u_names}: gap repair is not supported for controlled data; "
                         "remove the gaps")
    col = {n: i + 2 for i, n in enumerate(names)}
    chosen = [col[n] for n in q_names + p_names]
    groups = _group_rows(where, rows)
    lengths = {len(g) for g in groups}
    gap_rows = any(not np.all(np.isfinite(g[:, chosen])) for g in groups)
    if len(lengths) != 1 and gaps is None:
        raise InputError(f"{where}: trajectories have different numbers of rows {sorted(lengths)}; "
                         "split the file or trim trajectories to one length (or cut them into equal windows "
                         "with gaps='drop')")
    metadata = {"system": None, "source": str(path), "source_columns": names, "q_columns": q_names, "p_columns": p_names}
    if gaps is not None and (gap_rows or len(lengths) != 1):
        t, x, report = _repair(where, [(g[:, 1], g[:, chosen]) for g in groups], gaps, max_gap, min_length,
                               q_names + p_names)
        metadata.update(dt=float(np.median(np.diff(t[0]))), gaps=report.to_dict())
        d = len(q_names)
        return x[..., :d], x[..., d:], t, tuple(q_names + p_names), metadata, None, None, None, ()
    data = np.stack(groups)
    pick = lambda ns: data[:, :, [col[n] for n in ns]] if ns else data[:, :, :0]  # noqa: E731
    metadata["dt"] = float(np.median(np.diff(data[0, :, 1]))) if data.shape[1] > 1 else None
    controls = pick(u_names) if u_names else None
    if u_names:
        metadata["u_columns"] = u_names
        bad = np.argwhere(~np.isfinite(controls))
        if bad.size:
            raise InputError(f"{where}: control column {u_names[bad[0][2]]!r} has a missing value in trajectory "
                             f"{bad[0][0]} at time index {bad[0][1]}; every row needs its controls")
    return (pick(q_names), pick(p_names), data[:, :, 1], tuple(q_names + p_names), metadata, None, None, controls,
            tuple(u_names))


def _group_rows(where: str, rows: np.ndarray, *, id_column: int = 0, time_column: int = 1,
                what: str = "trajectory") -> list[np.ndarray]:
    """Rows grouped by an id column (in order of appearance), each group sorted by time; duplicate times refused."""
    ids, first = np.unique(rows[:, id_column], return_index=True)
    groups = [rows[rows[:, id_column] == i] for i in ids[np.argsort(first)]]
    groups = [g[np.argsort(g[:, time_column], kind="stable")] for g in groups]
    for k, g in enumerate(groups):
        same = np.flatnonzero(np.diff(g[:, time_column]) <= 0)
        if same.size:
            raise InputError(f"{where}: {what} {k} (id {g[0, id_column]:g}) has duplicate times at "
                             f"t={g[same[0], time_column]:g}; remove duplicate rows")
    return groups


def _repair(where: str, tracks, gaps: str, max_gap: int, min_length: int, names=None, what="trajectory"):
    """:func:`physlaw.dynamics.repair_gaps` with the file named in its errors."""
    try:
        return repair_gaps(tracks, mode=gaps, max_gap=max_gap, min_length=min_length, column_names=names, what=what)
    except InputError as err:
        raise InputError(f"{where}: {err}") from None


def save_csv(path: str | os.PathLike, dataset: Dataset) -> None:
    """Write a dataset as a trajectory CSV (``trajectory,t,<coordinates>[,<controls>]``) atomically."""
    n, m = dataset.num_trajectories, dataset.num_times
    cols = [np.repeat(np.arange(n), m)[:, None], dataset.t.reshape(-1, 1), dataset.x.reshape(n * m, -1)]
    if dataset.u is not None:
        cols.append(dataset.u.reshape(n * m, -1))
    with atomic_path(path) as tmp:
        np.savetxt(tmp, np.concatenate(cols, axis=1), delimiter=",", comments="",
                   header=",".join(("trajectory", "t") + tuple(dataset.coordinate_names) + tuple(dataset.control_names)))


# --------------------------------------------------------------------------------------------
# many-agent tracks

AGENT_COLUMNS = ("agent", "id", "track", "individual", "animal", "fish")
"""Names (case-insensitive) of the agent column of a long table, in order of preference."""
TIME_COLUMNS = ("t", "time", "frame")
RUN_COLUMNS = ("trajectory", "run", "trial", "record")
_WIDE = re.compile(r"(vx|vy|vz|x|y|z)[_.]?([A-Za-z0-9]+)", re.IGNORECASE)
_DIMS = ("x", "y", "z")


def load_agents(path: str | os.PathLike, *, layout: str = "auto", gaps: str | None = None, max_gap: int = 5,
                min_length: int = 7, stencil: int = 7, order: int | None = 3) -> Dataset:
    """Read many-agent tracks and reduce them to the collective frame (one trajectory per agent).

    Two table layouts (CSV or whitespace-separated, one header line, names case-insensitive):

    * wide: a time column (``t``, ``time`` or ``frame``) and per agent ``x_<id>``, ``y_<id>`` (and
      ``z_<id>``; separators ``_``, ``.`` or none: ``x1``), optionally velocities ``vx_<id>``, ``vy_<id>``;
    * long: an agent column (``agent``, ``id``, ``track``, ``individual``, ``animal`` or ``fish``), a time
      column and ``x``, ``y`` (``z``, ``vx``, ``vy``, ``vz``); a frame where an agent has no row is a gap.

    An optional ``trajectory`` (or ``run``, ``trial``, ``record``) column separates independent
    recordings of the same number of agents. Other columns are ignored. Gaps (missing values) refuse
    the file unless ``gaps`` is ``"drop"`` or ``"interpolate"`` (:func:`physlaw.dynamics.repair_gaps`,
    applied to all agents together: the centroid needs every agent at every kept time).
    The tracks are then reduced by :func:`physlaw.dynamics.agents_dataset`: positions relative to the
    centroid, velocities (recorded, or smoothed differences of the positions with ``stencil`` and
    ``order``) relative to the mean velocity.

    Args:
        path: the table.
        layout: ``"auto"`` (long when an agent column is present), ``"wide"`` or ``"long"``.
        gaps, max_gap, min_length: see :func:`load_dataset`.
        stencil, order: finite differences for velocities from positions.

    Raises:
        InputError: unreadable table, missing time or coordinate columns, inconsistent agents,
            duplicate times, gaps without ``gaps``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"track file {str(path)!r} does not exist; pass a wide (t, x_1, y_1, ...) or long "
                         "(agent, t, x, y) table")
    if layout not in ("auto", "wide", "long"):
        raise InputError(f"layout must be auto, wide or long, got {layout!r}")
    if gaps is not None and gaps not in GAP_MODES:
        raise InputError(f"gaps must be one of {', '.join(GAP_MODES)} (or None to refuse gaps), got {gaps!r}")
    where, header, rows, data = _read_table(
        path, what="many-agent track table (t, x_1, y_1, ... or agent, t, x, y)",
        example="t, x_1, y_1, x_2, y_2, ... (wide) or agent, t, x, y (long)", header_example="t,x_1,y_1,x_2,y_2",
        allow_missing=True)
    if len(header) != rows.shape[1]:
        raise InputError(f"{where}: the header names {len(header)} columns but the rows have {rows.shape[1]}; give "
                         "one name per column")
    lower = [h.lower() for h in header]
    if len(set(lower)) != len(lower):
        dup = next(h for h in lower if lower.count(h) > 1)
        raise InputError(f"{where}: the header names column {dup!r:.40} twice (names are case-insensitive)")
    if np.isinf(rows).any():
        r, c = np.argwhere(np.isinf(rows))[0]
        raise InputError(f"{where}, line {data[r][0]}, column {c + 1}: infinite value; remove or fix that row")
    time_col = next((lower.index(n) for n in TIME_COLUMNS if n in lower), None)
    if time_col is None:
        raise InputError(f"{where} has no time column; name one of its columns {', '.join(TIME_COLUMNS)}")
    run_col = next((lower.index(n) for n in RUN_COLUMNS if n in lower), None)
    agent_col = next((lower.index(n) for n in AGENT_COLUMNS if n in lower), None)
    if layout == "auto":
        layout = "long" if agent_col is not None else "wide"
    for c, what in ((time_col, "time"), (run_col, "trajectory"), (agent_col if layout == "long" else None, "agent")):
        if c is not None and not np.all(np.isfinite(rows[:, c])):
            r = int(np.flatnonzero(~np.isfinite(rows[:, c]))[0])
            raise InputError(f"{where}, line {data[r][0]}: no {what} (a missing value); every row needs its {what}")
    run_ids = rows[:, run_col] if run_col is not None else np.zeros(rows.shape[0])
    ids, first = np.unique(run_ids, return_index=True)
    run_rows = [rows[run_ids == i] for i in ids[np.argsort(first)]]
    if layout == "long":
        tracks, agents, dim, has_v, columns = _long_tracks(where, lower, run_rows, time_col, agent_col)
    else:
        tracks, agents, dim, has_v, columns = _wide_tracks(where, header, lower, run_rows, time_col)
    n_pos = len(agents) * dim
    gap_found = any(not np.all(np.isfinite(x)) for _, x in tracks)
    meta = {"source": str(path), "layout": layout, "agents": agents}
    if gaps is None and gap_found:
        k = next(k for k, (_, x) in enumerate(tracks) if not np.all(np.isfinite(x)))
        t_k, x_k = tracks[k]
        i = int(np.flatnonzero(~np.all(np.isfinite(x_k), axis=1))[0])
        raise InputError(f"{where}: recording {k} misses agent positions at t = {t_k[i]:g} (a NaN, an empty cell or "
                         f"an agent without a row); remove those times, {GAPS_HINT}")
    if gap_found or len({len(t) for t, _ in tracks}) > 1:
        if gaps is None:
            raise InputError(f"{where}: the recordings have different numbers of times "
                             f"{sorted({len(t) for t, _ in tracks})}; cut them into equal windows with gaps='drop'")
        t, x, report = _repair(where, tracks, gaps, max_gap, min_length, columns, what="recording")
        meta["gaps"] = report.to_dict()
    else:
        t, x = np.stack([t for t, _ in tracks]), np.stack([x for _, x in tracks])
    pos = x[..., :n_pos].reshape(*x.shape[:2], len(agents), dim)
    vel = x[..., n_pos:].reshape(pos.shape) if has_v else None
    try:
        return agents_dataset(t, pos, vel, stencil=stencil, order=order, metadata=meta)
    except InputError as err:
        raise InputError(f"{where}: {err}") from None


def _long_tracks(where, lower, run_rows, time_col, agent_col):
    """Per recording ``(t [n], x [n, agents·dim (+ agents·dim velocities)])`` from a long table."""
    dims = [d for d in _DIMS if d in lower]
    if not dims or dims != list(_DIMS[:len(dims)]):
        raise InputError(f"{where}: a long table needs position columns x (y, z); found {dims or 'none'}")
    vdims = [f"v{d}" for d in dims if f"v{d}" in lower]
    has_v = len(vdims) == len(dims)
    cols = [lower.index(d) for d in dims] + ([lower.index(v) for v in vdims] if has_v else [])
    tracks, agents = [], None
    for k, r in enumerate(run_rows):
        a_ids, a_first = np.unique(r[:, agent_col], return_index=True)
        a_ids = a_ids[np.argsort(a_first)]
        if agents is None:
            agents = a_ids
        elif len(a_ids) != len(agents):
            raise InputError(f"{where}: recording {k} has {len(a_ids)} agents, the first has {len(agents)}; every "
                             "recording needs the same number of agents")
        times = np.unique(r[:, time_col])
        x = np.full((times.size, len(a_ids), len(cols)), np.nan)
        ti = np.searchsorted(times, r[:, time_col])
        ai = {a: j for j, a in enumerate(a_ids.tolist())}
        aj = np.array([ai[a] for a in r[:, agent_col].tolist()])
        key = ti * len(a_ids) + aj
        if np.unique(key).size != key.size:
            _, idx, cnt = np.unique(key, return_index=True, return_counts=True)
            bad = idx[cnt > 1][0]
            raise InputError(f"{where}: agent {r[bad, agent_col]:g} has two rows at t = {r[bad, time_col]:g}; remove "
                             "duplicate rows")
        x[ti, aj] = r[:, cols]
        d = len(dims)
        pos, vel = x[..., :d].reshape(times.size, -1), x[..., d:].reshape(times.size, -1)
        tracks.append((times, np.concatenate([pos, vel], axis=1) if has_v else pos))
    labels = [f"{a:g}" for a in agents]
    columns = [f"{d} of agent {a}" for a in labels for d in dims] + ([f"{v} of agent {a}" for a in labels for v in vdims]
                                                                   if has_v else [])
    return tracks, labels, len(dims), has_v, columns


def _wide_tracks(where, header, lower, run_rows, time_col):
    """Per recording ``(t [n], x [n, agents·dim (+ velocities)])`` from a wide table."""
    found: dict = {}
    for c, name in enumerate(header):
        m = _WIDE.fullmatch(name)
        if m and c != time_col:
            found.setdefault(m.group(2), {})[m.group(1).lower()] = c
    agents = [a for a, cols in found.items() if "x" in cols]
    if len(agents) < 2:
        raise InputError(f"{where}: a wide table needs position columns x_<agent>, y_<agent> for at least 2 agents "
                         f"(found {len(agents)}); for a long table name an agent column ({', '.join(AGENT_COLUMNS)})")
    dims = [d for d in _DIMS if d in found[agents[0]]]
    vdims = [f"v{d}" for d in dims]
    has_v = all(v in found[agents[0]] for v in vdims)
    for a in agents:
        have = [d for d in _DIMS if d in found[a]]
        if have != dims or all(v in found[a] for v in vdims) != has_v:
            raise InputError(f"{where}: agent {a!r:.20} has columns {sorted(found[a])}, agent {agents[0]!r:.20} has "
                             f"{sorted(found[agents[0]])}; give every agent the same coordinates")
    pos_cols = [found[a][d] for a in agents for d in dims]
    vel_cols = [found[a][v] for a in agents for v in vdims] if has_v else []
    tracks = []
    for k, r in enumerate(run_rows):
        r = r[np.argsort(r[:, time_col], kind="stable")]
        same = np.flatnonzero(np.diff(r[:, time_col]) <= 0)
        if same.size:
            raise InputError(f"{where}: recording {k} has duplicate times at t={r[same[0], time_col]:g}; remove "
                             "duplicate rows")
        tracks.append((r[:, time_col], r[:, pos_cols + vel_cols]))
    return tracks, agents, len(dims), has_v, [header[c] for c in pos_cols + vel_cols]
