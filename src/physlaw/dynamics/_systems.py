"""Hamiltonian systems ``H(q, p) = T(q, p) + V(q)`` with their conserved quantities.

Every system keeps its kinetic energy ``T`` (quadratic in ``p``) apart from its potential ``V``:
the symplectic integrators need ``∂T/∂p`` and ``∂V/∂q`` for separable systems, and the energy-shell
sampler rescales momenta by ``s = sqrt((E − V(q)) / T(q, p))``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

from physlaw.dynamics._flows import FLOW_SYSTEMS
from physlaw.errors import InputError


@dataclasses.dataclass(frozen=True)
class HamiltonianSystem:
    """A Hamiltonian system ``H(q, p) = T(q, p) + V(q)`` with ``T`` homogeneous quadratic in ``p``.

    Attributes:
        name: registry name (``physlaw simulate --list``).
        description: one line with the Hamiltonian.
        dim: degrees of freedom d (state dimension 2d).
        kinetic_fn: ``(q, p) -> T``; for ``separable`` systems it must not depend on ``q``.
        potential_fn: ``q -> V``.
        sample_fn: ``key -> (q, p)``, one default initial condition.
        separable: whether ``T`` depends on ``p`` only (then leapfrog/Yoshida apply).
        parameters: the physical constants, recorded in dataset metadata.
        conserved: name -> ``(q, p) -> scalar``, the quantities the exact flow conserves
            (``"energy"`` first).
        dt, num_times, substeps: defaults for simulation.
    """

    name: str
    description: str
    dim: int
    kinetic_fn: Callable
    potential_fn: Callable
    sample_fn: Callable
    separable: bool = True
    parameters: dict = dataclasses.field(default_factory=dict)
    conserved: dict = dataclasses.field(default_factory=dict)
    dt: float = 0.1
    num_times: int = 32
    substeps: int = 10

    @property
    def coordinate_names(self) -> tuple[str, ...]:
        """``("q1", …, "qd", "p1", …, "pd")``."""
        return tuple(f"q{i + 1}" for i in range(self.dim)) + tuple(f"p{i + 1}" for i in range(self.dim))

    @property
    def invariants(self) -> tuple[str, ...]:
        """The names of the exactly conserved quantities: all of ``conserved`` (compare
        :class:`physlaw.dynamics._flows.FlowSystem`, where some entries are not conserved)."""
        return tuple(self.conserved)

    def hamiltonian(self, q, p):
        """``H(q, p) = T(q, p) + V(q)``."""
        return self.kinetic_fn(q, p) + self.potential_fn(q)

    def energy(self, x):
        """``H`` of a phase-space state ``x = (q, p)`` of shape ``[..., 2d]``."""
        d = self.dim
        fn = lambda y: self.hamiltonian(y[:d], y[d:])  # noqa: E731
        return jnp.vectorize(fn, signature="(n)->()")(x)

    def vector_field(self, t, x):
        """Hamilton's equations ``ẋ = J ∇H(x)``, ``J = [[0, I], [−I, 0]]``, for ``x = (q, p)``."""
        del t
        d = self.dim
        dH_dq, dH_dp = jax.grad(self.hamiltonian, argnums=(0, 1))(x[:d], x[d:])
        return jnp.concatenate([dH_dp, -dH_dq])


def _norm(v):
    return jnp.sqrt(jnp.sum(v**2))


def _angular_momentum_2d(q, p):
    return q[0] * p[1] - q[1] * p[0]


def _uniform(key, lo, hi, shape=()):
    return jax.random.uniform(key, shape, minval=lo, maxval=hi)


def _ring_sampler(r_min, r_max):
    """Greydanus et al. (2019): a point of phase space at a uniform radius in [r_min, r_max]."""

    def sample(key):
        k1, k2 = jax.random.split(key)
        y = jax.random.uniform(k1, (2,), minval=-1.0, maxval=1.0)
        y = y / _norm(y) * _uniform(k2, r_min, r_max)
        return y[:1], y[1:]

    return sample


def _normal_sampler(dim, scale=1.0):
    def sample(key):
        k1, k2 = jax.random.split(key)
        return scale * jax.random.normal(k1, (dim,)), scale * jax.random.normal(k2, (dim,))

    return sample


