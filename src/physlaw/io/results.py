"""Where a command's results go: checked before computing, locked while running, published whole.

A results folder (``--out DIR``) is never mixed and never half-written:

1. **Checked before any computation** (:meth:`OutputFolder.check`): ``DIR`` must not be a file, the
   nearest existing folder above it must be a writable folder, and an existing non-empty ``DIR``
   must be one that physlaw wrote (it holds ``.physlaw-result``) — any other folder is refused
   unless the user says ``--overwrite``.
2. **Locked while running**: a lock file ``.DIR.lock`` beside ``DIR`` (an OS-level ``flock``,
   released by the kernel if the process dies); a second run on the same ``DIR`` is refused at once.
3. **Published whole**: the files are written into a staging folder ``.DIR.partial-*`` beside
   ``DIR``; on success the old ``DIR`` (if any) is moved aside and the staging folder renamed into
   place, so ``DIR`` holds exactly the files of one run. On failure the staging folder is removed and
   ``DIR`` is untouched.

Checkpoints of a long run live beside ``DIR`` in ``.DIR.checkpoints/`` so that ``--resume`` finds
them after an interruption; they are removed when the run succeeds or is refused.

A single output file (``--out FILE``) is checked the same way by :func:`check_output_file` and
written atomically by :func:`physlaw.io.atomic.atomic_path`.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

from physlaw.errors import InputError

MARKER = ".physlaw-result"


def _nearest_existing(path: Path) -> Path:
    for parent in [path, *path.parents]:
        if os.path.lexists(parent):
            return parent
    return Path(".")


def _check_parent(path: Path, flag: str, what: str) -> None:
    """The nearest existing folder above ``path`` must be a writable folder."""
    above = _nearest_existing(path.parent if path.parent != path else path)
    if not above.is_dir():
        raise InputError(f"{flag} {path}: {above} is a file, not a folder; choose {what} in a folder")
    if not os.access(above, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {path}: cannot write in {above} (permission denied); choose {what} in a "
                         "folder you can write to")


def check_output_file(path: str | os.PathLike, *, flag: str = "--out", suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse an output file path that cannot be written, before any computation.

    Args:
        path: the file to write (it may exist: it is then replaced atomically).
        flag: how the user gave it, for the message.
        suffixes: allowed suffixes (e.g. ``(".npz", ".csv")``); empty: any.

    Raises:
        InputError: the path is a folder, lies under a file, in a folder that cannot be written, or has
            the wrong suffix.
    """
    path = Path(path)
    if str(path) == "" or path.name in ("", ".", ".."):
        raise InputError(f"{flag} {str(path)!r} is not a file name; give a path such as result.json")
    if path.is_dir():
        raise InputError(f"{flag} {path} is a folder; give a file name (e.g. {path / ('out' + (suffixes or ('.json',))[0])})")
    if suffixes and path.suffix.lower() not in suffixes:
        raise InputError(f"{flag} {path}: the file must end in {' or '.join(suffixes)}")
    _check_parent(path, flag, "a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{flag} {path} exists and is read-only; choose another file name")
    return path


