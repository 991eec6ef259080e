"""Train a model on a :class:`physlaw.dynamics.Dataset`: arrays, model config, fit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.dynamics import Dataset
from physlaw.errors import InputError
from physlaw.nets._models import make_model
from physlaw.nets._train import TrainConfig, derivative_loss, fit, reconstruction_loss

DYNAMICS_MODELS = ("baseline", "hnn", "port-hnn")


def dynamics_arrays(dataset: Dataset, dtype=jnp.float32):
    """Rows ``(t, x, ẋ)`` of a dataset: derivatives stored, else finite differences."""
    if dataset.p.shape[-1] == 0 or dataset.p.shape[-1] != dataset.q.shape[-1]:
        raise InputError(
            f"dynamics models need positions and momenta of equal dimension; the data have "
            f"{dataset.q.shape[-1]} position and {dataset.p.shape[-1]} momentum columns (use --q/--p to choose them)"
        )
    dx = dataset.derivatives()
    x = dataset.x
    return tuple(jnp.asarray(a.reshape(-1, *a.shape[2:]), dtype) for a in (dataset.t, x, dx))


def autoencoder_arrays(dataset: Dataset, *, lag: int = 1, dtype=jnp.float32):
    """Rows for the DAE: transition pairs ``(x_t, x_{t+lag})``, or the points of a static manifold."""
    rows = dataset.points() if dataset.num_times == 1 else dataset.transition_pairs(lag)
    return jnp.asarray(rows, dtype)


def train(
    kind: str,
    dataset: Dataset,
    *,
    key,
    config: TrainConfig = TrainConfig(),
    model_settings: dict | None = None,
    lag: int = 1,
    progress: bool = False,
    checkpoint_fn=None,
    init_model=None,
):
    """Train a ``"baseline"``, ``"hnn"``, ``"port-hnn"`` or ``"dae"`` model on a dataset.

    Dynamics models regress their vector field on ``ẋ`` (:func:`derivative_loss`); the DAE
    reconstructs transition pairs (:func:`reconstruction_loss`) with a bottleneck
    ``latent_dim`` (default: the phase-space dimension 2d for pairs — the dimension of the pair
    manifold, one more than on an energy shell — and ``dim − 1`` for static points) and one global
    ``scale`` (the RMS of the data).

    ``checkpoint_fn(model, model_config, step, info)``, if given, is called after every chunk of
    ``config.eval_every`` steps. ``init_model`` (e.g. a loaded checkpoint of the same config)
    replaces the random initialisation; the optimiser state starts afresh.

    Returns:
        ``(model, info, model_config)``; ``make_model(model_config, key=…)`` rebuilds the structure.

    Example:
        >>> import jax
        >>> from physlaw.dynamics import simulate
        >>> ds = simulate("spring", jax.random.key(0), num_trajectories=5, noise=0.1)
        >>> model, info, cfg = train("hnn", ds, key=jax.random.key(1), config=TrainConfig(num_steps=100))
        >>> cfg["model"], cfg["dim"]
        ('hnn', 2)
    """
    settings = dict(model_settings or {})
    k_model, k_fit = jax.random.split(key)
    if kind in DYNAMICS_MODELS:
        data = dynamics_arrays(dataset)
        loss = derivative_loss
        model_config = {"model": kind, "dim": int(data[1].shape[-1]), **settings}
    elif kind == "dae":
        rows = autoencoder_arrays(dataset, lag=lag)
        data = (rows,)
        loss = reconstruction_loss
        default_latent = rows.shape[-1] // 2 if dataset.num_times > 1 else rows.shape[-1] - 1
        settings.setdefault("latent_dim", int(default_latent))
        settings.setdefault("scale", float(jnp.sqrt(jnp.mean(rows**2))))
        model_config = {"model": "dae", "dim": int(rows.shape[-1]), **settings}
    else:
        raise InputError(f"unknown model {kind!r}; choose one of {', '.join(DYNAMICS_MODELS + ('dae',))}")
    model = make_model(model_config, key=k_model) if init_model is None else init_model
    save = None if checkpoint_fn is None else (lambda m, step, info: checkpoint_fn(m, model_config, step, info))
    model, info = fit(model, loss, data, key=k_fit, config=config, progress=progress, checkpoint_fn=save)
    if not np.isfinite(info.history[-1][1]):
        raise InputError(f"training diverged (loss {info.history[-1][1]}); lower the learning rate")
    return model, info, model_config
