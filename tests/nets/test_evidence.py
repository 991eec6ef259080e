"""Last-layer Laplace evidence: exact against Bayesian linear regression; the physics verdict; ragged files."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from physlaw.errors import InputError
from physlaw.nets import Baseline
from physlaw.nets._compare import physics_verdict
from physlaw.nets._evidence import LAST_LAYERS, laplace_evidence


def _exact_log_z(jac, y, alpha, beta):
    """log N(y | 0, α⁻¹ J Jᵀ + β⁻¹ I), computed directly (no eigen-tricks)."""
    cov = jac @ jac.T / alpha + np.eye(len(y)) / beta
    sign, logdet = np.linalg.slogdet(cov)
    return -0.5 * (y @ np.linalg.solve(cov, y) + logdet + len(y) * np.log(2 * np.pi))


def test_evidence_is_exact_bayesian_linear_regression_for_the_baseline():
    model = Baseline(2, width=6, key=jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (40, 2))
    t = jnp.zeros(40)
    dx = jnp.stack([x[:, 1], -x[:, 0]], axis=-1) + 0.1 * jax.random.normal(jax.random.key(2), (40, 2))
    ev = laplace_evidence(model, "baseline", t, x, dx)
    alpha, beta = ev["prior_precision"], ev["noise_std"] ** -2
    where = LAST_LAYERS["baseline"]
    w0, unravel = ravel_pytree(where(model))
    import equinox as eqx

    f = lambda w: jax.vmap(eqx.tree_at(where, model, tuple(unravel(w))).vector_field)(t, x).ravel()  # noqa: E731
    jac = np.asarray(jax.jacfwd(f)(w0), np.float64)
    y = np.asarray(dx, np.float64).ravel()
    exact = _exact_log_z(jac, y, alpha, beta)
    assert ev["log_evidence"] == pytest.approx(exact, abs=1e-6 * abs(exact) + 1e-6)
    # α, β maximise the evidence (type-II maximum likelihood): moving either lowers it
    for a, b in ((1.5 * alpha, beta), (alpha / 1.5, beta), (alpha, 1.5 * beta), (alpha, beta / 1.5)):
        assert _exact_log_z(jac, y, a, b) < exact
    assert 0 < ev["effective_params"] <= ev["num_params"]


@pytest.mark.slow
def test_evidence_prefers_the_right_structure():
    """On a rotation field ẋ = (x2, −x1) (Hamiltonian, H = |x|²/2) with noise, an HNN whose feature
    layer can express H beats a baseline with the same features: fewer output weights, same fit."""
    from physlaw.nets import HNN

    x = jax.random.normal(jax.random.key(1), (200, 2))
    t = jnp.zeros(200)
    dx = jnp.stack([x[:, 1], -x[:, 0]], axis=-1) + 0.05 * jax.random.normal(jax.random.key(2), (200, 2))
    from physlaw.nets import TrainConfig, derivative_loss, fit

    cfg = TrainConfig(num_steps=400, learning_rate=1e-2)
    hnn, _ = fit(HNN(2, width=16, key=jax.random.key(3)), derivative_loss, (t, x, dx), key=jax.random.key(4), config=cfg)
    base, _ = fit(Baseline(2, width=16, key=jax.random.key(3)), derivative_loss, (t, x, dx), key=jax.random.key(4),
                  config=cfg)
    ev_h = laplace_evidence(hnn, "hnn", t, x, dx)
    ev_b = laplace_evidence(base, "baseline", t, x, dx)
    assert ev_h["log_evidence"] > ev_b["log_evidence"]
    assert ev_h["noise_std"] == pytest.approx(0.05, rel=0.3)
    # negative control: on a damped field the HNN cannot fit and loses
    dxd = dx - 0.5 * jnp.stack([jnp.zeros(200), x[:, 1]], axis=-1)
    hnn_d, _ = fit(HNN(2, width=16, key=jax.random.key(3)), derivative_loss, (t, x, dxd), key=jax.random.key(4), config=cfg)
    base_d, _ = fit(Baseline(2, width=16, key=jax.random.key(3)), derivative_loss, (t, x, dxd), key=jax.random.key(4),
                    config=cfg)
    assert laplace_evidence(hnn_d, "hnn", t, x, dxd)["log_evidence"] < laplace_evidence(base_d, "baseline", t, x, dxd)["log_evidence"]


def test_physics_verdict():
    kinds = ["hnn", "dhnn", "node2"]
    v = physics_verdict(kinds, [10.0, 0.0, 50.0])  # unstructured left out of the question
    assert v["winner"] == "conservative" and v["decisive"] and v["probabilities"]["conservative"] > 0.99
    tie = physics_verdict(kinds, [1.0, 0.5, 0.0])
    assert not tie["decisive"] and tie["log_evidence_gap"] == pytest.approx(0.5)
    assert physics_verdict(["hnn", "lnn"], [1.0, 2.0])["winner"] is None
    with pytest.raises(InputError):
        laplace_evidence(None, "dae", jnp.zeros(1), jnp.zeros((1, 2)), jnp.zeros((1, 2)))


def test_ragged_trajectories_are_cut_into_windows(tmp_path):
    from physlaw.io.networks import load_training_data

    rows = [f"0,{0.1 * i},{i},{-i}" for i in range(7)] + [f"1,{0.1 * i},{2 * i},{i}" for i in range(11)]
    path = tmp_path / "ragged.csv"
    path.write_text("trial,t,a,b\n" + "\n".join(rows) + "\n")
    data = load_training_data(path, q=["a"], p=["b"])
    assert data.x.shape == (2, 7, 2) and data.metadata["windows"]["rows_dropped"] == 4
    data = load_training_data(path, q=["a"], p=["b"], window=3)
    assert data.x.shape == (5, 3, 2) and data.metadata["source"] == str(path)
    with pytest.raises(InputError, match="window"):
        load_training_data(path, q=["a"], p=["b"], window=50)
