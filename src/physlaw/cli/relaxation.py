"""``physlaw relaxation``: NMR relaxation modes — two phases or one stretched exponential?"""

from __future__ import annotations

import argparse
import shutil
import sys
import warnings
from pathlib import Path

from physlaw.cli._common import positive_float, positive_int, seed, setup_jax, key_from_seed
from physlaw.cli.spectrum import prepare_out, read_measurement
from physlaw.errors import InputError

HELP = "NMR relaxation mode decomposition: K exponential or stretched modes, selected by the free energy"


def register(sub) -> None:
    p = sub.add_parser(
        "relaxation",
        help=HELP,
        description=(
            "Fits m(t) = sum_k A_k exp(-(t/T1_k)^beta_k) + C to a table of t, m[, per-point sigma] (CSV or "
            "whitespace-separated, header optional) for K = 1..KMAX modes, each model exponential (beta = 1) "
            "or stretched (beta in (0, 1]), by exchange Monte Carlo (Ueda et al. 2023). The Bayesian free "
            "energy gives p(model | D) and the verdict (e.g. two exponential modes vs one stretched "
            "exponential). Priors: log rates uniform over what the times resolve (times may span decades). "
            "Writes DIR/summary.json, posterior netCDFs, figures and DIR/report.html."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("data", metavar="FILE", help="table of t, m[, sigma]")
    p.add_argument("--kmax", type=positive_int, default=2, help="largest number of modes tried")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("--sigma", type=positive_float, metavar="S", help="known noise standard deviation")
    noise.add_argument("--estimate-noise", action="store_true",
                       help="estimate the noise by the free energy over the temperature ladder")
    p.add_argument("--samples", type=positive_int, default=2000, help="sweeps kept per chain")
    p.add_argument("--replicas", type=positive_int, default=32, help="temperatures in the ladder")
    p.add_argument("--chains", type=positive_int, default=4, help="independent chains")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    p.add_argument("--resume", action="store_true", help="resume an interrupted run from the checkpoints in DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no result lines")
    p.set_defaults(func=main)


def main(args) -> int:
    t, y, sigma = read_measurement(args.data, args)
    if (t < 0).any() or not (t > 0).any():
        raise InputError(f"{args.data}: relaxation times must be ≥ 0 with at least one positive; check the first column")
    res = run_relaxation(t, y, sigma, args)
    if not args.quiet:
        print_relaxation(res, Path(args.out))
    return 0


def run_relaxation(t, y, sigma, args):
    setup_jax()
    import jax

    from physlaw.report.measurement import write_relaxation
    from physlaw.measure.relaxation import analyse_relaxation

    ckpt = prepare_out(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collected into the summary and printed below
        res = analyse_relaxation(t, y, sigma=sigma, estimate_noise=args.estimate_noise, kmax=args.kmax,
                                 key=key_from_seed(args.seed), num_samples=args.samples,
                                 num_replicas=args.replicas, num_chains=args.chains, checkpoint_dir=ckpt,
                                 progress=False if args.quiet else None)
    write_relaxation(res, Path(args.out), data=str(args.data), seed=args.seed)
    shutil.rmtree(ckpt, ignore_errors=True)
    return res


def print_relaxation(res, out: Path) -> None:
    print(f"verdict: {res.verdict()}")
    for f in res.fits:
        print(f"  F({f.name}) = {f.free_energy:.3f} ± {f.free_energy_err:.3f} nat, p = {f.probability:.4g}")
    kind = "estimated" if res.noise_estimated else "given"
    print(f"  noise sigma = {res.noise_sigma:.4g} ({kind})")
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"results: {out}/report.html, {out}/summary.json")
