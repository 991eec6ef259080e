"""``physlaw regress``: Bayesian linear regression, noise estimation and model selection."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from physlaw.cli._common import (
    chains_type, check_data_scale, check_sampler_size, float_between, key_from_seed, replicas_type,
    samples_type, seed, setup_jax,
)
from physlaw.cli._output import add_output_folder, output_folder
from physlaw.errors import InputError

HELP = "fit y = a x and y = a x + b by exchange Monte Carlo; select the model by the free energy"


def register(sub) -> None:
    p = sub.add_parser(
        "regress",
        help=HELP,
        description=(
            "Bayesian linear regression of a 2- or 3-column table (x, y[, per-point sigma]; CSV or "
            "whitespace-separated, header optional). Each model is sampled by exchange Monte Carlo; "
            "its Bayesian free energy F = -log p(D) selects the model. Writes DIR/summary.json, the "
            "posterior samples (ArviZ netCDF, one file per model) and figures."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", help="table of x, y[, sigma]")
    p.add_argument("--model", choices=["ax", "ax+b", "both"], default="both", help="model(s) to fit")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("--sigma", type=float_between(1e-100, 1e100), metavar="S",
                       help="known noise standard deviation (overrides a sigma column)")
    noise.add_argument("--estimate-noise", action="store_true",
                       help="estimate the noise by the free energy over the temperature ladder (Tokuda et al. 2017)")
    p.add_argument("--prior-scale", type=float_between(1e-100, 1e100), default=10.0, metavar="S",
                   help="each coefficient has a Normal(0, S^2) prior; choose S wider than any plausible value")
    p.add_argument("--samples", type=samples_type, default=5000, help="sweeps kept per chain after burn-in")
    p.add_argument("--replicas", type=replicas_type, default=32, help="temperatures in the exchange ladder")
    p.add_argument("--chains", type=chains_type, default=4, help="independent chains (error bars, R-hat)")
    add_output_folder(p)
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no result lines")
    p.set_defaults(func=main)


def main(args) -> int:
    from physlaw.io.tables import read_xy

    check_sampler_size(args, dim=3, models=2 if args.model == "both" else 1)
    x, y, sigma_col = read_xy(args.data)
    check_data_scale(x, y, str(args.data), sigma=sigma_col if args.sigma is None else args.sigma)
    if args.sigma is None and not args.estimate_noise and sigma_col is None:
        raise InputError(
            f"{args.data} has no sigma column: give --sigma S (the known noise) or --estimate-noise"
        )
    if args.estimate_noise and sigma_col is not None:
        raise InputError(
            f"{args.data} has a sigma column, so the noise is known; drop --estimate-noise or the third column"
        )
    sigma = args.sigma if args.sigma is not None else sigma_col
    folder = output_folder(args, "regress")
    with folder as stage:
        result = run_regression(x, y, sigma, args, stage, folder.checkpoint_dir)
    if not args.quiet:
        print_summary(result, Path(args.out))
    return 0


def run_regression(x, y, sigma, args, out: Path, ckpt_dir: Path):
    """Fit, then write every result file into the folder ``out``; checkpoints go to ``ckpt_dir``."""
    setup_jax()
    from physlaw.io.checkpoints import CheckpointFolder
    from physlaw.measure.regression import regress
    from physlaw.report.progress import ProgressBar
    from physlaw.report.regress import write_regression

    models = ("ax", "ax+b") if args.model == "both" else (args.model,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are collected into the summary and printed below
        reg = regress(
            x, y, sigma=sigma, models=models, estimate_noise=args.estimate_noise, prior_scale=args.prior_scale,
            key=key_from_seed(args.seed), num_samples=args.samples, num_replicas=args.replicas,
            num_chains=args.chains, checkpoints=CheckpointFolder(ckpt_dir),
            progress=None if args.quiet else ProgressBar(unit="sweep"),
        )
    write_regression(reg, out, data_path=str(args.data), seed=args.seed, prior_scale=args.prior_scale)
    return reg


def print_summary(reg, out: Path) -> None:
    from physlaw.plot.regress import LABELS

    sel = reg.fit(reg.selected)
    print(f"selected model: {LABELS[sel.name]}   p(model | D) = {sel.probability:.4g}")
    post = sel.result.posterior()
    import numpy as np

    for name in ("a", "b"):
        if name in post:
            v = np.asarray(post[name]).ravel()
            lo, med, hi = np.quantile(v, [0.16, 0.5, 0.84])
            print(f"  {name} = {med:.5g}  (68 %: {lo:.5g} .. {hi:.5g})")
    kind = "estimated" if sel.noise is not None else "given"
    print(f"  noise sigma = {sel.noise_sigma:.4g} ({kind})")
    for f in reg.fits:
        print(f"  F({LABELS[f.name]}) = {f.free_energy:.3f} ± {f.free_energy_err:.3f} nat, p = {f.probability:.4g}")
    for w in reg.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"results: {out}/summary.json, figures fit.png and free_energy.png")
