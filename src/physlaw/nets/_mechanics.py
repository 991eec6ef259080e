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
    """

    state: ClassVar[str] = "qv"
    mlp: eqx.nn.MLP
    angles: tuple = eqx.field(static=True)

    def __init__(self, dim: int, *, width: int = 200, depth: int = 2, activation: str = "tanh",
                 angles: str = "", key):
        d = dim // 2
        self.angles = parse_angles(angles, d)
        self.mlp = eqx.nn.MLP(_embedded_size(d, self.angles) + d, d, width, depth, _activation(activation), key=key)

    def acceleration(self, x):
        d = x.shape[-1] // 2
        return self.mlp(jnp.concatenate([embed_positions(x[:d], self.angles), x[d:]]))

    def vector_field(self, t, x):
        d = x.shape[-1] // 2
        return jnp.concatenate([x[d:], self.acceleration(x)])


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
