"""Mototake (2021) result 3: planar Kepler, the rotation group and the angular momentum.

One energy shell E = −0.5 of H = |p|²/2 − 1/|q| (256 orbits × 64 points, Δt = 0.1); the family is
one 2×2 block acting alike on q and p. The relations a11 = a22, a21 = −a12, a11² + a21² = 1 give the
generator K = [[R, 0], [0, R]], R = [[0, −1], [1, 0]], and G = q1 p2 − q2 p1.

    .venv/bin/python examples/conservation_kepler.py [--seed 0] [--quick] [--out DIR]
"""

import jax
import numpy as np

from _conservation import parser, report, run_settings
from physlaw.dynamics import simulate
from physlaw.symmetry import conserve


def true_generator() -> np.ndarray:
    r, z = np.array([[0.0, -1.0], [1.0, 0.0]]), np.zeros((2, 2))
    return np.hstack([np.block([[r, z], [z, r]]), np.zeros((4, 1))])


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    k_data, k_run = jax.random.split(jax.random.key(args.seed))
    n = 16 if args.quick else 256
    ds = simulate("kepler", k_data, num_trajectories=n, num_times=64, dt=0.1, energy=-0.5, seed=args.seed)
    res = conserve(ds, method="group", family="rotation", key=k_run, **run_settings(args.quick))
    return report("kepler", res, true_generator(), args.out)


if __name__ == "__main__":
    main()
