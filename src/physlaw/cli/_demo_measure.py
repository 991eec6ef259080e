"""The measurement parts of ``physlaw demo``: each bundled example run through its real command line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: (example, file, what it is, the command's options after FILE)
EXAMPLES = {
    "regress": ("linear_response.csv", "a resistor's voltage (V) against current (mA), noise unknown", []),
    "spectrum": ("spectrum_example.csv", "synthetic: two peaks on a flat background, noise unknown",
                 ["--kmax", "3", "--background", "constant", "--sign", "positive", "--shape", "gauss",
                  "--precision", "0.1"]),
    # with no options the scan compares six backgrounds and grows K to its limit of 8 here (about 10 minutes):
    # the demo fixes the background the evidence picks (Shirley, p = 1) and compares K = 1..5
    "xps": ("xps_PET_C1s.csv", "REAL: the XPS C 1s region of PET, counts × 1.0427 (Poisson), Shirley background",
            ["--background", "shirley", "--sign", "positive", "--shape", "voigt", "--kmax", "5", "--samples", "1000"]),
    # no options: the experiment, K (grown until F rises twice), the mode shape and the noise from the data
    "relaxation": ("relaxation_example.csv", "synthetic NMR saturation recovery, t in ms, noise unknown", []),
}


def run_example(name: str, args) -> int:
    """``physlaw COMMAND DATA OPTIONS --out DIR/name``: parsed and run exactly as from the shell."""
    from physlaw.cli import build_parser

    file, what, options = EXAMPLES[name]
    command = "spectrum" if name == "xps" else name
    with resources.as_file(resources.files("physlaw") / "data" / file) as path:
        argv = [command, str(path), *options, "--out", str(Path(args.out) / name), "--seed", str(args.seed),
                "--overwrite"]
        print(f"\nphyslaw demo: {file} ({what})\n  physlaw {' '.join([command, file, *options])}", flush=True)
        ns = build_parser().parse_args(argv)
        return int(ns.func(ns) or 0)
