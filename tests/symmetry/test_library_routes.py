"""Function-library routes: the library itself, the trajectory baseline, the HNN route, a real pendulum."""

import dataclasses
from pathlib import Path

import jax
import numpy as np
import pytest
import sympy
from scipy.special import ellipk

from physlaw.dynamics import simulate
from physlaw.io.trajectories import load_dataset
from physlaw.errors import InputError
from physlaw.symmetry import make_family, subspace_similarity
from physlaw.symmetry._baseline import finite_differences, trajectory_laws
from physlaw.symmetry._hnn import hnn_laws, hnn_symmetries
from physlaw.symmetry._library import FunctionLibrary

SCHMIDT_LIPSON = Path("/work/shared/data/schmidt-lipson-2009/real_pend_h_1.txt")


def truth_space(library, expressions):
    """Library coefficient vectors of known laws (each must be representable)."""
    rows = []
    for e in expressions:
        c, res = library.coefficients(e)
        assert res < 1e-8, f"{e} is not in the library"
        rows.append(c)
    return np.array(rows)


# --------------------------------------------------------------------------------------------
# the library


def test_feature_names_parse_and_gradients_match_differences():
    names = ["q1", "q2", "p1", "p2"]
    lib = FunctionLibrary(names, degree=3, inverse_radius=True, trig=True)
    assert lib.num_features == 4 + 10 + 20 + 1 + 4
    assert "q1*p2" in lib.names and "1/sqrt(q1**2 + q2**2)" in lib.names and "cos(q2)" in lib.names
    syms = {n: sympy.Symbol(n, real=True) for n in names}
    for name, expr in zip(lib.names, lib.expressions):
        assert sympy.simplify(sympy.sympify(name, locals=syms) - expr) == 0
    x = np.random.default_rng(0).uniform(0.3, 1.5, size=(200, 4))
    v, g = lib.values(x), lib.gradients(x)
    assert v.shape == (200, lib.num_features) and g.shape == (200, lib.num_features, 4)
    h = 1e-6
    for k in range(4):
        e = np.zeros(4)
        e[k] = h
        fd = (lib.values(x + e) - lib.values(x - e)) / (2 * h)
        np.testing.assert_allclose(g[:, :, k], fd, rtol=1e-6, atol=1e-7)


def test_angle_library_and_bad_input():
    assert FunctionLibrary(["theta", "omega"], angles=True).names == ("omega", "omega**2", "cos(theta)", "sin(theta)")
    with pytest.raises(InputError, match="not a plain name"):
        FunctionLibrary(["q 1", "p"])
    with pytest.raises(InputError, match="means something to SymPy"):
        FunctionLibrary(["I", "p"])
    with pytest.raises(InputError, match="text is never parsed"):
        FunctionLibrary(["q", "p"], extra=["q**2"])
    with pytest.raises(InputError, match="constant"):
        FunctionLibrary(["q", "p"], extra=[sympy.Integer(2)])
    with pytest.raises(InputError, match="not among"):
        FunctionLibrary(["q", "p"], extra=[sympy.Symbol("z")**2])
    with pytest.raises(InputError, match="shape"):
        FunctionLibrary(["q", "p"]).values(np.zeros((5, 3)))
    with pytest.raises(InputError, match="not finite"):
        FunctionLibrary(["q1", "q2", "p1", "p2"], inverse_radius=True).values(np.zeros((3, 4)))


def test_finite_differences_fourth_order_on_uneven_grid():
    t = np.sort(np.random.default_rng(1).uniform(0, 6, 120))[None]
    x = np.sin(t)[..., None]
    err = np.abs(finite_differences(x, t)[0, 2:-2, 0] - np.cos(t[0, 2:-2]))
    assert err.max() < 1e-4


# --------------------------------------------------------------------------------------------
# trajectory baseline (route "library")


