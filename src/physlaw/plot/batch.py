"""The overview figure of a batch: the selected model size and the main parameters of every dataset.

One panel per quantity, against the datasets' label (a number in the file or column name, e.g. a
temperature) when every dataset has one, else against the dataset's position in the batch. A
quantity with a 68 % interval (columns ``Q lo68`` and ``Q hi68`` of ``table.csv``) is drawn with
error bars; a dataset without the quantity (e.g. a third peak when K = 2 was selected) is left out
of that panel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure state

MAX_PANELS = 9
SIZE_COLUMNS = ("K",)  # the selected model's size, drawn first when present


def _values(rows, column) -> np.ndarray:
    out = []
    for r in rows:
        v = r.get(column)
        out.append(float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan)
    return np.array(out, dtype=float)


def panel_columns(columns: list[str], rows: list[dict]) -> list[str]:
    """The quantities drawn: K, the noise σ̂, then every quantity with a 68 % interval (table order)."""
    chosen = [c for c in SIZE_COLUMNS if c in columns]
    if "sigma_hat" in columns:
        chosen.append("sigma_hat")
    chosen += [c for c in columns if f"{c} lo68" in columns and f"{c} hi68" in columns and c not in chosen]
    return [c for c in chosen if np.any(np.isfinite(_values(rows, c)))][:MAX_PANELS]


def overview_figure(rows: list[dict], columns: list[str], path: Path, *, title: str = "") -> bool:
    """Draw the overview into ``path`` (PNG); False (and no file) when there is nothing numeric to draw."""
    quantities = panel_columns(columns, rows)
    if not quantities:
        return False
    labels = [r.get("label") for r in rows]
    use_label = all(isinstance(v, (int, float)) and np.isfinite(v) for v in labels)
    t = np.array(labels, dtype=float) if use_label else np.arange(1, len(rows) + 1, dtype=float)
    ncol = min(3, len(quantities))
    nrow = -(-len(quantities) // ncol)
    fig = Figure(figsize=(3.6 * ncol, 2.7 * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for ax, q in zip(axes.flat, quantities):
        y = _values(rows, q)
        ok = np.isfinite(y)
        if f"{q} lo68" in columns:
            lo, hi = _values(rows, f"{q} lo68"), _values(rows, f"{q} hi68")
            err = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
            err = np.where(np.isfinite(err), err, 0.0)
            ax.errorbar(t[ok], y[ok], yerr=err[:, ok], fmt="o", ms=3, lw=0.8, capsize=2)
        else:
            ax.plot(t[ok], y[ok], "o", ms=4)
        if q in SIZE_COLUMNS and ok.any():
            ax.set_yticks(np.unique(y[ok]))
        ax.set_ylabel(q if q != "sigma_hat" else "noise σ̂", fontsize=9)
        ax.set_xlabel("label (from the dataset name)" if use_label else "dataset number", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(quantities):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=110)
    return True
