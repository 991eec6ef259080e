"""Many datasets in one run (physlaw.cli._batch): layout, table, resume, workers and a Dask cluster.

The measurement is the closed-form linear fit of ``tests.cli.batch_support`` (fast), run through the
real runner: files, a folder, a glob and a wide table; ``--resume``; 1 worker in-process, 2 local
worker processes, and a ``LocalCluster`` reached by ``--scheduler`` give the same ``table.csv``.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from physlaw.cli._batch import dataset_seed
from physlaw.io.datasets import expand_datasets, read_table_csv
from tests.cli import batch_support as bs


def _run(argv, capsys=None):
    code = bs.main([*map(str, argv), "--quiet"])
    err = capsys.readouterr().err if capsys is not None else ""
    return code, err


def _tree(folder: Path) -> dict:
    """Every file under a batch folder with its bytes (marker files, whose times differ, left out)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != ".physlaw-result" and p.name != "batch.json" and p.suffix != ".png" \
                and p.name != "report.html":
            out[str(p.relative_to(folder))] = p.read_bytes()
    return out


@pytest.fixture
def series(tmp_path):
    return bs.write_series(tmp_path / "data")


def test_several_files_a_folder_and_a_glob_write_the_same_batch(tmp_path, series):
    assert _run([*series, "--out", tmp_path / "files", "--workers", "1"])[0] == 0
    out = tmp_path / "files"
    names = ["T_100K", "T_200K", "T_300K", "T_400K"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".physlaw-result", "batch.json", "overview.png", "report.html", "table.csv", *names])
    for n in names:  # each dataset folder is a complete single-run folder with its own marker
        assert sorted(p.name for p in (out / n).iterdir()) == [".physlaw-result", "summary.json"]
        assert json.loads((out / n / ".physlaw-result").read_text())["command"] == "linear-batch"
    assert not list(tmp_path.glob(".files.*")), "staging, lock or checkpoints left beside DIR"
    columns, rows = read_table_csv(out / "table.csv")
    assert columns[:10] == ["name", "label", "seed", "selected", "K", "p", "p_err", "F", "F_err", "sigma_hat"]
    assert [r["name"] for r in rows] == names and [r["label"] for r in rows] == [100.0, 200.0, 300.0, 400.0]
    assert [r["seed"] for r in rows] == [dataset_seed(0, n) for n in names]
    # the per-dataset folder holds exactly what run_one writes for that dataset and seed alone
    d = expand_datasets([series[2]])[0]
    single = tmp_path / "single"
    single.mkdir()
    row = bs.run_linear(d, single, dataset_seed(0, d.name), {"sigma": 0.1, "draws": 400, "prior_scale": 10.0})
    assert (single / "summary.json").read_bytes() == (out / "T_300K" / "summary.json").read_bytes()
    assert rows[2]["F"] == row["F"] and rows[2]["a"] == row["a"]
    # the selected model and slope are the truth within the posterior's own spread (b = 0.5 for odd i)
    assert [r["selected"] for r in rows] == ["ax", "ax+b", "ax", "ax+b"]
    for r, t in zip(rows, (100, 200, 300, 400)):
        assert abs(r["a"] - (1 + t / 100)) < 4 * (r["a hi68"] - r["a lo68"]) / 2
    html = (out / "report.html").read_text()
    assert "4 datasets" in html and "T_400K" in html and "data:image/png;base64" in html
    # a folder and a glob give the same datasets and the same table
    assert _run([series[0].parent, "--out", tmp_path / "folder", "--workers", "1"])[0] == 0
    assert _run([str(series[0].parent / "T_*K.csv"), "--out", tmp_path / "glob", "--workers", "1"])[0] == 0
    assert _tree(tmp_path / "folder") == _tree(out) == _tree(tmp_path / "glob")
    # another seed gives other intervals: the check above can fail
    assert _run([*series, "--out", tmp_path / "seed1", "--workers", "1", "--seed", "1"])[0] == 0
    assert (tmp_path / "seed1" / "table.csv").read_bytes() != (out / "table.csv").read_bytes()


