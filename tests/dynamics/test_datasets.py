from pathlib import Path

import numpy as np
import pytest

from physlaw.dynamics import Dataset, simulate
from physlaw.io.trajectories import load_dataset, save_csv, save_dataset
from physlaw.errors import InputError

REAL_PENDULUM = Path(__file__).resolve().parents[3] / "shared/data/schmidt-lipson-2009/real_pend_h_1.txt"


def test_npz_round_trip(tmp_path, key):
    ds = simulate("kepler", key, num_trajectories=3, num_times=7, noise=0.01, seed=5)
    save_dataset(tmp_path / "k.npz", ds)
    with np.load(tmp_path / "k.npz", allow_pickle=False) as f:
        assert set(f.files) == {"q", "p", "t", "coordinate_names", "metadata", "dq", "dp"}
    back = load_dataset(tmp_path / "k.npz")
    for name in ("q", "p", "t", "dq", "dp"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ds, name))
    assert back.coordinate_names == ds.coordinate_names
    assert back.metadata == ds.metadata and back.metadata["seed"] == 5 and back.metadata["dt"] == 0.1


def test_csv_round_trip_and_finite_differences(tmp_path, key):
    ds = simulate("harmonic-1d", key, num_trajectories=2, num_times=200, dt=0.01)
    save_csv(tmp_path / "h.csv", ds)
    back = load_dataset(tmp_path / "h.csv")
    np.testing.assert_allclose(back.x, ds.x, rtol=1e-12)
    assert back.dq is None
    np.testing.assert_allclose(back.derivatives()[:, 1:-1], ds.derivatives()[:, 1:-1], atol=1e-4)


def test_transition_pairs():
    q = np.arange(12.0).reshape(2, 3, 2)
    ds = Dataset(q[..., :1], q[..., 1:], np.zeros((2, 3)), ("q1", "p1"))
    pairs = ds.transition_pairs()
    assert pairs.shape == (4, 4)
    np.testing.assert_array_equal(pairs[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(ds.transition_pairs(2), [[0, 1, 4, 5], [6, 7, 10, 11]])
    with pytest.raises(InputError):
        ds.transition_pairs(3)


@pytest.mark.skipif(not REAL_PENDULUM.exists(), reason="shared data not present")
def test_schmidt_lipson_file_reads_theta_omega_as_q_p():
    ds = load_dataset(REAL_PENDULUM)
    assert ds.q.shape == (1, 556, 1) and ds.p.shape == (1, 556, 1)
    assert ds.coordinate_names == ("o", "v")
    assert np.all(np.diff(ds.t[0]) > 0)
    # ω is the time derivative of θ: finite differences agree with it
    fd = ds.derivatives()[0, :, 0]
    assert np.corrcoef(fd, ds.p[0, :, 0])[0, 1] > 0.95


def test_csv_column_override_and_errors(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("trajectory,t,x,v,z\n0,0,1,2,9\n0,1,2,3,9\n1,0,3,4,9\n1,1,4,5,9\n")
    ds = load_dataset(f, q=["x"], p=["v"])
    assert ds.q.shape == (2, 2, 1) and ds.coordinate_names == ("x", "v")
    with pytest.raises(InputError, match="no columns"):
        load_dataset(f, q=["nope"], p=["v"])
    (tmp_path / "ragged.csv").write_text("trajectory,t,q1,p1\n0,0,1,2\n0,1,2,3\n1,0,3,4\n")
    with pytest.raises(InputError, match="different numbers of rows"):
        load_dataset(tmp_path / "ragged.csv")
    (tmp_path / "bad.csv").write_text("trajectory,t,q1,p1\n0,0,one,2\n")
    with pytest.raises(InputError, match="non-numeric"):
        load_dataset(tmp_path / "bad.csv")
    with pytest.raises(InputError, match="does not exist"):
        load_dataset(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(InputError, match="cannot read"):
        load_dataset(tmp_path / "junk.npz")


# --------------------------------------------------------------------------------------------
# gaps and windows (physlaw.dynamics.repair_gaps)


def test_repair_gaps_drop_windows_and_accounting():
    from physlaw.dynamics import repair_gaps

    t = np.arange(50.0)
    x = np.stack([t, -t], 1)
    x[[10, 11, 30], 0] = np.nan  # stretches 0-9 (10), 12-29 (18), 31-49 (19)
    tw, xw, rep = repair_gaps([(t, x), (t[:20], np.ones((20, 2)))], mode="drop", min_length=7)
    assert (rep.num_missing, rep.num_gaps, rep.longest_gap, rep.num_segments) == (3, 2, 2, 4)
    assert rep.window_length == 18 and xw.shape == (3, 18, 2)  # 18, 19 and 20 each give one window of 18
    assert rep.samples_kept + rep.samples_dropped == 47 + 20
    for (k, first), tt, xx in zip(rep.sources, tw, xw):
        assert np.all(np.isfinite(xx)) and np.all(np.diff(tt) == 1.0)
        if k == 0:
            np.testing.assert_array_equal(xx[:, 1], -tt)
    with pytest.raises(InputError, match="gaps must be one of"):
        repair_gaps([(t, x)], mode="zero")


def test_repair_gaps_interpolate_is_exact_on_cubics_and_refuses_long_gaps():
    from physlaw.dynamics import repair_gaps

    t = np.sort(np.random.default_rng(0).uniform(0, 5, 40))
    truth = np.stack([t**3 - 2 * t, 0.5 * t**2], 1)
    x = truth.copy()
    x[[5, 6, 7], 0] = np.nan
    x[20, 1] = np.nan
    x[0] = np.nan  # a leading gap cannot be interpolated: dropped
    _, xw, rep = repair_gaps([(t, x)], mode="interpolate", max_gap=3)
    assert rep.num_filled == 4 and xw.shape == (1, 39, 2)
    # a not-a-knot cubic spline reproduces cubics (up to round-off)
    np.testing.assert_allclose(xw[0], truth[1:], atol=1e-8)
    with pytest.raises(InputError, match="gap of 3 missing samples.*max_gap = 2"):
        repair_gaps([(t, x)], mode="interpolate", max_gap=2)


def test_finite_differences_live_in_dynamics_and_match_the_library_route():
    from physlaw.dynamics import finite_differences
    from physlaw.symmetry._baseline import finite_differences as library_fd

    t = np.sort(np.random.default_rng(1).uniform(0, 3, 30))[None]
    x = np.stack([np.sin(t), t**2], -1)
    np.testing.assert_allclose(finite_differences(x, t, stencil=7, order=3), library_fd(x, t, stencil=7, order=3))
