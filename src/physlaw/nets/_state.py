"""Positions and momenta ``(q, p)`` ↔ positions and velocities ``(q, q̇)`` for the ``"qv"`` models.

For a Hamiltonian ``H = T(q, p) + V(q)`` with ``T`` quadratic in ``p``: ``q̇ = ∂H/∂p = M(q)⁻¹ p``
and ``p = M(q) q̇`` with ``M(q)⁻¹ = ∂²T/∂p²``; the acceleration is
``q̈ = d/dt ∂H/∂p = (∂²H/∂p∂q) q̇ + (∂²H/∂p²) ṗ``.

A dataset whose metadata name a registered Hamiltonian system (``physlaw simulate``) is converted
with that system; any other dataset (a measured CSV, a damped simulation) is taken to hold
velocities in its ``p`` columns already — what experiments record (Schmidt–Lipson ``θ, ω``; the
filmed double pendulum ``θ1, θ2, ω1, ω2``).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.dynamics import HAMILTONIAN_SYSTEMS, Dataset, HamiltonianSystem, get_system
from physlaw.errors import InputError


def system_of(dataset: Dataset) -> HamiltonianSystem | None:
    """The registered Hamiltonian system a dataset was simulated from, or ``None`` (measured data,
    other simulators, or a dataset already in ``(q, q̇)``)."""
    meta = dataset.metadata or {}
    name = meta.get("system")
    if meta.get("state") == "qv" or name not in HAMILTONIAN_SYSTEMS:
        return None
    params = {k: (tuple(v) if isinstance(v, list) else v) for k, v in (meta.get("parameters") or {}).items()}
    try:
        return get_system(name, **params)
    except InputError:
        return None


def velocities(system: HamiltonianSystem, x):
    """``(q, q̇)`` from a phase-space state ``x = (q, p)`` ``[2d]``: ``q̇ = ∂H/∂p``."""
    d = system.dim
    return jnp.concatenate([x[:d], jax.grad(system.hamiltonian, argnums=1)(x[:d], x[d:])])


def momenta(system: HamiltonianSystem, y):
    """``(q, p)`` from ``y = (q, q̇)`` ``[2d]``: ``p = M(q) q̇`` with ``M⁻¹ = ∂²T/∂p²`` (``T`` quadratic in ``p``)."""
    d = system.dim
    q, v = y[:d], y[d:]
    minv = jax.hessian(system.kinetic_fn, argnums=1)(q, jnp.zeros_like(v))
    return jnp.concatenate([q, jnp.linalg.solve(minv, v)])


def accelerations(system: HamiltonianSystem, x, dx):
    """``q̈ = (∂²H/∂p∂q) q̇ + (∂²H/∂p²) ṗ`` at ``x = (q, p)`` with ``ẋ = (q̇, ṗ)``."""
    d = system.dim
    dh_dp = lambda q, p: jax.grad(system.hamiltonian, argnums=1)(q, p)  # noqa: E731
    return jax.jvp(dh_dp, (x[:d], x[d:]), (dx[:d], dx[d:]))[1]


def velocity_dataset(dataset: Dataset) -> Dataset:
    """The dataset in ``(q, q̇)`` coordinates, with derivatives ``(q̇, q̈)`` when it has stored ones.

    Simulated Hamiltonian data: inputs ``q̇ = ∂H/∂p`` at the recorded (possibly noisy) state, targets
    ``q̇`` = the stored exact ``dq`` and ``q̈`` from the stored ``(dq, dp)`` with the Hessians of ``H`` at
    the recorded state (exact for a constant mass matrix, an O(noise) approximation otherwise).
    Any other dataset is returned with ``metadata["state"] = "qv"``: its ``p`` columns are velocities.

    Raises:
        InputError: if the dataset has no velocity (``p``) columns matching the positions.
    """
    if dataset.p.shape[-1] != dataset.q.shape[-1]:
        raise InputError(f"second-order models need velocities for every position; the data have {dataset.q.shape[-1]} "
                         f"position and {dataset.p.shape[-1]} velocity/momentum columns (choose them with --q/--p)")
    system = system_of(dataset)
    meta = dict(dataset.metadata or {})
    if system is None:
        if meta.get("state") == "qv":
            return dataset
        meta.update(state="qv", velocities="the p columns are taken as velocities")
        return dataclasses.replace(dataset, metadata=meta)
    x = jnp.asarray(dataset.x)
    y = np.asarray(jax.jit(jax.vmap(jax.vmap(lambda s: velocities(system, s))))(x))
    d = system.dim
    dq = dp = None
    if dataset.dq is not None:
        dx = jnp.asarray(dataset.derivatives())
        acc = np.asarray(jax.jit(jax.vmap(jax.vmap(lambda s, ds: accelerations(system, s, ds))))(x, dx))
        dq, dp = np.asarray(dataset.dq), acc
    names = tuple(dataset.coordinate_names[:d]) + tuple(f"v{i + 1}" for i in range(d))
    meta.update(state="qv", velocities=f"q' = dH/dp of the {system.name!r} Hamiltonian")
    return Dataset(y[..., :d], y[..., d:], np.asarray(dataset.t), names, meta, dq, dp)
