"""``physlaw compare``: which physics prior (conservative, dissipative, none) do the data support?"""

from __future__ import annotations

import argparse

from physlaw.cli._common import (
    check_network_size, float_between, int_between, key_from_seed, positive_int, seed, setup_jax,
)
from physlaw.cli._output import add_output_folder, output_folder

MODEL_CHOICES = ("baseline", "node2", "hnn", "hnn-separable", "dhnn", "port-hnn", "lnn")
DEFAULT_MODELS = "baseline,node2,hnn,dhnn,port-hnn,lnn"


def _models(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in MODEL_CHOICES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"unknown model(s) {bad or text!r}; choose from {','.join(MODEL_CHOICES)}")
    return list(dict.fromkeys(names))


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="train the network family on one split and weigh the physics priors by evidence",
        description=(
            "Train each model of --models on the same training part of DATA (positions and velocities; simulated "
            "Hamiltonian data are converted, in other files the --p columns are taken as velocities), score each "
            "by an approximate log marginal likelihood (a last-layer linearised Laplace approximation with the "
            "noise level estimated) and report log evidence, p(model | D), the conservative-versus-dissipative "
            "verdict (or that the data cannot tell), validation and held-out rollout errors. Writes "
            "DIR/summary.json, DIR/table.md, DIR/evidence.png, DIR/rollouts.png and DIR/report.html."
        ),
    )
    parser.add_argument("data", help=".npz or trajectory CSV file")
    parser.add_argument("--models", type=_models, default=_models(DEFAULT_MODELS),
                        help=f"comma-separated models from {','.join(MODEL_CHOICES)} [{DEFAULT_MODELS}]")
    add_output_folder(parser, resume=False)
    parser.add_argument("--steps", type=positive_int, default=2000, help="optimiser steps per model [2000]")
    parser.add_argument("--learning-rate", type=float_between(0, 10, lo_open=True), default=1e-3,
                        help="Adam step size (cosine decay) [1e-3]")
    parser.add_argument("--batch-size", type=positive_int, help="minibatch size [full batch]")
    parser.add_argument("--width", type=int_between(1, 4096), default=64, help="hidden units per layer [64]")
    parser.add_argument("--depth", type=int_between(1, 16), default=2, help="hidden layers [2]")
    parser.add_argument("--holdout", type=float_between(0, 1, lo_open=True, hi_open=True), default=0.2,
                        help="held-out fraction: whole trajectories when there are >= 4, else the last part of "
                             "each [0.2]")
    parser.add_argument("--evidence-rows", type=int_between(10, 20000), default=1500,
                        help="training rows (evenly spaced, the same for every model) in the evidence [1500]")
    parser.add_argument("--angles", metavar="I,J|all", help="lnn/node2 angle positions [all for simulated pendulums]")
    parser.add_argument("--window", type=int_between(3, 10**8),
                        help="cut trajectories into windows of this many rows [only when their lengths differ]")
    parser.add_argument("--q", nargs="+", metavar="COLUMN", help="CSV columns to use as positions")
    parser.add_argument("--p", nargs="+", metavar="COLUMN", help="CSV columns to use as velocities (or momenta)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed [0]")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    check_network_size(width=args.width, depth=args.depth)
    setup_jax(float64=None)
    from physlaw.io.networks import load_training_data, save_model
    from physlaw.nets import TrainConfig, parse_angles
    from physlaw.nets._compare import compare_models
    from physlaw.report.compare import write_compare

    dataset = load_training_data(args.data, q=args.q, p=args.p, window=args.window)
    if args.angles is not None:
        parse_angles(args.angles, dataset.q.shape[-1])
    rows = dataset.num_trajectories * dataset.num_times
    check_network_size(width=args.width, depth=args.depth, rows=min(rows, args.batch_size or rows),
                       dim=dataset.x.shape[-1])
    folder = output_folder(args, "compare")
    config = TrainConfig(num_steps=args.steps, learning_rate=args.learning_rate, schedule="cosine",
                         batch_size=args.batch_size, eval_every=max(1, min(100, args.steps)))
    settings = {"width": args.width, "depth": args.depth}

    def progress(kind, i, n):
        print(f"physlaw compare: training {kind} ({i + 1} of {n})", file=sys.stderr, flush=True)

    res = compare_models(dataset, args.models, key=key_from_seed(args.seed), config=config, settings=settings,
                         holdout=args.holdout, angles=args.angles, evidence_rows=args.evidence_rows,
                         progress_fn=progress)
    record = {"models": ",".join(args.models), "steps": args.steps, "learning_rate": args.learning_rate,
              "batch_size": args.batch_size, "width": args.width, "depth": args.depth, "holdout": args.holdout,
              "evidence_rows": args.evidence_rows, "angles": args.angles, "seed": args.seed}
    with folder as stage:
        names = list(dataset.coordinate_names)
        write_compare(res, stage, data=str(args.data), seed=args.seed, settings=record, coordinate_names=names)
        for kind, (model, model_config, _) in res["models_objects"].items():
            (stage / "models" / kind).mkdir(parents=True, exist_ok=True)
            save_model(stage / "models" / kind, model, {"model": model_config, "data": str(args.data),
                                                        "data_metadata": dataset.metadata, "seed": args.seed})
    width = max(len(k) for k in res["models"])
    for kind, r in res["models"].items():
        print(f"{kind:<{width}}  log Z {r['log_evidence']:12.1f}  p {r['p_model']:.3g}  val MSE "
              f"{r['validation_derivative_mse']:.3g}  GM rel. err. {r['gm_relative_error']:.3g}")
    print(f"{res['verdict']}; wrote {args.out}/report.html")
    return 0
