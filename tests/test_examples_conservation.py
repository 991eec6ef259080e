"""The four ``examples/conservation_*.py`` scripts (Mototake 2021's results) run end to end at toy size.

``--quick`` trains the autoencoder for a few hundred steps and samples briefly: the point is that each
script runs, prints its summary and writes ``summary.json`` (the numbers themselves are meaningless at
that size; the full runs are in ``benchmarks/results/conservation.md``). About 25–70 s each on 2 shared cores.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


# sphere and couzin run only with -m slow: each is a subprocess that compiles everything afresh (~60 s of CPU on
# 2 shared cores); free_particle and kepler exercise the same example machinery in the default suite.
@pytest.mark.parametrize("name", [pytest.param("sphere", marks=pytest.mark.slow), "free_particle", "kepler",
                                  pytest.param("couzin", marks=pytest.mark.slow)])
def test_conservation_example_quick(name, tmp_path):
    script = EXAMPLES / f"conservation_{name}.py"
    proc = subprocess.run([sys.executable, str(script), "--quick", "--seed", "0", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "timings (s)" in proc.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["name"] == name
    assert isinstance(summary["count"], int)
    assert len(summary["cos_to_truth"]) == len(summary["generators"])