def test_spring_energy_from_trajectories_forces_finite_differences():
    ds = simulate("spring", jax.random.key(0), num_trajectories=320)  # 10 240 points, exact dx stored
    assert ds.dq is not None
    d = trajectory_laws(ds, FunctionLibrary(ds.coordinate_names))
    assert d.route == "library" and d.details["derivatives"].startswith("finite differences")
    assert d.count == 1 and not d.weak and d.gap > 1e3
    (law,) = d.laws
    (cq, eq), (cp, ep) = law.coefficients["q1**2"], law.coefficients["p1**2"]
    # H = q² + p²: equal coefficients within the bootstrap error plus the 4th-order difference bias
    assert abs(cp / cq - 1) < 5 * np.hypot(eq, ep) + 1e-4
    assert set(law.coefficients) <= {"q1**2", "p1**2", "q1", "p1", "q1*p1"}
    assert all(abs(v) < 1e-3 for k, (v, _) in law.coefficients.items() if k not in ("q1**2", "p1**2"))


def test_isotropic_oscillator_has_four_quadratic_charges():
    ds = simulate("harmonic-2d", jax.random.key(1), num_trajectories=160)
    lib = FunctionLibrary(ds.coordinate_names)
    d = trajectory_laws(ds, lib)
    assert d.count == 4 and not d.weak
    q1, q2, p1, p2 = lib.symbols
    truth = truth_space(lib, [q1**2 + p1**2, q2**2 + p2**2, q1*q2 + p1*p2, q1*p2 - q2*p1])
    assert subspace_similarity(d.arrays["basis"], truth) > 0.9999


def test_smoothed_differences_recover_the_oscillator_charges_from_noisy_trajectories():
    # least-squares cubic over 7 samples (Savitzky-Golay) is exact on a cubic, on an uneven grid too
    t = np.sort(np.random.default_rng(2).uniform(0, 4, 50))[None]
    assert np.allclose(finite_differences((t**3 - t)[..., None], t, stencil=7, order=3)[0, :, 0], 3 * t[0]**2 - 1)
    ds = simulate("harmonic-2d", jax.random.key(1), num_trajectories=256, num_times=64, energy=0.5, dt=0.3)
    rng = np.random.default_rng(3)
    noisy = dataclasses.replace(ds, q=ds.q + 0.02 * 0.7 * rng.standard_normal(ds.q.shape),
                                p=ds.p + 0.02 * 0.7 * rng.standard_normal(ds.p.shape), dq=None, dp=None)
    lib = FunctionLibrary(ds.coordinate_names)
    plain = trajectory_laws(noisy, lib)  # interpolating differences amplify the noise: nothing found
    smooth = trajectory_laws(noisy, lib, stencil=7, order=3)
    assert plain.count == 0
    assert smooth.count == 4 and "least squares" in smooth.details["derivatives"]
    q1, q2, p1, p2 = lib.symbols
    truth = truth_space(lib, [q1**2 + p1**2, q2**2 + p2**2, q1*q2 + p1*p2, q1*p2 - q2*p1])
    assert subspace_similarity(smooth.arrays["basis"], truth) > 0.99
    with pytest.raises(InputError, match="order"):
        finite_differences((t**3)[..., None], t, stencil=5, order=5)


def test_simulated_pendulum_energy_in_angle_library():
    ds = simulate("pendulum", jax.random.key(4), num_trajectories=228)  # 10 260 points; H = p² + 3(1 − cos q)
    d = trajectory_laws(ds, FunctionLibrary(ds.coordinate_names, angles=True))
    assert d.count == 1 and not d.weak, d.spectrum
    (a, ea), (b, eb) = d.laws[0].coefficients["p1**2"], d.laws[0].coefficients["cos(q1)"]
    assert abs(-b / a - 3) < 5 * 3 * np.hypot(ea / a, eb / b) + 1e-3


def test_kepler_energy_and_angular_momentum_not_runge_lenz():
    ds = simulate("kepler", jax.random.key(2), num_trajectories=160, energy=-0.5)  # 10 240 points
    lib = FunctionLibrary(ds.coordinate_names, inverse_radius=True)
    # Runge–Lenz A1 = p2 L − q1/|q| is cubic in (q, p): not representable in this library
    q1, q2, p1, p2 = lib.symbols
    _, res = lib.coefficients(p2*(q1*p2 - q2*p1) - q1/sympy.sqrt(q1**2 + q2**2))
    assert res > 0.1
    d = trajectory_laws(ds, lib)
    assert d.count == 2 and not d.weak, d.spectrum
    truth = truth_space(lib, [(p1**2 + p2**2)/2 - 1/sympy.sqrt(q1**2 + q2**2), q1*p2 - q2*p1])
    assert subspace_similarity(d.arrays["basis"], truth) > 0.999
    # exact derivatives: the same space, to round-off
    exact = trajectory_laws(ds, lib, exact_derivatives=True, bootstrap=0)
    assert exact.count == 2 and subspace_similarity(exact.arrays["basis"], truth) > 1 - 1e-9


