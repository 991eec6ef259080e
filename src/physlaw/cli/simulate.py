"""``physlaw simulate``: simulate a system and write its trajectories to ``.npz`` or CSV."""

from __future__ import annotations

import argparse
import math

from physlaw.cli._common import (
    check_memory, finite_float, float_between, key_from_seed, positive_int, seed, setup_jax,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate trajectories of a physical system",
        description=(
            "Simulate trajectories of a named system (symplectic Yoshida integrator for separable "
            "Hamiltonians, RK4 otherwise) and write them to FILE: .npz with metadata, or .csv "
            "(columns trajectory, t, q1.., p1..). 'physlaw simulate --list' names the systems. The controlled "
            "systems (pendulum-controlled, cart-pole, acrobot) are driven by random piecewise-constant controls, "
            "written as columns u1..: a new value, uniform in [-u_max, u_max], every 'hold' records (--param "
            "u_max=2 --param hold=1 are the pendulum's defaults); train a symoden on them."
        ),
    )
    parser.add_argument("system", nargs="?", help="system name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the systems and exit")
    parser.add_argument("--energy", type=finite_float, help="sample initial conditions on the energy shell H = E")
    parser.add_argument("--num-trajectories", type=positive_int,
                        help="initial conditions [50]; couzin/boids: independent runs [1]; sphere: points [1000]")
    parser.add_argument("--num-times", type=positive_int, help="recorded times per trajectory [system default]")
    parser.add_argument("--dt", type=float_between(1e-100, 1e100), help="time between records [system default]")
    parser.add_argument("--noise", type=float_between(0, 1e100), default=0.0,
                        help="Gaussian noise s.d. added to q and p [0]")
    parser.add_argument("--method", choices=["yoshida4", "leapfrog", "rk4"], help="integrator [yoshida4 if separable]")
    parser.add_argument("--substeps", type=positive_int,
                        help="integrator steps per record [system default]; times x substeps at most 1e8")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="physical constant of the system, e.g. --param g=9.81 (repeatable)")
    parser.add_argument("--out", help="output file, .npz or .csv")
    parser.add_argument("--seed", type=seed, default=0, help="random seed [0]")
    parser.set_defaults(func=run)


def _parse_params(items: list[str]) -> dict:
    from physlaw.errors import InputError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            number = float(value)
            if value.strip().lstrip("+-").isdigit() and math.isfinite(number):
                number = int(value)
        except ValueError:
            raise InputError(f"--param {item[:60]!r} is not NAME=NUMBER; write e.g. --param g=9.81") from None
        if not name.strip():
            raise InputError(f"--param {item[:60]!r} has no name; write e.g. --param g=9.81")
        if not math.isfinite(number):
            raise InputError(f"--param {name.strip()[:40]} must be a finite number, got {value.strip()[:40]}")
        out[name.strip()] = number
    return out


def check_size(args, params: dict, *, fix: str = "lower --num-trajectories or --num-times") -> None:
    """Refuse before simulating when the arrays cannot fit in memory: about 5 float64 copies of
    trajectories × times × coordinates (states, derivatives, noisy states, output), and for swarms
    the agents' pairwise distances."""
    from physlaw.dynamics import CONTROLLED_SYSTEMS, get_controlled_system, get_system

    if args.system in ("couzin", "boids"):
        agents = params.get("num_agents", 100)
        n, times, dim = agents * (args.num_trajectories or 1), args.num_times or 50, 4
        pairwise = 4.0 * 8 * agents**2
    elif args.system == "sphere":
        n, times, dim, pairwise = args.num_trajectories or 1000, 1, 3, 0.0
    else:
        known = {k: v for k, v in params.items() if k not in ("u_max", "hold")}
        system = (get_controlled_system if args.system in CONTROLLED_SYSTEMS else get_system)(args.system, **known)
        n, times, dim, pairwise = args.num_trajectories or 50, args.num_times or system.num_times, 2 * system.dim, 0.0
    check_memory(5.0 * 8 * n * times * dim + pairwise, f"{n} trajectories × {times} times × {dim} coordinates",
                 fix + (" or --param num_agents" if pairwise else ""))


def _check_drive_period(system, dt) -> None:
    """A driven flow's stored derivatives are evaluated at t = 0: its records must be whole drive periods apart."""
    from physlaw.errors import InputError

    period = getattr(system, "drive_period", None)
    if period is None or dt is None:
        return
    cycles = dt / period
    if not (round(cycles) >= 1 and math.isclose(cycles, round(cycles), rel_tol=1e-9)):
        raise InputError(f"--dt for {system.name!r} must be a whole number of drive periods 2 pi/Omega = {period:.12g} "
                         f"(records are stroboscopic); got {dt}; leave --dt out for one period")


def _median(values):
    values = sorted(values)
    return 0.5 * (values[(len(values) - 1) // 2] + values[len(values) // 2])


def run(args: argparse.Namespace) -> int:
    from physlaw.errors import InputError
    from physlaw.io.results import check_output_file

    if args.list:
        from physlaw.dynamics import list_systems

        systems = list_systems()
        width = max(map(len, systems))
        for name, text in systems.items():
            print(f"{name:<{width}}  {text}")
        return 0
    if not args.system:
        raise InputError("give a system name (physlaw simulate --list shows them) or --list")
    if not args.out:
        raise InputError("give --out FILE (.npz or .csv) for the simulated data")
    check_output_file(args.out, suffixes=(".npz", ".csv"))
    if args.energy is not None and not math.isfinite(args.energy):
        raise InputError(f"--energy must be a finite number, got {args.energy}")
    if not (args.noise >= 0 and math.isfinite(args.noise)):
        raise InputError(f"--noise must be a finite number >= 0, got {args.noise}")


    setup_jax(float64=True)
    from physlaw.dynamics import FLOW_SYSTEMS, get_system, list_systems, simulate
    from physlaw.io.trajectories import save_csv, save_dataset

    known = list(list_systems())
    if args.system not in known:
        raise InputError(f"unknown system {args.system!r}; choose one of {', '.join(known)}")
    params = _parse_params(args.param)
    check_size(args, params)
    if args.system in FLOW_SYSTEMS:
        _check_drive_period(get_system(args.system, **params), args.dt)
    options = dict(num_trajectories=args.num_trajectories, num_times=args.num_times, dt=args.dt,
                   energy=args.energy, noise=args.noise, seed=args.seed, **params)
    options.update({k: v for k, v in (("method", args.method), ("substeps", args.substeps)) if v is not None})
    dataset = simulate(args.system, key_from_seed(args.seed), **options)
    (save_csv if args.out.endswith(".csv") else save_dataset)(args.out, dataset)
    meta = dataset.metadata
    summary = f"wrote {args.out}: {dataset.num_trajectories} trajectories x {dataset.num_times} times"
    if meta.get("energy_error_max_rel") is not None:
        summary += f"; max relative energy error {meta['energy_error_max_rel']:.2e}"
    if meta.get("milling_index") is not None:
        summary += (f"; final milling index {_median(meta['milling_index']):.2f}, polarisation "
                    f"{_median(meta['polarisation']):.2f} (median over runs)")
    print(summary)
    return 0
