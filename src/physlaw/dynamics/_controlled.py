"""Mechanical systems with a control input: ``ẋ = J ∇H(x) + [0; g(q) u]`` (Zhong, Dey & Chakraborty 2020).

``H(q, p) = ½ pᵀ M(q)⁻¹ p + V(q)`` and the input matrix ``g(q)`` (``d × m``) says how the ``m``
controls (torques, forces) push the momenta. The three systems are SymODEN's tasks:

==================  ===========  ============================================  ==========================
name                q            H                                              g(q), controls
==================  ===========  ============================================  ==========================
pendulum-controlled θ (0 down)   a rod about its end (OpenAI Gym's pendulum):  ``[1]``: torque at the
                                 ``1.5 p² + 5 (1 − cos θ)`` at the defaults     pivot (fully actuated)
cart-pole           x, θ (0 up)  cart M, rod m of half-length l                 ``[1, 0]ᵀ``: force on the
                                                                                cart (underactuated)
acrobot             θ1 (0 down), two links, Spong's acrobot (Gym's constants)   ``[0, 1]ᵀ``: elbow torque
                    θ2 (relative)                                               (underactuated)
==================  ===========  ============================================  ==========================

:func:`simulate_controlled` drives them with random piecewise-constant controls (a new value, uniform
in ``[−u_max, u_max]``, every ``hold`` records; the value recorded at time ``t_k`` acts on
``[t_k, t_{k+1})``, a zero-order hold) and :func:`closed_loop` runs one under a feedback law.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.dynamics._integrators import rk4_step
from physlaw.errors import InputError


@dataclasses.dataclass(frozen=True)
class ControlledSystem:
    """A mechanical system ``H = ½ pᵀ M(q)⁻¹ p + V(q)`` with control input matrix ``g(q)``.

    Attributes:
        name, description: registry name and one line.
        dim: degrees of freedom d; ``num_controls``: m.
        mass_fn: ``q -> M(q)`` (``d × d``, symmetric positive definite).
        potential_fn: ``q -> V``.
        input_fn: ``q -> g(q)`` (``d × m``).
        sample_fn: ``key -> (q, p)``, one initial condition.
        angles: 0-based indices of the angle coordinates.
        u_max: default bound of the random controls; dt, num_times, substeps: simulation defaults.
        parameters: the physical constants (dataset metadata).
    """

    name: str
    description: str
    dim: int
    num_controls: int
    mass_fn: Callable
    potential_fn: Callable
    input_fn: Callable
    sample_fn: Callable
    angles: tuple = ()
    u_max: float = 2.0
    parameters: dict = dataclasses.field(default_factory=dict)
    dt: float = 0.05
    num_times: int = 20
    substeps: int = 10

    @property
    def coordinate_names(self) -> tuple[str, ...]:
        return tuple(f"q{i + 1}" for i in range(self.dim)) + tuple(f"p{i + 1}" for i in range(self.dim))

    @property
    def control_names(self) -> tuple[str, ...]:
        return tuple(f"u{i + 1}" for i in range(self.num_controls))

    def kinetic(self, q, p):
        """``T = ½ pᵀ M(q)⁻¹ p``."""
        return 0.5 * p @ jnp.linalg.solve(self.mass_fn(q), p)

    def hamiltonian(self, q, p):
        return self.kinetic(q, p) + self.potential_fn(q)

    def energy(self, x):
        """``H`` of states ``x = (q, p)`` ``[..., 2d]``."""
        d = self.dim
        return jnp.vectorize(lambda y: self.hamiltonian(y[:d], y[d:]), signature="(n)->()")(x)

    def velocity(self, x):
        """``q̇ = M(q)⁻¹ p`` of a state ``x = (q, p)``."""
        d = self.dim
        return jnp.linalg.solve(self.mass_fn(x[:d]), x[d:])

    def positions_and_velocities(self, x):
        """``(q, q̇)`` of a state ``x = (q, p)`` (what a camera and a tachometer measure)."""
        return jnp.concatenate([x[:self.dim], self.velocity(x)])

    def controlled_field(self, x, u):
        """``ẋ = (∂H/∂p, −∂H/∂q + g(q) u)``."""
        d = self.dim
        q, p = x[:d], x[d:]
        dh_dq, dh_dp = jax.grad(self.hamiltonian, argnums=(0, 1))(q, p)
        return jnp.concatenate([dh_dp, -dh_dq + self.input_fn(q) @ u])

    def free_system(self):
        """The uncontrolled system (``u = 0``) as a :class:`physlaw.dynamics.HamiltonianSystem` (energy conserved),
        for :func:`physlaw.nets.evaluate_on_system` and ``physlaw evaluate``."""
        from physlaw.dynamics._systems import HamiltonianSystem

        return HamiltonianSystem(
            name=self.name, description=self.description + " (no control)", dim=self.dim,
            kinetic_fn=self.kinetic, potential_fn=self.potential_fn,
            sample_fn=self.sample_fn, separable=False, parameters=self.parameters,
            conserved={"energy": self.hamiltonian}, dt=self.dt, num_times=max(self.num_times, 100),
            substeps=self.substeps)

    def vector_field(self, t, x):
        """The free dynamics (``u = 0``)."""
        del t
        return self.controlled_field(x, jnp.zeros(self.num_controls, x.dtype))


def _uniform(key, lo, hi, shape=()):
    return jax.random.uniform(key, shape, minval=lo, maxval=hi)


def controlled_pendulum(m: float = 1.0, l: float = 1.0, g: float = 10.0) -> ControlledSystem:  # noqa: E741
    """A rod of mass ``m`` and length ``l`` about its end, torque ``u`` at the pivot (Gym's pendulum).

    ``M = m l²/3``, ``V = m g l/2 (1 − cos θ)`` with θ = 0 hanging down: at the defaults
    ``H = 1.5 p² + 5 (1 − cos θ)``, SymODEN's task 1. Upright is θ = π.
    """
    inertia = m * l**2 / 3.0

    def sample(key):
        k1, k2 = jax.random.split(key)
        return _uniform(k1, -math.pi, math.pi, (1,)), _uniform(k2, -2.0, 2.0, (1,))

    return ControlledSystem(
        name="pendulum-controlled",
        description="rod pendulum with a pivot torque u (Gym), H = p^2/(2 m l^2/3) + m g l/2 (1 - cos q), q = 0 down",
        dim=1, num_controls=1,
        mass_fn=lambda q: jnp.full((1, 1), inertia, q.dtype),
        potential_fn=lambda q: 0.5 * m * g * l * jnp.sum(1.0 - jnp.cos(q)),
        input_fn=lambda q: jnp.ones((1, 1), q.dtype),
        sample_fn=sample, angles=(0,), u_max=2.0, parameters={"m": m, "l": l, "g": g},
    )


def cart_pole(cart_mass: float = 1.0, m: float = 0.1, l: float = 0.5, g: float = 9.8) -> ControlledSystem:  # noqa: E741
    """Cart of mass ``cart_mass`` on a rail with a rod (mass ``m``, half-length ``l``) on a pivot; force ``u`` on the cart.

    ``q = (x, θ)``, θ = 0 upright; ``M = [[M_c + m, m l cos θ], [m l cos θ, 4/3 m l²]]``,
    ``V = m g l cos θ`` (Gym's constants). Underactuated: ``g = [1, 0]ᵀ``.
    """
    def mass(q):
        c = m * l * jnp.cos(q[1])
        return jnp.array([[cart_mass + m, c], [c, 4.0 / 3.0 * m * l**2]])

    def sample(key):
        k1, k2 = jax.random.split(key)
        q = _uniform(k1, jnp.array([-1.0, -math.pi]), jnp.array([1.0, math.pi]), (2,))
        return q, _uniform(k2, -0.2, 0.2, (2,)) * jnp.array([5.0, 0.1])

    return ControlledSystem(
        name="cart-pole",
        description="cart (mass M) with a pole (rod m, half-length l), force u on the cart; q = (x, theta), theta = 0 up",
        dim=2, num_controls=1, mass_fn=mass,
        potential_fn=lambda q: m * g * l * jnp.cos(q[1]),
        input_fn=lambda q: jnp.array([[1.0], [0.0]], q.dtype),
        sample_fn=sample, angles=(1,), u_max=10.0, dt=0.02, num_times=20,
        parameters={"cart_mass": cart_mass, "m": m, "l": l, "g": g},
    )


def acrobot(m1: float = 1.0, m2: float = 1.0, l1: float = 1.0, lc1: float = 0.5, lc2: float = 0.5,
            i1: float = 1.0, i2: float = 1.0, g: float = 9.8) -> ControlledSystem:
    """Spong's acrobot: two links, the torque ``u`` at the elbow only (Gym's constants).

    ``q = (θ1, θ2)``, θ1 from hanging down, θ2 relative to the first link;
    ``M11 = m1 lc1² + m2 (l1² + lc2² + 2 l1 lc2 cos θ2) + I1 + I2``, ``M12 = m2 (lc2² + l1 lc2 cos θ2) + I2``,
    ``M22 = m2 lc2² + I2``; ``V = −m1 g lc1 cos θ1 − m2 g (l1 cos θ1 + lc2 cos(θ1 + θ2))``.
    """
    def mass(q):
        c2 = jnp.cos(q[1])
        m11 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * c2) + i1 + i2
        m12 = m2 * (lc2**2 + l1 * lc2 * c2) + i2
        return jnp.array([[m11, m12], [m12, m2 * lc2**2 + i2]])

    def sample(key):
        k1, k2 = jax.random.split(key)
        return _uniform(k1, -math.pi / 2, math.pi / 2, (2,)), _uniform(k2, -1.0, 1.0, (2,))

    return ControlledSystem(
        name="acrobot",
        description="acrobot (two links, torque u at the elbow only); q = (theta1 from down, theta2 relative)",
        dim=2, num_controls=1, mass_fn=mass,
        potential_fn=lambda q: -m1 * g * lc1 * jnp.cos(q[0]) - m2 * g * (l1 * jnp.cos(q[0]) + lc2 * jnp.cos(q[0] + q[1])),
        input_fn=lambda q: jnp.array([[0.0], [1.0]], q.dtype),
        sample_fn=sample, angles=(0, 1), u_max=2.0,
        parameters={"m1": m1, "m2": m2, "l1": l1, "lc1": lc1, "lc2": lc2, "i1": i1, "i2": i2, "g": g},
    )


CONTROLLED_SYSTEMS: dict[str, Callable[..., ControlledSystem]] = {
    "pendulum-controlled": controlled_pendulum,
    "cart-pole": cart_pole,
    "acrobot": acrobot,
}


def get_controlled_system(name: str, **parameters) -> ControlledSystem:
    """Build a registered controlled system, e.g. ``get_controlled_system("cart-pole", m=0.2)``."""
    if name not in CONTROLLED_SYSTEMS:
        raise InputError(f"unknown controlled system {name!r}; choose one of {', '.join(CONTROLLED_SYSTEMS)}")
    try:
        return CONTROLLED_SYSTEMS[name](**parameters)
    except TypeError as err:
        raise InputError(f"bad parameters {parameters} for system {name!r}: {err}") from None


def held_step(field: Callable, x, u, dt, substeps: int):
    """The state after ``dt`` from ``x`` with the control ``u`` held (``substeps`` RK4 steps, unrolled when few).

    The state keeps its dtype (a float64 network on float32 data, or the reverse).
    """
    h = dt / substeps

    def sub(y, _):
        return rk4_step(lambda t, z: field(z, u), 0.0, y, h).astype(y.dtype), None

    y, _ = jax.lax.scan(sub, x, None, length=substeps, unroll=substeps <= 4)
    return y


def integrate_held(field: Callable, x0, u, dt: float, substeps: int):
    """States at ``t_0 … t_K`` from ``x0`` with ``u[k]`` held on ``[t_k, t_{k+1})`` (RK4, ``substeps`` per interval).

    ``field(x, u) -> ẋ``; ``u`` ``[K, m]``; returns ``[K + 1, dim]``.
    """
    def interval(x, uk):
        x = held_step(field, x, uk, dt, substeps)
        return x, x

    # the substeps unrolled (2x faster per training step on CPU); the intervals rolled (each unrolled interval
    # adds seconds of compilation to a training program, which then dominates a ~30 s training run)
    _, xs = jax.lax.scan(interval, x0, u)
    return jnp.concatenate([x0[None], xs], axis=0)


def random_controls(key, num_trajectories: int, num_times: int, num_controls: int, u_max: float, hold: int):
    """Piecewise-constant random controls ``[trajectory, time, m]``: a new uniform value every ``hold`` records."""
    blocks = -(-num_times // hold)
    values = jax.random.uniform(key, (num_trajectories, blocks, num_controls), minval=-u_max, maxval=u_max)
    return np.repeat(np.asarray(values), hold, axis=1)[:, :num_times]


def simulate_controlled(system: str | ControlledSystem, key, *, num_trajectories: int = 50,
                        num_times: int | None = None, dt: float | None = None, substeps: int | None = None,
                        u_max: float | None = None, hold: int = 1, noise: float = 0.0, seed=None, **parameters):
    """Trajectories of a controlled system driven by random piecewise-constant controls.

    Returns a :class:`physlaw.dynamics.Dataset` whose ``u`` holds the controls (``u[:, k]`` acts on
    ``[t_k, t_{k+1})``) and whose ``dq``, ``dp`` are the exact derivatives under those controls.
    ``u_max = 0`` gives free (uncontrolled) trajectories.
    """
    from physlaw.dynamics._datasets import Dataset

    if isinstance(system, str):
        system = get_controlled_system(system, **parameters)
    num_times = int(num_times or system.num_times)
    dt = float(dt or system.dt)
    substeps = int(substeps or system.substeps)
    u_max = float(system.u_max if u_max is None else u_max)
    if isinstance(hold, float) and hold.is_integer():
        hold = int(hold)
    for name, value in (("num_trajectories", num_trajectories), ("num_times", num_times), ("hold", hold),
                        ("substeps", substeps)):
        if not (isinstance(value, int) and value >= 1):
            raise InputError(f"{name.replace('_', '-')} must be a positive integer, got {value}")
    if not (dt > 0 and math.isfinite(dt)):
        raise InputError(f"dt must be a positive number, got {dt}")
    if not (0 <= u_max < 1e6) or not (0 <= noise < 1e100):
        raise InputError(f"u-max must be in [0, 1e6) and noise >= 0, got {u_max} and {noise}")
    k_init, k_u, k_noise = jax.random.split(key, 3)
    q0, p0 = jax.vmap(system.sample_fn)(jax.random.split(k_init, num_trajectories))
    u = random_controls(k_u, num_trajectories, num_times, system.num_controls, u_max, hold)
    x0 = jnp.concatenate([q0, p0], axis=-1)
    run = jax.jit(jax.vmap(lambda x, uu: integrate_held(system.controlled_field, x, uu[:-1], dt, substeps)))
    x = run(x0, jnp.asarray(u, x0.dtype))
    if not bool(jnp.all(jnp.isfinite(x))):
        raise InputError(f"the simulation of {system.name!r} diverged at dt = {dt:g}; lower dt or raise substeps")
    dx = np.asarray(jax.jit(jax.vmap(jax.vmap(system.controlled_field)))(x, jnp.asarray(u, x.dtype)))
    x = np.asarray(x)
    if noise > 0:
        x = x + noise * np.asarray(jax.random.normal(k_noise, x.shape))
    d = system.dim
    t = np.broadcast_to(dt * np.arange(num_times), (num_trajectories, num_times)).copy()
    metadata = {"system": system.name, "parameters": system.parameters, "seed": seed, "dt": dt,
                "num_trajectories": num_trajectories, "num_times": num_times, "noise": float(noise),
                "method": "rk4", "substeps": substeps, "u_max": u_max, "hold": hold,
                "angles": list(system.angles)}
    return Dataset(x[..., :d], x[..., d:], t, system.coordinate_names, metadata, dx[..., :d], dx[..., d:],
                   u=np.asarray(u, np.float64), control_names=system.control_names)


def closed_loop(system: ControlledSystem, controller: Callable, x0, *, dt: float = 0.05, num_times: int = 201,
                substeps: int = 10, u_max: float | None = None, observe: Callable | None = None):
    """The true ``system`` under the feedback ``u = controller(q, p)``, sampled every ``dt`` (zero-order hold).

    ``observe`` maps the state ``(q, p)`` to what the controller is given (e.g. ``system.velocity``'s
    ``(q, q̇)`` for a controller of measured velocities); default the state itself.
    Returns ``(x [num_times, 2d], u [num_times, m])``: ``u[k]`` is computed from ``x[k]`` and held on
    ``[t_k, t_{k+1})``, clipped to ``±u_max`` when given.
    """
    d = system.dim

    def policy(x):
        y = x if observe is None else observe(x)
        u = controller(y[:d], y[d:])
        return u if u_max is None else jnp.clip(u, -u_max, u_max)

    def interval(x, _):
        u = policy(x).astype(x.dtype)
        return held_step(system.controlled_field, x, u, dt, substeps), (x, u)

    _, (xs, us) = jax.jit(lambda x: jax.lax.scan(interval, x, None, length=num_times))(jnp.asarray(x0))
    return np.asarray(xs), np.asarray(us)
