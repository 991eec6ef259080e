"""VIN: the variational integrator network (learned discrete Lagrangian, positions only, Störmer–Verlet)."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.dynamics import simulate
from physlaw.errors import InputError
from physlaw.io.networks import load_model, save_model
from physlaw.nets import VIN, TrainConfig, make_model, train, uniform_step, vin_arrays, vin_loss


class Quadratic(eqx.Module):
    """``V(q) = ½ Σ k_i q_i²``: the true potential, put in place of the MLP."""

    k: jax.Array

    def __call__(self, x):
        return 0.5 * jnp.sum(self.k * x**2)


def _true_vin(k, log_diag):
    """A VIN whose ``V`` is ``Quadratic(k)`` and whose ``M`` has Cholesky log-diagonal ``log_diag`` (centred)."""
    d = len(k)
    net = VIN(2 * d, width=4, key=jax.random.key(0))
    return eqx.tree_at(lambda m: (m.mlp_v, m.log_diag), net, (Quadratic(jnp.asarray(k)), jnp.asarray(log_diag)))


def test_true_potential_gives_stormer_verlet_and_bounded_discrete_energy():
    net = _true_vin([1.0, 2.0], [np.log(2.0) / 2, -np.log(2.0) / 2])
    np.testing.assert_allclose(net.mass_matrix(), np.diag([2.0, 0.5]), rtol=1e-6)
    assert abs(float(jnp.linalg.det(net.mass_matrix())) - 1.0) < 1e-5  # the scale is fixed by det M = 1
    h = 0.01
    q_prev, q = jnp.array([1.0, 0.5]), jnp.array([0.99, 0.52])
    verlet = 2 * q - q_prev - h**2 * jnp.array([1.0 / 2.0, 2.0 / 0.5]) * q  # M⁻¹∇V by hand
    np.testing.assert_allclose(net.step(q_prev, q, h), verlet, rtol=1e-6)

    n = 10_000
    omega = jnp.sqrt(jnp.array([0.5, 4.0]))
    q0 = jnp.array([1.0, 0.5])
    q1 = q0 * jnp.cos(omega * h)  # exact solution at t = h (zero initial velocity)
    traj = jax.jit(lambda a, b: net.rollout(a, b, h, n))(q0, q1)
    assert traj.shape == (n + 2, 2) and bool(jnp.all(jnp.isfinite(traj)))
    energy = jax.jit(jax.vmap(lambda a, b, c: net.energy(a, b, c, h)))(traj[:-2], traj[2:], traj[1:-1])
    rel = float((jnp.max(energy) - jnp.min(energy)) / jnp.mean(energy))
    assert rel < 1e-2, rel

    # negative control: explicit Euler on (q, q̇) of the same system gains energy step after step
    def euler(x, _):
        y = x + h * net.vector_field(0.0, x)
        return y, y

    _, xs = jax.jit(lambda x0: jax.lax.scan(euler, x0, None, length=n))(jnp.concatenate([q0, jnp.zeros(2)]))
    e_euler = jax.vmap(lambda x: 0.5 * x[2:] @ net.mass_matrix() @ x[2:] + net.potential(x[:2]))(xs)
    rel_euler = float((jnp.max(e_euler) - jnp.min(e_euler)) / e_euler[0])
    assert rel_euler > 10 * rel, (rel_euler, rel)


def test_continuous_limit_vector_field_is_qdot_and_minus_minv_grad_v():
    net = _true_vin([3.0], [0.0])
    x = jnp.array([0.4, -1.5])
    np.testing.assert_allclose(net.vector_field(0.0, x), [-1.5, -1.2], rtol=1e-6)


def test_training_on_spring_positions_reduces_loss_and_rollout_error():
    data = simulate("spring", jax.random.key(0), num_trajectories=12, num_times=30)
    untrained = make_model({"model": "vin", "dim": 2, "width": 16}, key=jax.random.key(3))
    model, info, cfg = train("vin", data, key=jax.random.key(4), init_model=untrained,
                             model_settings={"width": 16}, config=TrainConfig(num_steps=300, learning_rate=3e-3,
                                                                                eval_every=100))
    assert cfg == {"model": "vin", "dim": 2, "width": 16, "window": 8}
    assert info.history[-1][1] < info.history[0][1]
    windows, h = vin_arrays(data)
    assert windows.shape == (12 * 23, 8, 1) and float(h[0]) == pytest.approx(0.1)
    assert float(vin_loss(model, windows, h)) < 0.05 * float(vin_loss(untrained, windows, h))
    # held-out trajectories, rolled out for 100 steps (10 time units) from their first two positions
    test = simulate("spring", jax.random.key(9), num_trajectories=4, num_times=102)
    q = jnp.asarray(test.q, jnp.float32)

    def error(net):
        pred = jax.jit(jax.vmap(lambda a, b: net.rollout(a, b, 0.1, 100)))(q[:, 0], q[:, 1])
        return float(jnp.mean((pred - q) ** 2))

    assert error(model) < 0.02 * error(untrained), (error(model), error(untrained))
    # spring H = q² + p² (m = 1/2, k = 2): M⁻¹∇V = 4 q
    assert float(model.acceleration(jnp.array([0.5]))[0]) == pytest.approx(-2.0, rel=0.05)


def test_save_load_round_trip_gives_identical_rollouts(tmp_path):
    config = {"model": "vin", "dim": 4, "width": 16, "angles": "1", "window": 6, "free_starts": False}
    net = make_model(config, key=jax.random.key(1))
    net = eqx.tree_at(lambda m: (m.log_diag, m.lower), net, (jnp.array([0.3, -0.1]), jnp.array([[0.0, 0.0], [0.4, 0.0]])))
    save_model(tmp_path, net, {"model": config})
    back, cfg = load_model(tmp_path)
    assert isinstance(back, VIN) and back.angles == (1,) and back.window == 6 and back.free_starts is False
    q0, q1 = jnp.array([0.2, 3.0]), jnp.array([0.25, 3.1])
    np.testing.assert_array_equal(back.rollout(q0, q1, 0.05, 50), net.rollout(q0, q1, 0.05, 50))
    # an angle enters V periodically
    np.testing.assert_allclose(net.potential(q0), net.potential(q0 + jnp.array([0.0, 2 * np.pi])), rtol=1e-5)


def test_refuses_non_uniform_steps_and_short_trajectories():
    assert uniform_step(np.array([[0.0, 0.1, 0.2], [1.0, 1.1, 1.2]])) == pytest.approx(0.1)
    with pytest.raises(InputError, match="not uniform: trajectory 1 steps by 0.2 at time index 1"):
        uniform_step(np.array([[0.0, 0.1, 0.2], [0.0, 0.1, 0.3]]))
    data = simulate("spring", jax.random.key(0), num_trajectories=2, num_times=5)
    with pytest.raises(InputError, match="windows of 8 positions"):
        vin_arrays(data)
    with pytest.raises(InputError, match="window must be an integer"):
        make_model({"model": "vin", "dim": 2, "window": 2}, key=jax.random.key(0))


def _csv(path, t_last=None):
    data = simulate("spring", jax.random.key(0), num_trajectories=4, num_times=20)
    rows = []
    for i in range(data.num_trajectories):
        t = np.array(data.t[i], float)
        if t_last is not None:
            t[-1] = t_last
        rows.append(np.column_stack([np.full(len(t), i), t, data.q[i], data.p[i]]))
    np.savetxt(path, np.concatenate(rows), delimiter=",", header="trajectory,t,x,vx", comments="")
    return path


def test_cli_trains_vin_on_positions_and_evaluates(cli, tmp_path):
    data = _csv(tmp_path / "spring.csv")
    code, out, err = cli("train", "vin", data, "--q", "x", "--out", tmp_path / "v", "--steps", 20, "--width", 8,
                         "--eval-every", 10)
    assert code == 0, err
    assert (tmp_path / "v" / "model.eqx").is_file()
    assert json.loads((tmp_path / "v" / "config.json").read_text())["model"] == {"model": "vin", "dim": 2, "width": 8,
                                                                               "window": 8}
    report = tmp_path / "e.json"
    code, out, err = cli("evaluate", tmp_path / "v", "--system", "spring", "--out", report, "--num-trajectories", 2,
                         "--t-max", 1)
    assert code == 0, err
    assert json.loads(report.read_text())["rollout_mse"] >= 0


@pytest.mark.parametrize("extra, t_last, fragment", [
    (["--q", "x"], 99.0, "time column t is not uniform"),
    (["--q", "y"], None, "no columns ['y']"),
    (["--q", "x", "--p", "vx"], None, "positions only: drop --p"),
])
def test_cli_bad_input_gives_exit_2_one_line_and_no_folder(cli, tmp_path, extra, t_last, fragment):
    data = _csv(tmp_path / "spring.csv", t_last=t_last)
    code, out, err = cli("train", "vin", data, *extra, "--out", tmp_path / "v", "--steps", 5)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and fragment in lines[0], err
    assert not (tmp_path / "v").exists()
    assert not any(p.name.startswith(".v") for p in tmp_path.iterdir())
