"""Hostile ``--out`` paths and result folders (issue 10, part 3): refused before computing, never mixed.

Every refusal is checked by ``assert_refused``: exit 2, one stderr line, no traceback, and the output
path (and everything beside it) exactly as before. The compute entry points are replaced by a
function that fails loudly, so a refusal that came only after computing would fail the test.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

import jax
import pytest

from physlaw.dynamics import simulate
from physlaw.io.results import MARKER, OutputFolder
from physlaw.io.trajectories import save_csv, save_dataset
from .hostile import assert_refused, run_cli

DATA = resources.files("physlaw") / "data"
FAST = ["--samples", "200", "--replicas", "8", "--chains", "2", "--quiet"]


@pytest.fixture
def inputs(tmp_path):
    """Small valid inputs for every writing subcommand."""
    traj = tmp_path / "spring.csv"
    save_csv(traj, simulate("spring", jax.random.key(0), num_trajectories=4, num_times=30, dt=0.1))
    npz = tmp_path / "spring.npz"
    save_dataset(npz, simulate("spring", jax.random.key(0), num_trajectories=4, num_times=30, dt=0.1))
    model = tmp_path / "model"
    model.mkdir()
    return {"traj": traj, "npz": npz, "model": model, "regress": str(DATA / "linear_response.csv"),
            "spectrum": str(DATA / "spectrum_example.csv"), "relaxation": str(DATA / "relaxation_example.csv")}


def folder_commands(inputs, out):
    """argv of each subcommand that writes a folder."""
    return {
        "regress": ["regress", inputs["regress"], "--sigma", "0.05", "--out", out, *FAST],
        "spectrum": ["spectrum", inputs["spectrum"], "--sigma", "0.05", "--kmax", "1", "--out", out, *FAST],
        "relaxation": ["relaxation", inputs["relaxation"], "--sigma", "0.05", "--kmax", "1", "--out", out, *FAST],
        "conserve": ["conserve", inputs["traj"], "--method", "library", "--out", out, "--quiet"],
        "train": ["train", "hnn", inputs["npz"], "--steps", "5", "--width", "8", "--out", out],
    }


FOLDER_COMMANDS = ["regress", "spectrum", "relaxation", "conserve", "train"]


@pytest.fixture
def no_compute(monkeypatch):
    """Make every compute entry point fail loudly: a refusal must come before any of them runs."""

    def boom(*args, **kwargs):
        raise AssertionError("computation started although the output path should have been refused")

    import physlaw.measure.integration
    import physlaw.measure.regression
    import physlaw.measure.relaxation
    import physlaw.measure.selection
    import physlaw.nets
    import physlaw.symmetry

    for module, name in [(physlaw.measure.regression, "regress"), (physlaw.measure.selection, "deconvolve"),
                         (physlaw.measure.relaxation, "analyse_relaxation"), (physlaw.measure.integration, "integrate"),
                         (physlaw.symmetry, "conserve"), (physlaw.nets, "train")]:
        monkeypatch.setattr(module, name, boom)


# -- 1. paths that cannot hold the results: refused before computing -------------------------------------
@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_out_naming_a_file_is_refused_before_computing(command, inputs, tmp_path, capsys, no_compute):
    out = tmp_path / "taken"
    out.write_text("not a folder\n")
    assert_refused(folder_commands(inputs, out)[command], capsys, out=out, match="is a file")


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_out_under_a_regular_file_is_refused(command, inputs, tmp_path, capsys, no_compute):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x\n")
    assert_refused(folder_commands(inputs, blocker / "sub")[command], capsys, out=blocker, match="is a file")


@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_out_in_a_folder_without_write_permission_is_refused(command, inputs, tmp_path, capsys, no_compute,
                                                             monkeypatch):
    parent = tmp_path / "locked"
    parent.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == parent else real_access(p, mode, **kw))
    assert_refused(folder_commands(inputs, parent / "out")[command], capsys, out=parent / "out",
                   match="permission denied")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder_is_refused(inputs, tmp_path, capsys, no_compute):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        assert_refused(folder_commands(inputs, parent / "out")["conserve"], capsys, out=parent / "out",
                       match="permission denied")
    finally:
        parent.chmod(0o755)


@pytest.mark.parametrize("argv", [
    ["simulate", "spring", "--out", "{dir}"],
    ["evaluate", "{model}", "--system", "spring", "--out", "{dir}"],
])
def test_file_output_naming_a_folder_is_refused(argv, inputs, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "a_folder.npz"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine\n")
    import physlaw.dynamics

    monkeypatch.setattr(physlaw.dynamics, "simulate", lambda *a, **k: pytest.fail("simulated before refusing"))
    argv = [a.format(dir=folder, model=inputs["model"]) for a in argv]
    assert_refused(argv, capsys, out=folder, match="is a folder")


@pytest.mark.parametrize("argv", [
    ["simulate", "spring", "--out", "{blocker}/x.npz"],
    ["evaluate", "{model}", "--system", "spring", "--out", "{blocker}/e.json"],
])
def test_file_output_under_a_regular_file_is_refused(argv, inputs, tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x\n")
    argv = [a.format(blocker=blocker, model=inputs["model"]) for a in argv]
    assert_refused(argv, capsys, out=blocker, match="is a file")


# -- 2. existing folders -----------------------------------------------------------------------------
@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_a_foreign_non_empty_folder_is_refused_without_overwrite(command, inputs, tmp_path, capsys, no_compute):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious\n")
    assert_refused(folder_commands(inputs, out)[command], capsys, out=out, match="--overwrite")


def test_overwrite_replaces_a_foreign_folder_as_a_whole(inputs, tmp_path, capsys):
    out = tmp_path / "old"
    out.mkdir()
    (out / "stale.txt").write_text("old\n")
    code, _, err = run_cli(folder_commands(inputs, out)["conserve"] + ["--overwrite"], capsys)
    assert code == 0, err
    assert not (out / "stale.txt").exists()
    assert (out / "summary.json").is_file() and (out / MARKER).is_file()


def test_rerun_replaces_the_previous_result_without_stale_files(inputs, tmp_path, capsys):
    """An --estimate-noise run writes noise.png and two posteriors; a later --model ax run must not keep them."""
    out = tmp_path / "fit"
    first = ["regress", inputs["regress"], "--estimate-noise", "--out", out, *FAST]
    code, _, err = run_cli(first, capsys)
    assert code == 0, err
    assert (out / "noise.png").exists() and (out / "posterior_ax_plus_b.nc").exists()
    code, _, err = run_cli(["regress", inputs["regress"], "--sigma", "0.05", "--model", "ax", "--out", out, *FAST],
                           capsys)
    assert code == 0, err
    assert not (out / "noise.png").exists() and not (out / "posterior_ax_plus_b.nc").exists()
    assert json.loads((out / "summary.json").read_text())["selected"] == "ax"
    written = json.loads((out / MARKER).read_text())["files"]
    assert sorted(p.name for p in out.iterdir() if p.name != MARKER) == written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit", "model", "spring.csv", "spring.npz"]  # nothing beside


def test_conserve_twice_into_one_folder(inputs, tmp_path, capsys):
    """Today's failure: the second run stopped with 'Directory not empty' on network/."""
    out = tmp_path / "laws"
    argv = ["conserve", inputs["traj"], "--method", "hnn", "--steps", "30", "--width", "8", "--out", out, "--quiet"]
    for _ in range(2):
        code, _, err = run_cli(argv, capsys)
        assert code == 0, err
    assert (out / "network" / "model.eqx").is_file()
    code, _, err = run_cli(folder_commands(inputs, out)["conserve"], capsys)  # another route replaces it all
    assert code == 0, err
    assert not (out / "network").exists()
    assert json.loads((out / "summary.json").read_text())["route"] == "library"


