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
