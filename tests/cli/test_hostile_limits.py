"""Hostile sizes and scales (issue 10): every refusal is one stderr line, exit 2, nothing written,
and it comes before the data are read or anything is computed (these tests take seconds)."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import jax
import numpy as np
import pytest

from physlaw.errors import InputError
from tests.cli.hostile import assert_refused


def _table(path, x, y):
    np.savetxt(path, np.c_[x, y], delimiter=",", header="x,y", comments="")
    return path


@pytest.fixture
def linear_csv(tmp_path):
    x = np.arange(1.0, 11.0)
    return _table(tmp_path / "linear.csv", x, 2.0 * x + 0.1 * np.sin(x))


@pytest.fixture
def spring_npz(tmp_path):
    from physlaw.dynamics import simulate
    from physlaw.io.trajectories import save_dataset

    path = tmp_path / "spring.npz"
    save_dataset(path, simulate("spring", jax.random.key(0), num_trajectories=3, num_times=8))
    return path


# ---------------------------------------------------------------------------------------------
# 1. bounded options and sizes that cannot fit in memory


@pytest.mark.parametrize("command", ["spectrum", "relaxation"])
@pytest.mark.parametrize("kmax", ["0", "13", "10" * 200])
def test_kmax_is_1_to_12(command, kmax, linear_csv, tmp_path, capsys):
    assert_refused([command, linear_csv, "--estimate-noise", "--kmax", kmax, "--out", tmp_path / "out"], capsys,
                   out=tmp_path / "out", match="from 1 to 12")


@pytest.mark.parametrize("option, value, match", [
    ("--samples", "5", "at least 10 kept sweeps"),
    ("--replicas", "1", "at least 2 temperatures"),
    ("--chains", "0", "from 1 to"),
])
@pytest.mark.parametrize("command", ["regress", "spectrum", "relaxation"])
def test_sampler_minimums_checked_by_argparse(command, option, value, match, linear_csv, tmp_path, capsys):
    assert_refused([command, linear_csv, "--estimate-noise", option, value, "--out", tmp_path / "out"], capsys,
                   out=tmp_path / "out", match=match)


@pytest.mark.parametrize("command", ["regress", "spectrum", "relaxation"])
def test_sampler_memory_refused_before_reading(command, tmp_path, capsys):
    marker = tmp_path / "never-read.csv"  # does not exist: the size is refused before the file is opened
    line = assert_refused([command, marker, "--estimate-noise", "--samples", "100000000", "--replicas", "64",
                           "--out", tmp_path / "out"], capsys, out=tmp_path / "out", match="GiB of memory")
    assert "--samples" in line and "PHYSLAW_MAX_MEMORY_GIB" in line


def test_memory_bound_can_be_raised(monkeypatch):
    from physlaw.cli._common import GIB, check_memory

    with pytest.raises(InputError, match="8 GiB bound"):
        check_memory(9 * GIB, "test arrays", "lower them")
    monkeypatch.setenv("PHYSLAW_MAX_MEMORY_GIB", "16")
    check_memory(9 * GIB, "test arrays", "lower them")


def test_conserve_degree_and_library_size(tmp_path, capsys):
    assert_refused(["conserve", tmp_path / "x.csv", "--method", "library", "--degree", "7", "--out", tmp_path / "out"],
                   capsys, out=tmp_path / "out", match="from 0 to 6")
    # 10 positions and 10 momenta at degree 6: C(26, 6) - 1 = 230229 monomials
    names = [f"q{i}" for i in range(1, 11)] + [f"p{i}" for i in range(1, 11)]
    rows = [[k // 5, 0.1 * (k % 5)] + list(np.cos(0.1 * k + np.arange(20))) for k in range(10)]
    csv = tmp_path / "wide.csv"
    np.savetxt(csv, rows, delimiter=",", header=",".join(["trajectory", "t", *names]), comments="")
    assert_refused(["conserve", csv, "--method", "library", "--degree", "6", "--out", tmp_path / "out"], capsys,
                   out=tmp_path / "out", match="lower --degree")


def test_conserve_sizes(tmp_path, capsys):
    out = tmp_path / "out"
    assert_refused(["conserve", tmp_path / "x.csv", "--method", "group", "--samples", "100000000", "--out", out],
                   capsys, out=out, match="--samples or --levels")
    assert_refused(["conserve", tmp_path / "x.csv", "--method", "hnn", "--width", "60000", "--out", out],
                   capsys, out=out, match="lower --width")
    assert_refused(["conserve", tmp_path / "x.csv", "--levels", "1", "--out", out], capsys, out=out,
                   match="at least 2 temperatures")


def test_simulate_sizes(tmp_path, capsys):
    out = tmp_path / "x.npz"
    assert_refused(["simulate", "spring", "--num-trajectories", "100000000", "--out", out], capsys, out=out,
                   match="GiB of memory")
    assert_refused(["simulate", "couzin", "--param", "num_agents=1000000", "--out", out], capsys, out=out,
                   match="num_agents")
    assert_refused(["simulate", "spring", "--num-trajectories", "1", "--num-times", "20000000", "--substeps", "10",
                    "--out", out], capsys,
                   out=out, match="integrator steps")


def test_train_width(spring_npz, tmp_path, capsys):
    out = tmp_path / "net"
    assert_refused(["train", "hnn", spring_npz, "--width", "60000", "--out", out], capsys, out=out,
                   match="lower --width")
    assert_refused(["train", "hnn", spring_npz, "--depth", "1000", "--out", out], capsys, out=out,
                   match="from 1 to 64")


# ---------------------------------------------------------------------------------------------
# 2. values near 1e300 (or 1e-300) overflow or underflow in squares: refused, never a NaN result


@pytest.mark.parametrize("scale_x, scale_y, match", [
    (1e300, 1.0, "x values up to"), (1.0, 1e300, "y values up to"), (1e-300, 1.0, "underflow"),
])
def test_regress_refuses_overflowing_scales(scale_x, scale_y, match, tmp_path, capsys):
    x = np.arange(1.0, 11.0)
    data = _table(tmp_path / "big.csv", scale_x * x, scale_y * (2.0 * x + 0.1 * np.sin(x)))
    line = assert_refused(["regress", data, "--estimate-noise", "--out", tmp_path / "out"], capsys,
                          out=tmp_path / "out", match=match)
    assert "rescale the units" in line


def test_spectrum_and_relaxation_refuse_overflowing_scales(tmp_path, capsys):
    t = np.logspace(-1, 2, 30)
    data = _table(tmp_path / "big.csv", t, 1e300 * (1 - np.exp(-t / 5)))
    assert_refused(["spectrum", data, "--estimate-noise", "--out", tmp_path / "out"], capsys,
                   out=tmp_path / "out", match="rescale the units of y")
    assert_refused(["relaxation", data, "--estimate-noise", "--out", tmp_path / "out"], capsys,
                   out=tmp_path / "out", match="rescale the units of m")
    assert_refused(["regress", data, "--sigma", "1e200", "--out", tmp_path / "out"], capsys,
                   out=tmp_path / "out", match="--sigma")


def test_noise_figure_survives_non_finite_free_energies(tmp_path):
    from physlaw.plot.spectrum import noise_figure   # the one noise figure of every measurement command

    curve = SimpleNamespace(sigma=np.array([1.0, 2.0, 3.0]), free_energy=np.array([np.inf, np.nan, np.inf]),
                            free_energy_err=np.zeros(3), sigma_hat=2.0)
    reg = SimpleNamespace(fits=[SimpleNamespace(name="ax", noise=curve)], noise_sigma=2.0)
    noise_figure(reg, tmp_path / "noise.png")
    assert (tmp_path / "noise.png").exists()


# ---------------------------------------------------------------------------------------------
# 3. evaluate: rollouts too long to run


def test_evaluate_refuses_long_rollouts(tmp_path, capsys):
    out = tmp_path / "eval.json"
    model_dir = tmp_path / "missing-model"  # refused before the model is loaded
    assert_refused(["evaluate", model_dir, "--system", "spring", "--t-max", "1e9", "--out", out], capsys, out=out,
                   match="lower --t-max or raise --dt")
    assert_refused(["evaluate", model_dir, "--system", "spring", "--t-max", "0.01", "--out", out], capsys, out=out,
                   match="raise --t-max")
    assert_refused(["evaluate", model_dir, "--system", "spring", "--num-trajectories", "1000000000", "--out", out],
                   capsys, out=out, match="GiB of memory")


def test_evaluate_on_system_bounds_the_rollout():
    from physlaw.dynamics import get_system
    from physlaw.nets import evaluate_on_system
    from physlaw.nets._models import make_model

    model = make_model({"model": "hnn", "dim": 2, "width": 4}, key=jax.random.key(0))
    with pytest.raises(InputError, match="lower t_max or raise dt"):
        evaluate_on_system(model, get_system("spring"), jax.random.key(1), t_max=1e308, dt=1e-308)


# ---------------------------------------------------------------------------------------------
# 4. simulate: divergent integrations and meaningless values


@pytest.mark.parametrize("argv, match", [
    (["--dt", "1e308"], "[1e-100, 1e+100]"),
    (["--dt", "1e-320"], "[1e-100, 1e+100]"),
    (["--dt", "1e50"], "diverged at dt = 1e+50"),
    (["--noise", "1e308"], "--noise"),
    (["--noise", "nan"], "--noise"),
    (["--noise", "-1"], "--noise"),
    (["--energy", "inf"], "--energy"),
    (["--param", "m=-1"], "parameter m must be positive"),
    (["--param", "k=nan"], "finite"),
    (["--param", "k=1" + "0" * 400], "finite"),
    (["--param", "=3"], "has no name"),
])
def test_simulate_refuses(argv, match, tmp_path, capsys):
    out = tmp_path / "x.npz"
    assert_refused(["simulate", "spring", *argv, "--out", out], capsys, out=out, match=match)


def test_simulate_core_refuses_overflowing_time_grids():
    from physlaw.dynamics import simulate

    with pytest.raises(InputError, match="overflows; lower dt"):
        simulate("spring", jax.random.key(0), dt=1e308)
    with pytest.raises(InputError, match="steps of tau"):
        simulate("couzin", jax.random.key(0), dt=1e308)
    with pytest.raises(InputError, match="noise"):
        simulate("sphere", jax.random.key(0), noise=1e308)


def test_swarm_refuses_huge_dt(tmp_path, capsys):
    out = tmp_path / "x.npz"
    assert_refused(["simulate", "couzin", "--dt", "1e50", "--out", out], capsys, out=out, match="steps of tau")
    assert_refused(["simulate", "couzin", "--param", "tau=-1", "--out", out], capsys, out=out, match="tau")


# ---------------------------------------------------------------------------------------------
# 5. training data: nan, inf, duplicate times are named as data problems


@pytest.fixture
def spring():
    from physlaw.dynamics import simulate

    return simulate("spring", jax.random.key(0), num_trajectories=4, num_times=10)


def _train(kind, dataset, **config):
    from physlaw.nets import TrainConfig, train

    return train(kind, dataset, key=jax.random.key(1), config=TrainConfig(num_steps=4, eval_every=2, **config))


@pytest.mark.parametrize("kind", ["hnn", "dae"])
def test_training_refuses_nan_states(kind, spring):
    q = spring.q.copy()
    q[2, 3, 0] = np.nan
    with pytest.raises(InputError, match="trajectory 2 at time index 3") as err:
        _train(kind, dataset=dataclasses.replace(spring, q=q))
    assert "learning rate" not in str(err.value)


@pytest.mark.parametrize("kind", ["hnn", "dae"])
def test_training_refuses_repeated_times(kind, spring):
    t = spring.t.copy()
    t[1, 4] = t[1, 3]
    with pytest.raises(InputError, match="trajectory 1 has a repeated time") as err:
        _train(kind, dataclasses.replace(spring, t=t, dq=None, dp=None))
    assert "learning rate" not in str(err.value)


def test_training_refuses_non_finite_derivatives_and_float32_overflow(spring):
    dq = spring.dq.copy()
    dq[0, 7, 0] = np.inf
    with pytest.raises(InputError, match="stored derivatives"):
        _train("hnn", dataclasses.replace(spring, dq=dq))
    with pytest.raises(InputError, match="rescale the data"):
        _train("hnn", dataclasses.replace(spring, q=spring.q * 1e20, p=spring.p * 1e20, dq=None, dp=None))


def test_divergence_with_finite_data_blames_the_learning_rate(spring, monkeypatch):
    import physlaw.nets._tasks as tasks
    from physlaw.nets._train import TrainInfo

    def diverging_fit(model, loss, data, **kw):
        return model, TrainInfo([(2, float("nan"), None)], 0, 2, False, 0.0, 0.0)

    monkeypatch.setattr(tasks, "fit", diverging_fit)
    with pytest.raises(InputError, match="data are finite; lower the learning rate"):
        _train("hnn", spring)


# ---------------------------------------------------------------------------------------------
# 6. hostile option values are argparse errors, never tracebacks


HOSTILE = ["nan", "inf", "-inf", "1e308", "-0", "1" + "0" * 400, "", "-1"]


OPTIONS = [
    ("regress", "--samples"), ("regress", "--prior-scale"), ("regress", "--sigma"), ("spectrum", "--kmax"),
    ("relaxation", "--replicas"), ("conserve", "--degree"), ("conserve", "--width"), ("conserve", "--sigma-range"),
    ("train", "--learning-rate"), ("train", "--validation-fraction"), ("train", "--width"),
    ("simulate", "--num-times"), ("evaluate", "--num-trajectories"), ("demo", "--seed"),
]


# "-0" is a valid --seed and --validation-fraction (0): the data files are missing, so those runs stop
# at reading them, except demo (bundled data), which is left out
@pytest.mark.parametrize("command, option, value", [
    (c, o, v) for c, o in OPTIONS for v in HOSTILE if (c, v) != ("demo", "-0")
])
def test_hostile_option_values(command, option, value, tmp_path, capsys):
    base = {
        "regress": ["regress", tmp_path / "d.csv", "--estimate-noise"],
        "spectrum": ["spectrum", tmp_path / "d.csv", "--estimate-noise"],
        "relaxation": ["relaxation", tmp_path / "d.csv", "--estimate-noise"],
        "conserve": ["conserve", tmp_path / "d.csv"],
        "train": ["train", "hnn", tmp_path / "d.npz"],
        "simulate": ["simulate", "spring"],
        "evaluate": ["evaluate", tmp_path / "m", "--system", "spring"],
        "demo": ["demo"],
    }[command]
    out = tmp_path / ("out.json" if command == "evaluate" else "out.npz" if command == "simulate" else "out")
    values = [value, "1"] if option == "--sigma-range" else [value]
    assert_refused([*base, option, *values, "--out", out], capsys, out=out)