# -- 3. two runs at once -------------------------------------------------------------------------------
@pytest.mark.parametrize("command", FOLDER_COMMANDS)
def test_a_second_run_on_a_busy_folder_is_refused(command, inputs, tmp_path, capsys, no_compute):
    out = tmp_path / "busy"
    with OutputFolder(out, command="test") as stage:  # the first run, still computing
        (stage / "summary.json").write_text("{}\n")
        before = sorted(p.name for p in tmp_path.iterdir())
        line = assert_refused(folder_commands(inputs, out)[command], capsys, match="in use by another physlaw run")
        assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "lock" in line
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "summary.json"]  # only the first run's files
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# -- 4. refused and failed runs leave nothing behind -----------------------------------------------------
def test_a_run_refused_during_computing_leaves_nothing(inputs, tmp_path, capsys, monkeypatch):
    """A bad-input refusal raised mid-run (after checkpoints were written) removes stage, checkpoints and lock."""
    import physlaw.measure.regression
    from physlaw.errors import InputError

    def refuse(*args, checkpoints=None, **kwargs):
        folder = OutputFolder(out, command="x")
        folder.checkpoint_dir.mkdir()
        (folder.checkpoint_dir / "ax.ckpt.npz").write_bytes(b"partial")
        raise InputError("the data cannot be fitted (test)")

    out = tmp_path / "deep" / "er" / "out"
    monkeypatch.setattr(physlaw.measure.regression, "regress", refuse)
    assert_refused(["regress", inputs["regress"], "--sigma", "0.05", "--out", out, *FAST], capsys,
                   match="cannot be fitted")
    assert not (tmp_path / "deep").exists()  # even the parent folders this run created are gone


