"""The rest of the physics-informed family: Lagrangian network, second-order neural ODE, dissipative
HNN and a separable HNN (Desai's thesis notes, ``../shared/seeds/002_*``).

State conventions
-----------------
Every model maps a state ``x`` of shape ``[2d]`` to ``ẋ`` (``vector_field(t, x)``), so training,
rollouts, metrics and files are shared with :mod:`physlaw.nets._models`. The class attribute
``state`` says what the second half of ``x`` is:

* ``"qp"`` — canonical momenta (HNN, port-HNN, DHNN, separable HNN, baseline);
* ``"qv"`` — velocities ``q̇`` (LNN, NODE2): ``ẋ = (q̇, q̈)``, the first half is the input itself.

Most experiments measure positions and velocities, not momenta; the ``"qv"`` models train on them
directly. :mod:`physlaw.nets._state` converts a simulated Hamiltonian dataset to ``(q, q̇)``.

Periodic angles
---------------
``angles`` (a config string of 0-based position indices, e.g. ``"0,1"``, or ``"all"``) replaces each
such ``q_i`` by ``(cos q_i, sin q_i)`` at the input of the LNN and the NODE2, so the learned
function is exactly 2π-periodic in those coordinates (a wrapped angle gives the same ``q̈``).
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from physlaw.errors import InputError
from physlaw.nets._models import AbstractDynamicsModel, _activation, _symplectic


def parse_angles(angles, num_q: int) -> tuple[int, ...]:
    """``"0,2"`` / ``"all"`` / ``""`` / ``None`` → sorted tuple of 0-based angle indices below ``num_q``.

    Raises:
        InputError: an index that is not an integer in ``[0, num_q)``.
    """
    if angles is None or angles == "":
        return ()
    if angles == "all":
        return tuple(range(num_q))
    if not isinstance(angles, str):
        raise InputError(f"angles must be a string such as '0,1' or 'all', got {type(angles).__name__}")
    out = set()
    for cell in angles.split(","):
        cell = cell.strip()
        if not cell.isdigit() or not 0 <= int(cell) < num_q:
            raise InputError(f"angle index {cell!r:.20} is not an integer in [0, {num_q}); give 0-based position "
                             "indices such as '0,1', or 'all'")
        out.add(int(cell))
    return tuple(sorted(out))


def embed_positions(q, angles: tuple[int, ...]):
    """Positions as network inputs: ``q_i`` for ordinary coordinates, ``(cos q_i, sin q_i)`` for angles."""
    if not angles:
        return q
    plain = q[jnp.asarray([i for i in range(q.shape[-1]) if i not in angles], int)]
    ang = q[jnp.asarray(angles)]
    return jnp.concatenate([plain, jnp.cos(ang), jnp.sin(ang)])


def _embedded_size(num_q: int, angles) -> int:
    return num_q + len(angles)


class LNN(AbstractDynamicsModel):
    """Lagrangian neural network (Cranmer, Greydanus, Hoyer, Battaglia, Spergel & Ho, 2020, arXiv 2003.04630).

    An MLP gives a scalar ``L_θ(q, q̇)``; the Euler–Lagrange equations
    ``d/dt ∂L/∂q̇ = ∂L/∂q`` give the accelerations

    .. math::
        \\ddot q = \\big(\\partial^2 L/\\partial \\dot q^2\\big)^{-1}
                  \\big(\\partial L/\\partial q - \\partial^2 L/\\partial \\dot q\\,\\partial q \\; \\dot q\\big),

    solved with ``jnp.linalg.solve`` (an LU solve: a singular Hessian gives ``inf``/``nan``, it is
    not hidden by a pseudo-inverse; :meth:`hessian_condition` and
    :func:`physlaw.nets.hessian_report` find such points). The state is ``(q, q̇)``, no momenta
    are needed. The learned energy ``E = q̇·∂L/∂q̇ − L`` is conserved by the exact flow.
    Softplus activations (Cranmer et al.) keep second derivatives smooth.

    Parametrisation: ``L_θ(q, q̇) = ½ m₀ |q̇|² + MLP_θ(q, q̇)`` with a fixed ``m₀`` (``kinetic_prior``,
    default 1; 0 gives the bare MLP). Any ``L`` is still representable (the MLP learns
    ``L − ½ m₀|q̇|²``), but the Hessian starts near ``m₀ I`` instead of near zero: with the bare MLP
    a random initialisation has ``∂²L/∂q̇² ≈ 0`` and the solve blows up (Cranmer et al. needed a
    custom initialisation for the same reason).
    """

    state: ClassVar[str] = "qv"
    mlp: eqx.nn.MLP
    angles: tuple = eqx.field(static=True)
    kinetic_prior: float = eqx.field(static=True)

    def __init__(self, dim: int, *, width: int = 200, depth: int = 2, activation: str = "softplus",
                 angles: str = "", kinetic_prior: float = 1.0, key):
        d = dim // 2
        self.angles = parse_angles(angles, d)
        self.kinetic_prior = float(kinetic_prior)
        self.mlp = eqx.nn.MLP(_embedded_size(d, self.angles) + d, "scalar", width, depth, _activation(activation),
                              key=key)

    def lagrangian(self, q, v):
        """The learned scalar ``L_θ(q, q̇)``."""
        return 0.5 * self.kinetic_prior * jnp.sum(v**2) + self.mlp(jnp.concatenate([embed_positions(q, self.angles), v]))

    def _parts(self, x):
        d = x.shape[-1] // 2
        q, v = x[:d], x[d:]
        dl_dv = jax.grad(self.lagrangian, argnums=1)
        hess_vv = jax.jacfwd(dl_dv, argnums=1)(q, v)
        mixed_v = jax.jvp(lambda qq: dl_dv(qq, v), (q,), (v,))[1]  # (∂²L/∂q̇∂q) q̇
        dl_dq = jax.grad(self.lagrangian, argnums=0)(q, v)
        return hess_vv, dl_dq - mixed_v

    def acceleration(self, x):
        """``q̈`` from the Euler–Lagrange equations at ``x = (q, q̇)``."""
        hess, rhs = self._parts(x)
        return jnp.linalg.solve(hess, rhs)

    def hessian_eigenvalues(self, x):
        """Eigenvalues of the symmetric ``∂²L/∂q̇²`` at ``x``, ascending."""
        hess = self._parts(x)[0]
        return jnp.linalg.eigvalsh(0.5 * (hess + hess.T))

    def hessian_condition(self, x):
        """2-norm condition number of ``∂²L/∂q̇²`` at ``x`` (``inf`` where singular)."""
        return jnp.linalg.cond(self._parts(x)[0])

    def energy(self, x):
        """The learned energy ``E = q̇·∂L/∂q̇ − L`` (the Noether charge of time translation)."""
        d = x.shape[-1] // 2
        q, v = x[:d], x[d:]
        return jnp.dot(v, jax.grad(self.lagrangian, argnums=1)(q, v)) - self.lagrangian(q, v)

    def vector_field(self, t, x):
        d = x.shape[-1] // 2
        return jnp.concatenate([x[d:], self.acceleration(x)])


class NODE2(AbstractDynamicsModel):
    """Second-order neural ODE, NODE+SO (Gruver, Finzi, Stanton & Wilson, ICLR 2022, arXiv 2202.04836).

    ``q̇ = v`` by construction and an MLP gives ``q̈ = f_θ(q, q̇)``. Gruver et al. show this
    second-order structure explains most of the HNN's gain over a plain neural ODE, so it is the
    baseline a structured model must beat. No conservation law is built in.

    Training settings kept with the model (they do not change the field):

    * ``window = 0``: regress ``(q̇, q̈)`` on the observed derivatives (:func:`physlaw.nets.derivative_loss`).
    * ``window ≥ 2``: :func:`fit_node2` — the derivative loss (weighted by ``derivative_weight``) plus a
      rollout loss over trajectory segments of ``window`` states (the whole trajectory when shorter),
      integrated with RK4 from a trained start state per segment (Gruver et al. train NODE+SO on
      rollouts). On noisy states the rollouts add what a pointwise regression cannot see: whether the
      amplitude of an oscillation stays constant along a recorded trajectory.
    """

    state: ClassVar[str] = "qv"
    mlp: eqx.nn.MLP
    angles: tuple = eqx.field(static=True)
    window: int = eqx.field(static=True)
    derivative_weight: float = eqx.field(static=True)

    def __init__(self, dim: int, *, width: int = 200, depth: int = 2, activation: str = "tanh",
                 angles: str = "", window: int = 0, derivative_weight: float = 1.0, key):
        d = dim // 2
        if isinstance(window, bool) or not isinstance(window, int) or not (window == 0 or 2 <= window <= 100000):
            raise InputError(f"node2: window must be 0 (derivatives only) or an integer from 2 to 100000 states, "
                             f"got {window!r:.40}")
        if not 0.0 <= float(derivative_weight) < float("inf"):
            raise InputError(f"node2: derivative_weight must be a finite number >= 0, got {derivative_weight!r:.40}")
        self.angles = parse_angles(angles, d)
        self.window, self.derivative_weight = window, float(derivative_weight)
        self.mlp = eqx.nn.MLP(_embedded_size(d, self.angles) + d, d, width, depth, _activation(activation), key=key)

    def acceleration(self, x):
        d = x.shape[-1] // 2
        return self.mlp(jnp.concatenate([embed_positions(x[:d], self.angles), x[d:]]))

    def vector_field(self, t, x):
        d = x.shape[-1] // 2
        return jnp.concatenate([x[d:], self.acceleration(x)])


STEP_RTOL = 1e-4
"""Largest relative difference between the time steps inside one training window (node2, symoden)."""


def window_steps(t, idx):
    """The time steps ``[trajectory, window, W − 1]`` inside the windows ``idx`` ``[window, W]`` (time indices)
    of the times ``t`` ``[trajectory, time]``, and the first ``(trajectory, window, j)`` whose step differs
    from its window's first step by more than ``STEP_RTOL`` (relative), or None."""
    import numpy as np

    steps = np.diff(np.asarray(t, np.float64), axis=1)[:, idx[:, :-1]]
    uneven = np.argwhere(np.abs(steps - steps[..., :1]) > STEP_RTOL * np.abs(steps[..., :1]))
    return steps, (None if uneven.size == 0 else tuple(int(v) for v in uneven[0]))


