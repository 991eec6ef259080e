import json

import pytest


def test_simulate_train_evaluate(cli, tmp_path):
    data = tmp_path / "spring.npz"
    code, out, err = cli("simulate", "spring", "--num-trajectories", 10, "--noise", 0.1, "--out", data, "--seed", 0)
    assert code == 0 and data.exists(), err
    code, out, err = cli("train", "hnn", data, "--out", tmp_path / "hnn", "--steps", 50, "--seed", 0,
                         "--width", 16, "--eval-every", 25)
    assert code == 0, err
    config = json.loads((tmp_path / "hnn" / "config.json").read_text())
    assert config["model"]["model"] == "hnn" and config["data_metadata"]["system"] == "spring"
    assert (tmp_path / "hnn" / "checkpoint.eqx").exists()
    code, out, err = cli("train", "hnn", data, "--out", tmp_path / "hnn", "--steps", 80, "--resume", "--eval-every", 10)
    assert code == 0 and "for 30 steps" in out, (out, err)
    assert json.loads((tmp_path / "hnn" / "checkpoint.json").read_text())["checkpoint_step"] == 80
    report = tmp_path / "eval.json"
    code, out, err = cli("evaluate", tmp_path / "hnn", "--system", "spring", "--out", report,
                         "--num-trajectories", 3, "--t-max", 2)
    assert code == 0, err
    metrics = json.loads(report.read_text())
    for name in ("derivative_mse", "rollout_mse", "energy_mse"):
        assert metrics[name] >= 0


def test_simulate_list(cli):
    code, out, err = cli("simulate", "--list")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert {"kepler", "couzin", "spring", "pendulum", "two-body", "double-pendulum"} <= set(names)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["simulate", "warp-drive", "--out", "{tmp}/x.npz"], "unknown system"),
        (["simulate", "spring", "--dt", "abc", "--out", "{tmp}/x.npz"], "not a number"),
        (["simulate", "spring", "--dt", "-1", "--out", "{tmp}/x.npz"], "must be a positive finite number"),
        (["simulate", "spring", "--num-trajectories", "0", "--out", "{tmp}/x.npz"], "positive integer"),
        (["simulate", "spring", "--out", "{tmp}/x.txt"], ".npz or .csv"),
        (["simulate", "harmonic-1d", "--energy", "-1", "--out", "{tmp}/x.npz"], "not reachable"),
        (["train", "hnn", "{tmp}/missing.npz", "--out", "{tmp}/m"], "does not exist"),
        (["train", "hnn", "{tmp}/missing.npz", "--out", "{tmp}/m", "--steps", "-3"], "positive integer"),
        (["train", "gnn", "{tmp}/missing.npz", "--out", "{tmp}/m"], "invalid choice"),
        (["evaluate", "{tmp}", "--system", "spring", "--out", "{tmp}/e.json"], "not a trained-model directory"),
    ],
)
def test_bad_input_gives_exit_2_and_one_line(cli, tmp_path, argv, fragment):
    code, out, err = cli(*[a.format(tmp=tmp_path) for a in argv])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], err
    assert "Traceback" not in err
