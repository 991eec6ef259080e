"""The physics-informed family: LNN, NODE2, DHNN, separable HNN; integrators; state conversion; panel metrics."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.errors import InputError
from physlaw.nets import (
    DHNN, LNN, NODE2, SeparableHNN, geometric_mean_relative_error, hessian_report, make_model, momenta,
    relative_error, rollout, valid_prediction_time, velocities, velocity_dataset,
)
from physlaw.nets._models import AbstractDynamicsModel


def _zero_last(mlp):
    last = mlp.layers[-1]
    return eqx.tree_at(lambda m: (m.layers[-1].weight, m.layers[-1].bias), mlp,
                       (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)))


@pytest.mark.parametrize("kind", ["lnn", "node2", "dhnn", "hnn-separable"])
def test_shapes_and_batching(kind, key):
    model = make_model({"model": kind, "dim": 4, "width": 8}, key=key)
    x = jax.random.normal(jax.random.key(3), (5, 4))
    out = jax.vmap(model.vector_field)(jnp.zeros(5), x)
    assert out.shape == (5, 4) and bool(jnp.all(jnp.isfinite(out)))
    assert rollout(model, x[:2], 0.1, 4, substeps=2).shape == (2, 4, 4)


def test_lnn_conserves_its_energy_and_node2_does_not(key):
    lnn = LNN(4, width=16, key=key)
    x = 0.5 * jax.random.normal(jax.random.key(1), (16, 4))
    de = jax.vmap(lambda y: jnp.dot(jax.grad(lnn.energy)(y), lnn.vector_field(0.0, y)))(x)
    scale = jax.vmap(lambda y: jnp.linalg.norm(jax.grad(lnn.energy)(y)) * jnp.linalg.norm(lnn.vector_field(0.0, y)))(x)
    assert float(jnp.max(jnp.abs(de) / scale)) < 1e-4
    # negative control: the same energy is not conserved by an unstructured second-order field
    node2 = NODE2(4, width=16, key=jax.random.key(2))
    de2 = jax.vmap(lambda y: jnp.dot(jax.grad(lnn.energy)(y), node2.vector_field(0.0, y)))(x)
    assert float(jnp.max(jnp.abs(de2) / scale)) > 1e-2


def test_lnn_solves_euler_lagrange_for_a_known_lagrangian(key):
    # L = ½|v|² + MLP with the MLP's last layer zeroed: a free particle, q̈ = 0
    lnn = LNN(4, width=8, key=key)
    free = eqx.tree_at(lambda m: m.mlp, lnn, _zero_last(lnn.mlp))
    x = jax.random.normal(jax.random.key(1), (4,))
    np.testing.assert_allclose(free.acceleration(x), 0.0, atol=1e-6)
    np.testing.assert_allclose(free.vector_field(0.0, x)[:2], x[2:])


def test_singular_hessian_is_reported_not_hidden(key):
    lnn = LNN(2, width=8, kinetic_prior=0.0, key=key)
    flat = eqx.tree_at(lambda m: m.mlp, lnn, _zero_last(lnn.mlp))  # L ≡ 0: ∂²L/∂q̇² = 0
    x = jnp.array([0.3, 0.2])
    assert not bool(jnp.all(jnp.isfinite(flat.acceleration(x))))  # no pseudo-inverse
    report = hessian_report(flat, jnp.ones((5, 2)))
    assert report["num_near_singular"] == 5 and report["first_near_singular"] == 0
    ok = hessian_report(LNN(2, width=8, key=key), jax.random.normal(key, (20, 2)))  # negative control
    assert ok["num_near_singular"] == 0 and ok["num_indefinite"] == 0


def test_angles_are_periodic(key):
    x = jnp.array([0.4, -0.3, 0.7, 0.2])
    shifted = x.at[0].add(2 * jnp.pi)
    for cls in (LNN, NODE2):
        model = cls(4, width=16, angles="0", key=key)
        np.testing.assert_allclose(model.vector_field(0.0, x), model.vector_field(0.0, shifted), atol=2e-5)
        plain = cls(4, width=16, key=key)  # negative control: without the embedding a 2π shift changes q̈
        assert float(jnp.max(jnp.abs(plain.vector_field(0.0, x) - plain.vector_field(0.0, shifted)))) > 1e-3
    with pytest.raises(InputError, match="angle index"):
        LNN(4, angles="0,5", key=key)


def test_dhnn_helmholtz_split(key):
    model = DHNN(2, width=16, key=key)
    x = jnp.array([0.3, -0.8])
    g = jax.grad(model.hamiltonian)(x)
    assert abs(float(jnp.dot(g, model.vector_field(0.0, x)))) < 1e-6  # D starts at 0: conservative
    mlp_d = eqx.tree_at(lambda m: m.layers[-1].weight, model.mlp_d, jnp.ones_like(model.mlp_d.layers[-1].weight))
    damped = eqx.tree_at(lambda m: m.mlp_d, model, mlp_d)
    rot = lambda y: damped.vector_field(0.0, y) - jax.grad(damped.dissipation)(y)  # noqa: E731
    assert abs(float(jnp.trace(jax.jacfwd(rot)(x)))) < 1e-5  # J∇H is divergence-free
    jac_d = jax.jacfwd(jax.grad(damped.dissipation))(x)
    np.testing.assert_allclose(jac_d, jac_d.T, atol=1e-6)  # ∇D is curl-free
    assert abs(float(jnp.dot(jax.grad(damped.hamiltonian)(x), damped.vector_field(0.0, x)))) > 1e-4


class _Pendulum(AbstractDynamicsModel):
    """Exact pendulum H = p²/2 + (1 − cos q) as a model with a chosen integrator."""

    def hamiltonian(self, x):
        return 0.5 * x[1] ** 2 + 1.0 - jnp.cos(x[0])

    def kinetic(self, p):
        return 0.5 * jnp.sum(p**2)

    def potential(self, q):
        return jnp.sum(1.0 - jnp.cos(q))

    def vector_field(self, t, x):
        return jnp.array([x[1], -jnp.sin(x[0])])


@pytest.mark.parametrize("method", ["implicit-midpoint", "yoshida4", "leapfrog"])
def test_symplectic_rollouts_have_bounded_energy_error(method):
    model = _Pendulum()
    x0 = jnp.array([[2.0, 0.0], [1.0, 0.5]])
    traj = rollout(model, x0, 0.5, 1500, substeps=1, method=method)
    err = np.abs(np.asarray(jax.vmap(jax.vmap(model.hamiltonian))(traj) - jax.vmap(model.hamiltonian)(x0)[:, None]))
    assert err.max() < 0.1
    assert err[:, 750:].max() < 1.5 * err[:, :750].max() + 1e-6  # no secular drift
    # negative control: RK4 at this step drifts (energy decays steadily)
    rk = rollout(model, x0, 0.5, 1500, substeps=1, method="rk4")
    drift = np.abs(np.asarray(jax.vmap(jax.vmap(model.hamiltonian))(rk) - jax.vmap(model.hamiltonian)(x0)[:, None]))
    assert drift[:, 750:].max() > 1.5 * drift[:, :750].max()


def test_integrator_choice():
    assert LNN.integrator == "rk4" and SeparableHNN.integrator == "yoshida4"
    assert make_model({"model": "hnn", "dim": 2, "width": 4}, key=jax.random.key(0)).integrator == "implicit-midpoint"
    with pytest.raises(InputError, match="separable"):
        rollout(NODE2(2, width=4, key=jax.random.key(0)), jnp.ones((1, 2)), 0.1, 3, method="yoshida4")


def test_velocity_conversion_round_trip_and_accelerations():
    from physlaw.dynamics import get_system, simulate

    system = get_system("double-pendulum")
    x = jnp.array([0.3, -0.2, 0.5, 0.1])
    np.testing.assert_allclose(momenta(system, velocities(system, x)), x, atol=1e-5)
    data = simulate("double-pendulum", jax.random.key(0), num_trajectories=2, num_times=200, dt=0.005)
    qv = velocity_dataset(data)
    assert qv.metadata["state"] == "qv" and qv.coordinate_names[2:] == ("v1", "v2")
    np.testing.assert_allclose(qv.p, qv.dq, atol=1e-4)  # inputs q̇ = ∂H/∂p equal the stored dq
    fd = np.gradient(qv.p[0], qv.t[0], axis=0)[5:-5]  # q̈ by finite differences of q̇
    np.testing.assert_allclose(qv.dp[0][5:-5], fd, atol=2e-2 * np.abs(fd).max())


def test_panel_metrics_on_known_arrays():
    t = np.arange(5.0)
    true = np.ones((1, 5, 2))
    pred = true.copy()
    pred[0, 3:] = 3.0  # relative error (2√2)/(3√2 + √2) = 0.5 from t = 3 on
    rel = relative_error(pred, true)
    np.testing.assert_allclose(rel[0], [0, 0, 0, 0.5, 0.5])
    assert valid_prediction_time(pred, true, t) == 3.0
    assert valid_prediction_time(true, true, t) == 4.0
    gm = geometric_mean_relative_error(pred, true)
    np.testing.assert_allclose(gm, np.exp((2 * np.log(1e-12) + 2 * np.log(0.5)) / 4))


def test_evaluate_panel_handles_velocity_models():
    from physlaw.dynamics import get_system
    from physlaw.nets import evaluate_on_system, evaluate_panel

    system = get_system("spring")  # m = 0.5: p = q̇/2, so a missing conversion would show
    model = NODE2(2, width=8, key=jax.random.key(0))
    model = eqx.tree_at(lambda m: m.mlp, model, _zero_last(model.mlp))  # q̈ = 0: free flight
    m = evaluate_on_system(model, system, jax.random.key(1), num_trajectories=2, t_max=1.0, dt=0.1, substeps=2)
    roll = m["rollout"]
    assert roll.shape == (2, 11, 2) and m["gm_relative_error_floor"] < m["gm_relative_error"]
    # free flight in (q, q̇) converted back to (q, p): p stays constant, q moves by q̇ t = 2 p t
    np.testing.assert_allclose(roll[:, -1, 1], roll[:, 0, 1], rtol=1e-5)
    np.testing.assert_allclose(roll[:, -1, 0] - roll[:, 0, 0], 2 * roll[:, 0, 1] * 1.0, rtol=1e-4, atol=1e-5)
    panel = evaluate_panel(model, system, [0, 1], num_trajectories=2, t_max=1.0, dt=0.1, substeps=2)
    assert len(panel["runs"]) == 2 and panel["median"]["energy_mse"] >= 0


def _spring_qv(num_trajectories=3, num_times=11, noise=0.0):
    from physlaw.dynamics import simulate

    return velocity_dataset(simulate("spring", jax.random.key(5), num_trajectories=num_trajectories,
                                     num_times=num_times, dt=0.1, noise=noise))


def test_node2_segments_cover_every_state():
    from physlaw.nets._mechanics import node2_arrays

    ds = _spring_qv()
    segments, dx, h = node2_arrays(ds, window=4)
    assert segments.shape == dx.shape == (9, 4, 2) and h.shape == (9,)  # starts 0, 4 and 7 in each trajectory
    np.testing.assert_allclose(h, 0.1, rtol=1e-5)
    np.testing.assert_allclose(segments[2], np.asarray(ds.x[0, 7:11]), rtol=1e-6)  # the last one ends at the end
    np.testing.assert_allclose(dx[1, 0], np.asarray(ds.derivatives()[0, 4]), rtol=1e-6)
    whole, _, _ = node2_arrays(ds, window=50)  # longer than the trajectories: one segment each
    assert whole.shape == (3, 11, 2)
    t = np.array(ds.t)
    t[1, 6:] += 0.05
    import dataclasses

    with pytest.raises(InputError, match="trajectory 1 has uneven time steps"):
        node2_arrays(dataclasses.replace(ds, t=t), window=4)
    with pytest.raises(InputError, match="window"):
        NODE2(2, window=1, key=jax.random.key(0))


def test_fit_node2_rollout_loss_and_training():
    from physlaw.dynamics import integrate_ode
    from physlaw.nets import TrainConfig
    from physlaw.nets._mechanics import _SegmentStarts, fit_node2, node2_arrays, node2_segment_loss

    ds = _spring_qv(num_trajectories=4, num_times=20)
    segments, dx, h = node2_arrays(ds, window=10)
    model = NODE2(2, width=16, window=10, derivative_weight=0.0, key=jax.random.key(1))
    wrapper = _SegmentStarts(model, jnp.zeros_like(segments[:, 0]))
    idx = jnp.arange(segments.shape[0])
    field = lambda t, y: model.vector_field(t, y).astype(y.dtype)  # noqa: E731
    direct = jax.vmap(lambda s: integrate_ode(field, s[0], jnp.float32(0.1), 10))(segments)
    np.testing.assert_allclose(node2_segment_loss(wrapper, segments, dx, h, idx), jnp.mean((direct - segments) ** 2),
                               rtol=1e-5)
    shifted = _SegmentStarts(model, wrapper.offsets + 0.1)  # negative control: the trained starts enter the loss
    assert abs(float(node2_segment_loss(shifted, segments, dx, h, idx) - node2_segment_loss(wrapper, segments, dx, h, idx))) > 1e-4
    seen = []
    trained, info = fit_node2(NODE2(2, width=16, window=10, key=jax.random.key(1)), (segments, dx, h),
                              key=jax.random.key(2), config=TrainConfig(num_steps=300, learning_rate=3e-3, eval_every=100),
                              checkpoint_fn=lambda m, step, inf: seen.append(type(m)))
    assert isinstance(trained, NODE2) and seen == [NODE2] * 3
    assert info.history[-1][1] < 0.2 * info.history[0][1]
