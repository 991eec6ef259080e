import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.dynamics import (
    HAMILTONIAN_SYSTEMS,
    conserved_drift,
    get_system,
    list_systems,
    sample_energy_shell,
    simulate,
)
from physlaw.errors import InputError

ALIASES = {"kepler": "kepler-2d"}


@pytest.mark.parametrize("name", [n for n in HAMILTONIAN_SYSTEMS if n not in ALIASES])
def test_simulators_conserve_their_quantities(name, key):
    ds = simulate(name, key, num_trajectories=4, num_times=24)
    drift = ds.metadata["conserved_drift"]
    assert drift.keys() == get_system(name).conserved.keys()
    for quantity, value in drift.items():
        assert value < 1e-5, (name, quantity, value)
    assert ds.metadata["energy_error_max_rel"] < 1e-5
    # exact derivatives are Hamilton's equations: compare with finite differences of the trajectory
    fd = np.gradient(ds.x, ds.metadata["dt"], axis=1)[:, 2:-2]
    assert np.max(np.abs(fd - ds.derivatives()[:, 2:-2])) < 0.1 * (1 + np.max(np.abs(fd)))


@pytest.mark.parametrize("name, quantity", [("pendulum", "p"), ("kepler-2d", "p"), ("harmonic-2d-aniso", "L")])
def test_non_conserved_quantities_do_drift_negative_control(name, quantity, key):
    ds = simulate(name, key, num_trajectories=4)
    s = get_system(name)
    fn = (lambda q, p: p[0]) if quantity == "p" else (lambda q, p: q[0] * p[1] - q[1] * p[0])
    probe = type(s)(**{**s.__dict__, "conserved": {"x": fn}})
    assert conserved_drift(probe, ds.q, ds.p)["x"] > 1e-2


@pytest.mark.parametrize("name, energy", [("kepler-2d", -0.5), ("harmonic-2d", 1.3), ("double-pendulum", -20.0),
                                          ("pendulum", 2.0), ("free-particle-2d", 0.7)])
def test_energy_shell(name, energy, key):
    s = get_system(name)
    q, p = sample_energy_shell(s, key, 64, energy)
    np.testing.assert_allclose(jax.vmap(s.hamiltonian)(q, p), energy, rtol=1e-9, atol=1e-9)
    ds = simulate(name, key, num_trajectories=3, energy=energy, num_times=10)
    np.testing.assert_allclose(s.energy(ds.x), energy, rtol=1e-5, atol=1e-6)


def test_unreachable_energy_shell_is_an_input_error(key):
    with pytest.raises(InputError, match="not reachable"):
        sample_energy_shell(get_system("harmonic-1d"), key, 4, -1.0)


def test_noise_and_metadata(key):
    clean = simulate("spring", key, num_trajectories=50, seed=3)
    noisy = simulate("spring", key, num_trajectories=50, noise=0.1, seed=3)
    assert abs(np.std(noisy.x - clean.x) - 0.1) < 0.005
    np.testing.assert_array_equal(noisy.dq, clean.dq)
    assert noisy.metadata["seed"] == 3 and noisy.metadata["system"] == "spring"
    assert noisy.coordinate_names == ("q1", "p1")


def test_greydanus_conventions():
    x = jnp.array([0.3, -0.7])
    assert np.isclose(get_system("spring").energy(x), 0.3**2 + 0.7**2)
    assert np.isclose(get_system("pendulum").energy(x), 3 * (1 - np.cos(0.3)) + 0.7**2)


def test_list_and_unknown_system():
    names = list_systems()
    for name in ("kepler", "couzin", "spring", "pendulum", "double-pendulum", "two-body", "boids", "sphere"):
        assert name in names
    with pytest.raises(InputError, match="unknown"):
        get_system("nope")


def test_sphere(key):
    ds = simulate("sphere", key, num_trajectories=200)
    pts = ds.points()
    np.testing.assert_allclose(np.linalg.norm(pts, axis=1), 1.0, rtol=1e-12)
    assert np.all(pts[:, 2] >= 0) and ds.p.shape == (200, 1, 0)
