"""The final run at σ̂ checks the noise pilot: F(σ) is stationary exactly where ⟨RSS⟩_σ = nσ²
(``noise.stationarity`` r = 1). Checked against the closed form of a linear model with the run's own error,
and a negative control: a pilot that reports 3σ̂ is flagged, and the verdict says the answer is not reliable."""

import jax
import numpy as np

from physlaw.measure import linear, selection
from physlaw.measure.noise import SETTLED, stationarity
from physlaw.measure.regression import regress


def _data():
    rng = np.random.default_rng(5)
    x = np.linspace(-1.0, 2.0, 40)
    return x, 0.3 + 0.8 * x + rng.normal(0, 0.1, x.size)


def _exact_r(x, y, sigma, model, scales):
    """⟨RSS⟩_σ / (nσ²) in closed form: ‖y − Φm‖² + tr(Φ C Φᵀ) with the posterior mean m and covariance C."""
    e = linear.exact_linear(x, y, sigma, model, prior_scale=scales)
    phi = linear.design_matrix(x, model)
    rss = np.sum((y - phi @ e.mean) ** 2) + np.trace(phi @ e.cov @ phi.T)
    return rss / (x.size * sigma**2)


def _run(x, y):
    return regress(x, y, models=("ax+b",), key=jax.random.key(1), num_samples=800, num_replicas=16, num_chains=4)


def test_stationarity_of_the_closed_form():
    """r = 1 at the exact minimiser of F(σ), r < 1 above it and r > 1 below it."""
    x, y = _data()
    scales = linear.prior_scales(x, y, "ax+b")
    sig = np.geomspace(0.05, 0.2, 801)
    f = np.array([linear.exact_linear(x, y, s, "ax+b", prior_scale=scales).free_energy for s in sig])
    s_min = sig[f.argmin()]
    assert abs(_exact_r(x, y, s_min, "ax+b", scales) - 1) < 0.01
    assert _exact_r(x, y, 2 * s_min, "ax+b", scales) < 0.5 < 2 < _exact_r(x, y, s_min / 2, "ax+b", scales)
    # the formula from a log-likelihood: ℓ = −(n/2) log 2πσ² − RSS/(2σ²)
    n, s, rss = 40, 0.1, 0.37
    assert np.isclose(stationarity(-0.5 * n * np.log(2 * np.pi * s**2) - rss / (2 * s**2), s, n), rss / (n * s**2))


def test_a_settled_noise_estimate_passes_and_an_unsettled_one_is_flagged(monkeypatch):
    x, y = _data()
    reg = _run(x, y)
    f = reg.best
    ll = np.asarray(f.result.log_likelihood, np.float64)[:, :, -1]
    per_chain = np.array([stationarity(c.mean(), f.noise_sigma, x.size) for c in ll])
    err = per_chain.std(ddof=1) / np.sqrt(per_chain.size)
    exact = _exact_r(x, y, f.noise_sigma, "ax+b", np.array(f.info["prior_scales"]))
    assert abs(f.noise.stationarity - exact) <= 5 * err, (f.noise.stationarity, exact, err)
    assert SETTLED[0] < f.noise.stationarity < SETTLED[1] and selection.noise_settled(f)
    assert not any("has not settled" in w for w in reg.warnings) and "NOT RELIABLE" not in reg.verdict()

    # negative control: a pilot whose σ̂ is 3× too large (as NIST Lanczos3's pilot, whose cold rungs had not
    # settled, gave a σ̂ 50× too large) is caught by the final run, r ≈ 1/9
    real = selection.noise_curve

    def inflated(*args, **kwargs):
        c = real(*args, **kwargs)
        return c._replace(sigma_hat=3.0 * c.sigma_hat)

    monkeypatch.setattr(selection, "noise_curve", inflated)
    bad = _run(x, y)
    assert bad.best.noise.stationarity < SETTLED[0] and not selection.noise_settled(bad.best)
    assert any("has not settled" in w and "F(σ) still falls towards smaller σ" in w for w in bad.warnings)
    assert "NOT RELIABLE" in bad.verdict()


def test_an_unsettled_runner_up_is_named_and_its_free_energy_called_an_upper_bound():
    x, y = _data()
    fits = _run(x, y).fits + _run(x, y).fits   # the same run twice
    fits[1].name = "other"
    fits[1].noise = fits[1].noise._replace(stationarity=0.2)
    sel = selection._selection(fits, True)   # equal free energies: the first is selected
    assert sel.selected == "ax+b" and sel.caveat() == ""
    named = [w for w in sel.warnings if "has not settled for" in w]
    assert len(named) == 1 and "other (r = 0.20)" in named[0] and "upper bounds" in named[0], sel.warnings


def test_the_batch_table_carries_r_per_dataset():
    from physlaw.report.batch import summary_row

    est = summary_row({"selected": "m", "models": [{"name": "m", "noise_sigma": 0.1,
                                                    "noise_curve": {"stationarity": 0.23}}]})
    given = summary_row({"selected": "m", "models": [{"name": "m", "noise_sigma": 0.1}]})
    assert est["noise_r"] == 0.23 and given["noise_r"] is None


def test_a_candidate_whose_free_energy_is_unknown_makes_the_selection_unreliable():
    """NIST Lanczos1's K = 3 ended with F = 1.5e12 ± 4.3e12 (its ladder did not connect): a selection that
    passes over it must say so. Control: the same F known to ±0.1 nat is ruled out silently."""
    import dataclasses

    x, y = _data()
    for err, flagged in ((1e3, True), (0.1, False)):
        fits = _run(x, y).fits + _run(x, y).fits
        fits[1].name = "other"
        fe = fits[1].result.free_energy
        fits[1].result.free_energy = dataclasses.replace(fe, free_energy=fe.free_energy + 5.0, free_energy_err=err)
        sel = selection._selection(fits, True)
        assert sel.selected == "ax+b"
        assert any(w.startswith("other: its free energy is unknown") for w in sel.warnings) == flagged
        assert (sel.caveat() == "; NOT RELIABLE: the free energy of other is unknown (see the warnings)") == flagged
        assert (sel.caveat() == "") == (not flagged)