def node2_arrays(dataset, *, window: int, angles: tuple = (), dtype=jnp.float32):
    """Training rows of :func:`fit_node2`: segments of ``W = min(window, num_times)`` consecutive states
    ``[N, W, 2d]`` of a ``(q, q̇)`` dataset, their derivatives ``(q̇, q̈)`` ``[N, W, 2d]`` (stored, else finite
    differences, as :func:`physlaw.nets.dynamics_arrays`) and each segment's time step ``[N]``.

    Segments start every ``W`` states, plus one ending at the last state, so every state is in one
    (or, at the end, two). Time steps may differ between segments, not inside one. Angle coordinates
    (``angles``, 0-based position indices) are unwrapped along each trajectory (the rollout is compared
    with them; a recorded jump by 2π is the same configuration).

    Raises:
        InputError: see :func:`physlaw.nets.dynamics_arrays`; also uneven time steps inside a segment
            (naming trajectory and time index).
    """
    import numpy as np

    from physlaw.nets._tasks import dynamics_arrays

    if isinstance(window, bool) or not isinstance(window, int) or window < 2:
        raise InputError(f"node2: window must be an integer >= 2, got {window!r:.40}")
    dx = np.asarray(dynamics_arrays(dataset)[2], np.float64)  # its checks, and stored or finite-difference derivatives
    num_traj, num_times = dataset.num_trajectories, dataset.num_times
    if num_times < 2:
        raise InputError("node2 trains on segments of consecutive states but the trajectories have one time each; "
                         "give trajectories, or window 0 (derivatives alone)")
    t = np.asarray(dataset.t, np.float64)
    x = np.array(dataset.x, np.float64)
    if angles:
        x[..., list(angles)] = np.unwrap(x[..., list(angles)], axis=1)
    dx = dx.reshape(num_traj, num_times, -1)
    w = min(window, num_times)
    starts = list(range(0, num_times - w + 1, w))
    if starts[-1] != num_times - w:
        starts.append(num_times - w)
    idx = np.asarray(starts)[:, None] + np.arange(w)
    steps, uneven = window_steps(t, idx)  # [traj, segments, W-1]
    if uneven is not None:
        i, k, j = uneven
        raise InputError(f"trajectory {i} has uneven time steps inside a node2 training segment at time index "
                         f"{idx[k, j]} ({steps[i, k, j]:g} after {steps[i, k, 0]:g}); resample onto a uniform grid, or "
                         "train node2 on derivatives alone (window 0)")
    return (jnp.asarray(x[:, idx].reshape(-1, w, x.shape[-1]), dtype),
            jnp.asarray(dx[:, idx].reshape(-1, w, dx.shape[-1]), dtype),
            jnp.asarray(steps[..., 0].reshape(-1), dtype))


