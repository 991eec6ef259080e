"""Trajectory datasets: simulation, energy shells, transition pairs; gaps, windows and many-agent tracks.

Files are read and written by :mod:`physlaw.io.trajectories`; the operations on the arrays they hold
(repairing gaps, cutting equal windows, differentiating, reducing agents to the collective frame)
live here, in the core, so the API and the command line share them.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import keyword
import math
import re

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.dynamics._collective import (
    BoidsParams,
    CouzinParams,
    collective_coordinates,
    milling_index,
    polarisation,
    run_swarm,
)
from physlaw.dynamics._controlled import CONTROLLED_SYSTEMS
from physlaw.dynamics._integrators import integrate_ode, integrate_separable
from physlaw.dynamics._systems import HAMILTONIAN_SYSTEMS, HamiltonianSystem, get_system
from physlaw.errors import InputError

MAX_NAME_LENGTH = 64
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@functools.cache
def _reserved_names() -> frozenset:
    """Names SymPy's parser reads as something other than a plain symbol: everything that
    ``from sympy import *`` or the builtins define (``I``, ``E``, ``S``, ``N``, ``pi``, ``gamma``, ``exp``,
    ``print``, ``open``, …). Looked up as names, never parsed."""
    import sympy

    return frozenset(dir(sympy)) | frozenset(getattr(sympy, "__all__", ())) | frozenset(dir(builtins))


def coordinate_name_problem(name) -> str | None:
    """Why ``name`` cannot be a coordinate name, or ``None`` when it can.

    A coordinate name becomes a SymPy ``Symbol`` in the laws and appears in their printed
    expressions, so it must read back as that symbol: an ASCII identifier ``[A-Za-z][A-Za-z0-9_]*`` of
    at most ``MAX_NAME_LENGTH`` characters, not a Python keyword and not a name SymPy or Python
    already defines (``I``, ``E``, ``S``, ``N``, ``O``, ``Q``, ``pi``, ``gamma``, ``beta``, ``exp``, ``cos``,
    ``print``, ``open``). The check only compares strings: the name is never parsed or evaluated.
    """
    if not isinstance(name, str):
        return f"is a {type(name).__name__}, not a string"
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name)} characters long (at most {MAX_NAME_LENGTH})"
    if not _NAME.fullmatch(name):
        return "is not a plain name (ASCII letters, digits and _, starting with a letter)"
    if keyword.iskeyword(name):
        return "is a Python keyword"
    if name in _reserved_names():
        return "already means something to SymPy or Python (a constant, function or builtin)"
    return None


def check_coordinate_names(names, *, num: int | None = None) -> tuple[str, ...]:
    """``names`` as a tuple of valid, distinct coordinate names (see :func:`coordinate_name_problem`).

    Args:
        names: the proposed names.
        num: the number of coordinates they must name, if known.

    Raises:
        InputError: naming the first bad name and why, with the remedy.
    """
    if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
        raise InputError(f"coordinate_names must be a sequence of names, got {type(names).__name__}")
    names = tuple(names)
    if num is not None and len(names) != num:
        raise InputError(f"{len(names)} coordinate names for {num} coordinates; give exactly one name per column "
                         "(rename with --names or coordinate_names=)")
    for name in names:
        why = coordinate_name_problem(name)
        if why is not None:
            shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
            raise InputError(f"coordinate name {shown} {why}; rename the coordinate, e.g. to q1, p1, theta or "
                             "omega (with --names, or coordinate_names=)")
    seen = set()
    for name in names:
        if name in seen:
            raise InputError(f"coordinate name {name!r} appears twice; coordinate names must be distinct "
                             "(rename with --names or coordinate_names=)")
        seen.add(name)
    return names


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Trajectories of a system in phase space.

    Attributes:
        q: positions ``[trajectory, time, d_q]``.
        p: momenta ``[trajectory, time, d_p]`` (``d_p = 0`` for a static manifold).
        t: times ``[trajectory, time]``.
        coordinate_names: names of the ``d_q + d_p`` coordinates, positions first.
        metadata: system, parameters, seed, dt, noise, energy error, … (JSON-serialisable).
        dq, dp: exact time derivatives at the noise-free states, or ``None`` (then
            :meth:`derivatives` uses finite differences).
        u: control inputs ``[trajectory, time, m]`` (``u[:, k]`` acts on ``[t_k, t_{k+1})``), or ``None``.
        control_names: names of the ``m`` control columns.

    Example:
        >>> import jax
        >>> ds = simulate("spring", jax.random.key(0), num_trajectories=3, num_times=5)
        >>> ds.x.shape, ds.transition_pairs().shape
        ((3, 5, 2), (12, 4))
    """

    q: np.ndarray
    p: np.ndarray
    t: np.ndarray
    coordinate_names: tuple[str, ...]
    metadata: dict = dataclasses.field(default_factory=dict)
    dq: np.ndarray | None = None
    dp: np.ndarray | None = None
    u: np.ndarray | None = None
    control_names: tuple[str, ...] = ()

    def __post_init__(self):
        q, p, t = np.shape(self.q), np.shape(self.p), np.shape(self.t)
        if len(q) != 3 or len(p) != 3 or q[:2] != p[:2] or t != q[:2]:
            raise InputError(f"a dataset needs q [trajectory, time, d_q], p [trajectory, time, d_p] and t "
                             f"[trajectory, time] with matching trajectory and time sizes; got q {q}, p {p}, t {t}")
        if (self.dq is None) != (self.dp is None):
            raise InputError("give both dq and dp (exact time derivatives) or neither")
        if self.dq is not None and (np.shape(self.dq) != q or np.shape(self.dp) != p):
            raise InputError(f"dq and dp must have the shapes of q {q} and p {p}; got {np.shape(self.dq)} and "
                             f"{np.shape(self.dp)}")
        if not isinstance(self.metadata, dict):
            raise InputError(f"dataset metadata must be a dict, got {type(self.metadata).__name__}")
        object.__setattr__(self, "coordinate_names", check_coordinate_names(self.coordinate_names, num=q[2] + p[2]))
        if self.u is None:
            if self.control_names:
                raise InputError("control names given without control values u")
            return
        if np.ndim(self.u) != 3 or np.shape(self.u)[:2] != q[:2] or np.shape(self.u)[2] < 1:
            raise InputError(f"controls u must have shape [trajectory, time, m] = [{q[0]}, {q[1]}, m >= 1], "
                             f"got {np.shape(self.u)}")
        names = check_coordinate_names(tuple(self.coordinate_names) + tuple(self.control_names),
                                       num=q[2] + p[2] + np.shape(self.u)[2])
        object.__setattr__(self, "control_names", names[q[2] + p[2]:])

    @property
    def x(self) -> np.ndarray:
        """Phase-space states ``(q, p)``, ``[trajectory, time, d_q + d_p]``."""
        return np.concatenate([self.q, self.p], axis=-1)

    @property
    def num_trajectories(self) -> int:
        return self.q.shape[0]

    @property
    def num_times(self) -> int:
        return self.q.shape[1]

    def derivatives(self) -> np.ndarray:
        """``ẋ = (q̇, ṗ)`` ``[trajectory, time, dim]``: stored exact values, else finite differences.

        Finite differences are second order on the (possibly uneven) time grid of each
        trajectory (``numpy.gradient``); the ends use one-sided differences.
        """
        if self.dq is not None and self.dp is not None:
            return np.concatenate([self.dq, self.dp], axis=-1)
        if self.num_times < 3:
            raise InputError(
                f"cannot estimate derivatives by finite differences from {self.num_times} times per trajectory; "
                "give at least 3 times per trajectory"
            )
        x = self.x
        return np.stack([np.gradient(x[i], self.t[i], axis=0) for i in range(self.num_trajectories)])

    def transition_pairs(self, lag: int = 1) -> np.ndarray:
        """Transition pairs ``(q_t, p_t, q_{t+lag·Δt}, p_{t+lag·Δt})`` as ``[N, 2·dim]``.

        ``N = num_trajectories × (num_times − lag)``; the symmetry pipeline learns this manifold.
        """
        if not 1 <= lag < self.num_times:
            raise InputError(f"lag must be in [1, {self.num_times - 1}] for {self.num_times} times, got {lag}")
        x = self.x
        pairs = np.concatenate([x[:, :-lag], x[:, lag:]], axis=-1)
        return pairs.reshape(-1, pairs.shape[-1])

    def points(self) -> np.ndarray:
        """All states as ``[N, dim]`` (for static manifolds such as the sphere)."""
        return self.x.reshape(-1, self.x.shape[-1])


