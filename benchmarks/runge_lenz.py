"""The Runge–Lenz vector of planar Kepler from the library route (issue 14, item 4).

Data: ``physlaw.dynamics.simulate("kepler")`` (H = |p|²/2 − 1/|q|, Yoshida-4 with 20 substeps),
160 trajectories × 64 times, trajectories only (the simulator's exact derivatives are dropped:
velocities by 7-point finite differences). Three data sets per seed:

* ``several energies`` — the simulator's default initial conditions (|q| ∈ [0.5, 1.5], speed
  0.8–1.2 × circular): the energy differs between trajectories; Δt = 0.05 and Δt = 0.1 (eccentric
  orbits pass close to the centre, where 7-point differences at Δt = 0.1 are poor: the energy's
  row then fails to separate from the spectrum, in the default library too);
* ``one shell`` — every trajectory on E = −0.5, Δt = 0.1; then ``(E − E0) q_i`` are constant along
  the trajectories too and lie in the library (documented: count 6, not 4).

Library: ``kepler_library`` (monomials up to degree 3, 1/|q|, q_i/|q|; 37 features), and the default
degree-2 + 1/|q| library for comparison (count 2: energy and L; the Runge–Lenz vector is not in it).

Metric: for each true law v (library coefficients of E, L, A1 = p2 L − q1/|q|, A2 = −p1 L − q2/|q|)
the cosine between v and its projection on the found null space (1: inside it); target ≥ 0.99 for
A1, A2. Also the subspace similarity of the found space with the four truths, the count, the gap
and whether the count was weak; CPU and wall seconds of the library step (simulation excluded).

Run:   .venv/bin/python benchmarks/runge_lenz.py            (3 seeds)
       .venv/bin/python benchmarks/runge_lenz.py --seeds 1
Output: benchmarks/results/runge_lenz.json and .md
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import jax
import numpy as np
import sympy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import machine_info, md_table  # noqa: E402

from physlaw.dynamics import simulate  # noqa: E402
from physlaw.symmetry import FunctionLibrary, kepler_library, subspace_similarity, trajectory_laws  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CASES = {  # name: (energy, dt)
    "several energies, dt 0.05": (None, 0.05),
    "several energies, dt 0.1": (None, 0.1),
    "one shell E = -0.5, dt 0.1": (-0.5, 0.1),
}


def truth(lib):
    q1, q2, p1, p2 = lib.symbols
    r = sympy.sqrt(q1**2 + q2**2)
    ang = q1 * p2 - q2 * p1
    laws = {"E": (p1**2 + p2**2) / 2 - 1 / r, "L": ang, "A1": p2 * ang - q1 / r, "A2": -p1 * ang - q2 / r}
    return {k: lib.coefficients(e)[0] for k, e in laws.items()}


def cosines(basis, vectors):
    if basis.shape[0] == 0:
        return {k: 0.0 for k in vectors}
    q, _ = np.linalg.qr(basis.T)
    return {k: float(np.linalg.norm(q.T @ v) / np.linalg.norm(v)) for k, v in vectors.items()}


def run_one(case, energy, dt, seed):
    ds = simulate("kepler", jax.random.key(seed), num_trajectories=160, energy=energy, dt=dt)
    ds = dataclasses.replace(ds, dq=None, dp=None)  # trajectories only
    lib = kepler_library(ds.coordinate_names)
    tv = truth(lib)
    c0, w0 = time.process_time(), time.perf_counter()
    d = trajectory_laws(ds, lib, stencil=7, bootstrap=20, seed=seed)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    cos = cosines(d.arrays["basis"], tv)
    plain = trajectory_laws(ds, FunctionLibrary(ds.coordinate_names, inverse_radius=True), bootstrap=0)
    return {
        "case": case, "seed": seed, "count": d.count, "weak": bool(d.weak), "gap": float(d.gap),
        "smallest_singular_values": [float(s) for s in d.spectrum[-7:]],
        "cos": cos, "subspace_similarity": subspace_similarity(d.arrays["basis"], np.array(list(tv.values()))),
        "cpu_s": cpu, "wall_s": wall, "default_library_count": plain.count,
        "laws": [law.expression for law in d.laws],
    }


def markdown(rep) -> str:
    m = rep["machine"]
    lines = ["# Runge–Lenz vector of planar Kepler from the library route", "",
             f"Machine: {m['cpu']}, nproc = {m['nproc']}; shared (load average at start {rep['load_start'][0]:.2f}, "
             f"at end {rep['load_end'][0]:.2f}). Command: `{rep['command']}`.", "",
             "Per run: count (truth: 4 with several energies, 6 on one shell), cosine of each true law with the "
             "found null space, subspace similarity to {E, L, A1, A2}, library-step CPU/wall seconds.", ""]
    rows = []
    for r in rep["runs"]:
        rows.append([r["case"], str(r["seed"]), str(r["count"]) + (" (weak)" if r["weak"] else ""), f"{r['gap']:.3g}",
                     *(f"{r['cos'][k]:.6f}" if r['cos'][k] < 0.9999 else f"1 − {1 - r['cos'][k]:.1e}"
                       for k in ("E", "L", "A1", "A2")), f"{r['subspace_similarity']:.4f}",
                     str(r["default_library_count"]), f"{r['cpu_s']:.2f}", f"{r['wall_s']:.2f}"])
    lines += md_table(["data", "seed", "count", "gap", "cos E", "cos L", "cos A1", "cos A2", "subspace sim.",
                       "count, degree-2 + 1/r library", "CPU s", "wall s"], rows)
    lines += ["", "## Medians", ""]
    rows = []
    for case in CASES:
        rs = [r for r in rep["runs"] if r["case"] == case]
        if not rs:
            continue
        med = lambda f: float(np.median([f(r) for r in rs]))  # noqa: E731
        rows.append([case, str(len(rs)), f"{med(lambda r: min(r['cos']['A1'], r['cos']['A2'])):.5f}",
                     f"{min(min(r['cos']['A1'], r['cos']['A2']) for r in rs):.5f}",
                     f"{med(lambda r: r['wall_s']):.2f}", f"{med(lambda r: r['cpu_s']):.2f}"])
    lines += md_table(["data", "runs", "median min(cos A1, cos A2)", "worst", "median wall s", "median CPU s"], rows)
    lines += ["", "Target (issue 14): cosine ≥ 0.99 to the true Runge–Lenz vector. One shell: 6 directions are found for "
              "4 truths (the documented (E − E0) q_i), so the subspace similarity is at most 4/6 while every truth lies "
              "in the found space. Δt = 0.1 with several energies: the 7-point differences near perihelion blur the "
              "energy's row (the degree-2 library then misses the energy too); at Δt = 0.05 all four are clean.", ""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--tag", default="runge_lenz")
    p.add_argument("--markdown-only", action="store_true", help="rewrite the .md from the existing .json")
    args = p.parse_args()
    if args.markdown_only:
        rep = json.loads((RESULTS / f"{args.tag}.json").read_text())
        (RESULTS / f"{args.tag}.md").write_text(markdown(rep))
        return
    jax.config.update("jax_enable_x64", True)
    rep = {"machine": machine_info(), "load_start": os.getloadavg(),
           "command": " ".join(["benchmarks/runge_lenz.py"] + sys.argv[1:]), "runs": []}
    RESULTS.mkdir(exist_ok=True)
    for seed in range(args.seeds):
        for case, (energy, dt) in CASES.items():
            r = run_one(case, energy, dt, seed)
            print(case, seed, r["count"], {k: round(v, 5) for k, v in r["cos"].items()}, f"{r['wall_s']:.2f}s", flush=True)
            rep["runs"].append(r)
            rep["load_end"] = os.getloadavg()
            (RESULTS / f"{args.tag}.json").write_text(json.dumps(rep, indent=1))
            (RESULTS / f"{args.tag}.md").write_text(markdown(rep))


if __name__ == "__main__":
    main()
