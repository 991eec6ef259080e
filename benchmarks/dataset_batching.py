"""Would one compiled program for many datasets (vmap over datasets) make the batch faster? (issue 12, item 4)

What it answers: the cost per dataset of the engine's compiled chunk (100 sweeps of the 3-peak Nagata
spectrum model, n = 301, 32 replicas × 4 chains, float32, the O(n) peak cache) when D same-shaped
datasets run

* **one after another**: D calls of the engine's own chunk (``physlaw.sampling._programs._chunk_fn``),
  each dataset with its own data, states, ladder and step sizes; and
* **batched**: ONE call of ``jax.jit(jax.vmap(chunk))`` over the D datasets (data, states, ladders,
  step sizes and keys stacked on a leading axis): the "vmap over datasets" of the issue.

Both give the same draws for each dataset (checked: the batched result equals the sequential one
within float32 round-off), so the ratio of the per-dataset times is what batching would save.
One XLA device (no ``setup_jax``): the batched program gets no more cores than the sequential one.
Recorded: median wall and CPU seconds over ``--repeats`` timed calls after compilation, per dataset,
for D = 1, 2, 4, 8, 16, and the machine's load. On a GPU (when JAX sees one) the same script
measures the device's gain from batching.

Run:  python benchmarks/dataset_batching.py [--sizes 1 2 4 8 16] [--repeats 3] [--tag NAME]
Output: benchmarks/results/dataset_batching.{json,md}
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CHAINS, REPLICAS, SWEEPS = 4, 32, 100


def _dataset_args(seed: int, dtype):
    """The chunk's arguments for the Nagata spectrum drawn with ``seed``: (data, states, betas, step, block)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from physlaw.measure.spectrum import nagata_data, spectrum_target
    from physlaw.sampling import _kernel as kernel
    from physlaw.sampling import flatten_target

    x, y, s = nagata_data(seed)
    flat = flatten_target(spectrum_target(x, y, s, 3, dtype=dtype), jax.random.key(0))
    d = flat.dim
    x0 = jax.vmap(flat.sample_prior)(jax.random.split(jax.random.key(seed + 1), CHAINS * REPLICAS))
    x0 = x0.reshape(CHAINS, REPLICAS, d)
    states = jax.vmap(lambda q: kernel.init(flat, q, flat.data))(x0)
    betas = jnp.asarray(np.concatenate([[0.0], np.geomspace(2e-4, 1.0, REPLICAS - 1)]), x0.dtype)
    sd = jnp.std(x0.reshape(-1, d), axis=0)
    step = jnp.broadcast_to(0.05 * sd, (CHAINS, REPLICAS, d)).astype(x0.dtype)
    block = jnp.ones((CHAINS, REPLICAS), x0.dtype)
    return flat, (flat.data, states, betas, step, block)


def _timed(fn, repeats):
    import jax

    jax.block_until_ready(fn(0))      # compile (and warm) first
    wall, cpu = [], []
    for r in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        jax.block_until_ready(fn(r + 1))
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def measure(sizes, repeats):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from physlaw.sampling import _kernel as kernel
    from physlaw.sampling import _run

    dtype = jnp.float32
    rows = []
    made = [_dataset_args(seed, dtype) for seed in range(max(sizes))]
    flat = made[0][0]
    chunk = _run._chunk_fn(flat, "componentwise", SWEEPS, 0.5, 0.3, kernel.exchange_log_ratio)

    def one(key, data, states, betas, step, block):
        return chunk(key, states, data, betas, step, block, 0, False)

    batched = jax.jit(jax.vmap(one))
    for size in sizes:
        args = [m[1] for m in made[:size]]
        stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *args)

        def sequential(r):
            return [one(jax.random.fold_in(jax.random.key(r), i), *a) for i, a in enumerate(args)]

        def together(r):
            keys = jnp.stack([jax.random.fold_in(jax.random.key(r), i) for i in range(size)])
            return batched(keys, *stacked)

        # the same draws either way (the keys are the same per dataset)
        seq_pos = np.stack([np.asarray(out[0].position) for out in sequential(0)])
        bat_pos = np.asarray(together(0)[0].position)
        same = bool(np.allclose(seq_pos, bat_pos, rtol=1e-4, atol=1e-5))
        ws, cs = _timed(sequential, repeats)
        wb, cb = _timed(together, repeats)
        row = {"datasets": size, "sequential_wall_s": ws, "sequential_cpu_s": cs, "batched_wall_s": wb,
               "batched_cpu_s": cb, "same_draws": same,
               "per_dataset_sequential_cpu_ms": 1e3 * float(np.median(cs)) / size,
               "per_dataset_batched_cpu_ms": 1e3 * float(np.median(cb)) / size,
               "per_dataset_sequential_wall_ms": 1e3 * float(np.median(ws)) / size,
               "per_dataset_batched_wall_ms": 1e3 * float(np.median(wb)) / size}
        row["cpu_ratio_batched_over_sequential"] = (row["per_dataset_batched_cpu_ms"]
                                                   / row["per_dataset_sequential_cpu_ms"])
        rows.append(row)
        print(f"D = {size:3d}: per dataset sequential {row['per_dataset_sequential_cpu_ms']:.1f} CPU-ms / "
              f"{row['per_dataset_sequential_wall_ms']:.1f} ms, batched {row['per_dataset_batched_cpu_ms']:.1f} / "
              f"{row['per_dataset_batched_wall_ms']:.1f}, same draws {same}", file=sys.stderr, flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--tag", default="dataset_batching")
    a = p.parse_args(argv)
    import jax

    load0 = os.getloadavg()
    rows = measure(a.sizes, a.repeats)
    load1 = os.getloadavg()
    backend = jax.default_backend()
    RESULTS.mkdir(exist_ok=True)
    meta = {"command": "python benchmarks/dataset_batching.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "backend": backend, "devices": [str(d) for d in jax.devices()], "jax": jax.__version__,
            "machine": platform.platform(), "nproc": os.cpu_count(), "load_start": load0, "load_end": load1,
            "chains": CHAINS, "replicas": REPLICAS, "sweeps": SWEEPS}
    (RESULTS / f"{a.tag}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [f"# Many datasets in one compiled program? (issue 12, item 4; `{a.tag}`)", "",
             f"`{meta['command']}` on {backend} ({', '.join(meta['devices'])}), jax {meta['jax']}; "
             f"{meta['machine']}, {meta['nproc']} CPUs; load average start {load0[0]:.2f}, end {load1[0]:.2f}.",
             f"Chunk: {SWEEPS} sweeps of the 3-peak Nagata model (n = 301, d = 9), {REPLICAS} replicas × {CHAINS} "
             "chains, float32, O(n) peak cache; one device. Medians of the timed calls, per dataset.", "",
             "| datasets D | sequential CPU ms / dataset | batched CPU ms / dataset | batched / sequential (CPU) | "
             "sequential wall ms / dataset | batched wall ms / dataset | same draws |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['datasets']} | {r['per_dataset_sequential_cpu_ms']:.1f} | {r['per_dataset_batched_cpu_ms']:.1f} | "
                     f"{r['cpu_ratio_batched_over_sequential']:.2f} | {r['per_dataset_sequential_wall_ms']:.1f} | "
                     f"{r['per_dataset_batched_wall_ms']:.1f} | {r['same_draws']} |")
    lines += ["", "A ratio below 1 is what one program for many datasets would save per dataset; at or above 1 "
              "the sampling is compute-bound per dataset and batching cannot help on this backend.", ""]
    (RESULTS / f"{a.tag}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
