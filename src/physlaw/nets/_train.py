"""Optax training loop: minibatches, validation split, early stopping, progress, checkpoints."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from physlaw.errors import InputError
from physlaw.sampling import as_progress

if TYPE_CHECKING:
    from physlaw.sampling import Progress


class TrainConfig(NamedTuple):
    """Settings of :func:`fit`.

    Attributes:
        num_steps: optimiser steps.
        learning_rate: Adam step size (the peak of the schedule).
        schedule: ``"constant"`` or ``"cosine"`` (decay to 1 % of ``learning_rate`` over
            ``num_steps``; Loshchilov & Hutter, SGDR, 2017).
        weight_decay: decoupled weight decay (AdamW) if > 0.
        batch_size: minibatch size (rows drawn uniformly, with replacement, each step); ``None`` = full batch.
        validation_fraction: fraction of the rows held out for validation (0 = none).
        patience: stop after this many evaluations without a better validation loss (``None``:
            never stop early). The model with the best validation loss is returned.
        eval_every: steps per jitted chunk; progress, validation and checkpoints happen between
            chunks.
    """

    num_steps: int = 2000
    learning_rate: float = 1e-3
    schedule: str = "constant"
    weight_decay: float = 0.0
    batch_size: int | None = None
    validation_fraction: float = 0.0
    patience: int | None = None
    eval_every: int = 100


class TrainInfo(NamedTuple):
    """What happened in :func:`fit`: loss history ``[(step, train, validation)]``, best step,
    steps run, whether it stopped early, and the wall and process CPU time in seconds
    (compilation included; CPU time sums all threads and is less sensitive to other jobs)."""

    history: list
    best_step: int
    num_steps_run: int
    stopped_early: bool
    wall_time: float
    cpu_time: float = 0.0


def split_rows(key, num_rows: int, validation_fraction: float):
    """Random split of row indices into ``(train, validation)``."""
    if not 0.0 <= validation_fraction < 1.0:
        raise InputError(f"validation fraction must be in [0, 1), got {validation_fraction}")
    perm = np.asarray(jax.random.permutation(key, num_rows))
    n_val = int(round(validation_fraction * num_rows))
    if validation_fraction > 0 and (n_val == 0 or n_val == num_rows):
        raise InputError(f"cannot hold out {validation_fraction:.0%} of {num_rows} rows for validation")
    return perm[n_val:], perm[:n_val]


def fit(
    model,
    loss_fn: Callable,
    data: tuple,
    *,
    key,
    config: TrainConfig = TrainConfig(),
    progress: Progress | None = None,
    checkpoint_fn: Callable | None = None,
):
    """Minimise ``loss_fn(model, *batch)`` over the rows of ``data`` with Adam.

    Args:
        model: an Equinox module; its inexact arrays are trained.
        loss_fn: ``(model, *arrays) -> scalar`` on a batch of rows.
        data: tuple of arrays sharing the leading (row) axis.
        key: PRNG key (validation split and minibatches).
        config: :class:`TrainConfig`.
        progress: receives the steps done (``start``/``update``/``close``, e.g.
            ``physlaw.report.progress.ProgressBar()``), or None to train silently.
        checkpoint_fn: called as ``checkpoint_fn(model, step, info)`` after each chunk.

    Returns:
        ``(model, TrainInfo)``.

    Example:
        >>> import jax, jax.numpy as jnp, equinox as eqx
        >>> m = eqx.nn.Linear(1, 1, key=jax.random.key(0))
        >>> x = jnp.linspace(-1, 1, 32)[:, None]
        >>> loss = lambda m, x, y: jnp.mean((jax.vmap(m)(x) - y) ** 2)
        >>> m, info = fit(m, loss, (x, 3 * x), key=jax.random.key(1), config=TrainConfig(num_steps=500, learning_rate=0.1))
        >>> bool(info.history[-1][1] < 1e-3)
        True
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    data = tuple(jnp.asarray(a) for a in data)
    num_rows = data[0].shape[0]
    if any(a.shape[0] != num_rows for a in data):
        raise InputError(f"data arrays have different numbers of rows: {[a.shape[0] for a in data]}")
    if config.num_steps < 1:
        raise InputError(f"number of steps must be >= 1, got {config.num_steps}")
    k_split, key = jax.random.split(key)
    train_idx, val_idx = split_rows(k_split, num_rows, config.validation_fraction)
    train = tuple(a[train_idx] for a in data)
    val = tuple(a[val_idx] for a in data)
    num_train = len(train_idx)
    batch = config.batch_size
    if batch is not None and not 1 <= batch <= num_train:
        raise InputError(f"batch size must be in [1, {num_train}] (training rows), got {batch}")

    if config.schedule == "cosine":
        lr = optax.cosine_decay_schedule(config.learning_rate, config.num_steps, alpha=0.01)
    elif config.schedule == "constant":
        lr = config.learning_rate
    else:
        raise InputError(f"learning-rate schedule must be 'constant' or 'cosine', got {config.schedule!r}")
    if config.weight_decay > 0:
        optimizer = optax.adamw(lr, weight_decay=config.weight_decay)
    else:
        optimizer = optax.adam(lr)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt_state = optimizer.init(params)

    def loss_of(p, arrays):
        return loss_fn(eqx.combine(p, static), *arrays)

    def step(carry, k):
        p, s = carry
        if batch is None or batch == num_train:
            arrays = train
        else:
            idx = jax.random.randint(k, (batch,), 0, num_train)  # with replacement: O(batch), not a sort of all rows
            arrays = tuple(a[idx] for a in train)
        loss, grads = jax.value_and_grad(loss_of)(p, arrays)
        updates, s = optimizer.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), loss

    @eqx.filter_jit
    def chunk(p, s, keys):
        (p, s), losses = jax.lax.scan(step, (p, s), keys)
        return p, s, jnp.mean(losses)

    val_loss_fn = eqx.filter_jit(lambda p: loss_of(p, val))

    bar = as_progress(progress)
    bar.start(config.num_steps, "training")
    history, best, best_params, best_step, bad, done, stopped = [], np.inf, params, 0, 0, 0, False
    try:
        while done < config.num_steps:
            n = min(config.eval_every, config.num_steps - done)
            key, sub = jax.random.split(key)
            params, opt_state, train_loss = chunk(params, opt_state, jax.random.split(sub, n))
            done += n
            train_loss = float(train_loss)
            val_loss = float(val_loss_fn(params)) if len(val_idx) else None
            history.append((done, train_loss, val_loss))
            score = val_loss if val_loss is not None else train_loss
            if not np.isfinite(score):
                break
            if score < best:
                best, best_params, best_step, bad = score, params, done, 0
            else:
                bad += 1
            val_text = f", val {val_loss:.3g}" if val_loss is not None else ""
            bar.update(n, f"training (loss {train_loss:.3g}{val_text})")
            info = TrainInfo(history, best_step, done, False, time.perf_counter() - start, time.process_time() - cpu_start)
            if checkpoint_fn is not None:
                checkpoint_fn(eqx.combine(params, static), done, info)
            if config.patience is not None and val_loss is not None and bad >= config.patience:
                stopped = True
                break
    finally:
        bar.close()
    final = best_params if len(val_idx) else params
    info = TrainInfo(history, best_step, done, stopped, time.perf_counter() - start, time.process_time() - cpu_start)
    return eqx.combine(final, static), info


def derivative_loss(model, t, x, dx):
    """Mean squared error of the model's vector field against observed derivatives ``ẋ``."""
    pred = jax.vmap(model.vector_field)(t, x)
    return jnp.mean((pred - dx) ** 2)


def reconstruction_loss(model, x):
    """Autoencoder loss ``mean ||f(x) − x||²`` (per coordinate)."""
    return jnp.mean((jax.vmap(model)(x) - x) ** 2)
