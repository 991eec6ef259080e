import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.errors import InputError
from physlaw.io.networks import load_model, save_model
from physlaw.nets import HNN, MODELS, PortHNN, make_model, rollout


@pytest.mark.parametrize("kind", list(MODELS))
def test_save_load_round_trip(kind, tmp_path, key):
    config = {"model": kind, "dim": 4, "width": 16, **({"latent_dim": 2} if kind == "dae" else {})}
    model = make_model(config, key=key)
    save_model(tmp_path, model, {"model": config, "note": "x"})
    back, cfg = load_model(tmp_path)
    x = jnp.linspace(-1, 1, 4)
    out = (lambda m: m(x)) if kind == "dae" else (lambda m: m.vector_field(0.3, x))
    np.testing.assert_array_equal(out(back), out(model))
    assert cfg["note"] == "x"
    assert not any(p.suffix == ".pkl" for p in tmp_path.iterdir())


def test_hnn_is_hamiltonian_and_conserves_its_own_energy(key):
    hnn = HNN(4, width=32, key=key)
    x = jax.random.normal(jax.random.key(1), (8, 4))
    # ẋ = J ∇H  ⇒  dH/dt = ∇H · ẋ = 0
    dhdt = jax.vmap(lambda y: jnp.dot(jax.grad(hnn.hamiltonian)(y), hnn.vector_field(0.0, y)))(x)
    assert float(jnp.max(jnp.abs(dhdt))) < 1e-10
    traj = rollout(hnn, x[:2], 0.05, 100, substeps=4)
    h = jax.vmap(jax.vmap(hnn.hamiltonian))(traj)
    assert float(jnp.max(jnp.abs(h - h[:, :1]))) < 1e-6


def test_port_hnn_damping_dissipates_energy(key):
    model = PortHNN(2, width=32, key=key)
    damped = eqx.tree_at(lambda m: m.raw_damping, model, jnp.array([1.0]))
    y = jnp.array([0.4, 0.9])
    g = jax.grad(damped.hamiltonian)(y)
    # with F = 0 at start: dH/dt = −D (∂H/∂p)² ≤ 0
    assert float(jnp.dot(g, damped.vector_field(0.0, y))) < 0
    assert float(damped.damping[0]) > 1.0


def test_make_model_errors(key):
    with pytest.raises(InputError, match="unknown model"):
        make_model({"model": "gnn", "dim": 2}, key=key)
    with pytest.raises(InputError, match="even"):
        make_model({"model": "hnn", "dim": 3}, key=key)
    with pytest.raises(InputError, match="latent_dim"):
        make_model({"model": "dae", "dim": 4, "latent_dim": 9}, key=key)
    with pytest.raises(InputError, match="not a trained-model directory"):
        load_model("/nonexistent")
