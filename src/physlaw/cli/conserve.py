"""``physlaw conserve``: conserved quantities (and symmetries) of trajectory data, by four routes."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from physlaw.cli._common import positive_float, positive_int, seed, key_from_seed
from physlaw.errors import InputError

HELP = "conserved quantities from trajectories: Mototake's group method, the direct Lie route, HNN, library"


def register(sub) -> None:
    p = sub.add_parser(
        "conserve",
        help=HELP,
        description=(
            "Find the conserved quantities of a dynamical system from its trajectories. DATA is an .npz from "
            "'physlaw simulate' or a trajectory CSV (columns trajectory, t and the coordinates; names starting "
            "with q are positions, with p momenta; --q/--p choose others). Routes: "
            "'group' trains an autoencoder on transition pairs, samples the maps of a family that leave the "
            "data manifold invariant by exchange Monte Carlo over noise levels sigma' (the level chosen "
            "automatically), fits the group relations by BIC and orthogonal distance regression and turns the "
            "generator into a Noether charge (Mototake, PRE 103, 033303, 2021); "
            "'lie' reads the whole Lie algebra from the same autoencoder as a null space (seconds); "
            "'hnn' trains a Hamiltonian network and finds the functions G of a library with {G, H} = 0 "
            "(nonlinear laws such as the energy) plus the family's linear symmetries; "
            "'library' uses no network: dG/dt = 0 along the trajectories with finite-difference velocities "
            "(the baseline). Writes DIR/summary.json (\"laws\": expression, coefficients with errors, "
            "generator, residual), figures and DIR/report.html."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", help=".npz from physlaw simulate, or a trajectory CSV")
    p.add_argument("--method", choices=["group", "lie", "hnn", "library"], default="lie", help="route")
    p.add_argument("--family", default="rotation", metavar="PRESET|MASK",
                   help="transformation family: rotation (one block acting alike on q and p), gl (all linear maps "
                        "on (q, p)), affine (rotation + translations of q), translation, or a mask such as "
                        "'a b 0 0; c d 0 0; 0 0 a b; 0 0 c d' (rows of [M | b]; names are free entries, equal "
                        "names tied, numbers fixed; an extra column is a translation)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    p.add_argument("--q", nargs="+", metavar="COLUMN", help="CSV columns to use as positions")
    p.add_argument("--p", nargs="+", metavar="COLUMN", help="CSV columns to use as momenta")
    p.add_argument("--names", nargs="+", metavar="NAME",
                   help="rename the coordinates (positions then momenta) for the laws, e.g. --names theta omega")
    p.add_argument("--lag", type=positive_int, default=1, help="autoencoder pairs (x_t, x_{t+lag})")
    p.add_argument("--steps", type=positive_int, help="network training steps [dae 30000, hnn 5000]")
    p.add_argument("--width", type=positive_int, help="network hidden units [dae 128, hnn 200]")
    p.add_argument("--model", metavar="DIR", help="use a network trained by 'physlaw train' instead of training one")
    p.add_argument("--degree", type=int, default=2, help="library: highest monomial degree")
    p.add_argument("--inverse-radius", action="store_true", help="library: add 1/|q|")
    p.add_argument("--trig", action="store_true", help="library: add cos and sin of each position")
    p.add_argument("--angles", action="store_true",
                   help="library: positions are angles and enter only through cos and sin (pendulums)")
    p.add_argument("--stencil", type=positive_int, default=5,
                   help="library: samples per finite-difference velocity (odd)")
    p.add_argument("--order", type=positive_int,
                   help="library: polynomial degree of the differences [stencil - 1: interpolating]; lower smooths "
                        "noisy trajectories (Savitzky-Golay), e.g. --stencil 7 --order 3")
    p.add_argument("--samples", type=positive_int, default=2000, help="group: sweeps kept per chain")
    p.add_argument("--burnin", type=positive_int, default=500, help="group: burn-in sweeps")
    p.add_argument("--sigma-range", nargs=2, type=positive_float, default=(30.0, 3e-3), metavar=("MAX", "MIN"),
                   help="group: the sigma' levels (relative to the data's RMS)")
    p.add_argument("--levels", type=positive_int, default=32, help="group: number of sigma' levels")
    p.add_argument("--min-gap", type=positive_float, default=10.0,
                   help="singular-value gap below which a count is reported as weak evidence")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no result lines")
    p.set_defaults(func=main)


def load(args):
    """The dataset, with coordinates renamed by ``--names``."""
    from physlaw.io.trajectories import load_dataset

    ds = load_dataset(args.data, q=args.q, p=args.p)
    if args.names:
        if len(args.names) != len(ds.coordinate_names):
            raise InputError(f"--names gives {len(args.names)} names for {len(ds.coordinate_names)} coordinates "
                             f"({', '.join(ds.coordinate_names)})")
        bad = [n for n in args.names if not n.isidentifier()]
        if bad or len(set(args.names)) != len(args.names):
            raise InputError(f"--names must be distinct identifiers (letters, digits, _), got {args.names}")
        ds = dataclasses.replace(ds, coordinate_names=tuple(args.names))
    return ds


def main(args) -> int:
    """Run in float32 (the networks train faster) and restore the caller's JAX precision afterwards."""
    import jax

    previous = bool(jax.config.read("jax_enable_x64"))
    try:
        return _run(args)
    finally:
        jax.config.update("jax_enable_x64", previous)


def _run(args) -> int:
    from physlaw.cli._common import setup_jax

    dataset = load(args)
    setup_jax(float64=False)
    import jax

    from physlaw.report.conserve import write_conservation
    from physlaw.symmetry import conserve

    model = None
    if args.model:
        from physlaw.io.networks import load_model

        model, cfg = load_model(args.model)
        want = "dae" if args.method in ("group", "lie") else "hnn"
        if args.method == "library" or cfg["model"]["model"] != want:
            raise InputError(f"--model {args.model} holds a {cfg['model']['model']!r} network; the {args.method} "
                             f"route needs {'no network' if args.method == 'library' else repr(want)}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    progress = False if args.quiet else sys.stderr.isatty()
    res = conserve(
        dataset, method=args.method, family=args.family, key=key_from_seed(args.seed), lag=args.lag,
        train_steps=args.steps, width=args.width, model=model, degree=args.degree,
        inverse_radius=args.inverse_radius, trig=args.trig, angles=args.angles, num_samples=args.samples,
        num_burnin=args.burnin, sigma_max=args.sigma_range[0], sigma_min=args.sigma_range[1],
        num_levels=args.levels, min_gap=args.min_gap, stencil=args.stencil, order=args.order, progress=progress,
    )
    summ = write_conservation(res, out, data=str(args.data), seed=args.seed, dataset=dataset)
    if not args.quiet:
        print(summ["message"])
        for law in summ["laws"]:
            print(f"  G = {law['expression']}   (residual {law['residual']:.3g})")
        if summ.get("singular_value_gap") is not None:
            print(f"  singular-value gap ×{summ['singular_value_gap']:.3g}")
        print(f"wrote {out}/summary.json, figures and {out}/report.html")
    return 0
