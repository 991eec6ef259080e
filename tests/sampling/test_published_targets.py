"""Targets with published or closed-form evidences, and a bimodal target with known mode weights."""

import math

import jax
import jax.numpy as jnp
import pytest

from physlaw.priors import JointPrior, Uniform
from physlaw.sampling import Target, run
from physlaw.sampling import _run as run_module

from .helpers import agrees

GAUSS_PRIOR = JointPrior({"x": Uniform(-5.0, 5.0, shape=(2,))})
EGGBOX_PRIOR = JointPrior({"x": Uniform(0.0, 10 * math.pi, shape=(2,))})
BIMODAL_PRIOR = JointPrior({"x": Uniform(-10.0, 10.0)})
BIMODAL_WEIGHTS = (0.3, 0.7)
BIMODAL_CENTRES = (-4.0, 4.0)
BIMODAL_WIDTH = 0.2


def gauss_loglik(p):
    """Unnormalised 2-D standard Gaussian: log Z = log(2π / 100) = −2.7673 under U(−5, 5)²."""
    return -0.5 * jnp.sum(p["x"] ** 2)


def eggbox_loglik(p):
    """Egg-box (Feroz, Hobson & Bridges 2009): log L = (2 + cos(x/2) cos(y/2))⁵, log Z = 235.856 under
    U(0, 10π)². (The published value is for this log-likelihood; L = (2 + …)⁵ itself gives log Z ≈ 3.98.)"""
    x = p["x"]
    return (2.0 + jnp.cos(x[0] / 2) * jnp.cos(x[1] / 2)) ** 5


def bimodal_loglik(p):
    """Σ_k w_k N(x; μ_k, s²): modes of mass 0.3 and 0.7, log Z = log(1/20) under U(−10, 10)."""
    comps = [math.log(w) - 0.5 * ((p["x"] - m) / BIMODAL_WIDTH) ** 2 - math.log(BIMODAL_WIDTH * math.sqrt(2 * math.pi))
             for w, m in zip(BIMODAL_WEIGHTS, BIMODAL_CENTRES)]
    return jax.scipy.special.logsumexp(jnp.stack(comps))


@pytest.mark.parametrize(
    "prior, loglik, truth",
    [(GAUSS_PRIOR, gauss_loglik, math.log(2 * math.pi / 100)), (EGGBOX_PRIOR, eggbox_loglik, 235.856)],
    ids=["gaussian-2d", "eggbox"],
)
def test_published_evidence(prior, loglik, truth):
    res = run(jax.random.key(0), Target.from_prior(prior, loglik), num_samples=4000, num_replicas=16,
              moves="both", progress=False)
    log_z = -res.free_energy.free_energy
    assert res.free_energy.free_energy_err < 0.05
    assert agrees(log_z, res.free_energy.free_energy_err, truth), (log_z, res.free_energy.free_energy_err, truth)


def mode_weight_check(res):
    x = res.samples[..., 0]
    upper = (x > 0).astype(float)
    # standard error of the fraction from the chains (each chain an independent estimate)
    per_chain = upper.mean(axis=1)
    se = max(per_chain.std(ddof=1) / math.sqrt(per_chain.size), 0.005)
    # every chain must find both modes in the right proportion: a small spread between chains, and
    # the pooled fraction within 4 standard errors of the truth
    return abs(upper.mean() - BIMODAL_WEIGHTS[1]) <= 4 * se and se < 0.03, upper.mean(), se


def test_bimodal_mode_weights_and_evidence():
    res = run(jax.random.key(1), Target.from_prior(BIMODAL_PRIOR, bimodal_loglik), num_samples=4000,
              num_replicas=16, num_chains=8, progress=False)
    ok, frac, se = mode_weight_check(res)
    assert ok, (frac, se)
    assert agrees(-res.free_energy.free_energy, res.free_energy.free_energy_err, math.log(1 / 20))
    assert res.diagnostics.round_trip_rate > 0.01


def test_bimodal_negative_control_without_exchanges(monkeypatch):
    """With exchanges switched off each chain stays in the mode it fell into: the check must fail."""
    never = lambda b_lo, b_hi, l_lo, l_hi: jnp.full_like(l_lo, -jnp.inf)  # noqa: E731
    monkeypatch.setattr(run_module, "_LOG_RATIO_FN", never)
    res = run(jax.random.key(1), Target.from_prior(BIMODAL_PRIOR, bimodal_loglik), num_samples=4000,
              num_replicas=16, num_chains=8, progress=False)
    ok, frac, se = mode_weight_check(res)
    assert not ok, (frac, se)
