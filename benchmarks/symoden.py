"""SymODEN on its four tasks (Zhong, Dey & Chakraborty, ICLR 2020) and the energy-shaping controller (issue 13).

Tasks (``physlaw.dynamics`` controlled systems, trained from trajectories under random controls):

1. ``pendulum``: the Gym rod pendulum in ``(q, p)``, ``H = 1.5 p² + 5 (1 − cos q)``, torque at the pivot
   (fully actuated); initial conditions ``q, p ~ U[−π, 2π]`` as in the authors' task-1 data.
2. ``pendulum-embed``: the same pendulum with the angle embedded as ``(cos q, sin q)`` in the networks and
   wrapped angles in the data; initial conditions as Gym's ``reset`` (``θ ~ U[−π, π]``, ``θ̇ ~ U[−1, 1]``).
3. ``cart-pole`` (force on the cart; underactuated), 4. ``acrobot`` (elbow torque; underactuated).

Prediction error, the authors' definition (their ``analyze-*`` scripts): 256 unseen initial conditions,
no control, 40 steps; per trajectory the sum over the 40 predicted states and over the coordinates of the
squared error (the model predicts with its own RK4 steps, one per record as in training; the truth with
ten), in the authors' coordinates (task 1: ``(q, p)``; tasks 2–4: angles as ``(cos, sin)`` and
velocities ``q̇``, the model's ``q̇ = M⁻¹_θ(q) p``); the mean over trajectories. Published SymODEN values:
the authors' figure data (``analyze-train-pred-loss.py`` in their repository, 4-point windows, RK4), by the
number of training initial conditions; we train on 64.

Controller: the task-1 model drives the *true* pendulum from rest hanging down (q = 0) to upright (q = π);
target: within 0.1 rad.

Run: ``python benchmarks/symoden.py [--tasks pendulum,...] [--seeds 0,1,2] [--steps N] [--tag NAME]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.dynamics import closed_loop, get_controlled_system, integrate_held, simulate_controlled
from physlaw.nets import TrainConfig, energy_shaping_controller, train
from physlaw.nets._symoden import closed_loop_summary

RESULTS = Path(__file__).parent / "results"
PUBLISHED = {  # SymODEN prediction error by number of training initial conditions (16, 32, 64, 128, 256, 512, 1024)
    "pendulum": [8.3195, 5.8331, 23.948, 21.003, 14.783, 18.128, 22.164],
    "pendulum-embed": [0.23183, 0.23148, 0.1992, 0.18396, 0.26408, 0.40319, 0.94716],
    "cart-pole": [33.252, 77.723, 11.413, 12.085, 12.629, 11.732, 11.088],
    "acrobot": [1.5161, 2.8168, 2.0734, 2.7492, 1.2519, 2.3067, 1.5636],
}
SIZES = [16, 32, 64, 128, 256, 512, 1024]


def _box(lo, hi):
    lo, hi = jnp.asarray(lo, float), jnp.asarray(hi, float)
    d = lo.shape[0] // 2

    def sample(key):
        x = jax.random.uniform(key, lo.shape, minval=lo, maxval=hi)
        return x[:d], x[d:]

    return sample


TASKS = {
    # name: (system, dt, times per training trajectory, initial-condition box (q.., p..) as velocities?, embed)
    "pendulum": dict(system="pendulum-controlled", dt=0.05, num_times=20, box=([-math.pi, -math.pi], [2 * math.pi, 2 * math.pi]),
                     velocity_box=False, embed=False),
    "pendulum-embed": dict(system="pendulum-controlled", dt=0.05, num_times=20, box=([-math.pi, -1.0], [math.pi, 1.0]),
                           velocity_box=True, embed=True),
    "cart-pole": dict(system="cart-pole", dt=0.02, num_times=20, box=([-1.0, -math.pi, -1.0, -1.0], [1.0, math.pi, 1.0, 1.0]),
                      velocity_box=True, embed=True),
    "acrobot": dict(system="acrobot", dt=0.05, num_times=20, box=([-math.pi, -math.pi, -1.0, -1.0], [math.pi, math.pi, 1.0, 1.0]),
                    velocity_box=True, embed=True),
}


def task_system(name):
    spec = TASKS[name]
    system = get_controlled_system(spec["system"])
    lo, hi = spec["box"]
    box = _box(lo, hi)
    if spec["velocity_box"]:  # the box is over (q, q̇): momenta p = M(q) q̇
        def sample(key):
            q, v = box(key)
            return q, system.mass_fn(q) @ v
    else:
        sample = box
    return dataclasses.replace(system, sample_fn=sample, angles=system.angles if spec["embed"] else ())


def observe(system, x, velocity_fn, embed):
    """The authors' coordinates of states ``x`` ``[..., 2d]``."""
    d = system.dim
    if not embed:
        return x
    q = x[..., :d]
    parts = []
    for i in range(d):
        if i in system.angles:
            parts += [jnp.cos(q[..., i]), jnp.sin(q[..., i])]
        else:
            parts.append(q[..., i])
    v = velocity_fn(x)
    return jnp.concatenate([jnp.stack(parts, -1), v], -1)


