"""Latency of the command line: how long does ``physlaw regress`` take from a new process?

What it answers (issue 12, "Latency"): the wall and CPU seconds of a whole ``physlaw regress`` process
on the bundled 25-point file with noise estimation,

    physlaw regress src/physlaw/data/linear_response.csv --estimate-noise --out TMP --quiet

(a) with an empty persistent compilation cache (``PHYSLAW_JAX_CACHE`` = a fresh temporary folder for
every run: everything is compiled) and (b) with a warm one (one shared folder, filled by an untimed
first run: what a user sees from the second run on); plus ``physlaw --help`` and
``physlaw regress --help`` (no JAX should be imported to answer them), a bare ``python -c "import jax"``
for scale (issue 12's targets are ≤ 3 CPU-s warm and ≤ 6 CPU-s cold, about 4× and 8× that), and the
free-energy estimators alone on traces of the regress default shape [4 chains, 5000 sweeps, 32 rungs].

CPU seconds are the child's user + system time (``os.wait4``), which the machine's load does not
inflate the way it inflates wall time; the load average at the start and end is recorded. Cold and
warm runs alternate so that load drift hits both alike. Medians and every individual run are reported.

Run:  .venv/bin/python benchmarks/latency.py                 (3 runs each; ~3 min on 2 cores)
      .venv/bin/python benchmarks/latency.py --repeats 5
      .venv/bin/python benchmarks/latency.py --quick         (1 run each -> latency_quick.*)
Output: benchmarks/results/latency.json and latency.md (``--tag`` renames them)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DATA = ROOT / "src" / "physlaw" / "data" / "linear_response.csv"


def physlaw_command() -> list[str]:
    """The ``physlaw`` console script of this interpreter's environment (else ``python -m physlaw.cli``)."""
    script = Path(sys.executable).parent / "physlaw"
    return [str(script)] if script.exists() else [sys.executable, "-m", "physlaw.cli"]