def test_negative_control_shuffled_velocities_find_nothing():
    ds = simulate("spring", jax.random.key(3), num_trajectories=320)
    lib = FunctionLibrary(ds.coordinate_names)
    xdot = finite_differences(ds.x, ds.t)
    flat = xdot.reshape(-1, xdot.shape[-1])
    shuffled = flat[np.random.default_rng(0).permutation(flat.shape[0])].reshape(xdot.shape)
    d = trajectory_laws(ds, lib, velocities=shuffled, bootstrap=0)
    assert d.count == 0 or d.weak
    assert d.spectrum[-1] > 0.1  # nothing is close to conserved
    rand = np.random.default_rng(1).standard_normal(xdot.shape)
    assert trajectory_laws(ds, lib, velocities=rand, bootstrap=0).count == 0


def test_trajectory_route_input_errors():
    ds = simulate("spring", jax.random.key(0), num_trajectories=2, num_times=4)
    with pytest.raises(InputError, match="times per trajectory"):
        trajectory_laws(ds)
    ds = simulate("spring", jax.random.key(0), num_trajectories=1, num_times=8)
    with pytest.raises(InputError, match="at least"):
        trajectory_laws(ds, FunctionLibrary(ds.coordinate_names, degree=4))
    with pytest.raises(InputError, match="library is on"):
        trajectory_laws(ds, FunctionLibrary(["x", "y"]))


# --------------------------------------------------------------------------------------------
# HNN route


@pytest.fixture(scope="module")
def spring_hnn():
    from physlaw.nets import TrainConfig, train

    ds = simulate("spring", jax.random.key(0), num_trajectories=100, noise=0.05)
    model, _, _ = train("hnn", ds, key=jax.random.key(1), model_settings={"width": 64},
                        config=TrainConfig(num_steps=700, learning_rate=3e-3))
    return model, ds


def test_hnn_finds_spring_energy_and_its_symmetry(spring_hnn):
    model, ds = spring_hnn
    lib = FunctionLibrary(ds.coordinate_names)
    d = hnn_laws(model, ds, lib)
    assert d.route == "hnn" and d.count == 1 and not d.weak, d.spectrum
    q1, p1 = lib.symbols
    truth = truth_space(lib, [q1**2 + p1**2])
    assert subspace_similarity(d.arrays["basis"], truth) > 0.99
    s = hnn_symmetries(model, ds, make_family("gl", ds.coordinate_names))
    assert s.count == 1 and not s.weak
    (law,) = s.laws
    assert law.symplectic_defect < 0.05  # the (q, p) rotation: canonical
    g = law.coefficients
    assert abs(g["p1**2"][0] / g["q1**2"][0] - 1) < 0.05


def test_hnn_finds_the_free_particle_momentum():
    # on one energy shell every G(p) commutes with H; the learned ∂H/∂q is small but not zero, and
    # only judged against each feature's own gradient size is that a null direction
    from physlaw.nets import TrainConfig, train

    ds = simulate("free-particle-1d", jax.random.key(2), num_trajectories=64, num_times=32, energy=0.5, dt=0.1)
    ds = dataclasses.replace(ds, dq=None, dp=None)
    model, _, _ = train("hnn", ds, key=jax.random.key(3), model_settings={"width": 64},
                        config=TrainConfig(num_steps=700, learning_rate=3e-3))
    lib = FunctionLibrary(ds.coordinate_names)
    d = hnn_laws(model, ds, lib)
    assert d.count >= 1 and not d.weak, d.spectrum
    c, _ = lib.coefficients(lib.symbols[1])
    proj = d.arrays["basis"].T @ np.linalg.lstsq(d.arrays["basis"].T, c, rcond=None)[0]
    assert np.linalg.norm(proj - c) < 0.05 * np.linalg.norm(c)  # p lies in the found span
    assert d.details["column_scale"].startswith("RMS")


