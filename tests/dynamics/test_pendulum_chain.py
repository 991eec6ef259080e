"""The n-pendulum ``pendulum-chain``: n = 2 is the double pendulum, the mass matrix is the chain's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.dynamics import get_system, simulate
from physlaw.errors import InputError

PARAMS = dict(m1=1.3, m2=0.7, l1=0.8, l2=1.2, g=3.0)


def _states(key, n, num=16):
    k1, k2 = jax.random.split(key)
    return jax.random.normal(k1, (num, n)), jax.random.normal(k2, (num, n))


def _chain2(**kw):
    return get_system("pendulum-chain", n=2, m=(PARAMS["m1"], PARAMS["m2"]), l=(PARAMS["l1"], PARAMS["l2"]),
                      g=PARAMS["g"], **kw)


def test_two_links_are_the_double_pendulum(key):
    chain, double = _chain2(), get_system("double-pendulum", **PARAMS)
    q, p = _states(key, 2)
    h_chain = jax.vmap(chain.hamiltonian)(q, p)
    h_double = jax.vmap(double.hamiltonian)(q, p)
    np.testing.assert_allclose(h_chain, h_double, rtol=1e-10, atol=1e-12)
    x = jnp.concatenate([q, p], axis=-1)
    np.testing.assert_allclose(jax.vmap(lambda y: chain.vector_field(0.0, y))(x),
                               jax.vmap(lambda y: double.vector_field(0.0, y))(x), rtol=1e-9, atol=1e-10)
    # unit masses and lengths: the chain's default g = 1 against the double pendulum's g = 9.81 set to 1
    np.testing.assert_allclose(jax.vmap(get_system("pendulum-chain", n=2).hamiltonian)(q, p),
                               jax.vmap(get_system("double-pendulum", g=1.0).hamiltonian)(q, p), rtol=1e-10)


def test_swapped_masses_differ_negative_control(key):
    """The comparison above can fail: the chain with its two masses swapped is another system."""
    swapped = get_system("pendulum-chain", n=2, m=(PARAMS["m2"], PARAMS["m1"]), l=(PARAMS["l1"], PARAMS["l2"]),
                         g=PARAMS["g"])
    q, p = _states(key, 2)
    diff = jax.vmap(swapped.hamiltonian)(q, p) - jax.vmap(get_system("double-pendulum", **PARAMS).hamiltonian)(q, p)
    assert float(jnp.max(jnp.abs(diff))) > 0.1


def test_three_link_energy_is_the_cartesian_one(key):
    """T and V of n = 3 from the Cartesian positions and velocities of the masses."""
    m, l, g = (0.9, 1.1, 1.3), (1.2, 0.7, 1.0), 2.0
    chain = get_system("pendulum-chain", n=3, m=m, l=l, g=g)
    q, v = _states(key, 3)

    def cartesian_energy(q, v):
        xs = jnp.cumsum(jnp.asarray(l) * jnp.sin(q))
        ys = -jnp.cumsum(jnp.asarray(l) * jnp.cos(q))
        vx, vy = jax.jvp(lambda a: (jnp.cumsum(jnp.asarray(l) * jnp.sin(a)),
                                    -jnp.cumsum(jnp.asarray(l) * jnp.cos(a))), (q,), (v,))[1]
        del xs
        return 0.5 * jnp.sum(jnp.asarray(m) * (vx**2 + vy**2)) + g * jnp.sum(jnp.asarray(m) * ys)

    # p = ∂T/∂q̇ of the Cartesian kinetic energy, then H(q, p) must equal T + V
    p = jax.vmap(jax.grad(cartesian_energy, argnums=1))(q, v)
    np.testing.assert_allclose(jax.vmap(chain.hamiltonian)(q, p), jax.vmap(cartesian_energy)(q, v), rtol=1e-10)
    ds = simulate("pendulum-chain", key, num_trajectories=3, num_times=20, n=3)
    assert ds.q.shape == (3, 20, 3) and ds.metadata["parameters"]["n"] == 3
    assert ds.metadata["energy_error_max_rel"] < 1e-6


@pytest.mark.parametrize("kw", [dict(n=1), dict(n=2.5), dict(n=3, m=(1.0, 2.0)), dict(n=3, l=-1.0), dict(n=3, g=0.0)])
def test_bad_parameters_are_refused(kw):
    with pytest.raises(InputError, match="pendulum-chain"):
        get_system("pendulum-chain", **kw)
