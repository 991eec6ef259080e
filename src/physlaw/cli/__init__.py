"""The ``physlaw`` command: one subcommand per module in this package.

Each subcommand module defines ``register(subparsers)`` which adds its parser and sets
``func`` to a callable taking the parsed arguments and returning an exit code. The modules are
thin: they validate arguments, call one library function and write results through ``physlaw.io``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from physlaw.errors import InputError

# Subcommand modules, in the order ``physlaw --help`` lists them.
SUBCOMMANDS = ["demo", "regress", "spectrum", "relaxation", "fit", "simulate", "train", "evaluate", "compare", "control", "conserve"]


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2 (no usage block).

    Subcommand parsers inherit the class, so every ``physlaw COMMAND`` behaves alike; ``--help``
    still prints the full usage.
    """

    def error(self, message: str):
        print(f"{self.prog}: error: {message}; see '{self.prog} --help'", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="physlaw",
        description=(
            "physlaw turns physical data into physical laws: Bayesian measurement with exchange "
            "Monte Carlo (posteriors, noise level and model selection by the Bayesian free energy), "
            "and conservation laws read out of networks trained on dynamics."
        ),
    )
    from physlaw import __version__

    parser.add_argument("--version", action="version", version=f"physlaw {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"physlaw.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except InputError as err:
        return _fail(args.command, str(err))
    except KeyboardInterrupt:
        print(f"physlaw {args.command}: interrupted; a checkpointed run resumes with --resume", file=sys.stderr)
        return 130
    except MemoryError:
        return _fail(args.command, "the data or the requested sizes do not fit in memory; use fewer points, "
                                   "trajectories, samples or replicas")
    except OSError as err:  # a file system problem (permissions, a full disk) is the user's to fix
        where = f" {err.filename}" if getattr(err, "filename", None) else ""
        return _fail(args.command, f"cannot read or write{where}: {err.strerror or err}; check the path and its "
                                   "permissions")
    except Exception as err:  # noqa: BLE001 — a bug must still be one line; PHYSLAW_DEBUG=1 shows the traceback
        if os.environ.get("PHYSLAW_DEBUG"):
            raise
        return _fail(args.command, f"internal error ({type(err).__name__}: {err}); please report it with the "
                                   "command line (PHYSLAW_DEBUG=1 shows the traceback)", code=1)


def _fail(command: str, message: str, code: int = 2) -> int:
    """One line on stderr: what went wrong, where, and how to fix it."""
    text = " ".join(message.split())  # never more than one line, whatever the message holds
    print(f"physlaw {command}: error: {text}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