def free_particle(dim: int = 1, m: float = 1.0) -> HamiltonianSystem:
    """Free particle ``H = |p|²/(2m)``: conserves energy, momentum and (d = 2) angular momentum."""
    conserved = {"energy": lambda q, p: jnp.sum(p**2) / (2 * m)}
    for i in range(dim):
        conserved[f"momentum_{i + 1}"] = lambda q, p, i=i: p[i]
    if dim == 2:
        conserved["angular_momentum"] = _angular_momentum_2d
    return HamiltonianSystem(
        name=f"free-particle-{dim}d",
        description=f"free particle in {dim}D, H = |p|^2/(2m)",
        dim=dim,
        kinetic_fn=lambda q, p: jnp.sum(p**2) / (2 * m),
        potential_fn=lambda q: jnp.zeros((), q.dtype),
        sample_fn=_normal_sampler(dim),
        parameters={"m": m},
        conserved=conserved,
        substeps=1,
    )


def harmonic_oscillator(
    dim: int = 1, k: float | tuple = 1.0, m: float = 1.0, *, name: str | None = None
) -> HamiltonianSystem:
    """Harmonic oscillator ``H = |p|²/(2m) + Σ_i k_i q_i²/2``.

    Conserves the energy of each mode ``E_i = p_i²/(2m) + k_i q_i²/2``; when isotropic in 2D
    also the angular momentum ``q1 p2 − q2 p1`` (its symmetry algebra is u(2): four charges).

    Args:
        dim: 1 or 2 (any d works).
        k: spring constant, or one per coordinate (anisotropic).
        m: mass.
        name: registry name override (``spring`` is the Greydanus mass-spring ``H = q² + p²``,
            i.e. ``k = 2, m = 1/2``).
    """
    ks = jnp.broadcast_to(jnp.asarray(k, dtype=float), (dim,))
    isotropic = bool(jnp.all(ks == ks[0]))
    conserved = {"energy": lambda q, p: jnp.sum(p**2) / (2 * m) + 0.5 * jnp.sum(ks * q**2)}
    if dim > 1:
        for i in range(dim):
            conserved[f"mode_energy_{i + 1}"] = lambda q, p, i=i: p[i] ** 2 / (2 * m) + 0.5 * ks[i] * q[i] ** 2
    if dim == 2 and isotropic:
        conserved["angular_momentum"] = _angular_momentum_2d
    kind = "isotropic" if isotropic else "anisotropic"
    return HamiltonianSystem(
        name=name or (f"harmonic-{dim}d" + ("" if isotropic or dim == 1 else "-aniso")),
        description=f"{kind} harmonic oscillator in {dim}D, H = |p|^2/(2m) + sum_i k_i q_i^2/2",
        dim=dim,
        kinetic_fn=lambda q, p: jnp.sum(p**2) / (2 * m),
        potential_fn=lambda q: 0.5 * jnp.sum(ks * q**2),
        sample_fn=_ring_sampler(0.1, 1.0) if dim == 1 else _normal_sampler(dim),
        parameters={"k": [float(v) for v in ks], "m": m},
        conserved=conserved,
    )


def pendulum(m: float = 0.5, l: float = 1.0, g: float = 6.0) -> HamiltonianSystem:  # noqa: E741
    """Ideal pendulum ``H = p²/(2 m l²) + m g l (1 − cos q)``.

    The defaults give the Greydanus et al. (2019) pendulum ``H = 3(1 − cos q) + p²``, with
    initial conditions at phase-space radius in [1.3, 2.3].
    """
    return HamiltonianSystem(
        name="pendulum",
        description="ideal pendulum, H = p^2/(2 m l^2) + m g l (1 - cos q) (default 3(1 - cos q) + p^2)",
        dim=1,
        kinetic_fn=lambda q, p: jnp.sum(p**2) / (2 * m * l**2),
        potential_fn=lambda q: m * g * l * jnp.sum(1.0 - jnp.cos(q)),
        sample_fn=_ring_sampler(1.3, 2.3),
        parameters={"m": m, "l": l, "g": g},
        conserved={"energy": lambda q, p: jnp.sum(p**2) / (2 * m * l**2) + m * g * l * jnp.sum(1.0 - jnp.cos(q))},
        dt=3.0 / 44.0,
        num_times=45,
    )


