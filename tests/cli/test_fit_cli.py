"""``physlaw fit``: a user model from MODEL.toml end to end, and one-line refusals (exit 2) of bad models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cli.hostile import assert_refused, run_cli

REAL_VMS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "xps" / "survey_0-150W.vms"

MODEL = '''
x = "t"
y = "m"
order = "T"
[component]
formula = "A * exp(-(t / T)**beta)"
priors = { A = "uniform(0, 2)", T = "loguniform(1e-3, 1e3)", beta = "uniform(0.2, 1)" }
[background]
formula = "C"
priors = { C = "normal(0, 1)" }
[noise]
sigma = 0.01
'''


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(1)
    t = np.geomspace(0.01, 100, 30)
    m = np.exp(-((t / 2.0) ** 0.6)) + 0.1 + 0.01 * rng.normal(size=t.size)
    data = tmp_path / "se.csv"
    np.savetxt(data, np.c_[t, m], delimiter=",", header="t,m", comments="")
    model = tmp_path / "model.toml"
    model.write_text(MODEL)
    return data, model


def _figure_takes_plot_style() -> bool:
    import inspect

    from physlaw.plot.spectrum import fit_figure

    return "invert_x" in inspect.signature(fit_figure).parameters


def test_fit_writes_a_result_folder(files, tmp_path, capsys):
    if not _figure_takes_plot_style():
        pytest.xfail("report.measurement.write_measurement passes plot_style['invert_x'] to plot.spectrum.fit_figure, "
                     "which does not take it yet (the lead's writer change)")
    data, model = files
    out = tmp_path / "out"
    code, stdout, err = run_cli(["fit", data, "--model", model, "--kmax", "1", "--samples", "200", "--replicas", "8",
                                 "--chains", "2", "--out", out], capsys)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["selected"] == "K1" and summary["model"]["component"].startswith("A * exp")
    beta = summary["models"][0]["parameters"]["component 1"]["beta"]
    assert beta["interval_95"][0] < 0.6 < beta["interval_95"][1]
    assert (out / "report.html").exists() and (out / "fit.png").exists()
    assert "verdict: one component" in stdout


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace('"A * exp(-(t / T)**beta)"', '"__import__(\'os\').system(\'touch MARK\')"'), "'__import__'"),
    (lambda t: t.replace('"A * exp(-(t / T)**beta)"', '"A.__class__"'), "'.' at position 2"),
    (lambda t: t.replace('"A * exp(-(t / T)**beta)"', '"A * exp(-t / Q)"'), "'Q' at position 14: unknown name"),
    (lambda t: t.replace('"loguniform(1e-3, 1e3)"', '"loguniform(0, 1e3)"'), "loguniform needs 0 < low"),
    (lambda t: t.replace('"normal(0, 1)"', '"normal(0, 1e999)"'), "not a finite number"),
    (lambda t: t.replace('"normal(0, 1)"', '"eval(1)"'), "unknown distribution"),
    (lambda t: t.replace("sigma = 0.01", "sigma = -1"), "sigma must be a positive"),
    (lambda t: t.replace("sigma = 0.01", 'likelihood = "binomial"'), "likelihood must be"),
    (lambda t: t + "\nextra = 1\n", "unknown key 'extra'"),
    (lambda t: t.replace('order = "T"', 'order = "Z"'), "order = 'Z' is not a component parameter"),
    (lambda t: "x = [", "not valid TOML"),
    (lambda t: t.replace('y = "m"', 'y = "velocity"'), "'velocity' is not a column"),
    (lambda t: t.replace("sigma = 0.01", 'sigma = 0.01\nlikelihood = "poisson"'), "both sigma and likelihood"),
])
def test_bad_models_are_one_line_and_exit_2(files, tmp_path, capsys, edit, match, monkeypatch):
    data, model = files
    monkeypatch.chdir(tmp_path)
    model.write_text(edit(MODEL))
    out = tmp_path / "out"
    assert_refused(["fit", data, "--model", model, "--out", out], capsys, out=out, marker=tmp_path / "MARK",
                   match=match)


@pytest.mark.parametrize("argv, match", [
    (["--x", "nope", "--y", "m"], "--x 'nope' is not a column"),
    (["--x", "9", "--y", "m"], "the table has 2 columns"),
    (["--x", "t", "--y", "t"], "name the same column"),
    (["--region", "C 1s"], "--region chooses a block of a VAMAS"),
    (["--likelihood", "poisson"], "has no sigma"),
])
def test_bad_columns_and_options_are_one_line_and_exit_2(files, tmp_path, capsys, argv, match):
    data, model = files
    out = tmp_path / "out"
    assert_refused(["fit", data, "--model", model, "--out", out, *argv], capsys, out=out, match=match)


def test_missing_and_oversized_model_files(files, tmp_path, capsys):
    data, model = files
    out = tmp_path / "out"
    assert_refused(["fit", data, "--model", tmp_path / "none.toml", "--out", out], capsys, out=out,
                   match="no such file")
    model.write_text("# " + "x" * (1 << 20) + "\n")
    assert_refused(["fit", data, "--model", model, "--out", out], capsys, out=out, match="at most 1 MiB")


def test_hostile_vamas_file_is_one_line_and_exit_2(files, tmp_path, capsys):
    data, model = files
    vms = tmp_path / "bad.vms"
    vms.write_text("VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4\nlab\nmodel\n")
    out = tmp_path / "out"
    assert_refused(["fit", vms, "--model", model, "--out", out], capsys, out=out, match="ends early")
    vms.write_text("VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4\nlab\nmodel\nop\n"
                   "exp\n" + "9" * 5000 + "\n")
    assert_refused(["fit", vms, "--model", model, "--out", out], capsys, out=out, match="should be a number")


@pytest.mark.skipif(not REAL_VMS.exists(), reason="needs ../shared/data/real")
def test_vamas_region_names_are_listed(files, tmp_path, capsys):
    data, model = files
    out = tmp_path / "out"
    assert_refused(["fit", REAL_VMS, "--model", model, "--region", "N 1s", "--out", out], capsys, out=out,
                   match="no region 'N 1s'; the regions are 1: 'wide', 2: 'Ni 2p', 3: 'O 1s', 4: 'C 1s', 5: 'W 4f'")
