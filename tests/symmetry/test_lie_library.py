"""Nonlinear symmetries over a function library from an autoencoder's Jacobian (``lie_library_laws``).

Exact answers first: for a linear flow map ``R`` (the harmonic oscillators, time step Δt) the pair manifold
over all energies is the plane ``{(x, R x)}`` and ``f(z) = P z`` with ``P`` the orthogonal projector onto
it is an exact "autoencoder". The fields ``J ∇G`` tangent to it are those with ``{G, H} = 0``: in the
degree-2 library (14 features) the isotropic oscillator has the four u(2) charges, the 1 : 2 anisotropic
one only its two mode energies (the negative control of the first: its angular momentum must be absent).
Then a small trained autoencoder on one energy shell, and a model that learned nothing (the identity:
every candidate is tangent to it) whose laws the held-out checks must all drop.
"""

import jax
import numpy as np
import pytest
import sympy

from physlaw.dynamics import simulate
from physlaw.errors import InputError
from physlaw.symmetry import FunctionLibrary, conserve, lie_library_laws
from physlaw.symmetry._pipeline import principal_angles

NAMES = ("q1", "q2", "p1", "p2")
U2 = ["q1**2 + p1**2", "q2**2 + p2**2", "q1*p2 - q2*p1", "q1*q2 + p1*p2"]
MODES = ["q1**2 + p1**2", "4*q2**2 + p2**2"]


def _flow_map(omega, dt):
    """The exact flow map of ``H = Σ (p_i² + ω_i² q_i²)/2`` over ``dt`` on ``(q1, q2, p1, p2)``."""
    c, s = np.cos(np.multiply(omega, dt)), np.sin(np.multiply(omega, dt))
    om = np.asarray(omega, float)
    return np.block([[np.diag(c), np.diag(s / om)], [np.diag(-om * s), np.diag(c)]])


def _graph_projector(r):
    """``z ↦ P z``, the orthogonal projection onto ``{(x, R x)}``, and points on it (all energies)."""
    a = np.vstack([np.eye(4), r])  # [8, 4], the plane's basis
    p = a @ np.linalg.solve(a.T @ a, a.T)
    x = np.random.default_rng(0).normal(size=(300, 4))
    return (lambda z: jax.numpy.asarray(p, z.dtype) @ z), np.hstack([x, x @ r.T])


def _truth(lib, exprs):
    syms = {s.name: s for s in lib.symbols}
    out = []
    for e in exprs:
        c, res = lib.coefficients(sympy.sympify(e, locals=syms))
        assert res < 1e-10  # in the library
        out.append(c)
    return np.array(out)


def _angles(disc, truth):
    """Principal angles (degrees) between the found null basis and the true coefficient vectors."""
    return principal_angles(disc.arrays["basis"].T, truth.T)


def test_isotropic_oscillator_gives_the_four_u2_charges_exactly():
    lib = FunctionLibrary(NAMES, degree=2)
    f, rows = _graph_projector(_flow_map((1.0, 1.0), 0.3))
    disc = lie_library_laws(f, rows, lib)
    assert disc.route == "lie-library" and disc.count == 4 and not disc.weak and disc.gap > 1e4
    # float32 rows (the networks' precision): round-off ~1e-7 relative over a spectrum whose non-null part is
    # >= 0.1, so the null basis is off by ~1e-6 rad; 1e-3 degrees (1.7e-5 rad) leaves a factor 10 for accumulation
    assert np.max(_angles(disc, _truth(lib, U2))) < 1e-3


def test_anisotropic_oscillator_keeps_only_the_mode_energies():
    """Negative control of the test above: the u(2) charges must fail (L = q1 p2 − q2 p1 is not conserved)."""
    lib = FunctionLibrary(NAMES, degree=2)
    f, rows = _graph_projector(_flow_map((1.0, 2.0), 0.3))
    disc = lie_library_laws(f, rows, lib)
    assert disc.count == 2 and disc.gap > 1e4
    assert np.max(_angles(disc, _truth(lib, MODES))) < 1e-3
    assert np.min(_angles(disc, _truth(lib, [U2[2]]))) > 80  # angular momentum: orthogonal to what was found


def test_a_feature_whose_field_vanishes_on_the_data_is_untestable_not_conserved():
    """On data with q2 = p2 = 0 the fields of q2², q2 p2 and p2² vanish: pinned, never part of a law."""
    lib = FunctionLibrary(NAMES, degree=2)
    f, rows = _graph_projector(_flow_map((1.0, 1.0), 0.3))
    rows = rows.copy()
    rows[:, [1, 3, 5, 7]] = 0.0
    disc = lie_library_laws(f, rows, lib)
    assert disc.details["untestable_features"] == ["q2**2", "q2*p2", "p2**2"]
    assert "could not be tested" in disc.message
    pinned = [lib.names.index(n) for n in ("q2**2", "q2*p2", "p2**2")]
    assert np.max(np.abs(disc.arrays["basis"][:, pinned])) < 1e-8
    assert disc.count == 3  # q1² + p1², q1 q2 + p1 p2, q1 p2 − q2 p1: the fourth u(2) charge q2² + p2² is untestable


@pytest.fixture(scope="module")
def shell():
    """The isotropic oscillator on the shell E = 0.5 (64 trajectories × 32 times, Δt = 0.3), as the benchmark."""
    return simulate("harmonic-2d", jax.random.key(0), num_trajectories=64, num_times=32, dt=0.3, energy=0.5)


def test_trained_autoencoder_finds_the_u2_charges(shell):
    res = conserve(shell, method="lie", library=True, key=jax.random.key(1), train_steps=3000)
    disc = res.discovery
    assert res.library is not None and res.family is None and res.settings["library"] == list(res.library.names)
    assert disc.count == 4 and disc.details["checks"]["raw_count"] == 4 and disc.gap > 10
    assert all(law.drift.verdict == "conserved" for law in disc.laws)
    # a 3000-step autoencoder's tangent spaces are off by ~1e-3 (the laws' stray coefficients, ~1e-3 of the
    # main ones): angles of ~0.1°; 1° is ten times that and far below the 90° of a law outside the span
    assert np.max(_angles(disc, _truth(res.library, U2))) < 1.0


def test_a_model_that_learned_nothing_gives_no_law(shell):
    """The identity "autoencoder" has every direction tangent: all 14 features are null directions, and the
    held-out checks drop every one of them (none is conserved alone)."""
    res = conserve(shell, method="lie", library=True, key=jax.random.key(1), model=lambda z: z)
    assert res.discovery.details["checks"]["raw_count"] == 14
    assert res.discovery.count == 0 and len(res.discovery.details["dropped_laws"]) == 14


def test_refusals():
    ds = simulate("harmonic-2d", jax.random.key(0), num_trajectories=4, num_times=8)
    with pytest.raises(InputError, match="method='lie' only"):
        conserve(ds, method="hnn", library=True, key=jax.random.key(0))
    sphere = simulate("sphere", jax.random.key(0), num_trajectories=300)  # positions only, one time
    with pytest.raises(InputError, match="needs phase-space trajectories"):
        conserve(sphere, method="lie", library=True, key=jax.random.key(0), model=lambda z: z)
    lib = FunctionLibrary(NAMES, degree=2)
    with pytest.raises(InputError, match=r"rows must be \[N, k·4\]"):
        lie_library_laws(lambda z: z, np.zeros((10, 6)), lib)