def kepler(dim: int = 2, m: float = 1.0, k: float = 1.0) -> HamiltonianSystem:
    """Kepler problem ``H = |p|²/(2m) − k/|q|`` in 2D or 3D.

    Conserves energy, angular momentum ``L = q × p`` and the Laplace–Runge–Lenz vector
    ``A = p × L − m k q/|q|``. Default initial conditions: ``|q| ∈ [0.5, 1.5]`` and a velocity
    of 0.8–1.2 times the circular speed at a random angle within 30° of the tangent (bound orbits).
    """
    if dim not in (2, 3):
        raise InputError(f"kepler: dim must be 2 or 3, got {dim}")
    kin = lambda q, p: jnp.sum(p**2) / (2 * m)  # noqa: E731
    pot = lambda q: -k / _norm(q)  # noqa: E731
    conserved = {"energy": lambda q, p: kin(q, p) + pot(q)}
    if dim == 2:
        conserved["angular_momentum"] = _angular_momentum_2d

        def lrl(q, p):
            L = _angular_momentum_2d(q, p)
            return jnp.array([p[1] * L, -p[0] * L]) - m * k * q / _norm(q)
    else:
        for i, c in enumerate("xyz"):
            conserved[f"angular_momentum_{c}"] = lambda q, p, i=i: jnp.cross(q, p)[i]

        def lrl(q, p):
            return jnp.cross(p, jnp.cross(q, p)) - m * k * q / _norm(q)

    for i in range(dim):
        conserved[f"runge_lenz_{i + 1}"] = lambda q, p, i=i: lrl(q, p)[i]

    def sample(key):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        r = _uniform(k1, 0.5, 1.5)
        u = jax.random.normal(k2, (dim,))
        u = u / _norm(u)
        w = jax.random.normal(k3, (dim,))
        w = w - jnp.dot(w, u) * u
        w = w / _norm(w)
        ka, kb = jax.random.split(k4)
        speed = _uniform(ka, 0.8, 1.2) * jnp.sqrt(k / (m * r))
        angle = _uniform(kb, -jnp.pi / 6, jnp.pi / 6)
        v = speed * (jnp.cos(angle) * w + jnp.sin(angle) * u)
        return r * u, m * v

    return HamiltonianSystem(
        name=f"kepler-{dim}d",
        description=f"Kepler problem in {dim}D, H = |p|^2/(2m) - k/|q|",
        dim=dim,
        kinetic_fn=kin,
        potential_fn=pot,
        sample_fn=sample,
        parameters={"m": m, "k": k},
        conserved=conserved,
        dt=0.1,
        num_times=64,
        substeps=20,
    )


def two_body(m1: float = 1.0, m2: float = 1.0, G: float = 1.0) -> HamiltonianSystem:  # noqa: N803
    """Two bodies in the plane under gravity, ``H = Σ|p_i|²/(2m_i) − G m1 m2/|q1 − q2|``.

    Coordinates ``q = (x1, y1, x2, y2)``. Conserves energy, total momentum and angular
    momentum. Default initial conditions follow Greydanus et al. (2019): the bodies opposite each
    other at distance ``r ∈ [0.5, 1.5]`` from the centre, on near-circular orbits (speeds
    perturbed by 5 %).
    """
    kin = lambda q, p: jnp.sum(p[:2] ** 2) / (2 * m1) + jnp.sum(p[2:] ** 2) / (2 * m2)  # noqa: E731
    pot = lambda q: -G * m1 * m2 / _norm(q[:2] - q[2:])  # noqa: E731

    def sample(key):
        k1, k2, k3 = jax.random.split(key, 3)
        r = _uniform(k1, 0.5, 1.5)
        phi = _uniform(k2, 0.0, 2 * jnp.pi)
        u = jnp.array([jnp.cos(phi), jnp.sin(phi)])
        t = jnp.array([-u[1], u[0]])
        # circular orbit of reduced mass μ at separation 2r: v_rel = sqrt(G (m1 + m2) / (2r))
        v_rel = jnp.sqrt(G * (m1 + m2) / (2 * r)) * (1.0 + 0.05 * jax.random.normal(k3, (2,)))
        mu = m1 * m2 / (m1 + m2)
        q = jnp.concatenate([r * u, -r * u])
        p = jnp.concatenate([mu * v_rel[0] * t, -mu * v_rel[1] * t])
        return q, p

    def ang(q, p):
        return _angular_momentum_2d(q[:2], p[:2]) + _angular_momentum_2d(q[2:], p[2:])

    return HamiltonianSystem(
        name="two-body",
        description="two bodies in 2D under gravity, H = sum |p_i|^2/(2 m_i) - G m1 m2/|q1 - q2|",
        dim=4,
        kinetic_fn=kin,
        potential_fn=pot,
        sample_fn=sample,
        parameters={"m1": m1, "m2": m2, "G": G},
        conserved={
            "energy": lambda q, p: kin(q, p) + pot(q),
            "momentum_x": lambda q, p: p[0] + p[2],
            "momentum_y": lambda q, p: p[1] + p[3],
            "angular_momentum": ang,
        },
        dt=0.2,
        num_times=50,
        substeps=20,
    )