@pytest.mark.parametrize("option", [["--samples", "5"], ["--replicas", "1"], ["--chains", "0"]])
def test_sizes_the_sampler_cannot_run_are_refused_and_leave_nothing(option, inputs, tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["regress", inputs["regress"], "--sigma", "0.05", "--out", out, "--quiet", *option]
    assert_refused(argv, capsys, out=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "spring.csv", "spring.npz"]


def test_an_interrupted_run_keeps_its_checkpoints_for_resume(inputs, tmp_path, capsys, monkeypatch):
    import physlaw.measure.regression

    out = tmp_path / "o"

    def interrupted(*args, **kwargs):
        folder = OutputFolder(out, command="x")
        folder.checkpoint_dir.mkdir()
        (folder.checkpoint_dir / "ax.ckpt.npz").write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(physlaw.measure.regression, "regress", interrupted)
    code, _, err = run_cli(["regress", inputs["regress"], "--sigma", "0.05", "--out", out, *FAST], capsys)
    assert code == 130 and "--resume" in err
    assert not out.exists()
    assert (tmp_path / ".o.checkpoints" / "ax.ckpt.npz").exists()
    assert not (tmp_path / ".o.lock").exists()
    assert not any(p.name.startswith(".o.partial") for p in tmp_path.iterdir())


# -- 5. seeds ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [str(2**63), str(10**40), "-1", "1.5", "seed"])
def test_seeds_outside_0_to_2_63_are_refused(value, inputs, tmp_path, capsys, no_compute):
    out = tmp_path / "o"
    assert_refused(["regress", inputs["regress"], "--sigma", "0.05", "--seed", value, "--out", out], capsys, out=out,
                   match="seed")


def test_distinct_seeds_give_distinct_keys_with_and_without_float64():
    """Seeds 2^32 apart aliased when float64 was off; the keys keep both halves and match jax.random.key in x64."""
    import subprocess
    import sys

    code = (
        "import jax, numpy as np\n"
        "from physlaw.cli._common import key_from_seed\n"
        "seeds = [0, 1, 2**32, 2**32 + 1, 2**62 + 7, 2**63 - 1]\n"
        "data = lambda s: tuple(np.asarray(jax.random.key_data(key_from_seed(s))).tolist())\n"
        "keys = [data(s) for s in seeds]\n"
        "assert len(set(keys)) == len(seeds), keys\n"
        "draws = [float(jax.random.normal(key_from_seed(s))) for s in seeds]\n"
        "assert len(set(draws)) == len(seeds), draws\n"
        "jax.config.update('jax_enable_x64', True)\n"
        "assert all(data(s) == tuple(np.asarray(jax.random.key_data(jax.random.key(s))).tolist()) for s in seeds)\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)  # float32 in a fresh process
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
