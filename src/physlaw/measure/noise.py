"""Noise estimation for free from the temperature ladder (Tokuda, Nagata & Okada, JPSJ 86, 024001, 2017).

With Gaussian noise, the likelihood at noise σ_0 raised to the power β is, up to normalisation, the
likelihood at noise σ_0/√β. One exchange Monte Carlo run at a small reference σ_0 therefore gives
the free energy on the whole grid ``σ_l² = σ_0² / β_l``:

    F(σ_l) = (n/2) log(2π σ_0² / β_l) − log Z̃(β_l),   Z̃(β) = ∫ exp(−β n E(θ)/σ_0²) φ(θ) dθ.

The engine's log Z(β) tempers the *full* log-likelihood, normalising constant included, so
``log Z̃(β) = log Z(β) + β (n/2) log(2πσ_0²)``. The σ minimising F is the Bayesian noise estimate.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class NoiseCurve(NamedTuple):
    """F(σ) on the ladder's grid, and the minimiser."""

    sigma: np.ndarray
    free_energy: np.ndarray
    free_energy_err: np.ndarray
    sigma_hat: float
    at_edge: bool = False
    stationarity: float = float("nan")   # r of the final run at σ̂ (``stationarity``), NaN before it


#: σ̂ is called settled when the final run's ``stationarity`` r lies in this range (σ̂ within a factor √2
#: of the stationary point). A settled run at the true minimum gives r = 1 up to its Monte Carlo error
#: (a few %); NIST Lanczos1/3 with coordinate moves give r = 0.20–0.29 for every model with K ≥ 2.
SETTLED = (0.5, 2.0)


def noise_curve(free_energy, sigma0: float, num_points: int) -> NoiseCurve:
    """F(σ_l) for every rung with β_l > 0, and the minimising σ.

    Between rungs, log Z̃ is a cubic Hermite interpolant in log β through the rung values with the
    exact slopes ``d log Z̃ / dβ = ⟨ℓ⟩_β + (n/2) log 2πσ_0²``, so σ̂ is not tied to the ladder's grid.

    Args:
        free_energy: the ``FreeEnergy`` of a run whose likelihood used noise ``sigma0``.
        sigma0: the reference noise of the run's likelihood.
        num_points: n, the number of data points.
    """
    betas = np.asarray(free_energy.betas, dtype=np.float64)
    keep = betas > 0
    b = betas[keep]
    const = 0.5 * num_points * np.log(2 * np.pi * sigma0**2)
    log_z_tilde = np.asarray(free_energy.log_z)[keep] + b * const
    slope = np.asarray(free_energy.mean_log_likelihood)[keep] + const
    f = 0.5 * num_points * np.log(2 * np.pi * sigma0**2 / b) - log_z_tilde
    sigma = sigma0 / np.sqrt(b)
    i = int(np.argmin(f))
    sigma_hat = float(sigma[i])
    if 0 < i < f.size - 1:
        fine = np.linspace(np.log(b[i - 1]), np.log(b[i + 1]), 2001)
        log_z_fine = _hermite(np.log(b), log_z_tilde, b * slope, fine)
        f_fine = 0.5 * num_points * (np.log(2 * np.pi * sigma0**2) - fine) - log_z_fine
        sigma_hat = float(sigma0 / np.sqrt(np.exp(fine[np.argmin(f_fine)])))
    order = np.argsort(sigma)
    at_edge = i in (0, f.size - 1)
    return NoiseCurve(sigma[order], f[order], np.asarray(free_energy.log_z_err)[keep][order], sigma_hat, at_edge)


def stationarity(mean_log_likelihood: float, sigma: float, num_points: int) -> float:
    """r = ⟨RSS⟩_σ / (n σ²) from a run at noise σ: its mean log-likelihood at β = 1.

    With ℓ = −(n/2) log 2πσ² − RSS/(2σ²), ``dF/dσ = (n/σ)(1 − r)``: F(σ) is stationary exactly where
    r = 1, whatever the model (the EM condition σ² = ⟨RSS⟩/n). So the final run at σ̂ checks the noise
    pilot's σ̂ by itself: r well below 1 means F still falls towards smaller σ (the pilot's cold rungs had
    not settled: its F(σ) rose there spuriously), r well above 1 that the draws fit worse than the
    noise (the run at σ̂ has not settled).
    """
    rss = -2.0 * sigma**2 * (mean_log_likelihood + 0.5 * num_points * np.log(2 * np.pi * sigma**2))
    return float(rss / (num_points * sigma**2))


def _hermite(x: np.ndarray, y: np.ndarray, dydx: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The piecewise cubic Hermite interpolant through ``(x, y)`` with slopes ``dydx`` (x increasing), at ``at``.

    On [x_k, x_k+1] with h = x_k+1 − x_k and s = (t − x_k) / h the standard basis gives
    y_k h00(s) + h dydx_k h10(s) + y_k+1 h01(s) + h dydx_k+1 h11(s). Written out rather than taken from
    ``scipy.interpolate.CubicHermiteSpline`` (the same curve), whose import alone costs 0.4–0.6 s of
    every ``physlaw spectrum`` run that estimates the noise.
    """
    k = np.clip(np.searchsorted(x, at, side="right") - 1, 0, x.size - 2)
    h = x[k + 1] - x[k]
    s = (at - x[k]) / h
    h00, h10 = (1 + 2 * s) * (1 - s) ** 2, s * (1 - s) ** 2
    h01, h11 = s**2 * (3 - 2 * s), s**2 * (s - 1)
    return y[k] * h00 + h * dydx[k] * h10 + y[k + 1] * h01 + h * dydx[k + 1] * h11


def count_scale(y) -> float | None:
    """The step q such that y / q are detector counts, or None: data that are not counts.

    q = 1 for non-negative integers. Counts multiplied by one constant (a transmission function,
    dwell time or gain correction, e.g. 311 counts written as 324.2826) lie on a lattice of step q:
    q is estimated from the smallest gap between distinct values and refined by least squares, and
    accepted when every y / q is within 0.05 of an integer (at least 20 points and 10 distinct
    values). A step that is a power of ten is the number of printed decimals, not a count scale, and
    is refused.
    """
    y = np.asarray(y, float)
    if not (y.size >= 3 and np.all(np.isfinite(y)) and np.all(y >= 0) and np.max(y) > 0):
        return None
    if np.all(y == np.round(y)):
        return 1.0
    u = np.unique(y)
    if y.size < 20 or u.size < 10:   # a few rational values (0.5, 0.25, 0.125) are no evidence of a lattice
        return None
    gaps = np.diff(u)
    if gaps.size == 0 or gaps.min() <= 0:
        return None
    q = float(gaps.min())
    for _ in range(3):
        n = np.round(y / q)
        if not np.any(n > 0):
            return None
        q = float(np.sum(y * n) / np.sum(n * n))
    if np.max(np.abs(y / q - np.round(y / q))) > 0.05 or q < 1e-3 * np.max(y) / 1e6:
        return None
    if abs(np.log10(q) - round(np.log10(q))) < 1e-3:
        return None
    return q
