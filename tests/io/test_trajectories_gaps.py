"""Trajectory files with gaps (NaN rows) and many-agent track tables."""

import jax
import numpy as np
import pytest

from physlaw.cli import main
from physlaw.dynamics import simulate
from physlaw.errors import InputError
from physlaw.io.trajectories import load_agents, load_dataset, save_csv, save_dataset


@pytest.fixture(scope="module")
def spring():
    return simulate("spring", jax.random.key(0), num_trajectories=3, num_times=40)


def _holed_csv(path, ds, holes):
    """``ds`` as a CSV with the momentum of the given data rows replaced by a missing cell."""
    save_csv(path, ds)
    lines = path.read_text().splitlines()
    for row, cell in holes.items():
        lines[row + 1] = lines[row + 1].rsplit(",", 1)[0] + "," + cell
    path.write_text("\n".join(lines) + "\n")
    return path


def test_gaps_refused_by_default_with_the_flag_named(tmp_path, spring):
    path = _holed_csv(tmp_path / "g.csv", spring, {9: "nan"})
    with pytest.raises(InputError, match=r"non-finite.*line 11 \(data row 10, column 4\).*gaps='drop'") as err:
        load_dataset(path)
    assert "\n" not in str(err.value)
    _holed_csv(path, spring, {9: ""})
    with pytest.raises(InputError, match="empty or NA cell is a gap: pass gaps='drop'"):
        load_dataset(path)


def test_interpolate_fills_short_gaps_close_to_the_truth(tmp_path, spring):
    path = _holed_csv(tmp_path / "g.csv", spring, {9: "nan", 50: "", 51: "NA"})
    ds = load_dataset(path, gaps="interpolate")
    assert ds.q.shape == spring.q.shape
    rep = ds.metadata["gaps"]
    assert (rep["num_missing"], rep["num_gaps"], rep["longest_gap"], rep["num_filled"]) == (3, 2, 2, 3)
    np.testing.assert_array_equal(ds.q, spring.q)  # only p had holes
    # a cubic spline through samples dt = 0.1 apart on a unit-frequency oscillation: error ~ dt^4
    assert np.abs(ds.p - spring.p).max() < 1e-3
    with pytest.raises(InputError, match="gap of 2 missing samples.*longer than max_gap = 1.*gaps='drop'"):
        load_dataset(path, gaps="interpolate", max_gap=1)


def test_drop_splits_at_gaps_and_cuts_equal_windows(tmp_path, spring):
    path = _holed_csv(tmp_path / "g.csv", spring, {9: "nan", 42: "nan", 43: "nan"})
    ds = load_dataset(path, gaps="drop")
    rep = ds.metadata["gaps"]
    # stretches: traj 0 rows 0-8 (9) and 10-39 (30); traj 1 rows 0-1 (2, too short) and 4-39 (36); traj 2 (40)
    assert rep["num_segments"] == 4 and rep["num_short_segments"] == 1
    assert rep["window_length"] == 30 and ds.q.shape == (3, 30, 1)
    assert rep["samples_kept"] + rep["samples_dropped"] == 3 * 40 - 3
    for (traj, first), q, t in zip(rep["sources"], ds.q, ds.t):  # every window is a piece of the original
        np.testing.assert_array_equal(q, spring.q[traj, first:first + 30])
        np.testing.assert_allclose(t, spring.t[traj, first:first + 30], rtol=1e-12)
        assert np.all(np.diff(t) > 0)
    with pytest.raises(InputError, match="no stretch of at least 50"):
        load_dataset(path, gaps="drop", min_length=50)


def test_drop_accepts_trajectories_of_different_lengths(tmp_path, spring):
    path = tmp_path / "ragged.csv"
    save_csv(path, spring)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-5]) + "\n")  # the last trajectory loses 5 rows
    with pytest.raises(InputError, match="different numbers of rows.*gaps='drop'"):
        load_dataset(path)
    assert load_dataset(path, gaps="drop").q.shape == (3, 35, 1)


def test_npz_gaps_keep_exact_derivatives_when_dropping(tmp_path, spring):
    q = spring.q.copy()
    q[1, 20] = np.nan
    import dataclasses

    save_dataset(tmp_path / "g.npz", dataclasses.replace(spring, q=q))
    with pytest.raises(InputError, match="non-finite.*gaps='drop'"):
        load_dataset(tmp_path / "g.npz")
    ds = load_dataset(tmp_path / "g.npz", gaps="drop")
    assert ds.dq is not None and np.all(np.isfinite(ds.q))
    traj, first = ds.metadata["gaps"]["sources"][0]
    np.testing.assert_array_equal(ds.dp[0], spring.dp[traj, first:first + ds.num_times])
    filled = load_dataset(tmp_path / "g.npz", gaps="interpolate")
    assert filled.dq is None and "derivatives dropped" in filled.metadata["gaps"]["note"]


