"""``regress`` with the default options on NIST StRD Pontius (certified quadratic term at 65 σ).

What it answers: with no option beyond the data (models ax, ax+b, poly2, poly3; data-scaled priors;
noise estimated), does ``physlaw.measure.regression.regress`` select the quadratic, with the
certified coefficients inside its intervals and σ̂ near the certified residual SD — and what does the
closed form (``linear.exact_linear`` at each model's own σ̂) say, as a check of the sampled free energies?

Data: ``tests/fixtures/nist/Pontius.dat`` (x from 1.5e5 to 3e6, 40 points; certified
B0 = 6.7357e-4, B1 = 7.3206e-7, B2 = −3.1608e-15 ± 4.87e-17, residual SD 2.0518e-4).

Sampler effort: ``--samples/--replicas/--chains`` (default here 1000 / 24 / 4; the command's are
5000 / 32 / 4) because this 2-core machine is shared.

Run:  python benchmarks/nist_regress.py
Output: benchmarks/results/nist_regress.json and nist_regress.md
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--replicas", type=int, default=24)
    ap.add_argument("--chains", type=int, default=4)
    args = ap.parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)
    from physlaw.io.nist import read_nist
    from physlaw.measure import linear
    from physlaw.measure.regression import regress

    x, y, cert = read_nist(ROOT / "tests" / "fixtures" / "nist" / "Pontius.dat")
    wall0, cpu0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = regress(x, y, key=jax.random.key(0), num_samples=args.samples, num_replicas=args.replicas,
                      num_chains=args.chains)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    sig = np.geomspace(1e-5, 1e-1, 4000)
    exact = {}
    for m in linear.DEFAULT_MODELS:
        f = [linear.exact_linear(x, y, s, m, prior_scale=None).free_energy for s in sig]
        exact[m] = {"F_at_sigma_hat": float(np.min(f)), "sigma_hat": float(sig[int(np.argmin(f))])}
    s = reg.parameter_summaries(reg.selected)["coefficients"] if reg.selected.startswith("poly") else {}
    certified = dict(zip(("c0", "c1", "c2"), cert["parameters"].values()))
    inside = {k: s[k]["interval_95"][0] <= v <= s[k]["interval_95"][1] for k, v in certified.items() if k in s}
    row = {
        "dataset": "Pontius", "n": int(x.size), "verdict": reg.verdict(), "selected": reg.selected,
        "noise_sigma": reg.noise_sigma, "certified_residual_sd": cert["residual_sd"],
        "coefficients": s, "certified": certified, "certified_inside_95": inside,
        "models": [{"name": f.name, "F": f.free_energy, "F_err": f.free_energy_err, "p": f.probability,
                    "noise_sigma": f.noise_sigma, "exact_F_at_own_sigma_hat": exact[f.name]["F_at_sigma_hat"],
                    "exact_sigma_hat": exact[f.name]["sigma_hat"]} for f in reg.fits],
        "warnings": [w for w in reg.warnings if "estimators disagree" not in w],
        "wall_s": wall, "cpu_s": cpu, "load": os.getloadavg(),
        "settings": {"samples": args.samples, "replicas": args.replicas, "chains": args.chains},
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "nist_regress.json").write_text(json.dumps(row, indent=1, default=float))
    lines = ["# regress with default options on NIST Pontius", "",
             f"verdict: {row['verdict']}", "",
             f"σ̂ = {row['noise_sigma']:.4g} (certified residual SD {cert['residual_sd']:.4g}); "
             f"certified coefficients inside the 95 % intervals: {inside}", "",
             "| model | F (sampled) | ± | p | σ̂ | exact F at its own σ̂ | exact σ̂ |", "|---|---|---|---|---|---|---|"]
    for m in row["models"]:
        lines.append(f"| {m['name']} | {m['F']:.3f} | {m['F_err']:.3f} | {m['p']:.3g} | {m['noise_sigma']:.4g} | "
                     f"{m['exact_F_at_own_sigma_hat']:.3f} | {m['exact_sigma_hat']:.4g} |")
    lines += ["", f"wall {wall:.0f} s, CPU {cpu:.0f} s, load {row['load'][0]:.1f}; settings {row['settings']}", ""]
    (OUT / "nist_regress.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