def test_hnn_route_input_errors(spring_hnn):
    model, ds = spring_hnn
    lib = FunctionLibrary(ds.coordinate_names)
    sphere = simulate("sphere", jax.random.key(0), num_trajectories=50)
    with pytest.raises(InputError, match="momenta"):
        hnn_laws(model, sphere, FunctionLibrary(sphere.coordinate_names))
    with pytest.raises(InputError, match="at least"):
        hnn_laws(model, ds.points()[:5], lib)
    with pytest.raises(InputError, match="Hamiltonian"):
        hnn_laws(object(), ds, lib)


# --------------------------------------------------------------------------------------------
# a real pendulum (Schmidt & Lipson, Science 2009)


def _omega0(theta, t):
    """Small-oscillation angular frequency from the half periods between zero crossings of θ.

    A half period at amplitude A is ``T/2 = 2 K(sin²(A/2)) / ω0`` (complete elliptic integral K).
    Returns the mean over half cycles and its standard error.
    """
    a, b = theta[:-1], theta[1:]
    z = np.nonzero(((a < 0) & (b >= 0)) | ((a > 0) & (b <= 0)))[0]  # the file has exact zeros
    tz = t[z] - theta[z] * (t[z + 1] - t[z]) / (theta[z + 1] - theta[z])
    amp = np.array([np.abs(theta[a:b + 1]).max() for a, b in zip(z[:-1], z[1:])])
    w0 = 2 * ellipk(np.sin(amp / 2) ** 2) / np.diff(tz)
    return w0.mean(), w0.std(ddof=1) / np.sqrt(w0.size)


@pytest.mark.skipif(not SCHMIDT_LIPSON.is_file(), reason="Schmidt–Lipson data not available")
def test_schmidt_lipson_pendulum_energy():
    ds = load_dataset(SCHMIDT_LIPSON, q=["o"], p=["v"])  # header '%o v': columns trial, t, θ, ω
    ds = dataclasses.replace(ds, coordinate_names=("theta", "omega"))
    lib = FunctionLibrary(ds.coordinate_names, angles=True)  # omega, omega**2, cos(theta), sin(theta)
    # light damping: the energy is only nearly conserved (smallest singular value ~0.04), so rtol 0.1
    d = trajectory_laws(ds, lib, rtol=0.1, bootstrap=100)
    assert d.count == 1 and not d.weak and d.gap > 10, d.spectrum
    assert 0.01 < d.spectrum[-1] < 0.1
    (law,) = d.laws

    def c_of(lw):
        (a, ea), (b, eb) = lw.coefficients["omega**2"], lw.coefficients["cos(theta)"]
        c = -b / a
        return c, abs(c) * np.hypot(ea / a, eb / b)

    c, c_err = c_of(law)
    # systematic error from the damping: spread of c between the two halves of the record
    half = ds.num_times // 2
    halves = [c_of(trajectory_laws(dataclasses.replace(ds, q=ds.q[:, s], p=ds.p[:, s], t=ds.t[:, s]), lib,
                                   rtol=0.1, bootstrap=0).laws[0])[0] for s in (slice(0, half), slice(half, None))]
    c_sys = abs(halves[0] - halves[1]) / 2
    theta, omega, t = ds.q[0, :, 0], ds.p[0, :, 0], ds.t[0]
    w0, w0_err = _omega0(theta, t)
    # the file's ω is not exactly dθ/dt: θ̇ = s ω with s ≈ 1.05 (a time-axis or smoothing scale in the
    # data), so E ∝ s² ω² − 2 ω0² cos θ and the law's c in the file's ω is 2 ω0² / s²
    (s, _), cov = np.polyfit(omega, finite_differences(ds.x, ds.t)[0, :, 0], 1, cov=True)
    expected = 2 * w0**2 / s**2
    rel = np.hypot(2 * w0_err / w0, 2 * np.sqrt(cov[0, 0]) / s)
    tol = 3 * np.sqrt(c_err**2 + c_sys**2 + (expected * rel) ** 2)
    assert abs(c - expected) < tol, (c, expected, tol)
    # against 2 ω0² itself the s² factor (≈ 1.10) shows: c is about 10 % low
    assert abs(c / (2 * w0**2) - 1) < 0.10, (c, 2 * w0**2)
