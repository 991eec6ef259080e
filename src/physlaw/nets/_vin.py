"""Variational integrator network (Saemundsson, Terenin, Hofmann & Deisenroth, AISTATS 2020, arXiv 1910.09349).

A learned *discrete* Lagrangian, trained from positions alone. The continuous Lagrangian is
mechanical,

.. math::
    L_θ(q, \\dot q) = \\tfrac12 \\dot q^\\top M \\dot q - V_θ(q),

with ``V_θ`` an MLP and ``M = C C^\\top`` a constant symmetric positive-definite matrix (``C`` lower
triangular with a positive, exponentiated diagonal). The trapezoid discrete Lagrangian
``L_d(q_k, q_{k+1}) = h [½ ((q_{k+1} − q_k)/h)ᵀ M ((q_{k+1} − q_k)/h) − ½ V(q_k) − ½ V(q_{k+1})]``
and its discrete Euler–Lagrange equations ``D_2 L_d(q_{k−1}, q_k) + D_1 L_d(q_k, q_{k+1}) = 0`` give
the explicit Störmer–Verlet update

.. math::
    q_{k+1} = 2 q_k − q_{k−1} − h^2 M^{-1} \\nabla V_θ(q_k),

a symplectic map on ``(q_{k−1}, q_k)``: the discrete energy (:meth:`VIN.energy`) of a rollout
oscillates without drifting. Training needs no velocities or momenta: windows of ``W`` consecutive
positions, rolled out from their first two, are compared with the observed ones (:func:`vin_loss`); by
default the two start positions of each training window are trained along with the network
(:func:`fit_vin`), which keeps position noise out of the initial velocity.

Identifiability: positions determine only ``M⁻¹∇V``, so ``(M, V)`` and ``(c M, c V)`` give the same
trajectories. The scale is fixed by ``det M = 1`` (``C``'s log-diagonal is centred); the learned ``V``
is then the true potential divided by ``det(M_true)^{1/d}`` (for one coordinate: ``M = 1`` and
``V = V_true / m``), plus an arbitrary constant.

Periodic angles (``angles``, as for the LNN/NODE2, :func:`physlaw.nets.parse_angles`) enter ``V_θ`` as
``(cos q_i, sin q_i)``; the positions themselves stay unwrapped.

``vector_field`` gives the continuous-time limit ``(q̇, −M⁻¹∇V_θ(q))`` on ``x = (q, q̇)`` (state ``"qv"``),
so :func:`physlaw.nets.rollout` and :func:`physlaw.nets.evaluate_on_system` (``physlaw evaluate``) run
a VIN like the other second-order models (RK4 with substeps). That flow differs from the network's
own discrete map (:meth:`VIN.rollout`, at the training step ``h``) by ``O(h²)``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.nets._mechanics import _embedded_size, embed_positions, parse_angles
from physlaw.nets._models import AbstractDynamicsModel, _activation

VIN_WINDOW = 8
"""Default training window ``W``: predict ``q_{k+2..k+W−1}`` from ``(q_k, q_{k+1})``."""
UNIFORM_STEP_RTOL = 1e-4
"""Largest relative deviation of a time step from the first one that still counts as a uniform grid."""


class VIN(AbstractDynamicsModel):
    """Variational integrator network ``L = ½ q̇ᵀ M q̇ − V_θ(q)`` with its Störmer–Verlet update (module docstring).

    Args:
        dim: phase-space dimension ``2 d`` of the system (as for every dynamics model; the network
            itself only ever sees the ``d`` positions).
        width, depth, activation: of the MLP ``V_θ``.
        angles: position indices that are periodic angles (``"0,1"``, ``"all"``; default none).
        window: training window ``W`` (positions per window, 3 to 1000), kept with the model.
        free_starts: train each window's two start positions along with the network (:func:`fit_vin`;
            for noisy positions), or roll out from the observed ones. A training setting, kept with the model.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = VIN(2, width=8, key=jax.random.key(0))
        >>> net.rollout(jnp.zeros(1), jnp.full(1, 0.1), 0.1, 5).shape
        (7, 1)
    """

    state: ClassVar[str] = "qv"
    mlp_v: eqx.nn.MLP
    log_diag: jax.Array
    lower: jax.Array
    angles: tuple = eqx.field(static=True)
    window: int = eqx.field(static=True)
    free_starts: bool = eqx.field(static=True)

    def __init__(self, dim: int, *, width: int = 64, depth: int = 2, activation: str = "tanh", angles: str = "",
                 window: int = VIN_WINDOW, free_starts: bool = True, key):
        d = dim // 2
        if isinstance(window, bool) or not isinstance(window, int) or not 3 <= window <= 1000:
            raise InputError(f"vin: window must be an integer from 3 to 1000 positions, got {window!r:.40}")
        if not isinstance(free_starts, bool):
            raise InputError(f"vin: free_starts must be true or false, got {free_starts!r:.40}")
        self.angles = parse_angles(angles, d)
        self.window = window
        self.free_starts = free_starts
        self.mlp_v = eqx.nn.MLP(_embedded_size(d, self.angles), "scalar", width, depth, _activation(activation), key=key)
        self.log_diag = jnp.zeros(d)
        self.lower = jnp.zeros((d, d))

    def cholesky(self):
        """``C`` with ``M = C Cᵀ``: lower triangular, diagonal ``exp(log_diag − mean)`` so ``det M = 1``."""
        diag = jnp.exp(self.log_diag - jnp.mean(self.log_diag))
        return jnp.tril(self.lower, -1) + jnp.diag(diag)

    def mass_matrix(self):
        """The learned constant mass matrix ``M`` (symmetric positive definite, ``det M = 1``)."""
        c = self.cholesky()
        return c @ c.T

    def potential(self, q):
        """The learned potential ``V_θ(q)`` (in units where ``det M = 1``; up to a constant)."""
        return self.mlp_v(embed_positions(q, self.angles))

    def acceleration(self, q):
        """``q̈ = −M⁻¹ ∇V_θ(q)`` (two triangular solves with ``C``)."""
        c = self.cholesky()
        g = jax.grad(self.potential)(q)
        y = jax.scipy.linalg.solve_triangular(c, g, lower=True)
        return -jax.scipy.linalg.solve_triangular(c.T, y, lower=False)

    def step(self, q_prev, q, h):
        """One discrete Euler–Lagrange (Störmer–Verlet) step: ``q_{k+1} = 2 q_k − q_{k−1} + h² q̈(q_k)``."""
        return 2.0 * q - q_prev + h**2 * self.acceleration(q)

    def rollout(self, q0, q1, h, num_steps: int):
        """Positions ``[num_steps + 2, d]``: ``q0``, ``q1`` and ``num_steps`` updates (:meth:`step`), by ``lax.scan``."""
        q0 = jnp.asarray(q0)
        q1 = jnp.asarray(q1, q0.dtype)

        def body(carry, _):
            a, b = carry
            c = self.step(a, b, h).astype(b.dtype)  # the positions keep their dtype
            return (b, c), c

        _, qs = jax.lax.scan(body, (q0, q1), None, length=int(num_steps))
        return jnp.concatenate([q0[None], q1[None], qs], axis=0)

    def energy(self, q_prev, q_next, q, h):
        """Discrete energy ``½ vᵀ M v + V_θ(q)`` at ``q`` with the central-difference velocity ``v = (q_next − q_prev) / 2h``."""
        v = (q_next - q_prev) / (2.0 * h)
        return 0.5 * v @ self.mass_matrix() @ v + self.potential(q)

    def vector_field(self, t, x):
        d = x.shape[-1] // 2
        return jnp.concatenate([x[d:], self.acceleration(x[:d])])


def uniform_step(t, *, rtol: float = UNIFORM_STEP_RTOL) -> float:
    """The common time step of times ``t`` ``[trajectory, time]``.

    Raises:
        InputError: fewer than two times, or steps that differ (by more than ``rtol`` relative) within
            or between trajectories, naming the trajectory, the time index and both steps.
    """
    t = np.asarray(t, np.float64)
    if t.ndim != 2 or t.shape[1] < 2:
        raise InputError("vin needs at least two times per trajectory in the time column t")
    steps = np.diff(t, axis=1)
    h = float(steps[0, 0])
    bad = np.argwhere(~(np.abs(steps - h) <= rtol * abs(h)) | ~(steps > 0))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise InputError(f"vin needs a uniform time step, but the time column t is not uniform: trajectory {i} steps "
                         f"by {steps[i, j]:g} at time index {j} (t = {t[i, j]:g}) where the first step is {h:g}; "
                         "resample the data onto a uniform grid")
    return h


def vin_arrays(dataset, *, window: int = VIN_WINDOW, dtype=jnp.float32):
    """Training rows of a VIN: every window of ``window`` consecutive positions ``[N, W, d]`` and the step ``h`` ``[N]``.

    Only the positions ``q`` (and the times) of ``dataset`` are used; momenta or velocities are ignored.

    Raises:
        InputError: no position columns, non-finite or out-of-range positions or times
            (:func:`physlaw.nets._tasks.check_training_data`), a non-uniform time step, or trajectories
            shorter than the window.
    """
    from physlaw.nets._tasks import check_training_data

    q = np.asarray(dataset.q)
    if q.shape[-1] == 0:
        raise InputError("vin needs position columns (choose them with --q)")
    positions = dataclasses.replace(dataset, p=q[..., :0], dq=None, dp=None,
                                    coordinate_names=tuple(dataset.coordinate_names)[:q.shape[-1]])
    check_training_data(positions, dtype=dtype)
    h = uniform_step(dataset.t)
    num_times = q.shape[1]
    if num_times < window:
        raise InputError(f"vin trains on windows of {window} positions but the trajectories have {num_times} "
                         "times; use longer trajectories or a smaller window")
    idx = np.arange(num_times - window + 1)[:, None] + np.arange(window)
    rows = q[:, idx].reshape(-1, window, q.shape[-1])
    return jnp.asarray(rows, dtype), jnp.full(rows.shape[0], h, dtype)


def vin_loss(model: VIN, windows, h):
    """Multi-step rollout MSE: each window ``[W, d]`` rolled out from its first two positions, the other
    ``W − 2`` compared with the observed ones (mean over windows, steps and coordinates)."""
    steps = windows.shape[1] - 2
    pred = jax.vmap(lambda w, hh: model.rollout(w[0], w[1], hh, steps)[2:])(windows, h)
    return jnp.mean((pred - windows[:, 2:]) ** 2)


class _FreeStarts(eqx.Module):
    """Training only: a VIN and the two start positions ``[N, 2, d]`` of every training window, trained together."""

    vin: VIN
    starts: jax.Array


def _free_start_loss(wrapper: _FreeStarts, windows, h, idx):
    """Rollout MSE over all ``W`` positions of each window, started from its trained start pair."""
    steps = windows.shape[1] - 2
    pred = jax.vmap(lambda s, hh: wrapper.vin.rollout(s[0], s[1], hh, steps))(wrapper.starts[idx], h)
    return jnp.mean((pred - windows) ** 2)


def fit_vin(model: VIN, data, *, key, config, progress=None, checkpoint_fn=None):
    """Train a VIN on :func:`vin_arrays` rows with :func:`physlaw.nets.fit`; returns ``(model, TrainInfo)``.

    With ``model.free_starts`` (the default) each window's start pair ``(q_k, q_{k+1})`` is a trained
    parameter too, initialised at the observed positions, and the loss compares all ``W`` positions:
    noisy observed starts (a velocity error of ``√2 σ / h`` for position noise ``σ``) would otherwise
    dominate the loss and bias ``V_θ``. Validation windows keep their observed starts (their start
    parameters get no gradient), so on noisy data the validation loss, and with it the choice of the
    returned (best-validation) step, measures rollouts from noisy starts. Without it the loss is :func:`vin_loss`. ``checkpoint_fn`` receives the VIN
    alone.
    """
    from physlaw.nets._train import fit

    windows, h = data
    if not model.free_starts:
        return fit(model, vin_loss, (windows, h), key=key, config=config, progress=progress,
                   checkpoint_fn=checkpoint_fn)
    wrapper = _FreeStarts(model, jnp.asarray(windows[:, :2]))
    save = None if checkpoint_fn is None else (lambda m, step, info: checkpoint_fn(m.vin, step, info))
    wrapper, info = fit(wrapper, _free_start_loss, (windows, h, jnp.arange(windows.shape[0])), key=key,
                        config=config, progress=progress, checkpoint_fn=save)
    return wrapper.vin, info
