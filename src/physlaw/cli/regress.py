"""``physlaw regress``: Bayesian polynomial regression (ax, ax+b, poly2 … poly5), noise estimation, model selection."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from physlaw.cli._common import (
    chains_type, check_sampler_size, float_between, key_from_seed, replicas_type,
    samples_type, seed, setup_jax, prefetch,
)
from physlaw.cli._batch import add_batch_options
from physlaw.cli._columns import add_column_options, read_measurement_file
from physlaw.cli._output import add_output_folder, output_folder
from physlaw.errors import InputError

HELP = "fit y = a x, a x + b and polynomials (degree 2-5) by exchange Monte Carlo; select by the free energy"


def register(sub) -> None:
    p = sub.add_parser(
        "regress",
        help=HELP,
        description=(
            "Bayesian polynomial regression of a table (x, y[, per-point sigma]; CSV or whitespace-separated, "
            "header optional). Models: ax, ax+b, poly2 .. poly5 (degree 2 to 5), chosen with --model "
            "(default all = ax, ax+b, poly2, poly3). Each model is sampled by exchange Monte Carlo; its "
            "Bayesian free energy F = -log p(D) selects the model. Without --sigma or a sigma column the noise "
            "is estimated per model as the minimum of F(sigma) over the temperature ladder. Default priors "
            "follow the data's scale: with Y = max|y|, X = max|x| and S = --prior-scale (default 10): "
            "a ~ Normal(0, (S Y/X)^2), b ~ Normal(0, (S Y)^2); a polynomial's coefficients in the Legendre basis "
            "of (x - mid)/half-range ~ Normal(0, (S Y)^2). --prior-absolute S gives every coefficient "
            "Normal(0, S^2) instead. Writes DIR/summary.json, the posterior samples (ArviZ netCDF, one file "
            "per model with p >= 1e-3) and figures."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", nargs="+",
                   help="table of x, y[, sigma]; several files, a folder, a glob or a wide table run every dataset "
                        "(DIR/<name>/ each, DIR/table.csv, DIR/report.html)")
    p.add_argument("--model", default="all", metavar="MODELS",
                   help="model(s) to compare: ax, ax+b, poly2, poly3, poly4, poly5, a comma-separated list, or all "
                        "(ax, ax+b, poly2, poly3)")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("--sigma", type=float_between(1e-100, 1e100), metavar="S",
                       help="known noise standard deviation (overrides a sigma column)")
    noise.add_argument("--estimate-noise", action="store_true",
                       help="estimate the noise by the free energy over the temperature ladder (Tokuda et al. 2017); "
                            "this is the default whenever no sigma is given, the flag is kept for old scripts")
    prior = p.add_mutually_exclusive_group()
    prior.add_argument("--prior-scale", type=float_between(1e-100, 1e100), default=10.0, metavar="S",
                       help="relative prior width: coefficients ~ Normal(0, (S x data scale)^2) (see above)")
    prior.add_argument("--prior-absolute", type=float_between(1e-100, 1e100), default=None, metavar="S",
                       help="every coefficient has a Normal(0, S^2) prior in its model's basis (the older behaviour)")
    p.add_argument("--samples", type=samples_type, default=500,
                   help="sweeps kept per chain after burn-in; with --precision the minimum (at most 10 x this)")
    p.add_argument("--precision", type=float_between(0.0, 100.0), default=0.1, metavar="NAT",
                   help="sample each model until its free energy is known to NAT (0: exactly --samples sweeps); "
                        "models many errors worse than the best stop at --samples")
    p.add_argument("--replicas", type=replicas_type, default=32, help="temperatures in the exchange ladder")
    p.add_argument("--chains", type=chains_type, default=4, help="independent chains (error bars, R-hat)")
    add_column_options(p, region=True)
    add_batch_options(p)
    add_output_folder(p)
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no result lines")
    p.set_defaults(func=main)


def main(args) -> int:
    from physlaw.measure.linear import coefficient_names, parse_models

    from physlaw.cli._batch import main_batch, wants_batch

    models = parse_models(args.model)
    check_sampler_size(args, dim=max(len(coefficient_names(m)) for m in models), models=len(models))
    files = [args.data] if isinstance(args.data, (str, Path)) else list(args.data)
    if wants_batch(files, args):
        return main_batch(args, files, "regress", regress_one, min_points=3)
    args.data = files[0]
    m = read_measurement_file(args.data, args, min_points=3)
    x, y, sigma_col = m.x, m.y, m.sigma
    if args.estimate_noise and sigma_col is not None:
        raise InputError(
            f"{args.data} has a sigma column, so the noise is known; drop --estimate-noise or the sigma column"
        )
    too_big = [name for name in models if len(coefficient_names(name)) >= x.size]
    if too_big:
        raise InputError(f"{args.data}: {x.size} points cannot fit {', '.join(too_big)} (as many coefficients as "
                         "points or more); give more points or choose smaller models with --model")
    sigma = args.sigma if args.sigma is not None else sigma_col
    args.models = models
    folder = output_folder(args, "regress")
    with folder as stage:
        result = run_regression(x, y, sigma, args, stage, folder.checkpoint_dir)
    if not args.quiet:
        print_summary(result, Path(args.out))
    return 0


def run_regression(x, y, sigma, args, out: Path, ckpt_dir: Path):
    """Fit, then write every result file into the folder ``out``; checkpoints go to ``ckpt_dir``."""
    setup_jax()
    prefetch()
    from physlaw.io.checkpoints import CheckpointFolder
    from physlaw.measure.regression import regress
    from physlaw.report.progress import ProgressBar
    from physlaw.measure.linear import parse_models
    from physlaw.report.regress import write_regression

    models = getattr(args, "models", None) or parse_models(getattr(args, "model", "all"))
    absolute = getattr(args, "prior_absolute", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are collected into the summary and printed below
        reg = regress(
            x, y, sigma=sigma, models=models, prior_scale=absolute, relative_scale=args.prior_scale,
            key=key_from_seed(args.seed), num_samples=args.samples, num_replicas=args.replicas,
            num_chains=args.chains, checkpoints=CheckpointFolder(ckpt_dir),
            precision=getattr(args, "precision", 0.1) or None,
            progress=None if args.quiet else ProgressBar(unit="sweep"),
        )
    write_regression(reg, out, data_path=str(args.data), seed=args.seed, prior_scale=args.prior_scale,
                     prior_absolute=absolute)
    return reg


def regress_one(dataset, stage, seed, options) -> dict:
    """One dataset of a batch (a worker process may run it): the single-file regression into ``stage``."""
    import tempfile

    from physlaw.cli._batch import one_dataset_args, row_from_folder

    args = one_dataset_args(dataset, seed, options)
    sigma = args.sigma if args.sigma is not None else dataset.sigma
    with tempfile.TemporaryDirectory() as ckpt:
        run_regression(dataset.x, dataset.y, sigma, args, Path(stage), Path(ckpt))
    return row_from_folder(stage)


def print_summary(reg, out: Path) -> None:
    from physlaw.measure.linear import LABELS

    print(f"selected model: {LABELS[reg.selected]}   p(model | D) = {reg.best.probability:.4g}")
    print(f"verdict: {reg.verdict()}")
    for name, v in reg.parameter_summaries()["coefficients"].items():
        lo, hi = v["interval_68"]
        print(f"  {name} = {v['median']:.6g}  (68 %: {lo:.6g} .. {hi:.6g})")
    for f in reg.fits:
        print(f"  F({f.name}) = {f.free_energy:.3f} ± {f.free_energy_err:.3f} nat, p = {f.probability:.4g}, "
              f"noise σ = {f.noise_sigma:.4g}")
    for w in reg.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"results: {out}/summary.json, figures fit.png and free_energy.png")
