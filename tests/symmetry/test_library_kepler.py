"""The Runge–Lenz vector of planar Kepler from the library route (features q_i/|q|, kepler_library)."""

import numpy as np
import pytest
import sympy

from physlaw.dynamics import Dataset
from physlaw.errors import InputError
from physlaw.symmetry import subspace_similarity
from physlaw.symmetry._baseline import trajectory_laws
from physlaw.symmetry._library import FunctionLibrary, kepler_library


def kepler_orbits(num, num_times=64, dt=0.05, *, a=(0.6, 1.4), e=(0.0, 0.5), seed=0):
    """Exact planar Kepler orbits (m = k = 1) from Kepler's equation, no integrator.

    Semi-major axis ``a`` (energy ``−1/2a``) and eccentricity ``e`` drawn uniformly, random
    orientation and phase: q = R(ω) (a (cos E − e), b sin E), p = dq/dt, with the mean anomaly
    ``M = E − e sin E = n t + M0`` and ``n = a^{−3/2}`` solved by Newton's method.
    """
    rng = np.random.default_rng(seed)
    a = rng.uniform(*a, (num, 1)) if isinstance(a, tuple) else np.full((num, 1), a)
    e = rng.uniform(*e, (num, 1))
    w, m0 = rng.uniform(0, 2 * np.pi, (2, num, 1))
    n = a ** -1.5
    t = dt * np.arange(num_times)[None]
    mean = n * t + m0
    ecc = mean.copy()
    for _ in range(50):
        ecc -= (ecc - e * np.sin(ecc) - mean) / (1 - e * np.cos(ecc))
    b = a * np.sqrt(1 - e**2)
    x, y = a * (np.cos(ecc) - e), b * np.sin(ecc)
    rate = n / (1 - e * np.cos(ecc))
    vx, vy = -a * np.sin(ecc) * rate, b * np.cos(ecc) * rate
    rot = lambda u, v: (np.cos(w) * u - np.sin(w) * v, np.sin(w) * u + np.cos(w) * v)  # noqa: E731
    q = np.stack(rot(x, y), -1)
    p = np.stack(rot(vx, vy), -1)
    return Dataset(q, p, np.broadcast_to(t, q.shape[:2]).copy(), ("q1", "q2", "p1", "p2"), {"system": "kepler-2d"})


def truth(lib):
    q1, q2, p1, p2 = lib.symbols
    r = sympy.sqrt(q1**2 + q2**2)
    ang = q1 * p2 - q2 * p1
    laws = [(p1**2 + p2**2) / 2 - 1 / r, ang, p2 * ang - q1 / r, -p1 * ang - q2 / r]
    rows = []
    for law in laws:
        c, res = lib.coefficients(law)
        assert res < 1e-10
        rows.append(c)
    return np.array(rows)


def cosines(basis, vectors):
    """|cos| of each vector with its projection on the row space of ``basis`` (1: inside it)."""
    q, _ = np.linalg.qr(np.asarray(basis).T)
    return np.array([np.linalg.norm(q.T @ v) / np.linalg.norm(v) for v in vectors])


def test_orbit_generator_conserves_the_runge_lenz_vector():
    ds = kepler_orbits(8)
    q, p = ds.q, ds.p
    r = np.linalg.norm(q, axis=-1)
    ang = q[..., 0] * p[..., 1] - q[..., 1] * p[..., 0]
    lrl = np.stack([p[..., 1] * ang - q[..., 0] / r, -p[..., 0] * ang - q[..., 1] / r], -1)
    energy = 0.5 * np.sum(p**2, -1) - 1 / r
    for g in (energy, ang, lrl[..., 0], lrl[..., 1]):
        assert np.abs(g - g[:, :1]).max() < 1e-10


def test_runge_lenz_found_by_the_library_route():
    ds = kepler_orbits(120)  # several energies: 7680 points
    lib = kepler_library(ds.coordinate_names)
    assert lib.num_features == 4 + 10 + 20 + 1 + 2 and "q1/sqrt(q1**2 + q2**2)" in lib.names
    d = trajectory_laws(ds, lib, stencil=7, bootstrap=0)
    assert d.count == 4, d.spectrum[-6:]
    t = truth(lib)
    cos = cosines(d.arrays["basis"], t)
    assert np.all(cos > 0.999), cos  # the target is 0.99
    assert subspace_similarity(d.arrays["basis"], t) > 0.99
    # the same data in the default library (degree 2, 1/|q|): the energy and L only
    two = trajectory_laws(ds, FunctionLibrary(ds.coordinate_names, inverse_radius=True), bootstrap=0)
    assert two.count == 2


def test_single_energy_shell_adds_the_documented_directions():
    # on E = E0 the products (E − E0) q_i are constant too and lie in the library: 4 + 2 directions
    ds = kepler_orbits(120, a=1.0)
    lib = kepler_library(ds.coordinate_names)
    d = trajectory_laws(ds, lib, stencil=7, bootstrap=0)
    assert d.count == 6, d.spectrum[-8:]
    assert np.all(cosines(d.arrays["basis"], truth(lib)) > 0.999)


def test_negative_control_shuffled_velocities_and_bad_options():
    ds = kepler_orbits(60)
    lib = kepler_library(ds.coordinate_names)
    from physlaw.dynamics import finite_differences

    xdot = finite_differences(ds.x, ds.t, stencil=7)
    flat = xdot.reshape(-1, 4)
    shuffled = flat[np.random.default_rng(1).permutation(flat.shape[0])].reshape(xdot.shape)
    d = trajectory_laws(ds, lib, velocities=shuffled, bootstrap=0)
    assert d.count == 0 or np.all(cosines(d.arrays["basis"], truth(lib)) < 0.9)
    with pytest.raises(InputError, match="angles excludes"):
        FunctionLibrary(["q1", "p1"], angles=True, radial=True)


def test_conserve_api_passes_radial_to_the_library():
    import jax

    from physlaw.symmetry import conserve

    ds = kepler_orbits(24, seed=3)  # small: conserve bootstraps the null space 50 times
    res = conserve(ds, method="library", key=jax.random.key(0), degree=3, inverse_radius=True, radial=True,
                   stencil=7, check=False)
    assert res.library.num_features == 37 and res.discovery.count == 4
    assert np.all(cosines(res.discovery.arrays["basis"], truth(res.library)) > 0.999)
