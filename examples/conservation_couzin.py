"""Mototake (2021) result 4: a milling Couzin swarm and its (approximate) angular momentum.

Couzin et al. (2002) zones, 100 agents, positions and velocities relative to the centroid and the mean
velocity; one run that mills (milling index ≥ 0.5 after the burn-in, else redrawn). The family is the
Kepler one (a 2×2 block alike on q and p): the sampled maps are near-rotations, the generator is close
to [[R, 0], [0, R]] and G to the swarm's angular momentum q1 p2 − q2 p1 (the seed reports
[[0.019, 1], [−0.928, 0.026]]: not exact, the swarm is not Hamiltonian).

The transition pairs are Δt = 0.5 apart (at Δt = 0.1 a pair is nearly (x, x) and the autoencoder's
manifold says little about the dynamics); the library's default bottleneck (4) is used. Results over
seeds: benchmarks/results/conservation.md.

    .venv/bin/python examples/conservation_couzin.py [--seed 0] [--quick] [--out DIR]
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
    ds = simulate("couzin", k_data, num_trajectories=1, num_times=10 if args.quick else 50, dt=0.5,
                  min_milling=0.5, seed=args.seed, **({"burn_in": 20.0} if args.quick else {}))
    print("milling index:", ds.metadata.get("milling_index"), " polarisation:", ds.metadata.get("polarisation"))
    res = conserve(ds, method="group", family="rotation", key=k_run, **run_settings(args.quick))
    return report("couzin", res, true_generator(), args.out)


if __name__ == "__main__":
    main()