def timed(argv: list[str], env: dict | None = None) -> dict:
    """Run ``argv`` to completion: wall seconds, the child's CPU seconds (user + system) and exit code."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "user_s": usage.ru_utime,
            "sys_s": usage.ru_stime, "max_rss_mib": usage.ru_maxrss / 1024, "returncode": proc.returncode,
            "stderr_tail": stderr[-500:] if proc.returncode else ""}


def regress_run(cache: Path, data: Path, extra: list[str]) -> dict:
    """One ``physlaw regress`` process with ``PHYSLAW_JAX_CACHE=cache``, writing into a fresh folder."""
    with tempfile.TemporaryDirectory(prefix="physlaw-latency-out-") as tmp:
        argv = [*physlaw_command(), "regress", str(data), "--estimate-noise", "--out", str(Path(tmp) / "out"),
                "--quiet", *extra]
        env = dict(os.environ, PHYSLAW_JAX_CACHE=str(cache))
        result = timed(argv, env)
        result["cache_files_after"] = sum(1 for _ in cache.rglob("*") if _.is_file()) if cache.exists() else 0
        return result


CENSUS = """
import atexit, collections, json, sys
import jax.monitoring as m
counts, secs = collections.Counter(), collections.Counter()
m.register_event_listener(lambda event, **kw: counts.update([event]))
m.register_event_duration_secs_listener(lambda event, d, **kw: (counts.update([event]), secs.update({event: d})))
atexit.register(lambda: open(sys.argv[1], "w").write(json.dumps({"counts": counts, "seconds": secs})))
from physlaw.cli import main
sys.exit(main(sys.argv[2:]))
"""


def compile_census(cache: Path, data: Path) -> dict:
    """One ``physlaw regress`` process with JAX's monitoring events counted (``jax.monitoring``): programs
    traced, lowered and compiled, persistent-cache requests, hits and misses, and the seconds of each stage."""
    with tempfile.TemporaryDirectory(prefix="physlaw-latency-census-") as tmp:
        out = Path(tmp) / "census.json"
        argv = [sys.executable, "-c", CENSUS, str(out), "regress", str(data), "--estimate-noise", "--out",
                str(Path(tmp) / "out"), "--quiet"]
        result = timed(argv, dict(os.environ, PHYSLAW_JAX_CACHE=str(cache)))
        raw = json.loads(out.read_text()) if out.exists() else {"counts": {}, "seconds": {}}
    c, t = raw["counts"], raw["seconds"]
    short = {"/jax/core/compile/jaxpr_trace_duration": "traced", "/jax/core/compile/jaxpr_to_mlir_module_duration":
             "lowered", "/jax/core/compile/backend_compile_duration": "compiled (XLA, or loaded from the cache)",
             "/jax/compilation_cache/compile_requests_use_cache": "persistent-cache requests",
             "/jax/compilation_cache/cache_hits": "persistent-cache hits",
             "/jax/compilation_cache/cache_misses": "persistent-cache misses"}
    return {"wall_s": result["wall_s"], "cpu_s": result["cpu_s"], "returncode": result["returncode"],
            "events": {name: c.get(ev, 0) for ev, name in short.items()},
            "seconds": {name: round(t.get(ev, 0.0), 3) for ev, name in short.items() if ev in t}}


def summary(runs: list[dict]) -> dict:
    ok = [r for r in runs if r["returncode"] == 0]
    if not ok:
        return {"n": 0, "failed": len(runs)}
    return {"n": len(ok), "failed": len(runs) - len(ok),
            "wall_median_s": statistics.median(r["wall_s"] for r in ok),
            "cpu_median_s": statistics.median(r["cpu_s"] for r in ok),
            "wall_s": [round(r["wall_s"], 3) for r in ok], "cpu_s": [round(r["cpu_s"], 3) for r in ok]}


def estimator_timing(repeats: int = 5) -> dict:
    """``physlaw.sampling.free_energy`` alone on synthetic traces [4, 5000, 32]: median CPU and wall s."""
    import numpy as np

    from physlaw.sampling import free_energy

    rng = np.random.default_rng(0)
    betas = np.concatenate([[0.0], np.geomspace(1e-4, 1.0, 31)])
    loglik = -20.0 - 400.0 / (1.0 + 300.0 * betas) + (1.5 + 40.0 / (1.0 + 100.0 * betas)) * rng.standard_normal(
        (4, 5000, 32))
    free_energy(loglik, betas)
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        free_energy(loglik, betas)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return {"shape": [4, 5000, 32], "repeats": repeats, "cpu_median_s": statistics.median(cpu),
            "wall_median_s": statistics.median(wall), "cpu_s": cpu, "wall_s": wall}


def versions() -> dict:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("physlaw", "jax", "jaxlib", "numpy", "scipy", "arviz", "xarray", "matplotlib", "equinox"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return {"platform": platform.platform(), "cpu": model, "cpu_count": os.cpu_count(),
            "git": git.stdout.strip() or None}


def write_markdown(path: Path, res: dict) -> None:
    cold, warm = res["regress"]["cold"], res["regress"]["warm"]

    def row(name, s):
        if not s.get("n"):
            return f"| {name} | failed | | | |"
        return (f"| {name} | {s['cpu_median_s']:.2f} | {s['wall_median_s']:.2f} | "
                f"{', '.join(f'{v:.2f}' for v in s['cpu_s'])} | {', '.join(f'{v:.2f}' for v in s['wall_s'])} |")

    est = res["free_energy_estimators"]
    lines = [
        "# Latency of `physlaw regress` (issue 12)",
        "",
        f"Command: `{res['command']}`  ",
        f"Made by: `{res['invocation']}`  ",
        f"Machine: {res['machine']['cpu']} ({res['machine']['cpu_count']} CPUs), {res['machine']['platform']}; "
        f"git {res['machine']['git']}  ",
        f"Load average (1, 5, 15 min): start {res['load_start']}, end {res['load_end']}  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items() if v),
        "",
        "CPU s = the child process's user + system time; medians over the runs, then every run.",
        "",
        "| what | CPU s (median) | wall s (median) | CPU s (runs) | wall s (runs) |",
        "|---|---|---|---|---|",
        row("`regress` cold: empty compilation cache", cold),
        row("`regress` warm: cache filled by an earlier run", warm),
        row("`physlaw regress --help`", res["help"]["regress --help"]),
        row("`physlaw --help`", res["help"]["--help"]),
        row("`python -c 'import jax'` (scale)", res["import_jax"]),
        "",
        "JAX's compilation events in one `regress` process (`jax.monitoring`; a persistent-cache hit still",
        "traces and lowers the program, and counts under 'compiled' with the time to load it):",
        "",
        "| event | cold: count | cold: s | warm: count | warm: s |",
        "|---|---|---|---|---|",
        *[f"| {name} | {res['census']['cold']['events'][name]} | {res['census']['cold']['seconds'].get(name, '')} | "
          f"{res['census']['warm']['events'][name]} | {res['census']['warm']['seconds'].get(name, '')} |"
          for name in res["census"]["cold"]["events"]],
        "",
        f"Free-energy estimators alone (`physlaw.sampling.free_energy`, traces {est['shape']}, median of "
        f"{est['repeats']}): {est['cpu_median_s'] * 1e3:.0f} ms CPU, {est['wall_median_s'] * 1e3:.0f} ms wall.",
        "",
        "Issue 12 measured before this work: 19.6 CPU-s cold, 10.2 CPU-s warm; targets ≤ 6 and ≤ 3 CPU-s.",
        "",
    ]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="timed regress runs per cache state (default 3)")
    p.add_argument("--help-repeats", type=int, default=5, help="timed --help runs (default 5)")
    p.add_argument("--data", type=Path, default=DATA, help="the table to fit (default: the bundled file)")
    p.add_argument("--quick", action="store_true", help="one run of each; writes latency_quick.*")
    p.add_argument("--tag", default=None, help="result file name (default latency, or latency_quick)")
    args = p.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    help_repeats = 1 if args.quick else args.help_repeats
    tag = args.tag or ("latency_quick" if args.quick else "latency")
    RESULTS.mkdir(exist_ok=True)

    load_start = [round(v, 2) for v in os.getloadavg()]
    base = [*physlaw_command(), "regress", str(args.data), "--estimate-noise", "--out", "TMP", "--quiet"]
    res = {"command": " ".join(base), "invocation": " ".join(["python", *sys.argv]), "repeats": repeats,
           "machine": machine(), "versions": versions(), "load_start": load_start}
    tmp_root = Path(tempfile.mkdtemp(prefix="physlaw-latency-"))
    try:
        help_runs = {"--help": [], "regress --help": []}
        for _ in range(help_repeats):
            help_runs["--help"].append(timed([*physlaw_command(), "--help"]))
            help_runs["regress --help"].append(timed([*physlaw_command(), "regress", "--help"]))
        res["help"] = {k: summary(v) for k, v in help_runs.items()}
        jax_runs = [timed([sys.executable, "-c", "import jax"]) for _ in range(help_repeats)]
        res["import_jax"] = summary(jax_runs)

        warm_cache = tmp_root / "warm-cache"
        print("filling the warm cache (untimed run)...", file=sys.stderr)
        res["warm_fill"] = regress_run(warm_cache, args.data, [])
        cold, warm = [], []
        for i in range(repeats):
            print(f"run {i + 1}/{repeats}: cold...", file=sys.stderr)
            cold.append(regress_run(tmp_root / f"cold-cache-{i}", args.data, []))
            print(f"run {i + 1}/{repeats}: warm...", file=sys.stderr)
            warm.append(regress_run(warm_cache, args.data, []))
        res["regress"] = {"cold": summary(cold), "warm": summary(warm), "cold_runs": cold, "warm_runs": warm}
        print("compile census (cold, then warm)...", file=sys.stderr)
        census_cache = tmp_root / "census-cache"
        res["census"] = {"cold": compile_census(census_cache, args.data), "warm": compile_census(census_cache, args.data)}
        res["free_energy_estimators"] = estimator_timing()
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    res["load_end"] = [round(v, 2) for v in os.getloadavg()]

    (RESULTS / f"{tag}.json").write_text(json.dumps(res, indent=2) + "\n")
    write_markdown(RESULTS / f"{tag}.md", res)
    print((RESULTS / f"{tag}.md").read_text())
    failed = [r for r in cold + warm if r["returncode"]]
    for r in failed:
        print(f"a regress run failed (exit {r['returncode']}): {r['stderr_tail']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
