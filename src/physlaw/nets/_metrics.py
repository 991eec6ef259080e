"""Rollouts of learned vector fields and the metrics of Greydanus et al. (2019)."""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.dynamics import HamiltonianSystem, integrate_system
from physlaw.errors import InputError
from physlaw.nets._integrate import rollout

VPT_THRESHOLD = 0.1
"""Relative error ``‖x̂ − x‖ / (‖x̂‖ + ‖x‖)`` above which a rollout no longer counts as a valid prediction."""
FLOOR_PERTURBATION = 1e-4
"""Relative size of the initial-condition perturbation that defines the chaos floor."""

MAX_ROLLOUT_TIMES = 10**5
"""Largest number of compared times ``t_max / dt + 1`` :func:`evaluate_on_system` integrates."""


def derivative_mse(model, x, dx, t=None) -> float:
    """``mean ||f_θ(t, x) − ẋ||²`` per coordinate over states ``x`` ``[..., 2d]``."""
    x = jnp.asarray(x).reshape(-1, x.shape[-1])
    dx = jnp.asarray(dx).reshape(x.shape)
    t = jnp.zeros(x.shape[0], x.dtype) if t is None else jnp.asarray(t, x.dtype).reshape(-1)
    pred = jax.vmap(model.vector_field)(t, x)
    return float(jnp.mean((pred - dx) ** 2))


def rollout_mse(pred, true) -> float:
    """``mean ||x̂(t) − x(t)||²`` per coordinate over trajectories and times."""
    return float(np.mean((np.asarray(pred) - np.asarray(true)) ** 2))


def energy_mse(energy_fn: Callable, pred, true) -> float:
    """``mean (E(x̂(t)) − E(x(t)))²`` with the system's true energy function ``E``.

    Greydanus et al. (2019) report this along rollouts of 15 initial conditions over
    t ∈ [0, 20] (with a bug for the pendulum, which used q² + p²; here ``E`` is each system's own).
    """
    e = jax.vmap(jax.vmap(energy_fn))
    return float(jnp.mean((e(jnp.asarray(pred)) - e(jnp.asarray(true))) ** 2))


def quantity_drift(fn: Callable, x) -> float:
    """``mean_i max_t |G(x_i(t)) − G(x_i(0))|`` of a quantity ``G(x)`` along trajectories ``[B, T, 2d]``."""
    g = jax.vmap(jax.vmap(fn))(jnp.asarray(x))
    return float(jnp.mean(jnp.max(jnp.abs(g - g[:, :1]), axis=1)))


