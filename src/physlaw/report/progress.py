"""A progress bar on stderr for long computations (``physlaw.sampling.Progress``).

The core reports progress through an object it is handed (``run(..., progress=...)``,
``fit(..., progress=...)``); this one draws it with tqdm. One ``ProgressBar`` serves a whole pipeline:
each run or training ``start``s its own bar and ``close``s it.

Example:
    >>> from physlaw.report.progress import ProgressBar
    >>> res = run(key, target, progress=ProgressBar())  # doctest: +SKIP
"""

from __future__ import annotations

import sys


class ProgressBar:
    """A tqdm bar on stderr.

    Args:
        enabled: draw the bar; default (None): only when stderr is a terminal.
        unit: the name of one unit of progress (``"sweep"``, ``"step"``).
        file: the stream (default ``sys.stderr``).
    """

    def __init__(self, enabled: bool | None = None, *, unit: str = "it", file=None):
        self.file = sys.stderr if file is None else file
        self.enabled = bool(self.file.isatty()) if enabled is None else bool(enabled)
        self.unit = unit
        self._bar = None

    def start(self, total: int, desc: str) -> None:
        self.close()
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc=desc, unit=self.unit, file=self.file, leave=False)

    def update(self, n: int, desc: str | None = None) -> None:
        if self._bar is None:
            return
        if desc is not None:
            self._bar.set_description(desc, refresh=False)
        self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
