"""The noise curve's interpolant: the cubic Hermite curve SciPy's ``CubicHermiteSpline`` gives (the library
is the reference; the curve is written out in NumPy only to spare every run SciPy.interpolate's import, which
tests/cli/test_imports.py checks)."""

import numpy as np
import pytest
from scipy.interpolate import CubicHermiteSpline

from physlaw.measure.noise import _hermite


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hermite_is_scipys_cubic_hermite_spline(seed):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-9.0, 0.0, 12))
    y, slope = rng.normal(size=12), rng.normal(size=12)
    at = np.linspace(x[0], x[-1], 4001)
    reference = CubicHermiteSpline(x, y, slope)(at)
    assert np.max(np.abs(_hermite(x, y, slope, at) - reference)) < 1e-12
    assert np.allclose(_hermite(x, y, slope, x), y)          # through the nodes
    # negative control: other slopes give another curve between the nodes
    assert np.max(np.abs(_hermite(x, y, slope + 1.0, at) - reference)) > 1e-3

