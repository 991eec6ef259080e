"""Nagata 2012 free energies against a long reference run, and the coverage of their error bars (slow).

Issue 3: "a test of F(K) against a long reference run, a coverage test over seeds". The reference is
one run with 4× the sweeps and a denser ladder (L = 48); the runs under test use the CLI's defaults.
Tolerances come from the runs' own batch-means errors. Negative control: the same coverage check
against a reference shifted by 0.5 nat (a bias the size of a typical peak-number decision) must fail,
so the check has the power to see such a bias.
"""

import math

import jax
import numpy as np
import pytest

from physlaw.measure import spectrum as sp
from physlaw.measure.selection import deconvolve

pytestmark = pytest.mark.slow

SIGMA = 0.1
DEFAULT = dict(num_samples=2000, num_burnin=1000, num_replicas=32, num_chains=4, progress=False)
REFERENCE = dict(num_samples=8000, num_burnin=2000, num_replicas=48, num_chains=4, progress=False)


def _free_energy(x, y, k, seed, cfg):
    a = deconvolve(x, y, sigma=SIGMA, kmin=k, kmax=k, priors="nagata", backgrounds="none", signs="positive", shapes="gauss",
                   key=jax.random.key(seed), **cfg)
    return a.fits[0].free_energy, a.fits[0].free_energy_err


@pytest.fixture(scope="module")
def data():
    x, y, _ = sp.nagata_data(0)
    return x, y


@pytest.fixture(scope="module")
def reference(data):
    return {k: _free_energy(*data, k, 1000, REFERENCE) for k in (2, 3)}


@pytest.mark.parametrize("k", [2, 3])
def test_free_energy_agrees_with_a_long_reference_run(data, reference, k):
    f, err = _free_energy(*data, k, 7, DEFAULT)
    f_ref, err_ref = reference[k]
    assert abs(f - f_ref) < 4 * math.hypot(err, err_ref), (f, err, f_ref, err_ref)


def test_error_bars_cover_the_seed_spread(data, reference):
    """Over 8 sampler seeds at K = 3: the reported errors are the size of the actual scatter
    (ratio of the seed sd to the median reported error within [1/3, 3]), and at least 6 of 8 runs lie
    within 2 of their own reported errors of the reference (95 % nominal; ≥ 6/8 allows for chance)."""
    f_ref, err_ref = reference[3]
    runs = [_free_energy(*data, 3, s, DEFAULT) for s in range(8)]
    f = np.array([r[0] for r in runs])
    e = np.array([r[1] for r in runs])
    ratio = f.std(ddof=1) / np.median(e)
    assert 1 / 3 < ratio < 3, (f, e)
    inside = np.abs(f - f_ref) < 2 * np.hypot(e, err_ref)
    assert inside.sum() >= 6, (f, e, f_ref, err_ref)
    biased = np.abs(f - (f_ref + 0.5)) < 2 * np.hypot(e, err_ref)
    assert biased.sum() < 6
