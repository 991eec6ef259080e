"""``physlaw regress`` and ``physlaw demo`` as a user runs them: outputs, and clear errors on bad input."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from physlaw.cli import main
from physlaw.measure.linear import exact_linear

FAST = ["--samples", "1500", "--replicas", "16", "--chains", "4", "--quiet"]


def write(path, text):
    path.write_text(text)
    return path


@pytest.fixture
def data_file(tmp_path):
    rng = np.random.default_rng(7)
    x = np.linspace(0, 5, 30)
    y = 1.3 * x + 0.8 + rng.normal(0, 0.2, x.size)
    lines = ["x,y"] + [f"{a},{b}" for a, b in zip(x, y)]
    return write(tmp_path / "data.csv", "\n".join(lines) + "\n"), x, y


def test_regress_writes_summary_samples_and_figures(data_file, tmp_path):
    path, x, y = data_file
    out = tmp_path / "out"
    assert main(["regress", str(path), "--sigma", "0.2", "--model", "ax,ax+b", "--out", str(out), "--seed", "1",
                 *FAST]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["selected"] == "ax+b"
    assert summary["noise_sigma"] == 0.2
    names = [m["name"] for m in summary["models"]]
    assert names == ["ax", "ax+b"]
    probs = [m["probability"] for m in summary["models"]]
    assert math.isclose(sum(probs), 1.0, rel_tol=1e-9)
    for m in summary["models"]:
        exact = exact_linear(x, y, 0.2, m["name"], prior_scale=np.array(m["prior_scales"])).free_energy
        assert abs(m["free_energy"] - exact) <= 4 * m["free_energy_err"] + 0.02
        a = m["parameters"]["coefficients"]["a"]
        assert a["interval_95"][0] <= a["interval_68"][0] <= a["median"] <= a["interval_68"][1] <= a["interval_95"][1]
        assert "swap_rate_per_pair" in m["diagnostics"] and "rhat" in m["diagnostics"]
        if m["probability"] >= 1e-3 or m["name"] == summary["selected"]:
            assert (out / m["posterior_file"]).exists()
        else:   # a model the data reject keeps its summary, not a file of draws
            assert m["posterior_file"] is None and not (out / "posterior_ax.nc").exists()
    assert summary["command"] == "regress" and summary["verdict"].startswith("y = a x + b (ax+b) selected")
    for fig in ("fit.png", "free_energy.png", "marginals.png", "report.html"):
        assert (out / fig).stat().st_size > 1000
    assert not (out / ".checkpoints").exists()
    import arviz as az

    idata = az.from_netcdf(out / "posterior_ax_plus_b.nc")
    assert set(idata.posterior.data_vars) == {"a", "b"}
    assert idata.posterior["a"].shape[0] == 4


def test_regress_estimates_noise_by_default(data_file, tmp_path):
    """No sigma column and no noise option: the noise is estimated (no refusal), as F(σ)'s minimum."""
    path, x, y = data_file
    out = tmp_path / "noise"
    assert main(["regress", str(path), "--model", "ax+b", "--out", str(out), *FAST]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["noise"].startswith("estimated")
    scales = np.array(summary["models"][0]["prior_scales"])
    sigmas = np.geomspace(0.05, 1.0, 4000)
    exact_hat = sigmas[np.argmin([exact_linear(x, y, s, "ax+b", prior_scale=scales).free_energy for s in sigmas])]
    assert abs(summary["noise_sigma"] / exact_hat - 1) < 0.03
    assert (out / "noise.png").exists()
    assert len(summary["models"][0]["noise_curve"]["sigma"]) > 5


BAD = {
    "missing": (None, "no such file"),
    "text cell": ("x,y\n1,2\n2,abc\n3,4\n", "line 3, column 2: 'abc' is not a number"),
    "nan": ("1 2\n2 nan\n3 4\n", "not a finite number"),
    "inf": ("1 2\n2 inf\n3 4\n", "not a finite number"),
    "too few": ("1 2\n2 3\n", "at least 3"),
    "one column": ("1\n2\n3\n", "need at least 2"),
    "bad sigma": ("1 2 0.1\n2 3 0\n3 4 0.1\n", "must be positive"),
    "negative sigma": ("1 2 0.1\n2 3 -1\n3 4 0.1\n", "must be positive"),
    "ragged": ("1 2\n2 3 4\n3 4\n", "columns where earlier lines have"),
    "bad model": ("1 2\n2 3\n3 4\n4 5\n", "unknown regression model 'poly9'"),
    "too many coefficients": ("1 2\n2 3\n3 5\n", "cannot fit poly3"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_gives_one_clear_line_and_exit_2(case, tmp_path):
    text, message = BAD[case]
    path = tmp_path / "bad.txt"
    if text is not None:
        path.write_text(text)
    out = tmp_path / "out"
    extra = ["--sigma", "0.1"] if "sigma" not in case else []
    extra += {"bad model": ["--model", "poly9"], "too many coefficients": ["--model", "poly3"]}.get(case, [])
    proc = subprocess.run(
        [sys.executable, "-m", "physlaw.cli", "regress", str(path), "--out", str(out), *extra],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists(), "no output may be written on bad input"


def test_bad_option_values_exit_2(data_file, tmp_path):
    path, _, _ = data_file
    proc = subprocess.run([sys.executable, "-m", "physlaw.cli", "regress", str(path), "--sigma", "-1",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2 and "positive" in proc.stderr and "Traceback" not in proc.stderr


def test_help_explains():
    proc = subprocess.run([sys.executable, "-m", "physlaw.cli", "regress", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for word in ("--estimate-noise", "--prior-scale", "Normal(0, S^2)", "free energy"):
        assert word in proc.stdout


def test_demo_runs_on_bundled_data(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "physlaw.cli", "demo", "--out", str(out), "--quiet", "--examples", "regress"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "selected model: y = a x + b" in proc.stdout
    summary = json.loads((out / "regress" / "summary.json").read_text())
    assert summary["selected"] == "ax+b"
    # the bundled data were made with σ = 0.05, a = 0.47, b = 0.15
    sel = summary["models"][1]
    assert 0.02 < summary["noise_sigma"] < 0.08
    a = sel["parameters"]["coefficients"]["a"]
    assert a["interval_95"][0] < 0.47 < a["interval_95"][1]
