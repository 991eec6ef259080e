"""``physlaw spectrum`` as a user runs it: outputs on the bundled example, and clear errors on bad input."""

import json
import re
import math
import subprocess
import sys
from importlib import resources

import pytest

from physlaw.cli import main

FAST = ["--samples", "500", "--replicas", "16", "--chains", "2", "--quiet"]


def example():
    return str(resources.files("physlaw") / "data" / "spectrum_example.csv")


def test_spectrum_on_bundled_example_writes_everything(tmp_path):
    out = tmp_path / "out"
    code = main(["spectrum", example(), "--sigma", "0.05", "--kmax", "3", "--background", "constant",
                 "--shape", "gauss", "--sign", "positive", "--out", str(out), "--seed", "2", *FAST])
    assert code == 0
    s = json.loads((out / "summary.json").read_text())
    assert [m["num_peaks"] for m in s["models"]] == [1, 2, 3]
    for m in s["models"]:
        for field in ("free_energy", "free_energy_err", "probability"):
            assert isinstance(m[field], float)
        # draws are kept for the models the data do not reject (p ≥ 1e-3), not for K = 1
        kept = m["probability"] >= 1e-3 or m["name"] == s["selected"]
        assert (m["posterior_file"] is not None and (out / m["posterior_file"]).exists()) == kept
    assert s["models"][0]["posterior_file"] is None
    assert math.isclose(sum(m["probability"] for m in s["models"]), 1.0, rel_tol=1e-9)
    assert s["selected"] == "K2-gauss-constant"
    assert s["noise_sigma"] == 0.05
    sel = next(m for m in s["models"] if m["name"] == s["selected"])
    # the example was made with centres 533.0 and 541.5 (ordered labels), FWHM 3 and 4, background 0.3
    for k, (centre, fwhm) in enumerate(((533.0, 3.0), (541.5, 4.0))):
        p = sel["parameters"][f"peak {k + 1}"]
        assert p["centre"]["interval_95"][0] < centre < p["centre"]["interval_95"][1]
        assert p["fwhm"]["interval_95"][0] < fwhm < p["fwhm"]["interval_95"][1]
    bg = sel["parameters"]["background"]["background_level"]
    assert bg["interval_95"][0] < 0.30 < bg["interval_95"][1]
    for fig in ("fit.png", "free_energy.png", "marginals.png"):
        assert (out / fig).stat().st_size > 1000
    page = (out / "report.html").read_text()
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)  # base64 may spell "http" by chance
    assert page.count("data:image/png;base64,") >= 3 and "http" not in text.replace("http-equiv", "")
    assert "p(K | D)" in page
    assert not (out / ".checkpoints").exists()
    import arviz as az

    idata = az.from_netcdf(out / sel["posterior_file"])
    assert {"mu", "log_a", "log_b", "bg_c"} <= set(idata.posterior.data_vars)


BAD = {
    "missing": (None, [], "no such file"),
    "text cell": ("x,y\n1,2\n2,abc\n3,4\n4,5\n5,6\n", ["--sigma", "0.1"], "line 3, column 2: 'abc' is not a number"),
    "too few": ("1 2\n2 3\n3 4\n", ["--sigma", "0.1"], "at least 5"),
    "bad column": ("x,y\n1,2\n2,3\n3,4\n4,5\n5,6\n", ["--y", "counts"], "counts"),
    "bad prior": ("1 2\n2 3\n3 4\n4 5\n5 6\n", ["--sigma", "0.1", "--prior", "PRIOR"], "unknown prior [peaks]"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_one_line_exit_2(case, tmp_path, capsys):
    text, extra, message = BAD[case]
    path = tmp_path / "bad.txt"
    if text is not None:
        path.write_text(text)
    prior = tmp_path / "p.toml"
    prior.write_text("[peaks]\nx = 1\n")
    extra = [str(prior) if e == "PRIOR" else e for e in extra]
    out = tmp_path / "out"
    assert main(["spectrum", str(path), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_bad_option_is_refused_by_the_command_line():
    proc = subprocess.run([sys.executable, "-m", "physlaw.cli", "spectrum", example(), "--shape", "square",
                           "--out", "x"], capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr and "Traceback" not in proc.stderr


def _write_spectrum(path, mu, amp, seed, sigma=0.05, n=101, third_column=False):
    import numpy as np

    x = np.linspace(10.0, 16.0, n)
    y = amp * np.exp(-0.5 * (x - mu) ** 2 / 0.3**2) + np.random.default_rng(seed).normal(0.0, sigma, n)
    cols = (x, y, np.full(n, sigma)) if third_column else (x, y)
    np.savetxt(path, np.column_stack(cols), delimiter=",", header="x,y" + (",sigma" if third_column else ""),
               comments="")
    return str(path)


def test_joint_run_of_two_files_sharing_centres(tmp_path):
    f1 = _write_spectrum(tmp_path / "a.csv", 13.0, 1.0, 1, third_column=True)
    f2 = _write_spectrum(tmp_path / "b.csv", 13.0, 0.6, 2, sigma=0.08, third_column=True)
    out = tmp_path / "out"
    # K = 1 only, to keep the test short (the library tests and the K scan share the code path)
    assert main(["spectrum", f1, f2, "--share", "mu", "--kmax", "1", "--out", str(out), "--seed", "1", *FAST]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert [m["num_peaks"] for m in s["models"]] == [1]
    for m in s["models"]:
        for field in ("free_energy", "free_energy_err", "probability"):
            assert isinstance(m[field], float)
        assert (out / m["posterior_file"]).exists()
    assert math.isclose(sum(m["probability"] for m in s["models"]), 1.0, rel_tol=1e-9)
    assert s["selected"] == "K1-gauss-none-joint" and s["noise_sigma"] == pytest.approx([0.05, 0.08])
    integ = s["integration"]
    assert integ["verdict"] == "consistent" and integ["shared"] == ["mu"]
    assert integ["delta_free_energy"] < 0 and integ["noise_sigma"] == pytest.approx([0.05, 0.08])
    assert math.isclose(integ["delta_free_energy"], integ["free_energy_joint"] - integ["free_energy_independent"])
    sel = next(m for m in s["models"] if m["name"] == s["selected"])
    for d in (1, 2):
        c = sel["parameters"][f"dataset {d} / peak 1"]["centre"]
        assert c["interval_95"][0] < 13.0 < c["interval_95"][1]
    for fig in ("fit_1.png", "fit_2.png", "free_energy.png", "marginals.png"):
        assert (out / fig).stat().st_size > 1000
    page = (out / "report.html").read_text()
    assert "ΔF" in page and page.count("data:image/png;base64,") >= 4


SHARE_BAD = {
    "share one file": (1, ["--share", "mu"], "--share needs several FILEs"),
    "bad name": (2, ["--share", "mu,centre"], "cannot share centre"),
    "all shapes": (2, ["--share", "mu", "--shape", "all"], "choose one"),
}


@pytest.mark.parametrize("case", list(SHARE_BAD))
def test_share_errors_one_line_exit_2(case, tmp_path, capsys):
    nfiles, extra, message = SHARE_BAD[case]
    files = [_write_spectrum(tmp_path / f"{i}.csv", 13.0, 1.0, i) for i in range(nfiles)]
    out = tmp_path / "out"
    assert main(["spectrum", *files, "--sigma", "0.05", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
