"""Shared parts of the four ``conservation_*.py`` examples (Mototake 2021's results by the group route).

Not an example itself: the argument parser, the printout and the pairwise figure of the sampled
group (``physlaw.plot.symmetry`` when it is there, else a small matplotlib fallback).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from physlaw.symmetry import generator_similarity


def parser(description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--seed", type=int, default=0, help="PRNG seed (data and run)")
    ap.add_argument("--quick", action="store_true", help="tiny run (seconds) for the tests; results meaningless")
    ap.add_argument("--out", default=None, help="output folder for the figure and summary.json (default: examples/out/<name>)")
    return ap


def run_settings(quick: bool) -> dict:
    """``conserve`` options: the library defaults for a real run, a toy budget for ``--quick``."""
    if quick:
        return {"train_steps": 300, "num_samples": 100, "num_burnin": 50, "num_levels": 12}
    return {}


def report(name: str, res, truth: np.ndarray, out: str | None) -> dict:
    """Print the laws, relations, generator and its |cos| to the truth; write the figure and a summary."""
    d = res.discovery
    out_dir = Path(out or Path(__file__).parent / "out" / name)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(d.message)
    for rel in d.details.get("relations", []):
        print(f"  relation  {rel['expression']}   (rms distance {rel['rms_distance']:.3g})")
    gens = [] if res.fit is None else [np.asarray(g) for g in res.fit.generators]
    cos = [generator_similarity(g, truth) for g in gens]
    for g, c in zip(gens, cos):
        print("  generator [K | c] =\n" + np.array2string(np.round(g, 3), prefix="    "))
        print(f"  |cos| to the true generator: {c:.5f}")
    for law in d.laws:
        print(f"  law: {law.expression} = const")
    print("  timings (s):", res.timings)
    fig_path = out_dir / "group_pairs.png"
    try:
        draw_pairs(res, fig_path)
        print("  figure:", fig_path)
    except Exception as err:  # a figure must not hide the numbers
        print(f"  figure not drawn: {type(err).__name__}: {err}")
    summary = {"name": name, "count": d.count, "message": d.message, "laws": [l.expression for l in d.laws],
               "relations": [r["expression"] for r in d.details.get("relations", [])],
               "chosen_sigma": d.details.get("chosen_sigma"),
               "generators": [np.round(g, 6).tolist() for g in gens], "cos_to_truth": cos, "timings": res.timings}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def draw_pairs(res, path: Path) -> None:
    try:
        from physlaw.plot.symmetry import group_pairs_figure
    except ImportError:
        group_pairs_figure = None
    if group_pairs_figure is not None:
        group_pairs_figure(res, path)
        return
    _fallback_pairs(res, path)


def _fallback_pairs(res, path: Path) -> None:
    """Pairwise scatter of the samples at the chosen σ' with each relation's h = 0 (others at the identity)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import sympy

    fam, x = res.family, res.group.chosen_samples
    names = list(fam.names)
    p = len(names)
    if p < 2 or x.size == 0:
        return
    fig, axes = plt.subplots(p - 1, p - 1, figsize=(2.4 * (p - 1), 2.4 * (p - 1)), squeeze=False)
    syms = [sympy.Symbol(n) for n in names]
    rels = [] if res.fit is None else [sympy.sympify(r.expression) for r in res.fit.relations]
    for i in range(1, p):
        for j in range(p - 1):
            ax = axes[i - 1, j]
            if j >= i:
                ax.axis("off")
                continue
            ax.scatter(x[:, j], x[:, i], s=2, alpha=0.4)
            gx, gy = np.meshgrid(np.linspace(x[:, j].min() - 0.2, x[:, j].max() + 0.2, 100),
                                 np.linspace(x[:, i].min() - 0.2, x[:, i].max() + 0.2, 100))
            for h in rels:
                subs = {s: float(fam.identity[k]) for k, s in enumerate(syms) if k not in (i, j)}
                f = sympy.lambdify((syms[j], syms[i]), h.subs(subs), "numpy")
                z = np.broadcast_to(np.asarray(f(gx, gy), float), gx.shape)
                if np.nanmin(z) < 0 < np.nanmax(z):
                    ax.contour(gx, gy, z, levels=[0], colors="tab:red", linewidths=1)
            ax.set_xlabel(names[j])
            ax.set_ylabel(names[i])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
