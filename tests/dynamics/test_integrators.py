import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.dynamics import get_system, integrate_ode, integrate_separable


def _energy_error(method, substeps):
    sys_ = get_system("pendulum")
    grad_t = jax.grad(lambda p: sys_.kinetic_fn(None, p))
    grad_v = jax.grad(sys_.potential_fn)
    q0, p0 = jnp.array([1.5]), jnp.array([0.5])
    q, p = integrate_separable(grad_t, grad_v, q0, p0, 0.5, 21, method=method, substeps=substeps)
    h = jax.vmap(sys_.hamiltonian)(q, p)
    return float(jnp.max(jnp.abs(h - h[0])))


@pytest.mark.parametrize("method, order", [("leapfrog", 2), ("yoshida4", 4)])
def test_energy_error_shrinks_at_the_integrators_order(method, order):
    errors = [_energy_error(method, n) for n in (4, 8, 16)]
    slopes = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(slopes - order) < 0.35), (errors, slopes)


def test_rk4_global_error_is_fourth_order():
    def err(n):
        x = integrate_ode(lambda t, x: jnp.array([x[1], -x[0]]), jnp.array([1.0, 0.0]), 1.0, 3, substeps=n)
        return float(jnp.max(jnp.abs(x[-1] - jnp.array([jnp.cos(2.0), -jnp.sin(2.0)]))))

    e = [err(n) for n in (4, 8, 16)]
    assert all(abs(np.log2(a / b) - 4) < 0.3 for a, b in zip(e, e[1:])), e


def test_rk4_is_not_symplectic_energy_drifts_negative_control():
    # RK4 dissipates the oscillator's energy steadily, unlike Yoshida at the same cost
    # (|R(ih)|² = 1 − h⁶/72 + … per step): after 2000 steps of h = 0.5 it has lost ~35 %,
    # while the symplectic integrator's energy error stays bounded at the same step size.
    x = integrate_ode(lambda t, x: jnp.array([x[1], -x[0]]), jnp.array([1.0, 0.0]), 0.5, 2000)
    rk4_loss = float(0.5 - 0.5 * jnp.sum(x[-1] ** 2))
    q, p = integrate_separable(lambda p: p, lambda q: q, jnp.array([1.0]), jnp.array([0.0]), 0.5, 2000,
                               method="yoshida4")
    yoshida_error = float(jnp.max(jnp.abs(0.5 * (q**2 + p**2) - 0.5)))
    assert rk4_loss > 0.1 and yoshida_error < 0.01


def test_bad_method_raises():
    with pytest.raises(ValueError):
        integrate_separable(lambda p: p, lambda q: q, jnp.ones(1), jnp.ones(1), 0.1, 3, method="rk4")
