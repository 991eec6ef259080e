"""``physlaw conserve``: conserved quantities (and symmetries) of trajectory data, by four routes."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

from physlaw.cli._common import (
    check_network_size, check_sampler_size, float_between, int_between, key_from_seed, positive_float, positive_int,
    replicas_type, samples_type, seed,
)
from physlaw.cli._output import add_output_folder, output_folder
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
            "'lie' reads the whole Lie algebra from the same autoencoder as a null space (seconds), and with "
            "--library the nonlinear symmetries J grad G of the library's functions G, each a conserved quantity; "
            "'hnn' trains a Hamiltonian network and finds the functions G of a library with {G, H} = 0 "
            "(nonlinear laws such as the energy) plus the family's linear symmetries; "
            "'library' uses no network: dG/dt = 0 along the trajectories with finite-difference velocities "
            "(the baseline); 'all' runs lie, hnn and library and reports their agreement. Every law is checked "
            "on held-out trajectories: its drift (dG/dt)/<|G|> with a 95 % interval and a verdict (conserved, "
            "approximately conserved with its decay rate, not conserved: dropped), and against a time-shuffled "
            "surrogate (a law constant there too is a property of the state distribution: dropped). "
            "Writes DIR/summary.json (\"laws\": expression, coefficients with errors, "
            "generator, residual), figures and DIR/report.html."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("data", metavar="DATA", help=".npz from physlaw simulate, or a trajectory CSV")
    p.add_argument("--method", choices=["group", "lie", "hnn", "library", "all"], default="lie",
                   help="route; 'all' runs lie, hnn and library side by side and compares their laws")
    p.add_argument("--library", action="store_true",
                   help="--method lie only: the candidate symmetries are the Hamiltonian vector fields J grad G of "
                        "the functions G in the function library (--degree, --inverse-radius, --radial, --trig, "
                        "--angles) instead of the linear maps of --family (not used then); a field the autoencoder "
                        "finds tangent to its manifold (on every time slice of the pairs) is a symmetry of the "
                        "dynamics, and its G a conserved quantity, nonlinear ones included (the energy; with "
                        "--degree 3 --inverse-radius --radial also Kepler's Runge-Lenz vector). Needs positions and "
                        "momenta (LieNLSD, ICML 2025)")
    p.add_argument("--no-check", dest="check", action="store_false",
                   help="skip the checks of each law on held-out trajectories (drift with a 95%% interval, "
                        "time-shuffled surrogate)")
    p.add_argument("--family", default="rotation", metavar="PRESET|MASK",
                   help="transformation family: rotation (one block acting alike on q and p), gl (all linear maps "
                        "on (q, p)), affine (rotation + translations of q), translation, or a mask such as "
                        "'a b 0 0; c d 0 0; 0 0 a b; 0 0 c d' (rows of [M | b]; names are free entries, equal "
                        "names tied, numbers fixed; an extra column is a translation)")
    add_output_folder(p, resume=False)
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    p.add_argument("--q", nargs="+", metavar="COLUMN", help="CSV columns to use as positions")
    p.add_argument("--p", nargs="+", metavar="COLUMN", help="CSV columns to use as momenta")
    p.add_argument("--names", nargs="+", metavar="NAME",
                   help="rename the coordinates (positions then momenta) for the laws, e.g. --names theta omega")
    p.add_argument("--gaps", choices=["drop", "interpolate"],
                   help="accept missing samples (NaN, empty or NA cells): drop splits the trajectories at gaps, "
                        "interpolate fills gaps of at most --max-gap samples (cubic spline); stretches shorter than "
                        "--min-length are dropped, the rest cut into equal windows [default: refuse the file]")
    p.add_argument("--max-gap", type=int_between(1, 10**6), default=5, help="--gaps interpolate: longest gap filled")
    p.add_argument("--min-length", type=int_between(3, 10**6), default=7,
                   help="--gaps: shortest stretch of complete samples kept")
    p.add_argument("--agents", nargs="?", const="auto", choices=["auto", "wide", "long"],
                   help="DATA holds many-agent tracks: a wide table (t, x_1, y_1, x_2, y_2, ...) or a long table "
                        "(agent, t, x, y); reduced to each agent's position and velocity relative to the centroid "
                        "and mean velocity (velocities from positions by smoothed differences over --stencil samples, "
                        "a cubic least-squares fit unless --order says otherwise); one trajectory per agent")
    p.add_argument("--lag", type=positive_int, default=1, help="autoencoder pairs (x_t, x_{t+lag})")
    p.add_argument("--steps", type=positive_int, help="network training steps [dae 30000, hnn 5000]")
    p.add_argument("--width", type=int_between(1, 65536), help="network hidden units [dae 128, hnn 200]")
    p.add_argument("--model", metavar="DIR", help="use a network trained by 'physlaw train' instead of training one")
    p.add_argument("--degree", type=int_between(0, 6), default=2,
                   help=f"library: highest monomial degree, 0 to 6 (at most {MAX_LIBRARY_FEATURES} features in all)")
    p.add_argument("--inverse-radius", action="store_true", help="library: add 1/|q|")
    p.add_argument("--radial", action="store_true",
                   help="library: add q_i/|q| (with --degree 3 --inverse-radius: Kepler's Runge-Lenz vector)")
    p.add_argument("--trig", action="store_true", help="library: add cos and sin of each position")
    p.add_argument("--angles", action=argparse.BooleanOptionalAction, default=None,
                   help="library: the positions are angles (pendulums): the features are the monomials of the "
                        "other coordinates (angular velocities) up to --degree times the first harmonics of the "
                        "angles, 1, cos(a), sin(a) and for each pair cos(a - b), sin(a - b), cos(a + b), "
                        "sin(a + b), so the energy of a chain of pendulums (w1**2, w1*w2*cos(a - b), cos(a), ...) "
                        "lies in it; an energy-like law is measured from its minimum (rest), and where no law is "
                        "exact (friction) the energy of the conservative part is reported with its dissipation "
                        "dG/dt and decay rate. Default: on when every position column is named like an angle "
                        "(theta, phi, psi, angle, with a suffix such as theta1 or phi_2), else off")
    p.add_argument("--stencil", type=int_between(3, 101), default=5,
                   help="library: samples per finite-difference velocity (odd)")
    p.add_argument("--order", type=int_between(1, 100),
                   help="library: polynomial degree of the differences [stencil - 1: interpolating]; lower smooths "
                        "noisy trajectories (Savitzky-Golay), e.g. --stencil 7 --order 3")
    p.add_argument("--samples", type=samples_type, default=2000, help="group: sweeps kept per chain (at least 10)")
    p.add_argument("--burnin", type=positive_int, default=500, help="group: burn-in sweeps")
    p.add_argument("--sigma-range", nargs=2, type=float_between(1e-15, 1e15), default=(30.0, 3e-3), metavar=("MAX", "MIN"),
                   help="group: the sigma' levels (relative to the data's RMS)")
    p.add_argument("--levels", type=replicas_type, default=32, help="group: number of sigma' levels (2 to 1024)")
    p.add_argument("--min-gap", type=positive_float, default=10.0,
                   help="singular-value gap below which a count is reported as weak evidence")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no result lines")
    p.set_defaults(func=main)


MAX_LIBRARY_FEATURES = 500
"""Largest function library of the hnn, library and lie --library routes (SymPy compiles every feature and its
gradient)."""


def check_sizes(args) -> None:
    """Refuse sizes that cannot fit in memory, before the data are read (and --library off its route)."""
    if args.library and args.method != "lie":
        raise InputError(f"--library applies to --method lie only (the library's Hamiltonian fields as candidate "
                         f"symmetries); --method {args.method} "
                         + ("always uses the function library: drop --library" if args.method in ("hnn", "library")
                            else "does not take it: drop --library or use --method lie"))
    if args.method == "group":  # 2 chains keep the samples of every sigma' level; at most 8 free entries
        check_sampler_size(args, dim=8, replicas=args.levels, chains=2, all_rungs=True,
                           options="--samples or --levels")
    if args.width is not None and args.method != "library":
        check_network_size(width=args.width, depth=3)


def check_library_size(args, dataset) -> None:
    """Refuse a library of more than ``MAX_LIBRARY_FEATURES`` features (counted, not built)."""
    if args.method not in ("hnn", "library", "all") and not (args.method == "lie" and args.library):
        return
    from physlaw.symmetry._library import num_angle_product_features

    n, d = dataset.x.shape[-1], dataset.q.shape[-1]
    variables = n - d if args.angles else n
    count = math.comb(variables + args.degree, args.degree) - 1 + (2 * d if args.trig else 0)
    if args.angles:
        count = num_angle_product_features(d, n - d, args.degree)
    count += 1 if args.inverse_radius else 0
    count += d if getattr(args, "radial", False) else 0
    if count > MAX_LIBRARY_FEATURES:
        raise InputError(f"--degree {args.degree} on {variables} coordinates gives a library of {count} features, "
                         f"more than the {MAX_LIBRARY_FEATURES} the {args.method} route handles; lower --degree")


ANGLE_NAME = re.compile(r"(theta|phi|psi|angle)_?\d*", re.IGNORECASE)
"""Position names read as angles when ``--angles`` is not given (theta, phi2, angle_1, ...)."""


def resolve_angles(args, dataset) -> str | None:
    """Set ``args.angles`` when not given: on when every position is named like an angle. Returns a note
    for the user when it was switched on by the names, else None."""
    if args.angles is not None:
        return None
    names = dataset.coordinate_names[: dataset.q.shape[-1]]
    args.angles = bool(names) and dataset.p.shape[-1] > 0 and all(ANGLE_NAME.fullmatch(c) for c in names) \
        and not (args.inverse_radius or args.radial)
    if args.angles and (args.method in ("hnn", "library", "all") or args.library):
        return (f"the positions {', '.join(names)} are named like angles: the library is the angle one (--angles; "
                "--no-angles for polynomials)")
    return None


def load(args):
    """The dataset, with coordinates renamed by ``--names`` (checked like names read from a file)."""
    from physlaw.dynamics import check_coordinate_names
    from physlaw.io.trajectories import load_dataset

    names = None
    if args.names:
        try:
            names = check_coordinate_names(args.names)
        except InputError as err:
            raise InputError(f"--names: {err}") from None
    try:
        if getattr(args, "agents", None):
            return _load_agents(args, names)
        return load_dataset(args.data, q=args.q, p=args.p, names=names, gaps=args.gaps, max_gap=args.max_gap,
                            min_length=args.min_length)
    except InputError as err:
        if names is not None and " names given for " in str(err):
            raise InputError(f"--names gives {len(names)} names for {str(err).split(' names given for ', 1)[1]}") \
                from None
        raise InputError(_flags(str(err))) from None


def _flags(message: str) -> str:
    """A reader's message with its argument names as the command line's flags."""
    for arg, flag in (("gaps='drop'", "--gaps drop"), ("gaps='interpolate'", "--gaps interpolate"),
                      ("max_gap = ", "--max-gap "), ("max_gap", "--max-gap"), ("min_length = ", "--min-length "),
                      ("min_length", "--min-length")):
        message = message.replace(arg, flag)
    return message


def _load_agents(args, names):
    """``--agents``: many-agent tracks in the collective frame (``physlaw.io.trajectories.load_agents``)."""
    import dataclasses

    from physlaw.io.trajectories import load_agents

    if args.q or args.p:
        raise InputError("--q/--p choose columns of a trajectory file; with --agents the columns are found by name "
                         "(t, x_1, y_1, ... or agent, t, x, y)")
    order = args.order if args.order is not None else min(3, args.stencil - 1)
    ds = load_agents(args.data, layout=args.agents, gaps=args.gaps, max_gap=args.max_gap, min_length=args.min_length,
                     stencil=args.stencil, order=order)
    if names is not None:
        if len(names) != len(ds.coordinate_names):
            raise InputError(f"--names gives {len(names)} names for {len(ds.coordinate_names)} coordinates "
                             f"({', '.join(ds.coordinate_names)}) of the agents' collective frame")
        ds = dataclasses.replace(ds, coordinate_names=names)
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

    check_sizes(args)
    dataset = load(args)
    angle_note = resolve_angles(args, dataset)
    check_library_size(args, dataset)
    setup_jax(float64=False)

    from physlaw.report.conserve import write_conservation
    from physlaw.report.progress import ProgressBar
    from physlaw.symmetry import conserve

    model = None
    if args.model:
        from physlaw.io.networks import load_model

        model, cfg = load_model(args.model)
        want = "dae" if args.method in ("group", "lie") else "hnn"
        if args.method in ("library", "all") or cfg["model"]["model"] != want:
            raise InputError(f"--model {args.model} holds a {cfg['model']['model']!r} network; the {args.method} "
                             f"route needs {'no network' if args.method == 'library' else repr(want)}")
    folder = output_folder(args, "conserve")
    progress = None if args.quiet else ProgressBar()
    options = dict(family=args.family, key=key_from_seed(args.seed), lag=args.lag,
                   train_steps=args.steps, width=args.width, degree=args.degree,
                   inverse_radius=args.inverse_radius, radial=args.radial, trig=args.trig,
                   angle_products=bool(args.angles), min_gap=args.min_gap,
                   stencil=args.stencil, order=args.order, progress=progress, check=args.check)
    if args.library:
        options["library"] = True
    with folder as stage:
        try:
            if args.method == "all":
                from physlaw.report.conserve import write_comparison
                from physlaw.symmetry import conserve_all

                comp = conserve_all(dataset, **options)
                summ = write_comparison(comp, stage, data=str(args.data), seed=args.seed, dataset=dataset)
            else:
                res = conserve(dataset, method=args.method, model=model, num_samples=args.samples,
                               num_burnin=args.burnin, sigma_max=args.sigma_range[0], sigma_min=args.sigma_range[1],
                               num_levels=args.levels, **options)
        except InputError as err:  # the library names its arguments; the command line names its flags
            raise InputError(str(err).replace("method='lie'", "--method lie").replace("library=True", "--library")
                             .replace("load_dataset(..., q=..., p=...)", "--q/--p")) from None
        if args.method != "all":
            summ = write_conservation(res, stage, data=str(args.data), seed=args.seed, dataset=dataset)
    out = Path(args.out)
    if not args.quiet:
        if angle_note:
            print(angle_note)
        print(summ["message"])
        for law in summ["laws"]:
            print(f"  G = {law['expression']}   (residual {law['residual']:.3g})"
                  + (f"\n      {law['drift']['sentence']}" if law.get("drift") else ""))
        approx = summ.get("details", {}).get("approximate_law")
        if approx and not summ["laws"]:
            print(f"  best approximate law: G = {approx['expression']}"
                  + (f"\n      {approx['dissipation']}" if approx.get("dissipation") else "")
                  + f"\n      {approx['drift']['sentence']}; relative drift {approx['drift']['rate']:.4g}/time, "
                    f"95% interval [{approx['drift']['interval'][0]:.4g}, {approx['drift']['interval'][1]:.4g}]")
        for item in summ.get("details", {}).get("dropped_laws", []):
            print(f"  dropped: {item['expression'][:70]}: {item['note']}")
        for item in summ.get("details", {}).get("directions", []):
            if item["kind"] != "canonical":
                print(f"  direction without a law ({item['charge_share']:.0%} canonical): {item['description']}")
        for route, r in summ.get("routes", {}).items():
            print(f"  {route}: {r['count']} law(s): " + "; ".join(law["expression"][:50] for law in r["laws"]))
        if summ.get("singular_value_gap") is not None:
            print(f"  singular-value gap ×{summ['singular_value_gap']:.3g}")
        print(f"wrote {out}/summary.json, figures and {out}/report.html")
    return 0
