"""The angle library (velocity monomials × first harmonics of the angles), energies measured from rest, the
conservative part of a damped pendulum with its decay rate, and drift intervals from few trajectories."""

import dataclasses

import jax
import numpy as np
import pytest
import sympy

from physlaw.dynamics import get_system, simulate
from physlaw.symmetry import FunctionLibrary, conserve, drift
from physlaw.symmetry._checks import _trend
from physlaw.symmetry._library import ground, num_angle_product_features


@pytest.fixture(scope="module", autouse=True)
def x64():
    jax.config.update("jax_enable_x64", True)


def _trajectories(name, seed, n, **kw):
    ds = simulate(name, jax.random.key(seed), num_trajectories=n, **kw)
    return dataclasses.replace(ds, dq=None, dp=None)  # trajectories only, as a user's file


def _true_rate(name, n=400, **kw):
    """Population mean of the per-trajectory slope of ln E (E from the simulator, zero at rest), with its error."""
    ds = simulate(name, jax.random.key(999), num_trajectories=n, **kw)
    params = {k: v for k, v in kw.items() if k not in ("num_times", "dt")}
    rates = _trend(np.asarray(get_system(name, **params).energy(ds.x)), ds.t)[0]
    return float(rates.mean()), float(rates.std() / np.sqrt(n))


def test_angle_library_holds_the_double_pendulum_energy():
    lib = FunctionLibrary(["t1", "t2", "w1", "w2"], angle_products=True)
    assert lib.num_features == num_angle_product_features(2, 2, 2) == 53 and lib.angles
    assert {"w1*w2*cos(t1 - t2)", "cos(t1)", "w2**2*sin(t1 + t2)"} <= set(lib.names)
    t1, t2, w1, w2 = lib.symbols
    energy = w1**2 + w2**2 / 2 + w1 * w2 * sympy.cos(t1 - t2) - 2 * 9.81 * sympy.cos(t1) - 9.81 * sympy.cos(t2)
    assert lib.coefficients(energy)[1] < 1e-10
    # negative control: the canonical double pendulum's kinetic energy (a 1/(1 + sin²) factor) is not in it
    assert lib.coefficients(w1**2 / (1 + sympy.sin(t1 - t2) ** 2))[1] > 1e-3


def test_ground_measures_an_energy_from_rest_and_refuses_functions_of_angles_only():
    lib = FunctionLibrary(["th", "w"], angle_products=True)
    th, w = lib.symbols
    x = np.random.default_rng(0).uniform([-1, -2], [1, 2], (200, 2))
    expr, sign, level = ground(-(w**2 / 2 - 3 * sympy.cos(th)), lib, x)
    assert sign == -1 and level == pytest.approx(3.0, abs=1e-6)  # -E is bounded above: rest at G = 3
    assert float(expr.subs({th: 0, w: 0})) == pytest.approx(0.0, abs=1e-6)
    assert ground(sympy.cos(th), lib, x) is None  # bounded both ways: no energy-like reading
    assert ground(w**3 + sympy.cos(th), lib, x) is None  # unbounded either way


