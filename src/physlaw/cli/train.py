"""``physlaw train``: train a network of the physics-informed family (or the autoencoder) on a dataset."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from physlaw.cli._common import (
    check_network_size, float_between, int_between, key_from_seed, nonnegative_float, positive_int, seed, setup_jax,
)
from physlaw.cli._output import add_output_folder, output_folder

MODEL_CHOICES = ["hnn", "baseline", "port-hnn", "dae", "node2", "lnn", "dhnn", "hnn-separable", "graph-hnn", "vin",
                 "symoden"]
"""``physlaw.nets.DYNAMICS_MODELS``, ``POSITION_MODELS`` and ``CONTROL_MODELS`` plus the DAE (listed here so that ``--help`` does not import JAX)."""
TRAINING_DEFAULTS = {"steps": 2000, "learning_rate": 1e-3, "schedule": "constant", "batch_size": None,
                     "weight_decay": 0.0}
"""Optimiser settings when the command line leaves them out; ``MODEL_TRAINING_DEFAULTS`` overrides them per model."""
MODEL_TRAINING_DEFAULTS = {
    # measured in benchmarks/symoden.py: minibatches of 128 windows, 1200 cosine-decayed steps train in <= 30 CPU-s
    "symoden": {"steps": 1200, "learning_rate": 3e-3, "schedule": "cosine", "batch_size": 128},
    # benchmarks/nets_family.py: minibatches of 64 rows, 1500 cosine steps from 3e-3: 10-14 CPU-s (full batch ~100-130)
    "lnn": {"steps": 1500, "learning_rate": 3e-3, "schedule": "cosine", "batch_size": 64},
    # benchmarks/vin.py: width 32, 1500 cosine steps from 2e-3, full batch: 7-16 CPU-s and a lower position error
    "vin": {"steps": 1500, "learning_rate": 2e-3, "schedule": "cosine"},
    # benchmarks/graph_hnn.py: 10000 cosine steps from 3e-3 on minibatches of 64 rows: 14-18 CPU-s and a 5-body energy
    # error 10x below 4000 steps on batches of 256 (24 CPU-s; batches of 1024: 139)
    "graph-hnn": {"steps": 10000, "learning_rate": 3e-3, "schedule": "cosine", "batch_size": 64},
    # benchmarks/nets_family.py: derivatives (weight 0.3) + rollouts of segments of 50 states, AdamW decay 1,
    # width 64, 1500 cosine steps from 3e-3: energy MSE 9.8e-4 / 1.9e-2 on spring / pendulum (6.9e-3 / 6.9e-2 before)
    "node2": {"steps": 1500, "learning_rate": 3e-3, "schedule": "cosine", "weight_decay": 1.0},
}
MODEL_WIDTHS = {"vin": 32, "node2": 64}
NODE2_ROLLOUTS = {"window": 50, "derivative_weight": 0.3}
"""node2's default training: rollouts over segments of 50 states beside the derivatives (uniform time steps only)."""
"""Hidden units per layer when ``--width`` is left out and the model's class default is not the measured best."""


def uniform_steps(t) -> bool:
    """True when every trajectory of the times ``t`` ``[N, T]`` has one time step throughout."""
    import numpy as np

    from physlaw.nets._mechanics import window_steps

    return window_steps(t, np.arange(np.shape(t)[1])[None])[1] is None


def training_setting(args, name: str):
    """The value of optimiser setting ``name``: the command line's, else the model's default, else the general one."""
    given = getattr(args, name)
    if given is not None:
        return given
    return MODEL_TRAINING_DEFAULTS.get(args.model, {}).get(name, TRAINING_DEFAULTS[name])



