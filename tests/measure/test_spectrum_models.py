"""The spectrum model family: components, backgrounds, likelihoods, signs, the K scan and count detection."""

from __future__ import annotations

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from physlaw.measure import spectrum as sp
from physlaw.measure.selection import Candidate, count_scale, scan
from physlaw.priors import JointPrior, Normal
from physlaw.sampling import Target

COMBOS = [
    ("peak", "shirley", "poisson", "negative"),
    ("spin-orbit-p", "poly2", "gaussian", "positive"),
    ("sextet", "linear", "poisson", "negative"),
    ("doublet", "exponential", "gaussian", "positive"),
]


@pytest.mark.parametrize("component,background,likelihood,sign", COMBOS)
def test_incremental_update_equals_full_likelihood(component, background, likelihood, sign):
    """The O(n) cached update gives the same ℓ as a full evaluation after every one-parameter move."""
    rng = np.random.default_rng(0)
    x = np.linspace(-8, 8, 120)[::-1]  # decreasing, as binding energies are written
    y = rng.poisson(50 + 20 * np.exp(-(x - 1) ** 2)).astype(float)
    t = sp.spectrum_target(x, y, None if likelihood == "poisson" else 1.0, 2, shape="voigt", background=background,
                           priors="auto", component=component, likelihood=likelihood, sign=sign)
    theta, unravel = jax.flatten_util.ravel_pytree(t.sample_prior_fn(jax.random.key(1)))
    inc = t.incremental
    cache = jax.jit(inc.init_fn)(theta, t.data)
    moved = jax.jit(lambda th, j: inc.value_fn(inc.update_fn(th, j, cache, t.data), t.data))
    full = jax.jit(lambda th: t.log_likelihood_fn(unravel(th), t.data))
    for j in range(theta.size):
        th = theta.at[j].add(0.01)
        np.testing.assert_allclose(moved(th, j), full(th), rtol=1e-9, atol=1e-6)


def test_poisson_likelihood_is_the_exact_pmf():
    """ℓ equals Σ log Poisson(y_i | μ_i) with μ the model curve in counts (normalisation included)."""
    rng = np.random.default_rng(1)
    x = np.linspace(0, 10, 80)
    y = rng.poisson(30 + 50 * np.exp(-0.5 * (x - 4) ** 2)).astype(float)
    t = sp.spectrum_target(x, y, None, 1, background="constant", priors="auto", likelihood="poisson")
    params = t.sample_prior_fn(jax.random.key(3))
    tr = sp.Transform.from_data(x, y, "constant")
    phys = sp.physical_samples({k: np.asarray(v)[None] for k, v in params.items()}, tr, "gauss", "constant")
    comps, bg = sp.model_curves(phys, x, "gauss", "constant", tr)
    mu = np.maximum(comps.sum(1)[0] + bg[0], 1e-6)
    np.testing.assert_allclose(float(t.log_likelihood_fn(params, t.data)), stats.poisson.logpmf(y, mu).sum(),
                               rtol=1e-9)


def test_count_scale_detects_counts_and_scaled_counts_only():
    rng = np.random.default_rng(2)
    counts = rng.poisson(300, 400).astype(float)
    assert count_scale(counts) == 1.0
    scaled = np.round(counts * 1.04271, 4)  # a transmission correction written with 4 decimals
    assert abs(count_scale(scaled) - 1.04271) < 1e-4
    # negative controls: continuous data, and values that merely have two printed decimals
    assert count_scale(rng.normal(5, 1, 300)) is None
    assert count_scale(np.round(rng.normal(50, 1, 300), 2)) is None
    assert count_scale(-counts) is None


def test_sextet_lines_of_alpha_iron():
    """At 33 T the outer lines of ⁵⁷Fe lie 10.62 mm/s apart (α-Fe calibration: 10.62–10.66) with 3:2:1 areas."""
    spread = 33.0 * (sp.SEXTET_PER_TESLA[-1] - sp.SEXTET_PER_TESLA[0])
    assert 10.55 < spread < 10.70
    p = {"mu": jnp.array([0.0]), "field": jnp.array([33.0]), "qshift": jnp.array([0.0]), "xratio": jnp.array([2.0])}
    off, w = sp.component_lines(p, "sextet", 1.0)
    np.testing.assert_allclose(np.asarray(w[0]) * 3, [3, 2, 1, 1, 2, 3])
    np.testing.assert_allclose(np.asarray(off[0]), 33.0 * sp.SEXTET_PER_TESLA)


def test_shirley_step_rises_with_the_integrated_peak():
    x = np.linspace(280, 295, 301)[::-1]
    tr = sp.Transform.from_data(x, np.ones_like(x), "shirley")
    data = sp.spectrum_data(x, np.ones_like(x), 1.0, tr)
    peak = np.exp(-0.5 * ((x - 285) / 0.8) ** 2)
    step = np.asarray(sp.shirley_step(jnp.asarray(peak), data))
    order = np.argsort(x)
    assert np.all(np.diff(step[order]) >= -1e-12)
    assert step[np.argmin(x)] == pytest.approx(0.0, abs=1e-9) and step[np.argmax(x)] == pytest.approx(1.0)
    assert step[np.argmin(abs(x - 285))] == pytest.approx(0.5, abs=0.02)


def _poly_candidates(x, y, sigma):
    """Polynomials of degree k − 1 (K coefficients) with Normal(0, 10²) priors: exact-ish cheap models."""
    def make(k):
        prior = JointPrior({"c": Normal(0.0, 10.0, shape=(k,))})
        phi = jnp.stack([jnp.asarray(x) ** j for j in range(k)], 1)

        def loglik(p, d):
            r = (d[1] - phi @ p["c"]) / sigma
            return -0.5 * jnp.sum(r * r) - d[0].size * np.log(np.sqrt(2 * np.pi) * sigma)

        return [Candidate(f"poly{k - 1}", {"family": "poly"},
                          lambda s: Target.from_prior(prior, loglik, data=(jnp.asarray(x), jnp.asarray(y))),
                          needs_noise=False)]
    return make


@pytest.fixture(scope="module")
def quadratic():
    x = np.linspace(-1, 1, 40)
    y = 1.0 + 0.5 * x - 2.0 * x**2 + np.random.default_rng(4).normal(0, 0.1, x.size)
    return x, y


def test_scan_stops_after_the_minimum_and_selects_it(quadratic):
    x, y = quadratic
    sel = scan(_poly_candidates(x, y, 0.1), num_points=x.size, key=jax.random.key(0), num_samples=300,
               num_replicas=12, num_chains=2, limit=7)
    ks = [f.info["K"] for f in sel.fits]
    assert sel.best.info["K"] == 3                      # the quadratic: 3 coefficients
    assert ks == list(range(1, max(ks) + 1)) and max(ks) <= 6   # stopped two or three K after the minimum
    assert not any("lower bound" in w for w in sel.warnings)


def test_scan_at_its_limit_says_so(quadratic):
    """Negative control: a limit below the truth is flagged in words, not reported as an answer."""
    x, y = quadratic
    sel = scan(_poly_candidates(x, y, 0.1), num_points=x.size, key=jax.random.key(0), num_samples=300,
               num_replicas=12, num_chains=2, limit=2)
    assert sel.best.info["K"] == 2
    assert any("lower bound" in w for w in sel.warnings)
