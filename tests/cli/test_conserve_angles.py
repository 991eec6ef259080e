"""``physlaw conserve`` on pendulum trajectories: the angle library (by flag or by the columns' names), the
energy of the conservative part with its decay rate, bad combinations refused."""

import json

import jax
import pytest

from physlaw.cli import main
from physlaw.dynamics import simulate
from physlaw.io.trajectories import save_csv


@pytest.fixture(scope="module")
def pendulum_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "damped_pendulum.csv"
    save_csv(path, simulate("damped-pendulum", jax.random.key(0), num_trajectories=24, num_times=100, zeta=0.05))
    return path


def test_angle_names_switch_the_angle_library_on_and_report_the_decay(pendulum_csv, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["conserve", str(pendulum_csv), "--method", "library", "--names", "theta", "omega",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "named like angles" in printed and "best approximate law" in printed and "dG/dt" in printed
    s = json.loads((out / "summary.json").read_text())
    assert "omega**2*cos(theta)" in s["settings"]["library"]
    approx = s["details"]["approximate_law"]
    assert approx["drift"]["verdict"] == "approximately conserved"
    lo, hi = approx["drift"]["interval"]
    assert lo < -0.08 and hi > -0.11 and hi < 0  # the energy decays at about 2 zeta omega = 0.1


def test_no_angles_keeps_polynomials(pendulum_csv, tmp_path, capsys):
    out = tmp_path / "poly"
    assert main(["conserve", str(pendulum_csv), "--method", "library", "--names", "theta", "omega", "--no-angles",
                 "--out", str(out), "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert not any("cos" in f for f in s["settings"]["library"])


def test_angles_with_inverse_radius_is_one_line_and_exit_2(pendulum_csv, tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["conserve", str(pendulum_csv), "--method", "library", "--angles", "--inverse-radius",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "angles excludes" in err and len(err.strip().splitlines()) == 1
