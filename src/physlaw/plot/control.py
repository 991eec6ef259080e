"""Figure of ``physlaw control``: the closed loop's coordinates, momenta and controls against time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure


def closed_loop_figure(t, x, u, target, path: Path, *, names=(), control_names=(), title: str = "") -> None:
    """Positions (with the target as a dashed line), momenta and controls of a closed-loop run."""
    x, u = np.asarray(x), np.asarray(u)
    d = x.shape[-1] // 2
    names = list(names) or [f"q{i + 1}" for i in range(d)] + [f"p{i + 1}" for i in range(d)]
    control_names = list(control_names) or [f"u{i + 1}" for i in range(u.shape[-1])]
    fig = Figure(figsize=(6.4, 6.0), layout="constrained")
    ax_q, ax_p, ax_u = fig.subplots(3, 1, sharex=True)
    for i in range(d):
        line, = ax_q.plot(t, x[:, i], label=names[i])
        ax_q.axhline(target[i], color=line.get_color(), ls="--", lw=0.8)
        ax_p.plot(t, x[:, d + i], label=names[d + i])
    for j in range(u.shape[-1]):
        ax_u.step(t, u[:, j], where="post", label=control_names[j])
    for ax, label in ((ax_q, "positions (target dashed)"), (ax_p, "momenta"), (ax_u, "controls")):
        ax.set_ylabel(label, fontsize=8)
        ax.legend(frameon=False, fontsize=7, loc="upper right")
    ax_u.set_xlabel("t")
    if title:
        ax_q.set_title(title[:100], fontsize=9)
    fig.savefig(path, dpi=130)
