"""``physlaw relaxation`` and the measurement part of ``physlaw demo`` on the bundled examples."""

import json
import subprocess
import sys

import numpy as np

from physlaw.cli import main


def test_demo_relaxation_example_gives_two_exponential_modes(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "physlaw.cli", "demo", "--examples", "relaxation",
                           "--out", str(tmp_path), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "verdict: two exponential modes, T1 = " in proc.stdout and "saturation recovery" in proc.stdout
    s = json.loads((tmp_path / "relaxation" / "summary.json").read_text())
    assert s["selected"] == "K2-exponential-saturation"
    # auto: a rising curve starting at 0, so a saturation recovery, each mode exponential or stretched; K grows
    # past the selected 2 until F has risen twice (no edge warning)
    runs = {(m["num_components"], m["stretched"], m["experiment"]) for m in s["models"]}
    assert {(k, st, "saturation") for k in (1, 2, 3) for st in (False, True)} <= runs
    assert {m["experiment"] for m in s["models"]} == {"saturation"}
    assert not any("lower bound, not an answer" in w for w in s["warnings"])
    for m in s["models"]:
        assert {"free_energy", "free_energy_err", "probability", "posterior_file"} <= set(m)
    sel = next(m for m in s["models"] if m["name"] == s["selected"])
    # the example was made with T1 = 0.8 ms and 40 ms, sigma 0.015 (modes ordered fastest first)
    for k, t1 in enumerate((0.8, 40.0)):
        lo, hi = sel["parameters"][f"mode {k + 1}"]["T1"]["interval_95"]
        assert lo < t1 < hi
    assert abs(s["noise_sigma"] / 0.015 - 1) < 0.25
    assert (tmp_path / "relaxation" / "report.html").stat().st_size > 10000


def test_relaxation_t2_label_and_noise_estimated_without_options(tmp_path, capsys):
    rng = np.random.default_rng(0)
    t = np.geomspace(1e-3, 0.05, 25)
    m = 0.3 * np.exp(-t / 0.004) + 0.02 + rng.normal(0, 0.003, t.size)
    path = tmp_path / "cpmg.csv"
    path.write_text("\n".join(f"{a},{b}" for a, b in zip(t, m)) + "\n")
    out = tmp_path / "o"
    assert main(["relaxation", str(path), "--quantity", "T2", "--kmax", "1", "--shapes", "exponential",
                 "--precision", "0.15", "--replicas", "12", "--chains", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "verdict: one exponential, T2 = " in text and "(estimated)" in text
    s = json.loads((out / "summary.json").read_text())
    diag = s["models"][0]["diagnostics"]   # --precision without --samples: at least 500 sweeps, until 0.15 nat
    assert diag["precision"] == 0.15 and diag["num_sweeps_kept"] >= 500
    assert diag["precision_met"] == (diag["precision_reached"] <= 0.15)
    mode = s["models"][0]["parameters"]["mode 1"]
    assert "T2" in mode and abs(mode["T2"]["median"] - 0.004) < 4 * mode["T2"]["sd"]


def test_relaxation_bad_times_one_line(tmp_path, capsys):
    path = tmp_path / "neg.csv"
    path.write_text("t,m\n-1,1\n0,0.5\n1,0.2\n2,0.1\n3,0.05\n")
    assert main(["relaxation", str(path), "--sigma", "0.1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "relaxation times must be ≥ 0" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_relaxation_bad_experiment_exit_2(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("t,m\n1,1\n2,0.5\n3,0.2\n4,0.1\n5,0.05\n")
    proc = subprocess.run([sys.executable, "-m", "physlaw.cli", "relaxation", str(path), "--experiment", "echo",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice: 'echo'" in proc.stderr


def test_run_length_defaults():
    """Neither option: from 500 sweeps to 0.1 nat; --samples alone: exactly that many; --precision alone:
    from 500; --precision 0: a fixed 2000 (or --samples)."""
    from types import SimpleNamespace

    from physlaw.cli._common import resolve_length

    for given, want in (({}, (500, 0.1)), ({"samples": 300}, (300, None)), ({"precision": 0.05}, (500, 0.05)),
                        ({"precision": 0.0}, (2000, None)), ({"samples": 300, "precision": 0.2}, (300, 0.2)),
                        ({"samples": 300, "precision": 0.0}, (300, None))):
        args = SimpleNamespace(**{"samples": None, "precision": None, **given})
        resolve_length(args)
        assert (args.samples, args.precision) == want, given