def test_a_wide_table_runs_one_dataset_per_column(tmp_path):
    path = bs.write_wide(tmp_path / "series.csv", (150, 250, 350))
    assert _run([path, "--out", tmp_path / "w", "--workers", "1"])[0] == 0
    _, rows = read_table_csv(tmp_path / "w" / "table.csv")
    assert [r["name"] for r in rows] == ["T_150K", "T_250K", "T_350K"]
    assert [r["label"] for r in rows] == [150.0, 250.0, 350.0]
    assert (tmp_path / "w" / "T_250K" / "summary.json").exists()
    assert json.loads((tmp_path / "w" / "batch.json").read_text())["datasets"][1]["source"].endswith("(T_250K)")


def test_resume_skips_finished_datasets_and_redoes_a_half_finished_one(tmp_path, series, monkeypatch):
    out = tmp_path / "out"
    work = tmp_path / ".out.checkpoints" / "datasets"
    monkeypatch.setenv("PHYSLAW_TEST_CRASH_ON", "T_300K")
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run([*series, "--out", out, "--workers", "1"])
    monkeypatch.delenv("PHYSLAW_TEST_CRASH_ON")
    assert not out.exists()  # nothing published
    assert sorted(p.name for p in work.iterdir()) == ["T_100K", "T_200K"]  # the crashed dataset left nothing
    # what a hard kill could leave: a staging folder, and a dataset folder of other options
    (work / ".T_400K.partial-x").mkdir()
    (work / ".T_400K.partial-x" / "summary.json").write_text("{half")
    (work / "T_300K").mkdir()
    (work / "T_300K" / "summary.json").write_text("{half")
    stamp = (work / "T_100K" / "summary.json").stat().st_mtime_ns
    assert _run([*series, "--out", out, "--workers", "1", "--resume"])[0] == 0
    info = json.loads((out / "batch.json").read_text())
    assert info["reused"] == ["T_100K", "T_200K"] and info["computed"] == ["T_300K", "T_400K"]
    assert (out / "T_100K" / "summary.json").stat().st_mtime_ns == stamp
    assert not (tmp_path / ".out.checkpoints").exists()
    assert _run([*series, "--out", tmp_path / "clean", "--workers", "1"])[0] == 0
    assert _tree(out) == _tree(tmp_path / "clean")
    # --resume after a published run reuses everything; other options or no --resume redo everything
    assert _run([*series, "--out", out, "--workers", "1", "--resume"])[0] == 0
    assert json.loads((out / "batch.json").read_text())["computed"] == []
    assert _run([*series, "--out", out, "--workers", "1", "--resume", "--draws", "300"])[0] == 0
    assert len(json.loads((out / "batch.json").read_text())["computed"]) == 4
    assert _run([*series, "--out", out, "--workers", "1"])[0] == 0
    assert len(json.loads((out / "batch.json").read_text())["computed"]) == 4
    assert _tree(out) == _tree(tmp_path / "clean")