# --------------------------------------------------------------------------------------------
# Hamiltonian systems


def sample_energy_shell(system: HamiltonianSystem, key, num: int, energy: float):
    """Initial conditions on the energy shell ``H(q, p) = E``.

    Draws ``(q, p)`` from the system's default sampler and rescales the momenta,
    ``p ← s p`` with ``s = sqrt((E − V(q)) / T(q, p))`` (``T`` is quadratic in ``p``), rejecting
    draws with ``V(q) ≥ E``. Positions keep the default distribution restricted to ``V(q) < E``.

    Returns:
        ``(q, p)``, each ``[num, d]``.

    Raises:
        InputError: if no draw reaches the shell (e.g. ``E`` below the potential minimum).
    """
    @jax.jit
    def draw(k):
        q, p = jax.vmap(system.sample_fn)(jax.random.split(k, 2 * num + 16))
        kinetic = jax.vmap(system.kinetic_fn)(q, p)
        room = energy - jax.vmap(system.potential_fn)(q)
        ok = (room > 0) & (kinetic > 0)
        return q, p, ok, jnp.sqrt(jnp.where(ok, room, 0.0) / jnp.where(ok, kinetic, 1.0))

    qs, ps, total = [], [], 0
    for _ in range(50):
        key, sub = jax.random.split(key)
        q, p, ok, scale = draw(sub)
        ok = np.asarray(ok)
        qs.append(np.asarray(q)[ok])
        ps.append(np.asarray(p * scale[:, None])[ok])
        total += int(ok.sum())
        if total >= num:
            return jnp.asarray(np.concatenate(qs)[:num]), jnp.asarray(np.concatenate(ps)[:num])
    raise InputError(
        f"energy {energy} is not reachable for system {system.name!r} from its default initial conditions "
        f"(found {total} of {num}); choose an energy above the potential energy of typical positions"
    )


