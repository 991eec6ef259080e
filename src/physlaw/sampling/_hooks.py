"""The driver's hooks: where a run keeps its checkpoint and how it reports progress.

The core never touches disk or the terminal; a caller that wants either passes an object with
these methods (``typing.Protocol``: any class with the methods fits, no subclassing needed).
``physlaw.io.checkpoints.CheckpointFile`` keeps the checkpoint in a ``.npz`` file and
``physlaw.report.progress.ProgressBar`` draws a progress bar on stderr.
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import numpy as np

from physlaw.errors import InputError


@runtime_checkable
class Checkpoint(Protocol):
    """Where a run's state is kept between chunks, so that an interrupted run can resume.

    ``fingerprint`` identifies the run (model structure, data, key and settings); a store must not
    hand back a state saved under another fingerprint (raise an error saying so instead).
    """

    def load(self, fingerprint: str) -> tuple[dict, dict[str, np.ndarray]] | None:
        """The ``(meta, arrays)`` last saved for this run, or None when there is nothing to resume."""

    def save(self, fingerprint: str, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        """Keep ``meta`` (JSON-ready) and ``arrays`` (NumPy arrays) for this run, replacing earlier ones."""


CheckpointFactory = Callable[[str], Checkpoint]
"""``name -> Checkpoint``: one checkpoint per run of a pipeline of several runs (e.g. one per model)."""


@runtime_checkable
class Progress(Protocol):
    """Receives a long computation's progress (sweeps of a run, steps of a training)."""

    def start(self, total: int, desc: str) -> None:
        """A computation of ``total`` units begins (``desc`` says which)."""

    def update(self, n: int, desc: str | None = None) -> None:
        """``n`` more units are done; ``desc``, if given, says what is running now."""

    def close(self) -> None:
        """The computation ended (normally or not)."""


class _Silent:
    def start(self, total, desc):
        pass

    def update(self, n, desc=None):
        pass

    def close(self):
        pass


def as_progress(progress) -> Progress:
    """``progress`` checked: ``None`` (or ``False``) becomes a silent receiver; anything else must fit ``Progress``."""
    if progress is None or progress is False:
        return _Silent()
    if not all(callable(getattr(progress, m, None)) for m in ("start", "update", "close")):
        raise InputError(
            "progress must be None (silent) or an object with start(total, desc), update(n, desc) and close() "
            f"(e.g. physlaw.report.progress.ProgressBar()), got {progress!r}")
    return progress