def test_damped_pendulum_energy_and_its_decay_rate_cover_the_truth():
    ds = _trajectories("damped-pendulum", 1, 32, zeta=0.05)
    res = conserve(ds, method="library", key=jax.random.key(0), angle_products=True)
    d = res.discovery
    assert d.count == 0  # friction: no exact law
    approx = d.details["approximate_law"]
    q, p = sympy.symbols("q1 p1")
    g = sympy.sympify(approx["expression"], locals={"q1": q, "p1": p})  # our own output, for the comparison
    energy = p**2 / 2 + 1 - sympy.cos(q)
    c, res_ = res.library.coefficients(g)
    c0, _ = res.library.coefficients(energy)
    assert res_ < 1e-6 and abs(c @ c0) / np.linalg.norm(c) / np.linalg.norm(c0) > 0.999
    assert float(g.subs({q: 0, p: 0})) == pytest.approx(0.0, abs=1e-3)  # measured from rest
    # dE/dt = -2 zeta omega p^2 with E = p^2/2 + ...: dissipation / (p^2 coefficient of G) = -2 zeta omega / (1/2)
    dis = d.arrays["dissipation_expr"].xreplace({s: {"p1": p, "q1": q}[s.name] for s in d.arrays["dissipation_expr"].free_symbols})
    ratio = float(dis.coeff(p, 2)) / float(g.expand().coeff(p, 2).subs(sympy.cos(q), 0))
    assert ratio == pytest.approx(-0.2, rel=0.02) and approx["dissipation"].startswith("dG/dt = ")
    rate = approx["drift"]
    truth, err = _true_rate("damped-pendulum", zeta=0.05)
    lo, hi = rate["interval"]
    assert rate["verdict"] == "approximately conserved" and rate["balance"] < 0.01
    assert lo - 3 * err <= truth <= hi + 3 * err, (truth, rate)
    assert hi - lo < 0.2 * abs(truth)  # informative: a few per cent of the rate


def test_undamped_pendulum_negative_control_gives_a_conserved_energy():
    ds = _trajectories("damped-pendulum", 2, 32, zeta=0.0)
    d = conserve(ds, method="library", key=jax.random.key(0), angle_products=True).discovery
    assert d.count == 1
    law = d.laws[0]
    assert law.drift.verdict == "conserved" and law.drift.low <= 0.0 <= law.drift.high
    assert "1" in law.coefficients  # the constant that puts rest at zero


def test_time_shuffled_pendulum_gives_no_law():
    ds = _trajectories("damped-pendulum", 3, 32, zeta=0.05)
    rng = np.random.default_rng(0)
    flat = ds.x.reshape(-1, 2)[rng.permutation(ds.x.shape[0] * ds.x.shape[1])].reshape(ds.x.shape)
    shuffled = dataclasses.replace(ds, q=flat[..., :1], p=flat[..., 1:])
    d = conserve(shuffled, method="library", key=jax.random.key(0), angle_products=True).discovery
    assert d.count == 0
    approx = d.details.get("approximate_law")
    assert approx is None or approx["drift"]["verdict"] == "not conserved"


def test_double_pendulum_energy_in_angles_and_angular_velocities():
    ds = _trajectories("damped-double-pendulum", 4, 16, b=0.0, num_times=200)
    res = conserve(ds, method="library", key=jax.random.key(0), angle_products=True)
    d = res.discovery
    assert d.count == 1 and d.laws[0].drift.verdict == "conserved"
    q1, q2, p1, p2 = res.library.symbols
    energy = p1**2 + p2**2 / 2 + p1 * p2 * sympy.cos(q1 - q2) - 2 * 9.81 * sympy.cos(q1) - 9.81 * sympy.cos(q2)
    c, _ = res.library.coefficients(d.laws[0].sympy())
    c0, _ = res.library.coefficients(energy)
    assert abs(c @ c0) / np.linalg.norm(c) / np.linalg.norm(c0) > 0.999


def test_few_trajectories_get_an_interval_from_blocks():
    rng = np.random.default_rng(1)
    t = np.broadcast_to(np.linspace(0, 8, 800), (2, 800))
    wiggle = 0.02 * np.sin(7.0 * t + rng.uniform(0, 6, (2, 1)))  # a law's state-dependent error
    covered = 0
    for k in range(20):
        noise = 0.005 * np.random.default_rng(k).standard_normal((2, 800))
        d = drift(np.exp(-0.03 * t) * (1 + wiggle + noise), t, scale=1.0)
        covered += d.low <= -0.03 <= d.high
        assert d.num_blocks == 8 and d.num_trajectories == 2
    assert covered >= 16  # 95 % intervals: at least 16 of 20 (binomial, p > 0.99)
    flat = 1 + 0.01 * np.random.default_rng(5).standard_normal((2, 800))
    d = drift(flat, t, scale=1.0)
    assert d.low <= 0.0 <= d.high and d.verdict == "conserved"  # negative control
