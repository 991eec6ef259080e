"""Mototake (2021) result 1: the rotation group of points on a hemisphere (a static manifold).

Points on x1² + x2² + x3² = 1, x3 > 0; the family is a free 2×2 block on (x1, x2). The group route
samples the maps that leave the autoencoder's manifold invariant, fits their relations
(a11² + a21² = 1, a11 = a22, a12 = −a21, …) and differentiates them at the identity: the generator
is the rotation about x3, K = E21 − E12.

    .venv/bin/python examples/conservation_sphere.py [--seed 0] [--quick] [--out DIR]
"""

import jax
import numpy as np

from _conservation import parser, report, run_settings
from physlaw.dynamics import simulate
from physlaw.symmetry import conserve


def true_generator() -> np.ndarray:
    k = np.zeros((3, 4))
    k[1, 0], k[0, 1] = 1.0, -1.0
    return k


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    key = jax.random.key(args.seed)
    k_data, k_run = jax.random.split(key)
    ds = simulate("sphere", k_data, num_trajectories=300 if args.quick else 1000, seed=args.seed)
    res = conserve(ds, method="group", family="rotation", key=k_run, **run_settings(args.quick))
    return report("sphere", res, true_generator(), args.out)


if __name__ == "__main__":
    main()
