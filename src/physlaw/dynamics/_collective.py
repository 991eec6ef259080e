"""Collective motion: the Couzin et al. (2002) zone model and Reynolds (1987) boids, in 2D.

References:
    I. D. Couzin, J. Krause, R. James, G. D. Ruxton, N. R. Franks, "Collective memory and spatial
    sorting in animal groups", J. Theor. Biol. 218, 1–11 (2002).
    C. W. Reynolds, "Flocks, herds and schools: a distributed behavioral model", SIGGRAPH 1987.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class CouzinParams(NamedTuple):
    """Parameters of the Couzin et al. (2002) zone model (lengths in body lengths, time in s).

    The defaults are the paper's (N = 100, repulsion radius 1, field of perception 270°, turning
    rate 40°/s, speed 3, noise 0.05 rad, τ = 0.1 s) with a narrow orientation zone
    (Δr_o = r_o − r_r = 1) and a wide attraction zone (Δr_a = r_a − r_o = 13): the region of the
    paper's phase diagram where the group mills (torus). ``physlaw`` checks that choice with the
    order parameters (:func:`polarisation`, :func:`milling_index`).
    """

    num_agents: int = 100
    r_repulsion: float = 1.0
    r_orientation: float = 2.0
    r_attraction: float = 15.0
    perception_deg: float = 270.0
    turning_rate_deg: float = 40.0
    speed: float = 3.0
    noise: float = 0.05
    tau: float = 0.1


class BoidsParams(NamedTuple):
    """Parameters of Reynolds boids: separation, alignment and cohesion within metric radii.

    Each step the velocity changes by ``τ (w_s a_sep + w_a a_ali + w_c a_coh)`` plus Gaussian
    noise and its speed is clipped to ``[min_speed, max_speed]``.
    """

    num_agents: int = 100
    r_separation: float = 1.0
    r_alignment: float = 3.0
    r_cohesion: float = 10.0
    w_separation: float = 3.0
    w_alignment: float = 1.0
    w_cohesion: float = 0.5
    min_speed: float = 2.0
    max_speed: float = 4.0
    noise: float = 0.05
    tau: float = 0.1


class SwarmState(NamedTuple):
    """Positions ``[N, 2]`` and velocities ``[N, 2]`` of a swarm."""

    position: jax.Array
    velocity: jax.Array


def polarisation(velocity) -> jax.Array:
    """Polarisation ``P = |Σ_i v_i/|v_i|| / N`` ∈ [0, 1] (1: all agents head the same way)."""
    u = velocity / jnp.linalg.norm(velocity, axis=-1, keepdims=True)
    return jnp.linalg.norm(jnp.mean(u, axis=-2), axis=-1)


def milling_index(position, velocity) -> jax.Array:
    """Milling (rotation) index ``M = |Σ_i r̂_ic × v̂_i| / N`` ∈ [0, 1] (1: a perfect torus).

    ``r̂_ic`` is the unit vector from the group centroid to agent i and ``v̂_i`` its heading.
    """
    r = position - jnp.mean(position, axis=-2, keepdims=True)
    r = r / jnp.linalg.norm(r, axis=-1, keepdims=True)
    u = velocity / jnp.linalg.norm(velocity, axis=-1, keepdims=True)
    cross = r[..., 0] * u[..., 1] - r[..., 1] * u[..., 0]
    return jnp.abs(jnp.mean(cross, axis=-1))


def _unit(v, fallback):
    n = jnp.linalg.norm(v, axis=-1, keepdims=True)
    return jnp.where(n > 1e-12, v / jnp.where(n > 1e-12, n, 1.0), fallback)


def _pairs(position):
    rij = position[None, :, :] - position[:, None, :]  # rij[i, j] = c_j − c_i
    dist = jnp.linalg.norm(rij, axis=-1)
    n = position.shape[0]
    dist = jnp.where(jnp.eye(n, dtype=bool), jnp.inf, dist)
    return rij, dist


def couzin_step(key, state: SwarmState, params: CouzinParams) -> SwarmState:
    """One time step τ of the Couzin et al. (2002) model in 2D.

    Each agent i with heading ``v_i`` sees neighbours j outside its blind angle
    (``angle(v_i, c_j − c_i) ≤ perception/2``). Desired direction:

    * repulsion has priority: ``d = −Σ_{|c_ij| < r_r} ĉ_ij``;
    * otherwise ``d_o = Σ_{r_r ≤ |c_ij| < r_o} v̂_j`` (i included), ``d_a = Σ_{r_o ≤ |c_ij| < r_a} ĉ_ij``,
      and ``d = (d̂_o + d̂_a)/2`` if both zones are occupied, else the occupied one, else ``v_i``.

    ``d`` is rotated by Gaussian noise (s.d. ``noise`` rad); the heading turns towards it by at
    most ``turning_rate · τ``; the agent moves ``speed · τ`` along its new heading.
    """
    pos, vel = state
    u = _unit(vel, jnp.array([1.0, 0.0], vel.dtype))
    rij, dist = _pairs(pos)
    rhat = rij / jnp.where(jnp.isfinite(dist), dist, 1.0)[..., None]
    cos_half = jnp.cos(jnp.deg2rad(params.perception_deg) / 2)
    seen = jnp.einsum("id,ijd->ij", u, rhat) >= cos_half
    rep = seen & (dist < params.r_repulsion)
    ori = seen & (dist >= params.r_repulsion) & (dist < params.r_orientation)
    att = seen & (dist >= params.r_orientation) & (dist < params.r_attraction)

    d_r = -jnp.einsum("ij,ijd->id", rep, rhat)
    d_o = u + jnp.einsum("ij,jd->id", ori, u)
    d_a = jnp.einsum("ij,ijd->id", att, rhat)
    has_o = jnp.any(ori, axis=1, keepdims=True)
    has_a = jnp.any(att, axis=1, keepdims=True)
    d_oa = jnp.where(
        has_o & has_a,
        0.5 * (_unit(d_o, u) + _unit(d_a, u)),
        jnp.where(has_o, d_o, jnp.where(has_a, d_a, u)),
    )
    d = jnp.where(jnp.any(rep, axis=1, keepdims=True), d_r, d_oa)
    d = _unit(d, u)

    heading = jnp.arctan2(u[:, 1], u[:, 0])
    desired = jnp.arctan2(d[:, 1], d[:, 0]) + params.noise * jax.random.normal(key, heading.shape, u.dtype)
    turn = jnp.angle(jnp.exp(1j * (desired - heading)))  # wrapped to (−π, π]
    max_turn = jnp.deg2rad(params.turning_rate_deg) * params.tau
    heading = heading + jnp.clip(turn, -max_turn, max_turn)
    new_u = jnp.stack([jnp.cos(heading), jnp.sin(heading)], axis=-1).astype(u.dtype)
    return SwarmState(pos + params.speed * params.tau * new_u, params.speed * new_u)


def boids_step(key, state: SwarmState, params: BoidsParams) -> SwarmState:
    """One time step τ of Reynolds boids in 2D.

    ``a_sep = −Σ_{|c_ij| < r_s} c_ij/|c_ij|²`` (steer away, stronger when close),
    ``a_ali = mean_{|c_ij| < r_a} v_j − v_i``, ``a_coh = mean_{|c_ij| < r_c} c_j − c_i``;
    ``v ← clip_speed(v + τ (w_s a_sep + w_a a_ali + w_c a_coh) + noise)``, ``c ← c + τ v``.
    """
    pos, vel = state
    rij, dist = _pairs(pos)
    sep = dist < params.r_separation
    ali = dist < params.r_alignment
    coh = dist < params.r_cohesion
    safe = jnp.where(jnp.isfinite(dist), dist, 1.0)
    a_sep = -jnp.einsum("ij,ijd->id", sep, rij / safe[..., None] ** 2)

    def mean_over(mask, values):
        count = jnp.maximum(mask.sum(axis=1, keepdims=True), 1)
        return jnp.einsum("ij,ijd->id", mask, values) / count, mask.any(axis=1, keepdims=True)

    v_mean, has_ali = mean_over(ali, jnp.broadcast_to(vel[None], rij.shape))
    c_mean, has_coh = mean_over(coh, rij)
    a_ali = jnp.where(has_ali, v_mean - vel, 0.0)
    a_coh = jnp.where(has_coh, c_mean, 0.0)
    acc = params.w_separation * a_sep + params.w_alignment * a_ali + params.w_cohesion * a_coh
    vel = vel + params.tau * acc + params.noise * jnp.sqrt(params.tau) * jax.random.normal(key, vel.shape, vel.dtype)
    speed = jnp.linalg.norm(vel, axis=-1, keepdims=True)
    vel = vel / speed * jnp.clip(speed, params.min_speed, params.max_speed)
    return SwarmState(pos + params.tau * vel, vel)


def init_swarm(key, num_agents: int, speed: float, radius: float = 5.0) -> SwarmState:
    """Random initial swarm: positions uniform in a disc of ``radius``, headings uniform."""
    k1, k2, k3 = jax.random.split(key, 3)
    r = radius * jnp.sqrt(jax.random.uniform(k1, (num_agents,)))
    phi = jax.random.uniform(k2, (num_agents,), maxval=2 * jnp.pi)
    theta = jax.random.uniform(k3, (num_agents,), maxval=2 * jnp.pi)
    pos = jnp.stack([r * jnp.cos(phi), r * jnp.sin(phi)], -1)
    vel = speed * jnp.stack([jnp.cos(theta), jnp.sin(theta)], -1)
    return SwarmState(pos, vel)


def run_swarm(key, params, *, num_steps: int, record_every: int = 1, state: SwarmState | None = None):
    """Run the Couzin model (``CouzinParams``) or boids (``BoidsParams``) for ``num_steps`` steps.

    Args:
        key: PRNG key.
        params: ``CouzinParams`` or ``BoidsParams``.
        num_steps: number of steps of length ``params.tau``.
        record_every: record the state every this many steps.
        state: initial state; default :func:`init_swarm` (disc of radius 5, random headings).

    Returns:
        ``SwarmState`` whose arrays have a leading time axis of ``num_steps // record_every + 1``
        records (the initial state first).

    Example:
        >>> import jax
        >>> traj = run_swarm(jax.random.key(0), CouzinParams(num_agents=10), num_steps=20, record_every=10)
        >>> traj.position.shape
        (3, 10, 2)
    """
    step_fn = couzin_step if isinstance(params, CouzinParams) else boids_step
    k0, key = jax.random.split(key)
    if state is None:
        speed = params.speed if isinstance(params, CouzinParams) else 0.5 * (params.min_speed + params.max_speed)
        state = init_swarm(k0, params.num_agents, speed)
    num_records = num_steps // record_every

    def record(carry, k):
        def sub(s, kk):
            return step_fn(kk, s, params), None

        carry, _ = jax.lax.scan(sub, carry, jax.random.split(k, record_every))
        return carry, carry

    run = jax.jit(lambda s, ks: jax.lax.scan(record, s, ks))
    _, traj = run(state, jax.random.split(key, num_records))
    return SwarmState(*(jnp.concatenate([a[None], b]) for a, b in zip(state, traj)))


def collective_coordinates(position, velocity):
    """The collective frame of Mototake (2021): each agent relative to the group, at every time.

    ``q_i = c_i − c̄`` (position relative to the centroid ``c̄ = Σ_i c_i / N``) and
    ``p_i = v_i − v̄`` (velocity relative to the mean velocity, unit mass). A milling school then
    rotates about the origin and its per-agent angular momentum ``q_i × p_i`` is (nearly)
    conserved, while the drift of the group as a whole is removed.

    Args:
        position, velocity: ``[..., agent, dim]`` (NumPy or JAX arrays of the same shape).

    Returns:
        ``(q, p)`` of the same shape, as NumPy arrays.

    Example:
        >>> import numpy as np
        >>> q, p = collective_coordinates(np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([[1.0, 0.0], [1.0, 2.0]]))
        >>> q.tolist(), p.tolist()
        ([[-1.0, 0.0], [1.0, 0.0]], [[0.0, -1.0], [0.0, 1.0]])
    """
    c, v = np.asarray(position, dtype=float), np.asarray(velocity, dtype=float)
    return c - c.mean(axis=-2, keepdims=True), v - v.mean(axis=-2, keepdims=True)
