"""``physlaw spectrum``: spectral deconvolution with the number of peaks and the noise from the data."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from physlaw.cli._common import (
    chains_type, check_data_scale, check_sampler_size, float_between, int_between, key_from_seed, replicas_type,
    samples_type, seed, setup_jax,
)
from physlaw.cli._output import add_output_folder, output_folder
from physlaw.errors import InputError

HELP = "how many peaks, where, how sure, and what noise: spectral deconvolution by exchange Monte Carlo"


def register(sub) -> None:
    from physlaw.measure.spectrum_options import BACKGROUNDS, PRIOR_TOML_HELP, SHAPES

    p = sub.add_parser(
        "spectrum",
        help=HELP,
        description=(
            "Bayesian spectral deconvolution (Nagata, Sugita & Okada 2012) of a table of x, y[, per-point sigma] "
            "(CSV or whitespace-separated, header optional). Every model with K = 1..KMAX peaks (for each "
            "requested line shape and background) is sampled by exchange Monte Carlo; its Bayesian free energy "
            "F = -log p(D) gives p(K | D). The noise is given (--sigma or a third column) or estimated from "
            "the free energy over the temperature ladder (Tokuda et al. 2017). Default priors are the "
            "reference ones rescaled to the data's x and y ranges. Writes DIR/summary.json, posterior "
            "samples (ArviZ netCDF, one per model), figures and DIR/report.html."
        ),
        epilog=PRIOR_TOML_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="FILE", nargs="+",
                   help="table of x, y[, sigma]; several files of one sample need --share")
    p.add_argument("--share", metavar="NAMES",
                   help="several files: comma-separated parameters they share (e.g. mu, or mu,log_b); the others "
                        "are fitted per file, each file with its own noise. The joint free energy is compared with "
                        "the files fitted independently (summary.json \"integration\")")
    p.add_argument("--kmax", type=int_between(1, 12), default=4,
                   help="largest number of peaks tried, 1 to 12 (default 4)")
    p.add_argument("--shape", choices=[*SHAPES, "all"], default="gauss",
                   help="line shape; 'all' compares them by the free energy (default gauss)")
    p.add_argument("--background", choices=[*BACKGROUNDS, "all"], default="none",
                   help="background under the peaks; 'all' compares them (default none)")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("--sigma", type=float_between(1e-100, 1e100), metavar="S",
                       help="known noise standard deviation")
    noise.add_argument("--estimate-noise", action="store_true",
                       help="estimate the noise by the free energy over the temperature ladder")
    p.add_argument("--prior", metavar="FILE.toml", help="override priors (format below)")
    p.add_argument("--samples", type=samples_type, default=2000, help="sweeps kept per chain, at least 10 (default 2000)")
    p.add_argument("--replicas", type=replicas_type, default=32, help="temperatures in the ladder, 2 to 1024 (default 32)")
    p.add_argument("--chains", type=chains_type, default=4, help="independent chains (default 4)")
    add_output_folder(p)
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no result lines")
    p.set_defaults(func=main)


def read_measurement(path, args, names=("x", "y")):
    """(x, y, sigma) of one file, with the noise options checked against its columns and the scale of its values."""
    from physlaw.io.tables import read_xy

    x, y, sigma_col = read_xy(path, min_points=5)
    check_data_scale(x, y, str(path), sigma=sigma_col if args.sigma is None else args.sigma,
                     xname=names[0], yname=names[1])
    if args.sigma is None and not args.estimate_noise and sigma_col is None:
        raise InputError(f"{path} has no sigma column: give --sigma S (the known noise) or --estimate-noise")
    if args.estimate_noise and sigma_col is not None:
        raise InputError(f"{path} has a sigma column, so the noise is known; drop --estimate-noise or the third column")
    return x, y, args.sigma if args.sigma is not None else sigma_col


def main(args) -> int:
    from physlaw.io.priors import load_prior_toml

    files = [args.data] if isinstance(args.data, (str, Path)) else list(args.data)
    args.share = getattr(args, "share", None)  # callers building a Namespace by hand (physlaw demo) may omit it
    check_spectrum_size(args, files)
    if len(files) > 1 or args.share is not None:
        return main_integration(args, files)
    x, y, sigma = read_measurement(files[0], args)
    overrides = load_prior_toml(args.prior) if args.prior else None
    setup_jax()
    folder = output_folder(args, "spectrum")
    with folder as stage:
        res, summary = _deconvolve(x, y, sigma, overrides, args, files, stage, folder.checkpoint_dir)
    if not args.quiet:
        print_spectrum(res, summary, Path(args.out))
    return 0


def _deconvolve(x, y, sigma, overrides, args, files, stage: Path, ckpt: Path):
    from physlaw.io.checkpoints import CheckpointFolder
    from physlaw.measure.selection import deconvolve
    from physlaw.measure.spectrum import BACKGROUNDS, SHAPES
    from physlaw.report.measurement import write_spectrum
    from physlaw.report.progress import ProgressBar

    shapes = SHAPES if args.shape == "all" else (args.shape,)
    backgrounds = BACKGROUNDS if args.background == "all" else (args.background,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collected into the summary and printed below
        res = deconvolve(x, y, sigma=sigma, estimate_noise=args.estimate_noise, kmax=args.kmax, shapes=shapes,
                         backgrounds=backgrounds, prior_overrides=overrides, key=key_from_seed(args.seed),
                         num_samples=args.samples, num_replicas=args.replicas, num_chains=args.chains,
                         checkpoints=CheckpointFolder(ckpt),
                         progress=None if args.quiet else ProgressBar(unit="sweep"))
    priors = "reference priors rescaled to the data's ranges" + (f", overridden by {args.prior}" if args.prior else "")
    summary = write_spectrum(res, stage, data=str(files[0]), seed=args.seed, priors=priors)
    return res, summary


def check_spectrum_size(args, files) -> None:
    """Refuse before reading the files when the kept samples of all models cannot fit in memory."""
    from physlaw.measure.spectrum import BACKGROUNDS, SHAPES

    num_shapes = len(SHAPES) if args.shape == "all" else 1
    num_backgrounds = len(BACKGROUNDS) if args.background == "all" else 1
    num_files = len(files)
    models = args.kmax * num_shapes * num_backgrounds * (1 + (num_files if num_files > 1 else 0))
    # at most 4 parameters per peak, 3 of the background and the noise, per file
    check_sampler_size(args, dim=(4 * args.kmax + 4) * num_files, models=models)


def check_integration_args(args, files) -> tuple[str, ...]:
    """The shared names, with the options checked for a joint run (one-line ``InputError`` otherwise)."""
    from physlaw.measure.integration import check_share

    if len(files) < 2:
        raise InputError("--share needs several FILEs (datasets of one sample); with one file leave it out")
    if args.share is None:
        raise InputError(f"{len(files)} files given: say which parameters they share with --share NAMES "
                         "(e.g. --share mu for common peak centres)")
    if args.shape == "all" or args.background == "all":
        raise InputError("--share fits one line shape and background to all files: choose one "
                         "(--shape all / --background all work with a single file)")
    return check_share(args.share, args.shape, args.background)


def main_integration(args, files) -> int:
    from physlaw.io.priors import load_prior_toml

    share = check_integration_args(args, files)
    datasets, sigmas = [], []
    for f in files:
        x, y, s = read_measurement(f, args)
        datasets.append((x, y))
        sigmas.append(s)
    overrides = load_prior_toml(args.prior) if args.prior else None
    setup_jax()
    from physlaw.io.checkpoints import CheckpointFolder
    from physlaw.measure.integration import integrate
    from physlaw.report.measurement import write_integration
    from physlaw.report.progress import ProgressBar

    folder = output_folder(args, "spectrum")
    with folder as stage, warnings.catch_warnings():
        ckpt = folder.checkpoint_dir
        warnings.simplefilter("ignore")  # collected into the summary and printed below
        res = integrate(datasets, share, sigma=None if args.estimate_noise else sigmas, kmax=args.kmax,
                        shape=args.shape, background=args.background, prior_overrides=overrides,
                        key=key_from_seed(args.seed), num_samples=args.samples, num_replicas=args.replicas,
                        num_chains=args.chains, checkpoints=CheckpointFolder(ckpt),
                        progress=None if args.quiet else ProgressBar(unit="sweep"))
        priors = ("reference priors rescaled to the files' common x and y ranges"
                  + (f", overridden by {args.prior}" if args.prior else ""))
        summary = write_integration(res, stage, data=[str(f) for f in files], seed=args.seed, priors=priors)
    if not args.quiet:
        print_integration(res, summary, Path(args.out))
    return 0


def print_integration(res, summary, out: Path) -> None:
    from physlaw.report.measurement import integration_sentence

    best = res.best
    print(f"selected: {best.name}  ({best.info['num_peaks']} peak(s), {res.num_datasets} files sharing "
          f"{', '.join(res.share)}), p = {best.probability:.4g}")
    for f in res.fits:
        print(f"  F({f.name}) = {f.free_energy:.3f} ± {f.free_energy_err:.3f} nat, p = {f.probability:.4g}")
    print("  " + integration_sentence(res.consistency()))
    kind = "estimated per file" if res.noise_estimated else "given"
    _print_tail(res, summary, out, f"{', '.join(f'{s:.4g}' for s in res.sigmas())} ({kind})")


def print_spectrum(res, summary, out: Path) -> None:
    best = res.best
    print(f"selected: {best.name}  ({best.info['num_peaks']} peak(s)), p = {best.probability:.4g}")
    print("  p(K | D): " + ", ".join(f"K={k}: {p:.3g}" for k, p in res.peak_number_probabilities().items()))
    for f in res.fits:
        print(f"  F({f.name}) = {f.free_energy:.3f} ± {f.free_energy_err:.3f} nat, p = {f.probability:.4g}")
    kind = "estimated" if res.noise_estimated else "given"
    _print_tail(res, summary, out, f"{res.noise_sigma:.4g} ({kind})")


def _print_tail(res, summary, out: Path, noise: str) -> None:
    """The selected model's parameters, the noise, the warnings and where the results are."""
    print_parameters(summary["models"][res.fits.index(res.best)]["parameters"])
    print(f"  noise sigma = {noise}")
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"results: {out}/report.html, {out}/summary.json")


def print_parameters(params: dict) -> None:
    """One line per group: median [68 % interval] of each quantity."""
    for group, qs in params.items():
        text = ", ".join(f"{q} = {s['median']:.4g} [{s['interval_68'][0]:.4g}, {s['interval_68'][1]:.4g}]"
                         for q, s in qs.items())
        print(f"  {group}: {text}")