def test_cli_gaps_flag(tmp_path, spring, capsys):
    path = _holed_csv(tmp_path / "g.csv", spring, {9: "nan"})
    assert main(["conserve", str(path), "--method", "library", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--gaps drop" in err and "gaps=" not in err and len(err.strip().splitlines()) == 1
    path = _holed_csv(tmp_path / "g.csv", spring, {9: "nan", 10: "nan"})
    assert main(["conserve", str(path), "--method", "library", "--gaps", "interpolate", "--max-gap", "1",
                 "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "longer than --max-gap 1" in capsys.readouterr().err
    assert main(["conserve", str(path), "--method", "library", "--gaps", "interpolate", "--out", str(tmp_path / "o"),
                 "--quiet"]) == 0


# --------------------------------------------------------------------------------------------
# many-agent tracks


def _mill(num_agents=12, num_times=80, dt=0.1, seed=0):
    """An ideal mill: agents on circles of radius r_i at speed 1 about a drifting centre."""
    rng = np.random.default_rng(seed)
    r = rng.uniform(2, 4, num_agents)
    phase = rng.uniform(0, 2 * np.pi, num_agents)
    t = dt * np.arange(num_times)
    ang = phase[None] + t[:, None] / r[None]
    centre = np.stack([0.3 * t, 0.1 * t], -1)[:, None]
    pos = centre + r[None, :, None] * np.stack([np.cos(ang), np.sin(ang)], -1)
    vel = np.array([0.3, 0.1]) + np.stack([-np.sin(ang), np.cos(ang)], -1)
    return t, pos, vel, r


def _write_wide(path, t, pos, vel=None, sep="_"):
    n = pos.shape[1]
    cols = ["time"] + [f"{c}{sep}{i + 1}" for i in range(n) for c in "xy"]
    table = [t[:, None], pos.reshape(len(t), -1)]
    if vel is not None:
        cols += [f"v{c}{sep}{i + 1}" for i in range(n) for c in "xy"]
        table.append(vel.reshape(len(t), -1))
    np.savetxt(path, np.hstack(table), delimiter=",", header=",".join(cols), comments="")
    return path


def test_wide_and_long_tables_give_the_collective_frame(tmp_path):
    t, pos, vel, r = _mill()
    wide = load_agents(_write_wide(tmp_path / "w.csv", t, pos))
    long_rows = [[i, tk, *pos[k, i]] for k, tk in enumerate(t) for i in range(pos.shape[1])]
    np.savetxt(tmp_path / "l.csv", np.array(long_rows), delimiter=" ", header="fish t x y", comments="")
    long = load_agents(tmp_path / "l.csv")
    assert wide.metadata["layout"] == "wide" and long.metadata["layout"] == "long"
    for ds in (wide, long):
        assert ds.q.shape == (12, 80, 2) and ds.coordinate_names == ("q1", "q2", "p1", "p2")
        q_true = np.swapaxes(pos - pos.mean(1, keepdims=True), 0, 1)
        np.testing.assert_allclose(ds.q, q_true, atol=1e-12)
        # smoothed differences: cubic least squares over 7 samples of a circle, error ~ (dt/r)^4 · 10
        p_true = np.swapaxes(vel - vel.mean(1, keepdims=True), 0, 1)
        assert np.abs(ds.p - p_true).max() < 1e-3
        assert ds.metadata["milling_index"][0] > 0.95
    rec = load_agents(_write_wide(tmp_path / "v.csv", t, pos, vel, sep=""))
    assert rec.metadata["velocities"] == "recorded"
    np.testing.assert_allclose(rec.p, np.swapaxes(vel - vel.mean(1, keepdims=True), 0, 1), atol=1e-12)


def test_agent_gaps_drop_or_interpolate_for_all_agents_together(tmp_path):
    t, pos, vel, _ = _mill()
    pos = pos.copy()
    pos[30, 4, 1] = np.nan  # one coordinate of one agent at one time
    path = _write_wide(tmp_path / "w.csv", t, pos)
    with pytest.raises(InputError, match="misses agent positions at t = 3.*gaps='interpolate'"):
        load_agents(path)
    filled = load_agents(path, gaps="interpolate")
    assert filled.q.shape == (12, 80, 2) and filled.metadata["gaps"]["num_filled"] == 1
    dropped = load_agents(path, gaps="drop")
    # stretches of 30 and 49 samples: two windows of 30 (2 × 24 centred samples beat 1 × 43)
    assert dropped.metadata["gaps"]["window_length"] == 30 and dropped.q.shape == (24, 30, 2)
    # a long table where one agent has no row at one time: the same gap
    rows = [[i, tk, *pos[k, i]] for k, tk in enumerate(t) for i in range(12) if np.all(np.isfinite(pos[k, i]))]
    np.savetxt(tmp_path / "l.csv", np.array(rows), delimiter=",", header="agent,t,x,y", comments="")
    long = load_agents(tmp_path / "l.csv", gaps="interpolate")
    np.testing.assert_allclose(long.q, filled.q, atol=1e-12)


def test_agent_table_errors(tmp_path):
    (tmp_path / "a.csv").write_text("t,x_1,y_1\n0,1,2\n1,2,3\n")
    with pytest.raises(InputError, match="at least 2 agents"):
        load_agents(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("x_1,y_1,x_2,y_2\n0,1,2,3\n")
    with pytest.raises(InputError, match="no time column"):
        load_agents(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("t,x_1,y_1,x_2\n0,1,2,3\n")
    with pytest.raises(InputError, match="same coordinates"):
        load_agents(tmp_path / "c.csv")
    (tmp_path / "d.csv").write_text("agent,t,x,y\n1,0,0,0\n1,0,1,1\n2,0,1,1\n")
    with pytest.raises(InputError, match="two rows at t = 0"):
        load_agents(tmp_path / "d.csv")


def test_cli_agents_flag(tmp_path, capsys):
    t, pos, _, _ = _mill()
    path = _write_wide(tmp_path / "w.csv", t, pos)
    out = tmp_path / "o"
    assert main(["conserve", str(path), "--agents", "--method", "library", "--out", str(out), "--quiet"]) == 0
    import json

    summary = json.loads((out / "summary.json").read_text())
    assert summary["laws"], summary["message"]  # the ideal mill: angular momentum and radius are conserved
