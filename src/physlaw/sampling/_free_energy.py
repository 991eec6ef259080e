"""Free energies from the replicas: log Z(β_l) at every rung and F = −log p(D).

With ℓ the full log-likelihood (all normalising constants included) and a normalised prior,
``Z(β) = ∫ exp(β ℓ(θ)) φ(θ) dθ``, ``Z(0) = 1`` and ``F = −log Z(1) = −log p(D)``.

Estimators (each from the log-likelihood traces of every rung, which one run yields for free):

* stepping stone, forward (Xie et al. 2011; the "product of ratios" of the Okada school):
  ``log Z_{l+1} − log Z_l = log ⟨exp(Δβ_l ℓ)⟩_{β_l}``;
* stepping stone, reverse: ``log Z_{l+1} − log Z_l = −log ⟨exp(−Δβ_l ℓ)⟩_{β_{l+1}}``;
* two-sided: the mean of the two (their biases are opposite);
* Bennett acceptance ratio (Bennett, J. Comput. Phys. 22, 245 (1976)), the minimum-variance
  estimator from the samples of both neighbours: Δf solves
  ``Σ_{i ∈ l} s(Δβ ℓ_i − Δf) = Σ_{j ∈ l+1} s(Δf − Δβ ℓ_j)`` with s the logistic function
  (equal sample sizes). It is the main estimate;
* thermodynamic integration, ``log Z(1) = ∫_0^1 ⟨ℓ⟩_β dβ``, by the trapezoid rule with the
  variance correction of Friel, Hurn & Wyse (Stat. Comput. 24, 709 (2014)):
  ``Σ_l Δβ_l (m_l + m_{l+1})/2 − Δβ_l² (v_{l+1} − v_l)/12`` with m, v the mean and variance of ℓ.

Error bars: each chain's trace is cut into contiguous batches; the spread of the estimates from the
batches of all independent chains gives the standard error (batch means; this accounts for
autocorrelation and for the coupling between rungs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp


def _log_mean_exp(a: np.ndarray, axis: int) -> np.ndarray:
    return logsumexp(a, axis=axis) - np.log(a.shape[axis])


def stepping_stone_increments(loglik: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward and reverse estimates of ``log Z_{l+1} − log Z_l`` from traces [S, L]."""
    d = np.diff(betas)
    fwd = _log_mean_exp(d[None, :] * loglik[:, :-1], axis=0)
    rev = -_log_mean_exp(-d[None, :] * loglik[:, 1:], axis=0)
    return fwd, rev


def bennett_increments(loglik: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Bennett acceptance-ratio estimates of ``log Z_{l+1} − log Z_l`` from traces [S, L].

    The root in Δf of ``g(Δf) = Σ_i σ(w_i − Δf) − Σ_j σ(Δf − v_j)`` (σ the logistic function,
    w = Δβ ℓ at rung l, v = Δβ ℓ at rung l+1); g is decreasing, so Newton steps kept inside a
    shrinking bracket converge safely.
    """
    from scipy.special import expit

    d = np.diff(betas)
    w = d[None, :] * loglik[:, :-1]
    v = d[None, :] * loglik[:, 1:]
    fwd, rev = stepping_stone_increments(loglik, betas)
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


def thermodynamic_integration(loglik: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Cumulative log Z(β_l) [L] by the variance-corrected trapezoid rule, from traces [S, L]."""
    m = loglik.mean(0)
    v = loglik.var(0)
    d = np.diff(betas)
    inc = d * (m[:-1] + m[1:]) / 2 - d**2 * (v[1:] - v[:-1]) / 12
    return np.concatenate([[0.0], np.cumsum(inc)])


def _estimates(loglik: np.ndarray, betas: np.ndarray) -> dict[str, np.ndarray]:
    fwd, rev = stepping_stone_increments(loglik, betas)
    zero = np.zeros(1)
    return {
        "forward": np.concatenate([zero, np.cumsum(fwd)]),
        "reverse": np.concatenate([zero, np.cumsum(rev)]),
        "two_sided": np.concatenate([zero, np.cumsum(0.5 * (fwd + rev))]),
        "bennett": np.concatenate([zero, np.cumsum(bennett_increments(loglik, betas))]),
        "ti": thermodynamic_integration(loglik, betas),
    }


@dataclass
class FreeEnergy:
    """Free energies of one run.

    Attributes:
        betas: [L] the ladder.
        log_z: [L] log Z(β_l), Bennett acceptance ratio (the main estimate).
        log_z_err: [L] its standard error.
        free_energy: F = −log Z(1) = −log p(D).
        free_energy_err: standard error of F.
        estimators: F by each estimator (``forward``, ``reverse``, ``two_sided``, ``bennett``, ``ti``).
        estimator_errs: standard error of each.
        chain_free_energies: F of each independent chain alone (Bennett).
        mean_log_likelihood: [L] ⟨ℓ⟩ at each rung, the slope d log Z / dβ.
        warnings: disagreements between estimators beyond their errors.
    """

    betas: np.ndarray
    log_z: np.ndarray
    log_z_err: np.ndarray
    free_energy: float
    free_energy_err: float
    estimators: dict[str, float]
    estimator_errs: dict[str, float]
    chain_free_energies: np.ndarray
    mean_log_likelihood: np.ndarray
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "free_energy": self.free_energy,
            "free_energy_err": self.free_energy_err,
            "estimators": self.estimators,
            "estimator_errs": self.estimator_errs,
            "chain_free_energies": self.chain_free_energies.tolist(),
            "betas": self.betas.tolist(),
            "log_z": self.log_z.tolist(),
            "log_z_err": self.log_z_err.tolist(),
        }


def free_energy(loglik: np.ndarray, betas: np.ndarray, *, num_batches: int = 10) -> FreeEnergy:
    """All free-energy estimates and their errors from log-likelihood traces.

    Args:
        loglik: [C, S, L] log-likelihood of the state at rung l, sweep s, independent chain c.
        betas: [L] the (fixed) ladder the traces were sampled with.
        num_batches: contiguous batches per chain for the error bars.

    Returns:
        A ``FreeEnergy``.
    """
    loglik = np.asarray(loglik, dtype=np.float64)
    betas = np.asarray(betas, dtype=np.float64)
    num_chains, num_sweeps, _ = loglik.shape
    pooled = _estimates(loglik.reshape(-1, loglik.shape[-1]), betas)
    num_batches = max(1, min(num_batches, num_sweeps // 10))
    size = num_sweeps // num_batches
    batch = {k: [] for k in pooled}
    for c in range(num_chains):
        for b in range(num_batches):
            est = _estimates(loglik[c, b * size : (b + 1) * size], betas)
            for k in batch:
                batch[k].append(est[k])
    n = num_chains * num_batches
    errs = {k: np.std(np.array(v), axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(betas.size, np.nan)
            for k, v in batch.items()}
    chain_f = np.array([-_estimates(loglik[c], betas)["bennett"][-1] for c in range(num_chains)])
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
    return FreeEnergy(
        betas=betas,
        log_z=pooled["bennett"],
        log_z_err=errs["bennett"],
        free_energy=main,
        free_energy_err=main_err,
        estimators=estimators,
        estimator_errs=estimator_errs,
        chain_free_energies=chain_f,
        mean_log_likelihood=loglik.reshape(-1, loglik.shape[-1]).mean(0),
        warnings=warn,
    )