def prediction_error(model, system, embed, dt, key, num=256, steps=40):
    x0 = jnp.stack(jax.vmap(lambda k: jnp.concatenate(system.sample_fn(k)))(jax.random.split(key, num)))
    zero = jnp.zeros((steps, system.num_controls))
    truth = jax.jit(jax.vmap(lambda x: integrate_held(system.controlled_field, x, zero, dt, 10)[1:]))(x0)
    d = system.dim
    start = jax.vmap(system.positions_and_velocities)(x0) if model.velocity_data else x0
    pred = jax.jit(jax.vmap(lambda x: model.predict(x.astype(jnp.float32), zero.astype(jnp.float32), dt)[1:]))(start)
    true_obs = observe(system, truth, jax.vmap(jax.vmap(system.velocity)), embed)
    model_velocity = (lambda y: y[..., d:]) if model.velocity_data else jax.vmap(jax.vmap(
        lambda y: model.inverse_mass(y[:d]) @ y[d:]))
    pred_obs = observe(system, pred, model_velocity, embed)
    per_traj = jnp.sum((true_obs - pred_obs) ** 2, axis=(1, 2))
    return float(jnp.mean(per_traj)), float(jnp.std(per_traj)), float(jnp.median(per_traj)), float(jnp.max(per_traj))


