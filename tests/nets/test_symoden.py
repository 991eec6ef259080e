"""SymODEN: a learned mechanical system with controls, its training windows and its energy-shaping controller."""

import dataclasses
import json
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.dynamics import closed_loop, get_controlled_system, simulate_controlled
from physlaw.errors import InputError
from physlaw.nets import SymODEN, energy_shaping_controller, symoden_arrays
from physlaw.nets._symoden import closed_loop_summary


def test_structure_power_balance_and_positive_mass():
    """dH/dt = (∂H/∂p)ᵀ g u exactly (no control: H conserved); M⁻¹ is positive definite everywhere."""
    net = SymODEN(4, controls=1, width=16, angles="1", key=jax.random.key(0))
    xs = jax.random.normal(jax.random.key(1), (64, 4)) * 2.0
    us = jax.random.normal(jax.random.key(2), (64, 1))

    def power(x, u):
        return jnp.dot(jax.grad(net.hamiltonian)(x), net.controlled_field(x, u)), (net.inverse_mass(x[:2]) @ x[2:]) @ (
            net.input_matrix(x[:2]) @ u)

    dh, supplied = jax.vmap(power)(xs, us)
    np.testing.assert_allclose(dh, supplied, rtol=1e-4, atol=1e-5)
    free = jax.vmap(lambda x: jnp.dot(jax.grad(net.hamiltonian)(x), net.vector_field(0.0, x)))(xs)
    assert float(jnp.max(jnp.abs(free))) < 1e-5
    assert float(jnp.max(jnp.abs(supplied))) > 1e-2  # negative control: the controls do change H
    eig = jax.vmap(lambda x: jnp.linalg.eigvalsh(net.inverse_mass(x[:2])))(xs)
    assert float(jnp.min(eig)) > 0
    # the angle coordinate is periodic: q2 and q2 + 2π give the same field
    shifted = xs.at[:, 1].add(2 * math.pi)
    np.testing.assert_allclose(jax.vmap(net.vector_field, (None, 0))(0.0, shifted),
                               jax.vmap(net.vector_field, (None, 0))(0.0, xs), rtol=1e-4, atol=1e-4)


class _TruePendulum(eqx.Module):
    """The pendulum's true M⁻¹ = 3, V = 5 (1 − cos q), g = 1, in SymODEN's interface."""

    def inverse_mass(self, q):
        return jnp.full((1, 1), 3.0)

    def potential(self, q):
        return 5.0 * jnp.sum(1.0 - jnp.cos(q))

    def input_matrix(self, q):
        return jnp.ones((1, 1))


def test_energy_shaping_swings_the_true_pendulum_up():
    plant = get_controlled_system("pendulum-controlled")
    ctrl = energy_shaping_controller(_TruePendulum(), jnp.array([math.pi]), kp=2.0, kd=1.0)
    x, u = closed_loop(plant, ctrl, jnp.zeros(2), dt=0.05, num_times=201)
    summary = closed_loop_summary(x, u, [math.pi], dt=0.05, angles=(0,))
    assert summary["reached"] and summary["max_final_error"] < 1e-3, summary
    assert summary["settling_time"] is not None and summary["settling_time"] < 6.0
    # negative control: without the shaped potential (kp → 0) the pendulum stays down
    lazy = energy_shaping_controller(_TruePendulum(), jnp.array([math.pi]), kp=1e-6, kd=1.0)
    x0, u0 = closed_loop(plant, lazy, jnp.zeros(2), dt=0.05, num_times=201)
    assert not closed_loop_summary(x0, u0, [math.pi], dt=0.05, angles=(0,))["reached"]


def test_windows_unwrap_angles_and_refuse_bad_data():
    data = simulate_controlled("pendulum-controlled", jax.random.key(3), num_trajectories=2, num_times=8)
    wrapped = dataclasses.replace(data, q=np.angle(np.exp(1j * (data.q + 3.0))))
    rows, controls, h = symoden_arrays(wrapped, window=4, angles=(0,))
    assert rows.shape == (10, 4, 2) and controls.shape == (10, 3, 1) and h.shape == (10,)
    assert float(jnp.max(jnp.abs(jnp.diff(rows[:, :, 0], axis=1)))) < 1.0  # no 2π jumps left
    with pytest.raises(InputError, match="control"):
        symoden_arrays(dataclasses.replace(data, u=None, control_names=()), window=4)
    t = data.t.copy()
    t[1, 5] += 0.01
    with pytest.raises(InputError, match="trajectory 1 has uneven time steps"):
        symoden_arrays(dataclasses.replace(data, t=t), window=4)


