"""Engine throughput: replica-parameter updates per second of physlaw's exchange Monte Carlo.

What it answers: how fast is the compiled sweep of ``physlaw.sampling`` on CPU, in float32 and float64,
with and without the incremental peak cache, as the number of independent chains C grows?

    updates/s = sweeps × chains × replicas × parameters / seconds of one compiled chunk

The chunk is the engine's own compiled program (``_run._chunk_fn``: a ``lax.scan`` over sweeps of
component-wise Metropolis moves at every rung + neighbour exchanges, vmapped over chains), timed
after compilation (median of the repeats); the compile time (first call minus one execution) is a
separate column. Targets: the linear model ax+b (n = 30 and n = 301, d = 2) and the Nagata (2012)
3-peak Gaussian spectrum (n = 301, d = 9) with and without the O(n) peak cache; L = 32 replicas.

float64 is a process-wide JAX switch, so each dtype runs in its own subprocess (``--worker``).
Both cores: two worker processes pinned with ``taskset`` to cores 0 and 1 and started together
(the aggregate is the sum of their rates over the same wall-clock window), and one process with two
XLA host devices (``--xla_force_host_platform_device_count=2``) and ``jax.pmap`` over them.

Run:  python benchmarks/throughput.py            (full; 14.5 min on 2 cores at load 6–8)
      python benchmarks/throughput.py --quick    (smoke run; ~1 min)
Output: benchmarks/results/throughput.json and throughput.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
NUM_REPLICAS = 32


# ----------------------------------------------------------------------------------------------
# worker: runs inside a subprocess with the dtype (and XLA flags) fixed at start
# ----------------------------------------------------------------------------------------------

def _make_target(problem: str, dtype):
    import numpy as np

    if problem.startswith("linear"):
        from physlaw.measure.linear import linear_target

        n = int(problem.split("-n")[1])
        rng = np.random.default_rng(0)
        x = np.sort(rng.uniform(0.0, 1.0, n))
        y = 1.5 * x + 0.3 + rng.normal(0.0, 0.1, n)
        return linear_target(x, y, 0.1, "ax+b", dtype=dtype)
    from physlaw.measure.spectrum import nagata_data, spectrum_target

    x, y, s = nagata_data(0)
    return spectrum_target(x, y, s, 3, incremental=(problem == "spectrum3-cache"), dtype=dtype)


def _setup(problem: str, chains: int, chunk_size: int, dtype):
    """The compiled chunk and its arguments for C chains of L replicas (ladder geometric, as adapted)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from physlaw.sampling import _kernel as kernel
    from physlaw.sampling import _run, flatten_target

    flat = flatten_target(_make_target(problem, dtype), jax.random.key(0))
    L, d = NUM_REPLICAS, flat.dim
    fn = _run._chunk_fn(flat, "componentwise", chunk_size, 0.5, 0.3, kernel.exchange_log_ratio)
    x0 = jax.vmap(flat.sample_prior)(jax.random.split(jax.random.key(1), chains * L)).reshape(chains, L, d)
    states = jax.vmap(lambda q: kernel.init(flat, q, flat.data))(x0)
    betas = jnp.asarray(np.concatenate([[0.0], np.geomspace(2e-4, 1.0, L - 1)]), x0.dtype)
    sd = jnp.std(x0.reshape(-1, d), axis=0)
    step = jnp.broadcast_to(0.05 * sd, (chains, L, d)).astype(x0.dtype)
    block = jnp.ones((chains, L), x0.dtype)
    return fn, (states, flat.data, betas, step, block), d


def _time_chunk(fn, args, repeats, key0=3):
    import jax

    states, data, betas, step, block = args
    t0 = time.perf_counter()
    out = fn(jax.random.key(2), states, data, betas, step, block, 0, False)
    jax.block_until_ready(out)
    first = time.perf_counter() - t0
    times, cpu = [], []
    for r in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn(jax.random.key(key0 + r), states, data, betas, step, block, 0, False)
        jax.block_until_ready(out)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    _time_chunk.cpu = cpu  # CPU seconds of this process (all its threads) per repeat
    return first, times


def worker_grid(problems, chains_list, chunk_size, repeats):
    import jax
    import jax.numpy as jnp
    import numpy as np

    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    rows = []
    for problem in problems:
        for chains in chains_list:
            fn, args, d = _setup(problem, chains, chunk_size, dtype)
            first, times = _time_chunk(fn, args, repeats)
            med = float(np.median(times))
            updates = chunk_size * chains * NUM_REPLICAS * d
            rows.append(dict(problem=problem, dtype=np.dtype(dtype).name, chains=chains, replicas=NUM_REPLICAS,
                             dim=d, sweeps=chunk_size, repeats=repeats, seconds=times, median_s=med,
                             updates_per_s=updates / med, compile_s=max(first - med, 0.0),
                             cpu_s=_time_chunk.cpu, updates_per_cpu_s=updates / float(np.median(_time_chunk.cpu))))
            print(f"  {rows[-1]['dtype']:8s} {problem:16s} C={chains:3d}  {updates / med:9.3e} upd/s  "
                  f"compile {rows[-1]['compile_s']:.2f} s", file=sys.stderr, flush=True)
    return rows


