"""Device throughput: spectra per second and replica-parameter updates per second on whatever JAX sees.

What it answers (issue 12, item 6): how fast is ``physlaw.sampling.run`` on the device JAX runs on — a
GPU when one is there, else the CPU (optionally as N XLA host devices, ``--host-devices N``, the way
``physlaw.cli._common.setup_jax`` spreads chains over cores)?

* **updates/s**: the engine's compiled chunk (``_programs._chunk_fn``, the program ``run`` uses) on the
  Nagata (2012) 3-peak spectrum (n = 301, d = 9, O(n) peak cache), C chains × L replicas, chains spread
  over the devices; ``updates/s = sweeps × C × L × d / seconds`` (median of the timed chunks after
  compilation);
* **spectra/s**: whole ``run`` calls, K = 1..``--kmax`` Gaussian peaks per spectrum, σ known, on
  ``--spectra`` Nagata-type spectra (noise seeds 1, 2, …) after one untimed warm-up spectrum that
  compiles the programs; ``spectra/s = spectra / wall seconds``.

CPU seconds of this process (all threads) are reported next to wall seconds, with the load average.
On a CPU-only machine (CI) run it tiny: the defaults take well under a minute on an idle core.

Run:  python benchmarks/gpu.py                                  (defaults: tiny, CPU or GPU)
      python benchmarks/gpu.py --host-devices 2 --tag gpu_cpu2  (chains over 2 XLA host devices)
      python benchmarks/gpu.py --spectra 100 --chains 64 --samples 2000 --dtype float32  (a GPU)
Output: benchmarks/results/gpu.json and gpu.md (``--tag`` renames them)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host-devices", type=int, default=0, help="XLA host devices on a CPU (0: leave JAX's default)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--replicas", type=int, default=16)
    p.add_argument("--chunk", type=int, default=100, help="sweeps per compiled chunk")
    p.add_argument("--repeats", type=int, default=3, help="timed chunks (updates/s)")
    p.add_argument("--spectra", type=int, default=2, help="timed spectra (spectra/s); 0 skips")
    p.add_argument("--kmax", type=int, default=2)
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--burnin", type=int, default=300)
    p.add_argument("--tag", default="gpu")
    args = p.parse_args(argv)

    import jax

    if args.host_devices:
        jax.config.update("jax_num_cpu_devices", args.host_devices)
    jax.config.update("jax_enable_x64", args.dtype == "float64")
    import jax.numpy as jnp
    import numpy as np

    from physlaw.measure.spectrum import nagata_data, spectrum_target
    from physlaw.sampling import _kernel as kernel
    from physlaw.sampling import flatten_target, run
    from physlaw.sampling._programs import _chunk_fn, _init_fn, default_chain_loop, usable_devices

    dtype = jnp.float32 if args.dtype == "float32" else jnp.float64
    load_start = [round(v, 2) for v in os.getloadavg()]
    c_start, w_start = time.process_time(), time.perf_counter()
    devices = jax.devices()
    res = {"invocation": " ".join(["python", *sys.argv]), "backend": jax.default_backend(),
           "devices": [str(d) for d in devices], "device_kind": devices[0].device_kind,
           "jax": jax.__version__, "args": vars(args), "load_start": load_start}

    # ---- updates/s of the compiled chunk -------------------------------------------------------
    x, y, s = nagata_data(0)
    flat = flatten_target(spectrum_target(x, y, s, 3, incremental=True), jax.random.key(0), dtype)
    C, L, d = args.chains, args.replicas, flat.dim
    n_dev = usable_devices(C, None)
    fn = _chunk_fn(flat, "componentwise", args.chunk, 0.5, 0.3, kernel.exchange_log_ratio, False, n_dev,
                   default_chain_loop())
    x0 = jax.vmap(flat.sample_prior)(jax.random.split(jax.random.key(1), C * L)).reshape(C, L, d)
    states = _init_fn(flat)(x0, flat.data)
    betas = jnp.asarray(np.concatenate([[0.0], np.geomspace(2e-4, 1.0, L - 1)]), dtype)
    step = jnp.broadcast_to(0.05 * jnp.std(x0.reshape(-1, d), axis=0), (C, L, d)).astype(dtype)
    block = jnp.ones((C, L), dtype)
    t0 = time.perf_counter()
    jax.block_until_ready(fn(jax.random.key(2), states, flat.data, betas, step, block, 0, False))
    first = time.perf_counter() - t0
    wall, cpu = [], []
    for r in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        jax.block_until_ready(fn(jax.random.key(3 + r), states, flat.data, betas, step, block, 0, False))
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    updates = args.chunk * C * L * d
    res["updates"] = {"problem": "spectrum3-cache (n=301, d=9)", "chains": C, "replicas": L, "devices_used": n_dev,
                      "chain_loop": default_chain_loop(),
                      "sweeps_per_chunk": args.chunk, "first_call_s": first, "wall_s": wall, "cpu_s": cpu,
                      "updates_per_s": updates / statistics.median(wall),
                      "updates_per_cpu_s": updates / statistics.median(cpu)}
    print(f"updates/s: {res['updates']['updates_per_s']:.3g} (C={C}, L={L}, {n_dev} device(s), {args.dtype})",
          file=sys.stderr)

    # ---- spectra/s of whole runs ---------------------------------------------------------------
    if args.spectra:
        import warnings

        from physlaw.sampling import PhyslawWarning

        def one_spectrum(seed):
            xs, ys, ss = nagata_data(seed)
            out = []
            for k in range(1, args.kmax + 1):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", PhyslawWarning)
                    r = run(jax.random.key(seed), spectrum_target(xs, ys, ss, k, incremental=True),
                            num_samples=args.samples, num_burnin=args.burnin, num_replicas=L, num_chains=C,
                            dtype=dtype)
                out.append(r.free_energy.free_energy)
            return out

        t0 = time.perf_counter()
        one_spectrum(0)
        warm = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        fs = [one_spectrum(seed) for seed in range(1, args.spectra + 1)]
        w, c = time.perf_counter() - t0, time.process_time() - c0
        res["spectra"] = {"count": args.spectra, "models_per_spectrum": args.kmax, "samples": args.samples,
                          "burnin": args.burnin, "warmup_s": warm, "wall_s": w, "cpu_s": c,
                          "spectra_per_s": args.spectra / w, "free_energies": fs}
        print(f"spectra/s: {args.spectra / w:.3g}", file=sys.stderr)

    res["total_wall_s"] = time.perf_counter() - w_start
    res["total_cpu_s"] = time.process_time() - c_start
    res["load_end"] = [round(v, 2) for v in os.getloadavg()]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.tag}.json").write_text(json.dumps(res, indent=2) + "\n")
    u = res["updates"]
    lines = [
        f"# Device throughput (`benchmarks/gpu.py`, tag {args.tag})", "",
        f"Made by: `{res['invocation']}`  ",
        f"Backend: {res['backend']} ({res['device_kind']}), {len(devices)} device(s); jax {res['jax']}; {args.dtype}  ",
        f"Load average: start {load_start}, end {res['load_end']}; this process {res['total_cpu_s']:.1f} CPU-s, "
        f"{res['total_wall_s']:.1f} s wall in all", "",
        "| what | value |", "|---|---|",
        f"| replica-parameter updates/s (wall, median of {args.repeats}) | {u['updates_per_s']:.3g} |",
        f"| updates per CPU-second | {u['updates_per_cpu_s']:.3g} |",
        f"| chunk: C × L × sweeps, devices used | {C} × {L} × {args.chunk}, {n_dev} |",
        f"| first call (compile + run) s | {u['first_call_s']:.2f} |",
    ]
    if args.spectra:
        sp = res["spectra"]
        lines += [f"| spectra/s (K = 1..{args.kmax}, {args.samples} + {args.burnin} sweeps) | {sp['spectra_per_s']:.3g} |",
                  f"| {sp['count']} spectra: wall s, CPU s | {sp['wall_s']:.2f}, {sp['cpu_s']:.2f} |",
                  f"| warm-up spectrum (compiles) s | {sp['warmup_s']:.2f} |"]
    (RESULTS / f"{args.tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
