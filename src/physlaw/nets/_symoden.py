"""Symplectic ODE-Net, SymODEN (Zhong, Dey & Chakraborty, ICLR 2020, arXiv 1909.12077), and its energy-shaping controller.

A mechanical system with control inputs ``u`` (``m`` of them) acting on the momenta,

.. math::
    \\dot q = \\partial H/\\partial p, \\qquad \\dot p = -\\partial H/\\partial q + g(q)\\,u,
    \\qquad H(q, p) = \\tfrac12 p^\\top M^{-1}(q)\\, p + V(q),

is learned with three networks: ``M⁻¹_θ(q) = L Lᵀ + εI`` (``L`` lower triangular, positive diagonal: always
symmetric positive definite), the potential ``V_θ(q)`` and the input matrix ``g_θ(q)`` (``d × m``). Training
integrates the learned field with RK4 over short windows of recorded states, each control held over its
record interval (zero-order hold: the value recorded at ``t_k`` acts until ``t_{k+1}``), and compares the
predicted states with the recorded ones — no derivatives are needed. Angle coordinates (``angles``) enter
the networks as ``(cos q, sin q)`` and are unwrapped along each trajectory for training.

Because ``M``, ``V`` and ``g`` are explicit, the learned model gives a controller directly
(:func:`energy_shaping_controller`): the potential is reshaped to one with its minimum at a chosen
configuration ``q*`` and damping is injected through the actuators,

.. math::
    u = \\beta(q) + v(p), \\quad
    \\beta(q) = (g^\\top g)^{-1} g^\\top \\big(\\partial V/\\partial q - \\partial V_d/\\partial q\\big), \\quad
    v(p) = -K_d\\, g^\\top \\partial H/\\partial p,

with ``V_d = ½ K_p |q − q*|²``. For a fully actuated system (``rank g = d``) the closed loop is Hamiltonian
with ``H_d = ½ pᵀM⁻¹p + V_d`` plus damping, so ``dH_d/dt = −K_d |gᵀ M⁻¹ p|² ≤ 0`` and ``q → q*``. For an
underactuated one (cart-pole, acrobot) the least-squares ``β`` shapes only what the actuators reach.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from physlaw.dynamics import integrate_held
from physlaw.errors import InputError
from physlaw.nets._mechanics import _embedded_size, embed_positions, parse_angles, window_steps
from physlaw.nets._models import AbstractDynamicsModel, _activation

SYMODEN_WINDOW = 4
"""Default training window: states ``x_k … x_{k+3}``, predicted from ``x_k`` (SymODEN's ``num_points = 4``)."""


class SymODEN(AbstractDynamicsModel):
    """Learned ``H = ½ pᵀ M⁻¹_θ(q) p + V_θ(q)`` with input matrix ``g_θ(q)`` (module docstring).

    Args:
        dim: phase-space dimension ``2d``.
        controls: number of control inputs ``m``.
        width, depth, activation: of the three MLPs.
        angles: position indices that are periodic angles (``"0,1"``, ``"all"``).
        window: training window (states per window, 2 to 1000); substeps: RK4 steps per record interval
            in training and :meth:`predict` (1, as the authors: the network learns the field whose RK4 step
            matches the data, and :meth:`predict` takes the same steps). Training settings kept with the model.

    ``vector_field(t, x)`` is the free dynamics (``u = 0``), so :func:`physlaw.nets.rollout` and
    ``physlaw evaluate`` treat a SymODEN like any other model; :meth:`controlled_field` takes ``u``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = SymODEN(2, controls=1, width=8, key=jax.random.key(0))
        >>> net.controlled_field(jnp.ones(2), jnp.ones(1)).shape
        (2,)
    """

    integrator: ClassVar[str] = "rk4"
    mass_net: eqx.nn.MLP
    potential_net: eqx.nn.MLP
    input_net: eqx.nn.MLP
    angles: tuple = eqx.field(static=True)
    num_controls: int = eqx.field(static=True)
    window: int = eqx.field(static=True)
    substeps: int = eqx.field(static=True)
    epsilon: float = eqx.field(static=True)
    velocity_data: bool = eqx.field(static=True)

    def __init__(self, dim: int, *, controls: int = 1, width: int = 64, depth: int = 2, activation: str = "tanh",
                 angles: str = "", window: int = SYMODEN_WINDOW, substeps: int = 1, epsilon: float = 1e-3,
                 velocity_data: bool = False, key):
        d = dim // 2
        if not (isinstance(controls, int) and 1 <= controls <= 64):
            raise InputError(f"controls must be an integer from 1 to 64, got {controls}")
        if not (isinstance(window, int) and 2 <= window <= 1000) or not (isinstance(substeps, int) and 1 <= substeps <= 100):
            raise InputError(f"window must be 2..1000 and substeps 1..100, got {window} and {substeps}")
        if not isinstance(velocity_data, bool):
            raise InputError(f"velocity_data must be true or false, got {velocity_data!r:.40}")
        self.velocity_data = velocity_data
        self.angles = parse_angles(angles, d)
        self.num_controls, self.window, self.substeps, self.epsilon = controls, window, substeps, float(epsilon)
        act = _activation(activation)
        size = _embedded_size(d, self.angles)
        k1, k2, k3 = jax.random.split(key, 3)
        self.mass_net = eqx.nn.MLP(size, d * (d + 1) // 2, width, depth, act, key=k1)
        self.potential_net = eqx.nn.MLP(size, "scalar", width, depth, act, key=k2)
        self.input_net = eqx.nn.MLP(size, d * controls, width, depth, act, key=k3)

    def _features(self, q):
        return embed_positions(q, self.angles)

    def inverse_mass(self, q):
        """``M⁻¹_θ(q) = L Lᵀ + εI``, ``L`` lower triangular with a softplus diagonal."""
        d = q.shape[-1]
        raw = self.mass_net(self._features(q))
        rows, cols = np.tril_indices(d)
        # a constant one-hot map from the d(d+1)/2 outputs to L: a small contraction, not a scatter
        # (XLA's scatter and its gradient cost more than the three networks together on CPU)
        place = np.zeros((len(rows), d, d), np.float32)
        place[np.arange(len(rows)), rows, cols] = 1.0
        entries = jnp.where(jnp.asarray(rows == cols), jax.nn.softplus(raw + 0.5), raw)
        lower = jnp.einsum("k,kij->ij", entries, jnp.asarray(place, raw.dtype))
        return lower @ lower.T + self.epsilon * jnp.eye(d, dtype=raw.dtype)

    def potential(self, q):
        """``V_θ(q)`` (defined up to a constant)."""
        return self.potential_net(self._features(q))

    def input_matrix(self, q):
        """``g_θ(q)``, ``[d, m]``."""
        return self.input_net(self._features(q)).reshape(q.shape[-1], self.num_controls)

    def hamiltonian(self, x):
        d = x.shape[-1] // 2
        q, p = x[:d], x[d:]
        return 0.5 * p @ self.inverse_mass(q) @ p + self.potential(q)

    def controlled_field(self, x, u):
        """``ẋ = (∂H/∂p, −∂H/∂q + g(q) u)``."""
        d = x.shape[-1] // 2
        grad = jax.grad(self.hamiltonian)(x)
        return jnp.concatenate([grad[d:], -grad[:d] + self.input_matrix(x[:d]) @ u])

    @property
    def state(self) -> str:
        """``"qv"`` for a model trained on velocities (its states are ``(q, q̇)``), else ``"qp"``."""
        return "qv" if self.velocity_data else "qp"

    def momenta_of(self, x):
        """``(q, q̇) → (q, p)`` with the learned mass matrix, ``p = M_θ(q) q̇``."""
        d = x.shape[-1] // 2
        return jnp.concatenate([x[:d], jnp.linalg.solve(self.inverse_mass(x[:d]), x[d:])])

    def velocities_of(self, x):
        """``(q, p) → (q, q̇)``, ``q̇ = M⁻¹_θ(q) p``."""
        d = x.shape[-1] // 2
        return jnp.concatenate([x[:d], self.inverse_mass(x[:d]) @ x[d:]])

    def vector_field(self, t, x):
        """The free dynamics (``u = 0``) in the model's own state: ``(q, p)``, or ``(q, q̇)`` for velocity data."""
        free = jnp.zeros(self.num_controls, x.dtype)
        if not self.velocity_data:
            return self.controlled_field(x, free)
        y = self.momenta_of(x)
        return jax.jvp(self.velocities_of, (y,), (self.controlled_field(y, free),))[1]

    def predict(self, x0, u, dt):
        """States ``[K + 1, 2d]`` from ``x0`` under controls ``u`` ``[K, m]`` held for ``dt`` each (RK4, ``substeps``),
        in the model's own state (velocities converted through the learned mass matrix)."""
        if not self.velocity_data:
            return integrate_held(self.controlled_field, x0, u, dt, self.substeps)
        xs = integrate_held(self.controlled_field, self.momenta_of(x0), u, dt, self.substeps)
        return jax.vmap(self.velocities_of)(xs)


def symoden_arrays(dataset, *, window: int = SYMODEN_WINDOW, angles: tuple = (), dtype=jnp.float32):
    """Training rows: every window of ``window`` consecutive states ``[N, W, 2d]``, the controls acting
    between them ``[N, W − 1, m]`` and the window's time step ``[N]``.

    Angle coordinates are unwrapped along each trajectory first (a recorded angle that jumps by 2π is the
    same configuration). Time steps may differ between windows, not inside one.

    Raises:
        InputError: no controls, no momenta, non-finite or out-of-range data
            (:func:`physlaw.nets._tasks.check_training_data`), trajectories shorter than the window, or
            uneven steps inside a window (naming trajectory and time index).
    """
    from physlaw.nets._tasks import check_training_data

    if dataset.u is None:
        raise InputError("symoden trains on data with control inputs: give the control columns (--u COLUMN; "
                         "columns named u, u1, u2, … are found by themselves)")
    if dataset.p.shape[-1] == 0 or dataset.p.shape[-1] != dataset.q.shape[-1]:
        raise InputError(f"symoden needs positions and momenta of equal dimension; the data have "
                         f"{dataset.q.shape[-1]} position and {dataset.p.shape[-1]} momentum columns (--q, --p)")
    check_training_data(dataset, dtype=dtype)
    num_times = dataset.num_times
    if num_times < window:
        raise InputError(f"symoden trains on windows of {window} states but the trajectories have {num_times} times; "
                         "use longer trajectories or a smaller window")
    q = np.array(dataset.q, np.float64)
    if angles:
        q[..., list(angles)] = np.unwrap(q[..., list(angles)], axis=1)
    x = np.concatenate([q, dataset.p], axis=-1)
    u = np.asarray(dataset.u, np.float64)
    bad = np.argwhere(~np.isfinite(u) | (np.abs(u) > 1e15))
    if bad.size:
        i, j, _ = (int(v) for v in bad[0])
        raise InputError(f"the controls of trajectory {i} at time index {j} are nan, inf or over 1e15 in size; repair them")
    idx = np.arange(num_times - window + 1)[:, None] + np.arange(window)
    steps, uneven = window_steps(dataset.t, idx)  # [traj, windows, W-1]
    if uneven is not None:
        i, k, j = uneven
        raise InputError(f"trajectory {i} has uneven time steps inside a training window at time index {k + j} "
                         f"({steps[i, k, j]:g} after {steps[i, k, 0]:g}); symoden holds each control for one "
                         "step: resample onto a uniform grid")
    rows = x[:, idx].reshape(-1, window, x.shape[-1])
    controls = u[:, idx[:, :-1]].reshape(-1, window - 1, u.shape[-1])
    return (jnp.asarray(rows, dtype), jnp.asarray(controls, dtype),
            jnp.asarray(steps[..., 0].reshape(-1), dtype))


def symoden_loss(model: SymODEN, windows, controls, h):
    """Mean squared error of the states predicted from each window's first state (controls held)."""
    pred = jax.vmap(lambda w, u, hh: model.predict(w[0], u, hh)[1:])(windows, controls, h)
    return jnp.mean((pred - windows[:, 1:]) ** 2)


def energy_shaping_controller(model: SymODEN, target, *, kp: float = 2.0, kd: float = 1.0):
    """The learned model's controller ``u(q, p) = β(q) + v(p)`` that drives ``q`` to ``target`` (module docstring).

    ``V_d = ½ kp |q − q*|²`` on the (unwrapped) coordinates; ``v = −kd gᵀ q̇`` injects damping, with
    ``q̇ = M⁻¹_θ(q) p``. A model trained on velocities (``velocity_data``) takes the measured ``q̇`` in place of
    ``p``: with velocity data ``M``, ``V`` and ``g`` are learned only up to one common factor, which the
    controller does not need.

    Returns:
        ``controller(q, p_or_qdot) -> u`` (``[m]``), a pure JAX function.
    """
    target = jnp.asarray(target)

    def controller(q, s):
        g = model.input_matrix(q)
        shaping = jax.grad(model.potential)(q) - kp * (q - target.astype(q.dtype))
        beta = jnp.linalg.solve(g.T @ g, g.T @ shaping)
        qdot = s if getattr(model, "velocity_data", False) else model.inverse_mass(q) @ s
        return beta - kd * (g.T @ qdot)

    return controller


def actuation_rank(model: SymODEN, q) -> int:
    """Numerical rank of the learned ``g(q)`` at ``q``: ``d`` for a fully actuated system."""
    s = np.linalg.svd(np.asarray(model.input_matrix(jnp.asarray(q, jnp.float32))), compute_uv=False)
    return int(np.sum(s > 1e-3 * max(float(s.max()), 1e-30)))


def closed_loop_summary(x, u, target, *, dt: float, angles: tuple = (), tolerance: float = 0.1) -> dict:
    """Numbers of a closed-loop run ``x`` ``[T, 2d]``, ``u`` ``[T, m]`` against the target configuration.

    Angle coordinates count their error modulo 2π. ``settling_time`` is the first time from which every
    coordinate stays within ``tolerance`` of the target (``None`` if it never does); ``reached`` says
    whether the final state is within it.
    """
    x, u = np.asarray(x, np.float64), np.asarray(u, np.float64)
    d = x.shape[-1] // 2
    err = x[:, :d] - np.asarray(target, np.float64)
    for i in angles:
        err[:, i] = np.angle(np.exp(1j * err[:, i]))
    worst = np.max(np.abs(err), axis=1)
    outside = np.flatnonzero(~(worst <= tolerance))
    settle = None if (len(outside) and outside[-1] == len(worst) - 1) else (0.0 if not len(outside) else float((outside[-1] + 1) * dt))
    return {"final_q": x[-1, :d].tolist(), "final_p_or_v": x[-1, d:].tolist(), "final_error": err[-1].tolist(),
            "max_final_error": float(worst[-1]), "tolerance": tolerance, "reached": bool(worst[-1] <= tolerance),
            "settling_time": settle, "max_abs_control": np.max(np.abs(u), axis=0).tolist(),
            "duration": float(dt * (len(x) - 1))}
