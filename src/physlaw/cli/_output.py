"""The ``--out`` options every writing subcommand shares, and the folder they lead to (``io.results``)."""

from __future__ import annotations

from physlaw.io.results import OutputFolder

OUT_FOLDER_HELP = (
    "output folder. It is checked before any computation and written whole when the run succeeds: an "
    "earlier physlaw result in DIR is replaced as a whole (no stale files remain), a non-empty folder "
    "that physlaw did not write is refused unless --overwrite, and a second run on DIR while one is "
    "running is refused (lock file .DIR.lock beside it)"
)


def add_output_folder(parser, *, resume: bool = True, default: str | None = None) -> None:
    """``--out DIR`` and ``--overwrite`` (plus ``--resume`` for checkpointed commands)."""
    if default is None:
        parser.add_argument("--out", required=True, metavar="DIR", help=OUT_FOLDER_HELP)
    else:
        parser.add_argument("--out", default=default, metavar="DIR", help=OUT_FOLDER_HELP)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace DIR even if it is a non-empty folder that physlaw did not write")
    if resume:
        parser.add_argument("--resume", action="store_true",
                            help="continue an interrupted run from its checkpoints (kept in .DIR.checkpoints "
                                 "beside DIR until the run succeeds)")


def output_folder(args, command: str) -> OutputFolder:
    """The checked (not yet locked) output folder of a run; ``with`` it to lock and stage."""
    folder = OutputFolder(args.out, command=command, overwrite=getattr(args, "overwrite", False),
                          resume=getattr(args, "resume", False))
    folder.check()
    return folder
