"""``physlaw relaxation``: NMR relaxation modes — two phases or one stretched exponential?"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from physlaw.cli._common import (
    add_sampling_options, chains_type, check_sampler_size, float_between, int_between, key_from_seed,
    replicas_type, resolve_length, sampler_dtype, seed,
    setup_jax, prefetch,
)
from physlaw.cli._batch import add_batch_options
from physlaw.cli._columns import add_column_options, read_measurement_file
from physlaw.cli._output import add_output_folder, output_folder
from physlaw.errors import InputError

HELP = "relaxation curves (decay, saturation or inversion recovery): K modes selected by the free energy"


def register(sub) -> None:
    p = sub.add_parser(
        "relaxation",
        help=HELP,
        description=(
            "Fits a relaxation curve, a table of t, m[, per-point sigma] (CSV or whitespace-separated, header "
            "optional), by exchange Monte Carlo (Ueda et al. 2023). Experiments (--experiment): decay "
            "m = sum_k A_k g_k(t) + C (A_k > 0; CPMG/echo T2 or any decay); saturation recovery "
            "m = sum_k M_k (1 - g_k(t)); inversion recovery m = sum_k M_k (1 - 2 f g_k(t)) (starts near -M0; "
            "f in [1/2, 1] the inversion efficiency); g_k = exp(-(t/T_k)^beta_k), each mode exponential "
            "(beta = 1) or stretched (beta in (0, 1]). auto (default): a falling curve is a decay, a rising one "
            "an inversion recovery when it starts clearly below zero (min m < -0.1 max|m|), else a saturation "
            "recovery. The number of modes K grows "
            "from 1 until the free energy has clearly passed its minimum (up to 6; --kmax K fixes K = 1..K); a "
            "selected K at the largest K tried is reported with a warning. Without --sigma or a sigma column "
            "the noise is estimated over the temperature ladder. Priors: time constants log-uniform from "
            "t_min/100 to 100 t_max (a T beyond the window is reported as a lower bound). Writes "
            "DIR/summary.json, posterior netCDFs, figures and DIR/report.html."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("data", metavar="FILE", nargs="+",
                   help="table of t, m[, sigma]; several files, a folder, a glob or a wide table (one t column, one "
                        "m column per curve, e.g. a temperature series) run every curve (DIR/<name>/ each, "
                        "DIR/table.csv, DIR/report.html)")
    p.add_argument("--experiment", choices=["auto", "decay", "saturation", "inversion", "recovery"], default="auto",
                   help="sign convention and offset of the curve (see above); recovery fits saturation and "
                        "inversion and compares them by the free energy")
    p.add_argument("--quantity", choices=["T1", "T2", "T"], default=None,
                   help="name of the time constant (default: T1 for recoveries, T for decays; T2 for CPMG/echo trains)")
    p.add_argument("--kmax", type=int_between(1, 12), default=None,
                   help="fit K = 1..KMAX modes exactly (default: grow K until the free energy has passed its minimum)")
    p.add_argument("--shapes", choices=["both", "exponential", "stretched"], default="both",
                   help="mode shapes compared: exponential (beta = 1), stretched (beta free) or both")
    p.add_argument("--moves", choices=["auto", "componentwise", "correlated"], default="auto",
                   help="sampler moves: componentwise (one parameter at a time) or correlated (also joint moves "
                        "that draw the amplitudes from their exact conditional along a learned covariance); auto "
                        "(the default): correlated for models whose noise is below 0.1 %% of the curve's range, their "
                        "replicas started at the least-squares point. "
                        "Correlated moves walk the narrow valley of a very precise sum of exponentials (NIST "
                        "Lanczos3 at its own noise) at 2-4x the CPU time per sweep")
    noise = p.add_mutually_exclusive_group()
    noise.add_argument("--sigma", type=float_between(1e-100, 1e100), metavar="S",
                       help="known noise standard deviation (default: estimated)")
    noise.add_argument("--estimate-noise", action="store_true",
                       help="estimate the noise by the free energy over the temperature ladder (the default when no "
                            "sigma is given; kept for old scripts)")
    add_sampling_options(p)
    p.add_argument("--replicas", type=replicas_type, default=32, help="temperatures in the ladder (2 to 1024)")
    p.add_argument("--chains", type=chains_type, default=4, help="independent chains")
    add_column_options(p, region=False)
    add_batch_options(p)
    add_output_folder(p)
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no result lines")
    p.set_defaults(func=main)


def main(args) -> int:
    resolve_length(args)
    # up to the scan's limit (6) or KMAX modes, 3 parameters per mode, the offset and f
    kmax = getattr(args, "kmax", None)
    check_sampler_size(args, dim=3 * (kmax or 6) + 2, models=4 * (kmax or 6))
    from physlaw.cli._batch import main_batch, wants_batch

    files = [args.data] if isinstance(args.data, (str, Path)) else list(args.data)
    if wants_batch(files, args):
        return main_batch(args, files, "relaxation", relaxation_one, min_points=5)
    args.data = files[0]
    m = read_measurement_file(args.data, args, min_points=5, names=("t", "m"))
    t, y = m.x, m.y
    if args.estimate_noise and m.sigma is not None:
        raise InputError(f"{args.data} has a sigma column, so the noise is known; drop --estimate-noise or the column")
    sigma = args.sigma if args.sigma is not None else m.sigma
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
    prefetch()
    from physlaw.io.checkpoints import CheckpointFolder
    from physlaw.measure.relaxation import analyse_relaxation
    from physlaw.report.measurement import write_measurement
    from physlaw.report.progress import ProgressBar

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collected into the summary and printed below
        shapes = {"both": ("exponential", "stretched")}.get(getattr(args, "shapes", "both"),
                                                             (getattr(args, "shapes", "both"),))
        res = analyse_relaxation(t, y, sigma=sigma, kmax=getattr(args, "kmax", None),
                                 experiment=getattr(args, "experiment", "auto"),
                                 quantity=getattr(args, "quantity", None), shapes=shapes,
                                 moves=getattr(args, "moves", "auto"),
                                 key=key_from_seed(args.seed), num_samples=args.samples,
                                 num_replicas=args.replicas, num_chains=args.chains,
                                 checkpoints=CheckpointFolder(ckpt), precision=getattr(args, "precision", None),
                                 dtype=sampler_dtype(args),
                                 progress=None if args.quiet else ProgressBar(unit="sweep"))
    write_measurement(res, out, command="relaxation", data=str(args.data), seed=args.seed, extra={
        "experiment": {"asked": getattr(args, "experiment", "auto"), "fitted": list(res.experiments)},
        "quantity": res.quantity,
        "priors": "time constants log-uniform from t_min/100 to 100 t_max; decay amplitudes A_k ~ Uniform(0, 4 max|m|), "
                  "offset C ~ Normal(0, max|m|^2); recoveries: window amplitude M_k (1 - g_k(t_max)) ~ "
                  "Uniform(0, 4 max|m|), inversion efficiency f ~ Uniform(1/2, 1); beta_k ~ Uniform(0, 1)",
        "time_constant_bounds": res.time_constant_bounds()})
    return res


def relaxation_one(dataset, stage, seed, options) -> dict:
    """One curve of a batch (a worker process may run it): the single-file analysis into ``stage``."""
    import tempfile

    from physlaw.cli._batch import one_dataset_args, row_from_folder

    args = one_dataset_args(dataset, seed, options)
    sigma = args.sigma if args.sigma is not None else dataset.sigma
    t = dataset.x
    if (t < 0).any() or not (t > 0).any():
        raise InputError(f"{dataset.source}: relaxation times must be ≥ 0 with at least one positive")
    with tempfile.TemporaryDirectory() as ckpt:
        run_relaxation(t, dataset.y, sigma, args, Path(stage), Path(ckpt))
    return row_from_folder(stage)


def print_relaxation(res, out: Path) -> None:
    print(f"verdict: {res.verdict()}")
    for f in res.fits:
        print(f"  F({f.name}) = {f.free_energy:.3f} ± {f.free_energy_err:.3f} nat, p = {f.probability:.4g}")
    kind = "estimated" if res.noise_estimated else "given"
    print(f"  noise sigma = {res.noise_sigma:.4g} ({kind})")
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"results: {out}/report.html, {out}/summary.json")
