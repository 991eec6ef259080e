"""``physlaw evaluate``: roll a trained model out from fresh initial conditions and score it."""

from __future__ import annotations

import argparse
import math
import sys

from physlaw.cli._common import (
    check_memory, finite_float, float_between, int_between, key_from_seed, positive_float, positive_int, seed,
    setup_jax,
)
from physlaw.cli.simulate import _parse_params


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a trained model on fresh initial conditions of a system",
        description=(
            "Load a model written by 'physlaw train', draw fresh initial conditions of SYSTEM, integrate the "
            "true system and the model over [0, t-max] (the model with its own integrator: implicit midpoint for a "
            "learned Hamiltonian, Yoshida for a separable one, RK4 otherwise; a vin runs its continuous limit "
            "q'' = -M^-1 grad V with RK4, from the true positions and velocities) and write derivative, rollout and "
            "energy MSEs, the geometric-mean relative rollout error (Finzi et al. 2020) next to its chaos floor "
            "(the true system from initial states perturbed by 1e-4), the valid prediction time (relative error "
            "below 0.1) and the drift of each conserved quantity to a JSON file; with --seeds N, the medians over "
            "N draws of initial conditions and each draw's numbers. "
            "For a DAE, writes the reconstruction MSE on fresh transition pairs instead. A controlled system "
            "(pendulum-controlled, cart-pole, acrobot) is evaluated without control (u = 0), where its energy is conserved."
        ),
    )
    parser.add_argument("model_dir", metavar="DIR", help="directory written by physlaw train")
    parser.add_argument("--system", required=True, help="system name (physlaw simulate --list)")
    parser.add_argument("--out", required=True, help="output JSON file")
    parser.add_argument("--num-trajectories", type=positive_int, default=15, help="fresh initial conditions [15]")
    parser.add_argument("--t-max", type=positive_float, default=20.0,
                        help="rollout length [20]; t-max / dt is at most 1e5 compared times")
    parser.add_argument("--dt", type=float_between(1e-100, 1e100), help="time between compared states [system default]")
    parser.add_argument("--energy", type=finite_float, help="draw initial conditions on the shell H = E")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="system constant")
    parser.add_argument("--seed", type=seed, default=1, help="random seed [1]")
    parser.add_argument("--seeds", type=int_between(1, 100), default=1,
                        help="evaluate on N draws of initial conditions (seeds SEED..SEED+N-1) and report medians [1]")
    parser.set_defaults(func=run)


def check_size(args, params: dict) -> None:
    """Refuse before loading or integrating when the rollouts cannot fit in memory: about 6 float64
    copies of trajectories × times × coordinates (true states, derivatives, the model's rollout, energies).
    ``--t-max / --dt`` is at most 1e5 compared times (``rollout_times``)."""
    from physlaw.cli.simulate import check_size as check_simulation_size
    from physlaw.errors import InputError
    from physlaw.dynamics import CONTROLLED_SYSTEMS, HAMILTONIAN_SYSTEMS, list_systems

    if args.system not in list_systems():
        raise InputError(f"unknown system {args.system!r}; choose one of {', '.join(list_systems())}")
    if args.system not in HAMILTONIAN_SYSTEMS and args.system not in CONTROLLED_SYSTEMS:  # only a DAE is scored there, on a simulation of default length
        check_simulation_size(argparse.Namespace(system=args.system, num_trajectories=args.num_trajectories,
                                                 num_times=None), params, fix="lower --num-trajectories")
        return
    from physlaw.nets._metrics import rollout_times

    system = _system(args.system, params)
    try:
        times = rollout_times(args.t_max, args.dt or system.dt)
    except InputError as err:  # name the options, not the function arguments
        raise InputError(str(err).replace("t_max", "--t-max").replace("dt", "--dt")) from None
    check_memory(6.0 * 8 * args.num_trajectories * times * 2 * system.dim,
                 f"{args.num_trajectories} trajectories × {times:.0f} times × {2 * system.dim} coordinates",
                 "lower --num-trajectories or --t-max, or raise --dt")


def _system(name: str, params: dict):
    """A Hamiltonian system by name; a controlled one (``physlaw simulate --list``) without its control."""
    from physlaw.dynamics import CONTROLLED_SYSTEMS, get_controlled_system, get_system

    if name in CONTROLLED_SYSTEMS:
        return get_controlled_system(name, **params).free_system()
    return get_system(name, **params)


