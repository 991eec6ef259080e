"""Spectral deconvolution: the O(n) cache, priors, and model selection on the Nagata 2012 problem.

The statistical checks use the runs' own error bars; the noise estimate is compared with the truth
and with the realised noise of the draw.
"""

import math

import jax
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from physlaw.errors import InputError
from physlaw.io.priors import load_prior_toml
from physlaw.measure import spectrum as sp
from physlaw.measure.selection import deconvolve
from physlaw.priors import JointPrior
from physlaw.sampling import flatten_target
from physlaw.sampling._target import check_prior

SMALL = dict(num_samples=600, num_burnin=600, num_replicas=16, num_chains=2, progress=False)


@pytest.mark.parametrize("shape,background", [("gauss", "none"), ("lorentz", "linear"), ("voigt", "exponential"),
                                              ("voigt", "constant"), ("doniach", "shirley")])
def test_incremental_cache_equals_full_likelihood(shape, background):
    x, y, s = sp.nagata_data(0)
    t = sp.spectrum_target(x, y + 0.2, s, 3, shape=shape, background=background, priors="auto")
    p = t.sample_prior_fn(jax.random.key(3))
    theta, unravel = ravel_pytree(p)
    cache = t.incremental.init_fn(theta, t.data)
    for j in range(theta.size):
        theta = theta.at[j].add(0.05 * (j + 1))
        cache = t.incremental.select_fn(True, t.incremental.update_fn(theta, j, cache, t.data), cache, j)
    full = t.log_likelihood_fn(unravel(theta), t.data)
    assert math.isclose(float(t.incremental.value_fn(cache, t.data)), float(full), rel_tol=1e-10, abs_tol=1e-8)


def test_auto_priors_are_the_reference_ones_in_units_of_the_data():
    """Rescaling x by s and y by A changes log p(D) by exactly −n log A (the Jacobian), priors following."""
    x, y, s = sp.nagata_data(0)
    t0 = sp.spectrum_target(x, y, s, 2, priors="nagata")
    scale_x, scale_y = 7.0, 30.0
    tr = sp.Transform(0.0, scale_x, 0.0, scale_y)
    t1 = sp.spectrum_target(scale_x * x, scale_y * y, scale_y * s, 2, priors=tr)
    p = t0.sample_prior_fn(jax.random.key(0))
    l0, l1 = float(t0.log_likelihood_fn(p, t0.data)), float(t1.log_likelihood_fn(p, t1.data))
    assert math.isclose(l1, l0 - x.size * math.log(scale_y), rel_tol=1e-12)
    assert t0.log_prior_fn.__self__ is t1.log_prior_fn.__self__, "prior object shared: compiled sampler reused"


def test_priors_are_normalised():
    for shape, bg in (("voigt", "exponential"),):
        prior = sp.spectrum_prior(2, shape, bg)
        assert isinstance(prior, JointPrior) and prior.normalised
        x, y, s = sp.nagata_data(0)
        flat = flatten_target(sp.spectrum_target(x, y, s, 2, shape=shape, background=bg), jax.random.key(0))
        res = check_prior(flat, jax.random.key(1))
        assert abs(res["log_integral"]) < 0.05 + 5 * res["log_integral_err"]


