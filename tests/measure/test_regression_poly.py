"""Polynomial regression (``regress --model``): model names, exact closed forms with the data-scaled
default priors (NIST Pontius selects the quadratic), the monomial map, and one run through
``selection.select`` checked against the closed form with the run's own error."""

from pathlib import Path

import jax
import numpy as np
import pytest

from physlaw.errors import InputError
from physlaw.io.nist import read_nist
from physlaw.measure import linear
from physlaw.measure.regression import Regression, regress
from physlaw.measure.selection import Selection


def agrees(estimate, error, truth, k=4.0):
    """|estimate − truth| ≤ k × the run's own standard error (as ``tests/sampling/helpers.agrees``)."""
    assert np.isfinite(error) and error > 0
    return abs(estimate - truth) <= k * error


PONTIUS = Path(__file__).parents[1] / "fixtures" / "nist" / "Pontius.dat"


def exact_at_sigma_hat(x, y, model, prior_scale=None):
    """(F at the model's own σ̂, σ̂): the closed-form F(σ) minimised over a fine grid."""
    sig = np.geomspace(1e-5, 1e-2, 400)
    f = np.array([linear.exact_linear(x, y, s, model, prior_scale=prior_scale).free_energy for s in sig])
    return float(f.min()), float(sig[f.argmin()])


def test_model_names():
    assert linear.parse_models("all") == ("ax", "ax+b", "poly2", "poly3")
    assert linear.parse_models("poly5,ax") == ("poly5", "ax")
    assert linear.parse_models("both") == ("ax", "ax+b")
    with pytest.raises(InputError, match="unknown regression model 'poly7'"):
        linear.parse_models("poly7")


def test_monomial_map_reproduces_the_design():
    x = np.linspace(1.5e5, 3e6, 17)
    basis = linear.Basis.from_data(x)
    rng = np.random.default_rng(0)
    for model in linear.MODELS:
        w = rng.normal(size=len(linear.coefficient_names(model)))
        c = linear.monomial_map(model, basis) @ w
        direct = linear.design_matrix(x, model, basis) @ w
        assert np.allclose(np.polynomial.polynomial.polyval(x, c), direct, rtol=1e-9, atol=1e-12), model


def test_pontius_exact_selects_the_quadratic_with_default_priors():
    x, y, cert = read_nist(PONTIUS)
    f = {m: exact_at_sigma_hat(x, y, m) for m in linear.DEFAULT_MODELS}
    best = min(f, key=lambda m: f[m][0])
    assert best == "poly2"
    assert min(f[m][0] for m in f if m != "poly2") > f["poly2"][0] + 5.0   # p(poly2) > 0.99
    assert abs(f["poly2"][1] / cert["residual_sd"] - 1) < 0.05
    e = linear.exact_linear(x, y, cert["residual_sd"], "poly2", prior_scale=None)
    c = linear.monomial_map("poly2", linear.Basis.from_data(x)) @ e.mean
    for got, want, sd in zip(c, cert["parameters"].values(), cert["standard_deviations"].values()):
        assert abs(got - want) < 0.01 * sd


def test_default_priors_follow_the_data_scale():
    """Rescaling x (units) leaves every free energy unchanged; an absolute prior does not."""
    rng = np.random.default_rng(1)
    x = np.linspace(0.0, 3.0, 25)
    y = 1.0 + 0.5 * x - 0.2 * x**2 + rng.normal(0, 0.05, x.size)
    for m in linear.MODELS:
        a = linear.exact_linear(x, y, 0.05, m, prior_scale=None).free_energy
        b = linear.exact_linear(x * 1e6, y, 0.05, m, prior_scale=None).free_energy
        assert abs(a - b) < 1e-6, m
    a = linear.exact_linear(x, y, 0.05, "ax+b", prior_scale=10.0).free_energy
    b = linear.exact_linear(x * 1e3, y, 0.05, "ax+b", prior_scale=10.0).free_energy
    assert abs(a - b) > 1.0


def test_regress_goes_through_select_and_matches_the_closed_form():
    rng = np.random.default_rng(2)
    x = np.linspace(-1.0, 2.0, 30)
    y = 0.3 + 0.8 * x + 0.6 * x**2 + rng.normal(0, 0.1, x.size)
    reg = regress(x, y, models=("ax+b", "poly2"), key=jax.random.key(3), num_samples=600, num_replicas=16,
                  num_chains=4)
    assert isinstance(reg, Selection) and isinstance(reg, Regression)
    assert reg.noise_estimated and reg.selected == "poly2"
    for f in reg.fits:
        assert f.noise is not None   # σ estimated per model over the ladder
        exact = linear.exact_linear(x, y, f.noise_sigma, f.name, prior_scale=np.array(f.info["prior_scales"]))
        assert agrees(f.free_energy, f.free_energy_err, exact.free_energy, k=5.0), (f.name, f.free_energy,
                                                                                     exact.free_energy)
    s = reg.parameter_summaries()["coefficients"]
    for k, true in enumerate((0.3, 0.8, 0.6)):
        assert s[f"c{k}"]["interval_95"][0] < true < s[f"c{k}"]["interval_95"][1]
    assert reg.verdict().startswith("quadratic (poly2) selected, p = ")
    pred = reg.predictive()
    assert pred["median"].shape == pred["x"].shape and pred["components"].shape == (0, pred["x"].size)


def test_too_few_points_for_a_model():
    with pytest.raises(InputError, match="cannot fit poly3"):
        regress(np.arange(4.0), np.arange(4.0), models=("poly3",), key=jax.random.key(0))


def test_padded_standardised_target_is_the_same_model():
    """Every model of a comparison runs one compiled sampler: coefficients standardised (w = S z) and
    padded with unsampled zero columns. F and the rescaled posterior match the closed form within
    the run's own errors; the draws before ``rescale`` (z, not w) do not (negative control)."""
    from physlaw.sampling import run

    rng = np.random.default_rng(5)
    x = np.linspace(0.0, 3.0, 25)
    y = 0.5 * x + 0.2 + rng.normal(0, 0.05, x.size)
    scales = linear.prior_scales(x, y, "ax+b")
    target = linear.padded_target(x, y, 0.05, "ax+b", scales, linear.Basis.from_data(x), width=4)
    res = run(jax.random.key(1), target, num_samples=1000, num_replicas=16, num_chains=4)
    exact = linear.exact_linear(x, y, 0.05, "ax+b", prior_scale=scales)
    assert res.names == ("a", "b") and res.samples.shape[-1] == 2   # the padding is not in the result
    assert agrees(res.free_energy.free_energy, res.free_energy.free_energy_err, exact.free_energy)
    w = linear.rescale(res, scales).samples.reshape(-1, 2)
    mcse = np.sqrt(np.diag(exact.cov) / min(res.diagnostics.ess.values()))
    assert np.all(np.abs(w.mean(0) - exact.mean) <= 5 * mcse)
    assert np.allclose(np.cov(w.T), exact.cov, rtol=0.15)
    z = res.samples.reshape(-1, 2)
    assert not np.all(np.abs(z.mean(0) - exact.mean) <= 5 * mcse)
