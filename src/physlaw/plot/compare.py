"""Figures of ``physlaw compare``: log evidence and p(model | D) per model; held-out rollouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure registry

CLASS_COLOURS = {"conservative": "C0", "dissipative": "C3", "unstructured": "C7"}


def evidence_figure(summary: dict, path: Path) -> None:
    """Bars of log evidence relative to the best model, coloured by physics class, with p(model | D)."""
    rows = summary["table"]
    names = [r["model"] for r in rows]
    log_z = np.array([r["log_evidence"] if r["log_evidence"] is not None else np.nan for r in rows], float)
    rel = log_z - np.nanmax(log_z)
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.subplots()
    colours = [CLASS_COLOURS.get(r["class"], "k") for r in rows]
    # symlog: gaps run from a few nats to thousands
    ax.bar(names, np.where(np.isfinite(rel), rel, 0.0), color=colours)
    ax.set_yscale("symlog", linthresh=10.0)
    for i, r in enumerate(rows):
        ax.annotate(f"p={r['p_model']:.2g}", (i, 0), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=8)
    ax.set_ylabel("log Z − max log Z  [nats]")
    handles = [ax.bar([0], [0], color=c, label=k, width=0) for k, c in CLASS_COLOURS.items()]
    ax.legend(handles=handles, frameon=False, fontsize=8, loc="lower left")
    ax.set_title(summary["verdict"][:90], fontsize=9)
    fig.savefig(path, dpi=130)


def rollout_figure(times, true, rollouts: dict, path: Path, *, names=None) -> None:
    """The first held-out trajectory: every model's rollout of each coordinate against the data."""
    true = np.asarray(true)
    d2 = true.shape[-1]
    names = names or [f"x{i + 1}" for i in range(d2)]
    fig = Figure(figsize=(6.4, 1.7 * d2 + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(d2, 1, sharex=True))
    for i, ax in enumerate(axes):
        ax.plot(times, true[0, :, i], "k.", ms=2.5, label="held-out data")
        for j, (kind, pred) in enumerate(rollouts.items()):
            ax.plot(times, np.asarray(pred)[0, :, i], lw=1.1, color=f"C{j}", label=kind)
        ax.set_ylabel(names[i])
    axes[0].legend(frameon=False, fontsize=7, ncol=4)
    axes[-1].set_xlabel("t")
    fig.savefig(path, dpi=130)
