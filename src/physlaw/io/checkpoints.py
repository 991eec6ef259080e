"""Checkpoints of exchange Monte Carlo runs as ``.npz`` files (``physlaw.sampling.Checkpoint``).

``CheckpointFile(path)`` keeps one run's state in one file, written atomically (a killed write
leaves the previous checkpoint intact) and read without pickles. ``CheckpointFolder(dir)`` hands
out one ``CheckpointFile`` per run name, for the pipelines that run several models (``regress``,
``deconvolve``, ``analyse_relaxation``, ``integrate``: their ``checkpoints=`` argument).

Example:
    >>> import jax
    >>> from physlaw.io.checkpoints import CheckpointFile
    >>> from physlaw.sampling import run
    >>> res = run(jax.random.key(0), target, checkpoint=CheckpointFile("run.ckpt.npz"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from physlaw.errors import InputError
from physlaw.io.atomic import atomic_path


class CheckpointFile:
    """A run's checkpoint in one ``.npz`` file: the arrays plus a JSON ``meta`` entry with the fingerprint.

    Args:
        path: the file (created with its folder on the first save; resumed from when it exists).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"CheckpointFile({str(self.path)!r})"

    def load(self, fingerprint: str) -> tuple[dict, dict[str, np.ndarray]] | None:
        """The saved ``(meta, arrays)``, or None when the file does not exist.

        Raises:
            InputError: the file cannot be read, or it belongs to another run.
        """
        if not self.path.exists():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as f:
                data = {k: f[k] for k in f.files}
            meta = json.loads(str(data.pop("meta")))
        except Exception as err:  # a corrupt file is a user-facing problem, not a crash
            raise InputError(f"checkpoint {self.path} cannot be read ({err}); delete it to start afresh") from None
        if not isinstance(meta, dict) or meta.get("fingerprint") != fingerprint:
            raise InputError(
                f"checkpoint {self.path} belongs to a different run (other model, data, seed or settings); "
                "delete it or choose another checkpoint path"
            )
        return meta, data

    def save(self, fingerprint: str, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        """Replace the file with ``meta`` (plus the fingerprint) and ``arrays``, atomically."""
        meta = dict(meta, fingerprint=fingerprint)
        with atomic_path(self.path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)


class CheckpointFolder:
    """One ``CheckpointFile`` per run name in a folder: ``folder(name)`` is ``DIR/<name>.ckpt.npz``.

    Names are made safe for file names (``+`` becomes ``_plus_``, path separators ``_``).

    Args:
        folder: the folder (created on the first save).
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"CheckpointFolder({str(self.folder)!r})"

    def __call__(self, name: str) -> CheckpointFile:
        safe = str(name).replace("+", "_plus_").replace("/", "_").replace(os.sep, "_")
        return CheckpointFile(self.folder / f"{safe}.ckpt.npz")
