"""Calibration of the free-energy error bars over many seeds (slow: run with ``pytest -m slow``)."""

import jax
import numpy as np
import pytest

from physlaw.measure.linear import exact_linear, linear_target
from physlaw.sampling import run


@pytest.mark.slow
def test_free_energy_error_bars_are_calibrated():
    """Over 24 seeds the standardised errors z = (F − F_exact)/err must look like N(0, ≤1):
    at least 80 % inside ±2 (95 % nominal) and an RMS of z between 0.4 and 1.5."""
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 30)
    y = 2 * x + 0.5 + rng.normal(0, 0.1, x.size)
    exact = exact_linear(x, y, 0.1, "ax+b").free_energy
    z = []
    for seed in range(24):
        res = run(jax.random.key(100 + seed), linear_target(x, y, 0.1, "ax+b"), num_samples=4000,
                  num_replicas=32, progress=False)
        z.append((res.free_energy.free_energy - exact) / res.free_energy.free_energy_err)
    z = np.array(z)
    assert np.mean(np.abs(z) <= 2) >= 0.8, z
    assert 0.4 <= np.sqrt(np.mean(z**2)) <= 1.5, z
