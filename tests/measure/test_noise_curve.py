"""The noise curve's interpolant: the cubic Hermite curve SciPy's ``CubicHermiteSpline`` gives (the library
is the reference; the curve is written out in NumPy only to spare every run SciPy.interpolate's import)."""

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


def test_no_scipy_interpolate_in_the_spectrum_run():
    """The noise estimate no longer imports scipy.interpolate (0.4-0.6 s of every spectrum run)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np; from physlaw.measure.noise import noise_curve; "
            "from types import SimpleNamespace as S; b = np.array([0, .01, .1, .5, 1.]); "
            "fe = S(betas=b, log_z=-np.array([0, 1, 5, 9, 10.]), mean_log_likelihood=-np.array([200, 80, 30, 12, 9.]), "
            "log_z_err=np.zeros(5)); noise_curve(fe, 0.1, 50); print('scipy.interpolate' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
