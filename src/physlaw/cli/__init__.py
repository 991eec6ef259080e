"""The ``physlaw`` command: one subcommand per module in this package.

Each subcommand module defines ``register(subparsers)`` which adds its parser and sets
``func`` to a callable taking the parsed arguments and returning an exit code. The modules are
thin: they validate arguments, call one library function and write results through ``physlaw.io``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from physlaw.errors import InputError

# Subcommand modules, in the order ``physlaw --help`` lists them.
SUBCOMMANDS = ["demo", "regress", "spectrum", "relaxation", "simulate", "train", "evaluate", "conserve"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
        print(f"physlaw {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"physlaw {args.command}: interrupted; a checkpointed run resumes with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
