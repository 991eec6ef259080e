"""``physlaw regress``: Bayesian linear regression, noise estimation and model selection."""

from __future__ import annotations

import argparse
import shutil
import sys
import warnings
from pathlib import Path

from physlaw.cli._common import positive_float, positive_int, seed, setup_jax, key_from_seed
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
    noise.add_argument("--sigma", type=positive_float, metavar="S",
                       help="known noise standard deviation (overrides a sigma column)")
    noise.add_argument("--estimate-noise", action="store_true",
                       help="estimate the noise by the free energy over the temperature ladder (Tokuda et al. 2017)")
    p.add_argument("--prior-scale", type=positive_float, default=10.0, metavar="S",
                   help="each coefficient has a Normal(0, S^2) prior; choose S wider than any plausible value")
    p.add_argument("--samples", type=positive_int, default=5000, help="sweeps kept per chain after burn-in")
    p.add_argument("--replicas", type=positive_int, default=32, help="temperatures in the exchange ladder")
    p.add_argument("--chains", type=positive_int, default=4, help="independent chains (error bars, R-hat)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    p.add_argument("--resume", action="store_true", help="resume from the checkpoints of an interrupted run in DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no result lines")
    p.set_defaults(func=main)


def main(args) -> int:
    from physlaw.io.tables import read_xy

    x, y, sigma_col = read_xy(args.data)
    if args.sigma is None and not args.estimate_noise and sigma_col is None:
        raise InputError(
            f"{args.data} has no sigma column: give --sigma S (the known noise) or --estimate-noise"
        )
    if args.estimate_noise and sigma_col is not None:
        raise InputError(
            f"{args.data} has a sigma column, so the noise is known; drop --estimate-noise or the third column"
        )
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    sigma = args.sigma if args.sigma is not None else sigma_col
    result = run_regression(x, y, sigma, args, out)
    if not args.quiet:
        print_summary(result, out)
    return 0


def run_regression(x, y, sigma, args, out: Path):
    setup_jax()
    import jax

    from physlaw.report.regress import write_regression
    from physlaw.measure.regression import regress

    models = ("ax", "ax+b") if args.model == "both" else (args.model,)
    ckpt_dir = out / ".checkpoints"
    if not args.resume and ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # warnings are collected into the summary and printed below
        reg = regress(
            x, y, sigma=sigma, models=models, estimate_noise=args.estimate_noise, prior_scale=args.prior_scale,
            key=key_from_seed(args.seed), num_samples=args.samples, num_replicas=args.replicas,
            num_chains=args.chains, checkpoint_dir=ckpt_dir, progress=None if not args.quiet else False,
        )
    write_regression(reg, out, data_path=str(args.data), seed=args.seed, prior_scale=args.prior_scale)
    shutil.rmtree(ckpt_dir, ignore_errors=True)
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