class _SegmentStarts(eqx.Module):
    """Training only: a NODE2 and a trained offset ``[N, 2d]`` of every segment's start from its observed first state."""

    net: NODE2
    offsets: jax.Array


def node2_segment_loss(wrapper: _SegmentStarts, segments, dx, h, idx):
    """Rollout MSE of each segment from its trained start (all ``W`` states compared, the start too) plus
    ``derivative_weight`` × the derivative MSE at the observed states (means over rows and coordinates)."""
    from physlaw.dynamics import integrate_ode

    net = wrapper.net
    w = segments.shape[1]
    x0 = segments[:, 0] + wrapper.offsets[idx]
    field = lambda t, y: net.vector_field(t, y).astype(y.dtype)  # noqa: E731  (the data's dtype, as held_step)
    pred = jax.vmap(lambda s, hh: integrate_ode(field, s, hh, w))(x0, h)
    derivatives = jax.vmap(jax.vmap(lambda y: net.vector_field(0.0, y)))(segments)
    return jnp.mean((pred - segments) ** 2) + net.derivative_weight * jnp.mean((derivatives - dx) ** 2)


def fit_node2(model: NODE2, data, *, key, config, progress=None, checkpoint_fn=None):
    """Train a NODE2 on :func:`node2_arrays` rows with :func:`physlaw.nets.fit` (loss :func:`node2_segment_loss`).

    Each segment's start is a trained parameter (an offset from the observed first state, starting at 0), as
    the VIN's free starts (:func:`physlaw.nets._vin.fit_vin`): rolled out from a noisy observed start, a model that
    damps the motion would shrink the propagated noise and win the loss, a bias towards dissipation.
    Validation segments keep their observed starts. ``checkpoint_fn`` receives the NODE2 alone.

    Returns:
        ``(model, TrainInfo)``.
    """
    from physlaw.nets._train import fit

    segments, dx, h = data
    wrapper = _SegmentStarts(model, jnp.zeros_like(segments[:, 0]))
    save = None if checkpoint_fn is None else (lambda m, step, info: checkpoint_fn(m.net, step, info))
    wrapper, info = fit(wrapper, node2_segment_loss, (segments, dx, h, jnp.arange(segments.shape[0])), key=key,
                        config=config, progress=progress, checkpoint_fn=save)
    return wrapper.net, info