def double_pendulum(
    m1: float = 1.0, m2: float = 1.0, l1: float = 1.0, l2: float = 1.0, g: float = 9.81
) -> HamiltonianSystem:
    """Planar double pendulum in canonical coordinates ``(θ1, θ2, p1, p2)``.

    .. math::
        H = \\frac{m_2 l_2^2 p_1^2 + (m_1 + m_2) l_1^2 p_2^2 - 2 m_2 l_1 l_2 p_1 p_2 \\cos(θ_1 - θ_2)}
                 {2 m_2 l_1^2 l_2^2 \\,[m_1 + m_2 \\sin^2(θ_1 - θ_2)]}
            - (m_1 + m_2) g l_1 \\cos θ_1 - m_2 g l_2 \\cos θ_2 .

    Not separable (integrated with RK4); conserves only the energy (chaotic at high energy).
    """

    def kin(q, p):
        c = jnp.cos(q[0] - q[1])
        s2 = jnp.sin(q[0] - q[1]) ** 2
        num = m2 * l2**2 * p[0] ** 2 + (m1 + m2) * l1**2 * p[1] ** 2 - 2 * m2 * l1 * l2 * p[0] * p[1] * c
        return num / (2 * m2 * l1**2 * l2**2 * (m1 + m2 * s2))

    def pot(q):
        return -(m1 + m2) * g * l1 * jnp.cos(q[0]) - m2 * g * l2 * jnp.cos(q[1])

    def sample(key):
        k1, k2 = jax.random.split(key)
        return _uniform(k1, -jnp.pi / 4, jnp.pi / 4, (2,)), jax.random.normal(k2, (2,))

    return HamiltonianSystem(
        name="double-pendulum",
        description="double pendulum, H = T(theta, p) - (m1 + m2) g l1 cos theta1 - m2 g l2 cos theta2",
        dim=2,
        kinetic_fn=kin,
        potential_fn=pot,
        sample_fn=sample,
        separable=False,
        parameters={"m1": m1, "m2": m2, "l1": l1, "l2": l2, "g": g},
        conserved={"energy": lambda q, p: kin(q, p) + pot(q)},
        dt=0.05,
        num_times=100,
        substeps=10,
    )


def _per_link(name: str, value, n: int) -> tuple[float, ...]:
    """A chain constant as one float per link: a scalar is repeated, a sequence must have ``n`` entries."""
    values = tuple(float(v) for v in value) if isinstance(value, (list, tuple)) else (float(value),) * n
    if len(values) != n:
        raise InputError(f"pendulum-chain: {name} needs one value or one per link ({n}), got {len(values)}")
    if not all(v > 0 for v in values):
        raise InputError(f"pendulum-chain: {name} must be positive, got {values}")
    return values


