"""Trajectory files: ``.npz`` (plain arrays plus JSON metadata) and trajectory CSV tables.

Every file a user gives may be hostile: arrays are loaded without pickle, shapes, values and
coordinate names are checked, and each problem is an ``InputError`` that names the file and says
how to fix it.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np

from physlaw.dynamics import Dataset
from physlaw.errors import InputError
from physlaw.io.atomic import atomic_path
from physlaw.io.tables import is_number, read_text



def save_dataset(path: str | os.PathLike, dataset: Dataset) -> None:
    """Write a dataset to ``.npz`` atomically (plain arrays, metadata as a JSON string).

    Keys: ``q``, ``p``, ``t``, ``coordinate_names``, ``metadata`` (JSON) and, when known,
    ``dq``, ``dp``. Readable with ``numpy.load(path, allow_pickle=False)``.
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
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


MAX_NPZ_BYTES = 1 << 32
"""Largest total uncompressed size of the arrays in a trajectory ``.npz`` (4 GiB)."""
_NPZ_ARRAYS = ("q", "p", "t", "coordinate_names", "metadata", "dq", "dp")


def load_dataset(path: str | os.PathLike, *, q: list[str] | None = None, p: list[str] | None = None,
                 names: list[str] | None = None) -> Dataset:
    """Read a dataset from ``.npz`` (written by :func:`save_dataset`) or a trajectory CSV.

    CSV format: a header line (it may start with ``%`` or ``#``), then numeric rows separated by
    commas or whitespace, UTF-8 (a byte-order mark is ignored). Columns: ``trajectory``, ``t``, then
    the coordinates; names starting with ``q`` are positions, with ``p`` momenta. ``q``/``p`` name
    other columns as positions and momenta. If no column starts with q or p, an even number of
    coordinates is split into positions then momenta (the Schmidt–Lipson files: trial, t, θ, ω,
    header ``%o v``), an odd number are all positions; other columns are ignored. Rows are grouped
    by the trajectory column (in order of appearance) and each trajectory is sorted by t; every
    trajectory must have the same number of rows and no time twice.

    Coordinate names must be plain names (see :func:`physlaw.dynamics.check_coordinate_names`);
    ``names`` replaces them (positions then momenta) before that check, so a file with unusable
    names can still be read.

    Args:
        path: ``.npz`` file or text file.
        q, p: optional column names to use as positions / momenta (CSV only).
        names: optional new coordinate names, one per chosen coordinate.

    Raises:
        InputError: missing, binary or oversized file, unreadable content, inconsistent shapes or
            columns, non-finite values, duplicate times, unusable coordinate names.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data file {str(path)!r} does not exist; pass the path of a .npz or trajectory CSV file")
    q_, p_, t, coords, meta, dq, dp = _load_npz(path) if path.suffix == ".npz" else _load_csv(path, q, p)
    if names is not None:
        if len(names) != len(coords):
            raise InputError(f"{len(names)} names given for {len(coords)} coordinates ({', '.join(coords)}) of "
                             f"{str(path)!r}; give one name per coordinate, positions first")
        coords = tuple(names)
    try:
        return Dataset(q_, p_, t, coords, meta, dq, dp)
    except InputError as err:
        raise InputError(f"{str(path)!r}: {err}") from None


def _load_npz(path: Path):
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
    for k in ("q", "p", "t", "dq", "dp"):
        if k not in arrays:
            continue
        a = arrays[k]
        if a.dtype.kind not in "iuf":
            raise InputError(f"{where}: array {k!r} has dtype {a.dtype}; expected real numbers (float or int)")
        arrays[k] = a = a.astype(np.float64)
        bad = np.argwhere(~np.isfinite(a))
        if bad.size:
            raise InputError(f"{where}: array {k!r} has {len(bad)} non-finite value(s) (NaN or inf), the first at index "
                             f"{tuple(int(i) for i in bad[0])}; remove or fill those samples")
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
    return q, p, t, coords, meta, arrays.get("dq"), arrays.get("dp")


def _load_csv(path: Path, q_names, p_names):
    where = repr(str(path))
    text = read_text(path, what="trajectory CSV (columns trajectory, t, coordinates)", label=where)
    lines = [(i, line.strip()) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise InputError(f"{where} is empty; expected a header and rows trajectory, t, coordinates")
    header = lines[0][1].lstrip("%#").replace(",", " ").split()
    if header and all(is_number(c) for c in header):
        raise InputError(f"{where} has no header line (line {lines[0][0]} is numeric); add one such as "
                         "'trajectory,t,q1,p1'")
    data = [(i, line) for i, line in lines[1:] if line[0] not in "#%"]
    if not data:
        raise InputError(f"{where} has a header but no data rows; add rows trajectory, t, coordinates")
    delimiter = "," if "," in data[0][1] else None
    rows = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = np.loadtxt([line for _, line in data], delimiter=delimiter, ndmin=2, comments=None)
    except ValueError:
        pass
    if rows is None:  # locate the fault
        width = None
        for i, line in data:
            cells = [c.strip() for c in line.split(delimiter)]
            for col, cell in enumerate(cells, start=1):
                if not is_number(cell):
                    raise InputError(f"{where}, line {i}, column {col}: non-numeric cell {cell!r:.40}; every row after "
                                     "the header must hold numbers only")
            if width is None:
                width = len(cells)
            elif len(cells) != width:
                raise InputError(f"{where}, line {i}: {len(cells)} columns where earlier rows have {width}")
        raise InputError(f"{where} has non-numeric rows after the header")
    if rows.shape[1] < 3:
        raise InputError(f"{where} needs columns trajectory, t and at least one coordinate; the rows have "
                         f"{rows.shape[1]} column(s)")
    bad = np.argwhere(~np.isfinite(rows))
    if bad.size:
        r, c = bad[0]
        raise InputError(f"{where} has {len(bad)} non-finite value(s) (NaN or inf), the first on line {data[r][0]} "
                         f"(data row {r + 1}, column {c + 1}); remove or fill those rows")
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
    if q_names or p_names:
        q_names, p_names = list(q_names or []), list(p_names or [])
        unknown = [n for n in q_names + p_names if n not in names]
        if unknown:
            raise InputError(f"{where} has no columns {unknown}; its coordinates are {names}")
    else:
        q_names = [n for n in names if n.lower().startswith("q")]
        p_names = [n for n in names if n.lower().startswith("p")]
        if not q_names and not p_names:
            half = ncoord // 2 if ncoord % 2 == 0 else ncoord
            q_names, p_names = names[:half], names[half:]
    if p_names and len(q_names) != len(p_names):
        raise InputError(f"{where}: {len(q_names)} position columns but {len(p_names)} momentum columns")
    col = {n: i + 2 for i, n in enumerate(names)}
    ids, first = np.unique(rows[:, 0], return_index=True)
    groups = [rows[rows[:, 0] == i] for i in ids[np.argsort(first)]]
    lengths = {len(g) for g in groups}
    if len(lengths) != 1:
        raise InputError(f"{where}: trajectories have different numbers of rows {sorted(lengths)}; "
                         "split the file or trim trajectories to one length")
    groups = [g[np.argsort(g[:, 1], kind="stable")] for g in groups]
    for k, g in enumerate(groups):
        same = np.flatnonzero(np.diff(g[:, 1]) <= 0)
        if same.size:
            raise InputError(f"{where}: trajectory {k} (id {g[0, 0]:g}) has duplicate times at t={g[same[0], 1]:g}; "
                             "remove duplicate rows")
    data = np.stack(groups)
    pick = lambda ns: data[:, :, [col[n] for n in ns]] if ns else data[:, :, :0]  # noqa: E731
    metadata = {"system": None, "source": str(path), "source_columns": names, "q_columns": q_names, "p_columns": p_names,
                "dt": float(np.median(np.diff(data[0, :, 1]))) if data.shape[1] > 1 else None}
    return pick(q_names), pick(p_names), data[:, :, 1], tuple(q_names + p_names), metadata, None, None


def save_csv(path: str | os.PathLike, dataset: Dataset) -> None:
    """Write a dataset as a trajectory CSV (``trajectory,t,<coordinates>``) atomically."""
    n, m = dataset.num_trajectories, dataset.num_times
    cols = [np.repeat(np.arange(n), m)[:, None], dataset.t.reshape(-1, 1), dataset.x.reshape(n * m, -1)]
    with atomic_path(path) as tmp:
        np.savetxt(tmp, np.concatenate(cols, axis=1), delimiter=",", comments="",
                   header=",".join(("trajectory", "t") + tuple(dataset.coordinate_names)))
