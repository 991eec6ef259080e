"""Figures of model selections (spectra, relaxation curves): fit with band and components, F(m), F(σ), marginals."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure registry (and 0.4 s less to import)


def _figure(figsize):
    """One figure with one axes and a constrained layout, drawn off-screen (Agg via ``savefig``)."""
    fig = Figure(figsize=figsize, constrained_layout=True)
    return fig, fig.subplots()


def fit_figure(x, y, sigma, pred: dict, path: Path, *, title: str, xlabel: str = "x", ylabel: str = "y",
               xscale: str = "linear", component_label: str = "peak", invert_x: bool = False) -> None:
    """Data, the posterior median, 95 % bands of the mean and of new data, and each component
    (``invert_x``: x increasing to the left, as binding energies are drawn)."""
    fig, ax = _figure((7.0, 4.6))
    g = pred["x"]
    ax.fill_between(g, *pred["predictive_95"], color="C0", alpha=0.15, lw=0, label="95 % posterior predictive")
    ax.fill_between(g, *pred["mean_95"], color="C0", alpha=0.45, lw=0, label="95 % band of the model")
    if sigma is not None and np.ptp(sigma) > 0:
        ax.errorbar(x, y, yerr=sigma, fmt="o", ms=2.5, color="k", lw=0.6, label="data ± σ")
    else:
        ax.plot(x, y, "o", ms=2.5, color="k", label="data")
    ax.plot(g, pred["median"], color="C0", lw=1.6, label="posterior median")
    base = pred.get("background")
    base = np.zeros_like(g) if base is None else base
    comps = pred.get("components")
    for k, comp in enumerate([] if comps is None else comps):
        ax.plot(g, comp + base, color=f"C{(k + 1) % 10}", lw=1.0, ls="--", label=f"{component_label} {k + 1}")
    if np.any(base != 0):
        ax.plot(g, base, color="0.4", lw=1.0, ls=":", label="background")
    ax.set_xscale(xscale)
    if invert_x:
        ax.invert_xaxis()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title("\n".join(textwrap.wrap(title, 85)), fontsize=10)   # a long verdict on two lines, not clipped
    ax.legend(frameon=False, fontsize=7.5, ncol=2)
    fig.savefig(path, dpi=120)


def free_energy_figure(sel, path: Path, *, label_fn=lambda f: f.name) -> None:
    """F(m) − min F with error bars (left axis) and p(m | D) as bars (right axis)."""
    f = np.array([fit.free_energy for fit in sel.fits])
    e = np.array([fit.free_energy_err for fit in sel.fits])
    p = np.array([fit.probability for fit in sel.fits])
    idx = np.arange(len(f))
    fig, ax = _figure((max(4.8, 0.7 * len(f) + 2), 3.8))
    ax2 = ax.twinx()
    ax2.bar(idx, p, color="C2", alpha=0.3, width=0.6)
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("p(model | D)", color="C2")
    ax.errorbar(idx, f - f.min(), yerr=e, fmt="o", capsize=4, color="C3")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xticks(idx, [label_fn(fit) for fit in sel.fits], rotation=30 if len(f) > 6 else 0, fontsize=8)
    ax.set_ylabel(f"F − min F  (nat; min F = {f.min():.3f})", color="C3")
    ax.set_title("Bayesian free energy and posterior probability per model", fontsize=10)
    fig.savefig(path, dpi=120)


def noise_figure(sel, path: Path, *, label_fn=lambda f: f.name) -> None:
    """F(σ) over the ladder for each model whose noise was estimated."""
    fits = [f for f in sel.fits if f.noise is not None]
    fig, ax = _figure((5.6, 4.0))
    for i, fit in enumerate(fits):
        c = fit.noise
        ax.plot(c.sigma, c.free_energy, "o-", ms=2.5, lw=1, color=f"C{i % 10}",
                label=f"{label_fn(fit)}: σ̂ = {c.sigma_hat:.4g}")
    if fits:
        fmin = min(np.min(f.noise.free_energy) for f in fits)
        if np.isfinite(fmin):  # a non-finite F (overflowing data) leaves the limits to autoscaling
            ax.set_ylim(fmin - 5, fmin + 80)
        if getattr(sel, "noise_sigma", None) is not None:
            ax.axvline(sel.noise_sigma, color="k", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("noise σ")
    ax.set_ylabel("F(σ)  (nat)")
    ax.set_title("free energy over the noise level (Tokuda et al. 2017)", fontsize=10)
    ax.legend(frameon=False, fontsize=7)
    fig.savefig(path, dpi=120)


def marginals_figure(samples: dict, path: Path, *, title: str) -> None:
    """Histograms of the selected model's parameters (``{label: [N] draws}``)."""
    names = list(samples)
    cols = min(4, max(1, len(names)))
    rows = -(-len(names) // cols)
    # fixed margins and filled step histograms: a third of the drawing time of a constrained layout of bars
    fig = Figure(figsize=(2.6 * cols, 2.1 * rows + 0.35))
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(left=0.03, right=0.98, bottom=0.5 / (2.1 * rows + 0.35), top=1 - 0.6 / (2.1 * rows + 0.35),
                        wspace=0.12, hspace=0.55)
    for ax, name in zip(axes.ravel(), names):
        v = np.asarray(samples[name]).ravel()
        ax.hist(v, bins=40, color="C0", alpha=0.7, histtype="stepfilled")
        lo, med, hi = np.quantile(v, [0.025, 0.5, 0.975])
        for q in (lo, hi):
            ax.axvline(q, color="k", ls=":", lw=0.8)
        ax.axvline(med, color="k", lw=1)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.ticklabel_format(axis="x", useOffset=False)   # 533.05, not 0.05 + 5.33e2
        ax.locator_params(axis="x", nbins=4)
        ax.set_yticks([])
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
