"""``physlaw relaxation``: NMR relaxation modes — two phases or one stretched exponential?"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from physlaw.cli._common import (
    chains_type, check_sampler_size, float_between, int_between, key_from_seed, replicas_type, samples_type, seed,
    setup_jax,
)
from physlaw.cli._output import add_output_folder, output_folder
from physlaw.cli.spectrum import read_measurement
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
    p.add_argument("--kmax", type=int_between(1, 12), default=2, help="largest number of modes tried, 1 to 12")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("--sigma", type=float_between(1e-100, 1e100), metavar="S",
                       help="known noise standard deviation")
    noise.add_argument("--estimate-noise", action="store_true",
                       help="estimate the noise by the free energy over the temperature ladder")
    p.add_argument("--samples", type=samples_type, default=2000, help="sweeps kept per chain (at least 10)")
    p.add_argument("--replicas", type=replicas_type, default=32, help="temperatures in the ladder (2 to 1024)")
    p.add_argument("--chains", type=chains_type, default=4, help="independent chains")
    add_output_folder(p)
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no result lines")
    p.set_defaults(func=main)


def main(args) -> int:
    # K = 1..kmax modes, each exponential or stretched: 3 parameters per mode, the offset and the noise
    check_sampler_size(args, dim=3 * args.kmax + 2, models=2 * args.kmax)
    t, y, sigma = read_measurement(args.data, args, names=("t", "m"))
    if (t < 0).any() or not (t > 0).any():
        raise InputError(f"{args.data}: relaxation times must be ≥ 0 with at least one positive; check the first column")
    folder = output_folder(args, "relaxation")
    with folder as stage:
        res = run_relaxation(t, y, sigma, args, stage, folder.checkpoint_dir)
    if not args.quiet:
        print_relaxation(res, Path(args.out))
    return 0


def run_relaxation(t, y, sigma, args, out: Path, ckpt: Path):
    """Fit, then write every result file into the folder ``out``; checkpoints go to ``ckpt``."""
    setup_jax()
    from physlaw.io.checkpoints import CheckpointFolder
    from physlaw.measure.relaxation import analyse_relaxation
    from physlaw.report.measurement import write_relaxation
    from physlaw.report.progress import ProgressBar

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collected into the summary and printed below
        res = analyse_relaxation(t, y, sigma=sigma, estimate_noise=args.estimate_noise, kmax=args.kmax,
                                 key=key_from_seed(args.seed), num_samples=args.samples,
                                 num_replicas=args.replicas, num_chains=args.chains,
                                 checkpoints=CheckpointFolder(ckpt),
                                 progress=None if args.quiet else ProgressBar(unit="sweep"))
    write_relaxation(res, out, data=str(args.data), seed=args.seed)
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
