"""The non-Hamiltonian test flows: their invariants hold, their energies do not, derivatives are right."""

import jax
import numpy as np
import pytest

from physlaw.dynamics import FLOW_SYSTEMS, get_system, simulate
from physlaw.errors import InputError


@pytest.mark.parametrize("name", list(FLOW_SYSTEMS))
def test_flows_simulate_with_exact_derivatives(name, key):
    ds = simulate(name, key, num_trajectories=4, num_times=40)
    system = get_system(name)
    assert ds.coordinate_names == system.coordinate_names and np.all(np.isfinite(ds.x))
    drift = ds.metadata["conserved_drift"]
    for quantity in system.invariants:
        assert drift[quantity] < 1e-6, (name, quantity, drift)
    # stored derivatives are the vector field at the record times
    at = jax.vmap(jax.vmap(lambda t, y: system.vector_field(t, y)))(ds.t, ds.x)
    np.testing.assert_allclose(ds.derivatives(), at, rtol=1e-6, atol=1e-9)


def test_damped_energy_decays_at_two_zeta_omega_negative_control(key):
    ds = simulate("damped-oscillator", key, num_trajectories=8, num_times=200, omega=2.0, zeta=0.05)
    e = np.asarray(get_system("damped-oscillator", omega=2.0, zeta=0.05).energy(ds.x))
    t = ds.t[0]
    rate = -np.polyfit(t, np.log(e).T, 1)[0]
    np.testing.assert_allclose(rate, 0.2, rtol=0.05)
    und = simulate("damped-oscillator", key, num_trajectories=8, num_times=200, omega=2.0, zeta=0.0)
    assert und.metadata["conserved_drift"]["energy"] < 1e-6  # zeta = 0: the energy is conserved


def test_henon_heiles_energy_in_chaotic_band(key):
    ds = simulate("henon-heiles", key, num_trajectories=16, num_times=20)
    e = get_system("henon-heiles").energy(ds.x)
    assert np.all((e > 0.124) & (e < 0.161)) and ds.metadata["energy_error_max_rel"] < 1e-6


def test_duffing_is_chaotic_and_flows_refuse_energy_shells(key):
    a = simulate("duffing-driven", key, num_trajectories=2, num_times=40)
    q0, p0 = a.x[:, 0, :1], a.x[:, 0, 1:]
    from physlaw.dynamics import integrate_system

    s = get_system("duffing-driven")
    q, p = integrate_system(s, q0 + 1e-8, p0, s.dt, 40)
    assert np.max(np.abs(np.asarray(q)[:, -1] - a.q[:, -1])) > 1e-2  # sensitive dependence
    with pytest.raises(InputError, match="not a Hamiltonian"):
        simulate("lotka-volterra", key, num_trajectories=2, energy=1.0)


def test_damped_pendulums_lose_energy_at_the_dissipation_rate_negative_control(key):
    from physlaw.dynamics import modal_damping

    for name, kw, rate in (("damped-pendulum", dict(zeta=0.05), lambda x: -2 * 0.05 * x[:, 1] ** 2),
                           ("damped-double-pendulum", dict(b=0.4), lambda x: -0.4 * (x[:, 2] ** 2 + x[:, 3] ** 2))):
        ds = simulate(name, key, num_trajectories=4, num_times=200, **kw)
        e = np.asarray(get_system(name, **kw).energy(ds.x))
        assert np.all(e >= -1e-12) and np.all(np.diff(e, axis=1) <= 1e-9)  # zero at rest, never gained
        # dE/dt = -R: the energy lost over the record is the integral of the dissipation (trapezoid)
        loss = [np.trapezoid(rate(x), t) for x, t in zip(ds.x, ds.t)]
        np.testing.assert_allclose(e[:, -1] - e[:, 0], loss, rtol=2e-3)
        undamped = simulate(name, key, num_trajectories=4, num_times=200, **{k: 0.0 for k in kw})
        assert undamped.metadata["conserved_drift"]["energy"] < 1e-5 * np.max(e)
    slow, fast = modal_damping(b=0.4)
    assert 0.02 < slow < fast < 0.1
