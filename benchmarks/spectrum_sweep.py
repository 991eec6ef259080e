"""Per-move cost of the spectrum model's compiled sweep, in the configurations the CLI compiles (issue 12).

What it answers: replica-parameter updates per second of the engine's compiled chunk (100 sweeps of
component-wise moves at 32 replicas, C chains, float32) on the Nagata spectrum (n = 301) for one model
structure: K components of a line shape, optionally padded to ``--pad`` components (a K scan's one
program) and on the all-backgrounds program (``--any-background``, what ``--background auto``
compiles). Only the sampled coordinates are counted. The chunk is timed after a first call that
compiles it; the median of ``--repeats`` calls is reported, with the process's CPU seconds.

Used in the session of 2026-11-30 (night) to find and measure the spectrum cache's table copy: run it
against an older commit's sources with ``PYTHONPATH=<worktree>/src``.

Run:  .venv/bin/python benchmarks/spectrum_sweep.py [--k 3] [--pad 8] [--shape voigt] [--background poly2]
          [--any-background] [--chains 4] [--chain-loop map|vmap] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--pad", type=int, default=None, help="compile for this many components (default: K)")
    p.add_argument("--shape", default="gauss")
    p.add_argument("--background", default="none")
    p.add_argument("--any-background", action="store_true")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--chain-loop", choices=["map", "vmap"], default="vmap")
    p.add_argument("--devices", type=int, default=1, help="XLA host devices the chains are split over, as the CLI")
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)

    import jax

    jax.config.update("jax_num_cpu_devices", args.devices)
    import jax.numpy as jnp
    import numpy as np

    from physlaw.measure import spectrum as sp
    from physlaw.sampling import _kernel as kernel
    from physlaw.sampling import _run, flatten_target

    x, y, s = sp.nagata_data(0)
    target = sp.spectrum_target(x, y, s, args.k, shape=args.shape, background=args.background, dtype=jnp.float32,
                                pad_to=args.pad, any_background=args.any_background)
    flat = flatten_target(target, jax.random.key(0))
    C, L, d = args.chains, 32, flat.dim
    chunk = _run._chunk_fn(flat, "componentwise", 100, 0.5, 0.3, kernel.exchange_log_ratio,
                           devices=args.devices, chain_loop=args.chain_loop)
    extra, sampled = (), d
    if flat.sampled is not None:
        sampled = len(flat.sampled)
        order = list(flat.sampled) + [i for i in range(d) if i not in set(flat.sampled)]
        extra = (jnp.asarray(order, jnp.int32), jnp.asarray(sampled, jnp.int32))
    x0 = jax.vmap(flat.sample_prior)(jax.random.split(jax.random.key(1), C * L)).reshape(C, L, d)
    states = jax.vmap(lambda q: kernel.init(flat, q, flat.data))(x0)
    betas = jnp.asarray(np.concatenate([[0.0], np.geomspace(2e-4, 1.0, L - 1)]), x0.dtype)
    step = jnp.broadcast_to(0.05 * jnp.std(x0.reshape(-1, d), axis=0), (C, L, d)).astype(x0.dtype)
    block = jnp.ones((C, L), x0.dtype)

    def call(seed):
        return jax.block_until_ready(chunk(jax.random.key(seed), states, flat.data, betas, step, block, 0, False,
                                           *extra))

    t0 = time.perf_counter()
    call(2)
    first = time.perf_counter() - t0
    wall, cpu = [], []
    for r in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        call(3 + r)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    w, c = float(np.median(wall)), float(np.median(cpu))
    updates = 100 * C * L * sampled
    print(f"K={args.k} pad={args.pad} shape={args.shape} background={args.background} any={args.any_background} "
          f"C={C} loop={args.chain_loop} devices={args.devices}: dim {d}, sampled {sampled}; {w:.4f} s wall, {c:.4f} CPU-s per chunk; "
          f"{updates / w:.3g} updates/s; first call {first:.2f} s; load {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
