"""``physlaw compare`` end to end on a tiny damped-oscillator file, and ``physlaw train lnn`` on a ragged CSV."""

import importlib.util
import json

import pytest


@pytest.fixture
def cli(monkeypatch, capsys):
    import physlaw.cli as cli_module

    present = [s for s in cli_module.SUBCOMMANDS if importlib.util.find_spec(f"physlaw.cli.{s}") is not None]
    monkeypatch.setattr(cli_module, "SUBCOMMANDS", present)

    def run(*argv):
        try:
            code = cli_module.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.slow  # several JAX compilations (training, Jacobian, implicit-midpoint rollout): ~0.5 min on an idle core
def test_compare_writes_summary_table_figures_and_models(cli, tmp_path):
    import jax

    from physlaw.dynamics import simulate
    from physlaw.io.trajectories import save_dataset

    data = tmp_path / "damped.npz"
    save_dataset(data, simulate("damped-oscillator", jax.random.key(0), num_trajectories=5, num_times=12, noise=0.01))
    out = tmp_path / "cmp"
    code, stdout, err = cli("compare", data, "--models", "hnn,dhnn", "--steps", 20, "--width", 8, "--out", out)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert {r["model"] for r in summary["table"]} == {"hnn", "dhnn"}
    assert abs(sum(r["p_model"] for r in summary["table"]) - 1) < 1e-9
    assert set(summary["physics"]["probabilities"]) == {"conservative", "dissipative"}
    for name in ("table.md", "evidence.png", "rollouts.png", "report.html", "models/hnn/model.eqx"):
        assert (out / name).exists(), name
    assert "verdict" in summary and summary["verdict"] in stdout


def test_compare_rejects_unknown_models(cli, tmp_path):
    code, out, err = cli("compare", tmp_path / "x.npz", "--models", "hnn,gnn", "--out", tmp_path / "o")
    assert code == 2 and "unknown model" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow  # LNN second derivatives compile slowly
def test_train_lnn_on_a_ragged_csv(cli, tmp_path):
    import numpy as np

    t = np.arange(0, 2.0, 0.05)
    rows = []
    for trial, n in ((0, 30), (1, 40)):
        th = 0.5 * np.cos(2 * t[:n])
        om = -1.0 * np.sin(2 * t[:n])
        rows += [f"{trial} {a:.4f} {b:.6f} {c:.6f}" for a, b, c in zip(t[:n], th, om)]
    path = tmp_path / "ragged.txt"
    path.write_text("trial time theta omega\n" + "\n".join(rows) + "\n")
    code, out, err = cli("train", "lnn", path, "--q", "theta", "--p", "omega", "--angles", "all", "--steps", 20,
                         "--width", 8, "--eval-every", 10, "--out", tmp_path / "m")
    assert code == 0, err
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model"]["angles"] == "all" and config["data_metadata"]["windows"]["length"] == 30
    assert config["hessian"]["num_rows"] > 0
