import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.dynamics import get_system, simulate
from physlaw.errors import InputError
from physlaw.nets import TrainConfig, evaluate_on_system, fit, train


def _linear_problem():
    x = jnp.linspace(-1, 1, 64)[:, None]
    return eqx.nn.Linear(1, 1, key=jax.random.key(0)), (x, 3 * x + 1)


def _mse(m, x, y):
    return jnp.mean((jax.vmap(m)(x) - y) ** 2)


def test_fit_minibatches_validation_and_checkpoints():
    model, data = _linear_problem()
    calls = []
    cfg = TrainConfig(num_steps=400, learning_rate=0.05, batch_size=8, validation_fraction=0.25, eval_every=50)
    model, info = fit(model, _mse, data, key=jax.random.key(1), config=cfg,
                      checkpoint_fn=lambda m, step, i: calls.append(step))
    assert calls == list(range(50, 401, 50))
    assert info.history[-1][2] < 1e-3 and info.num_steps_run == 400
    np.testing.assert_allclose([model.weight[0, 0], model.bias[0]], [3, 1], atol=0.05)


def test_early_stopping_returns_the_best_model():
    model, (x, _) = _linear_problem()
    noise = jax.random.normal(jax.random.key(2), x.shape)  # nothing to learn: validation stalls
    cfg = TrainConfig(num_steps=5000, learning_rate=0.05, validation_fraction=0.5, patience=3, eval_every=20)
    best, info = fit(model, _mse, (x, noise), key=jax.random.key(3), config=cfg)
    assert info.stopped_early and info.num_steps_run < 5000
    val = [h[2] for h in info.history]
    assert info.best_step == info.history[int(np.argmin(val))][0]


def test_fit_rejects_bad_settings():
    model, data = _linear_problem()
    with pytest.raises(InputError):
        fit(model, _mse, data, key=jax.random.key(0), config=TrainConfig(batch_size=1000))
    with pytest.raises(InputError):
        fit(model, _mse, data, key=jax.random.key(0), config=TrainConfig(validation_fraction=1.0))


def test_briefly_trained_hnn_beats_baseline_energy_mse():
    data = simulate("spring", jax.random.key(0), num_trajectories=50, noise=0.1)
    cfg = TrainConfig(num_steps=400, learning_rate=2e-3, eval_every=400)
    scores = {}
    for kind in ("baseline", "hnn"):
        model, info, _ = train(kind, data, key=jax.random.key(1), config=cfg, model_settings={"width": 64})
        scores[kind] = evaluate_on_system(model, get_system("spring"), jax.random.key(2), num_trajectories=15,
                                          t_max=10.0)
    assert scores["hnn"]["energy_mse"] < 0.2 * scores["baseline"]["energy_mse"], scores
    # both fit the derivatives to about the noise floor on clean states
    assert scores["hnn"]["derivative_mse"] < 0.05 and scores["baseline"]["derivative_mse"] < 0.05


def test_dae_reconstructs_transition_pairs():
    data = simulate("harmonic-2d", jax.random.key(0), num_trajectories=30, num_times=16, energy=1.0)
    cfg = TrainConfig(num_steps=800, learning_rate=3e-3, schedule="cosine", eval_every=400, validation_fraction=0.2)
    model, info, cfg_out = train("dae", data, key=jax.random.key(1), config=cfg, model_settings={"width": 64})
    assert cfg_out["latent_dim"] == 4 and cfg_out["dim"] == 8
    rows = jnp.asarray(data.transition_pairs(), jnp.float32)
    recon = float(jnp.mean((jax.vmap(model)(rows) - rows) ** 2))
    assert recon < 0.02 * float(jnp.mean(rows**2))