def relative_error(pred, true):
    """``‖x̂(t) − x(t)‖ / (‖x̂(t)‖ + ‖x(t)‖)`` per trajectory and time ``[B, T]`` (Finzi et al. 2020), in [0, 1]."""
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    num = np.linalg.norm(pred - true, axis=-1)
    den = np.linalg.norm(pred, axis=-1) + np.linalg.norm(true, axis=-1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def geometric_mean_relative_error(pred, true) -> float:
    """Finzi, Wang & Wilson (NeurIPS 2020)'s rollout score: per trajectory the geometric mean over the
    times after the first of :func:`relative_error`, then the mean over trajectories.

    Non-finite rollouts count as the maximal error 1; exact zeros are floored at 1e-12 before the log.
    """
    rel = relative_error(pred, true)[:, 1:]
    rel = np.where(np.isfinite(rel), rel, 1.0)
    return float(np.mean(np.exp(np.mean(np.log(np.maximum(rel, 1e-12)), axis=1))))


def valid_prediction_time(pred, true, t, *, threshold: float = VPT_THRESHOLD) -> float:
    """Mean over trajectories of the first time (from ``t[0]``) at which :func:`relative_error` exceeds
    ``threshold`` (the whole span when it never does): how long the rollout stays useful."""
    rel = relative_error(pred, true)
    rel = np.where(np.isfinite(rel), rel, 1.0)
    t = np.asarray(t, np.float64)
    bad = rel > threshold
    first = np.where(bad.any(axis=1), np.argmax(bad, axis=1), len(t) - 1)
    return float(np.mean(t[first] - t[0]))


def evaluate_rollouts(model, true, t, *, energy_fn: Callable, true_dx=None, conserved=None,
                      substeps: int = 10, floor=None, to_phase=None, model_true=None) -> dict:
    """Roll the model out from the first state of each true trajectory and compare.

    Args:
        model: a dynamics model (``vector_field``).
        true: true trajectories ``[B, T, 2d]`` on an even time grid.
        t: their times ``[T]``.
        energy_fn: the system's true energy ``E(x)``.
        true_dx: true derivatives ``[B, T, 2d]`` for the derivative MSE (omitted if ``None``).
        conserved: name -> ``G(x)``; the drift of each along the model's rollouts is reported.
        substeps: integrator steps per time step (the integrator is the model's, :func:`rollout`).
        floor: optional true trajectories from slightly perturbed initial states; their
            :func:`geometric_mean_relative_error` against ``true`` is the chaos floor (how much a
            tiny initial error alone grows), reported as ``"gm_relative_error_floor"``.
        to_phase: for a ``"qv"`` model, ``y -> x`` mapping its ``(q, q̇)`` states to the phase space of
            ``true`` (then ``model_true``/``true_dx`` are given in the model's coordinates).
        model_true: ``true`` in the model's coordinates (start states and derivative MSE).

    Returns:
        ``{"derivative_mse", "rollout_mse", "energy_mse", "energy_drift", "gm_relative_error",
        "gm_relative_error_floor", "valid_prediction_time", "conserved_drift": {…}}`` plus the
        rolled-out trajectories (phase space) under ``"rollout"`` (an array).
    """
    t = np.asarray(t)
    dt = float(t[1] - t[0])
    own = true if model_true is None else model_true
    pred = rollout(model, jnp.asarray(own)[:, 0], dt, len(t), substeps=substeps, t0=float(t[0]))
    if to_phase is not None:
        pred = jax.jit(jax.vmap(jax.vmap(to_phase)))(pred)
    out = {
        "derivative_mse": None if true_dx is None else derivative_mse(
            model, own, true_dx, np.broadcast_to(t, np.shape(true)[:2])),
        "rollout_mse": rollout_mse(pred, true),
        "energy_mse": energy_mse(energy_fn, pred, true),
        "energy_drift": quantity_drift(energy_fn, pred),
        "gm_relative_error": geometric_mean_relative_error(pred, true),
        "gm_relative_error_floor": None if floor is None else geometric_mean_relative_error(floor, true),
        "valid_prediction_time": valid_prediction_time(pred, true, t),
        "conserved_drift": {name: quantity_drift(fn, pred) for name, fn in (conserved or {}).items()},
        "rollout": np.asarray(pred),
    }
    return out


def rollout_times(t_max: float, dt: float) -> int:
    """The number of compared times ``round(t_max / dt) + 1`` of a rollout over ``[0, t_max]``.

    Raises:
        InputError: unless ``t_max`` and ``dt`` are positive and finite with
            ``1 ≤ t_max / dt ≤ MAX_ROLLOUT_TIMES`` (10⁵; longer rollouts would run for hours).
    """
    t_max, dt = float(t_max), float(dt)
    if not (math.isfinite(dt) and dt > 0 and math.isfinite(t_max) and t_max > 0):
        raise InputError(f"t_max and dt must be positive finite numbers, got t_max = {t_max}, dt = {dt}")
    ratio = t_max / dt
    if not 1 <= ratio <= MAX_ROLLOUT_TIMES:
        raise InputError(f"t_max / dt = {t_max:g} / {dt:g} = {ratio:.3g} steps to compare; it must be from 1 to "
                         f"{MAX_ROLLOUT_TIMES:.0e}: {'raise t_max or lower dt' if ratio < 1 else 'lower t_max or raise dt'}")
    return int(round(ratio)) + 1


def evaluate_on_system(model, system: HamiltonianSystem, key, *, num_trajectories: int = 15,
                       t_max: float = 20.0, dt: float | None = None, energy: float | None = None,
                       substeps: int = 10) -> dict:
    """Evaluate a dynamics model on fresh initial conditions of a Hamiltonian system.

    Draws ``num_trajectories`` initial conditions (default sampler, or the shell ``H = energy``),
    integrates the true system over ``t ∈ [0, t_max]`` (symplectic, 20 substeps) and the model with
    RK4, and returns :func:`evaluate_rollouts`'s metrics (Greydanus et al. use 15 trajectories
    over t ∈ [0, 20]).

    Raises:
        InputError: unless ``dt ≤ t_max`` and ``t_max / dt ≤ MAX_ROLLOUT_TIMES`` (10⁵), both finite
            and positive, or if the true system's integration diverges.
    """
    from physlaw.dynamics import sample_energy_shell

    dt = float(dt or system.dt)
    num_times = rollout_times(t_max, dt)
    if int(num_trajectories) < 1:
        raise InputError(f"num_trajectories must be at least 1, got {num_trajectories}")
    if energy is None:
        q0, p0 = jax.vmap(system.sample_fn)(jax.random.split(key, num_trajectories))
    else:
        q0, p0 = sample_energy_shell(system, key, num_trajectories, energy)
    sub = max(20, system.substeps)
    q, p = integrate_system(system, q0, p0, dt, num_times, substeps=sub)
    x = jnp.concatenate([q, p], axis=-1)
    if not bool(jnp.all(jnp.isfinite(x))):
        raise InputError(f"the true {system.name!r} trajectories diverged at dt = {dt:g}; lower dt")
    scale = jnp.sqrt(jnp.mean(x[:, 0] ** 2))
    x0p = x[:, 0] + FLOOR_PERTURBATION * scale * jax.random.normal(jax.random.fold_in(key, 1), x[:, 0].shape, x.dtype)
    fq, fp = integrate_system(system, x0p[:, :system.dim], x0p[:, system.dim:], dt, num_times, substeps=sub)
    floor = np.concatenate([fq, fp], axis=-1)
    dx = jax.vmap(jax.vmap(lambda y: system.vector_field(0.0, y)))(x)
    d = system.dim
    conserved = {name: (lambda y, fn=fn: fn(y[:d], y[d:])) for name, fn in system.conserved.items()}
    extra = {}
    if getattr(model, "state", "qp") == "qv":
        from physlaw.nets._state import accelerations, momenta, velocities

        y = jax.vmap(jax.vmap(lambda s: velocities(system, s)))(x)
        acc = jax.vmap(jax.vmap(lambda s, ds: accelerations(system, s, ds)))(x, dx)
        dx = jnp.concatenate([y[..., d:], acc], axis=-1)
        extra = {"model_true": y, "to_phase": lambda s: momenta(system, s)}
    return evaluate_rollouts(model, x, dt * np.arange(num_times), energy_fn=system.energy, true_dx=dx,
                             conserved=conserved, substeps=substeps, floor=floor, **extra)


def evaluate_panel(model, system: HamiltonianSystem, seeds, **kwargs) -> dict:
    """:func:`evaluate_on_system` over several seeds (fresh initial conditions each): per-seed metrics
    and their medians (``"median"``), so one lucky draw of initial conditions cannot decide a comparison."""
    import jax.random as jr

    runs = []
    for s in seeds:
        m = evaluate_on_system(model, system, jr.key(int(s)), **kwargs)
        m.pop("rollout")
        runs.append({"seed": int(s), **m})
    keys = [k for k, v in runs[0].items() if k != "seed" and (isinstance(v, float) or v is None)]
    median = {}
    for k in keys:
        vals = [r[k] for r in runs if r[k] is not None]
        median[k] = float(np.median(vals)) if vals else None
    return {"median": median, "runs": runs}
