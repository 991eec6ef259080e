"""Data integration: shared peak centres across two spectra (mission.md A.5).

Two simulated spectra with the same centre: the joint posterior narrows the shared centre's 68 %
interval compared with either dataset alone, and the shared model wins (ΔF = F_joint − Σ F_m < 0).
Two spectra with different centres: flagged inconsistent, ΔF > 0 by more than its error.
"""

import math

import jax
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from physlaw.errors import InputError
from physlaw.measure import integration as ig

SMALL = dict(num_samples=600, num_burnin=600, num_replicas=16, num_chains=2, progress=False)


def spectrum(mu, seed, a=1.0, b=60.0, sigma=0.05, n=101):
    x = np.linspace(0.0, 3.0, n)
    return x, a * np.exp(-0.5 * b * (x - mu) ** 2) + np.random.default_rng(seed).normal(0.0, sigma, n)


def width(summary):
    lo, hi = summary["interval_68"]
    return hi - lo


def test_joint_incremental_cache_equals_full_likelihood_and_prior_shapes():
    ds = [spectrum(1.4, 1), spectrum(1.4, 2, a=0.7, n=80)]
    t = ig.joint_target(ds, [0.05, 0.07], 2, ("mu",), shape="voigt", background="linear")
    p = t.sample_prior_fn(jax.random.key(3))
    assert p["mu"].shape == (2,) and p["log_a"].shape == (2, 2) and p["bg_c"].shape == (2,)
    theta, unravel = ravel_pytree(p)
    cache = t.incremental.init_fn(theta, t.data)
    for j in range(theta.size):
        theta = theta.at[j].add(0.03 * (j + 1))
        cache = t.incremental.select_fn(True, t.incremental.update_fn(theta, j, cache, t.data), cache, j)
    full = float(t.log_likelihood_fn(unravel(theta), t.data))
    assert math.isclose(float(t.incremental.value_fn(cache, t.data)), full, rel_tol=1e-6)
    assert t.prior_normalised


def test_share_names_are_checked():
    with pytest.raises(InputError, match="cannot share centre.*log_a, log_b, mu"):
        ig.check_share("centre")
    with pytest.raises(InputError, match="at least two datasets"):
        ig.integrate([spectrum(1.4, 1)], "mu", sigma=[0.05], key=jax.random.key(0))
    with pytest.raises(InputError, match="one noise level per dataset"):
        ig.integrate([spectrum(1.4, 1), spectrum(1.4, 2)], "mu", sigma=[0.05], key=jax.random.key(0))


def test_same_centres_integration_narrows_and_is_preferred():
    ds = [spectrum(1.4, 1), spectrum(1.4, 2, a=0.7)]
    res = ig.integrate(ds, ("mu",), sigma=[0.05, 0.05], kmax=1, key=jax.random.key(0), **SMALL)
    joint = res.parameter_summaries()
    alone = res.parameter_summaries(joint=False)
    w_joint = width(joint["dataset 1 / peak 1"]["centre"])
    assert w_joint == pytest.approx(width(joint["dataset 2 / peak 1"]["centre"]))  # one shared centre
    for m in (1, 2):
        assert w_joint < 0.9 * width(alone[f"dataset {m} / peak 1"]["centre"])
        assert joint[f"dataset {m} / peak 1"]["centre"]["interval_95"][0] < 1.4 < \
            joint[f"dataset {m} / peak 1"]["centre"]["interval_95"][1]
    c = res.consistency()
    assert c["verdict"] == "consistent"
    assert c["delta_free_energy"] < -3 * c["delta_free_energy_err"], c
    assert c["probability_shared"] > 0.9


def test_different_centres_are_flagged_inconsistent():
    ds = [spectrum(1.38, 1), spectrum(1.44, 2, a=0.7)]
    res = ig.integrate(ds, ("mu",), sigma=[0.05, 0.05], kmax=1, key=jax.random.key(1), **SMALL)
    c = res.consistency()
    assert c["verdict"] == "inconsistent"
    assert c["delta_free_energy"] > 3 * c["delta_free_energy_err"], c
    assert c["probability_shared"] < 0.01


@pytest.mark.slow
def test_noise_estimated_per_dataset_then_joint():
    ds = [spectrum(1.4, 3, sigma=0.05), spectrum(1.4, 4, a=0.7, sigma=0.1)]
    res = ig.integrate(ds, "mu", kmax=2, key=jax.random.key(2), **SMALL)
    s = res.sigmas()
    assert abs(s[0] - 0.05) < 0.01 and abs(s[1] - 0.1) < 0.02
    assert res.best.info["num_peaks"] == 1
    assert res.consistency()["verdict"] == "consistent"
