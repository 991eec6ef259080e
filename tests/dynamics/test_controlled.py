"""Controlled systems: the free flow conserves H, controls supply exactly the power q̇ᵀ g u."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.dynamics import CONTROLLED_SYSTEMS, get_controlled_system, simulate_controlled
from physlaw.errors import InputError


@pytest.mark.parametrize("name", sorted(CONTROLLED_SYSTEMS))
def test_free_flow_conserves_energy_and_controls_supply_power(name):
    system = get_controlled_system(name)
    free = simulate_controlled(system, jax.random.key(0), num_trajectories=4, num_times=100, u_max=0.0)
    assert np.all(free.u == 0) and free.control_names == ("u1",)
    energy = system.energy(jnp.asarray(free.x))
    scale = float(jnp.mean(jnp.abs(energy))) + 1.0
    assert float(jnp.max(jnp.abs(energy - energy[:, :1]))) < 1e-5 * scale
    driven = simulate_controlled(system, jax.random.key(0), num_trajectories=4, num_times=100)
    e_driven = system.energy(jnp.asarray(driven.x))
    assert float(jnp.max(jnp.abs(e_driven - e_driven[:, :1]))) > 1e-2 * scale  # negative control: controls do work
    # dH/dt = ∇H · f(x, u) = q̇ᵀ g(q) u exactly, at every recorded state
    x, u = jnp.asarray(driven.x).reshape(-1, 2 * system.dim), jnp.asarray(driven.u).reshape(-1, 1)
    d = system.dim
    dh = jax.vmap(lambda y, v: jnp.dot(jax.grad(system.energy)(y), system.controlled_field(y, v)))(x, u)
    power = jax.vmap(lambda y, v: system.velocity(y) @ system.input_fn(y[:d]) @ v)(x, u)
    np.testing.assert_allclose(dh, power, rtol=1e-4, atol=1e-5)
    eig = jax.vmap(lambda y: jnp.linalg.eigvalsh(system.mass_fn(y[:d])))(x)
    assert float(jnp.min(eig)) > 0


def test_controls_are_held_and_bad_settings_refused():
    data = simulate_controlled("acrobot", jax.random.key(1), num_trajectories=2, num_times=9, hold=3)
    u = data.u[..., 0]
    assert np.all(u[:, 0] == u[:, 2]) and np.all(u[:, 3] == u[:, 5]) and np.all(np.abs(u) <= 2.0)
    with pytest.raises(InputError, match="unknown controlled system"):
        get_controlled_system("segway")
    with pytest.raises(InputError, match="hold"):
        simulate_controlled("acrobot", jax.random.key(1), hold=0)
