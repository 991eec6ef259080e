import importlib.util

import jax
import pytest


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run ``physlaw`` in-process with this issue's subcommands; returns ``(code, stdout, stderr)``."""
    import physlaw.cli as cli_module

    present = [s for s in cli_module.SUBCOMMANDS if importlib.util.find_spec(f"physlaw.cli.{s}") is not None]
    monkeypatch.setattr(cli_module, "SUBCOMMANDS", present)

    def run(*argv):
        try:
            code = cli_module.main([str(a) for a in argv])
        except SystemExit as exc:  # argparse errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run
