"""GraphHNN: one set of weights for any number of bodies, and the n-body spring system it learns from."""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.dynamics import get_system, integrate_ode, simulate
from physlaw.errors import InputError
from physlaw.io.networks import load_model, save_model
from physlaw.nets import (GraphHNN, TrainConfig, derivative_loss, derivative_mse, dynamics_arrays, make_model, rollout,
                          train)


@pytest.fixture(scope="module")
def net():
    return make_model({"model": "graph-hnn", "dim": 12, "width": 16}, key=jax.random.key(0))


def _states(n, num=4, seed=1):
    q, p = jax.vmap(get_system("n-body-springs", n=n).sample_fn)(jax.random.split(jax.random.key(seed), num))
    return jnp.concatenate([q, p], axis=-1)


def _swap_bodies(x, a, b):
    """Exchange bodies ``a`` and ``b`` (2-D) in a state ``(x1, y1, …, px1, py1, …)``."""
    n = x.shape[-1] // 4
    order = np.arange(n)
    order[[a, b]] = order[[b, a]]
    cols = np.concatenate([(2 * order[:, None] + np.arange(2)).ravel(),
                           2 * n + (2 * order[:, None] + np.arange(2)).ravel()])
    return x[..., cols]


def test_one_set_of_weights_runs_on_3_and_5_bodies(net):
    for n in (3, 5):
        x = _states(n)
        dx = jax.jit(jax.vmap(lambda y: net.vector_field(0.0, y)))(x)
        assert dx.shape == (4, 4 * n) and bool(jnp.all(jnp.isfinite(dx)))
        assert jax.jit(jax.vmap(net.hamiltonian))(x).shape == (4,)
    assert len(net.pair_distances(jnp.zeros(10))) == 10  # 5 bodies: 10 pairs


def test_swapping_two_bodies_swaps_their_derivatives(net):
    x = _states(5)
    f, h = jax.jit(jax.vmap(lambda y: net.vector_field(0.0, y))), jax.jit(jax.vmap(net.hamiltonian))
    np.testing.assert_allclose(f(_swap_bodies(x, 1, 3)), _swap_bodies(f(x), 1, 3), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h(_swap_bodies(x, 0, 4)), h(x), rtol=1e-5)
    # negative control: the unswapped field is not the swapped one
    assert float(jnp.max(jnp.abs(f(_swap_bodies(x, 1, 3)) - f(x)))) > 1e-3


def test_rollout_conserves_learned_energy_and_momentum_negative_control_drifts(net):
    x0 = _states(5, num=3)
    traj = rollout(net, x0, 0.1, 100, substeps=10)  # Yoshida: H_θ is separable
    energy = jax.jit(jax.vmap(jax.vmap(net.hamiltonian)))
    h = energy(traj)
    scale = float(jnp.mean(jnp.abs(h[:, 0] - jnp.mean(h[:, 0])))) + 1.0
    drift = float(jnp.max(jnp.abs(h - h[:, :1])))
    assert drift < 1e-4 * scale
    total_p = jnp.stack([jnp.sum(traj[..., 10::2], -1), jnp.sum(traj[..., 11::2], -1)], -1)
    assert float(jnp.max(jnp.abs(total_p - total_p[:, :1]))) < 1e-4  # translation invariance ⇒ Σ p conserved

    # negative control: a weakly damped (non-Hamiltonian) version of the same field drifts far more
    def damped(t, x):
        return net.vector_field(t, x) - 0.02 * jnp.concatenate([jnp.zeros(10), x[10:]])

    bad = jax.jit(jax.vmap(lambda y: integrate_ode(damped, y, 0.1, 100, substeps=10)))(x0)
    bad_h = energy(bad)
    assert float(jnp.max(jnp.abs(bad_h - bad_h[:, :1]))) > 100 * max(drift, 1e-7)


def test_short_training_on_three_springs_reduces_the_loss(key):
    data = simulate("n-body-springs", key, num_trajectories=12, num_times=20, n=3)
    model0 = make_model({"model": "graph-hnn", "dim": 12, "width": 16}, key=jax.random.key(3))
    model, info, cfg = train("graph-hnn", data, key=jax.random.key(4), init_model=model0,
                             config=TrainConfig(num_steps=300, learning_rate=3e-3, eval_every=100),
                             model_settings={"width": 16})
    assert cfg == {"model": "graph-hnn", "dim": 12, "width": 16}
    _, x, dx = dynamics_arrays(data)
    before, after = derivative_mse(model0, x, dx), derivative_mse(model, x, dx)
    assert after < 0.2 * before, (before, after)
    # the same weights on 5 bodies: its derivatives are closer to the truth than the untrained network's
    five = simulate("n-body-springs", key, num_trajectories=4, num_times=10, n=5)
    _, x5, dx5 = dynamics_arrays(five)
    assert derivative_mse(model, x5, dx5) < 0.5 * derivative_mse(model0, x5, dx5)


