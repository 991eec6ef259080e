"""Trained-network files: Equinox leaf serialisation plus a JSON config (never pickle)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import equinox as eqx
import jax
import numpy as np

from physlaw.dynamics import check_coordinate_names
from physlaw.errors import InputError
from physlaw.io.atomic import atomic_path, write_json
from physlaw.io.tables import read_text
from physlaw.nets import make_model

MODEL_FILE = "model.eqx"
CONFIG_FILE = "config.json"


def save_model(directory: str | os.PathLike, model, config: dict, *, name: str = "model",
               config_file: str = CONFIG_FILE) -> None:
    """Write ``<name>.eqx`` (``eqx.tree_serialise_leaves``) and ``config_file`` into ``directory``.

    ``config["model"]`` must be the :func:`make_model` config that rebuilds the model's
    structure; other keys (training settings, data metadata, metrics) are kept for the record.
    Both files are written atomically.
    """
    directory = Path(directory)
    with atomic_path(directory / f"{name}.eqx") as tmp:
        eqx.tree_serialise_leaves(tmp, model)
    write_json(directory / config_file, config)


MAX_CONFIG_BYTES = 16 << 20
"""Largest network config JSON read (16 MiB: configs hold settings and a training history)."""


def load_model(directory: str | os.PathLike, *, name: str = "model", config_file: str = CONFIG_FILE):
    """Rebuild a model saved by :func:`save_model`; returns ``(model, config)``.

    The config is checked before anything is built: a JSON object whose ``"model"`` is a
    :func:`make_model` config of plain values, a network whose parameters fit in the leaves file
    (checked on shapes alone, so a config asking for a huge network allocates nothing), and
    coordinate names (``coordinate_names``, ``data_metadata.q_columns``/``p_columns``) that pass
    :func:`physlaw.dynamics.check_coordinate_names`.

    Raises:
        InputError: if the directory lacks the files or they do not match.
    """
    directory = Path(directory)
    cfg_path, leaves = directory / config_file, directory / f"{name}.eqx"
    where = repr(str(directory))
    if not cfg_path.is_file() or not leaves.is_file():
        raise InputError(f"{where} is not a trained-model directory (needs {config_file} and {name}.eqx); "
                         "create one with physlaw train")
    text = read_text(cfg_path, what="network config (JSON)", label=repr(str(cfg_path)), max_bytes=MAX_CONFIG_BYTES)
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise InputError(f"{str(cfg_path)!r} is not valid JSON ({str(err)[:120]}); retrain with physlaw train") from None
    _check_config(config, cfg_path)
    try:
        shapes = eqx.filter_eval_shape(make_model, config["model"], key=jax.random.key(0))
    except InputError as err:
        raise InputError(f"{str(cfg_path)!r}: {err}") from None
    except (KeyError, ValueError, TypeError) as err:
        raise InputError(f"{str(cfg_path)!r}: bad model config ({str(err)[:120]}); retrain with physlaw train") from None
    need = sum(int(np.prod(x.shape)) * x.dtype.itemsize for x in jax.tree_util.tree_leaves(shapes)
               if hasattr(x, "shape"))
    if need > 2 * leaves.stat().st_size + (1 << 20):
        raise InputError(f"{str(cfg_path)!r} describes a network of {need / 2**20:.1f} MiB of parameters but "
                         f"{name}.eqx holds {leaves.stat().st_size / 2**20:.1f} MiB; the files do not belong together")
    try:
        skeleton = make_model(config["model"], key=jax.random.key(0))
        model = eqx.tree_deserialise_leaves(leaves, skeleton)
    except (KeyError, ValueError, RuntimeError, TypeError) as err:
        raise InputError(f"cannot load the model in {where}: {str(err)[:200]}") from None
    return model, config


def _check_config(config, cfg_path: Path) -> None:
    """A JSON object with a ``"model"`` object of plain settings, and valid coordinate names if it names any."""
    where = repr(str(cfg_path))
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise InputError(f"{where} must be a JSON object with a \"model\" object (the network settings); "
                         "retrain with physlaw train")
    model = config["model"]
    for key, value in model.items():
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            raise InputError(f"{where}: model setting {key!r:.40} is a {type(value).__name__}; settings are plain "
                             "numbers, strings or booleans")
    dim = model.get("dim")
    if not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= 10_000:
        raise InputError(f"{where}: model dim must be an integer between 1 and 10000, got {dim!r:.40}")
    meta = config.get("data_metadata")
    groups = [("coordinate_names", config.get("coordinate_names"))]
    if isinstance(meta, dict):
        groups += [(f"data_metadata.{k}", meta.get(k)) for k in ("coordinate_names", "q_columns", "p_columns")]
    for label, names in groups:
        if names is None:
            continue
        if not isinstance(names, list):
            raise InputError(f"{where}: {label} must be a list of names, got {type(names).__name__}")
        try:
            check_coordinate_names(names)
        except InputError as err:
            raise InputError(f"{where}: {label}: {err}") from None


def load_training_data(path: str | os.PathLike, *, q=None, p=None, window: int | None = None, u=None):
    """A dataset for the networks: :func:`physlaw.io.load_dataset`, and trajectories of unequal length cut
    into windows of one length (``Dataset`` arrays are rectangular ``[trajectory, time, d]``).

    A CSV whose trajectories have different numbers of rows (the filmed double pendulum
    ``Real_dp.txt``: trials of 701 and 819 rows) is refused by ``load_dataset``; here each trajectory,
    sorted by ``t``, is cut into consecutive windows of ``window`` rows (default: the shortest
    trajectory's length), the rows left over at the end of a trajectory are dropped, and every window
    becomes a trajectory. ``metadata["windows"]`` records the source trajectory and first row of each
    window and the number of rows dropped. With ``window`` given, equal-length files are cut too.

    Raises:
        InputError: as ``load_dataset``; or a window longer than every trajectory, or shorter than 3 rows.
    """
    import dataclasses
    import tempfile

    from physlaw.io.tables import read_table
    from physlaw.io.trajectories import load_dataset

    path = Path(path)
    if window is None:
        try:
            return load_dataset(path, q=q, p=p, u=u)
        except InputError as err:
            if "different numbers of rows" not in str(err):
                raise
    if path.suffix == ".npz":
        raise InputError(f"{str(path)!r}: --window applies to trajectory CSV files, not .npz")
    table, header = read_table(path, min_columns=3, max_columns=10_000, what="trajectory CSV (trajectory, t, coordinates)")
    if header is None:
        raise InputError(f"{str(path)!r} has no header line; add one such as 'trajectory,t,q1,p1'")
    header = [h.lstrip("%#") for h in header if h.lstrip("%#")]
    ids, first = np.unique(table[:, 0], return_index=True)
    groups = [table[table[:, 0] == i] for i in ids[np.argsort(first)]]
    groups = [g[np.argsort(g[:, 1], kind="stable")] for g in groups]
    lengths = [len(g) for g in groups]
    window = int(window or min(lengths))
    if window < 3 or window > max(lengths):
        raise InputError(f"{str(path)!r}: window of {window} rows, but the trajectories have {sorted(set(lengths))} rows; "
                         "choose --window from 3 to the longest trajectory")
    rows, where, dropped = [], [], 0
    for k, g in enumerate(groups):
        n = len(g) // window
        dropped += len(g) - n * window
        for j in range(n):
            w = g[j * window:(j + 1) * window].copy()
            w[:, 0] = len(where)
            rows.append(w)
            where.append({"trajectory": k, "id": float(g[0, 0]), "first_row": j * window})
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "windows.csv"
        np.savetxt(csv, np.concatenate(rows), delimiter=",", header=",".join(header), comments="")
        data = load_dataset(csv, q=q, p=p, u=u)
    meta = {**data.metadata, "source": str(path),
            "windows": {"length": window, "num_windows": len(where), "rows_dropped": int(dropped), "from": where}}
    return dataclasses.replace(data, metadata=meta)
