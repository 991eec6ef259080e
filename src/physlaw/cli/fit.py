"""``physlaw fit``: K copies of your own formula (plus a background), K selected by the free energy."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from physlaw.cli._columns import add_column_options, choose_noise, read_measurement_file
from physlaw.cli._common import (
    add_sampling_options, chains_type, check_sampler_size, float_between, int_between, key_from_seed,
    replicas_type, resolve_length, seed,
    setup_jax, prefetch,
)
from physlaw.cli._output import add_output_folder, output_folder

HELP = "your own model: K copies of a formula from MODEL.toml (plus a background), K and noise from the data"
SCAN_LIMIT = 8
"""Largest K tried when --kmax is not given (the scan stops earlier once F has clearly passed its minimum)."""


def register(sub) -> None:
    from physlaw.io.models import MODEL_TOML_HELP

    p = sub.add_parser(
        "fit",
        help=HELP,
        description=(
            "Fits y = sum_k f(x; theta_k) + b(x; phi) to a table (CSV or whitespace-separated, header optional) "
            "or a VAMAS .vms region, with the component formula f, the background b and the priors from "
            "MODEL.toml (formulas are parsed, never run as Python). K = 1, 2, ... components are sampled by "
            "exchange Monte Carlo; their Bayesian free energies give p(K | D). Without --kmax, K grows until F "
            "has clearly passed its minimum (at most 8). Noise: Gaussian with sigma given, from a column, or "
            "estimated over the temperature ladder; or Poisson for counts (--likelihood auto, the default, "
            "picks Poisson when every y is a non-negative integer and no sigma is given). Writes DIR/summary.json, "
            "posterior netCDFs, figures and DIR/report.html."
        ),
        epilog=MODEL_TOML_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", help="table of columns, or a VAMAS .vms file (with --region)")
    p.add_argument("--model", required=True, metavar="MODEL.toml", help="the model: formulas, priors, columns, noise")
    p.add_argument("--kmax", type=int_between(1, 12), default=None,
                   help="try exactly K = 1..KMAX components (1 to 12; default: grow K until F has passed its minimum)")
    p.add_argument("--likelihood", choices=["auto", "gaussian", "poisson"], default=None,
                   help="noise model (default: MODEL.toml's, else auto: Poisson for counts)")
    p.add_argument("--sigma", type=float_between(1e-100, 1e100), metavar="S",
                   help="known Gaussian noise standard deviation (overrides MODEL.toml)")
    add_column_options(p)
    add_sampling_options(p, float64=False)   # user formulas sample in float64
    p.add_argument("--replicas", type=replicas_type, default=32, help="temperatures in the ladder, 2 to 1024 (default 32)")
    p.add_argument("--chains", type=chains_type, default=4, help="independent chains (default 4)")
    add_output_folder(p)
    p.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no result lines")
    p.set_defaults(func=main)


def noise_choice(model, args, m) -> tuple[object, str, str]:
    """``(sigma or None, likelihood, how the noise was chosen in words)``: the options first, then MODEL.toml
    (``[noise]``), then the defaults of every measurement command (``_columns.choose_noise``)."""
    sigma, source = args.sigma, "--sigma"
    if sigma is None and m.sigma is None and isinstance(model.sigma, float):
        sigma, source = model.sigma, f"[noise] sigma in {model.path}"
    return choose_noise(m, sigma=sigma, likelihood=args.likelihood or model.likelihood,
                        estimate=model.sigma == "estimate", sigma_from=source)


def main(args) -> int:
    from physlaw.io.models import load_model_toml

    resolve_length(args)
    model = load_model_toml(args.model)
    num_params = len(model.priors)
    kmax = args.kmax or SCAN_LIMIT
    check_sampler_size(args, dim=num_params * kmax + len(model.background_priors), models=kmax * 2)
    hints = {"x_column": model.x, "y_column": model.y, "sigma_column": model.sigma_column}
    m = read_measurement_file(args.data, args, min_points=3, hints=hints, hints_from=f"--model {args.model}")
    sigma, likelihood, how = noise_choice(model, args, m)
    setup_jax()
    prefetch()
    folder = output_folder(args, "fit")
    with folder as stage:
        res, summary = run_fit(m, model, sigma, likelihood, how, args, stage, folder.checkpoint_dir)
    if not args.quiet:
        print_fit(res, how, Path(args.out))
    return 0


def run_fit(m, model, sigma, likelihood, how, args, stage: Path, ckpt: Path):
    from physlaw.io.checkpoints import CheckpointFolder
    from physlaw.measure.usermodel import fit
    from physlaw.report.measurement import write_measurement
    from physlaw.report.progress import ProgressBar

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collected into the summary and printed below
        res = fit(m.x, m.y, component=model.component, priors=model.priors, kmax=args.kmax, limit=SCAN_LIMIT,
                  background=model.background, background_priors=model.background_priors, order=model.order,
                  sigma=sigma, likelihood=likelihood, key=key_from_seed(args.seed), x_name=m.x_name,
                  y_name=m.y_name, num_samples=args.samples, num_replicas=args.replicas, num_chains=args.chains,
                  checkpoints=CheckpointFolder(ckpt), precision=getattr(args, "precision", None),
                  progress=None if args.quiet else ProgressBar(unit="sweep"))
    res.notes[:0] = [f"data: {m.source}", f"noise: {how}"]
    extra = {"model_file": str(args.model), "model": res.model.description, "source": m.source,
             "noise_model": how, "x_name": m.x_name, "y_name": m.y_name}
    if m.region is not None:
        extra["region"] = m.region
    summary = write_measurement(res, stage, command="fit", data=str(args.data), seed=args.seed, extra=extra)
    return res, summary


def print_fit(res, how: str, out: Path) -> None:
    print(f"verdict: {res.verdict()}")
    print("  p(K | D): " + ", ".join(f"K={k}: {p:.3g}" for k, p in res.k_probabilities().items()))
    for f in res.fits:
        print(f"  F({f.name}) = {f.free_energy:.3f} ± {f.free_energy_err:.3f} nat, p = {f.probability:.4g}")
    for group, qs in res.parameter_summaries().items():
        text = ", ".join(f"{q} = {s['median']:.4g} [{s['interval_68'][0]:.4g}, {s['interval_68'][1]:.4g}]"
                         for q, s in qs.items())
        print(f"  {group}: {text}")
    noise = f"; sigma = {res.noise_sigma:.4g}" if res.likelihood == "gaussian" else ""
    print(f"  noise: {how}{noise}")
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"results: {out}/report.html, {out}/summary.json")
