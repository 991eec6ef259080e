"""``physlaw demo``: the main job on bundled example data."""

from __future__ import annotations

import argparse
from pathlib import Path

from physlaw.cli._common import key_from_seed, seed
from physlaw.cli._output import output_folder


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run physlaw on bundled example data and print the result",
        description=(
            "Runs each bundled example through its real command: `physlaw regress` on a linear-response "
            "measurement (a resistor's voltage against current, with a small offset of the voltmeter), "
            "`physlaw spectrum` on a synthetic two-peak spectrum and on a REAL XPS C 1s spectrum of PET (Poisson "
            "likelihood for its scaled counts, Shirley background, K = 1..5 compared), "
            "`physlaw relaxation` on an NMR saturation-recovery curve, and a conservation-law search on "
            "simulated Kepler orbits. Each prints its answer; the folders hold summary.json and report.html."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", default="physlaw-demo", metavar="DIR",
                   help="output folder: one result folder per example inside it (DIR/regress, DIR/spectrum, "
                        "DIR/xps, DIR/relaxation, DIR/conserve); each is replaced as a whole when its example succeeds")
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--examples", default="all", metavar="NAMES",
                   help="comma-separated examples to run, from regress, spectrum, xps, relaxation, conserve "
                        "(conserve: Kepler orbits simulated, written as DIR/kepler.csv, angular momentum found by the "
                        "direct Lie route, ≈ 30 s), or all")
    p.set_defaults(func=main)


def main(args) -> int:
    from physlaw.cli._demo_measure import EXAMPLES, run_example
    from physlaw.errors import InputError

    names = ["regress", "spectrum", "xps", "relaxation", "conserve"]
    chosen = names if args.examples == "all" else [n.strip() for n in args.examples.split(",") if n.strip()]
    for n in chosen:
        if n not in names:
            raise InputError(f"--examples: unknown example {n[:40]!r}; choose from {', '.join(names)} or all")
    for n in names:
        if n in chosen and n in EXAMPLES:
            run_example(n, args)
    if "conserve" in chosen:
        conserve_demo(args)
    return 0


def conserve_demo(args) -> None:
    """Simulate planar Kepler orbits on one energy shell, write them as a CSV, find the conserved quantity."""

    from physlaw.cli import conserve as conserve_cmd
    from physlaw.dynamics import simulate
    from physlaw.io.trajectories import save_csv

    out = Path(args.out) / "conserve"
    csv = Path(args.out) / "kepler.csv"
    output_folder(argparse.Namespace(out=out), "conserve")  # refuse a bad DIR before simulating
    data = simulate("kepler", key_from_seed(args.seed), num_trajectories=256, num_times=64, dt=0.1, energy=-0.5)
    save_csv(csv, data)
    print(f"physlaw demo: {csv} (256 Kepler orbits at E = -0.5, 64 times each); "
          "physlaw conserve --method lie --family rotation")
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    conserve_cmd.register(sub)
    ns = parser.parse_args(["conserve", str(csv), "--method", "lie", "--family", "rotation",
                            "--out", str(out), "--seed", str(args.seed)] + (["--quiet"] if args.quiet else []))
    conserve_cmd.main(ns)