def pendulum_chain(n: int = 3, m: float | tuple = 1.0, l: float | tuple = 1.0, g: float = 1.0,  # noqa: E741
                   angle_scale: float = 1.0, rate_scale: float = 1.0) -> HamiltonianSystem:
    """Planar chain of ``n`` point masses on massless rods hanging from a fixed pivot (an n-pendulum).

    Coordinates: the angles ``θ_i`` of the rods from the downward vertical, conjugate momenta ``p``.
    Mass ``k`` sits at ``(Σ_{i≤k} l_i sin θ_i, −Σ_{i≤k} l_i cos θ_i)``, so with ``μ_i = Σ_{k≥i} m_k``
    (the mass hanging from rod ``i``)

    .. math::
        H = \\tfrac12 p^\\top M(θ)^{-1} p - g \\sum_i μ_i l_i \\cos θ_i, \\qquad
        M_{ij}(θ) = μ_{\\max(i, j)}\\, l_i l_j \\cos(θ_i - θ_j).

    ``n = 2`` is :func:`double_pendulum` (same ``H`` for the same constants); ``n = 3`` is the
    3-pendulum of Finzi, Wang & Wilson (NeurIPS 2020), whose setting the defaults follow: ``g = 1``,
    angles and angular velocities standard normal, 10 time units (they also draw the masses and
    lengths from [0.6, 1.4], pass them as ``m`` and ``l``, and record every 0.1 instead of 0.05:
    ``benchmarks/pendulum_chain.py``). Not separable (integrated with RK4); conserves only the
    energy; chaotic at moderate energies (links that swing over the top).

    Args:
        n: number of links (2 to 20; ``--param n=3``).
        m, l: mass and length of every link, or one per link (a sequence of ``n``).
        g: gravitational acceleration.
        angle_scale, rate_scale: default initial conditions (Finzi et al.'s sampler): angles
            ``θ_i ~ N(0, angle_scale²)`` and angular velocities ``θ̇_i ~ N(0, rate_scale²)``, momenta
            ``p = M(θ) θ̇``.
    """
    if isinstance(n, bool) or int(n) != n or not 2 <= int(n) <= 20:
        raise InputError(f"pendulum-chain: n (the number of links) must be an integer from 2 to 20, got {n}")
    n = int(n)
    ms, ls = _per_link("m", m, n), _per_link("l", l, n)
    if not (g > 0 and angle_scale >= 0 and rate_scale >= 0):
        raise InputError(f"pendulum-chain needs g > 0, angle_scale >= 0 and rate_scale >= 0; got g = {g}, "
                         f"angle_scale = {angle_scale}, rate_scale = {rate_scale}")
    mass, length = jnp.asarray(ms), jnp.asarray(ls)
    hanging = jnp.cumsum(mass[::-1])[::-1]  # μ_i = Σ_{k ≥ i} m_k
    idx = jnp.arange(n)
    mu_max = hanging[jnp.maximum(idx[:, None], idx[None, :])]

    def mass_matrix(q):
        return mu_max * length[:, None] * length[None, :] * jnp.cos(q[:, None] - q[None, :])

    def kin(q, p):
        return 0.5 * p @ jnp.linalg.solve(mass_matrix(q), p)

    def pot(q):
        return -g * jnp.sum(hanging * length * jnp.cos(q))

    def sample(key):
        k1, k2 = jax.random.split(key)
        q = angle_scale * jax.random.normal(k1, (n,))
        return q, mass_matrix(q) @ (rate_scale * jax.random.normal(k2, (n,)))

    return HamiltonianSystem(
        name="pendulum-chain",
        description="chain of n point masses on massless rods (n-pendulum), H = p^T M(theta)^-1 p / 2 "
                    "- g sum_i mu_i l_i cos theta_i (--param n=3)",
        dim=n,
        kinetic_fn=kin,
        potential_fn=pot,
        sample_fn=sample,
        separable=False,
        parameters={"n": n, "m": list(ms), "l": list(ls), "g": float(g), "angle_scale": float(angle_scale),
                    "rate_scale": float(rate_scale)},
        conserved={"energy": lambda q, p: kin(q, p) + pot(q)},
        dt=0.05,
        num_times=200,
        substeps=10,
    )


