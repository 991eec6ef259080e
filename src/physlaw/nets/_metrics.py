"""Rollouts of learned vector fields and the metrics of Greydanus et al. (2019)."""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.dynamics import HamiltonianSystem, integrate_ode, integrate_system
from physlaw.errors import InputError

MAX_ROLLOUT_TIMES = 10**5
"""Largest number of compared times ``t_max / dt + 1`` :func:`evaluate_on_system` integrates."""


def rollout(model, x0, dt: float, num_times: int, *, substeps: int = 10, t0: float = 0.0):
    """Integrate a learned vector field from a batch of states ``x0`` ``[B, 2d]`` with RK4.

    Returns ``[B, num_times, 2d]`` with states ``dt`` apart (``x0`` first). Learned Hamiltonians
    are not separable, so the symplectic integrators do not apply; RK4 with ``substeps`` small
    steps keeps the integration error far below the model error.
    """
    run = lambda x: integrate_ode(model.vector_field, x, dt, num_times, substeps=substeps, t0=t0)  # noqa: E731
    return jax.jit(jax.vmap(run))(jnp.asarray(x0))


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


def evaluate_rollouts(model, true, t, *, energy_fn: Callable, true_dx=None, conserved=None,
                      substeps: int = 10) -> dict:
    """Roll the model out from the first state of each true trajectory and compare.

    Args:
        model: a dynamics model (``vector_field``).
        true: true trajectories ``[B, T, 2d]`` on an even time grid.
        t: their times ``[T]``.
        energy_fn: the system's true energy ``E(x)``.
        true_dx: true derivatives ``[B, T, 2d]`` for the derivative MSE (omitted if ``None``).
        conserved: name -> ``G(x)``; the drift of each along the model's rollouts is reported.
        substeps: RK4 steps per time step.

    Returns:
        ``{"derivative_mse", "rollout_mse", "energy_mse", "energy_drift", "conserved_drift": {…}}``
        plus the rolled-out trajectories under ``"rollout"`` (an array).
    """
    t = np.asarray(t)
    dt = float(t[1] - t[0])
    pred = rollout(model, jnp.asarray(true)[:, 0], dt, len(t), substeps=substeps, t0=float(t[0]))
    out = {
        "derivative_mse": None if true_dx is None else derivative_mse(
            model, true, true_dx, np.broadcast_to(t, np.shape(true)[:2])),
        "rollout_mse": rollout_mse(pred, true),
        "energy_mse": energy_mse(energy_fn, pred, true),
        "energy_drift": quantity_drift(energy_fn, pred),
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
    q, p = integrate_system(system, q0, p0, dt, num_times, substeps=max(20, system.substeps))
    x = jnp.concatenate([q, p], axis=-1)
    if not bool(jnp.all(jnp.isfinite(x))):
        raise InputError(f"the true {system.name!r} trajectories diverged at dt = {dt:g}; lower dt")
    dx = jax.vmap(jax.vmap(lambda y: system.vector_field(0.0, y)))(x)
    d = system.dim
    conserved = {name: (lambda y, fn=fn: fn(y[:d], y[d:])) for name, fn in system.conserved.items()}
    return evaluate_rollouts(model, x, dt * np.arange(num_times), energy_fn=system.energy, true_dx=dx,
                             conserved=conserved, substeps=substeps)
