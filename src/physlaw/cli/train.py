"""``physlaw train``: train a baseline, HNN, port-HNN or autoencoder on a dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from physlaw.cli.simulate import one_line_errors


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
    parser.add_argument("--steps", type=int, default=2000, help="optimiser steps [2000]")
    parser.add_argument("--seed", type=int, default=0, help="random seed [0]")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam step size [1e-3]")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay [0]")
    parser.add_argument("--batch-size", type=int, help="minibatch size [full batch]")
    parser.add_argument("--validation-fraction", type=float, default=0.1, help="rows held out [0.1]")
    parser.add_argument("--patience", type=int, help="early stopping: evaluations without improvement [off]")
    parser.add_argument("--eval-every", type=int, default=100, help="steps between validations/checkpoints [100]")
    parser.add_argument("--width", type=int, help="hidden units per layer [200; dae 128]")
    parser.add_argument("--depth", type=int, help="hidden layers [2]")
    parser.add_argument("--activation", choices=["tanh", "silu", "relu", "softplus"], help="[tanh; dae silu]")
    parser.add_argument("--latent-dim", type=int, help="dae bottleneck [phase-space dimension]")
    parser.add_argument("--lag", type=int, default=1, help="dae transition pairs (x_t, x_{t+lag}) [1]")
    parser.add_argument("--q", nargs="+", metavar="COLUMN", help="CSV columns to use as positions")
    parser.add_argument("--p", nargs="+", metavar="COLUMN", help="CSV columns to use as momenta")
    parser.set_defaults(func=run)
    one_line_errors(parser)


def run(args: argparse.Namespace) -> int:
    from physlaw.errors import InputError

    if args.steps < 1:
        raise InputError(f"--steps must be a positive integer, got {args.steps}")
    for name in ("learning_rate", "weight_decay"):
        value = getattr(args, name)
        if not (value >= 0 and value < float("inf")) or (name == "learning_rate" and value == 0):
            raise InputError(f"--{name.replace('_', '-')} must be a positive finite number, got {value}")
    for name in ("batch_size", "patience", "width", "depth", "latent_dim", "eval_every", "lag"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")

    import jax

    from physlaw.dynamics import load_dataset
    from physlaw.nets import TrainConfig, save_model, train

    dataset = load_dataset(args.data, q=args.q, p=args.p)
    settings = {k: getattr(args, k) for k in ("width", "depth", "activation") if getattr(args, k) is not None}
    if args.model == "dae" and args.latent_dim is not None:
        settings["latent_dim"] = args.latent_dim
    config = TrainConfig(
        num_steps=args.steps, learning_rate=args.learning_rate, weight_decay=args.weight_decay,
        batch_size=args.batch_size, validation_fraction=args.validation_fraction, patience=args.patience,
        eval_every=args.eval_every,
    )
    out = Path(args.out)
    record = {"data": str(args.data), "data_metadata": dataset.metadata, "seed": args.seed, "lag": args.lag,
              "train": config._asdict()}

    def checkpoint(model, model_config, step, info):
        save_model(out, model, {**record, "model": model_config, "checkpoint_step": step}, name="checkpoint",
                   config_file="checkpoint.json")

    model, info, model_config = train(
        args.model, dataset, key=jax.random.key(args.seed), config=config, model_settings=settings,
        lag=args.lag, progress=sys.stderr.isatty(), checkpoint_fn=checkpoint,
    )
    record.update(model=model_config, history=info.history, best_step=info.best_step,
                  num_steps_run=info.num_steps_run, stopped_early=info.stopped_early, wall_time=info.wall_time)
    save_model(out, model, record)
    last = info.history[-1]
    val = f", validation loss {last[2]:.3g}" if last[2] is not None else ""
    print(f"trained {args.model} for {info.num_steps_run} steps in {info.wall_time:.1f} s: "
          f"training loss {last[1]:.3g}{val}; wrote {out}/model.eqx and {out}/config.json")
    return 0
