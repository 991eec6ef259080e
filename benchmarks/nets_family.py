"""The physics-informed network family on the Greydanus tasks and the double pendulum (issue 13).

* Greydanus et al. (2019) spring and pendulum, their protocol (``benchmarks/greydanus.py``): 50
  trajectories, noise 0.1 on q and p, half for training; energy MSE along rollouts of 15 fresh
  initial conditions over t ∈ [0, 20] with each system's correct energy. The LNN and NODE2 train on
  ``(q, q̇)`` converted from the same noisy data (``physlaw.nets.velocity_dataset``) and their
  rollouts are converted back to ``(q, p)`` for the energy.
* Double pendulum, Cranmer et al. (2020)'s setting: no noise, states from the default sampler, LNN
  versus the baseline MLP (target: LNN energy MSE ≤ 1/10 of the baseline's); rollouts over
  t ∈ [0, 10] with the geometric-mean relative error next to its chaos floor.

Every model: MLP 2 hidden layers (width below), Adam with cosine decay from 1e-3, ``--steps`` steps,
float32; full batch on spring and pendulum except the LNN (minibatches of 64 rows, peak step 3e-3:
``MODEL_TRAIN``). Training wall and CPU seconds include compilation. Results are written after every run
(``benchmarks/results/nets_family.{json,md}``).

Run:  python benchmarks/nets_family.py --seeds 0            (≈ 30 min on 2 shared cores)
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import jax

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from physlaw.dynamics import get_system, simulate  # noqa: E402
from physlaw.io.atomic import atomic_path, write_json  # noqa: E402
from physlaw.nets import TrainConfig, evaluate_on_system, hessian_report, train, velocity_dataset  # noqa: E402

PUBLISHED_HNN = {"spring": 3.8e-4, "pendulum": 2.5e-2}  # Greydanus et al. 2019, Table 1 (energy MSE)
# Training settings that differ from the task's (``batch``; peak step 1e-3) for some models. The LNN's
# step costs about 10 MLP passes per row (Hessian, mixed derivative, gradient, then their backward
# pass): with minibatches of 64 rows and a peak step of 3e-3 it trains in ≈ 15 CPU-s instead of
# ≈ 100 (full batch of 750 / 1125 rows at 1e-3), with energy errors within the seed-to-seed spread of
# the full batch (benchmarks/results/nets_family.md).
MODEL_TRAIN = {"lnn": {"batch_size": 64, "learning_rate": 3e-3}}
TASKS = {
    "spring": dict(sim=dict(num_trajectories=50, num_times=30, dt=0.1, noise=0.1), batch=None, width=200,
                   models=("baseline", "hnn", "lnn", "node2"), t_max=20.0, model_train=MODEL_TRAIN),
    "pendulum": dict(sim=dict(num_trajectories=50, num_times=45, dt=3.0 / 44.0, noise=0.1), batch=None, width=200,
                     models=("baseline", "hnn", "lnn", "node2"), t_max=20.0, model_train=MODEL_TRAIN),
    "double-pendulum": dict(sim=dict(num_trajectories=30, num_times=100, dt=0.05, noise=0.0), batch=256, width=128,
                            models=("baseline", "lnn"), t_max=10.0, model_train=MODEL_TRAIN),
}


def _half(data, first: bool):
    n = data.num_trajectories // 2
    sl = slice(None, n) if first else slice(n, None)
    return type(data)(data.q[sl], data.p[sl], data.t[sl], data.coordinate_names, data.metadata, data.dq[sl], data.dp[sl])


def run_one(task: str, kind: str, seed: int, steps: int) -> dict:
    spec = TASKS[task]
    data = simulate(task, jax.random.key(1000 + seed), **spec["sim"])
    train_data = _half(data, True)
    special = spec.get("model_train", {}).get(kind, {})
    batch, lr = special.get("batch_size", spec["batch"]), special.get("learning_rate", 1e-3)
    config = TrainConfig(num_steps=steps, learning_rate=lr, schedule="cosine", batch_size=batch)
    model, info, cfg = train(kind, train_data, key=jax.random.key(seed), config=config,
                             model_settings={"width": spec["width"]})
    metrics = evaluate_on_system(model, get_system(task), jax.random.key(2000 + seed), t_max=spec["t_max"])
    out = {k: v for k, v in metrics.items() if isinstance(v, float) or v is None}
    out.update(task=task, model=kind, seed=seed, batch_size=batch, learning_rate=lr, train_wall_s=info.wall_time, train_cpu_s=info.cpu_time,
               final_train_loss=info.history[-1][1], integrator=getattr(model, "integrator", "rk4"))
    if kind == "lnn":
        out["hessian"] = hessian_report(model, velocity_dataset(train_data).x)
    return out


def machine() -> dict:
    import equinox
    import optax

    return {"cpu_count": os.cpu_count(), "jax": jax.__version__, "equinox": equinox.__version__,
            "optax": optax.__version__, "python": sys.version.split()[0], "device": str(jax.devices()[0]),
            "load_average_1min_at_end": os.getloadavg()[0],
            "note": "2-core CPU shared with ~8 people during the run: wall times are noisy; CPU time is the steadier"}


def _median(values):
    values = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(values) if values else None


def table(runs: list) -> str:
    fmt = lambda v: "—" if v is None else f"{v:.2e}"  # noqa: E731
    lines = ["| task | model | integrator | batch | peak step | energy MSE | HNN published | derivative MSE | GM rel. err. | chaos floor "
             "| VPT | train wall s | train CPU s | seeds |", "|" + "---|" * 14]
    keys = sorted({(r["task"], r["model"]) for r in runs}, key=lambda k: (list(TASKS).index(k[0]), k[1]))
    for task, kind in keys:
        rs = [r for r in runs if r["task"] == task and r["model"] == kind]
        m = {k: _median([r.get(k) for r in rs]) for k in ("energy_mse", "derivative_mse", "gm_relative_error",
                                                          "gm_relative_error_floor", "valid_prediction_time",
                                                          "train_wall_s", "train_cpu_s")}
        lines.append(f"| {task} | {kind} | {rs[0]['integrator']} | {rs[0].get('batch_size') or 'full'} | {rs[0].get('learning_rate', 1e-3):g} | "
                     f"{fmt(m['energy_mse'])} | "
                     f"{fmt(PUBLISHED_HNN.get(task))} | {fmt(m['derivative_mse'])} | {fmt(m['gm_relative_error'])} | "
                     f"{fmt(m['gm_relative_error_floor'])} | {m['valid_prediction_time']:.2f} | "
                     f"{m['train_wall_s']:.1f} | {m['train_cpu_s']:.1f} | {len(rs)} |")
    return "\n".join(lines) + "\n"


def write(runs, args, out: Path, started: float) -> None:
    record = {"command": " ".join(sys.argv), "steps": args.steps, "seeds": args.seeds, "runs": runs,
              "machine": machine(), "elapsed_s": time.time() - started,
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    write_json(out.with_suffix(".json"), record)
    md = (f"# Network family: LNN and NODE2 next to the HNN (issue 13)\n\n"
          f"Command: `{record['command']}`; {args.steps} Adam steps (cosine); medians over the seeds listed per row.\n"
          f"Machine: {record['machine']['cpu_count']} shared cores, load average {record['machine']['load_average_1min_at_end']:.1f} "
          f"at the end; jax {jax.__version__}. {record['date']}.\n\n" + table(runs) +
          "\nEnergy MSE: mean (E(x̂) − E(x))² along rollouts of 15 fresh initial conditions (t ∈ [0, 20]; double "
          "pendulum [0, 10]) with the system's true energy; LNN/NODE2 rollouts in (q, q̇) converted to (q, p). "
          "GM rel. err.: Finzi et al.'s geometric-mean relative rollout error; chaos floor: the same for the true "
          "system from initial states perturbed by 1e-4 (relative). VPT: time until the relative error exceeds 0.1. "
          "HNN published: Greydanus et al. 2019 Table 1 (their pendulum energy used q² + p²).\n")
    with atomic_path(out.with_suffix(".md")) as tmp:
        Path(tmp).write_text(md)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--models", nargs="+", help="restrict to these models")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--out", default=str(HERE / "results" / "nets_family"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    runs, started = [], time.time()
    for seed in args.seeds:
        for task in args.tasks:
            for kind in TASKS[task]["models"]:
                if args.models and kind not in args.models:
                    continue
                r = run_one(task, kind, seed, args.steps)
                runs.append(r)
                print(f"{task} {kind} seed {seed}: energy MSE {r['energy_mse']:.3g}, train {r['train_wall_s']:.1f} s "
                      f"wall / {r['train_cpu_s']:.1f} s CPU", flush=True)
                write(runs, args, out, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