def integrate_system(system: HamiltonianSystem, q0, p0, dt: float, num_times: int, *, method=None, substeps=None):
    """Integrate a batch of initial conditions ``[B, d]`` of a Hamiltonian system.

    Separable systems use a symplectic integrator (``method`` ``"yoshida4"`` by default, or
    ``"leapfrog"``), others RK4 on Hamilton's equations. Returns ``(q, p)`` ``[B, num_times, d]``.
    """
    method = method or ("yoshida4" if system.separable else "rk4")
    substeps = int(substeps or system.substeps)
    if method == "rk4":
        d = system.dim
        run = lambda x0: integrate_ode(system.vector_field, x0, dt, num_times, substeps=substeps)  # noqa: E731
        x = jax.jit(jax.vmap(run))(jnp.concatenate([q0, p0], axis=-1))
        return x[..., :d], x[..., d:]
    if not system.separable:
        raise InputError(f"system {system.name!r} is not separable: use method 'rk4', not {method!r}")
    zero_q = jnp.zeros_like(q0[0])
    grad_t = jax.grad(lambda p: system.kinetic_fn(zero_q, p))
    grad_v = jax.grad(system.potential_fn)
    run = lambda q, p: integrate_separable(grad_t, grad_v, q, p, dt, num_times, method=method, substeps=substeps)  # noqa: E731
    return jax.jit(jax.vmap(run))(q0, p0)


def conserved_drift(system: HamiltonianSystem, q, p) -> dict[str, float]:
    """Maximum drift ``max_{i,t} |G(x_i(t)) − G(x_i(0))|`` of each conserved quantity G.

    Args:
        system: the system whose ``conserved`` quantities are checked.
        q, p: trajectories ``[trajectory, time, d]``.
    """
    @jax.jit
    def drifts(q, p):
        out = {}
        for name, fn in system.conserved.items():
            g = jax.vmap(jax.vmap(fn))(q, p)
            out[name] = jnp.max(jnp.abs(g - g[:, :1]))
        return out

    return {name: float(v) for name, v in drifts(jnp.asarray(q), jnp.asarray(p)).items()}


def simulate(
    system: str | HamiltonianSystem,
    key,
    *,
    num_trajectories: int | None = None,
    num_times: int | None = None,
    dt: float | None = None,
    energy: float | None = None,
    noise: float = 0.0,
    method: str | None = None,
    substeps: int | None = None,
    seed: int | None = None,
    **parameters,
) -> Dataset:
    """Simulate trajectories of a named system and return them as a :class:`Dataset`.

    Hamiltonian systems (``HAMILTONIAN_SYSTEMS``) are integrated from the default initial
    conditions, or from the energy shell ``H = energy``; ``noise`` adds Gaussian noise of that
    standard deviation to ``q`` and ``p`` (Greydanus et al. 2019 use 0.1); the exact derivatives
    ``(q̇, ṗ)`` at the noise-free states are stored. The metadata report the integration's
    energy error and the drift of every conserved quantity. ``"couzin"``, ``"boids"`` and
    ``"sphere"`` go to :func:`swarm_dataset` and :func:`sphere_dataset`.

    Args:
        system: a registered name or a :class:`HamiltonianSystem`.
        key: PRNG key.
        num_trajectories: number of initial conditions (default 50; swarms: independent runs,
            default 1, each giving one trajectory per agent; sphere: points, default 1000).
        num_times: recorded times per trajectory (default: the system's).
        dt: time between records (default: the system's).
        energy: if given, sample initial conditions on the shell ``H = energy``.
        noise: standard deviation of the Gaussian noise on the recorded ``q`` and ``p``.
        method: ``"yoshida4"``, ``"leapfrog"`` or ``"rk4"`` (default: Yoshida if separable).
        substeps: integrator steps per record (default: the system's).
        seed: recorded in the metadata.
        **parameters: physical constants passed to the system's factory (finite; masses, lengths,
            radii, speeds, ``tau`` and ``dim`` positive).

    Raises:
        InputError: for a non-finite or meaningless value, a time grid ``dt × (num_times − 1)`` that
            overflows, more than ``MAX_INTEGRATION_STEPS`` (10⁸) integrator steps per trajectory, or an
            integration that diverges (non-finite states: lower ``dt`` or raise ``substeps``).
    """
    for name, value in [("energy", energy), ("noise", noise), ("dt", dt), *parameters.items()]:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isfinite(value):
            raise InputError(f"{name} must be a finite number, got {value}")
    if not 0 <= noise <= 1e100:
        raise InputError(f"noise must be a standard deviation from 0 to 1e100, got {noise}")
    must_be_positive = [k for k, v in parameters.items() if isinstance(v, (int, float)) and v <= 0
                        and (k in _POSITIVE_PARAMETERS or k.startswith("r_"))]
    if must_be_positive:
        k = must_be_positive[0]
        raise InputError(f"parameter {k} must be positive (a mass, length, radius, speed, time or count), "
                         f"got {parameters[k]}")
    if isinstance(system, str) and system in ("couzin", "boids"):
        if energy is not None or method is not None or substeps is not None:
            raise InputError(f"energy, method and substeps apply to Hamiltonian systems, not to {system!r}")
        return swarm_dataset(system, key, num_runs=num_trajectories or 1, num_times=num_times or 50,
                             dt=dt or 0.1, noise=noise, seed=seed, **parameters)
    if isinstance(system, str) and system in CONTROLLED_SYSTEMS:
        if energy is not None or method not in (None, "rk4"):
            raise InputError(f"{system!r} is driven by random controls: energy and method do not apply")
        from physlaw.dynamics._controlled import simulate_controlled

        return simulate_controlled(system, key, num_trajectories=int(num_trajectories or 50), num_times=num_times,
                                   dt=dt, substeps=substeps, noise=noise, seed=seed, **parameters)
    if isinstance(system, str) and system == "sphere":
        if energy is not None or method is not None or substeps is not None:
            raise InputError("the sphere is a static manifold: energy, method and substeps do not apply")
        return sphere_dataset(key, num_points=num_trajectories or 1000, noise=noise, seed=seed, **parameters)
    if isinstance(system, str):
        system = get_system(system, **parameters)
    num_trajectories = int(num_trajectories or 50)
    num_times = int(num_times or system.num_times)
    dt = float(dt or system.dt)
    _positive(num_trajectories=num_trajectories, num_times=num_times, dt=dt)
    if not math.isfinite(dt * (num_times - 1)):
        raise InputError(f"the last time dt × (num_times − 1) = {dt} × {num_times - 1} overflows; lower dt")
    steps = num_times * int(substeps or system.substeps)
    if steps > MAX_INTEGRATION_STEPS:
        raise InputError(f"{num_times} times × {int(substeps or system.substeps)} substeps = {steps} integrator steps "
                         f"per trajectory, more than {MAX_INTEGRATION_STEPS:.0e}; lower num_times or substeps")
    k_init, k_noise = jax.random.split(key)
    if energy is None:
        q0, p0 = jax.vmap(system.sample_fn)(jax.random.split(k_init, num_trajectories))
    else:
        q0, p0 = sample_energy_shell(system, k_init, num_trajectories, float(energy))
    q, p = integrate_system(system, q0, p0, dt, num_times, method=method, substeps=substeps)
    x = jnp.concatenate([q, p], axis=-1)
    finite = np.asarray(jnp.all(jnp.isfinite(x), axis=-1))
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        raise InputError(f"the integration of {system.name!r} diverged at dt = {dt:g} (substeps "
                         f"{int(substeps or system.substeps)}): trajectory {i} is not finite from time {dt * j:g} on; "
                         "lower dt or raise substeps")
    dx = jax.jit(jax.vmap(jax.vmap(lambda y: system.vector_field(0.0, y))))(x)
    drift = conserved_drift(system, q, p)
    energy_traj = jax.jit(jax.vmap(jax.vmap(system.hamiltonian)))(q, p)
    rel = float(jnp.max(jnp.abs(energy_traj - energy_traj[:, :1]) / jnp.maximum(jnp.abs(energy_traj[:, :1]), 1e-12)))
    if noise > 0:
        x = x + noise * jax.random.normal(k_noise, x.shape, x.dtype)
    d = system.dim
    x, dx = np.asarray(x), np.asarray(dx)
    t = np.broadcast_to(dt * np.arange(num_times), (num_trajectories, num_times)).copy()
    metadata = {
        "system": system.name,
        "parameters": system.parameters,
        "seed": seed,
        "dt": dt,
        "num_trajectories": int(num_trajectories),
        "num_times": num_times,
        "noise": float(noise),
        "energy": None if energy is None else float(energy),
        "method": method or ("yoshida4" if system.separable else "rk4"),
        "substeps": int(substeps or system.substeps),
        "energy_error_max_abs": drift["energy"],
        "energy_error_max_rel": rel,
        "conserved_drift": drift,
    }
    return Dataset(x[..., :d], x[..., d:], t, system.coordinate_names, metadata, dx[..., :d], dx[..., d:])


