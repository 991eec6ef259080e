"""Checks of found laws: drift intervals, the time-shuffled surrogate, every null direction reported."""

import dataclasses

import jax
import numpy as np
import pytest
import sympy

from physlaw.dynamics import simulate
from physlaw.symmetry import check_expression, conserve, make_family
from physlaw.symmetry._checks import drift, split_trajectories
from physlaw.symmetry._laws import describe_directions
from physlaw.symmetry._lie import lie_algebra

q1, p1 = sympy.symbols("q1 p1")
ENERGY = p1**2 / 2 + q1**2 / 2  # omega = 1


@pytest.fixture(scope="module")
def damped():
    jax.config.update("jax_enable_x64", True)
    ds = simulate("damped-oscillator", jax.random.key(3), num_trajectories=32, zeta=0.05)
    return dataclasses.replace(ds, dq=None, dp=None)


def test_damped_energy_rate_interval_covers_two_zeta_omega(damped):
    d = check_expression(ENERGY, damped)
    truth = -2 * 0.05 * 1.0
    assert d.low <= truth <= d.high, d
    assert d.verdict == "approximately conserved" and not d.distribution_only
    assert d.high - d.low < 0.2 * abs(truth)  # informative: the interval is not trivially wide
    # negative control: a wrong rate (1.5 x the truth) and zero lie outside the interval
    assert not d.low <= 1.5 * truth <= d.high and not d.low <= 0.0 <= d.high


def test_undamped_energy_is_conserved_and_q_is_not(key=jax.random.key(4)):
    jax.config.update("jax_enable_x64", True)
    ds = simulate("damped-oscillator", key, num_trajectories=16, zeta=0.0)
    d = check_expression(ENERGY, ds)
    # RK4's own energy error (~1e-12 per unit time) is resolved by the interval but negligible: conserved
    assert d.verdict == "conserved" and abs(d.rate) < 1e-9 and not d.distribution_only
    assert check_expression(q1, ds).verdict == "not conserved"  # negative control


def _oscillator(energies, num_times=64, dt=0.3, seed=5):
    """Exact harmonic-oscillator orbits (H = (p² + q²)/2) at the given energies, random phases."""
    from physlaw.dynamics import Dataset

    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, (len(energies), 1))
    t = np.broadcast_to(dt * np.arange(num_times), (len(energies), num_times)).copy()
    amp = np.sqrt(2 * np.asarray(energies))[:, None]
    return Dataset((amp * np.cos(t + phase))[..., None], (-amp * np.sin(t + phase))[..., None], t, ("q1", "p1"))


def test_surrogate_drops_a_law_of_the_state_distribution_only():
    """On one energy shell every state has E = 0.5: E is as constant on shuffled data as on real data."""
    shell = _oscillator([0.5] * 16)
    spread = _oscillator(np.linspace(0.1, 1.0, 16))
    e = p1**2 / 2 + q1**2 / 2
    assert check_expression(e, shell).distribution_only
    assert not check_expression(e, spread).distribution_only  # negative control: energies differ
    assert check_expression(e, spread).verdict == "conserved"
    assert check_expression(q1 * p1, spread).verdict == "not conserved"


def test_library_route_reports_the_damped_energy_with_its_rate(damped):
    res = conserve(damped, method="library", key=jax.random.key(0))
    disc = res.discovery
    assert disc.count == 0 and res.settings["held_out_trajectories"] == 8
    approx = disc.details["approximate_law"]["drift"]
    assert approx["verdict"] == "approximately conserved"
    lo, hi = approx["interval"]
    assert lo <= -0.1 <= hi, approx
    assert "decaying at rate" in disc.message


def test_drift_statistics_on_synthetic_exponentials():
    rng = np.random.default_rng(0)
    t = np.broadcast_to(np.linspace(0, 5, 50), (20, 50))
    g = rng.uniform(1, 2, (20, 1)) * np.exp(-0.3 * t) * (1 + 0.01 * rng.standard_normal((20, 50)))
    d = drift(g, t, scale=1.0)
    assert d.low <= -0.3 <= d.high and d.verdict == "approximately conserved"
    flat = rng.uniform(1, 2, (20, 1)) * (1 + 0.001 * rng.standard_normal((20, 50)))
    assert drift(flat, t, scale=1.0).verdict == "conserved"


def test_split_holds_out_every_fourth_trajectory(damped):
    fit, held = split_trajectories(damped)
    assert fit.num_trajectories == 24 and held.num_trajectories == 8
    np.testing.assert_array_equal(held.q[0], damped.q[3])
    small, none = split_trajectories(dataclasses.replace(fit, q=fit.q[:4], p=fit.p[:4], t=fit.t[:4]))
    assert none is None and small.num_trajectories == 4


class _Identity:
    """A stand-in autoencoder that reproduces every point: every direction of the family is a symmetry."""

    def __call__(self, z):
        return z


def test_lie_keeps_the_canonical_law_and_reports_the_scaling():
    """The issue's abort: a rotation family acting alike on q and p holds one canonical direction
    (angular momentum) and three non-canonical ones (a scaling among them); none may discard the law."""
    rng = np.random.default_rng(0)
    fam = make_family("rotation", ("q1", "q2", "p1", "p2"), num_positions=2)
    rows = rng.standard_normal((300, 8))
    disc = lie_algebra(_Identity(), fam, rows, bootstrap=0)
    assert disc.count == 1 and str(disc.laws[0].expr) in ("q1*p2 - q2*p1", "-p1*q2 + p2*q1")
    dirs = disc.details["directions"]
    assert len(dirs) == disc.details["symmetry_directions"] == 4
    assert sum(d["kind"] == "non-canonical" for d in dirs) == 3
    assert any(d["description"].startswith("a scaling") for d in dirs)
    assert "not canonical" in disc.message


def test_describe_directions_names_rotation_and_scaling():
    r = np.array([[0.0, -1.0], [1.0, 0.0]])
    z = np.zeros((2, 2))
    rot = np.block([[r, z], [z, r]])
    out = describe_directions([rot, np.eye(4)])
    kinds = sorted(d["kind"] for d in out)
    assert kinds == ["canonical", "non-canonical"]
    assert [d["description"] for d in out if d["kind"] == "non-canonical"][0].startswith("a scaling")


def test_principal_angles_and_the_one_verdict():
    from physlaw.symmetry._pipeline import _all_verdict, principal_angles

    rng = np.random.default_rng(1)
    a = rng.standard_normal((200, 2))
    mixed = a @ np.array([[1.0, 2.0], [0.5, -1.0]])  # the same span, another basis
    assert np.allclose(principal_angles(a, mixed), 0, atol=1e-6)
    b = np.column_stack([a[:, 0], rng.standard_normal(200)])
    ang = principal_angles(a, b)
    assert ang[0] < 1e-6 and ang[1] > 30  # one shared direction, one not
    agree = [{"routes": ["lie", "library"], "counts": [2, 2], "angles_degrees": [0.0, 0.1], "shared": 2}]
    assert _all_verdict({"lie": 2, "library": 2}, 2, agree, {}).startswith("All 2 routes agree on 2 laws")
    assert "differ" in _all_verdict({"lie": 1, "library": 2}, 1, agree, {})
    assert "No route finds" in _all_verdict({"lie": 0, "library": 0}, 0, [], {"hnn": "needs momenta"})
