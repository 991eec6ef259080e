"""Trajectory files: ``.npz`` (plain arrays plus JSON metadata) and trajectory CSV tables.

Every file a user gives may be hostile: arrays are loaded without pickle, shapes, values and
coordinate names are checked, and each problem is an ``InputError`` that names the file and says
how to fix it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from physlaw.dynamics import Dataset
from physlaw.errors import InputError
from physlaw.io.atomic import atomic_path



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


def load_dataset(path: str | os.PathLike, *, q: list[str] | None = None, p: list[str] | None = None) -> Dataset:
    """Read a dataset from ``.npz`` (written by :func:`save_dataset`) or a trajectory CSV.

    CSV format: a header line (it may start with ``%`` or ``#``), then numeric rows separated by
    commas or whitespace. Columns: ``trajectory``, ``t``, then the coordinates; names starting
    with ``q`` are positions, with ``p`` momenta. ``q``/``p`` name other columns as positions and
    momenta. If no column starts with q or p, an even number of coordinates is split into
    positions then momenta (the Schmidt–Lipson files: trial, t, θ, ω, header ``%o v``), an odd
    number are all positions; other columns are ignored. Rows are grouped by the trajectory column (in order of appearance)
    and each trajectory is sorted by t; every trajectory must have the same number of rows.

    Args:
        path: ``.npz`` file or text file.
        q, p: optional column names to use as positions / momenta (CSV only).

    Raises:
        InputError: missing file, unreadable content, inconsistent columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data file {str(path)!r} does not exist; pass the path of a .npz or trajectory CSV file")
    if path.suffix == ".npz":
        return _load_npz(path)
    return _load_csv(path, q, p)


def _load_npz(path: Path) -> Dataset:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as err:  # noqa: BLE001 — any unreadable file is the user's to fix
        raise InputError(f"cannot read {str(path)!r} as .npz: {err}") from None
    missing = {"q", "p", "t", "coordinate_names"} - set(arrays)
    if missing:
        raise InputError(f"{str(path)!r} lacks the arrays {sorted(missing)}; write it with physlaw simulate or save_dataset")
    meta = json.loads(str(arrays["metadata"])) if "metadata" in arrays else {}
    return Dataset(
        arrays["q"], arrays["p"], arrays["t"], tuple(str(n) for n in arrays["coordinate_names"]), meta,
        arrays.get("dq"), arrays.get("dp"),
    )


def _load_csv(path: Path, q_names, p_names) -> Dataset:
    text = path.read_text().splitlines()
    if not text:
        raise InputError(f"{str(path)!r} is empty; expected a header and rows trajectory, t, coordinates")
    header = text[0].lstrip("%#").replace(",", " ").split()
    try:
        rows = np.loadtxt(path, delimiter="," if "," in text[min(1, len(text) - 1)] else None, skiprows=1, ndmin=2)
    except ValueError as err:
        raise InputError(f"{str(path)!r} has non-numeric rows after the header: {err}") from None
    if rows.shape[0] == 0 or rows.shape[1] < 3:
        raise InputError(f"{str(path)!r} needs columns trajectory, t and at least one coordinate; got {rows.shape[1]} columns")
    bad = np.argwhere(~np.isfinite(rows))
    if bad.size:
        r, c = bad[0]
        raise InputError(f"{str(path)!r} has {len(bad)} non-finite value(s) (NaN or inf), the first at data row {r + 1}, "
                         f"column {c + 1}; remove or fill those rows")
    ncoord = rows.shape[1] - 2
    if len(header) == rows.shape[1]:
        names = header[2:]
    elif len(header) == ncoord:
        names = header
    else:
        raise InputError(f"{str(path)!r}: header names {len(header)} columns but the rows have {rows.shape[1]}")
    if q_names or p_names:
        q_names, p_names = list(q_names or []), list(p_names or [])
        unknown = [n for n in q_names + p_names if n not in names]
        if unknown:
            raise InputError(f"{str(path)!r} has no columns {unknown}; its coordinates are {names}")
    else:
        q_names = [n for n in names if n.lower().startswith("q")]
        p_names = [n for n in names if n.lower().startswith("p")]
        if not q_names and not p_names:
            half = ncoord // 2 if ncoord % 2 == 0 else ncoord
            q_names, p_names = names[:half], names[half:]
    if p_names and len(q_names) != len(p_names):
        raise InputError(f"{str(path)!r}: {len(q_names)} position columns but {len(p_names)} momentum columns")
    col = {n: i + 2 for i, n in enumerate(names)}
    ids, first = np.unique(rows[:, 0], return_index=True)
    groups = [rows[rows[:, 0] == i] for i in ids[np.argsort(first)]]
    lengths = {len(g) for g in groups}
    if len(lengths) != 1:
        raise InputError(f"{str(path)!r}: trajectories have different numbers of rows {sorted(lengths)}; "
                         "split the file or trim trajectories to one length")
    groups = [g[np.argsort(g[:, 1], kind="stable")] for g in groups]
    data = np.stack(groups)
    pick = lambda ns: data[:, :, [col[n] for n in ns]] if ns else data[:, :, :0]  # noqa: E731
    metadata = {"system": None, "source": str(path), "source_columns": names, "q_columns": q_names, "p_columns": p_names,
                "dt": float(np.median(np.diff(data[0, :, 1]))) if data.shape[1] > 1 else None}
    return Dataset(pick(q_names), pick(p_names), data[:, :, 1], tuple(q_names + p_names), metadata)


def save_csv(path: str | os.PathLike, dataset: Dataset) -> None:
    """Write a dataset as a trajectory CSV (``trajectory,t,<coordinates>``) atomically."""
    n, m = dataset.num_trajectories, dataset.num_times
    cols = [np.repeat(np.arange(n), m)[:, None], dataset.t.reshape(-1, 1), dataset.x.reshape(n * m, -1)]
    with atomic_path(path) as tmp:
        np.savetxt(tmp, np.concatenate(cols, axis=1), delimiter=",", comments="",
                   header=",".join(("trajectory", "t") + tuple(dataset.coordinate_names)))
