"""The vectorised free-energy estimators agree with the loop-based ones they replaced.

``_reference_*`` below is ``physlaw/sampling/_free_energy.py`` as it was before the estimators were
vectorised (Bennett's Newton iterations once per batch and chain in Python, SciPy's logsumexp): the
new code must give the same numbers, to rounding, on random and on real-shaped traces.
"""

import jax
import numpy as np
import pytest
from scipy.special import logsumexp

from physlaw.measure.linear import linear_target
from physlaw.sampling import free_energy, run
from physlaw.sampling._free_energy import bennett_increments, stepping_stone_increments, thermodynamic_integration

RTOL = 1e-9

# ---------------------------------------------------------------------------------------------
# Reference implementation (verbatim copy of the loop-based code; free_energy returns a dict)


def _reference_log_mean_exp(a: np.ndarray, axis: int) -> np.ndarray:
    return logsumexp(a, axis=axis) - np.log(a.shape[axis])


def _reference_stepping_stone_increments(loglik: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward and reverse estimates of ``log Z_{l+1} − log Z_l`` from traces [S, L]."""
    d = np.diff(betas)
    fwd = _reference_log_mean_exp(d[None, :] * loglik[:, :-1], axis=0)
    rev = -_reference_log_mean_exp(-d[None, :] * loglik[:, 1:], axis=0)
    return fwd, rev


def _reference_bennett_increments(loglik: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Bennett acceptance-ratio estimates of ``log Z_{l+1} − log Z_l`` from traces [S, L].

    The root in Δf of ``g(Δf) = Σ_i σ(w_i − Δf) − Σ_j σ(Δf − v_j)`` (σ the logistic function,
    w = Δβ ℓ at rung l, v = Δβ ℓ at rung l+1); g is decreasing, so Newton steps kept inside a
    shrinking bracket converge safely.
    """
    from scipy.special import expit

    d = np.diff(betas)
    w = d[None, :] * loglik[:, :-1]
    v = d[None, :] * loglik[:, 1:]
    fwd, rev = _reference_stepping_stone_increments(loglik, betas)
    lo = np.minimum(fwd, rev) - 1.0
    hi = np.maximum(fwd, rev) + 1.0
    x = 0.5 * (fwd + rev)
    for _ in range(60):
        a = expit(w - x[None, :])
        b = expit(x[None, :] - v)
        g = a.sum(0) - b.sum(0)
        dg = -(a * (1 - a)).sum(0) - (b * (1 - b)).sum(0)
        # g(lo) > 0 > g(hi) is kept; widen the bracket if the root lies outside it
        lo = np.where(g > 0, x, np.where(x <= lo, lo - 2 * (hi - lo), lo))
        hi = np.where(g < 0, x, np.where(x >= hi, hi + 2 * (hi - lo), hi))
        newton = x - g / np.where(dg < 0, dg, -1e-300)
        inside = (newton > lo) & (newton < hi)
        x_new = np.where(inside, newton, 0.5 * (lo + hi))
        if np.all(np.abs(x_new - x) < 1e-10 * (1 + np.abs(x))):
            return x_new
        x = x_new
    return x


def _reference_thermodynamic_integration(loglik: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Cumulative log Z(β_l) [L] by the variance-corrected trapezoid rule, from traces [S, L]."""
    m = loglik.mean(0)
    v = loglik.var(0)
    d = np.diff(betas)
    inc = d * (m[:-1] + m[1:]) / 2 - d**2 * (v[1:] - v[:-1]) / 12
    return np.concatenate([[0.0], np.cumsum(inc)])


def _reference_estimates(loglik: np.ndarray, betas: np.ndarray) -> dict[str, np.ndarray]:
    fwd, rev = _reference_stepping_stone_increments(loglik, betas)
    zero = np.zeros(1)
    return {
        "forward": np.concatenate([zero, np.cumsum(fwd)]),
        "reverse": np.concatenate([zero, np.cumsum(rev)]),
        "two_sided": np.concatenate([zero, np.cumsum(0.5 * (fwd + rev))]),
        "bennett": np.concatenate([zero, np.cumsum(_reference_bennett_increments(loglik, betas))]),
        "ti": _reference_thermodynamic_integration(loglik, betas),
    }


def _reference_free_energy(loglik: np.ndarray, betas: np.ndarray, *, num_batches: int = 10) -> dict:
    """``free_energy`` before vectorisation, returning the fields of its ``FreeEnergy``."""
    loglik = np.asarray(loglik, dtype=np.float64)
    betas = np.asarray(betas, dtype=np.float64)
    num_chains, num_sweeps, _ = loglik.shape
    pooled = _reference_estimates(loglik.reshape(-1, loglik.shape[-1]), betas)
    num_batches = max(1, min(num_batches, num_sweeps // 10))
    size = num_sweeps // num_batches
    batch = {k: [] for k in pooled}
    for c in range(num_chains):
        for b in range(num_batches):
            est = _reference_estimates(loglik[c, b * size : (b + 1) * size], betas)
            for k in batch:
                batch[k].append(est[k])
    n = num_chains * num_batches
    errs = {k: np.std(np.array(v), axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(betas.size, np.nan)
            for k, v in batch.items()}
    chain_f = np.array([-_reference_estimates(loglik[c], betas)["bennett"][-1] for c in range(num_chains)])
    estimators = {k: float(-v[-1]) for k, v in pooled.items()}
    estimator_errs = {k: float(v[-1]) for k, v in errs.items()}
    warn = []
    main, main_err = estimators["bennett"], estimator_errs["bennett"]
    for other, label in (("ti", "thermodynamic integration"), ("forward", "forward stepping stone"),
                         ("reverse", "reverse stepping stone")):
        gap = abs(estimators[other] - main)
        tol = 4.0 * np.hypot(main_err, estimator_errs[other]) + 0.01
        if gap > tol:
            warn.append(
                f"free energy estimators disagree: Bennett acceptance ratio {main:.3f} ± {main_err:.3f} "
                f"vs {label} {estimators[other]:.3f} ± {estimator_errs[other]:.3f}; "
                "use more replicas (a denser ladder) or more sweeps"
            )
    return dict(
        log_z=pooled["bennett"], log_z_err=errs["bennett"], free_energy=main, free_energy_err=main_err,
        estimators=estimators, estimator_errs=estimator_errs, chain_free_energies=chain_f,
        mean_log_likelihood=loglik.reshape(-1, loglik.shape[-1]).mean(0), warnings=warn,
    )


# ---------------------------------------------------------------------------------------------
# Inputs


def _synthetic(seed: int, num_chains: int, num_sweeps: int, num_replicas: int, *, tail: float = 0.0):
    """Traces shaped like a run's: ⟨ℓ⟩ rising and its spread shrinking with β on a geometric ladder;
    ``tail`` adds rare very poor states (prior draws at small β), the hard case for log-sum-exp."""
    rng = np.random.default_rng(seed)
    betas = np.concatenate([[0.0], np.geomspace(1e-4, 1.0, num_replicas - 1)])
    mean = -20.0 - 400.0 / (1.0 + 300.0 * betas)
    sd = 1.5 + 40.0 / (1.0 + 100.0 * betas)
    ll = mean + sd * rng.standard_normal((num_chains, num_sweeps, num_replicas))
    if tail:
        ll -= tail * rng.exponential(1.0, ll.shape) * (rng.random(ll.shape) < 0.01) * (betas < 1e-2)
    return ll, betas


@pytest.fixture(scope="module")
def real_traces():
    """Log-likelihood traces [C=4, S=2000, L=32] of an exchange Monte Carlo run on the linear model."""
    x = np.linspace(0.0, 1.0, 25)
    y = 1.5 * x + 0.3 + np.random.default_rng(0).normal(0.0, 0.1, x.size)
    res = run(jax.random.key(1), linear_target(x, y, 0.1, "ax+b"), num_samples=2000, num_replicas=32, num_chains=4)
    assert res.log_likelihood.shape == (4, 2000, 32) and res.log_likelihood.dtype == np.float64
    return res.log_likelihood, res.betas


CASES = {
    "run-shaped": dict(seed=0, num_chains=4, num_sweeps=2000, num_replicas=32),
    "heavy tail": dict(seed=1, num_chains=4, num_sweeps=500, num_replicas=16, tail=5000.0),
    "one chain, ragged batches": dict(seed=2, num_chains=1, num_sweeps=137, num_replicas=8),
    "two rungs": dict(seed=3, num_chains=3, num_sweeps=300, num_replicas=2),
    "one batch of one chain (no error bar)": dict(seed=4, num_chains=1, num_sweeps=15, num_replicas=5),
}


def _assert_same(new, ref: dict):
    scale = max(1.0, abs(ref["free_energy"]))
    close = dict(rtol=RTOL, atol=RTOL * scale, equal_nan=True)
    for name in ("log_z", "log_z_err", "chain_free_energies", "mean_log_likelihood"):
        np.testing.assert_allclose(getattr(new, name), ref[name], err_msg=name, **close)
    np.testing.assert_allclose(new.free_energy, ref["free_energy"], **close)
    np.testing.assert_allclose(new.free_energy_err, ref["free_energy_err"], **close)
    assert new.estimators.keys() == ref["estimators"].keys()
    for k in ref["estimators"]:
        np.testing.assert_allclose(new.estimators[k], ref["estimators"][k], err_msg=k, **close)
        np.testing.assert_allclose(new.estimator_errs[k], ref["estimator_errs"][k], err_msg=k, **close)
    assert new.warnings == ref["warnings"]


# ---------------------------------------------------------------------------------------------
# Agreement


@pytest.mark.parametrize("case", CASES)
def test_free_energy_agrees_with_the_loop_based_reference(case):
    ll, betas = _synthetic(**CASES[case])
    _assert_same(free_energy(ll, betas), _reference_free_energy(ll, betas))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_free_energy_agrees_on_a_sparse_ladder_with_a_stuck_chain(seed):
    """Wide spreads of Δβ ℓ (4 rungs) and, for odd seeds, a chain stuck 2000 × seed nats below the others:
    the paths where the precomputed exponentials are retaken (far centre, a widened bracket) are used."""
    rng = np.random.default_rng(seed)
    betas = np.array([0.0, 0.01, 0.2, 1.0])
    ll = np.array([-3000.0, -400.0, -80.0, -30.0]) + np.array([800.0, 150.0, 20.0, 3.0]) * rng.standard_normal(
        (3, 300, 4))
    if seed % 2:
        ll[0, :50] -= 2000.0 * seed
    _assert_same(free_energy(ll, betas), _reference_free_energy(ll, betas))


def test_free_energy_agrees_on_a_real_run(real_traces):
    ll, betas = real_traces
    _assert_same(free_energy(ll, betas), _reference_free_energy(ll, betas))
    _assert_same(free_energy(ll, betas, num_batches=7), _reference_free_energy(ll, betas, num_batches=7))


def test_increments_agree_and_batch_over_leading_axes(real_traces):
    ll, betas = real_traces
    fwd, rev = stepping_stone_increments(ll, betas)  # [C, L-1]: every chain at once
    bar = bennett_increments(ll, betas)
    ti = thermodynamic_integration(ll, betas)
    assert fwd.shape == rev.shape == bar.shape == (4, 31) and ti.shape == (4, 32)
    for c in range(ll.shape[0]):
        ref_fwd, ref_rev = _reference_stepping_stone_increments(ll[c], betas)
        np.testing.assert_allclose(fwd[c], ref_fwd, rtol=RTOL, atol=RTOL)
        np.testing.assert_allclose(rev[c], ref_rev, rtol=RTOL, atol=RTOL)
        np.testing.assert_allclose(bar[c], _reference_bennett_increments(ll[c], betas), rtol=RTOL, atol=RTOL)
        np.testing.assert_allclose(ti[c], _reference_thermodynamic_integration(ll[c], betas), rtol=RTOL, atol=RTOL)
    # a single [S, L] trace gives [L-1] increments, as before
    np.testing.assert_allclose(bennett_increments(ll[0], betas), bar[0], rtol=RTOL, atol=RTOL)


def test_bennett_solves_its_equation():
    """Negative control for the agreement tests: the root really zeroes Bennett's equation, and a
    shifted root does not (so agreeing with the reference is not agreeing on a wrong answer)."""
    ll, betas = _synthetic(seed=5, num_chains=1, num_sweeps=400, num_replicas=6)
    ll = ll[0]
    d = np.diff(betas)
    root = bennett_increments(ll, betas)

    def g(x):
        w, v = d * ll[:, :-1], d * ll[:, 1:]
        return (1 / (1 + np.exp(x - w))).sum(0) - (1 / (1 + np.exp(v - x))).sum(0)

    assert np.all(np.abs(g(root)) < 1e-8 * ll.shape[0])
    assert np.all(np.abs(g(root + 0.05)) > 1e-3)
