"""User models (``physlaw.measure.fit``): exact likelihoods, an exact free energy, parameter recovery."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import gammaln

from physlaw.errors import InputError
from physlaw.measure import fit
from physlaw.measure import usermodel as um

PRIORS = {"A": "uniform(0, 2)", "T": "loguniform(1e-3, 1e3)", "beta": "uniform(0.2, 1)"}
FORMULA = "A * exp(-(x / T)**beta)"
FAST = dict(num_samples=400, num_replicas=12, num_chains=2)


def _params(model, k, key=0):
    target = um._target(model, k, None, "gaussian")
    return target.sample_prior_fn(jax.random.key(key))


def test_gaussian_and_poisson_likelihoods_are_exactly_normalised():
    rng = np.random.default_rng(0)
    x = np.linspace(0.1, 5, 25)
    model = um.build_model(FORMULA, PRIORS, background="C", background_priors={"C": "halfnormal(1)"}, order="T")
    p = _params(model, 2)
    mu = np.asarray(um.mean_curve(model, p, jnp.asarray(x)))
    y = rng.poisson(mu * 20).astype(float)
    data = um.UserData(jnp.asarray(x), jnp.asarray(y), jnp.ones(25), jnp.asarray(-np.sum(gammaln(y + 1))))
    p20 = dict(p, A=p["A"] * 20, C=p["C"] + math.log(20))  # C is sampled as its log (halfnormal)
    ll = um._target(model, 2, data, "poisson").log_likelihood_fn(p20, data)
    assert float(ll) == pytest.approx(np.sum(stats.poisson.logpmf(y, 20 * mu)), rel=1e-10)
    s = np.full(25, 0.3)
    data_g = um.UserData(jnp.asarray(x), jnp.asarray(y), jnp.asarray(s), jnp.asarray(-0.5 * np.sum(np.log(2 * np.pi * s**2))))
    ll_g = um._target(model, 2, data_g, "gaussian").log_likelihood_fn(p, data_g)
    assert float(ll_g) == pytest.approx(np.sum(stats.norm.logpdf(y, mu, s)), rel=1e-10)


def test_log_scale_parameters_reach_the_formula_as_values_and_components_are_ordered():
    model = um.build_model("A * exp(-x / T)", {"A": "normal(0, 1)", "T": "loguniform(0.1, 10)"}, order="T")
    p = {"A": jnp.array([1.0, 2.0]), "T": jnp.log(jnp.array([3.0, 0.5]))}
    comps, bg = um.mean_curve(model, p, jnp.array([1.0]), components=True)
    np.testing.assert_allclose(np.asarray(comps)[:, 0], [math.exp(-1 / 3), 2 * math.exp(-2)], rtol=1e-12)
    relabelled = um._target(model, 2, None, "gaussian").relabel_fn(p)
    np.testing.assert_allclose(np.exp(relabelled["T"]), [0.5, 3.0])
    np.testing.assert_allclose(relabelled["A"], [2.0, 1.0])


def test_a_python_function_component_equals_the_formula():
    f = um.build_model(FORMULA, PRIORS, order="T")
    g = um.build_model(lambda x, A, T, beta: A * jnp.exp(-((x / T) ** beta)), PRIORS, order="T")
    p = _params(f, 3, key=1)
    x = jnp.linspace(0.01, 10, 50)
    np.testing.assert_allclose(um.mean_curve(f, p, x), um.mean_curve(g, p, x), rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(component="A * exp(-x / T)", priors={"A": "normal(0, 1)"}), "'T' at position 14: unknown name"),
    (dict(component="A", priors={"A": "normal(0, 1)", "B": "normal(0, 1)"}), "does not use B"),
    (dict(component="A", priors={"A": "student(3)"}), "unknown distribution"),
    (dict(component="A", priors={"A": "normal(0, 1)"}, background="A", background_priors={"A": "normal(0, 1)"}),
     "both the component and the background"),
    (dict(component="A", priors={"A": "normal(0, 1)"}, order="B"), "order = 'B' is not a component parameter"),
    (dict(component="A", priors={}), "needs priors"),
    (dict(component=3, priors={"A": "normal(0, 1)"}), "formula string or a Python function"),
])
def test_bad_models_are_refused(kwargs, match):
    with pytest.raises(InputError, match=match):
        um.build_model(**kwargs)


def test_likelihood_choice_is_checked():
    x, y = np.arange(5.0), np.array([1.0, 2.5, 3, 4, 5])
    with pytest.raises(InputError, match="needs counts"):
        fit(x, y, component="A", priors={"A": "gamma(1, 1)"}, likelihood="poisson", kmax=1, key=jax.random.key(0))
    with pytest.raises(InputError, match="no noise sigma"):
        fit(x, np.round(y), component="A", priors={"A": "gamma(1, 1)"}, likelihood="poisson", sigma=1.0, kmax=1,
            key=jax.random.key(0))


def test_poisson_free_energy_matches_the_exact_evidence():
    """Constant rate A with a Gamma(k, r) prior: p(D) is known in closed form (the conjugate pair)."""
    rng = np.random.default_rng(3)
    y = rng.poisson(5.0, size=30).astype(float)
    x = np.arange(30.0)
    k, r = 2.0, 0.5
    res = fit(x, y, component="A", priors={"A": f"gamma({k}, {r})"}, likelihood="auto", kmax=1,
              key=jax.random.key(1), **FAST)
    assert res.likelihood == "poisson" and not res.noise_estimated
    s, n = y.sum(), y.size
    exact = -(k * math.log(r) - gammaln(k) + gammaln(k + s) - (k + s) * math.log(r + n) - np.sum(gammaln(y + 1)))
    f = res.best
    assert f.free_energy == pytest.approx(exact, abs=5 * f.free_energy_err + 0.05)
    # negative control: without the log y! normalisation the target value is far away
    assert abs(f.free_energy - (exact - np.sum(gammaln(y + 1)))) > 20 * f.free_energy_err + 1
    a = res.parameter_summaries()["component 1"]["A"]
    assert a["interval_95"][0] < (k + s) / (r + n) < a["interval_95"][1]  # posterior mean of A


def test_stretched_exponential_recovered_within_its_intervals():
    rng = np.random.default_rng(1)
    t = np.geomspace(0.01, 100, 40)
    truth = {"A": 1.0, "T": 2.0, "beta": 0.6, "C": 0.1}
    y = truth["A"] * np.exp(-((t / truth["T"]) ** truth["beta"])) + truth["C"] + 0.01 * rng.normal(size=t.size)
    res = fit(t, y, component=FORMULA, priors=PRIORS, background="C", background_priors={"C": "normal(0, 1)"},
              order="T", sigma=0.01, kmax=1, key=jax.random.key(0), x_name="t", **FAST)
    s = res.parameter_summaries()
    got = {**s["component 1"], **s["background"]}
    for name, value in truth.items():
        lo, hi = got[name]["interval_95"]
        assert lo < value < hi, (name, value, got[name])
    # negative control: a plain exponential (beta = 1) is far outside the interval
    assert not got["beta"]["interval_95"][0] < 1.0 < got["beta"]["interval_95"][1]
    pred = res.predictive(num_draws=50)
    assert pred["components"].shape == (1, 400) and pred["background"].shape == (400,)
    assert res.plot_style["xscale"] == "log" and "one component" in res.verdict()
    assert set(res.marginals()) == {"A", "T", "beta", "C"}