def henon_heiles(lam: float = 1.0) -> HamiltonianSystem:
    """Hénon–Heiles system ``H = |p|²/2 + (q1² + q2²)/2 + λ (q1² q2 − q2³/3)`` (Hénon & Heiles 1964).

    Conserves the energy only: the cubic term breaks the rotation symmetry of the oscillator
    down to the discrete rotations by 120°, and for energies ``1/8 ≲ E < 1/6`` (λ = 1) most of the
    bounded energy surface is chaotic, so no second integral exists there. Default initial
    conditions: ``E`` uniform in [0.125, 0.16]/λ², positions uniform in the disc ``|q| < 0.3/λ``,
    momenta at a uniform angle with ``|p| = sqrt(2 (E − V(q)))``.
    """
    if not lam > 0:
        raise InputError(f"henon-heiles needs lam > 0, got {lam}")
    kin = lambda q, p: 0.5 * jnp.sum(p**2)  # noqa: E731
    pot = lambda q: 0.5 * jnp.sum(q**2) + lam * (q[0] ** 2 * q[1] - q[1] ** 3 / 3.0)  # noqa: E731

    def sample(key):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        energy = _uniform(k1, 0.125, 0.16) / lam**2
        r = 0.3 / lam * jnp.sqrt(_uniform(k2, 0.0, 1.0))
        phi = _uniform(k3, 0.0, 2 * jnp.pi)
        q = r * jnp.array([jnp.cos(phi), jnp.sin(phi)])
        speed = jnp.sqrt(2.0 * jnp.maximum(energy - pot(q), 0.0))
        psi = _uniform(k4, 0.0, 2 * jnp.pi)
        return q, speed * jnp.array([jnp.cos(psi), jnp.sin(psi)])

    return HamiltonianSystem(
        name="henon-heiles",
        description="Henon-Heiles H = |p|^2/2 + |q|^2/2 + lam (q1^2 q2 - q2^3/3), chaotic at E in [1/8, 1/6]; "
                    "energy only",
        dim=2,
        kinetic_fn=kin,
        potential_fn=pot,
        sample_fn=sample,
        parameters={"lam": lam},
        conserved={"energy": lambda q, p: kin(q, p) + pot(q)},
        dt=0.2,
        num_times=100,
        substeps=10,
    )


