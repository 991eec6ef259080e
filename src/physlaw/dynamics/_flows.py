"""Non-Hamiltonian test flows: systems *without* (or with few) conserved quantities.

They exist to ask the symmetry routes for false discoveries (issue 14): a route that reports a
conserved law on one of these systems beyond its ``invariants`` has made a false discovery.

=====================  =============================================  ==========================
name                   equations (``q1 = q``, ``p1 = p``)             exact invariants
=====================  =============================================  ==========================
``damped-oscillator``  ``q̇ = p, ṗ = −ω² q − 2 ζ ω p``                  none (the energy
                                                                      ``E = p²/2 + ω² q²/2``
                                                                      decays at the mean
                                                                      relative rate ``2 ζ ω``)
``duffing-driven``     ``q̇ = p, ṗ = −δ p − α q − β q³ + γ cos(Ω t)``   none (chaotic attractor at
                                                                      the defaults)
``lotka-volterra``     ``ẋ = a x − b x y, ẏ = d x y − c y``           ``V = d x − c ln x + b y
                       (``q1 = x`` prey, ``p1 = y`` predators)        − a ln y`` (not a
                                                                      Hamiltonian of ``(x, y)``)
``damped-pendulum``    ``θ̇ = ω, ω̇ = −ω0² sin θ − 2 ζ ω0 ω``             none (the energy
                       (``q1 = θ``, ``p1 = ω``: angle and angular     ``E = ω²/2 + ω0² (1 − cos θ)``
                       velocity)                                      decays)
``damped-double-``     the double pendulum in angles and angular      none for ``b > 0`` (the
``pendulum``           velocities ``(θ1, θ2, ω1, ω2)`` with a         energy ``E = ½ ωᵀ M(θ) ω +
                       friction torque ``−b ωi`` at each joint        V(θ)`` decays); the energy
                                                                      for ``b = 0``
=====================  =============================================  ==========================

The two pendulums are written in angles and *angular velocities*, as a camera records a pendulum (the
real double pendulum of ``../shared/data/real/double-pendulum``): their energies are polynomials in the
velocities with coefficients that are first harmonics of the angles (``ω1 ω2 cos(θ1 − θ2)``), the
functions of the library route's ``angles`` option (:class:`physlaw.symmetry.FunctionLibrary`).

A :class:`FlowSystem` has the attributes :func:`physlaw.dynamics.simulate` reads from a
:class:`~physlaw.dynamics.HamiltonianSystem` (``dim``, ``sample_fn``, ``vector_field``,
``hamiltonian``, ``conserved`` with an ``"energy"`` entry, ``dt``, ``num_times``, ``substeps``,
``separable = False`` so RK4 integrates it), so ``simulate("damped-oscillator", key)`` and
``physlaw simulate damped-oscillator`` work like the Hamiltonian systems. ``conserved["energy"]``
is the system's *energy-like* function (the undamped energy; for Lotka–Volterra the invariant
``V``, which is the Hamiltonian in the log coordinates ``(ln x, ln y)``); the metadata's
``conserved_drift`` then measures how far each one moves. ``invariants`` names the entries that
the exact flow conserves (possibly none).

The driven Duffing oscillator is not autonomous. ``simulate`` stores the exact derivatives
evaluated at ``t = 0``, which are right at the record times only when those are whole drive
periods: its default ``dt`` is one drive period ``2π/Ω`` (stroboscopic records, i.e. the Poincaré
map), and ``physlaw simulate`` refuses another ``dt`` for it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import jax
import jax.numpy as jnp

from physlaw.errors import InputError


@dataclasses.dataclass(frozen=True)
class FlowSystem:
    """An ODE ``ẋ = f(t, x)`` on ``x = (q, p)`` (``dim`` of each) with the interface of a Hamiltonian system.

    Attributes:
        name, description, dim (states ``(q1, …, p1, …)``), sample_fn ``key -> (q [dim], p [dim])``.
        field_fn: ``(t, q, p) -> (q̇, ṗ)``.
        energy_fn: ``(q, p) -> scalar``, the energy-like function (``conserved["energy"]``).
        parameters: the constants, recorded in dataset metadata.
        conserved: name -> ``(q, p) -> scalar`` (``"energy"`` first); see ``invariants``.
        invariants: the names in ``conserved`` that the exact flow conserves.
        autonomous: whether ``f`` does not depend on ``t``.
        drive_period: for a periodically driven flow, the period of the drive (else ``None``).
        decay_rate: the exact mean relative decay rate ``−(dE/dt)/E`` of ``conserved["energy"]``
            where known (damped oscillator: ``2 ζ ω``), else ``None``.
        dt, num_times, substeps: defaults for simulation.
    """

    name: str
    description: str
    dim: int
    field_fn: Callable
    energy_fn: Callable
    sample_fn: Callable
    parameters: dict = dataclasses.field(default_factory=dict)
    conserved: dict = dataclasses.field(default_factory=dict)
    invariants: tuple = ()
    autonomous: bool = True
    drive_period: float | None = None
    decay_rate: float | None = None
    dt: float = 0.1
    num_times: int = 100
    substeps: int = 10
    separable: bool = False

    @property
    def coordinate_names(self) -> tuple[str, ...]:
        return tuple(f"q{i + 1}" for i in range(self.dim)) + tuple(f"p{i + 1}" for i in range(self.dim))

    def hamiltonian(self, q, p):
        """The energy-like function (not conserved unless ``"energy"`` is in ``invariants``)."""
        return self.energy_fn(q, p)

    def energy(self, x):
        d = self.dim
        return jnp.vectorize(lambda y: self.energy_fn(y[:d], y[d:]), signature="(n)->()")(x)

    def vector_field(self, t, x):
        d = self.dim
        dq, dp = self.field_fn(t, x[:d], x[d:])
        return jnp.concatenate([jnp.atleast_1d(dq), jnp.atleast_1d(dp)])

    def kinetic_fn(self, q, p):
        raise InputError(f"{self.name!r} is not a Hamiltonian system: energy shells (--energy) do not apply; "
                         "drop --energy")

    def potential_fn(self, q):
        raise InputError(f"{self.name!r} is not a Hamiltonian system: energy shells (--energy) do not apply; "
                         "drop --energy")


def _ring(key, r_min, r_max, scale=(1.0, 1.0)):
    k1, k2 = jax.random.split(key)
    angle = jax.random.uniform(k1, (), minval=0.0, maxval=2 * jnp.pi)
    r = jax.random.uniform(k2, (), minval=r_min, maxval=r_max)
    return r * scale[0] * jnp.cos(angle)[None], r * scale[1] * jnp.sin(angle)[None]


def damped_oscillator(omega: float = 1.0, zeta: float = 0.05) -> FlowSystem:
    """Linearly damped oscillator ``q̈ + 2 ζ ω q̇ + ω² q = 0`` as ``q̇ = p, ṗ = −ω² q − 2 ζ ω p``.

    The energy ``E = p²/2 + ω² q²/2`` obeys ``dE/dt = −2 ζ ω p²``; averaged over a period
    (``⟨p²⟩ = E`` for light damping) ``E`` decays as ``exp(−2 ζ ω t)``: the relative rate
    ``(dE/dt)/⟨E⟩ = −2 ζ ω``, exact for the period average and up to ``O(ζ)`` oscillations within one.
    No exact invariant (time-independent, smooth) exists: every orbit spirals into the origin.
    Initial conditions: energy ``E ∈ [0.125, 1.125] ω²`` at a uniform phase (``|(q, p/ω)| ∈ [0.5, 1.5]``).
    """
    if not (omega > 0 and zeta >= 0):
        raise InputError(f"damped-oscillator needs omega > 0 and zeta >= 0, got omega {omega}, zeta {zeta}")
    energy = lambda q, p: 0.5 * jnp.sum(p**2) + 0.5 * omega**2 * jnp.sum(q**2)  # noqa: E731
    return FlowSystem(
        name="damped-oscillator",
        description="damped oscillator q'' + 2 zeta omega q' + omega^2 q = 0 (energy decays at 2 zeta omega; "
                    "no invariant)",
        dim=1,
        field_fn=lambda t, q, p: (p, -(omega**2) * q - 2 * zeta * omega * p),
        energy_fn=energy,
        sample_fn=lambda key: _ring(key, 0.5, 1.5, (1.0, omega)),
        parameters={"omega": omega, "zeta": zeta},
        conserved={"energy": energy},
        invariants=(),
        decay_rate=2 * zeta * omega,
        dt=0.1,
        num_times=100,
        substeps=10,
    )


def duffing_driven(delta: float = 0.3, alpha: float = -1.0, beta: float = 1.0, gamma: float = 0.5,
                   Omega: float = 1.2) -> FlowSystem:  # noqa: N803
    """Driven, damped Duffing oscillator ``q̈ + δ q̇ + α q + β q³ = γ cos(Ω t)``.

    At the defaults (δ = 0.3, α = −1, β = 1, γ = 0.5, Ω = 1.2: the double-well oscillator of
    Guckenheimer & Holmes 1983, §2.2) the motion settles on a chaotic attractor; there is no conserved
    quantity. Records are one drive period ``2π/Ω`` apart by default (the Poincaré map), so that the
    stored derivatives, evaluated at ``t = 0``, are those at the record times.
    Initial conditions: ``q, p`` standard normal.
    """
    if not (Omega > 0 and delta >= 0):
        raise InputError(f"duffing-driven needs Omega > 0 and delta >= 0, got Omega {Omega}, delta {delta}")
    energy = lambda q, p: jnp.sum(0.5 * p**2 + 0.5 * alpha * q**2 + 0.25 * beta * q**4)  # noqa: E731
    period = 2 * math.pi / Omega

    def field(t, q, p):
        return p, -delta * p - alpha * q - beta * q**3 + gamma * jnp.cos(Omega * t)

    def sample(key):
        k1, k2 = jax.random.split(key)
        return jax.random.normal(k1, (1,)), jax.random.normal(k2, (1,))

    return FlowSystem(
        name="duffing-driven",
        description="driven Duffing oscillator q'' + delta q' + alpha q + beta q^3 = gamma cos(Omega t), chaotic; "
                    "records once per drive period; no invariant",
        dim=1,
        field_fn=field,
        energy_fn=energy,
        sample_fn=sample,
        parameters={"delta": delta, "alpha": alpha, "beta": beta, "gamma": gamma, "Omega": Omega},
        conserved={"energy": energy},
        invariants=(),
        autonomous=False,
        drive_period=period,
        dt=period,
        num_times=64,
        substeps=100,
    )


def lotka_volterra(a: float = 1.0, b: float = 1.0, c: float = 1.0, d: float = 1.0) -> FlowSystem:
    """Lotka–Volterra predator–prey flow ``ẋ = a x − b x y, ẏ = d x y − c y`` (``q1 = x``, ``p1 = y``).

    Conserves ``V(x, y) = d x − c ln x + b y − a ln y`` (``dV/dt = 0``), and nothing else
    independent of it: orbits are closed curves around ``(c/d, a/b)``. ``V`` is not a Hamiltonian
    of ``(x, y)`` with the canonical bracket (the flow does not preserve area: ``div f = a − c + d x − b y``),
    so a route that assumes canonical coordinates must not report it as a Noether charge.
    Initial conditions: ``x = (c/d) e^u``, ``y = (a/b) e^v`` with ``u, v`` uniform in [−0.7, 0.7].
    """
    if not all(v > 0 for v in (a, b, c, d)):
        raise InputError(f"lotka-volterra needs positive a, b, c, d, got {a}, {b}, {c}, {d}")

    def invariant(q, p):
        return jnp.sum(d * q - c * jnp.log(q) + b * p - a * jnp.log(p))

    def sample(key):
        k1, k2 = jax.random.split(key)
        u = jax.random.uniform(k1, (1,), minval=-0.7, maxval=0.7)
        v = jax.random.uniform(k2, (1,), minval=-0.7, maxval=0.7)
        return (c / d) * jnp.exp(u), (a / b) * jnp.exp(v)

    return FlowSystem(
        name="lotka-volterra",
        description="Lotka-Volterra x' = a x - b x y, y' = d x y - c y (q1 prey, p1 predators); "
                    "one invariant V = d x - c ln x + b y - a ln y",
        dim=1,
        field_fn=lambda t, q, p: (a * q - b * q * p, d * q * p - c * p),
        energy_fn=invariant,
        sample_fn=sample,
        parameters={"a": a, "b": b, "c": c, "d": d},
        conserved={"energy": invariant},
        invariants=("energy",),
        dt=0.1,
        num_times=100,
        substeps=10,
    )


def damped_pendulum(omega: float = 1.0, zeta: float = 0.05) -> FlowSystem:
    """Pendulum with linear friction ``θ̈ + 2 ζ ω0 θ̇ + ω0² sin θ = 0`` as ``θ̇ = ω, ω̇ = −ω0² sin θ − 2 ζ ω0 ω``.

    ``q1 = θ`` (rad), ``p1 = ω = θ̇`` (the angular velocity, not a canonical momentum; ``ω0`` is the
    parameter ``omega``). The energy per unit ``m l²``, ``E = ω²/2 + ω0² (1 − cos θ)`` (zero at rest),
    obeys ``dE/dt = −2 ζ ω0 ω²``: the instantaneous relative rate ``(dE/dt)/E = −2 ζ ω0 ω²/E``
    oscillates within a swing and averages to ``−2 ζ ω0`` for small swings (``⟨ω²⟩ = E``), a little
    less for large ones. No exact invariant. Initial conditions: ``|(θ, ω/ω0)| ∈ [0.5, 1.5]`` at a
    uniform phase (swings up to about 86°).
    """
    if not (omega > 0 and zeta >= 0):
        raise InputError(f"damped-pendulum needs omega > 0 and zeta >= 0, got omega {omega}, zeta {zeta}")
    energy = lambda q, p: 0.5 * jnp.sum(p**2) + omega**2 * jnp.sum(1.0 - jnp.cos(q))  # noqa: E731
    return FlowSystem(
        name="damped-pendulum",
        description="damped pendulum theta'' + 2 zeta omega theta' + omega^2 sin theta = 0 in (theta, theta'); "
                    "the energy theta'^2/2 + omega^2 (1 - cos theta) decays; no invariant",
        dim=1,
        field_fn=lambda t, q, p: (p, -(omega**2) * jnp.sin(q) - 2 * zeta * omega * p),
        energy_fn=energy,
        sample_fn=lambda key: _ring(key, 0.5, 1.5, (1.0, omega)),
        parameters={"omega": omega, "zeta": zeta},
        conserved={"energy": energy},
        invariants=() if zeta > 0 else ("energy",),
        dt=0.1,
        num_times=100,
        substeps=10,
    )


def damped_double_pendulum(m1: float = 1.0, m2: float = 1.0, l1: float = 1.0, l2: float = 1.0, g: float = 9.81,
                           b: float = 0.4) -> FlowSystem:
    """Planar double pendulum with a friction torque ``−b ω_i`` at each joint, in angles and angular velocities.

    ``q = (θ1, θ2)`` (from the downward vertical), ``p = (ω1, ω2) = θ̇`` (angular velocities, as a camera
    records them; not canonical momenta). Lagrange's equations with Rayleigh dissipation ``b |ω|²/2``:

        M(θ) ω̇ = (m2 l1 l2 sin(θ1 − θ2) (−ω2², ω1²)) − ((m1 + m2) g l1 sin θ1, m2 g l2 sin θ2) − b ω,
        M(θ) = [[(m1 + m2) l1², m2 l1 l2 cos(θ1 − θ2)], [m2 l1 l2 cos(θ1 − θ2), m2 l2²]].

    Energy (zero at rest) ``E = ½ ωᵀ M(θ) ω + (m1 + m2) g l1 (1 − cos θ1) + m2 g l2 (1 − cos θ2)``, with
    ``dE/dt = −b |ω|²``: it decays for ``b > 0`` and is the one invariant for ``b = 0`` (chaotic at high
    energy). The default ``b = 0.4`` gives damping ratios of about 0.037 (slow mode) and 0.088 (fast mode)
    of the small oscillations (unit masses and lengths, ``g = 9.81``; :func:`modal_damping`).
    Initial conditions: angles uniform in ``[−π/2, π/2]``, angular velocities standard normal. Records
    every 0.01 (100 Hz, as the filmed pendulum) over 3 time units: the angular velocities reach ~9, and
    finite differences over coarser records are too inaccurate for the energy's coupling terms.
    """
    if not (b >= 0):
        raise InputError(f"damped-double-pendulum needs b >= 0, got b {b}")
    c = m2 * l1 * l2

    def mass(q):
        k = c * jnp.cos(q[0] - q[1])
        return jnp.array([[(m1 + m2) * l1**2, k], [k, m2 * l2**2]])

    def energy(q, p):
        return (0.5 * p @ mass(q) @ p + (m1 + m2) * g * l1 * (1.0 - jnp.cos(q[0]))
                + m2 * g * l2 * (1.0 - jnp.cos(q[1])))

    def field(t, q, p):
        s = jnp.sin(q[0] - q[1])
        rhs = jnp.array([-c * s * p[1] ** 2 - (m1 + m2) * g * l1 * jnp.sin(q[0]),
                         c * s * p[0] ** 2 - m2 * g * l2 * jnp.sin(q[1])]) - b * p
        return p, jnp.linalg.solve(mass(q), rhs)

    def sample(key):
        k1, k2 = jax.random.split(key)
        return (jax.random.uniform(k1, (2,), minval=-jnp.pi / 2, maxval=jnp.pi / 2),
                jax.random.normal(k2, (2,)))

    return FlowSystem(
        name="damped-double-pendulum",
        description="double pendulum with joint friction -b omega_i in (theta1, theta2, omega1, omega2); the energy "
                    "decays (b > 0) or is the one invariant (b = 0)",
        dim=2,
        field_fn=field,
        energy_fn=energy,
        sample_fn=sample,
        parameters={"m1": m1, "m2": m2, "l1": l1, "l2": l2, "g": g, "b": b},
        conserved={"energy": energy},
        invariants=() if b > 0 else ("energy",),
        dt=0.01,
        num_times=300,
        substeps=2,
    )


def modal_damping(m1: float = 1.0, m2: float = 1.0, l1: float = 1.0, l2: float = 1.0, g: float = 9.81,
                  b: float = 0.4) -> list[float]:
    """Damping ratios ``ζ_k = −Re λ_k/|λ_k|`` of the small oscillations of :func:`damped_double_pendulum`
    (slow mode first), from the eigenvalues ``λ`` of the linearised flow."""
    import numpy as np

    m = np.array([[(m1 + m2) * l1**2, m2 * l1 * l2], [m2 * l1 * l2, m2 * l2**2]])
    k = np.diag([(m1 + m2) * g * l1, m2 * g * l2])
    minv = np.linalg.inv(m)
    a = np.block([[np.zeros((2, 2)), np.eye(2)], [-minv @ k, -b * minv]])
    lam = np.linalg.eigvals(a)
    lam = lam[lam.imag > 0]
    lam = lam[np.argsort(np.abs(lam))]
    return [float(-z.real / abs(z)) for z in lam]


FLOW_SYSTEMS: dict[str, Callable[..., FlowSystem]] = {
    "damped-oscillator": damped_oscillator,
    "duffing-driven": duffing_driven,
    "lotka-volterra": lotka_volterra,
    "damped-pendulum": damped_pendulum,
    "damped-double-pendulum": damped_double_pendulum,
}
"""name -> factory of the non-Hamiltonian test flows (keyword arguments: the constants)."""
