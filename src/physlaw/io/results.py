"""A results folder written all-or-nothing: files go to a staging folder, then move into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


class ResultFolder:
    """Stage result files and publish them together.

    Example:
        >>> with ResultFolder("out") as stage:  # doctest: +SKIP
        ...     (stage / "summary.json").write_text("{}")

    On an exception nothing is published and the staging folder is removed.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stage = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.partial-", dir=self.path.parent))
        return self.stage

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.path.mkdir(parents=True, exist_ok=True)
                for item in self.stage.iterdir():
                    os.replace(item, self.path / item.name)
        finally:
            shutil.rmtree(self.stage, ignore_errors=True)
        return False