MAX_INTEGRATION_STEPS = 10**8
"""Largest number of integrator steps (``num_times × substeps``) per trajectory :func:`simulate` runs."""
MAX_SWARM_STEPS = 10**6
"""Largest number of swarm updates (burn-in and records, in steps of ``tau``) per run."""
_POSITIVE_PARAMETERS = frozenset({"m", "m1", "m2", "l", "l1", "l2", "dim", "num_agents", "tau", "speed", "radius",
                                  "perception_deg", "turning_rate_deg"})


def _positive(**values):
    for name, value in values.items():
        if not (value > 0 and math.isfinite(value)):
            raise InputError(f"{name.replace('_', '-')} must be a positive number, got {value}")


# --------------------------------------------------------------------------------------------
# Swarms and static manifolds


def swarm_dataset(
    model: str,
    key,
    *,
    num_runs: int = 1,
    num_times: int = 50,
    dt: float = 0.1,
    burn_in: float = 150.0,
    noise: float = 0.0,
    seed: int | None = None,
    min_milling: float | None = None,
    **parameters,
) -> Dataset:
    """Agent trajectories of the Couzin model or boids, relative to the group.

    Each of ``num_runs`` swarms runs ``burn_in`` seconds from a random start, then ``num_times``
    states ``dt`` apart are recorded. Every agent is one trajectory with
    ``q = c_i − c̄`` (position relative to the centroid) and ``p = v_i − v̄`` (velocity relative to
    the mean velocity), as in Mototake (2021). The metadata give the final polarisation and milling
    index of each run.

    From random starts the Couzin model at the default zones mills in most runs (7 of 8 seeds within
    150 s in our checks); in the others an agent strays or the group splits. ``min_milling``
    redraws (up to 10 times) a run whose milling index after the burn-in is below it; the
    metadata count the redrawn runs.

    Args:
        model: ``"couzin"`` or ``"boids"``.
        min_milling: optional threshold on the milling index after the burn-in.
        parameters: fields of :class:`CouzinParams` / :class:`BoidsParams`.
    """
    cls = {"couzin": CouzinParams, "boids": BoidsParams}[model]
    try:
        params = cls(**parameters)
    except TypeError as err:
        raise InputError(f"bad parameters for {model!r}: {err}; valid: {', '.join(cls._fields)}") from None
    _positive(num_runs=num_runs, num_times=num_times, dt=dt)
    zero_ok = lambda f: f in ("noise", "min_speed", "burn_in") or f.startswith("w_")  # noqa: E731
    values = {**params._asdict(), "burn_in": burn_in}
    bad = [f for f, v in values.items() if isinstance(v, (int, float))
           and not (math.isfinite(v) and (v >= 0 if zero_ok(f) else v > 0))]
    if bad:
        raise InputError(f"parameter {bad[0]} of {model!r} must be a finite number "
                         f"{'>= 0' if zero_ok(bad[0]) else '> 0'}, got {values[bad[0]]}")
    total = (burn_in + dt * (num_times - 1)) / params.tau
    if not total <= MAX_SWARM_STEPS:
        raise InputError(f"burn-in {burn_in:g} + dt {dt:g} × {num_times - 1} records = {total:.3g} steps of tau = "
                         f"{params.tau:g} per run, more than {MAX_SWARM_STEPS:.0e}; lower dt, num_times or burn_in")
    every = max(1, round(dt / params.tau))
    if not math.isclose(every * params.tau, dt, rel_tol=1e-6):
        raise InputError(f"dt for {model!r} must be a multiple of tau = {params.tau}, got {dt}")
    burn = int(round(burn_in / params.tau))
    qs, ps, pol, mill, redrawn = [], [], [], [], 0
    for run_key in jax.random.split(key, num_runs):
        for attempt in range(10 if min_milling is not None else 1):
            k1, k2 = jax.random.split(jax.random.fold_in(run_key, attempt))
            warm = run_swarm(k1, params, num_steps=burn, record_every=max(burn, 1))
            start = type(warm)(warm.position[-1], warm.velocity[-1])
            if min_milling is None or float(milling_index(*start)) >= min_milling:
                break
            redrawn += 1
        traj = run_swarm(k2, params, num_steps=every * (num_times - 1), record_every=every, state=start)
        pos, vel = np.asarray(traj.position), np.asarray(traj.velocity)  # [time, N, 2]
        q_run, p_run = collective_coordinates(pos, vel)
        qs.append(np.swapaxes(q_run, 0, 1))
        ps.append(np.swapaxes(p_run, 0, 1))
        pol.append(float(polarisation(traj.velocity[-1])))
        mill.append(float(milling_index(traj.position[-1], traj.velocity[-1])))
    q, p = np.concatenate(qs), np.concatenate(ps)
    if noise > 0:
        k = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())
        q, p = q + noise * k.standard_normal(q.shape), p + noise * k.standard_normal(p.shape)
    t = np.broadcast_to(burn * params.tau + dt * np.arange(num_times), q.shape[:2]).copy()
    metadata = {
        "system": model,
        "parameters": params._asdict(),
        "seed": seed,
        "dt": dt,
        "num_runs": int(num_runs),
        "num_times": int(num_times),
        "burn_in": float(burn_in),
        "noise": float(noise),
        "polarisation": pol,
        "milling_index": mill,
        "min_milling": min_milling,
        "redrawn_runs": redrawn,
        "frame": "relative to the centroid and the mean velocity",
    }
    return Dataset(q, p, t, ("q1", "q2", "p1", "p2"), metadata)


