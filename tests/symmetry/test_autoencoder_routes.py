"""The direct Lie route and Mototake's group method against exact answers.

An exact "autoencoder" — a first-order projection onto a known surface S(x) = 1,
f(x) = x − (S(x) − 1) ∇S / |∇S|² (the identity on the surface, the orthogonal projection to first
order) — makes the true symmetry algebra known: the sphere's is so(3) (3 generators in gl(3)); the
surface x1² + x2² + x3⁴ = 1 keeps only the rotation about x3 (1). That surface is also the negative
control: the sphere's answer must fail there. One slow test runs the whole route with a trained autoencoder on Kepler data.
"""

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.symmetry import fit_relations, group_laws, lie_algebra, make_family, sample_group, subspace_similarity

X3 = ("x1", "x2", "x3")


def _sphere(x):
    return jnp.sum(x**2)


def _quartic(x):
    return x[0] ** 2 + x[1] ** 2 + x[2] ** 4


class SurfaceProjection(eqx.Module):
    """``f(x) = x − (S(x) − 1) ∇S / |∇S|²``."""

    surface: object = eqx.field(static=True)

    def __call__(self, x):
        g = jax.grad(self.surface)(x)
        return x - (self.surface(x) - 1.0) * g / jnp.sum(g**2)


def _points(surface, num=400, seed=0):
    """Points on ``S(x) = 1`` along random directions (S(λv) = 1 solved for λ)."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(num, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    if surface is _sphere:
        return v
    r2, z4 = v[:, 0] ** 2 + v[:, 1] ** 2, v[:, 2] ** 4
    lam2 = (-r2 + np.sqrt(r2**2 + 4 * z4)) / (2 * z4)
    return v * np.sqrt(lam2)[:, None]


def _so3_basis():
    out = []
    for i, j in ((0, 1), (0, 2), (1, 2)):
        k = np.zeros((3, 4))
        k[i, j], k[j, i] = -1.0, 1.0
        out.append(k.ravel())
    return np.array(out)


def test_lie_route_finds_so3_on_the_sphere():
    sphere = SurfaceProjection(_sphere)
    fam = make_family("gl", X3, num_positions=3)
    disc = lie_algebra(sphere, fam, _points(_sphere), phase_space=False)
    assert disc.count == 3 and not disc.weak and disc.gap > 1e3
    found = np.array([law.generator.ravel() for law in disc.laws])
    assert subspace_similarity(found, _so3_basis()) > 0.999


def test_lie_route_on_a_quartic_surface_keeps_only_the_axial_rotation():
    """Negative control for the test above: the same check with so(3) must fail here."""
    fam = make_family("gl", X3, num_positions=3)
    disc = lie_algebra(SurfaceProjection(_quartic), fam, _points(_quartic), phase_space=False)
    assert disc.count == 1
    found = np.array([law.generator.ravel() for law in disc.laws])
    assert subspace_similarity(found, _so3_basis()) < 0.5
    assert subspace_similarity(found, _so3_basis()[:1]) > 0.999


def test_group_method_on_the_sphere_gives_the_circle_relations_and_the_rotation():
    sphere = SurfaceProjection(_sphere)
    fam = make_family("rotation", X3, num_positions=3)  # the seed's 2×2 block on (x1, x2)
    group = sample_group(sphere, fam, _points(_sphere, num=256), key=jax.random.key(0),
                         num_samples=1000, num_burnin=500, num_levels=24, progress=False)
    assert group.chosen is not None and group.dimension == 1
    fit = fit_relations(group.chosen_samples, fam)
    assert fit.dimension == 1
    gen = fit.generators[0][:2, :2]
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    cos = abs(np.sum(gen * rot)) / (np.linalg.norm(gen) * np.linalg.norm(rot))
    assert cos > 0.99
    # each relation holds on the sampled maps to within their own thickness
    laws = group_laws(fit, fam, phase_space=False)
    assert len(laws) == fam.num_params - 1
    for rel in fit.relations:
        assert np.sqrt(rel.rss / fit.num_used) < 0.05


def test_group_route_details_carry_the_sampler_diagnostics():
    """The group route's summary block "sampler" holds the exchange run's swap rates and round trips."""
    from physlaw.dynamics import simulate
    from physlaw.symmetry import conserve

    ds = simulate("sphere", jax.random.key(0), num_trajectories=256)
    res = conserve(ds, method="group", family="rotation", key=jax.random.key(3), model=SurfaceProjection(_sphere),
                   num_samples=500, num_burnin=300, num_levels=16)
    sampler = res.discovery.details["sampler"]
    rates = sampler["swap_rate_per_pair"]
    assert len(rates) == 16 and all(0.0 <= r <= 1.0 for r in rates) and max(rates) > 0.1  # prior rung + 16 levels
    assert len(sampler["round_trips_per_chain"]) == 2 and sampler["round_trip_rate"] >= 0.0
    assert len(sampler["acceptance_per_replica"]) == 17 and sampler["num_samples"] == 500
    json.dumps(sampler)  # ready for summary.json


@pytest.mark.slow
def test_kepler_group_and_lie_routes_with_a_trained_autoencoder():
    from physlaw.dynamics import simulate
    from physlaw.symmetry import conserve, generator_similarity

    ds = simulate("kepler", jax.random.key(0), num_trajectories=256, num_times=64, dt=0.1, energy=-0.5)
    lie = conserve(ds, method="lie", family="rotation", key=jax.random.key(1), train_steps=30000)
    assert lie.discovery.count == 1
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    truth = np.block([[rot, np.zeros((2, 2))], [np.zeros((2, 2)), rot]])
    assert generator_similarity(lie.discovery.laws[0].generator[:, :4], truth) > 0.99
    group = conserve(ds, method="group", family="rotation", key=jax.random.key(2), model=lie.model)
    assert group.discovery.count == 1
    assert generator_similarity(group.discovery.laws[0].generator[:, :4], truth) > 0.99


class FreeParticleShell(eqx.Module):
    """Exact projection onto the pair manifold of H = p²/2 at E = 1/2: p = p' = ±1, q' = q + p Δt."""

    dt: float = eqx.field(static=True)

    def __call__(self, z):
        q, p, q2, p2 = z
        s = jnp.sign(p + p2)
        u = 0.5 * (q + q2 - s * self.dt)  # the orthogonal projection onto the line (u, s, u + s Δt, s)
        return jnp.stack([u, s, u + s * self.dt, s])


def _free_particle_pairs(num=256, seed=0, dt=0.1):
    rng = np.random.default_rng(seed)
    q, p = rng.normal(size=num) * 3, rng.choice([-1.0, 1.0], size=num)
    return np.stack([q, p, q + p * dt, p], axis=1)


def test_free_particle_translation_gives_momentum_by_both_routes():
    """Mototake's result 2 with an exact autoencoder: scale a = 1 and free translation t, G = p."""
    f = FreeParticleShell(0.1)
    fam = make_family("a 0 t; 0 a 0", ("q", "p"))
    rows = _free_particle_pairs()
    lie = lie_algebra(f, fam, rows)
    assert lie.count == 1 and lie.laws[0].expression == "p"
    group = sample_group(f, fam, rows, key=jax.random.key(1), num_samples=1000, num_burnin=500, num_levels=24,
                         progress=False)
    fit = fit_relations(group.chosen_samples, fam)
    assert fit.dimension == 1 and fit.coordinates == ("t",)
    (law,) = group_laws(fit, fam, phase_space=True)
    assert law.expression == "p"
    # negative control: with the scale alone there is nothing to find
    assert lie_algebra(f, make_family("a 0 0; 0 a 0", ("q", "p")), rows).count == 0
