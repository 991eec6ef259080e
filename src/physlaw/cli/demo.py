"""``physlaw demo``: the main job on bundled example data."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from physlaw.cli._common import seed


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run physlaw on bundled example data and print the result",
        description=(
            "Runs `physlaw regress --model both --estimate-noise` on a bundled linear-response "
            "measurement (a resistor's voltage against current, with a small offset of the voltmeter) "
            "and prints the selected model, the parameters, the estimated noise and the free energies."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", default="physlaw-demo", metavar="DIR", help="output folder")
    p.add_argument("--seed", type=seed, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--examples", choices=["all", "regress", "spectrum", "relaxation"], default="all",
                   help="which bundled examples to run: regress writes to DIR, spectrum to DIR/spectrum "
                        "(two peaks on a background), relaxation to DIR/relaxation (two T1 modes)")
    p.set_defaults(func=main)


def main(args) -> int:
    if args.examples in ("all", "regress"):
        regress_demo(args)
    if args.examples in ("all", "spectrum", "relaxation"):
        from physlaw.cli import _demo_measure

        _demo_measure.run(args)
    return 0


def regress_demo(args) -> None:
    from physlaw.cli import regress as regress_cmd
    from physlaw.io.tables import read_xy

    data = resources.files("physlaw") / "data" / "linear_response.csv"
    with resources.as_file(data) as path:
        x, y, _ = read_xy(path)
        print(f"physlaw demo: {path.name} ({x.size} points: current in mA, voltage in V)")
        ns = argparse.Namespace(model="both", estimate_noise=True, prior_scale=10.0, samples=5000, replicas=32,
                                chains=4, seed=args.seed, resume=False, quiet=args.quiet, data=str(path))
        out = Path(args.out)
        reg = regress_cmd.run_regression(x, y, None, ns, out)
    regress_cmd.print_summary(reg, out)