def test_save_load_round_trip_runs_on_other_sizes(net, tmp_path):
    save_model(tmp_path, net, {"model": {"model": "graph-hnn", "dim": 12, "width": 16}})
    back, _ = load_model(tmp_path)
    assert isinstance(back, GraphHNN)
    for n in (3, 5):
        x = _states(n)[0]
        np.testing.assert_array_equal(back.vector_field(0.0, x), net.vector_field(0.0, x))


def test_column_count_must_be_four_per_body(key):
    with pytest.raises(InputError, match="4 columns per body"):
        make_model({"model": "graph-hnn", "dim": 6}, key=key)
    with pytest.raises(InputError, match="space_dim"):
        make_model({"model": "graph-hnn", "dim": 12, "space_dim": 4}, key=key)
    assert make_model({"model": "graph-hnn", "dim": 6, "space_dim": 3}, key=key).columns_per_body == 6


def test_spring_system_on_five_bodies_conserves_its_quantities(key):
    ds = simulate("n-body-springs", key, num_trajectories=3, num_times=30, n=5)  # n = 3: tests/dynamics
    assert ds.q.shape == (3, 30, 10) and ds.metadata["parameters"]["n"] == 5
    for name, value in ds.metadata["conserved_drift"].items():
        assert value < 1e-5, (name, value)


@pytest.mark.parametrize("n", [1, 2.5, 0])
def test_spring_system_refuses_bad_n(n):
    with pytest.raises(InputError, match="number of bodies"):
        get_system("n-body-springs", n=n)


def test_cli_trains_on_3_bodies_and_evaluates_on_5(cli, tmp_path):
    data = tmp_path / "three.npz"
    code, out, err = cli("simulate", "n-body-springs", "--param", "n=3", "--num-trajectories", 6, "--num-times", 15,
                         "--out", data)
    assert code == 0, err
    code, out, err = cli("train", "graph-hnn", data, "--out", tmp_path / "g", "--steps", 20, "--width", 8,
                         "--eval-every", 10)
    assert code == 0, err
    assert json.loads((tmp_path / "g" / "config.json").read_text())["model"]["model"] == "graph-hnn"
    report = tmp_path / "five.json"
    code, out, err = cli("evaluate", tmp_path / "g", "--system", "n-body-springs", "--param", "n=5", "--out", report,
                         "--num-trajectories", 2, "--t-max", 1)
    assert code == 0, err
    assert json.loads(report.read_text())["energy_mse"] >= 0


def test_cli_refuses_columns_not_four_per_body(cli, tmp_path):
    data = tmp_path / "spring.npz"
    assert cli("simulate", "spring", "--num-trajectories", 3, "--num-times", 10, "--out", data)[0] == 0
    code, out, err = cli("train", "graph-hnn", data, "--out", tmp_path / "g", "--steps", 5)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "4 columns per body" in lines[0], err
    assert "Traceback" not in err


def test_softening_is_learned_unless_fixed_negative_control():
    """The pair distance's softening gets a gradient from the derivative loss; with ``learn_softening=False`` none."""
    x = _states(3)
    dx = jax.vmap(lambda y: jnp.concatenate([y[6:], -y[:6]]))(x)  # any target: only the gradient's support matters
    t = jnp.zeros(len(x))
    grads = {}
    for learn in (True, False):
        m = make_model({"model": "graph-hnn", "dim": 12, "width": 8, "learn_softening": learn}, key=jax.random.key(5))
        assert float(m.softening_length()) == pytest.approx(0.05)
        grads[learn] = eqx.filter_jit(eqx.filter_grad(derivative_loss))(m, t, x, dx).softening_shift
    assert abs(float(grads[True])) > 1e-6
    assert float(grads[False]) == 0.0  # negative control: a fixed softening does not move


def test_harmonic_terms_add_to_the_mlps_and_can_be_switched_off(key):
    r = jnp.asarray(0.7)
    p = jnp.arange(6.0) / 10
    for harmonic in (True, False):
        m = make_model({"model": "graph-hnn", "dim": 12, "width": 8, "harmonic": harmonic}, key=jax.random.key(6))
        bare_v, bare_t = m.pair_potential(r), m.kinetic(p)
        m = eqx.tree_at(lambda mm: (mm.coef_v, mm.coef_t), m, (jnp.asarray([0.3, 2.0]), jnp.asarray([0.5])))
        extra_v, extra_t = (0.3 * 0.7 + 2.0 * 0.49, 0.5 * float(jnp.sum(p**2))) if harmonic else (0.0, 0.0)
        np.testing.assert_allclose(m.pair_potential(r) - bare_v, extra_v, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(m.kinetic(p) - bare_t, extra_t, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("settings", [{"learn_softening": "yes"}, {"harmonic": 1}, {"softening": 0.0}])
def test_bad_graph_settings_are_refused(settings, key):
    with pytest.raises(InputError, match="graph-hnn"):
        make_model({"model": "graph-hnn", "dim": 12, **settings}, key=key)
