import jax
import numpy as np
import pytest

from physlaw.dynamics import (
    BoidsParams,
    CouzinParams,
    milling_index,
    polarisation,
    run_swarm,
    simulate,
)


def test_order_parameters_on_known_configurations():
    phi = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    ring = np.stack([np.cos(phi), np.sin(phi)], -1)
    tangent = np.stack([-np.sin(phi), np.cos(phi)], -1)
    assert np.isclose(milling_index(ring, tangent), 1.0) and polarisation(tangent) < 1e-6
    parallel = np.tile([[0.0, 2.0]], (50, 1))
    assert np.isclose(polarisation(parallel), 1.0) and milling_index(ring, parallel) < 1e-6


def test_couzin_mills_at_the_documented_parameters():
    # narrow orientation zone (Δr_o = 1), wide attraction zone (Δr_a = 13): a torus within 100 s
    traj = run_swarm(jax.random.key(0), CouzinParams(), num_steps=1000, record_every=250)
    m = milling_index(traj.position, traj.velocity)
    p = polarisation(traj.velocity)
    assert float(m[-1]) > 0.6 and float(p[-1]) < 0.3, (m, p)
    # agents keep the constant speed 3
    np.testing.assert_allclose(np.linalg.norm(traj.velocity[-1], axis=-1), 3.0, rtol=1e-5)


def test_couzin_wide_orientation_zone_does_not_mill_negative_control():
    traj = run_swarm(jax.random.key(0), CouzinParams(r_orientation=7.0), num_steps=1000, record_every=250)
    assert float(milling_index(traj.position[-1], traj.velocity[-1])) < 0.4


def test_boids_flock_and_keep_speed_limits():
    params = BoidsParams(num_agents=40)
    traj = run_swarm(jax.random.key(1), params, num_steps=400, record_every=400)
    speed = np.linalg.norm(traj.velocity[-1], axis=-1)
    assert np.all(speed >= params.min_speed - 1e-9) and np.all(speed <= params.max_speed + 1e-9)
    assert float(polarisation(traj.velocity[-1])) > float(polarisation(traj.velocity[0]))


def test_swarm_dataset_is_relative_to_the_group():
    ds = simulate("couzin", jax.random.key(2), num_trajectories=1, num_times=4, dt=0.5, burn_in=10.0, num_agents=20)
    assert ds.q.shape == (20, 4, 2) and ds.coordinate_names == ("q1", "q2", "p1", "p2")
    np.testing.assert_allclose(ds.q.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(ds.p.mean(axis=0), 0.0, atol=1e-9)
    assert len(ds.metadata["milling_index"]) == 1


@pytest.mark.slow
def test_couzin_mills_in_most_runs_from_random_starts():
    # 8 independent random starts, 150 s each: the torus should be the typical outcome
    milling = []
    for seed in range(8):
        traj = run_swarm(jax.random.key(100 + seed), CouzinParams(), num_steps=1500, record_every=1500)
        milling.append(float(milling_index(traj.position[-1], traj.velocity[-1])))
    assert sum(m > 0.6 for m in milling) >= 6, milling


def test_collective_coordinates_and_agents_dataset_on_an_ideal_mill():
    from physlaw.dynamics import agents_dataset, collective_coordinates

    rng = np.random.default_rng(0)
    r, phase = rng.uniform(2, 4, 10), rng.uniform(0, 2 * np.pi, 10)
    t = 0.1 * np.arange(60)
    ang = phase[None] + t[:, None] / r[None]
    drift = np.stack([0.2 * t, 0 * t], -1)[:, None]
    pos = drift + r[None, :, None] * np.stack([np.cos(ang), np.sin(ang)], -1)
    vel = np.array([0.2, 0.0]) + np.stack([-np.sin(ang), np.cos(ang)], -1)
    q, p = collective_coordinates(pos, vel)
    np.testing.assert_allclose(q.mean(1), 0, atol=1e-12)
    np.testing.assert_allclose(p.mean(1), 0, atol=1e-12)
    ds = agents_dataset(t[None], pos[None])
    assert ds.q.shape == (10, 60, 2) and ds.metadata["milling_index"][0] > 0.9
    np.testing.assert_allclose(ds.q, np.swapaxes(q, 0, 1), atol=1e-12)
    assert np.abs(ds.p - np.swapaxes(p, 0, 1)).max() < 1e-3
    # negative control: a polarised school (common heading, no rotation) has no angular momentum to speak of
    straight = np.stack([t, 0 * t], -1)[:, None] + rng.uniform(-3, 3, (1, 10, 2))
    ds0 = agents_dataset(t[None], straight[None])
    assert ds0.metadata["polarisation"][0] > 0.99 and np.abs(ds0.p).max() < 1e-9
    with pytest.raises(Exception, match="NaN"):
        agents_dataset(t[None], np.where(t[None, :, None, None] == t[5], np.nan, pos[None]))


@pytest.mark.slow
def test_couzin_mill_read_back_from_a_wide_table_keeps_its_angular_momentum(tmp_path):
    # the simulated school, written as a user's tracking table with a gap, read with --agents semantics
    from physlaw.dynamics import SwarmState
    from physlaw.io.trajectories import load_agents

    params = CouzinParams(num_agents=20)
    warm = run_swarm(jax.random.key(0), params, num_steps=1000, record_every=1000)
    traj = run_swarm(jax.random.key(1), params, num_steps=200, record_every=2,
                     state=SwarmState(warm.position[-1], warm.velocity[-1]))
    pos, _vel = np.asarray(traj.position), np.asarray(traj.velocity)
    t = 0.2 * np.arange(pos.shape[0])
    table = np.column_stack([t, pos.reshape(len(t), -1)])
    table[40, 3] = np.nan
    cols = ["t"] + [f"{c}_{i}" for i in range(20) for c in "xy"]
    np.savetxt(tmp_path / "school.csv", table, delimiter=",", header=",".join(cols), comments="")
    ds = load_agents(tmp_path / "school.csv", gaps="interpolate")
    assert ds.metadata["milling_index"][0] > 0.6
    ang = (ds.q[..., 0] * ds.p[..., 1] - ds.q[..., 1] * ds.p[..., 0]).mean(axis=0)  # group angular momentum per time
    scale = np.mean(np.linalg.norm(ds.q, axis=-1) * np.linalg.norm(ds.p, axis=-1))
    assert abs(ang.mean()) > 0.5 * scale and ang.std() < 0.2 * abs(ang.mean())