def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network (baseline, node2, hnn, hnn-separable, dhnn, port-hnn, lnn, graph-hnn, vin, symoden, dae) "
             "on trajectory data",
        description=(
            "Train a network on a dataset (.npz from 'physlaw simulate', or a trajectory CSV with columns "
            "trajectory, t, coordinates). Dynamics models regress the vector field on the stored derivatives, "
            "or on finite differences; the DAE reconstructs transition pairs. lnn (Lagrangian) and node2 (second-order "
            "neural ODE) train on positions and velocities: simulated Hamiltonian data are converted, in other files "
            "the --p columns are taken as velocities. graph-hnn (pairwise Hamiltonian of N bodies in 2D) takes 4 columns per "
            "body (x, y of every body, then px, py of every body) and, once trained, runs on any number of bodies. "
            "vin (variational integrator network: learned potential and constant mass matrix, Stormer-Verlet update) "
            "trains on the --q positions alone, sampled at a uniform time step, by rolling out windows of 8 positions "
            "from their first two; momentum or velocity columns are ignored (--p is refused). "
            "symoden (Symplectic ODE-Net: learned inverse mass matrix M(q)^-1, potential V(q) and input matrix g(q) of "
            "a system driven by controls u) trains on positions, momenta and the control columns (--u; columns named "
            "u, u1, u2, ... are found by themselves, e.g. from 'physlaw simulate pendulum-controlled'), predicting "
            "windows of 4 states under the recorded controls held between records; 'physlaw control' then drives "
            "the system to a chosen configuration. "
            "Trajectories of unequal length are cut into windows of "
            "--window rows (default: the shortest trajectory). Writes DIR/model.eqx and "
            "DIR/config.json and the last chunk's DIR/checkpoint.eqx with DIR/checkpoint.json when "
            "training ends; while it runs, the latest chunk is checkpointed in .DIR.checkpoints beside DIR. "
            "--resume continues from either (an interrupted run, or a finished one given more --steps)."
        ),
    )
    parser.add_argument("model", choices=MODEL_CHOICES, help="network to train")
    parser.add_argument("data", help=".npz or trajectory CSV file")
    add_output_folder(parser, resume=False)
    parser.add_argument("--steps", type=positive_int, help="optimiser steps [2000; lnn, vin, node2 1500; symoden 1200; graph-hnn 10000]")
    parser.add_argument("--seed", type=seed, default=0, help="random seed [0]")
    parser.add_argument("--learning-rate", type=float_between(0, 10, lo_open=True),
                        help="Adam step size, in (0, 10] [1e-3; lnn, node2, symoden, graph-hnn 3e-3; vin 2e-3]")
    parser.add_argument("--schedule", choices=["constant", "cosine"],
                        help="learning-rate schedule [constant; lnn, node2, vin, symoden, graph-hnn cosine]")
    parser.add_argument("--weight-decay", type=nonnegative_float, help="AdamW weight decay [0; node2 1]")
    parser.add_argument("--batch-size", type=positive_int, help="minibatch size [full batch; lnn 64; symoden 128; graph-hnn 64]")
    parser.add_argument("--validation-fraction", type=float_between(0, 1, hi_open=True), default=0.1,
                        help="rows held out, in [0, 1) [0.1]")
    parser.add_argument("--patience", type=positive_int, help="early stopping: evaluations without improvement [off]")
    parser.add_argument("--eval-every", type=positive_int, default=100, help="steps between validations/checkpoints [100]")
    parser.add_argument("--width", type=int_between(1, 65536), help="hidden units per layer [200; dae 128; graph-hnn, symoden 64; vin 32]")
    parser.add_argument("--depth", type=int_between(1, 64), help="hidden layers, 1 to 64 [2]")
    parser.add_argument("--activation", choices=["tanh", "silu", "relu", "softplus"], help="[tanh; dae silu]")
    parser.add_argument("--latent-dim", type=int_between(1, 65536), help="dae bottleneck [phase-space dimension]")
    parser.add_argument("--lag", type=positive_int, default=1, help="dae transition pairs (x_t, x_{t+lag}) [1]")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the latest checkpoint (.DIR.checkpoints/ of an interrupted run, else "
                             "DIR/checkpoint.eqx) for the remaining steps up to --steps (fresh optimiser state)")
    parser.add_argument("--angles", metavar="I,J|all",
                        help="lnn/node2/vin/symoden: 0-based position indices that are angles (embedded as cos, sin) "
                             "[all for the simulated pendulums, the simulated controlled systems' angles, else none]")
    parser.add_argument("--window", type=int_between(3, 10**8),
                        help="cut trajectories into windows of this many rows [only when their lengths differ: "
                             "the shortest length]")
    parser.add_argument("--fixed-starts", action="store_true",
                        help="vin: roll each training window out from its two observed start positions instead of "
                             "training them with the network (noise-free positions) [trained starts]")
    parser.add_argument("--q", nargs="+", metavar="COLUMN", help="CSV columns to use as positions")
    parser.add_argument("--p", nargs="+", metavar="COLUMN", help="CSV columns to use as momenta")
    parser.add_argument("--velocities", action="store_true",
                        help="symoden: the --p columns are velocities q' (what most experiments measure), not "
                             "momenta; momenta then come from the learned mass matrix [momenta]")
    parser.add_argument("--u", nargs="+", metavar="COLUMN",
                        help="symoden: CSV columns of the control inputs [columns named u, u1, u2, ...]")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from physlaw.errors import InputError

    if args.model == "vin" and args.p:
        raise InputError("vin trains on positions only: drop --p (give the position columns with --q)")
    if args.fixed_starts and args.model != "vin":
        raise InputError(f"--fixed-starts applies to vin, not {args.model}")
    if args.u and args.model != "symoden":
        raise InputError(f"--u (control columns) applies to symoden, not {args.model}")
    if args.velocities and args.model != "symoden":
        raise InputError(f"--velocities applies to symoden, not {args.model} (lnn and node2 take velocities anyway)")
    batch_given = args.batch_size is not None
    for name in TRAINING_DEFAULTS:
        setattr(args, name, training_setting(args, name))
    if not (0 <= args.weight_decay < float("inf")):
        raise InputError(f"--weight-decay must be a finite number >= 0, got {args.weight_decay}")
    width, depth = args.width or 200, args.depth or 2
    check_network_size(width=width, depth=depth)


    from physlaw.io.networks import load_model, load_training_data, save_model
    from physlaw.nets import TrainConfig, train
    from physlaw.report.progress import ProgressBar

    setup_jax(float64=None)

    dataset = load_training_data(args.data, q=args.q, p=args.p, window=args.window, u=args.u)
    rows = dataset.num_trajectories * dataset.num_times
    if not batch_given and args.batch_size is not None:  # a model's default minibatch, never more than the data
        per_trajectory = max(dataset.num_times - 3, 1) if args.model == "symoden" else dataset.num_times  # windows of 4
        available = dataset.num_trajectories * per_trajectory * (1 - args.validation_fraction)
        args.batch_size = args.batch_size if args.batch_size < available else None
    batch = max(min(rows, args.batch_size or rows), int(rows * args.validation_fraction))  # validation: one batch
    check_network_size(width=width, depth=depth, rows=batch, dim=dataset.x.shape[-1])
    folder = output_folder(args, "train")
    ckpt_dir = folder.checkpoint_dir
    init_model, steps = None, args.steps
    settings = {k: getattr(args, k) for k in ("width", "depth", "activation") if getattr(args, k) is not None}
    if args.width is None and args.model in MODEL_WIDTHS:
        settings["width"] = MODEL_WIDTHS[args.model]  # saved in the config, so the model loads the same
    if args.model == "dae" and args.latent_dim is not None:
        settings["latent_dim"] = args.latent_dim
    if args.fixed_starts:
        settings["free_starts"] = False
    if args.model == "node2":
        if uniform_steps(dataset.t):
            settings.update(NODE2_ROLLOUTS)
        else:
            import sys

            print("physlaw train: note: the time steps are uneven, so node2 learns from the derivatives alone "
                  "(its rollout training needs a uniform step)", file=sys.stderr)
    if args.velocities:
        settings["velocity_data"] = True
    if args.angles is not None:
        if args.model not in ("lnn", "node2", "vin", "symoden"):
            raise InputError(f"--angles applies to lnn, node2, vin and symoden, not {args.model}")
        from physlaw.nets import parse_angles

        parse_angles(args.angles, dataset.q.shape[-1])
        settings["angles"] = args.angles
    if args.resume:
        # an interrupted run left .DIR.checkpoints; a finished one keeps its last checkpoint in DIR
        source = next((d for d in (ckpt_dir, Path(args.out)) if (d / "checkpoint.eqx").is_file()), None)
        if source is None:
            raise InputError(f"--resume: no checkpoint to continue from ({ckpt_dir.name}/checkpoint.eqx beside "
                             f"--out {args.out}, or {args.out}/checkpoint.eqx); run without --resume")
        init_model, previous = load_model(source, name="checkpoint", config_file="checkpoint.json")
        if previous["model"]["model"] != args.model:
            raise InputError(f"the checkpoint in {str(source)!r} is a {previous['model']['model']!r} model, not {args.model!r}")
        steps = args.steps - int(previous["checkpoint_step"])
        if steps < 1:
            raise InputError(f"the checkpoint in {str(source)!r} already has {previous['checkpoint_step']} of "
                             f"{args.steps} steps; raise --steps to train longer")
        settings = {k: v for k, v in previous["model"].items() if k not in ("model", "dim")}
    config = TrainConfig(
        num_steps=steps, learning_rate=args.learning_rate, schedule=args.schedule, weight_decay=args.weight_decay,
        batch_size=args.batch_size, validation_fraction=args.validation_fraction, patience=args.patience,
        eval_every=args.eval_every,
    )
    record = {"data": str(args.data), "data_metadata": dataset.metadata, "seed": args.seed, "train": config._asdict()}
    if args.model == "dae":
        record["lag"] = args.lag  # the transition pairs the autoencoder learned

    def checkpoint(model, model_config, step, info):
        save_model(ckpt_dir, model, {**record, "model": model_config, "checkpoint_step": args.steps - steps + step},
                   name="checkpoint", config_file="checkpoint.json")

    with folder as stage:
        model, info, model_config = train(
            args.model, dataset, key=key_from_seed(args.seed), config=config, model_settings=settings,
            lag=args.lag, progress=ProgressBar(unit="step"), checkpoint_fn=checkpoint, init_model=init_model,
        )
        record.update(model=model_config, history=info.history, best_step=info.best_step,
                      num_steps_run=info.num_steps_run, stopped_early=info.stopped_early, wall_time=info.wall_time)
        if args.model == "lnn":
            from physlaw.nets import hessian_report, velocity_dataset

            record["hessian"] = hessian_report(model, velocity_dataset(dataset).x)
        save_model(stage, model, record)
        for name in ("checkpoint.eqx", "checkpoint.json"):  # the last chunk, for a later --resume with more --steps
            if (ckpt_dir / name).is_file():
                shutil.copy2(ckpt_dir / name, stage / name)
    out = Path(args.out)
    last = info.history[-1]
    val = f", validation loss {last[2]:.3g}" if last[2] is not None else ""
    print(f"trained {args.model} for {info.num_steps_run} steps in {info.wall_time:.1f} s: "
          f"training loss {last[1]:.3g}{val}; wrote {out}/model.eqx and {out}/config.json")
    if args.model in ("lnn", "node2", "vin", "symoden") and not model_config.get("angles"):
        import sys

        print("physlaw train: note: no position is treated as a periodic angle; if some are angles (a pendulum's), "
              "train again with --angles I,J (0-based) so that q and q + 2 pi are the same state", file=sys.stderr)
    hess = record.get("hessian")
    if hess and hess["num_near_singular"]:
        import sys

        print(f"physlaw train: warning: the learned d2L/dv2 is near-singular (condition > {hess['threshold']:.0e}) at "
              f"{hess['num_near_singular']} of {hess['num_rows']} training states (first: row {hess['first_near_singular']}); "
              "accelerations there are unreliable (see hessian in config.json)", file=sys.stderr)
    return 0