def worker_concurrent(problem, chains, chunk_size, repeats):
    """Compile, report READY, wait for GO on stdin, then time: for two processes running together."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    fn, args, d = _setup(problem, chains, chunk_size, dtype)
    _time_chunk(fn, args, 1)
    print("READY", flush=True)
    sys.stdin.readline()
    t_start = time.time()
    _, times = _time_chunk(fn, args, repeats)
    t_end = time.time()
    updates = chunk_size * chains * NUM_REPLICAS * d
    return dict(problem=problem, chains=chains, window=[t_start, t_end], seconds=times,
                updates_per_s=updates / float(np.median(times)), total_updates=updates * repeats,
                mean_rate=updates * repeats / sum(times))


def worker_pmap(problem, chains, chunk_size, repeats):
    """C chains split over the two XLA host devices with jax.pmap (C/2 per device)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    ndev = jax.local_device_count()
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    fn, (states, data, betas, step, block), d = _setup(problem, chains, chunk_size, dtype)
    split = lambda a: a.reshape((ndev, a.shape[0] // ndev) + a.shape[1:])  # noqa: E731
    states, step, block = jax.tree_util.tree_map(split, (states, step, block))
    pfn = jax.pmap(lambda k, s, dat, b, st, bl: fn(k, s, dat, b, st, bl, 0, False),
                   in_axes=(0, 0, None, None, 0, 0))

    def call(seed):
        return pfn(jax.random.split(jax.random.key(seed), ndev), states, data, betas, step, block)

    t0 = time.perf_counter()
    jax.block_until_ready(call(2))
    first = time.perf_counter() - t0
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(call(3 + r))
        times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    updates = chunk_size * chains * NUM_REPLICAS * d
    return dict(problem=problem, dtype=np.dtype(dtype).name, chains=chains, devices=ndev, seconds=times,
                median_s=med, updates_per_s=updates / med, compile_s=max(first - med, 0.0))


def worker_main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["grid", "concurrent", "pmap"])
    p.add_argument("--x64", action="store_true")
    p.add_argument("--problems", default="")
    p.add_argument("--chains", default="4")
    p.add_argument("--chunk", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    import jax

    if a.x64:
        jax.config.update("jax_enable_x64", True)
    chains = [int(c) for c in a.chains.split(",")]
    if a.mode == "grid":
        out = worker_grid(a.problems.split(","), chains, a.chunk, a.repeats)
    elif a.mode == "concurrent":
        out = worker_concurrent(a.problems, chains[0], a.chunk, a.repeats)
    else:
        out = worker_pmap(a.problems, chains[0], a.chunk, a.repeats)
    print("RESULT " + json.dumps(out))


# ----------------------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------------------

def _spawn(args, env=None, prefix=()):
    cmd = list(prefix) + [sys.executable, str(Path(__file__).resolve()), "--worker"] + args
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True, env=env)


def _collect(proc):
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed with code {proc.returncode}")
    line = [ln for ln in out.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def machine_info():
    import platform

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for mod in ("jax", "jaxlib", "numpy", "dynesty", "blackjax"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - optional packages
            versions[mod] = None
    return dict(uname=" ".join(platform.uname()), nproc=os.cpu_count(), cpu=cpu, python=platform.python_version(),
                versions=versions)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return worker_main(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run: fewer cases, 1 repeat of a short chunk")
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--problems", default=None, help="comma-separated subset of "
                   "linear-n30,linear-n301,spectrum3-cache,spectrum3-full")
    p.add_argument("--chains", default=None, help="comma-separated chain counts (default 1,4,16,32)")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--no-both-cores", action="store_true", help="skip the two-core runs")
    p.add_argument("--tag", default=None, help="results file stem (default throughput[_quick])")
    a = p.parse_args()
    repeats = a.repeats or (1 if a.quick else 3)
    chunk = 20 if a.quick else 100
    chains = a.chains or ("4" if a.quick else "1,4,16,32")
    problems = a.problems or ("linear-n30,spectrum3-cache" if a.quick
                              else "linear-n30,linear-n301,spectrum3-cache,spectrum3-full")

    info = machine_info()
    info["load_start"] = os.getloadavg()
    t_all = time.perf_counter()
    grid = []
    for x64 in [d == "float64" for d in a.dtypes.split(",")]:
        print(f"grid, {'float64' if x64 else 'float32'}:", file=sys.stderr, flush=True)
        args = ["--mode", "grid", "--problems", problems, "--chains", chains, "--chunk", str(chunk),
                "--repeats", str(repeats)] + (["--x64"] if x64 else [])
        grid += _collect(_spawn(args))

    # Both cores, float32, 3-peak spectrum with the cache.
    both = []
    pair_chains = [] if a.no_both_cores else [8] if a.quick else [4, 16]
    env1 = dict(os.environ, XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    for c in pair_chains:
        procs = [_spawn(["--mode", "concurrent", "--problems", "spectrum3-cache", "--chains", str(c),
                         "--chunk", str(chunk), "--repeats", str(max(repeats, 3))],
                        env=env1, prefix=("taskset", "-c", str(core))) for core in (0, 1)]
        for pr in procs:  # both compiled: start the timed part together
            while pr.stdout.readline().strip() != "READY":
                pass
        for pr in procs:
            pr.stdin.write("GO\n")
            pr.stdin.flush()
        res = [_collect(pr) for pr in procs]
        overlap = min(r["window"][1] for r in res) - max(r["window"][0] for r in res)
        span = max(r["window"][1] for r in res) - min(r["window"][0] for r in res)
        both.append(dict(kind="two pinned processes", chains_per_process=c, chains_total=2 * c,
                         per_process_updates_per_s=[r["updates_per_s"] for r in res],
                         aggregate_updates_per_s=sum(r["updates_per_s"] for r in res),
                         aggregate_over_window=sum(r["total_updates"] for r in res) / span,
                         overlap_s=overlap, span_s=span))
        print(f"  2 pinned processes, C={c} each: aggregate {both[-1]['aggregate_updates_per_s']:.3e} upd/s",
              file=sys.stderr, flush=True)
        env2 = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
        r = _collect(_spawn(["--mode", "pmap", "--problems", "spectrum3-cache", "--chains", str(2 * c),
                             "--chunk", str(chunk), "--repeats", str(max(repeats, 3))], env=env2))
        both.append(dict(kind="pmap over 2 XLA host devices", chains_total=2 * c, **r))
        print(f"  pmap over 2 host devices, C={2 * c}: {r['updates_per_s']:.3e} upd/s", file=sys.stderr, flush=True)

    info["load_end"] = os.getloadavg()
    info["wall_s"] = time.perf_counter() - t_all
    report = dict(machine=info, settings=dict(replicas=NUM_REPLICAS, sweeps_per_chunk=chunk, repeats=repeats,
                                             moves="componentwise", quick=a.quick, prng_seeds=[2, 3, 4, 5, 6, 7]),
                  grid=grid, both_cores=both)
    a.out.mkdir(parents=True, exist_ok=True)
    stem = a.tag or ("throughput_quick" if a.quick else "throughput")
    (a.out / f"{stem}.json").write_text(json.dumps(report, indent=1))
    (a.out / f"{stem}.md").write_text(markdown(report))
    print(markdown(report))


def md_table(header, rows) -> list[str]:
    """Markdown table lines from a header and rows of already formatted cells."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def markdown(rep) -> str:
    m = rep["machine"]
    s = rep["settings"]
    lines = [
        "# Engine throughput (replica-parameter updates per second)",
        "",
        f"Machine: {m['cpu']}, nproc = {m['nproc']}; `{m['uname']}`; shared with other work "
        f"(load average at start {m['load_start'][0]:.2f}, at end {m['load_end'][0]:.2f}).",
        f"Versions: {', '.join(f'{k} {v}' for k, v in m['versions'].items())}; Python {m['python']}.",
        f"L = {s['replicas']} replicas, {s['sweeps_per_chunk']} sweeps per compiled chunk, component-wise moves; "
        f"median of {s['repeats']} timed chunks after compilation. Total wall time {m['wall_s']:.0f} s.",
        "",
        "*per CPU-s*: updates per CPU-second of the process (all its threads); on a loaded machine it "
        "approximates the wall-clock rate the process would have on an idle core.",
        "",
    ]
    lines += md_table(["problem", "d", "dtype", "C=chains", "updates/s (median)", "per CPU-s", "s per chunk",
                       "compile s"],
                      [[r["problem"], str(r["dim"]), r["dtype"], str(r["chains"]), f"{r['updates_per_s']:.3g}",
                        f"{r['updates_per_cpu_s']:.3g}" if "updates_per_cpu_s" in r else "—",
                        f"{r['median_s']:.4f}", f"{r['compile_s']:.2f}"] for r in rep["grid"]])
    if not rep["both_cores"]:
        return "\n".join(lines + [""])
    lines += ["", "Both cores (float32, spectrum3-cache):", "",
              "| how | chains in total | aggregate updates/s | notes |", "|---|---|---|---|"]
    for b in rep["both_cores"]:
        if b["kind"].startswith("two"):
            per = ", ".join(f"{v:.3g}" for v in b["per_process_updates_per_s"])
            lines.append(f"| {b['kind']} (taskset) | {b['chains_total']} | {b['aggregate_updates_per_s']:.3g} | "
                         f"per process {per}; over the common window {b['aggregate_over_window']:.3g} "
                         f"(overlap {b['overlap_s']:.1f} of {b['span_s']:.1f} s) |")
        else:
            lines.append(f"| {b['kind']} | {b['chains_total']} | {b['updates_per_s']:.3g} | "
                         f"compile {b['compile_s']:.2f} s |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
