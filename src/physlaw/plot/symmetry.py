"""Figures of conservation-law searches: spectra with their gap, the σ' choice, the sampled group, laws along trajectories."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import sympy  # noqa: E402


def spectrum_figure(discovery, path: Path, *, title: str) -> None:
    """Relative singular values (log scale), the null directions coloured, the gap annotated."""
    s = np.asarray(discovery.spectrum, float)
    k = discovery.count
    fig, ax = plt.subplots(figsize=(6, 3.6))
    idx = np.arange(1, s.size + 1)
    colours = ["tab:blue"] * (s.size - k) + ["tab:red"] * k
    ax.scatter(idx, np.maximum(s, 1e-16), c=colours, zorder=3)
    ax.plot(idx, np.maximum(s, 1e-16), color="0.7", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("index (descending)")
    ax.set_ylabel("singular value / largest")
    if 0 < k < s.size:
        i = s.size - k
        mid = np.sqrt(s[i - 1] * max(s[i], 1e-16))
        ax.axhline(mid, color="tab:red", ls=":", lw=1)
        ax.annotate(f"gap ×{discovery.gap:.3g}", (i + 0.5, mid), textcoords="offset points", xytext=(6, 6),
                    color="tab:red")
    ax.set_title(f"{title}: {k} null direction{'s' if k != 1 else ''}" + (" (weak)" if discovery.weak else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def sigma_figure(group, path: Path) -> None:
    """Method 1's σ' scan: ⟨E_samp⟩(σ') and the effective dimension d_eff(σ'), the chosen σ' marked."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.4, 5.6), sharex=True)
    a1.loglog(group.sigmas, group.mean_energy, "o-", ms=3)
    a1.axhline(group.energy_identity, color="0.5", ls=":", lw=1, label="E at the identity")
    a1.set_ylabel("⟨E_samp⟩")
    a1.legend(fontsize=8)
    a2.semilogx(group.sigmas, group.effective_dim, "o-", ms=3)
    p = group.family.num_params
    for d in range(p + 1):
        a2.axhline(d, color="0.85", lw=0.8, zorder=0)
    a2.set_ylim(-1, p + 1)
    a2.set_ylabel("d_eff = P − N(⟨E⟩ − E₀)/σ'²")
    a2.set_xlabel("σ'")
    if group.chosen is not None:
        for ax in (a1, a2):
            ax.axvline(group.chosen_sigma, color="tab:red", lw=1.2)
        a2.annotate(f"chosen σ' = {group.chosen_sigma:.3g} (d = {group.dimension})", (group.chosen_sigma, group.dimension),
                    textcoords="offset points", xytext=(8, 10), color="tab:red", fontsize=9)
    a1.set_title("Choosing σ': samples fill the box (right), lie on the group (plateau), collapse (left)",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def group_pairs_figure(conservation, path: Path, *, max_params: int = 6) -> None:
    """Pairwise scatter of the sampled entries at the chosen σ', with each fitted relation's curve h = 0."""
    group, fit, fam = conservation.group, conservation.fit, conservation.family
    x = group.chosen_samples
    names = list(fam.names)[:max_params]
    p = len(names)
    if p < 2 or x.size == 0:
        return
    fig, axes = plt.subplots(p - 1, p - 1, figsize=(2.4 * (p - 1) + 0.6, 2.4 * (p - 1) + 0.4), squeeze=False)
    ident = fam.identity
    for i, j in itertools.product(range(p - 1), range(p - 1)):
        ax = axes[i, j]
        if j > i:
            ax.axis("off")
            continue
        xi, yi = j, i + 1  # x axis: parameter j, y axis: parameter i + 1
        ax.scatter(x[:, xi], x[:, yi], s=2, alpha=0.35, color="tab:blue", rasterized=True)
        ax.plot(ident[xi], ident[yi], "k+", ms=8)
        if fit is not None:
            _relation_curves(ax, fit, fam, xi, yi, x)
        if i == p - 2:
            ax.set_xlabel(names[xi])
        if j == 0:
            ax.set_ylabel(names[yi])
    sigma = group.chosen_sigma
    fig.suptitle(f"sampled invariant maps at σ' = {sigma:.3g} and the fitted relations (red)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _relation_curves(ax, fit, fam, xi, yi, x):
    names = list(fam.names)
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = 0.1 * (hi - lo + 1e-9)
    gx, gy = np.meshgrid(np.linspace(lo[xi] - pad[xi], hi[xi] + pad[xi], 120),
                         np.linspace(lo[yi] - pad[yi], hi[yi] + pad[yi], 120))
    for rel in fit.relations:
        vars_ = list(rel.variables)
        if not {names[xi], names[yi]} <= set(vars_):
            continue
        point = np.tile(fam.identity[[names.index(v) for v in vars_]], (gx.size, 1))
        point[:, vars_.index(names[xi])] = gx.ravel()
        point[:, vars_.index(names[yi])] = gy.ravel()
        h = np.prod(point[:, None, :] ** rel.exponents[None], axis=-1) @ rel.coefficients
        ax.contour(gx, gy, h.reshape(gx.shape), levels=[0.0], colors="tab:red", linewidths=1.2)


def laws_along_trajectories_figure(laws, dataset, path: Path, *, max_laws: int = 4, max_trajectories: int = 6) -> None:
    """Each law evaluated along a few trajectories: flat lines are conservation, drifts are not."""
    laws = laws[:max_laws]
    if not laws:
        return
    symbols = [sympy.Symbol(c) for c in dataset.coordinate_names]
    fig, axes = plt.subplots(len(laws), 1, figsize=(6.4, 2.1 * len(laws) + 0.4), squeeze=False, sharex=True)
    x, t = dataset.x[:max_trajectories], dataset.t[:max_trajectories]
    for ax, law in zip(axes[:, 0], laws):
        expr = law.sympy()  # built from Symbols by the route; never parsed from text
        try:
            if not expr.free_symbols <= set(symbols):
                raise ValueError("the law uses symbols that are not coordinates")
            fn = sympy.lambdify(symbols, expr, "numpy")
            for k in range(x.shape[0]):
                vals = np.broadcast_to(fn(*[x[k, :, i] for i in range(x.shape[-1])]), t[k].shape)
                ax.plot(t[k], vals, lw=1)
        except (TypeError, ValueError, NameError):
            ax.text(0.5, 0.5, "cannot evaluate", transform=ax.transAxes, ha="center")
        ax.set_ylabel("G", fontsize=8)
        title = law.expression if len(law.expression) < 90 else law.expression[:87] + "…"
        drift = getattr(law, "drift", None)
        if drift is not None:  # the check on held-out trajectories: verdict and relative rate with its interval
            title += (f"\n{drift.verdict}: (dG/dt)/<|G|> = {drift.rate:.3g} [{drift.low:.3g}, {drift.high:.3g}] "
                      "(95 %, held-out)")
        ax.set_title(title, fontsize=8)
    axes[-1, 0].set_xlabel("t")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