def run(args: argparse.Namespace) -> int:
    from physlaw.errors import InputError

    if args.energy is not None and not math.isfinite(args.energy):
        raise InputError(f"--energy must be a finite number, got {args.energy}")

    import jax
    import jax.numpy as jnp

    setup_jax(float64=None)
    from physlaw.dynamics import HAMILTONIAN_SYSTEMS, simulate
    from physlaw.io.atomic import write_json
    from physlaw.io.networks import load_model
    from physlaw.io.results import check_output_file
    from physlaw.nets import evaluate_on_system, evaluate_panel

    check_output_file(args.out, suffixes=(".json",))
    params = _parse_params(args.param)
    check_size(args, params)
    model, config = load_model(args.model_dir)
    key = key_from_seed(args.seed)
    kind = config["model"]["model"]
    result = {"model_dir": str(args.model_dir), "model": kind, "system": args.system, "seed": args.seed}
    if kind == "dae":
        data = simulate(args.system, key, num_trajectories=args.num_trajectories, dt=args.dt, energy=args.energy, **params)
        rows = data.points() if data.num_times == 1 else data.transition_pairs(config.get("lag", 1))
        if rows.shape[-1] != config["model"]["dim"]:
            raise InputError(f"the DAE in {args.model_dir!r} takes {config['model']['dim']} inputs but {args.system!r} "
                             f"gives {rows.shape[-1]}; evaluate on the system it was trained on")
        rows = jnp.asarray(rows, jnp.float32)
        result["reconstruction_mse"] = float(jnp.mean((jax.vmap(model)(rows) - rows) ** 2))
    else:
        from physlaw.dynamics import CONTROLLED_SYSTEMS

        if args.system not in HAMILTONIAN_SYSTEMS and args.system not in CONTROLLED_SYSTEMS:
            raise InputError(f"--system {args.system!r} is not a Hamiltonian or controlled system; choose one of "
                             f"{', '.join([*HAMILTONIAN_SYSTEMS, *CONTROLLED_SYSTEMS])}")
        system = _system(args.system, params)
        per_body = getattr(model, "columns_per_body", None)  # a graph network runs on any number of bodies
        if per_body is not None and (2 * system.dim) % per_body:
            raise InputError(f"the graph network in {args.model_dir!r} takes {per_body} columns per body but "
                             f"{args.system!r} has {2 * system.dim}; evaluate on a system of such bodies")
        if per_body is None and 2 * system.dim != config["model"]["dim"]:
            raise InputError(f"the model in {args.model_dir!r} has state dimension {config['model']['dim']} but "
                             f"{args.system!r} has {2 * system.dim}; evaluate on the system it was trained on")
        if args.seeds > 1:
            panel = evaluate_panel(model, system, range(args.seed, args.seed + args.seeds),
                                   num_trajectories=args.num_trajectories, t_max=args.t_max, dt=args.dt,
                                   energy=args.energy)
            result.update(panel["median"], runs=panel["runs"], statistic="median over seeds",
                          num_trajectories=args.num_trajectories, t_max=args.t_max)
        else:
            metrics = evaluate_on_system(model, system, key, num_trajectories=args.num_trajectories,
                                         t_max=args.t_max, dt=args.dt, energy=args.energy)
            metrics.pop("rollout")
            result.update(metrics, num_trajectories=args.num_trajectories, t_max=args.t_max)
    diverged = sorted(k for k, v in result.items() if k.endswith("mse") and not (isinstance(v, float) and math.isfinite(v)))
    if diverged:
        result["warnings"] = [f"the model's rollout diverged: {', '.join(diverged)} not finite (written as null); "
                              "train longer or with a smaller learning rate, or evaluate over a shorter --t-max"]
    write_json(args.out, result)
    print(" ".join(f"{k}={v:.3g}" for k, v in result.items() if k.endswith("mse") and v is not None
                   and math.isfinite(v)) + f"; wrote {args.out}")
    for w in result.get("warnings", []):
        print(f"physlaw evaluate: warning: {w}", file=sys.stderr)
    return 0
