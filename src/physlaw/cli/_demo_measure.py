"""The spectrum and relaxation parts of ``physlaw demo`` (bundled example data)."""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path


def _example(name):
    return resources.as_file(resources.files("physlaw") / "data" / name)


def run(args) -> None:
    from physlaw.cli import relaxation, spectrum

    common = dict(sigma=None, estimate_noise=True, samples=1000, replicas=24, chains=4, seed=args.seed,
                  resume=False, quiet=args.quiet, prior=None)
    if args.examples in ("all", "spectrum"):
        with _example("spectrum_example.csv") as path:
            out = Path(args.out) / "spectrum"
            print(f"\nphyslaw demo: {path.name} (two peaks on a flat background, noise unknown)")
            ns = argparse.Namespace(data=str(path), kmax=3, shape="gauss", background="constant", out=str(out), **common)
            spectrum.main(argparse.Namespace(**{**vars(ns), "quiet": False}))
    if args.examples in ("all", "relaxation"):
        with _example("relaxation_example.csv") as path:
            out = Path(args.out) / "relaxation"
            print(f"\nphyslaw demo: {path.name} (NMR saturation recovery, t in ms, noise unknown)")
            ns = argparse.Namespace(data=str(path), kmax=2, out=str(out), **common)
            relaxation.main(argparse.Namespace(**{**vars(ns), "quiet": False}))