def test_one_refused_dataset_keeps_the_others_for_resume(tmp_path, series, capsys):
    flat = series[0].parent / "T_250K.csv"
    flat.write_text("x,y\n0,1\n1,1\n2,1\n3,1\n")
    code, err = _run([*series, flat, "--out", tmp_path / "out", "--workers", "1"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "T_250K" in err and "all y values are equal" in err and "--resume" in err
    assert not (tmp_path / "out").exists()
    assert len(list((tmp_path / ".out.checkpoints" / "datasets").iterdir())) == 4
    flat.unlink()
    assert _run([*series, "--out", tmp_path / "out", "--workers", "1", "--resume"])[0] == 0
    assert json.loads((tmp_path / "out" / "batch.json").read_text())["computed"] == []


@pytest.mark.parametrize("make,match", [
    (lambda d: [d / "a", d / "b"], "both be written"),            # s1.csv in two folders
    (lambda d: [d / "empty"], "folder without data tables"),
    (lambda d: [str(d / "a" / "zz*.csv")], "matches no file"),
    (lambda d: [d / "wide.csv"], "is not a number"),              # a wide table with a text column
])
def test_hostile_inputs_are_one_line_and_exit_2(tmp_path, capsys, make, match):
    for sub in ("a", "b", "empty"):
        (tmp_path / sub).mkdir()
    bs.write_series(tmp_path / "a", (1,))
    bs.write_series(tmp_path / "b", (1,))
    (tmp_path / "a" / "T_1K.csv").rename(tmp_path / "a" / "s1.csv")
    (tmp_path / "b" / "T_1K.csv").rename(tmp_path / "b" / "s1.csv")
    (tmp_path / "wide.csv").write_text("x,T1,T2,T3\n0,1,2,3\n1,2,3,4\n2,3,high,5\n3,4,5,6\n")
    code, err = _run([*make(tmp_path), "--out", tmp_path / "out", "--workers", "1"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and match in lines[0] and "Traceback" not in err
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_a_bad_scheduler_address_is_one_line(tmp_path, series, capsys):
    code, err = _run([*series, "--out", tmp_path / "out", "--scheduler", "not-an-address"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--scheduler" in err


def test_one_worker_two_workers_and_a_dask_cluster_give_the_same_table(tmp_path, series):
    """The acceptance test of issue 12 item 5: --workers 1 (in-process), --workers 2 (a LocalCluster the
    runner starts) and --scheduler ADDRESS (a LocalCluster started here) write identical tables and
    dataset folders. About 10 s on an idle 2-core machine (two cluster start-ups)."""
    from dask.distributed import LocalCluster

    assert _run([*series, "--out", tmp_path / "w1", "--workers", "1"])[0] == 0
    assert _run([*series, "--out", tmp_path / "w2", "--workers", "2"])[0] == 0
    info = json.loads((tmp_path / "w2" / "batch.json").read_text())
    assert info["workers"] == 2 and len(info["computed"]) == 4
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        assert _run([*series, "--out", tmp_path / "dask", "--scheduler", cluster.scheduler_address])[0] == 0
    assert json.loads((tmp_path / "dask" / "batch.json").read_text())["scheduler"] == cluster.scheduler_address
    reference = _tree(tmp_path / "w1")
    assert len(reference) == 5
    for name in ("w2", "dask"):
        assert _tree(tmp_path / name) == reference, f"{name} differs from --workers 1"


@pytest.mark.slow
def test_a_worker_lost_mid_run_only_reruns_its_dataset(tmp_path, series, monkeypatch):
    """A worker process killed inside a task: Dask reschedules that task, the batch completes and its
    table is the one of an undisturbed run."""
    from dask.distributed import LocalCluster

    flags = tmp_path / "flags"
    flags.mkdir()
    monkeypatch.setenv("PHYSLAW_TEST_DIE_FLAG", str(flags))  # workers inherit it; armed below
    assert _run([*series, "--out", tmp_path / "w1", "--workers", "1"])[0] == 0
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        (flags / "armed").write_text("")  # the first task to run kills its worker process
        assert _run([*series, "--out", tmp_path / "lost", "--scheduler", cluster.scheduler_address])[0] == 0
    assert (flags / "fired").exists() and not (flags / "armed").exists()
    assert _tree(tmp_path / "lost") == _tree(tmp_path / "w1")


@pytest.mark.parametrize("model", ["ax", "ax+b"])
def test_the_support_fit_is_the_exact_linear_answer(model):
    """The closed form of the test measurement equals physlaw.measure.linear.exact_linear."""
    from physlaw.measure.linear import exact_linear

    x = np.linspace(-1, 2, 15)
    y = 1.7 * x + 0.3 + np.random.default_rng(3).normal(0, 0.2, x.size)
    sigma = np.full(x.size, 0.2)
    f, mean, cov, names = bs.closed_form(x, y, sigma, model, 10.0)
    ref = exact_linear(x, y, sigma, model, 10.0)
    assert names == ref.names
    assert abs(f - ref.free_energy) < 1e-9 * max(1.0, abs(f))
    np.testing.assert_allclose(mean, ref.mean, rtol=1e-10)
    np.testing.assert_allclose(cov, ref.cov, rtol=1e-10)
    # negative control: another prior scale moves F (the comparison is sensitive)
    assert abs(bs.closed_form(x, y, sigma, model, 20.0)[0] - ref.free_energy) > 0.1