def sphere_dataset(key, *, num_points: int = 1000, radius: float = 1.0, noise: float = 0.0, seed=None) -> Dataset:
    """Points on the upper hemisphere ``x1² + x2² + x3² = r², x3 > 0`` (Mototake 2021, result 1).

    Uniform on the hemisphere; a static manifold, so ``p`` is empty and there is one time.
    """
    _positive(num_points=num_points, radius=radius)
    k1, k2 = jax.random.split(key)
    v = jax.random.normal(k1, (num_points, 3))
    v = v / jnp.linalg.norm(v, axis=-1, keepdims=True)
    x = radius * v.at[:, 2].set(jnp.abs(v[:, 2]))
    x = np.asarray(x + noise * jax.random.normal(k2, x.shape))[:, None, :]
    metadata = {"system": "sphere", "parameters": {"radius": radius}, "seed": seed, "dt": None, "noise": float(noise)}
    return Dataset(x, np.zeros((num_points, 1, 0)), np.zeros((num_points, 1)), ("x1", "x2", "x3"), metadata)


def list_systems() -> dict[str, str]:
    """Every system :func:`simulate` knows, name -> one-line description."""
    out = {name: factory().description for name, factory in HAMILTONIAN_SYSTEMS.items()}
    out["couzin"] = "Couzin et al. 2002 zone model in 2D (milling at the default zones); agents relative to the centroid"
    out["boids"] = "Reynolds boids in 2D (separation, alignment, cohesion); agents relative to the centroid"
    out["sphere"] = "points on the upper hemisphere x1^2 + x2^2 + x3^2 = r^2 (static manifold)"
    from physlaw.dynamics._flows import FLOW_SYSTEMS

    out.update({name: factory().description for name, factory in FLOW_SYSTEMS.items()})
    out.update({name: factory().description + " [random controls u]" for name, factory in CONTROLLED_SYSTEMS.items()})
    return out


# --------------------------------------------------------------------------------------------
# Derivatives of recorded trajectories