class DHNN(AbstractDynamicsModel):
    """Dissipative HNN (Sosanya & Greydanus, 2022, arXiv 2201.10085): a Helmholtz decomposition.

    Two MLPs give a conservative scalar ``H_θ(x)`` and a dissipative scalar ``D_φ(x)``; the field is
    the sum of a rotational (divergence-free, symplectic) and an irrotational (curl-free) part,

    .. math::  \\dot x = J \\nabla H_θ(x) + \\nabla D_φ(x).

    ``D = const`` recovers the HNN; ``dH/dt = ∇H·∇D`` is the power the dissipative part removes.
    The ``D`` head starts at zero output (zeroed last layer), i.e. as an HNN.
    """

    mlp_h: eqx.nn.MLP
    mlp_d: eqx.nn.MLP

    def __init__(self, dim: int, *, width: int = 200, depth: int = 2, activation: str = "tanh", key):
        k1, k2 = jax.random.split(key)
        act = _activation(activation)
        self.mlp_h = eqx.nn.MLP(dim, "scalar", width, depth, act, key=k1)
        mlp_d = eqx.nn.MLP(dim, "scalar", width, depth, act, key=k2)
        last = mlp_d.layers[-1]
        self.mlp_d = eqx.tree_at(lambda m: (m.layers[-1].weight, m.layers[-1].bias), mlp_d,
                                 (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)))

    def hamiltonian(self, x):
        return self.mlp_h(x)

    def dissipation(self, x):
        """The learned dissipative potential ``D_φ(x)``."""
        return self.mlp_d(x)

    def vector_field(self, t, x):
        return _symplectic(jax.grad(self.hamiltonian)(x), x.shape[-1] // 2) + jax.grad(self.dissipation)(x)


class SeparableHNN(AbstractDynamicsModel):
    """HNN with a separable Hamiltonian ``H = T_θ(p) + V_φ(q)`` (two MLPs).

    Separability lets rollouts use the explicit symplectic leapfrog / 4th-order Yoshida
    integrators (:func:`physlaw.nets.rollout`), whose energy error stays bounded. Right for
    mechanical systems with a constant mass matrix (spring, pendulum, N bodies), wrong for the
    double pendulum (``T`` depends on the angles).
    """

    integrator: ClassVar[str] = "yoshida4"
    mlp_t: eqx.nn.MLP
    mlp_v: eqx.nn.MLP

    def __init__(self, dim: int, *, width: int = 200, depth: int = 2, activation: str = "tanh", key):
        k1, k2 = jax.random.split(key)
        act = _activation(activation)
        self.mlp_t = eqx.nn.MLP(dim // 2, "scalar", width, depth, act, key=k1)
        self.mlp_v = eqx.nn.MLP(dim // 2, "scalar", width, depth, act, key=k2)

    def kinetic(self, p):
        return self.mlp_t(p)

    def potential(self, q):
        return self.mlp_v(q)

    def hamiltonian(self, x):
        d = x.shape[-1] // 2
        return self.kinetic(x[d:]) + self.potential(x[:d])

    def vector_field(self, t, x):
        d = x.shape[-1] // 2
        return jnp.concatenate([jax.grad(self.kinetic)(x[d:]), -jax.grad(self.potential)(x[:d])])


NEAR_SINGULAR_CONDITION = 1e6
"""Condition number of ``∂²L/∂q̇²`` above which an LNN's accelerations lose most float32 digits."""


def hessian_report(model: LNN, x, *, threshold: float = NEAR_SINGULAR_CONDITION, max_rows: int = 20000) -> dict:
    """Where the LNN's ``∂²L/∂q̇²`` is near-singular on states ``x`` ``[..., 2d]``.

    A state counts as near-singular when the Hessian's smallest eigenvalue magnitude is below
    ``1/threshold`` of the typical (median over the states) largest one — a scale-aware condition
    number that also catches a 1×1 Hessian passing through zero (its own condition number is always 1),
    or when the eigenvalues are not finite.

    Returns ``{"num_rows", "num_near_singular", "fraction_near_singular", "max_condition",
    "median_condition", "threshold", "first_near_singular", "num_indefinite"}``: conditions are
    ``median |λ|_max / |λ|_min``; ``first_near_singular`` is the row index of the first offending
    state, or ``None``; ``num_indefinite`` counts states where the Hessian is not positive definite
    (a kinetic energy that is not convex in the velocities). At most ``max_rows`` evenly spaced rows are checked.
    """
    import numpy as np

    x = np.asarray(x).reshape(-1, np.shape(x)[-1])
    if len(x) > max_rows:
        x = x[np.linspace(0, len(x) - 1, max_rows).astype(int)]
    eig = np.asarray(jax.jit(jax.vmap(model.hessian_eigenvalues))(jnp.asarray(x, jnp.float32)), np.float64)
    finite = np.all(np.isfinite(eig), axis=1)
    mag = np.abs(eig)
    scale = float(np.median(np.max(mag[finite], axis=1))) if finite.any() else np.inf
    smallest = np.where(finite, np.min(mag, axis=1), 0.0)
    cond = np.where(smallest > 0, scale / np.where(smallest > 0, smallest, 1.0), np.inf)
    bad = np.flatnonzero(~(cond <= threshold))
    indefinite = int(np.sum(~finite | (np.min(eig, axis=1) <= 0)))
    return {"num_rows": int(len(x)), "num_near_singular": int(len(bad)),
            "fraction_near_singular": float(len(bad) / max(len(x), 1)),
            "max_condition": float(np.max(cond)) if len(cond) else None,
            "median_condition": float(np.median(cond)) if len(cond) else None,
            "threshold": float(threshold), "first_near_singular": int(bad[0]) if len(bad) else None,
            "num_indefinite": indefinite}
