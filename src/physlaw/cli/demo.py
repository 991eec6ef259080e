"""``physlaw demo``: the main job on bundled example data."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from physlaw.cli._common import key_from_seed, seed
from physlaw.cli._output import output_folder


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run physlaw on bundled example data and print the result",
        description=(
            "Runs `physlaw regress --model both --estimate-noise` on a bundled linear-response "
            "measurement (a resistor's voltage against current, with a small offset of the voltmeter) "
            "and prints the selected model, the parameters, the estimated noise and the free energies; then "
            "the spectrum and NMR relaxation examples, and a conservation-law search on simulated Kepler orbits."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", default="physlaw-demo", metavar="DIR",
                   help="output folder: one result folder per example inside it (DIR/regress, DIR/spectrum, "
                        "DIR/relaxation, DIR/conserve); each is replaced as a whole when its example succeeds")
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--examples", choices=["all", "regress", "spectrum", "relaxation", "conserve"], default="all",
                   help="which examples to run: regress writes to DIR/regress, spectrum to DIR/spectrum "
                        "(two peaks on a background), relaxation to DIR/relaxation (two T1 modes), conserve to "
                        "DIR/conserve (Kepler orbits simulated, written as DIR/kepler.csv, angular momentum found by the "
                        "direct Lie route, ≈ 30 s)")
    p.set_defaults(func=main)


def main(args) -> int:
    if args.examples in ("all", "regress"):
        regress_demo(args)
    if args.examples in ("all", "spectrum", "relaxation"):
        from physlaw.cli import _demo_measure

        _demo_measure.run(args)
    if args.examples in ("all", "conserve"):
        conserve_demo(args)
    return 0


def conserve_demo(args) -> None:
    """Simulate planar Kepler orbits on one energy shell, write them as a CSV, find the conserved quantity."""
    import jax

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


def regress_demo(args) -> None:
    from physlaw.cli import regress as regress_cmd
    from physlaw.io.tables import read_xy

    data = resources.files("physlaw") / "data" / "linear_response.csv"
    with resources.as_file(data) as path:
        x, y, _ = read_xy(path)
        print(f"physlaw demo: {path.name} ({x.size} points: current in mA, voltage in V)")
        ns = argparse.Namespace(model="both", estimate_noise=True, prior_scale=10.0, samples=5000, replicas=32,
                                chains=4, seed=args.seed, resume=False, quiet=args.quiet, data=str(path))
        out = Path(args.out) / "regress"
        folder = output_folder(argparse.Namespace(out=out), "regress")
        with folder as stage:
            reg = regress_cmd.run_regression(x, y, None, ns, stage, folder.checkpoint_dir)
    regress_cmd.print_summary(reg, out)