def n_body_springs(n: int = 3, k: float = 1.0, r0: float = 1.0, m: float = 1.0, softening: float = 0.1,
                   radius: float = 1.0, momentum: float = 0.5) -> HamiltonianSystem:
    """``n`` equal masses in the plane, every pair joined by a spring of rest length ``r0``.

    .. math::
        H = \\sum_i \\frac{|p_i|^2}{2m} + \\sum_{i<j} \\tfrac12 k\\,(r_{ij} - r_0)^2, \\qquad
        r_{ij} = \\sqrt{|q_i - q_j|^2 + ε^2} .

    Coordinates ``q = (x1, y1, …, xn, yn)``, ``p`` likewise (4 columns per body). The potential
    grows without bound with the distances, so the motion stays bounded; for ``n ≥ 3`` the rest
    lengths cannot all be met in the plane (frustration), and the motion is nonlinear and chaotic.
    The softening ``ε`` (``softening``) smooths the spring where two bodies pass through each
    other: with ``ε = 0`` the force's direction jumps there and the integrators lose their order.
    Conserves energy, total momentum and angular momentum. Default initial conditions: positions
    independent and uniform in a disc of ``radius`` (so the distribution of a pair's distance does
    not depend on ``n``), centred; momenta normal with s.d. ``momentum`` per component, total
    momentum removed. The test bed of graph networks that learn one pair interaction and apply it to
    any ``n`` (:class:`physlaw.nets.GraphHNN`; Sanchez-Gonzalez et al. 2019, arXiv 1909.12790).
    """
    if isinstance(n, bool) or int(n) != n or not 2 <= int(n) <= 1000:
        raise InputError(f"n-body-springs: n (the number of bodies) must be an integer from 2 to 1000, got {n}")
    if not (k > 0 and r0 >= 0 and m > 0 and softening > 0 and radius > 0 and momentum >= 0):
        raise InputError(f"n-body-springs needs k > 0, r0 >= 0, m > 0, softening > 0, radius > 0 and momentum >= 0; "
                         f"got k = {k}, r0 = {r0}, m = {m}, softening = {softening}, radius = {radius}, "
                         f"momentum = {momentum}")
    n = int(n)
    left, right = jnp.triu_indices(n, k=1)
    kin = lambda q, p: jnp.sum(p**2) / (2 * m)  # noqa: E731

    def pot(q):
        z = q.reshape(n, 2)
        r = jnp.sqrt(jnp.sum((z[left] - z[right]) ** 2, axis=-1) + softening**2)
        return 0.5 * k * jnp.sum((r - r0) ** 2)

    def sample(key):
        k1, k2, k3 = jax.random.split(key, 3)
        rad = radius * jnp.sqrt(jax.random.uniform(k1, (n,)))
        phi = jax.random.uniform(k2, (n,), maxval=2 * jnp.pi)
        z = jnp.stack([rad * jnp.cos(phi), rad * jnp.sin(phi)], axis=-1)
        v = momentum * jax.random.normal(k3, (n, 2))
        return (z - z.mean(axis=0)).reshape(-1), (v - v.mean(axis=0)).reshape(-1)

    def ang(q, p):
        z, w = q.reshape(n, 2), p.reshape(n, 2)
        return jnp.sum(z[:, 0] * w[:, 1] - z[:, 1] * w[:, 0])

    return HamiltonianSystem(
        name="n-body-springs",
        description="n bodies in 2D, springs of rest length r0 between all pairs, "
                    "H = sum |p_i|^2/(2m) + sum_{i<j} k (sqrt(|q_i - q_j|^2 + eps^2) - r0)^2/2 (--param n=5)",
        dim=2 * n,
        kinetic_fn=kin,
        potential_fn=pot,
        sample_fn=sample,
        parameters={"n": n, "k": k, "r0": r0, "m": m, "softening": softening, "radius": radius,
                    "momentum": momentum},
        conserved={
            "energy": lambda q, p: kin(q, p) + pot(q),
            "momentum_x": lambda q, p: jnp.sum(p[0::2]),
            "momentum_y": lambda q, p: jnp.sum(p[1::2]),
            "angular_momentum": ang,
        },
        dt=0.1,
        num_times=50,
        substeps=10,
    )


# name -> factory; the factories take the physical constants as keyword arguments.
HAMILTONIAN_SYSTEMS: dict[str, Callable[..., HamiltonianSystem]] = {
    "free-particle-1d": lambda **kw: free_particle(1, **kw),
    "free-particle-2d": lambda **kw: free_particle(2, **kw),
    "spring": lambda **kw: harmonic_oscillator(1, **{"k": 2.0, "m": 0.5, **kw}, name="spring"),
    "harmonic-1d": lambda **kw: harmonic_oscillator(1, **kw),
    "harmonic-2d": lambda **kw: harmonic_oscillator(2, **kw),
    "harmonic-2d-aniso": lambda **kw: harmonic_oscillator(2, **{"k": (1.0, 4.0), **kw}),
    "pendulum": pendulum,
    "double-pendulum": double_pendulum,
    "kepler": lambda **kw: kepler(2, **kw),
    "kepler-2d": lambda **kw: kepler(2, **kw),
    "kepler-3d": lambda **kw: kepler(3, **kw),
    "two-body": two_body,
    "henon-heiles": henon_heiles,
    "n-body-springs": n_body_springs,
    "pendulum-chain": pendulum_chain,
}


def get_system(name: str, **parameters) -> HamiltonianSystem:
    """Build a registered system by name, e.g. ``get_system("pendulum", g=9.81)``: a Hamiltonian
    system (``HAMILTONIAN_SYSTEMS``) or a non-Hamiltonian test flow (``FLOW_SYSTEMS``, module
    ``_flows``: damped oscillator, driven Duffing, Lotka–Volterra), which has the same interface."""
    factories = {**HAMILTONIAN_SYSTEMS, **FLOW_SYSTEMS}
    if name not in factories:
        raise InputError(
            f"unknown system {name!r}; choose one of {', '.join(factories)}"
        )
    try:
        return factories[name](**parameters)
    except TypeError as err:
        raise InputError(f"bad parameters {parameters} for system {name!r}: {err}") from None
