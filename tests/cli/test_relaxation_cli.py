"""``physlaw relaxation`` and the measurement part of ``physlaw demo`` on the bundled examples."""

import json
import subprocess
import sys

from physlaw.cli import main


def test_demo_relaxation_example_gives_two_exponential_modes(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "physlaw.cli", "demo", "--examples", "relaxation",
                           "--out", str(tmp_path), "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "verdict: two exponential modes, T1 = " in proc.stdout
    s = json.loads((tmp_path / "relaxation" / "summary.json").read_text())
    assert s["selected"] == "K2-exponential"
    assert {(m["num_components"], m["stretched"]) for m in s["models"]} == {(1, False), (1, True), (2, False), (2, True)}
    for m in s["models"]:
        assert {"free_energy", "free_energy_err", "probability", "posterior_file"} <= set(m)
    sel = next(m for m in s["models"] if m["name"] == s["selected"])
    # the example was made with T1 = 0.8 ms and 40 ms, sigma 0.015 (modes ordered fastest first)
    for k, t1 in enumerate((0.8, 40.0)):
        lo, hi = sel["parameters"][f"mode {k + 1}"]["T1"]["interval_95"]
        assert lo < t1 < hi
    assert abs(s["noise_sigma"] / 0.015 - 1) < 0.25
    assert (tmp_path / "relaxation" / "report.html").stat().st_size > 10000


def test_relaxation_bad_times_one_line(tmp_path, capsys):
    path = tmp_path / "neg.csv"
    path.write_text("t,m\n-1,1\n0,0.5\n1,0.2\n2,0.1\n3,0.05\n")
    assert main(["relaxation", str(path), "--sigma", "0.1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "relaxation times must be ≥ 0" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