class OutputFolder:
    """A command's results folder: check, lock, stage, publish (see the module docstring).

    Example:
        >>> out = OutputFolder("result", command="regress")  # doctest: +SKIP
        >>> with out as stage:                                # checks and locks; refuses at once if busy
        ...     result = compute(checkpoints=out.checkpoint_dir)
        ...     (stage / "summary.json").write_text("{}")     # published as a whole on success

    Args:
        path: the folder.
        command: the subcommand, recorded in the marker file.
        overwrite: replace an existing non-empty folder that physlaw did not write.
        resume: keep the checkpoints of an interrupted run (``--resume``).
        flag: how the user named the folder, for messages.
    """

    def __init__(self, path: str | os.PathLike, *, command: str, overwrite: bool = False, resume: bool = False,
                 flag: str = "--out"):
        self.path = Path(path)
        self.command = command
        self.overwrite = overwrite
        self.resume = resume
        self.flag = flag
        self.stage: Path | None = None
        self._lock_fd: int | None = None
        self._created: list[Path] = []
        self._had_checkpoints = False

    # -- names beside the folder ---------------------------------------------------------------
    @property
    def _parent(self) -> Path:
        return self.path.absolute().parent

    @property
    def lock_path(self) -> Path:
        return self._parent / f".{self.path.absolute().name}.lock"

    @property
    def checkpoint_dir(self) -> Path:
        """``.DIR.checkpoints`` beside the folder (created by whoever writes a checkpoint)."""
        return self._parent / f".{self.path.absolute().name}.checkpoints"

    # -- 1. checks ---------------------------------------------------------------------------------
    def check(self) -> None:
        """Refuse a folder that cannot or must not be written; cheap, call it before any computation."""
        path, flag = self.path, self.flag
        if str(path) == "" or self.path.absolute().name in ("", ".", ".."):
            raise InputError(f"{flag} {str(path)!r} does not name a folder; give a new folder name such as result/")
        if os.path.lexists(path) and not path.is_dir():
            raise InputError(f"{flag} {path} exists and is a file, not a folder; choose a folder name or remove the file")
        if path.is_symlink():
            raise InputError(f"{flag} {path} is a symbolic link; give the real folder")
        _check_parent(path, flag, "a folder")
        if path.is_dir():
            try:
                entries = list(os.scandir(path))
            except OSError as err:
                raise InputError(f"{flag} {path} cannot be read ({err.strerror}); choose another folder") from None
            if entries and not (path / MARKER).is_file() and not self.overwrite:
                raise InputError(f"{flag} {path} is a non-empty folder that physlaw did not write; choose a new "
                                 "folder, or add --overwrite to replace its contents with this run's results")

    # -- 2. lock and stage ---------------------------------------------------------------------------
    def __enter__(self) -> Path:
        self.check()
        self._make_parents()
        try:
            self._lock()
            self._had_checkpoints = self.checkpoint_dir.exists()
            if self._had_checkpoints and not self.resume:
                shutil.rmtree(self.checkpoint_dir)  # a fresh run never continues an old one
                self._had_checkpoints = False
            name = self.path.absolute().name
            self.stage = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=self._parent))
            os.chmod(self.stage, 0o777 & ~_umask())
        except PermissionError as err:
            self._cleanup(keep_checkpoints=True)
            raise InputError(f"{self.flag} {self.path}: cannot write beside it ({err.strerror}); choose a folder you "
                             "can write to") from None
        except BaseException:
            self._cleanup(keep_checkpoints=True)
            raise
        return self.stage

    def _make_parents(self) -> None:
        missing = []
        for parent in self._parent_chain():
            if os.path.lexists(parent):
                break
            missing.append(parent)
        for parent in reversed(missing):
            try:
                parent.mkdir()
            except OSError as err:
                self._remove_created()
                raise InputError(f"{self.flag} {self.path}: cannot create {parent} ({err.strerror})") from None
            self._created.append(parent)

    def _parent_chain(self):
        p = self._parent
        return [p, *p.parents]

    def _lock(self) -> None:
        import fcntl

        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                os.close(fd)
                if err.errno in (errno.EAGAIN, errno.EACCES):
                    raise InputError(f"{self.flag} {self.path} is in use by another physlaw run (lock "
                                     f"{self.lock_path.name}); wait for it to finish or choose another folder") from None
                raise
            # the file may have been removed by the run that held it just before we locked it
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.lock_path))
            except FileNotFoundError:
                same = False
            if same:
                self._lock_fd = fd
                return
            os.close(fd)

    # -- 3. publish ------------------------------------------------------------------------------------
    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self._publish()
            except BaseException:
                self._cleanup(keep_checkpoints=True)
                raise
            self._cleanup(keep_checkpoints=False)
        else:
            # a refusal (bad input) leaves nothing behind; an interruption or a crash keeps the
            # checkpoints so that --resume continues
            refused = issubclass(exc_type, InputError)
            self._cleanup(keep_checkpoints=not refused or self._had_checkpoints)
        return False

    def _publish(self) -> None:
        stage = self.stage
        marker = {"command": self.command, "written": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                  "files": sorted(p.name for p in stage.iterdir())}
        (stage / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
        old = None
        if os.path.lexists(self.path):
            old = Path(tempfile.mkdtemp(prefix=f".{self.path.absolute().name}.old-", dir=self._parent))
            os.replace(self.path, old / "previous")
        try:
            os.replace(stage, self.path)
        except BaseException:
            if old is not None:  # put the previous results back
                os.replace(old / "previous", self.path)
                shutil.rmtree(old, ignore_errors=True)
            raise
        self.stage = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _cleanup(self, *, keep_checkpoints: bool) -> None:
        if self.stage is not None:
            shutil.rmtree(self.stage, ignore_errors=True)
            self.stage = None
        if not keep_checkpoints:
            shutil.rmtree(self.checkpoint_dir, ignore_errors=True)
        if self._lock_fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.lock_path)
            os.close(self._lock_fd)
            self._lock_fd = None
        if not os.path.lexists(self.path) and not self.checkpoint_dir.exists():
            self._remove_created()

    def _remove_created(self) -> None:
        for parent in reversed(self._created):  # innermost first
            with contextlib.suppress(OSError):
                parent.rmdir()
        self._created = []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