def test_prior_toml_override(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[centre]\nmean = 10.0\nsd = 2.0\n[width]\nshape = 5\nrate = 1.0\n")
    over = load_prior_toml(path)
    tr = sp.Transform(4.0, 2.0, 0.0, 1.0)
    pri = sp.normalised_priors(over, tr)
    assert pri.centre == (3.0, 1.0)           # (10 − 4)/2, 2/2
    assert pri.width == (5.0, 0.25)           # rate / sx²
    assert pri.amplitude == sp.DEFAULT_PRIORS.amplitude
    path.write_text("[asymmetry]\nlow = 0\nhigh = 0.3\n")   # unitless: taken as it is
    assert sp.normalised_priors(load_prior_toml(path), tr).asymmetry == (0.0, 0.3)
    for text, msg in (("[centre]\nmean = 1\n", "needs exactly"), ("[nope]\na = 1\n", "unknown prior"),
                      ("[width]\nshape = -1\nrate = 1\n", "positive"), ("[eta]\nlow = 1\nhigh = 0\n", "low < high"),
                      ("centre = {", "not valid TOML"), ("[asymmetry]\nlow = -2\nhigh = 0.3\n", "within -0.9 .. 0.9"),
                      ("[eta]\nlow = 0\nhigh = 1.5\n", "within 0 .. 1")):
        path.write_text(text)
        with pytest.raises(InputError, match=msg):
            load_prior_toml(path)


def test_nagata_problem_peak_number_and_noise():
    """Nagata 2012 with the noise estimated jointly: p(K ≥ 3 | D) > 0.99, σ̂ within 10 % of the truth
    (and within 4 % of the draw's realised noise), true parameters inside the K = 3 intervals."""
    x, y, sigma = sp.nagata_data(2)
    res = deconvolve(x, y, estimate_noise=True, kmax=4, priors="nagata", backgrounds="none", signs="positive", shapes="gauss",
                     key=jax.random.key(5), **SMALL)
    assert res.probability_at_least(3) > 0.99
    assert res.peak_number_probabilities()[1] < 1e-10
    assert res.best.info["num_peaks"] in (3, 4)
    realised = np.sqrt(np.mean((y - sp.gaussian_peaks(x, *map(np.array, (sp.NAGATA_2012[k] for k in "a mu b".split())))) ** 2))
    assert abs(res.noise_sigma / sigma - 1) < 0.10
    assert abs(res.noise_sigma / realised - 1) < 0.04
    assert all(f.noise is not None for f in res.fits)
    summ = res.parameter_summaries("K3-gauss-none")
    for k in range(3):
        peak = summ[f"peak {k + 1}"]
        lo, hi = peak["centre"]["interval_95"]
        assert lo < sp.NAGATA_2012["mu"][k] < hi
        fwhm = 2 * math.sqrt(2 * math.log(2) / sp.NAGATA_2012["b"][k])
        assert peak["fwhm"]["interval_95"][0] < fwhm < peak["fwhm"]["interval_95"][1]
    pred = res.predictive(name="K3-gauss-none", num_draws=100)
    assert pred["components"].shape == (3, pred["x"].size)
    assert np.all(pred["mean_95"][0] <= pred["median"] + 1e-12) and np.all(pred["median"] <= pred["mean_95"][1] + 1e-12)
    width = np.mean(pred["predictive_95"][1] - pred["predictive_95"][0])
    assert abs(width / (2 * 1.96 * res.noise_sigma) - 1) < 0.15


@pytest.mark.slow
def test_decisive_peak_number_with_separated_peaks_and_background():
    """Two well-separated Lorentzian peaks on a linear background: K = 2 wins, decisively over K = 1
    (fewer peaks than the truth); a negative control (one peak) selects K = 1."""
    rng = np.random.default_rng(11)
    x = np.linspace(0, 10, 200)
    two = sp.peak_shape(x, 3.0, 8.0, 0, "lorentz", np) + 0.7 * sp.peak_shape(x, 7.0, 8.0, 0, "lorentz", np)
    base = 0.5 + 0.03 * x
    for truth, y in ((2, base + two + rng.normal(0, 0.04, x.size)),
                     (1, base + sp.peak_shape(x, 3.0, 8.0, 0, "lorentz", np) + rng.normal(0, 0.04, x.size))):
        res = deconvolve(x, y, sigma=0.04, kmax=3, shapes=("lorentz",), backgrounds=("linear",), signs="positive",
                         key=jax.random.key(truth), **SMALL)
        f = {fit.info["num_peaks"]: (fit.free_energy, fit.free_energy_err) for fit in res.fits}
        assert res.best.info["num_peaks"] == truth
        assert res.peak_number_probabilities()[truth] > 0.5
        for other, (fo, eo) in f.items():
            if other < truth:
                assert fo - f[truth][0] > 20 + 4 * math.hypot(eo, f[truth][1])


def test_diagnostics_use_peaks_ordered_by_centre():
    """Label switching is not chain disagreement: R-hat is computed on peaks sorted by centre."""
    import jax.numpy as jnp

    from physlaw.measure.spectrum import order_by_centre

    swapped = {"mu": jnp.array([2.0, 1.0]), "log_a": jnp.array([0.5, -0.5]), "log_b": jnp.array([1.0, 2.0]),
               "bg_c": jnp.array(0.3)}
    ordered = order_by_centre(swapped)
    assert list(ordered["mu"]) == [1.0, 2.0]
    assert list(ordered["log_a"]) == [-0.5, 0.5] and list(ordered["log_b"]) == [2.0, 1.0]
    assert float(ordered["bg_c"]) == 0.3
    x, y, s = sp.nagata_data(0)
    assert sp.spectrum_target(x, y, s, 2).relabel_fn is order_by_centre


def test_components_outside_the_window_are_named():
    """A component centred beyond the measured range (the real C 1s: one at 305.6 eV of 266-301.5) is
    reported in words; components inside give no warning (negative control). x may decrease (XPS)."""
    from physlaw.measure.selection import outside_window

    x = np.linspace(301.5, 266.0, 71)
    assert outside_window([284.6, 286.2, 288.6], x) == ""
    msg = outside_window([284.6, 286.2, 305.6], x)
    assert msg.startswith("1 of the 3 components") and "305.6" in msg and "266 .. 301.5" in msg
    assert "2 of the 2" in outside_window([250.0, 310.0], x)
