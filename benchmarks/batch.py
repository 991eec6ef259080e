"""Many spectra through the batch runner (issue 12, items 4-5): seconds per spectrum with 1 and 2 workers.

N Nagata-type spectra (``physlaw.measure.spectrum.nagata_data(seed=i)``, n = 301, three Gaussian
peaks, σ = 0.1 drawn with seed i) are analysed by the real spectrum analysis
(``physlaw.measure.selection.deconvolve``: K = 1..4 Gaussian peaks, no background, the noise
estimated over the ladder, a modest sampler: ``--samples``, ``--replicas``, ``--chains``) through
``physlaw.cli._batch.run_batch``, once per worker count:

* ``--workers 1``: in this process, one spectrum after the other (no Dask);
* ``--workers 2``: a ``dask.distributed.LocalCluster`` of 2 single-threaded worker processes.

Each ``run_one`` writes the dataset's ``summary.json`` (the selection, F ± err, p, σ̂ and the
selected model's parameter summaries; figures and netCDF files are left out: this measures the
analysis) and returns its ``table.csv`` row. Recorded per run: wall seconds of the whole batch
(cluster start-up included), CPU seconds of the whole process tree (``getrusage`` self + children,
read after the cluster has closed), per-spectrum wall and CPU of each task, and whether ``table.csv``
is byte-identical across worker counts (the runner's seeds depend on the dataset's name only).
The machine's load (``uptime``) is recorded before and after. The 1000-spectrum time is an
extrapolation from the measured per-spectrum times, not a measurement.

Both runs start from fresh process state (the 1-worker run first, before this process has compiled
anything) with the same persistent compilation cache.

Run:   python benchmarks/batch.py                   (N = 8, S = 300, L = 16, C = 2)
       python benchmarks/batch.py --n 20 --samples 500
Output: benchmarks/results/batch.json and batch.md (or --tag NAME)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def spectrum_one(dataset, stage_dir, seed, options) -> dict:
    """``run_one`` of the benchmark: deconvolve one spectrum, write summary.json, return the table row."""
    import warnings

    import jax.numpy as jnp

    from physlaw.cli._common import key_from_seed, setup_jax

    setup_jax()
    from physlaw.io.atomic import write_json
    from physlaw.measure.selection import deconvolve
    from physlaw.report.batch import summary_row

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = deconvolve(dataset.x, dataset.y, estimate_noise=True, kmax=options["kmax"], shapes="gauss",
                         backgrounds="none", signs="positive", key=key_from_seed(seed),
                         num_samples=options["samples"], num_replicas=options["replicas"],
                         num_chains=options["chains"], precision=options.get("precision"),
                         dtype=None if options.get("float64") else jnp.float32)   # as the CLI: float32
    models = []
    for f in res.fits:
        entry = {"name": f.name, "num_peaks": f.info["num_peaks"], "free_energy": f.free_energy,
                 "free_energy_err": f.free_energy_err, "probability": f.probability,
                 "probability_err": f.probability_err, "noise_sigma": f.noise_sigma}
        if f.name == res.selected:
            entry["parameters"] = res.parameter_summaries(f.name)
        models.append(entry)
    summary = {"data": dataset.source, "seed": seed, "selected": res.selected, "noise_sigma": res.noise_sigma,
               "models": models, "warnings": list(res.warnings)}
    write_json(Path(stage_dir) / "summary.json", summary)
    return summary_row(summary)


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "unknown"


def tree_cpu() -> float:
    """CPU seconds of this process and of its finished children (the Dask workers, once closed)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def run(n: int, workers: int, options: dict, out: Path) -> dict:
    import numpy as np

    from physlaw.cli._batch import run_batch
    from physlaw.io.datasets import NamedDataset
    from physlaw.measure.spectrum import nagata_data

    datasets = []
    for i in range(n):
        x, y, _ = nagata_data(seed=i, n=301)
        datasets.append(NamedDataset(f"nagata_{i:04d}", float(i), x, y, None, f"nagata_data(seed={i})"))
    args = argparse.Namespace(out=str(out), overwrite=False, resume=False)
    cpu0, wall0 = tree_cpu(), time.perf_counter()
    res = run_batch(datasets, spectrum_one, options=options, out_folder_args=args, command="spectrum",
                    seed=0, workers=workers, quiet=True)
    wall = time.perf_counter() - wall0
    cpu = tree_cpu() - cpu0
    task_wall = np.array([res.timings[d.name][0] for d in datasets])
    task_cpu = np.array([res.timings[d.name][1] for d in datasets])
    return {
        "workers": workers, "num_spectra": n, "wall_s": wall, "cpu_s_process_tree": cpu,
        "wall_s_per_spectrum": wall / n, "cpu_s_per_spectrum": cpu / n,
        "task_wall_s": task_wall.tolist(), "task_cpu_s": task_cpu.tolist(),
        "task_wall_s_median": float(np.median(task_wall)), "task_cpu_s_median": float(np.median(task_cpu)),
        "task_wall_s_first": float(task_wall[0]),
        "selected": [r["selected"] for r in res.rows],
        "table_csv": (out / "table.csv").read_text(),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=8, help="number of spectra")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--replicas", type=int, default=16)
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--kmax", type=int, default=4)
    p.add_argument("--precision", type=float, default=None,
                   help="free-energy precision in nat (deconvolve's stopping rule); default: fixed --samples")
    p.add_argument("--float64", action="store_true", help="sample in float64 (the CLI's --float64)")
    p.add_argument("--tag", default="batch")
    a = p.parse_args(argv)
    options = {"kmax": a.kmax, "samples": a.samples, "replicas": a.replicas, "chains": a.chains,
               "precision": a.precision, "float64": a.float64}
    load_start = uptime()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for w in a.workers:
            r = run(a.n, w, options, Path(tmp) / f"w{w}")
            runs.append(r)
            print(f"workers {w}: {r['wall_s']:.1f} s wall, {r['cpu_s_process_tree']:.1f} CPU-s, "
                  f"{r['wall_s_per_spectrum']:.2f} s/spectrum; median task {r['task_wall_s_median']:.2f} s wall "
                  f"{r['task_cpu_s_median']:.2f} CPU-s", flush=True)
    identical = all(r["table_csv"] == runs[0]["table_csv"] for r in runs)
    best = min(runs, key=lambda r: r["wall_s_per_spectrum"])
    # extrapolation: steady-state tasks (median) spread over the workers, plus the measured overhead
    per = {r["workers"]: r["task_wall_s_median"] / r["workers"] for r in runs}
    extrapolated = {str(w): 1000 * s for w, s in per.items()}
    # on an idle machine a task's wall time is its CPU time: 1000 × median task CPU / busy cores
    cores = os.cpu_count() or 1
    cpu_bound = {str(r["workers"]): 1000 * r["task_cpu_s_median"] / min(r["workers"], cores) for r in runs}
    result = {
        "benchmark": "batch", "options": options, "num_spectra": a.n, "n_points": 301,
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "load_start": load_start, "load_end": uptime(),
        "runs": [{k: v for k, v in r.items() if k != "table_csv"} for r in runs],
        "identical_table_csv": identical,
        "extrapolated_1000_spectra_s": extrapolated,
        "extrapolation": "1000 × median task wall / workers (steady state; start-up and compilation not included)",
        "extrapolated_1000_spectra_idle_s": cpu_bound,
        "extrapolation_idle": "1000 × median task CPU s / min(workers, cores): the time on an idle machine",
        "table_csv_workers_1": runs[0]["table_csv"],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{a.tag}.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        f"# Batch: {a.n} Nagata-type spectra through the batch runner (issue 12, items 4-5)", "",
        f"`python benchmarks/batch.py --n {a.n} --samples {a.samples} --replicas {a.replicas} --chains {a.chains}"
        + (f" --precision {a.precision:g}" if a.precision else "") + (" --float64" if a.float64 else "") + "`: "
        f"n = 301, K = 1..{a.kmax} Gaussian peaks, noise estimated, "
        + (f"from {a.samples} sweeps until F is known to {a.precision:g} nat" if a.precision else f"{a.samples} sweeps")
        + f" × {a.replicas} replicas × {a.chains} chains per model, "
        + ("float64" if a.float64 else "float32 (the CLI's default)")
        + f" sampling. Machine: {os.cpu_count()} cores, {platform.platform()}.",
        f"Load at start: `{load_start}`; at end: `{result['load_end']}`.", "",
        "| workers | wall s (batch) | CPU s (process tree) | wall s / spectrum | CPU s / spectrum | median task wall s | "
        "median task CPU s | first task wall s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(f"| {r['workers']} | {r['wall_s']:.1f} | {r['cpu_s_process_tree']:.1f} | "
                     f"{r['wall_s_per_spectrum']:.2f} | {r['cpu_s_per_spectrum']:.2f} | {r['task_wall_s_median']:.2f} | "
                     f"{r['task_cpu_s_median']:.2f} | {r['task_wall_s_first']:.2f} |")
    if len(runs) > 1:
        lines += ["", f"Speed-up of 2 workers over 1 (batch wall): {runs[0]['wall_s'] / runs[-1]['wall_s']:.2f}×."]
    lines += [
        "", f"table.csv identical for workers {a.workers}: **{identical}**.",
        f"Selected: {', '.join(runs[0]['selected'])}.", "",
        "Extrapolated to 1000 spectra (NOT measured; 1000 × median task wall / workers, start-up excluded): "
        + ", ".join(f"{w} worker(s): {s / 60:.1f} min" for w, s in extrapolated.items())
        + f". Best measured: {best['wall_s_per_spectrum']:.2f} s per spectrum (issue 12 target: 1.2 s).",
        "On an idle machine (task wall = task CPU; 1000 × median task CPU s / busy cores, NOT measured): "
        + ", ".join(f"{w} worker(s): {s / 60:.1f} min" for w, s in cpu_bound.items()) + " (target: 20 min).", "",
        "Wall times are inflated by the machine's load (shared cores); CPU seconds are not.",
    ]
    (RESULTS / f"{a.tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