def test_cli_trains_mass_input_and_potential_then_controls(cli, tmp_path):
    """simulate → train → control from the command line; the trained networks match the true pendulum."""
    from physlaw.io.networks import load_model

    data = tmp_path / "pend.csv"
    code, out, err = cli("simulate", "pendulum-controlled", "--num-trajectories", 32, "--num-times", 12, "--out", data)
    assert code == 0, err
    assert data.read_text().splitlines()[0] == "trajectory,t,q1,p1,u1"
    code, out, err = cli("train", "symoden", data, "--out", tmp_path / "m", "--steps", 300, "--width", 32,
                         "--batch-size", 64, "--validation-fraction", 0, "--eval-every", 100, "--angles", 0)
    assert code == 0, err
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model"]["controls"] == 1 and config["data_metadata"]["u_columns"] == ["u1"]
    assert config["model"]["angles"] == "0"
    history = config["history"]
    assert history[-1][1] < 1e-2 * history[0][1]
    model, _ = load_model(tmp_path / "m")
    q = jnp.linspace(-2.5, 2.5, 11)[:, None]
    m_inv = jax.vmap(model.inverse_mass)(q)[:, 0, 0]
    g = jax.vmap(model.input_matrix)(q)[:, 0, 0]
    dv = jax.vmap(jax.grad(model.potential))(q)[:, 0]
    assert float(jnp.max(jnp.abs(m_inv / 3.0 - 1))) < 0.1, m_inv  # true M⁻¹ = 3, g = 1, V' = 5 sin q
    assert float(jnp.max(jnp.abs(g - 1))) < 0.1, g
    assert float(jnp.max(jnp.abs(dv - 5 * jnp.sin(q[:, 0])))) < 0.5, dv
    # negative control: the untrained network is far off
    fresh = SymODEN(2, controls=1, width=32, key=jax.random.key(1))
    assert float(jnp.max(jnp.abs(jax.vmap(fresh.inverse_mass)(q)[:, 0, 0] / 3.0 - 1))) > 0.3

    code, out, err = cli("control", tmp_path / "m", "--target", math.pi, "--system", "pendulum-controlled",
                         "--out", tmp_path / "c")
    assert code == 0, err
    summary = json.loads((tmp_path / "c" / "summary.json").read_text())
    assert summary["plant"] == "the true pendulum-controlled" and summary["fully_actuated"]
    assert summary["max_final_error"] < 0.3, summary  # a short training run: near upright from hanging down
    assert (tmp_path / "c" / "closed_loop.png").stat().st_size > 0
    code, out, err = cli("evaluate", tmp_path / "m", "--system", "pendulum-controlled", "--out", tmp_path / "e.json",
                         "--num-trajectories", 3, "--t-max", 2)
    assert code == 0, err
    metrics = json.loads((tmp_path / "e.json").read_text())
    assert metrics["derivative_mse"] < 1.0 and metrics["energy_mse"] >= 0  # the free dynamics, u = 0
    # refusals: one line, exit 2, nothing written
    code, out, err = cli("train", "hnn", data, "--u", "u1", "--out", tmp_path / "x")
    assert code == 2 and "--u" in err and not (tmp_path / "x").exists()
    code, out, err = cli("train", "hnn", data, "--velocities", "--out", tmp_path / "x")
    assert code == 2 and "--velocities applies to symoden" in err and not (tmp_path / "x").exists()
    code, out, err = cli("train", "hnn", data, "--fixed-starts", "--out", tmp_path / "x")
    assert code == 2 and "--fixed-starts applies to vin" in err and not (tmp_path / "x").exists()
    code, out, err = cli("control", tmp_path / "m", "--target", 1, 2, "--out", tmp_path / "y")
    assert code == 2 and "--target needs 1" in err and not (tmp_path / "y").exists()


def test_control_columns_are_read_and_checked(tmp_path):
    from physlaw.io.trajectories import load_dataset

    good = tmp_path / "c.csv"
    good.write_text("trajectory,t,q1,p1,u1,other\n0,0,0.1,0.2,1.0,5\n0,0.1,0.2,0.3,-1.0,5\n1,0,0.0,0.1,0.5,5\n1,0.1,0.1,0.1,0.5,5\n")
    ds = load_dataset(good)
    assert ds.control_names == ("u1",) and ds.u.shape == (2, 2, 1) and ds.u[0, 1, 0] == -1.0
    assert load_dataset(good, u=["other"]).control_names == ("other",)
    with pytest.raises(InputError, match="both as a coordinate and as a control"):
        load_dataset(good, q=["q1"], p=["p1"], u=["q1"])
    with pytest.raises(InputError, match="no columns"):
        load_dataset(good, u=["torque"])
    bad = tmp_path / "bad.csv"
    bad.write_text("trajectory,t,q1,p1,u1\n0,0,0.1,0.2,1.0\n0,0.1,0.2,0.3,nan\n")
    with pytest.raises(InputError, match="line 3"):
        load_dataset(bad)


def test_velocity_data_model_is_the_same_flow_in_positions_and_velocities():
    """With velocity data the state is (q, q̇): p = M_θ(q) q̇ in, q̇ = M⁻¹_θ(q) p out, the same learned flow."""
    net = SymODEN(4, controls=1, width=16, angles="0", velocity_data=True, key=jax.random.key(4))
    assert net.state == "qv" and SymODEN(2, width=4, key=jax.random.key(0)).state == "qp"
    xs = jax.random.normal(jax.random.key(5), (16, 4))
    back = jax.vmap(lambda x: net.velocities_of(net.momenta_of(x)))(xs)
    np.testing.assert_allclose(back, xs, rtol=1e-4, atol=1e-5)
    h = 1e-3

    def central(x):  # d/dt of (q, q̇) along the (q, p) flow, by a central difference
        y = net.momenta_of(x)
        f = net.controlled_field(y, jnp.zeros(1))
        return (net.velocities_of(y + h * f) - net.velocities_of(y - h * f)) / (2 * h)

    np.testing.assert_allclose(jax.vmap(net.vector_field, (None, 0))(0.0, xs), jax.vmap(central)(xs), rtol=2e-2, atol=2e-3)
    traj = net.predict(xs[0], jnp.ones((5, 1)), 0.05)
    assert traj.shape == (6, 4) and np.allclose(traj[0], xs[0], atol=1e-5)
