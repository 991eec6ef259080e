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

Every estimate is computed for all rungs, batches and chains at once (NumPy, float64, log-sum-exp
shifted by the maximum): one pass per estimator over the [C, S, L] traces, no Python loop over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _rungs(loglik: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``w = Δβ_l ℓ`` at rung l and ``v = Δβ_l ℓ`` at rung l+1, as rows [..., L-1, S] (samples contiguous)."""
    loglik = np.asarray(loglik, dtype=np.float64)
    d = np.diff(np.asarray(betas, dtype=np.float64))[:, None]
    t = np.swapaxes(loglik, -1, -2)
    shape = t.shape[:-2] + (d.shape[0], t.shape[-1])
    w = np.multiply(d, t[..., :-1, :], out=np.empty(shape))
    v = np.multiply(d, t[..., 1:, :], out=np.empty(shape))
    return w, v


def _log_mean_exp(u: np.ndarray, sign: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``log mean exp(sign × u)`` over the last axis, shifted by the maximum m (no overflow).

    Returns the result [...], m [...] and ``exp(sign × u − m)`` [..., N] (for Bennett's start).
    """
    m = u.max(axis=-1) if sign > 0 else -u.min(axis=-1)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.multiply(u, sign)
    e -= m[..., None]
    np.exp(e, out=e)
    with np.errstate(divide="ignore"):  # a row of -inf gives -inf, as log-sum-exp should
        out = np.log(e.sum(axis=-1)) + m - np.log(u.shape[-1])
    return out, m, e


def _stepping_stones(w: np.ndarray, v: np.ndarray):
    """Forward and reverse increments [...] from rows [..., N], and the exponentials behind them."""
    fwd, mw, ew = _log_mean_exp(w)
    rev, mv, ev = _log_mean_exp(v, -1.0)
    return fwd, -rev, (mw, ew, mv, ev)


def stepping_stone_increments(loglik: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward and reverse estimates of ``log Z_{l+1} − log Z_l`` [..., L-1] from traces [..., S, L].

    Leading axes (chains, batches) are independent traces, all estimated at once.
    """
    fwd, rev, _ = _stepping_stones(*_rungs(loglik, betas))
    return fwd, rev


def bennett_increments(loglik: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Bennett acceptance-ratio estimates of ``log Z_{l+1} − log Z_l`` [..., L-1] from traces [..., S, L].

    The root in Δf of ``g(Δf) = Σ_i σ(w_i − Δf) − Σ_j σ(Δf − v_j)`` (σ the logistic function,
    w = Δβ ℓ at rung l, v = Δβ ℓ at rung l+1); g is decreasing, so Newton steps kept inside a
    shrinking bracket converge safely. Every rung of every leading-axis trace is solved at once.
    """
    w, v = _rungs(loglik, betas)
    return _bennett(w, v, *_stepping_stones(w, v))


#: How far (in nats) an iterate may move from the centre of the precomputed exponentials before they
#: are taken again about it, and how far the centre may lie from a row's maximum to reuse the stepping
#: stones' exponentials.
_RECENTRE, _REUSE = 30.0, 600.0


def _bennett(w: np.ndarray, v: np.ndarray, fwd: np.ndarray, rev: np.ndarray, exps=None, *, max_iter: int = 60,
             tol: float = 1e-10) -> np.ndarray:
    """Bennett's Δf [...] for rows ``w``, ``v`` [..., N] of samples, starting from the stepping stones.

    All rows iterate together in float64; a row stops when its step is below ``tol × (1 + |Δf|)``.
    The exponentials are taken once, about a centre c (the start): with ``s = exp(c − x)``,
    ``σ(w − x) = s / (s + exp(c − w))`` and ``σ(x − v) = (1/s) / (1/s + exp(v − c))``, so a Newton step
    costs two additions, two divisions and four sums over the samples and no ``exp``; an exponential
    that overflows to inf gives σ = 0, its limit. ``exps`` = (m_w, exp(w − m_w), m_v, exp(−v − m_v))
    from ``_stepping_stones`` gives ``exp(c − w)``, ``exp(v − c)`` by one division each (those arrays are
    overwritten).
    """
    shape = fwd.shape
    num_samples = w.shape[-1]
    w, v = w.reshape(-1, num_samples), v.reshape(-1, num_samples)
    fwd, rev = fwd.reshape(-1), rev.reshape(-1)
    lo = np.minimum(fwd, rev) - 1.0
    hi = np.maximum(fwd, rev) + 1.0
    x = 0.5 * (fwd + rev)
    out = x.copy()
    centre = x.copy()
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if exps is None:
            ea, eb = np.exp(centre[:, None] - w), np.exp(v - centre[:, None])
        else:
            mw, ea, mv, eb = (a.reshape(-1, *a.shape[len(shape):]) for a in exps)
            np.divide(np.exp(centre - mw)[:, None], ea, out=ea)   # exp(c − w)
            np.divide(np.exp(-mv - centre)[:, None], eb, out=eb)  # exp(v − c)
            redo = ~((np.abs(centre - mw) < _REUSE) & (np.abs(mv + centre) < _REUSE))
            if redo.any():  # a centre far from the samples: take the exponentials directly
                ea[redo], eb[redo] = np.exp(centre[redo, None] - w[redo]), np.exp(v[redo] - centre[redo, None])
        rows = np.arange(x.size)  # the rows of the arrays below; ``live`` those still iterating
        live = np.ones(x.size, dtype=bool)
        buf = np.empty_like(ea)
        for _ in range(max_iter):
            far = ~(np.abs(x - centre) <= _RECENTRE)  # (a bracket being widened): centre again
            if far.any():
                centre[far] = x[far]
                ea[far], eb[far] = np.exp(centre[far, None] - w[far]), np.exp(v[far] - centre[far, None])
            s = np.exp(centre - x)
            sa, saa = _ratio_sums(s, ea, buf)        # Σ σ(w − x), Σ σ(w − x)²
            sb, sbb = _ratio_sums(1.0 / s, eb, buf)  # Σ σ(x − v), Σ σ(x − v)²
            g = sa - sb
            dg = -(sa - saa) - (sb - sbb)  # σ(1 − σ) = σ − σ²
            # g(lo) > 0 > g(hi) is kept; widen the bracket if the root lies outside it
            lo, hi = (np.where(g > 0, x, np.where(x <= lo, lo - 2 * (hi - lo), lo)),
                      np.where(g < 0, x, np.where(x >= hi, hi + 2 * (hi - lo), hi)))
            newton = x - g / np.where(dg < 0, dg, -1e-300)
            inside = (newton > lo) & (newton < hi)
            x_new = np.where(inside, newton, 0.5 * (lo + hi))
            out[rows[live]] = x_new[live]
            live &= ~(np.abs(x_new - x) < tol * (1 + np.abs(x)))
            if not live.any():
                break
            x = x_new
            if 2 * live.sum() <= live.size:  # drop the converged rows (a copy) once half are done
                rows, w, v, ea, eb, buf = rows[live], w[live], v[live], ea[live], eb[live], buf[live]
                centre, x, lo, hi, live = centre[live], x[live], lo[live], hi[live], live[live]
    return out.reshape(shape)


def _ratio_sums(t: np.ndarray, e: np.ndarray, buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ_j q_rj and Σ_j q_rj² with q = t_r / (t_r + e_rj), over the rows r of ``e`` (``buf``: scratch)."""
    np.add(e, t[:, None], out=buf)
    np.divide(t[:, None], buf, out=buf)
    return buf.sum(axis=1), np.einsum("ij,ij->i", buf, buf)


def thermodynamic_integration(loglik: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Cumulative log Z(β_l) [..., L] by the variance-corrected trapezoid rule, from traces [..., S, L]."""
    loglik = np.asarray(loglik, dtype=np.float64)
    m = loglik.mean(-2)
    v = loglik.var(-2)
    d = np.diff(betas)
    inc = d * (m[..., :-1] + m[..., 1:]) / 2 - d**2 * (v[..., 1:] - v[..., :-1]) / 12
    return _cumulative(inc)


def _cumulative(inc: np.ndarray) -> np.ndarray:
    """[..., L-1] increments → [..., L] running sums starting at 0."""
    return np.concatenate([np.zeros(inc.shape[:-1] + (1,)), np.cumsum(inc, axis=-1)], axis=-1)


def _estimates(loglik: np.ndarray, betas: np.ndarray) -> dict[str, np.ndarray]:
    """Every estimator's log Z(β_l) [..., L] from traces [..., S, L] (all leading axes at once)."""
    w, v = _rungs(loglik, betas)
    fwd, rev, exps = _stepping_stones(w, v)
    return {
        "forward": _cumulative(fwd),
        "reverse": _cumulative(rev),
        "two_sided": _cumulative(0.5 * (fwd + rev)),
        "bennett": _cumulative(_bennett(w, v, fwd, rev, exps)),
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
    num_chains, num_sweeps, num_rungs = loglik.shape
    pooled = _estimates(loglik.reshape(-1, num_rungs), betas)
    num_batches = max(1, min(num_batches, num_sweeps // 10))
    size = num_sweeps // num_batches
    # every batch of every chain at once: [C × B, size, L] (a ragged tail of sweeps is left out)
    batches = _estimates(loglik[:, : num_batches * size].reshape(num_chains * num_batches, size, num_rungs), betas)
    n = num_chains * num_batches
    errs = {k: np.std(v, axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(betas.size, np.nan)
            for k, v in batches.items()}
    chain_f = -_cumulative(bennett_increments(loglik, betas))[:, -1]
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
