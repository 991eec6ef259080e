"""The asymmetric Doniach–Šunjić pseudo-Voigt line (``shape="doniach"``): the line itself against the
textbook formula, and its selection on counts against the symmetric pseudo-Voigt.

The selection tests are statistical: the asymmetry's posterior interval must cover the true value and,
for a symmetric line (the negative control), cover zero and exclude the asymmetric truth.
"""

import math

import jax
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from physlaw.measure import spectrum as sp
from physlaw.measure.selection import auto_shapes, deconvolve

SMALL = dict(num_samples=600, num_burnin=600, num_replicas=16, num_chains=2, progress=False)


def _textbook(t, gamma, alpha):
    """Doniach & Šunjić (1970): cos(πα/2 + (1 − α) arctan(t/γ)) / (γ² + t²)^((1 − α)/2), tail at t < 0."""
    return np.cos(0.5 * np.pi * alpha + (1 - alpha) * np.arctan(t / gamma)) / (gamma**2 + t**2) ** ((1 - alpha) / 2)


@pytest.mark.parametrize("alpha", [0.05, 0.2, 0.35])
def test_line_is_the_textbook_one_with_its_maximum_at_the_centre(alpha):
    gamma = 0.7
    # the maximum of the textbook line found numerically (not from the closed form the code uses)
    t_max = minimize_scalar(lambda t: -_textbook(t, gamma, alpha), bounds=(-5, 5), method="bounded",
                            options={"xatol": 1e-12}).x
    d = np.linspace(-6, 6, 1201)
    ours = sp.doniach_sunjic(d, gamma, alpha, np)
    # α > 0: the tail is towards +x, i.e. the textbook line mirrored about its maximum
    expected = _textbook(t_max - d, gamma, alpha) / _textbook(t_max, gamma, alpha)
    np.testing.assert_allclose(ours, expected, rtol=1e-7, atol=1e-12)
    assert ours.max() == pytest.approx(1.0) and d[np.argmax(ours)] == pytest.approx(0.0)
    # α < 0 is the mirror image; α = 0 the Lorentzian of half width γ
    np.testing.assert_allclose(sp.doniach_sunjic(-d, gamma, -alpha, np), ours, rtol=1e-12)
    np.testing.assert_allclose(sp.doniach_sunjic(d, gamma, 0.0, np), 1 / (1 + (d / gamma) ** 2), rtol=1e-12)
    assert ours[-1] > 2 * ours[0]     # the tail side carries more intensity far out


def _line(x, alpha, rng):
    """Poisson counts of one line (height 3000 on a level of 400) of asymmetry α on a 0.05-wide grid."""
    b = 8 * math.log(2) / 1.2**2   # FWHM 1.2
    mean = 400 + 3000 * sp.peak_shape(x, 285.0, b, 0.6, "doniach", np, alpha)
    return rng.poisson(mean).astype(float)


def test_auto_shapes_add_the_asymmetric_line_on_counts_only():
    assert auto_shapes(("peak",), "poisson") == ("voigt", "doniach")
    assert auto_shapes(("peak",), "gaussian") == ("voigt",)
    assert auto_shapes(("sextet",), "poisson") == ("lorentz",)


@pytest.mark.parametrize("alpha,symmetric", [(0.2, False), (0.0, True)])
def test_counts_of_an_asymmetric_line_select_it_and_a_symmetric_one_does_not(alpha, symmetric):
    """One Doniach–Šunjić line (α = 0.2): the doniach model beats the symmetric Voigt by a margin beyond
    both F errors, and α's 95 % interval covers 0.2. Negative control: a symmetric line (α = 0) gives an
    α interval that covers 0 and excludes 0.2, and the asymmetric model does not win by such a margin."""
    x = np.arange(278.0, 292.0, 0.05)
    y = _line(x, alpha, np.random.default_rng(7))
    res = deconvolve(x, y, kmax=1, backgrounds=("constant",), signs="positive", key=jax.random.key(3), **SMALL)
    assert res.likelihood == "poisson"
    f = {fit.info["shape"]: fit for fit in res.fits}
    assert set(f) == {"voigt", "doniach"}
    gap = f["voigt"].free_energy - f["doniach"].free_energy
    err = math.hypot(f["voigt"].free_energy_err, f["doniach"].free_energy_err)
    a = res.physical("K1-doniach-constant")["asymmetry"][:, 0]
    lo, hi = np.quantile(a, [0.025, 0.975])
    if symmetric:
        assert lo < 0.0 < hi and hi < 0.2
        assert gap < 4 * err + 3.0          # no decisive preference for a tail that is not there
    else:
        assert lo < alpha < hi
        assert gap > 10 + 4 * err           # the tail is decisive
        assert res.selected == "K1-doniach-constant"
        centre = np.median(res.physical()["centre"][:, 0])
        assert abs(centre - 285.0) < 0.05   # the centre is the line's maximum
