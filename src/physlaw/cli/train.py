"""``physlaw train``: train a baseline, HNN, port-HNN or autoencoder on a dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from physlaw.cli._common import positive_float, positive_int, seed, key_from_seed


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network (baseline, hnn, port-hnn, dae) on trajectory data",
        description=(
            "Train a network on a dataset (.npz from 'physlaw simulate', or a trajectory CSV with columns "
            "trajectory, t, coordinates). Dynamics models regress the vector field on the stored derivatives, "
            "or on finite differences; the DAE reconstructs transition pairs. Writes DIR/model.eqx, "
            "DIR/config.json and DIR/checkpoint.eqx with DIR/checkpoint.json (the latest chunk)."
        ),
    )
    parser.add_argument("model", choices=["hnn", "baseline", "port-hnn", "dae"], help="network to train")
    parser.add_argument("data", help=".npz or trajectory CSV file")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--steps", type=positive_int, default=2000, help="optimiser steps [2000]")
    parser.add_argument("--seed", type=seed, default=0, help="random seed [0]")
    parser.add_argument("--learning-rate", type=positive_float, default=1e-3, help="Adam step size [1e-3]")
    parser.add_argument("--schedule", choices=["constant", "cosine"], default="constant",
                        help="learning-rate schedule [constant]")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay [0]")
    parser.add_argument("--batch-size", type=positive_int, help="minibatch size [full batch]")
    parser.add_argument("--validation-fraction", type=float, default=0.1, help="rows held out [0.1]")
    parser.add_argument("--patience", type=positive_int, help="early stopping: evaluations without improvement [off]")
    parser.add_argument("--eval-every", type=positive_int, default=100, help="steps between validations/checkpoints [100]")
    parser.add_argument("--width", type=positive_int, help="hidden units per layer [200; dae 128]")
    parser.add_argument("--depth", type=positive_int, help="hidden layers [2]")
    parser.add_argument("--activation", choices=["tanh", "silu", "relu", "softplus"], help="[tanh; dae silu]")
    parser.add_argument("--latent-dim", type=positive_int, help="dae bottleneck [phase-space dimension]")
    parser.add_argument("--lag", type=positive_int, default=1, help="dae transition pairs (x_t, x_{t+lag}) [1]")
    parser.add_argument("--resume", action="store_true",
                        help="continue from DIR/checkpoint.eqx for the remaining steps (fresh optimiser state)")
    parser.add_argument("--q", nargs="+", metavar="COLUMN", help="CSV columns to use as positions")
    parser.add_argument("--p", nargs="+", metavar="COLUMN", help="CSV columns to use as momenta")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from physlaw.errors import InputError

    if not (0 <= args.weight_decay < float("inf")):
        raise InputError(f"--weight-decay must be a finite number >= 0, got {args.weight_decay}")

    import jax

    from physlaw.io.trajectories import load_dataset
    from physlaw.io.networks import load_model, save_model
    from physlaw.nets import TrainConfig, train

    dataset = load_dataset(args.data, q=args.q, p=args.p)
    out = Path(args.out)
    init_model, steps = None, args.steps
    settings = {k: getattr(args, k) for k in ("width", "depth", "activation") if getattr(args, k) is not None}
    if args.model == "dae" and args.latent_dim is not None:
        settings["latent_dim"] = args.latent_dim
    if args.resume:
        init_model, previous = load_model(out, name="checkpoint", config_file="checkpoint.json")
        if previous["model"]["model"] != args.model:
            raise InputError(f"the checkpoint in {str(out)!r} is a {previous['model']['model']!r} model, not {args.model!r}")
        steps = args.steps - int(previous["checkpoint_step"])
        if steps < 1:
            raise InputError(f"the checkpoint in {str(out)!r} already has {previous['checkpoint_step']} of "
                             f"{args.steps} steps; raise --steps to train longer")
        settings = {k: v for k, v in previous["model"].items() if k not in ("model", "dim")}
    config = TrainConfig(
        num_steps=steps, learning_rate=args.learning_rate, schedule=args.schedule, weight_decay=args.weight_decay,
        batch_size=args.batch_size, validation_fraction=args.validation_fraction, patience=args.patience,
        eval_every=args.eval_every,
    )
    record = {"data": str(args.data), "data_metadata": dataset.metadata, "seed": args.seed, "lag": args.lag,
              "train": config._asdict()}

    def checkpoint(model, model_config, step, info):
        save_model(out, model, {**record, "model": model_config, "checkpoint_step": args.steps - steps + step},
                   name="checkpoint", config_file="checkpoint.json")

    model, info, model_config = train(
        args.model, dataset, key=key_from_seed(args.seed), config=config, model_settings=settings,
        lag=args.lag, progress=sys.stderr.isatty(), checkpoint_fn=checkpoint, init_model=init_model,
    )
    record.update(model=model_config, history=info.history, best_step=info.best_step,
                  num_steps_run=info.num_steps_run, stopped_early=info.stopped_early, wall_time=info.wall_time)
    save_model(out, model, record)
    last = info.history[-1]
    val = f", validation loss {last[2]:.3g}" if last[2] is not None else ""
    print(f"trained {args.model} for {info.num_steps_run} steps in {info.wall_time:.1f} s: "
          f"training loss {last[1]:.3g}{val}; wrote {out}/model.eqx and {out}/config.json")
    return 0
