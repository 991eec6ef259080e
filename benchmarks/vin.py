"""Variational integrator network (VIN) vs second-order neural ODE (NODE2), both from positions only.

Data: the Greydanus et al. (2019) mass-spring and ideal-pendulum tasks of ``benchmarks/greydanus.py``
(50 trajectories of 30 / 45 points over t ∈ [0, 3], Gaussian noise 0.1 on q and p, half for
training). Only the noisy positions ``q`` of the training half are used:

* ``vin``: trained on windows of 8 consecutive positions (multi-step rollout loss), each window's two start
  positions trained along with the network (:func:`physlaw.nets.fit_vin`, the default);
* ``vin-fixed-starts``: the same, rolled out from the observed (noisy) start positions (:func:`physlaw.nets.vin_loss`);
* ``node2``: trained on ``(q, q̇)`` with ``q̇`` estimated from the same positions by finite differences
  (``np.gradient``: central inside, one-sided at the ends), and its targets ``(q̇, q̈)`` by finite
  differences of those (the default when a dataset has no stored derivatives).

Both: MLP with 2 hidden tanh layers, Adam with a cosine decay, full batch, float32; the pendulum's angle
enters both networks as (cos q, sin q). Sizes (``SETTINGS``): the VINs 2 × 32, peak step 2e-3, 1500 steps
(≈ 10–15 CPU-s; 2 × 200 at 1e-3 for 2000 steps took 120–180 CPU-s and gave larger position errors); the
NODE2 2 × 200, 1e-3, 2000 steps. ``--steps`` overrides the number of steps of every model.

Evaluation on 15 fresh initial conditions (noise-free, the true system integrated over t ∈ [0, 20]
at the task's dt): the VIN rolls out with its own Störmer–Verlet map at h = dt from the true
``(q(0), q(dt))``; the NODE2 with RK4 (10 substeps) from the true ``(q(0), q̇(0))``. Reported: the
position MSE ``mean (q̂ − q)²`` over all times, and the energy MSE ``mean (E(x̂) − E(x))²`` with the
system's true energy, where the VIN's momenta come from central-difference velocities of its
positions (so both are compared at the interior times 1 … T − 2); train CPU seconds
(``time.process_time``, all threads) and wall seconds (compilation included).

Run:  python benchmarks/vin.py                 (seed 0, both tasks; a few minutes on 2 cores)
      python benchmarks/vin.py --seeds 0 1 2 --tasks spring
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from greydanus import TASKS, _half, machine  # noqa: E402

from physlaw.dynamics import get_system, integrate_system, simulate  # noqa: E402
from physlaw.io.atomic import atomic_path, write_json  # noqa: E402
from physlaw.nets import TrainConfig, rollout, train  # noqa: E402
from physlaw.nets._state import momenta, velocities  # noqa: E402

HERE = Path(__file__).resolve().parent
MODELS = ("vin", "vin-fixed-starts", "node2")
# width, peak learning rate, steps: the VIN's windows cost 6 network gradients each, and its potential
# is a function of d positions only, so a narrow network trains faster and no worse
SETTINGS = {"vin": (32, 2e-3, 1500), "vin-fixed-starts": (32, 2e-3, 1500), "node2": (200, 1e-3, 2000)}


def finite_difference_dataset(data):
    """Positions only: ``p`` replaced by finite-difference velocities, no stored derivatives, no system
    (so the NODE2 takes the ``p`` columns as velocities and its targets from finite differences)."""
    q = np.asarray(data.q, np.float64)
    t = np.asarray(data.t, np.float64)
    v = np.gradient(q, t[0], axis=1)
    meta = {k: v_ for k, v_ in (data.metadata or {}).items() if k not in ("system",)}
    meta.update(system=None, velocities="finite differences of the noisy positions")
    names = tuple(data.coordinate_names[:q.shape[-1]]) + tuple(f"v{i + 1}" for i in range(q.shape[-1]))
    return dataclasses.replace(data, p=v, dq=None, dp=None, metadata=meta, coordinate_names=names)


def evaluate(kind, model, system, key, *, num_trajectories=15, t_max=20.0):
    dt = float(system.dt)
    num_times = int(round(t_max / dt)) + 1
    q0, p0 = jax.vmap(system.sample_fn)(jax.random.split(key, num_trajectories))
    q, p = integrate_system(system, q0, p0, dt, num_times, substeps=20)
    x = jnp.concatenate([q, p], axis=-1)
    d = system.dim
    to_phase = jax.jit(jax.vmap(jax.vmap(lambda y: momenta(system, y))))
    if kind.startswith("vin"):
        qs = jnp.asarray(q, jnp.float32)
        pred_q = jax.jit(jax.vmap(lambda a, b: model.rollout(a, b, dt, num_times - 2)))(qs[:, 0], qs[:, 1])
        v = (pred_q[:, 2:] - pred_q[:, :-2]) / (2 * dt)
        pred_x = to_phase(jnp.concatenate([pred_q[:, 1:-1], v], axis=-1))
    else:
        y0 = jax.vmap(lambda s: velocities(system, s))(x[:, 0])
        pred_y = rollout(model, jnp.asarray(y0, jnp.float32), dt, num_times, substeps=10)
        pred_q = pred_y[..., :d]
        pred_x = to_phase(pred_y)[:, 1:-1]
    energy = jax.vmap(jax.vmap(system.energy))
    e_true = energy(x[:, 1:-1])
    e_pred = energy(jnp.asarray(pred_x, x.dtype))
    return {
        "position_mse": float(np.mean((np.asarray(pred_q, np.float64) - np.asarray(q, np.float64)) ** 2)),
        "energy_mse": float(np.mean((np.asarray(e_pred, np.float64) - np.asarray(e_true, np.float64)) ** 2)),
    }


def run_task(name: str, kind: str, seed: int, steps: int | None) -> dict:
    spec = dict(TASKS[name])
    spec.pop("batch_size")
    system = get_system(name)
    data = simulate(name, jax.random.key(1000 + seed), **spec)
    train_data = _half(data, True)
    width, lr, default_steps = SETTINGS[kind]
    steps = steps or default_steps
    settings = {"width": width, "depth": 2, "activation": "tanh"}
    if name == "pendulum":
        settings["angles"] = "all"
    if kind == "node2":
        train_data = finite_difference_dataset(train_data)
    if kind == "vin-fixed-starts":
        settings["free_starts"] = False
    cfg = TrainConfig(num_steps=steps, learning_rate=lr, schedule="cosine", eval_every=max(steps // 4, 1))
    model, info, model_config = train(kind.split("-")[0], train_data, key=jax.random.key(seed), config=cfg, model_settings=settings)
    metrics = evaluate(kind, model, system, jax.random.key(3000 + seed))
    return {**metrics, "train_cpu_s": info.cpu_time, "train_wall_s": info.wall_time, "steps": steps, "learning_rate": lr,
            "final_train_loss": info.history[-1][1], "model": model_config}


def table(results: dict) -> str:
    lines = ["| task | model | width | steps | position MSE | energy MSE | train CPU s | train wall s |",
             "|---|---|---|---|---|---|---|---|"]
    for task, by_model in results.items():
        for kind, row in by_model.items():
            s = row["summary"]
            first = next(iter(row["runs"].values()))
            lines.append(f"| {task} | {kind} | {first['model'].get('width')} | {first['steps']} | "
                         f"{s['position_mse_median']:.2e} | {s['energy_mse_median']:.2e} | "
                         f"{s['train_cpu_s_median']:.1f} | {s['train_wall_s_median']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["spring", "pendulum"], choices=["spring", "pendulum"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, help="Adam steps of every model [per model: SETTINGS]")
    parser.add_argument("--out", default=str(HERE / "results" / "vin"), help="output prefix (.json, .md)")
    args = parser.parse_args(argv)

    results = {}
    for task in args.tasks:
        results[task] = {}
        for kind in MODELS:
            runs = {}
            for seed in args.seeds:
                r = runs[seed] = run_task(task, kind, seed, args.steps)
                print(f"{task:9s} {kind:6s} seed {seed}: position MSE {r['position_mse']:.2e}  energy MSE "
                      f"{r['energy_mse']:.2e}  train CPU {r['train_cpu_s']:.1f} s (wall {r['train_wall_s']:.1f} s)",
                      flush=True)
            vals = list(runs.values())
            summary = {f"{k}_median": statistics.median(v[k] for v in vals)
                       for k in ("position_mse", "energy_mse", "train_cpu_s", "train_wall_s")}
            results[task][kind] = {"runs": runs, "summary": summary}
    record = {
        "benchmark": "VIN (positions only) vs NODE2 (finite-difference velocities), Greydanus tasks",
        "command": "python benchmarks/vin.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "seeds": args.seeds,
        "steps": args.steps or {k: v[2] for k, v in SETTINGS.items()},
        "settings": {k: {"width": v[0], "learning_rate": v[1], "steps": v[2]} for k, v in SETTINGS.items()},
        "tasks": {k: v for k, v in TASKS.items() if k in args.tasks},
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "results": results,
    }
    out = Path(args.out)
    write_json(out.with_suffix(".json"), record)
    text = table(results)
    m = record["machine"]
    md = (f"# VIN vs NODE2 from positions only (Greydanus tasks)\n\n"
          f"Command: `{record['command']}`; seeds {args.seeds} (medians over seeds; one seed is one draw of data, "
          f"initialisation and test initial conditions, so differences within a factor of a few are not "
          f"significant); Adam steps, widths and step sizes per model in the table (benchmarks/vin.py SETTINGS).\n"
          f"Machine: {m['cpu']} ({m['nproc']} cores, shared with other jobs: noisy timings), jax "
          f"{m['versions']['jax']}; load average {m['load_average_1min_at_end']:.1f} at the end. {record['date']}.\n\n"
          f"{text}\n\nTraining data: noisy positions (noise 0.1) of 25 trajectories; vin trains each window's start pair, "
          f"vin-fixed-starts rolls out from the observed noisy pair; NODE2 velocities by finite "
          f"differences of them. Test: 15 fresh noise-free initial conditions over t ∈ [0, 20]; VIN rolled out "
          f"with its own Störmer–Verlet map at the data step from the true q(0), q(dt); NODE2 with RK4 from the "
          f"true (q(0), q̇(0)). Energy: the system's true energy, VIN momenta from central differences of its "
          f"positions. See the module docstring of benchmarks/vin.py.\n")
    with atomic_path(out.with_suffix(".md")) as tmp:
        tmp.write_text(md)
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
