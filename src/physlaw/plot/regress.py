"""Figures of ``physlaw regress``: the fit with its posterior predictive band, F per model, F(σ)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure registry

LABELS = {"ax": "y = a x", "ax+b": "y = a x + b", "poly2": "quadratic", "poly3": "cubic", "poly4": "quartic",
          "poly5": "quintic"}


def fit_figure(reg, path: Path, *, seed: int = 0) -> None:
    """Data (with error bars when σ is per point) and the selected model's posterior bands (``reg.predictive``)."""
    fit = reg.fit(reg.selected)
    pred = reg.predictive(seed=seed)
    grid = pred["x"]
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(grid, *pred["predictive_95"], color="C0", alpha=0.15, lw=0, label="95 % posterior predictive")
    ax.fill_between(grid, *pred["mean_95"], color="C0", alpha=0.45, lw=0, label="95 % band of the mean")
    ax.plot(grid, pred["median"], color="C0", lw=1.5, label=f"median: {LABELS.get(fit.name, fit.name)}")
    if reg.sigma is not None and np.ptp(reg.sigma) > 0:
        ax.errorbar(reg.x, reg.y, yerr=reg.sigma, fmt="o", ms=3.5, color="k", lw=0.8, label="data ± σ")
    else:
        ax.plot(reg.x, reg.y, "o", ms=3.5, color="k", label="data")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"selected model {LABELS.get(fit.name, fit.name)} (p = {fit.probability:.3g}), "
                 f"σ = {fit.noise_sigma:.3g}")
    ax.legend(frameon=False, fontsize=8)
    fig.savefig(path, dpi=130)


def free_energy_figure(reg, path: Path) -> None:
    """F per model with error bars, annotated with posterior model probabilities."""
    names = [f.name for f in reg.fits]
    f = np.array([fit.free_energy for fit in reg.fits])
    e = np.array([fit.free_energy_err for fit in reg.fits])
    fig = Figure(figsize=(4.8, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(range(len(names)), f - f.min(), yerr=e, fmt="o", capsize=4, color="C3")
    for i, fit in enumerate(reg.fits):
        ax.annotate(f"p = {fit.probability:.3g}", (i, f[i] - f.min()), textcoords="offset points",
                    xytext=(8, 4), fontsize=8)
    ax.set_xticks(range(len(names)), [LABELS.get(n, n) for n in names], fontsize=8)
    ax.set_xlim(-0.5, len(names) - 0.5)
    ax.set_ylabel(f"F − min F  (nat; min F = {f.min():.3f})")
    ax.set_title("Bayesian free energy per model")
    fig.savefig(path, dpi=130)


def noise_figure(reg, path: Path) -> None:
    """F(σ) from the ladder for each model whose noise was estimated."""
    fig = Figure(figsize=(5.2, 3.8), layout="constrained")
    ax = fig.subplots()
    for i, fit in enumerate(reg.fits):
        if fit.noise is None:
            continue
        c = fit.noise
        ax.errorbar(c.sigma, c.free_energy, yerr=c.free_energy_err, fmt="o-", ms=3, color=f"C{i}",
                    label=f"{LABELS.get(fit.name, fit.name)}: σ̂ = {c.sigma_hat:.4g}")
        ax.axvline(c.sigma_hat, color=f"C{i}", ls=":", lw=1)
    ax.set_xscale("log")
    fmin = min(np.min(f.noise.free_energy) for f in reg.fits if f.noise is not None)
    if np.isfinite(fmin):  # a non-finite F (overflowing data) leaves the limits to autoscaling
        ax.set_ylim(fmin - 5, fmin + 60)
    ax.set_xlabel("noise σ")
    ax.set_ylabel("F(σ)  (nat)")
    ax.set_title("free energy over the noise level (one run per model)")
    ax.legend(frameon=False, fontsize=8)
    fig.savefig(path, dpi=130)