def finite_differences(x, t, *, stencil: int = 5, order: int | None = None) -> np.ndarray:
    """Time derivatives of trajectories by finite differences on each trajectory's own time grid.

    At every time the derivative of the polynomial of degree ``order`` fitted (least squares) to
    ``stencil`` neighbouring samples (centred where possible, shifted inwards at the ends). With the
    default ``order = stencil − 1`` the polynomial interpolates: error ``O(Δt^{stencil−1})`` in the
    interior, weights solving ``Σ_k w_k (t_k − t_i)^r = δ_{r1}`` (Fornberg); ``stencil = 3`` is
    NumPy's ``gradient`` in the interior. A lower ``order`` smooths (Savitzky–Golay, on uneven grids
    too): for noisy trajectories, e.g. ``stencil=7, order=3``. Uneven grids (dropped frames) are handled.

    Args:
        x: ``[trajectory, time, n]``.
        t: ``[trajectory, time]``, strictly increasing along each trajectory.
        stencil: odd number of samples per derivative, at most the number of times.
        order: polynomial degree, 1 ≤ order ≤ stencil − 1 (default stencil − 1).

    Returns:
        ``ẋ`` of the shape of ``x``.

    Example:
        >>> t = np.linspace(0.0, 1.0, 11)[None]
        >>> bool(np.allclose(finite_differences((t**3)[..., None], t)[0, :, 0], 3 * t[0]**2))
        True
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(t, dtype=float)
    num = x.shape[1]
    stencil = int(stencil)
    if stencil < 3 or stencil % 2 == 0:
        raise InputError(f"the finite-difference stencil must be an odd number >= 3, got {stencil}")
    order = stencil - 1 if order is None else int(order)
    if not 1 <= order <= stencil - 1:
        raise InputError(f"the finite-difference polynomial order must be between 1 and stencil − 1 = {stencil - 1}, "
                         f"got {order}")
    if num < stencil:
        raise InputError(f"a {stencil}-point finite difference needs at least {stencil} times per trajectory; "
                         f"got {num}")
    if np.any(np.diff(t, axis=1) <= 0):
        raise InputError("times must increase strictly along each trajectory for finite differences")
    half = stencil // 2
    start = np.clip(np.arange(num) - half, 0, num - stencil)  # [time]
    idx = start[:, None] + np.arange(stencil)  # [time, stencil]
    h = t[:, idx] - t[:, :, None]  # [traj, time, stencil]
    s = np.max(np.abs(h), axis=-1, keepdims=True)
    v = (h / s)[..., :, None] ** np.arange(order + 1)  # [traj, time, k, r]
    # the fitted polynomial's slope at t_i: row r = 1 of the least-squares solution operator
    w = np.linalg.pinv(v)[..., 1, :] / s  # [traj, time, k]
    return np.einsum("btk,btkn->btn", w, x[:, idx])


# --------------------------------------------------------------------------------------------
# Gaps: missing samples (NaN rows) in recorded trajectories

GAP_MODES = ("drop", "interpolate")


@dataclasses.dataclass(frozen=True)
class GapRepair:
    """What :func:`repair_gaps` did to the recorded trajectories (all counts in samples, i.e. rows).

    Attributes:
        mode: ``"drop"`` or ``"interpolate"``.
        num_missing: samples with at least one missing (NaN) value in the input.
        num_gaps: runs of consecutive missing samples.
        longest_gap: the longest such run.
        num_filled: values (coordinates of samples) filled by interpolation (0 for ``drop``).
        num_segments: stretches of complete samples long enough to keep (``≥ min_length``).
        num_short_segments: stretches dropped as too short to differentiate.
        window_length: samples per output trajectory (every kept stretch is cut into windows of it).
        num_windows: output trajectories.
        samples_kept: samples in the windows.
        samples_dropped: complete (or filled) samples left out: short stretches and window remainders.
        sources: per window, ``[input trajectory index, first row]`` (rows of that trajectory in time order).
    """

    mode: str
    num_missing: int
    num_gaps: int
    longest_gap: int
    num_filled: int
    num_segments: int
    num_short_segments: int
    window_length: int
    num_windows: int
    samples_kept: int
    samples_dropped: int
    sources: list

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of every run of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _fill(t: np.ndarray, x: np.ndarray, max_gap: int, which: str, names=None) -> tuple[np.ndarray, int]:
    """Fill the interior gaps of one trajectory, column by column, by a cubic spline.

    Each column (coordinate) is interpolated through its own present samples, so a sample missing
    one coordinate (one agent of a school) keeps the others, and a gap is measured per column: a run
    of more than ``max_gap`` consecutive missing values between two present ones is refused. Leading
    and trailing gaps are left (there is nothing to interpolate between). Returns the filled array and
    the number of values filled.
    """
    from scipy.interpolate import CubicSpline

    x = x.copy()
    filled = 0
    for j in range(x.shape[1]):
        ok = np.isfinite(x[:, j])
        have = np.flatnonzero(ok)
        if have.size < 2:
            continue
        interior = [(a, b) for a, b in _runs(~ok) if a > have[0] and b <= have[-1]]
        for a, b in interior:
            if b - a > max_gap:
                col = f"column {names[j]!r}" if names is not None else f"column {j}"
                raise InputError(f"{which}, {col} has a gap of {b - a} missing samples between "
                                 f"t = {t[a - 1]:g} and t = {t[b]:g}, longer than max_gap = {max_gap}; raise max_gap "
                                 "or drop the gaps (gaps='drop')")
        if not interior:
            continue
        miss = np.concatenate([np.arange(a, b) for a, b in interior])
        if have.size >= 4:
            x[miss, j] = CubicSpline(t[ok], x[ok, j])(t[miss])
        else:
            x[miss, j] = np.interp(t[miss], t[ok], x[ok, j])
        filled += miss.size
    return x, filled


def window_length(lengths, min_length: int) -> int:
    """The window length ``L`` that keeps the most well-differentiated samples when each stretch of
    ``n_i ≥ min_length`` samples is cut into ``⌊n_i / L⌋`` windows.

    A window's first and last ``(min_length − 1)/2`` samples get one-sided differences, so the score
    is ``Σ_i ⌊n_i / L⌋ (L − min_length + 1)``, maximised over the stretch lengths (ties: the longer
    window): short stretches are kept when they add samples, without cutting long ones into many
    short windows.

    Example:
        >>> window_length([100, 40, 45], 7)  # 2 × 34 + 34 + 34 = 136 centred samples
        40
        >>> window_length([9, 30, 10, 29, 40], 7)  # 30 → 24 + 24 + 24 + 24, better than 5 windows of 9
        29
    """
    usable = sorted({int(n) for n in lengths if n >= min_length})
    if not usable:
        return 0
    score = [(sum((n // cand) * (cand - min_length + 1) for n in lengths if n >= min_length), cand) for cand in usable]
    return max(score)[1]


def repair_gaps(tracks, *, mode: str = "drop", max_gap: int = 5, min_length: int = 7, length: int | None = None,
                column_names=None, what: str = "trajectory"):
    """Trajectories with missing samples (NaN) as equal windows of complete samples.

    Recorded tracks lose samples (occlusions, lost frames, a sensor glitch); the finite differences
    and transition pairs of the routes need complete, evenly indexed samples, and a difference taken
    across a gap would be wrong. A sample (row) is missing when any of its values is NaN.

    * ``"drop"``: each trajectory is split at its gaps into stretches of complete samples; stretches
      shorter than ``min_length`` (too short for a smoothed difference; default 7) are dropped.
    * ``"interpolate"``: interior gaps of at most ``max_gap`` consecutive samples are filled first,
      each coordinate by a cubic spline through its own present samples (``scipy.interpolate.CubicSpline``;
      linear with fewer than 4), so gaps are counted per coordinate (per agent's x, y); a longer gap
      is refused. Samples still incomplete (leading and trailing gaps) are then dropped as above.

    Every kept stretch is cut into windows of one common length ``L`` (a :class:`Dataset` is
    rectangular): by default the ``L`` that keeps the most samples (:func:`window_length`). A window
    boundary inside a stretch costs nothing but its finite differences being one-sided there (the
    routes trim the ends).

    Args:
        tracks: sequence of ``(t [n_i], x [n_i, k])``, times finite and strictly increasing; the
            ``n_i`` may differ.
        mode: ``"drop"`` or ``"interpolate"``.
        max_gap: longest run of missing samples ``"interpolate"`` fills.
        min_length: shortest stretch kept.
        length: force the window length (``≥ min_length``).
        column_names: names of the ``k`` columns, for messages.
        what: what one track is called in messages (``"trajectory"``, ``"recording"``).

    Returns:
        ``(t [W, L], x [W, L, k], GapRepair)``.

    Raises:
        InputError: unknown mode, a gap longer than ``max_gap`` (interpolate), no stretch of
            ``min_length`` complete samples.

    Example:
        >>> x = np.arange(20.0)[:, None]; x[8] = np.nan  # stretches of 8 and 11 samples
        >>> t, y, rep = repair_gaps([(np.arange(20.0), x)], mode="drop")
        >>> y.shape, rep.sources, rep.samples_dropped
        ((1, 11, 1), [[0, 9]], 8)
        >>> float(repair_gaps([(np.arange(20.0), x)], mode="interpolate")[1][0, 8, 0])
        8.0
    """
    if mode not in GAP_MODES:
        raise InputError(f"gaps must be one of {', '.join(GAP_MODES)}, got {mode!r}")
    max_gap, min_length = int(max_gap), int(min_length)
    if max_gap < 1 or min_length < 2:
        raise InputError(f"max_gap must be >= 1 and min_length >= 2; got {max_gap} and {min_length}")
    stretches, missing, gaps, longest, filled = [], 0, 0, 0, 0
    for i, (t, x) in enumerate(tracks):
        t = np.asarray(t, dtype=float)
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or t.shape != x.shape[:1]:
            raise InputError(f"{what} {i}: t must be [n] and x [n, k]; got {t.shape} and {x.shape}")
        if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise InputError(f"{what} {i}: times must be finite and strictly increasing")
        absent = ~np.all(np.isfinite(x), axis=1)
        runs = _runs(absent)
        missing += int(absent.sum())
        gaps += len(runs)
        longest = max([longest] + [b - a for a, b in runs])
        if mode == "interpolate":
            x, n_filled = _fill(t, x, max_gap, f"{what} {i}", column_names)
            filled += n_filled
        for a, b in _runs(np.all(np.isfinite(x), axis=1)):
            stretches.append((i, a, t[a:b], x[a:b]))
    lengths = [len(s[2]) for s in stretches]
    short = sum(n < min_length for n in lengths)
    if length is None:
        size = window_length(lengths, min_length)
    else:
        size = int(length)
        if size < min_length:
            raise InputError(f"the window length must be at least min_length = {min_length}, got {size}")
    if size == 0 or not any(n >= size for n in lengths):
        raise InputError(f"no stretch of at least {max(size, min_length)} consecutive complete samples remains after "
                         f"the gaps (the longest has {max(lengths, default=0)}); "
                         + ("fill short gaps (gaps='interpolate') or lower min_length" if mode == "drop"
                            else "lower min_length or give longer records"))
    ts, xs, sources = [], [], []
    for i, a, t, x in stretches:
        if len(t) < min_length:
            continue
        for w in range(len(t) // size):
            ts.append(t[w * size:(w + 1) * size])
            xs.append(x[w * size:(w + 1) * size])
            sources.append([i, a + w * size])
    total = sum(lengths)
    report = GapRepair(mode=mode, num_missing=missing, num_gaps=gaps, longest_gap=longest, num_filled=filled,
                       num_segments=len(lengths) - short, num_short_segments=short, window_length=size,
                       num_windows=len(ts), samples_kept=len(ts) * size, samples_dropped=total - len(ts) * size,
                       sources=sources)
    return np.stack(ts), np.stack(xs), report


# --------------------------------------------------------------------------------------------
# Many-agent tracks


def agents_dataset(t, position, velocity=None, *, stencil: int = 7, order: int | None = 3,
                   metadata: dict | None = None) -> Dataset:
    """Tracks of many agents reduced to the collective frame, one trajectory per agent and record.

    ``q_i = c_i − c̄`` and ``p_i = v_i − v̄`` (:func:`physlaw.dynamics.collective_coordinates`), the
    frame of Mototake's (2021) swarm result, in which a milling school's per-agent angular momentum
    ``q_i × p_i`` is nearly conserved. Without recorded velocities, ``v_i`` is estimated from the
    positions by smoothed finite differences (:func:`finite_differences`: by default the slope of a
    least-squares cubic over 7 samples, Savitzky–Golay on the recorded, possibly uneven, time grid),
    the scheme of the library route.

    Args:
        t: ``[record, time]`` times (records: independent recordings or windows cut at gaps).
        position: ``[record, time, agent, dim]``, complete (no NaN; see :func:`repair_gaps`).
        velocity: optional recorded velocities of the same shape.
        stencil, order: the finite differences for velocities from positions.
        metadata: extra metadata (source, gap repair, ...).

    Returns:
        A :class:`Dataset` with ``record × agent`` trajectories (record-major), coordinates
        ``q1 … qd, p1 … pd`` and metadata naming the frame, the velocity source and the order
        parameters (polarisation, milling index) of each record.

    Example:
        >>> phi = np.linspace(0, 2 * np.pi, 8, endpoint=False)
        >>> tt = np.linspace(0, 1, 9)
        >>> ang = phi[None, :] + tt[:, None]  # 8 agents circling at unit speed
        >>> pos = np.stack([np.cos(ang), np.sin(ang)], -1)[None]
        >>> ds = agents_dataset(tt[None], pos)
        >>> ds.q.shape, round(float(np.mean(ds.q[..., 0] * ds.p[..., 1] - ds.q[..., 1] * ds.p[..., 0])), 2)
        ((8, 9, 2), 1.0)
    """
    t = np.asarray(t, dtype=float)
    pos = np.asarray(position, dtype=float)
    if pos.ndim != 4 or t.shape != pos.shape[:2]:
        raise InputError(f"agent tracks need t [record, time] and positions [record, time, agent, dim]; got t "
                         f"{t.shape} and positions {pos.shape}")
    num_records, num_times, num_agents, dim = pos.shape
    if num_agents < 2 or dim not in (1, 2, 3):
        raise InputError(f"agent tracks need at least 2 agents in 1 to 3 dimensions; got {num_agents} agents in "
                         f"{dim} dimensions")
    if not np.all(np.isfinite(pos)):
        raise InputError("agent positions contain missing (NaN) or infinite values; repair gaps first "
                         "(gaps='drop' or 'interpolate')")
    if velocity is None:
        flat = pos.reshape(num_records, num_times, num_agents * dim)
        vel = finite_differences(flat, t, stencil=stencil, order=order).reshape(pos.shape)
        o = stencil - 1 if order is None else int(order)
        source = f"finite differences of the positions ({int(stencil)} samples, degree-{o} polynomial)"
    else:
        vel = np.asarray(velocity, dtype=float)
        if vel.shape != pos.shape or not np.all(np.isfinite(vel)):
            raise InputError(f"agent velocities must be finite with the positions' shape {pos.shape}; got {vel.shape}")
        source = "recorded"
    q, p = collective_coordinates(pos, vel)  # [record, time, agent, dim]
    q = np.moveaxis(q, 2, 1).reshape(num_records * num_agents, num_times, dim)
    p = np.moveaxis(p, 2, 1).reshape(num_records * num_agents, num_times, dim)
    last = (pos[:, -1], vel[:, -1])
    meta = {
        "system": None,
        **(metadata or {}),
        "frame": "relative to the centroid and the mean velocity",
        "num_agents": int(num_agents),
        "num_records": int(num_records),
        "velocities": source,
        "dt": float(np.median(np.diff(t[0]))) if num_times > 1 else None,
    }
    if dim == 2:
        meta["polarisation"] = [float(polarisation(v)) for v in last[1]]
        meta["milling_index"] = [float(milling_index(c, v)) for c, v in zip(*last)]
    names = tuple(f"q{i + 1}" for i in range(dim)) + tuple(f"p{i + 1}" for i in range(dim))
    return Dataset(q, p, np.repeat(t, num_agents, axis=0), names, meta)