def run_task(name, seed, *, num_ics, steps, batch, width, lr, velocities=False):
    spec = TASKS[name]
    system = task_system(name)
    data = simulate_controlled(system, jax.random.key(seed), num_trajectories=num_ics, num_times=spec["num_times"],
                               dt=spec["dt"], seed=seed)
    if velocities:  # measured (q, q'), as the authors' Gym observations: momenta are the network's business
        qv = np.asarray(jax.vmap(jax.vmap(system.positions_and_velocities))(jnp.asarray(data.x)))
        data = dataclasses.replace(data, p=qv[..., system.dim:], dq=None, dp=None)
    if not spec["embed"]:
        data = dataclasses.replace(data, metadata={**data.metadata, "angles": []})
    else:  # wrapped angles, as an instrument or Gym reports them
        q = np.array(data.q)
        q[..., list(system.angles)] = np.angle(np.exp(1j * q[..., list(system.angles)]))
        data = dataclasses.replace(data, q=q)
    config = TrainConfig(num_steps=steps, learning_rate=lr, schedule="cosine", batch_size=batch, eval_every=steps // 4)
    model, info, cfg = train("symoden", data, key=jax.random.key(100 + seed), config=config,
                             model_settings={"width": width, "velocity_data": velocities})
    err, err_sd, err_median, err_max = prediction_error(model, system, spec["embed"], spec["dt"],
                                                       jax.random.key(10_000 + seed))
    row = {"task": name + (" (velocities)" if velocities else ""), "seed": seed, "num_ics": num_ics,
           "velocity_data": velocities, "prediction_error": err, "prediction_error_sd": err_sd,
           "prediction_error_median_trajectory": err_median, "prediction_error_max_trajectory": err_max,
           "published": PUBLISHED[name][SIZES.index(num_ics)] if num_ics in SIZES else None,
           "published_range": [min(PUBLISHED[name]), max(PUBLISHED[name])],
           "train_cpu_s": info.cpu_time, "train_wall_s": info.wall_time, "final_loss": info.history[-1][1],
           "config": cfg}
    if name in ("pendulum", "pendulum-embed"):
        plant = get_controlled_system("pendulum-controlled")
        ctrl = energy_shaping_controller(model, jnp.array([math.pi], jnp.float32))
        xs, us = closed_loop(plant, ctrl, jnp.zeros(2, jnp.float32), dt=0.05, num_times=201,
                             observe=plant.positions_and_velocities if velocities else None)
        row["control"] = closed_loop_summary(xs, us, [math.pi], dt=0.05, angles=(0,))
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--num-ics", type=int, default=64)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--tag", default="symoden")
    ap.add_argument("--velocities", action="store_true",
                    help="train on (q, q') instead of (q, p), as the authors' tasks 2-4 (Gym observations)")
    args = ap.parse_args(argv)
    rows = []
    for name in args.tasks.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            row = run_task(name, seed, num_ics=args.num_ics, steps=args.steps, batch=args.batch, width=args.width,
                           lr=args.lr, velocities=args.velocities)
            rows.append(row)
            ctrl = row.get("control")
            print(f"{name} seed {seed}: prediction error {row['prediction_error']:.4g} (published {row['published']}), "
                  f"train {row['train_cpu_s']:.1f} CPU-s"
                  + (f"; control final error {ctrl['max_final_error']:.3g} rad" if ctrl else ""), flush=True)
    md = ["# SymODEN: four tasks and the energy-shaping controller (issue 13)\n",
          f"Command: `python benchmarks/symoden.py --tasks {args.tasks} --seeds {args.seeds} --num-ics {args.num_ics} "
          f"--steps {args.steps} --batch {args.batch} --width {args.width} --lr {args.lr} --tag {args.tag}"
          + (" --velocities" if args.velocities else "") + "`.",
          f"Machine: {os.cpu_count()} cores ({platform.machine()}), load {os.getloadavg()[0]:.1f}; jax {jax.__version__}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n",
          "| task | seeds | prediction error per seed | median | published SymODEN at this size | published range | ratio "
          "| median over trajectories (per seed) | train CPU s (median) |",
          "|---|---|---|---|---|---|---|---|---|"]
    for name in args.tasks.split(","):
        rs = [r for r in rows if r["task"].split(" (")[0] == name]
        med = float(np.median([r["prediction_error"] for r in rs]))
        pub = rs[0]["published"]
        each = ", ".join(f"{r['prediction_error']:.3g}" for r in rs)
        typical = ", ".join(f"{r['prediction_error_median_trajectory']:.2g}" for r in rs)
        md.append(f"| {rs[0]['task']} | {len(rs)} | {each} | {med:.4g} | {pub} | {rs[0]['published_range'][0]:.3g}–"
                  f"{rs[0]['published_range'][1]:.3g} | {med / pub if pub else float('nan'):.2f} | {typical} | "
                  f"{np.median([r['train_cpu_s'] for r in rs]):.1f} |")
    ctrl = [r for r in rows if "control" in r]
    if ctrl:
        md.append("\nController (the pendulum models; the true pendulum from rest at q = 0 to q = π, Kp 2, Kd 1, 10 s, "
                  "dt 0.05): " + "; ".join(
                      f"{r['task']} seed {r['seed']}: final error {r['control']['max_final_error']:.3g} rad, settling "
                      f"{'never' if r['control']['settling_time'] is None else format(r['control']['settling_time'], '.2f')} s, "
                      f"max |u| {r['control']['max_abs_control'][0]:.3g}" for r in ctrl) + ".")
    md.append("\n" + __doc__.split("\n\n", 1)[1])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.tag}.md").write_text("\n".join(md) + "\n")
    (RESULTS / f"{args.tag}.json").write_text(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
