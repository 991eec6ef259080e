"""``physlaw spectrum``: spectral deconvolution with the number of peaks and the noise from the data."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from physlaw.cli._common import (
    add_sampling_options, chains_type, check_sampler_size, float_between, int_between, key_from_seed,
    replicas_type, resolve_length, sampler_dtype, seed, setup_jax, prefetch,
)
from physlaw.cli._output import add_output_folder, output_folder
from physlaw.errors import InputError

HELP = "how many peaks, where, how sure, and what noise: spectral deconvolution by exchange Monte Carlo"


def register(sub) -> None:
    from physlaw.cli._batch import add_batch_options
    from physlaw.cli._columns import add_column_options
    from physlaw.measure.spectrum_options import BACKGROUNDS, COMPONENTS, PRIOR_TOML_HELP, SHAPES

    p = sub.add_parser(
        "spectrum",
        help=HELP,
        description=(
            "Bayesian spectral deconvolution (Nagata, Sugita & Okada 2012) of a measured spectrum: a table of "
            "x, y[, per-point sigma] (CSV or whitespace-separated, header optional; x may decrease, e.g. binding "
            "energy) or a VAMAS (.vms) file. Each model — K components (peaks, spin-orbit doublets, Mössbauer "
            "sextets or doublets) of a line shape on a background, as peaks or as absorption dips — is sampled "
            "by exchange Monte Carlo; its Bayesian free energy F = -log p(D) gives p(model | D). With no options "
            "the evidence chooses: K grows until F has clearly passed its minimum (at most 8; a K at the limit is "
            "flagged), the background among none/constant/linear/poly2/exponential/shirley, peaks or dips, and "
            "the likelihood is Poisson for counts (non-negative integers) and Gaussian otherwise with the noise "
            "estimated from the free energy over the temperature ladder (Tokuda et al. 2017). Default priors are "
            "the reference ones rescaled to the data's x and y ranges. Writes DIR/summary.json, posterior samples "
            "(ArviZ netCDF, one per model with p >= 1e-3), figures and DIR/report.html."
        ),
        epilog=PRIOR_TOML_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="FILE", nargs="+",
                   help="table of x, y[, sigma] or a VAMAS .vms file. Several FILEs, a folder, a glob pattern "
                        "('data/*.csv') or a wide table (one x column, one y column per spectrum) run every "
                        "dataset: DIR/<name>/ each, DIR/table.csv one row per dataset, DIR/report.html an overview "
                        "(--workers, --scheduler). With --share the files are one sample, fitted jointly")
    p.add_argument("--share", metavar="NAMES",
                   help="several files: comma-separated parameters they share (e.g. mu, or mu,log_b); the others "
                        "are fitted per file, each file with its own noise. The joint free energy is compared with "
                        "the files fitted independently (summary.json \"integration\")")
    p.add_argument("--kmax", type=int_between(1, 12), default=None,
                   help="fit exactly K = 1..KMAX (1 to 12); default: grow K until the free energy has risen for two "
                        "consecutive K (at most 8)")
    p.add_argument("--component", default="peak", metavar="KIND[,KIND...]",
                   help=f"what each of the K components is: {', '.join(COMPONENTS)}; several (comma-separated) are "
                        "compared by F. spin-orbit-p|d|f: an XPS doublet with area ratio 1:2, 2:3, 3:4; sextet: a "
                        "57Fe magnetic sextet (x in mm/s; hyperfine field, quadrupole shift, areas 3:x:1); doublet: "
                        "a Mössbauer quadrupole doublet (default peak)")
    p.add_argument("--shape", choices=[*SHAPES, "auto", "all"], default=None,
                   help="line shape; 'all' compares them by F (default auto: pseudo-Voigt, whose per-line "
                        "mixing eta spans Gaussian 0 to Lorentzian 1, and on counts also doniach, the pseudo-Voigt "
                        "with an asymmetric Doniach-Sunjic tail (asymmetry alpha in -0.4..0.4, tail towards +x "
                        "for alpha > 0) for metallic or graphitic core levels, peaks only; lorentz for sextet "
                        "and doublet)")
    p.add_argument("--background", choices=[*BACKGROUNDS, "auto", "all"], default="auto",
                   help="background under the peaks; 'auto' compares none, constant, linear, poly2, exponential and "
                        "shirley by F (default auto)")
    p.add_argument("--sign", choices=["positive", "negative", "auto"], default="auto",
                   help="peaks (positive), absorption dips below a baseline (negative, e.g. Mössbauer transmission), "
                        "or compare both by F (default auto)")
    p.add_argument("--likelihood", choices=["gaussian", "poisson", "auto"], default="auto",
                   help="Poisson for counts, Gaussian otherwise; auto picks Poisson for non-negative integer data "
                        "without a sigma (default auto)")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("--sigma", type=float_between(1e-100, 1e100), metavar="S",
                       help="known noise standard deviation (default: a sigma column, else estimated)")
    noise.add_argument("--estimate-noise", action="store_true",
                       help="estimate the noise even if the file has a sigma column (the default without one)")
    add_column_options(p)
    add_batch_options(p)
    p.add_argument("--prior", metavar="FILE.toml", help="override priors (format below)")
    add_sampling_options(p)
    p.add_argument("--replicas", type=replicas_type, default=32, help="temperatures in the ladder, 2 to 1024 (default 32)")
    p.add_argument("--chains", type=chains_type, default=4, help="independent chains (default 4)")
    add_output_folder(p)
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no result lines")
    p.set_defaults(func=main)


def read_measurement(path, args, names=("x", "y")):
    """(x, y, sigma, measurement) of one file: sigma from --sigma, else the file's sigma column (unless
    --estimate-noise), else None (estimated, or Poisson counts)."""
    from physlaw.cli._columns import read_measurement_file

    m = read_measurement_file(path, args, min_points=5, names=names)
    if args.sigma is not None:
        sigma = args.sigma
    elif m.sigma is not None and not args.estimate_noise:
        sigma = m.sigma
    else:
        sigma = None
    return m.x, m.y, sigma, m


def main(args) -> int:
    from physlaw.cli._batch import main_batch, wants_batch
    from physlaw.io.priors import load_prior_toml

    files = [args.data] if isinstance(args.data, (str, Path)) else list(args.data)
    resolve_length(args)
    args.share = getattr(args, "share", None)  # callers building a Namespace by hand (physlaw demo) may omit it
    if args.share is not None:  # a joint fit's options first: they fix the choices the size check counts
        check_integration_args(args, files)
    check_spectrum_size(args, files)
    if wants_batch(files, args):
        return main_batch(args, files, "spectrum", spectrum_one, min_points=5)
    if len(files) > 1 or args.share is not None:
        return main_integration(args, files)
    x, y, sigma, m = read_measurement(files[0], args)
    overrides = load_prior_toml(args.prior) if args.prior else None
    setup_jax()
    prefetch()
    folder = output_folder(args, "spectrum")
    with folder as stage:
        res, summary = _deconvolve(x, y, sigma, overrides, args, m, stage, folder.checkpoint_dir)
    if not args.quiet:
        print_spectrum(res, summary, Path(args.out))
    return 0


def spectrum_one(dataset, stage, seed, options) -> dict:
    """One dataset of a batch (a worker process may run it): the single-file analysis into ``stage``."""
    import tempfile
    from types import SimpleNamespace

    from physlaw.cli._batch import one_dataset_args, row_from_folder
    from physlaw.io.priors import load_prior_toml

    setup_jax()
    args = one_dataset_args(dataset, seed, options)
    sigma = args.sigma if args.sigma is not None else (None if args.estimate_noise else dataset.sigma)
    m = SimpleNamespace(x_name=dataset.header[0], y_name=dataset.header[1], notes=[], source=dataset.source,
                        path=dataset.source)
    overrides = load_prior_toml(args.prior) if args.prior else None
    with tempfile.TemporaryDirectory() as ckpt:
        _deconvolve(dataset.x, dataset.y, sigma, overrides, args, m, Path(stage), Path(ckpt))
    return row_from_folder(stage)


def _components(args) -> tuple[str, ...]:
    from physlaw.measure.spectrum_options import COMPONENTS

    names = tuple(c.strip() for c in str(getattr(args, "component", "peak")).split(",") if c.strip())
    for c in names:
        if c not in COMPONENTS:
            raise InputError(f"--component {c[:40]!r} is not one of {', '.join(COMPONENTS)}")
    if not names:
        raise InputError(f"--component needs at least one of {', '.join(COMPONENTS)}")
    return names


def _deconvolve(x, y, sigma, overrides, args, m, stage: Path, ckpt: Path):
    from physlaw.io.checkpoints import CheckpointFolder
    from physlaw.measure.selection import deconvolve
    from physlaw.report.measurement import write_spectrum
    from physlaw.report.progress import ProgressBar

    components = _components(args)
    shape = getattr(args, "shape", None) or "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collected into the summary and printed below
        res = deconvolve(x, y, sigma=sigma, kmax=args.kmax, shapes=shape,
                         backgrounds=getattr(args, "background", "auto"), components=components,
                         likelihood=getattr(args, "likelihood", "auto"), signs=getattr(args, "sign", "auto"),
                         prior_overrides=overrides, key=key_from_seed(args.seed),
                         num_samples=args.samples, num_replicas=args.replicas, num_chains=args.chains,
                         checkpoints=CheckpointFolder(ckpt), precision=getattr(args, "precision", None),
                         dtype=sampler_dtype(args), progress=None if args.quiet else ProgressBar(unit="sweep"))
    res.plot_style = {"xlabel": m.x_name, "ylabel": m.y_name, "component_label": "peak",
                      "invert_x": bool(x[0] > x[-1])}  # drawn as the file runs (binding energy decreasing)
    res.notes = list(m.notes) + res.notes
    priors = "reference priors rescaled to the data's ranges" + (f", overridden by {args.prior}" if args.prior else "")
    summary = write_spectrum(res, stage, data=m.source or str(m.path), seed=args.seed, priors=priors)
    return res, summary


def check_spectrum_size(args, files) -> None:
    """Refuse before reading the files when the kept samples of all models cannot fit in memory."""
    from physlaw.measure.spectrum_options import AUTO_BACKGROUNDS, BACKGROUNDS, SHAPES

    shape = getattr(args, "shape", None)
    num_shapes = len(SHAPES) if shape == "all" else (2 if shape in (None, "auto") else 1)  # auto: 2 on counts
    background = getattr(args, "background", "auto")
    num_backgrounds = len(BACKGROUNDS) if background == "all" else (len(AUTO_BACKGROUNDS) if background == "auto" else 1)
    num_signs = 2 if getattr(args, "sign", "auto") == "auto" else 1
    num_files = len(files)
    kmax = args.kmax or 8
    models = kmax * num_shapes * num_backgrounds * num_signs * (1 + (num_files if num_files > 1 else 0))
    # at most 7 parameters per component (a sextet), 5 of the background and the noise, per file
    check_sampler_size(args, dim=(7 * kmax + 5) * num_files, models=models)


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
    if _components(args) != ("peak",) or getattr(args, "sign", "auto") == "negative":
        raise InputError("--share fits peaks (--component peak, positive): multiplets and dips work with a single file")
    # the joint fit has one structure: the defaults of a single file's scan become fixed choices
    args.shape = "gauss" if args.shape in (None, "auto") else args.shape
    args.background = "none" if args.background == "auto" else args.background
    args.kmax = args.kmax or 4
    return check_share(args.share, args.shape, args.background)


def main_integration(args, files) -> int:
    from physlaw.io.priors import load_prior_toml

    share = check_integration_args(args, files)
    datasets, sigmas = [], []
    for f in files:
        x, y, s, _ = read_measurement(f, args)
        datasets.append((x, y))
        sigmas.append(s)
    overrides = load_prior_toml(args.prior) if args.prior else None
    setup_jax()
    prefetch()
    from physlaw.io.checkpoints import CheckpointFolder
    from physlaw.measure.integration import integrate
    from physlaw.report.measurement import write_integration
    from physlaw.report.progress import ProgressBar

    folder = output_folder(args, "spectrum")
    with folder as stage, warnings.catch_warnings():
        ckpt = folder.checkpoint_dir
        warnings.simplefilter("ignore")  # collected into the summary and printed below
        res = integrate(datasets, share, sigma=None if any(v is None for v in sigmas) else sigmas, kmax=args.kmax,
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
    print(f"selected: {best.name}: {res.verdict()}")
    for note in res.notes:
        print(f"  {note}")
    print("  p(K | D): " + ", ".join(f"K={k}: {p:.3g}" for k, p in res.peak_number_probabilities().items()))
    for f in sorted(res.fits, key=lambda f: f.free_energy)[:8]:
        print(f"  F({f.name}) = {f.free_energy:.3f} ± {f.free_energy_err:.3f} nat, p = {f.probability:.4g}")
    if len(res.fits) > 8:
        print(f"  ... {len(res.fits) - 8} more models in summary.json")
    if res.likelihood == "poisson":
        noise = "none to estimate (Poisson counts)"
    else:
        noise = f"{res.noise_sigma:.4g} ({'estimated' if res.noise_estimated else 'given'})"
    _print_tail(res, summary, out, noise)


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
