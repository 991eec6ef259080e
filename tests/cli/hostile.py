"""Shared checks for the hostile-input tests: a refused run is one line on stderr, exit code 2,
no traceback, no marker file, and the output path untouched (absent, or byte-for-byte as before)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from physlaw.cli import main


def snapshot(path: Path) -> dict | None:
    """Every file under ``path`` with its hash (``None`` when ``path`` does not exist)."""
    path = Path(path)
    if not path.exists():
        return None
    if path.is_file():
        return {".": hashlib.sha256(path.read_bytes()).hexdigest()}
    out = {}
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = Path(root) / name
            rel = str(full.relative_to(path))
            out[rel] = hashlib.sha256(full.read_bytes()).hexdigest() if full.is_file() else "<dir>"
    return out


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run ``physlaw ARGV`` in-process; returns ``(exit code, stdout, stderr)``."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse exits
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return int(code or 0), captured.out, captured.err


def assert_refused(argv, capsys, *, out: Path | None = None, marker: Path | None = None, match: str | None = None):
    """``physlaw ARGV`` refuses: exit 2, exactly one stderr line, no traceback, no marker, ``out`` untouched.

    Returns the stderr line so a test can check its wording further.
    """
    before = snapshot(out) if out is not None else None
    siblings = sorted(p.name for p in Path(out).parent.iterdir()) if out is not None and Path(out).parent.exists() else None
    code, _, err = run_cli(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, f"exit code {code}, stderr: {err!r}"
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}: {err!r}"
    assert "Traceback" not in err
    assert lines[0].startswith("physlaw"), lines[0]
    if match is not None:
        assert match.lower() in lines[0].lower(), f"{match!r} not in {lines[0]!r}"
    if marker is not None:
        assert not Path(marker).exists(), f"{marker} was created: code ran from the data"
    if out is not None:
        assert snapshot(out) == before, f"{out} changed although the run was refused"
        if siblings is not None:
            after = sorted(p.name for p in Path(out).parent.iterdir())
            assert after == siblings, f"the refused run left {set(after) - set(siblings)} beside {out}"
    return lines[0]
