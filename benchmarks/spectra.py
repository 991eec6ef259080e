"""Spectra as instruments record them, analysed with the defaults of ``physlaw spectrum``.

Cases (each the library call behind ``physlaw spectrum FILE`` with no options, unless noted):

* NIST StRD Gauss1/2/3 (tests/fixtures/nist; two Gaussians on a decaying baseline, generated with
  σ = 2.5; certified centres b4, b7): target K = 2, centres within 1 of the certified values, σ̂
  within 15 % of 2.5.
* The real XPS C 1s region (../shared/data/real/xps/C1s_sample.csv; raw counts, a Shirley-type
  step): target a Shirley or polynomial background, Poisson likelihood, K with p(K | D); and a K
  below the scan's limit (symmetric lines tile the asymmetric main line up to the limit: the defaults
  compare the asymmetric Doniach–Šunjić line on counts).
* A simulated ⁵⁷Fe Mössbauer transmission spectrum (α-Fe sextet, B = 33 T, Lorentzian lines,
  Poisson counts at 6·10⁴ per channel): defaults must find 6 dips; ``--component sextet`` 1 site
  with the hyperfine field within 2 %.

Run: ``python benchmarks/spectra.py [--samples N] [--only NAME,...]``; writes
``benchmarks/results/spectra.{json,md}`` with the answer, the truth and the wall/CPU seconds per case.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "real"


def mossbauer_sextet(seed: int = 0, n: int = 256, field: float = 33.0, baseline: float = 6e4):
    """Velocity (mm/s) and transmission counts of an α-Fe-like sextet (areas 3:2:1, FWHM 0.3 mm/s)."""
    from physlaw.measure.spectrum import SEXTET_PER_TESLA

    v = np.linspace(-10.0, 10.0, n)
    depth = np.array([3, 2, 1, 1, 2, 3]) / 3 * 0.12
    hw = 0.15
    dips = sum(d / (1 + ((v - c) / hw) ** 2) for d, c in zip(depth, SEXTET_PER_TESLA * field))
    counts = np.random.default_rng(seed).poisson(baseline * (1 - dips)).astype(float)
    return v, counts


def cases():
    from physlaw.io.nist import read_nist

    out = {}
    for name in ("Gauss1", "Gauss2", "Gauss3"):
        x, y, cert = read_nist(ROOT / "tests" / "fixtures" / "nist" / f"{name}.dat")
        truth = {"K": 2, "centres": [cert["parameters"]["b4"], cert["parameters"]["b7"]], "sigma": 2.5}
        out[name] = dict(x=x, y=y, options={}, truth=truth)
    c1s = SHARED / "xps" / "C1s_sample.csv"
    if c1s.exists():
        tab = np.loadtxt(c1s, delimiter=",", skiprows=1)
        out["XPS C1s (real)"] = dict(x=tab[:, 0], y=tab[:, 1], options={}, truth={"likelihood": "poisson",
                                     "background": "shirley or polynomial", "main line": 284.6,
                                     "K below the scan's limit": 8})
    v, counts = mossbauer_sextet()
    out["Mossbauer sextet (defaults)"] = dict(x=v, y=counts, options={}, truth={"K": 6, "sign": "negative"})
    out["Mossbauer sextet (--component sextet)"] = dict(
        x=v, y=counts, options={"components": ("sextet",), "shapes": "lorentz"}, truth={"K": 1, "field": 33.0})
    return out


def analyse(case: dict, samples: int, seed: int = 0, float64: bool = False, precision: float | None = None):
    import jax.numpy as jnp

    from physlaw.cli._common import key_from_seed
    from physlaw.measure.selection import deconvolve

    t0, c0 = time.perf_counter(), time.process_time()
    res = deconvolve(case["x"], case["y"], key=key_from_seed(seed), num_samples=samples,
                     dtype=None if float64 else jnp.float32, precision=precision,
                     **case["options"])   # the CLI's default: float32
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    s = res.parameter_summaries()
    best = res.best
    groups = [g for g in s if g != "background"]
    answer = {
        "selected": best.name,
        "K": best.info["num_peaks"],
        "p_K": res.peak_number_probabilities()[best.info["num_peaks"]],
        "background": best.info["background"],
        "shape": best.info["shape"],
        "asymmetry": [s[g]["asymmetry"]["median"] for g in groups if "asymmetry" in s[g]],
        "fwhm": [s[g]["fwhm"]["median"] for g in groups if "fwhm" in s[g]],
        "sign": best.info["sign"],
        "likelihood": res.likelihood,
        "sigma": None if res.likelihood == "poisson" else res.noise_sigma,
        "centres": [s[g]["centre"]["median"] for g in groups],
        "field": [s[g]["field"]["median"] for g in groups if "field" in s[g]],
        "verdict": res.verdict(),
        "notes": res.notes,
        "warnings": res.warnings,
        "num_models": len(res.fits),
    }
    return answer, wall, cpu


def check(name: str, truth: dict, a: dict) -> bool:
    ok = True
    if "K" in truth:
        ok &= a["K"] == truth["K"]
    if "centres" in truth and a["K"] == len(truth["centres"]):
        ok &= all(abs(c - t) < 1.0 for c, t in zip(sorted(a["centres"]), truth["centres"]))
    if "sigma" in truth and a["sigma"] is not None:
        ok &= abs(a["sigma"] / truth["sigma"] - 1) < 0.15
    if "field" in truth:
        ok &= bool(a["field"]) and abs(a["field"][0] / truth["field"] - 1) < 0.02
    if truth.get("sign"):
        ok &= a["sign"] == truth["sign"]
    if "K below the scan's limit" in truth:
        ok &= a["K"] < truth["K below the scan's limit"]
    if truth.get("likelihood"):
        ok &= a["likelihood"] == truth["likelihood"]
    if "background" in truth and " or " in str(truth["background"]):
        ok &= a["background"] in ("shirley", "poly2", "poly3", "linear")
    return bool(ok)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--only", default="", help="comma-separated parts of case names to run")
    ap.add_argument("--tag", default="", help="results file spectra_TAG.{json,md} (default: from --only)")
    ap.add_argument("--float64", action="store_true", help="sample in float64 (the CLI's --float64)")
    ap.add_argument("--precision", type=float, default=None,
                    help="the CLI's --precision NAT (--samples is then the minimum; the CLI's default 500)")
    args = ap.parse_args(argv)
    from physlaw.cli._common import setup_jax

    setup_jax()   # as the CLI: float64 arrays, the persistent compilation cache, one XLA device per core
    rows = {}
    for name, case in cases().items():
        if args.only and not any(o.strip().lower() in name.lower() for o in args.only.split(",")):
            continue
        answer, wall, cpu = analyse(case, args.samples, float64=args.float64, precision=args.precision)
        rows[name] = {"truth": case["truth"], "answer": answer, "ok": check(name, case["truth"], answer),
                      "wall_s": wall, "cpu_s": cpu}
        print(f"{name}: {'OK' if rows[name]['ok'] else 'WRONG'}  {answer['verdict']}  ({wall:.0f} s wall, "
              f"{cpu:.0f} CPU-s)", flush=True)
        write(rows, args)   # after every case: a long run stopped early keeps what it finished
    return 0


def write(rows: dict, args) -> None:
    meta = {"samples": args.samples, "float64": args.float64, "precision": args.precision, "load": os.getloadavg(), "machine": platform.platform(),
            "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    out = ROOT / "benchmarks" / "results"
    suffix = "_" + args.tag if args.tag else ("" if not args.only else "_" + args.only.replace(",", "_").replace(" ", ""))
    (out / f"spectra{suffix}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1, default=float))
    lines = ["# Spectra with the defaults of `physlaw spectrum`", "",
             f"`python benchmarks/spectra.py --samples {args.samples}" + (" --float64" if args.float64 else "")
             + (f" --precision {args.precision:g}" if args.precision else "")
             + (f" --only {args.only!r}" if args.only else "") + f"`; load {meta['load']}, {meta['cpus']} CPUs; "
             + ("float64" if args.float64 else "float32 (the CLI's default)") + " sampling.", "",
             "| case | truth | defaults' answer | right? | wall s | CPU s |", "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['truth']} | {r['answer']['verdict']} | {'yes' if r['ok'] else 'no'} | "
                     f"{r['wall_s']:.0f} | {r['cpu_s']:.0f} |")
    (out / f"spectra{suffix}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
