"""Trained-network files: Equinox leaf serialisation plus a JSON config (never pickle)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import equinox as eqx
import jax

from physlaw.errors import InputError
from physlaw.io.atomic import atomic_path, write_json
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


def load_model(directory: str | os.PathLike, *, name: str = "model", config_file: str = CONFIG_FILE):
    """Rebuild a model saved by :func:`save_model`; returns ``(model, config)``.

    Raises:
        InputError: if the directory lacks the files or they do not match.
    """
    directory = Path(directory)
    cfg_path, leaves = directory / config_file, directory / f"{name}.eqx"
    if not cfg_path.is_file() or not leaves.is_file():
        raise InputError(f"{str(directory)!r} is not a trained-model directory (needs {config_file} and {name}.eqx); "
                         "create one with physlaw train")
    try:
        config = json.loads(cfg_path.read_text())
        skeleton = make_model(config["model"], key=jax.random.key(0))
        model = eqx.tree_deserialise_leaves(leaves, skeleton)
    except (KeyError, ValueError, RuntimeError) as err:
        raise InputError(f"cannot load the model in {str(directory)!r}: {err}") from None
    return model, config
