"""``physlaw control``: drive a system to a chosen configuration with the controller of a trained SymODEN."""

from __future__ import annotations

import argparse
import sys

from physlaw.cli._common import finite_float, float_between, int_between, positive_float, setup_jax
from physlaw.cli._output import add_output_folder, output_folder


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "control",
        help="energy-shaping control from a trained symoden: drive the system to --target",
        description=(
            "Load a symoden written by 'physlaw train symoden' and build its energy-shaping controller "
            "u = beta(q) + v(p) (Zhong et al. 2020): the learned potential V is replaced by Kp |q - target|^2 / 2 "
            "through the actuators and damping -Kd g^T dH/dp is injected. Runs the closed loop from --start (default: "
            "rest at q = 0, e.g. a pendulum hanging down) on the true system the training data were simulated from "
            "(or --system), else on the learned model itself, and writes DIR/summary.json (final error, settling "
            "time, largest control), DIR/closed_loop.csv (t, q, p, u) and DIR/closed_loop.png. A fully actuated "
            "system reaches any target; an underactuated one (cart-pole, acrobot) only what its actuators shape, "
            "which the summary says."
        ),
    )
    parser.add_argument("model_dir", metavar="MODEL", help="directory written by physlaw train symoden")
    parser.add_argument("--target", type=finite_float, nargs="+", required=True, metavar="Q",
                        help="target configuration, one number per position (e.g. 3.14159 for a pendulum upright)")
    add_output_folder(parser, resume=False)
    parser.add_argument("--start", type=finite_float, nargs="+", metavar="X",
                        help="initial q1..qd p1..pd (q1..qd v1..vd for a model trained on velocities) [all zero]")
    parser.add_argument("--system", help="plant to control: a controlled system of 'physlaw simulate --list' "
                                          "[the one the training data came from; else the learned model]")
    parser.add_argument("--kp", type=float_between(0, 1e6, lo_open=True), default=2.0,
                        help="stiffness of the shaped potential [2]")
    parser.add_argument("--kd", type=float_between(0, 1e6), default=1.0, help="injected damping [1]")
    parser.add_argument("--time", type=positive_float, default=10.0, help="duration of the closed loop [10]")
    parser.add_argument("--dt", type=float_between(1e-6, 10.0), default=0.05,
                        help="control interval: u is recomputed every dt and held between [0.05]")
    parser.add_argument("--max-control", type=positive_float, help="clip each control to +-this [no clipping]")
    parser.add_argument("--tolerance", type=float_between(0, 1e6, lo_open=True), default=0.1,
                        help="distance to the target (per coordinate; radians for angles) that counts as reached [0.1]")
    parser.add_argument("--substeps", type=int_between(1, 1000), default=10, help="RK4 steps per control interval [10]")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from physlaw.errors import InputError

    steps = args.time / args.dt
    if steps > 1e6:
        raise InputError(f"--time / --dt = {steps:.3g} control intervals; at most 1e6: lower --time or raise --dt")
    setup_jax(float64=None)
    import jax
    import jax.numpy as jnp
    import numpy as np

    from physlaw.dynamics import CONTROLLED_SYSTEMS, closed_loop, get_controlled_system
    from physlaw.io.atomic import write_json
    from physlaw.io.networks import load_model
    from physlaw.nets import SymODEN, actuation_rank, energy_shaping_controller
    from physlaw.nets._symoden import closed_loop_summary
    from physlaw.plot.control import closed_loop_figure

    folder = output_folder(args, "control")
    model, config = load_model(args.model_dir)
    if not isinstance(model, SymODEN):
        raise InputError(f"{args.model_dir!r} holds a {config['model']['model']!r} model; the controller needs a symoden "
                         "(physlaw train symoden DATA --u COLUMN)")
    d = config["model"]["dim"] // 2
    if len(args.target) != d:
        raise InputError(f"--target needs {d} number(s), one per position of the model; got {len(args.target)}")
    start = np.zeros(2 * d) if args.start is None else np.asarray(args.start, float)
    if start.shape != (2 * d,):
        which = "q1 p1" if d == 1 else f"q1..q{d} p1..p{d}"
        raise InputError(f"--start needs {2 * d} numbers ({which}); got {len(args.start)}")
    source = (config.get("data_metadata") or {}).get("system")
    name = args.system or (source if source in CONTROLLED_SYSTEMS else None)
    if name is not None:
        if name not in CONTROLLED_SYSTEMS:
            raise InputError(f"--system {name!r} is not a controlled system; choose one of {', '.join(CONTROLLED_SYSTEMS)}")
        params = (config.get("data_metadata") or {}).get("parameters") if name == source else None
        plant = get_controlled_system(name, **(params or {}))
        if plant.dim != d or plant.num_controls != model.num_controls:
            raise InputError(f"{name!r} has {plant.dim} positions and {plant.num_controls} control(s) but the model "
                             f"{d} and {model.num_controls}; choose the system the model was trained on")
        plant_text = f"the true {name}"
        to_state = lambda y: jnp.concatenate([y[:d], plant.mass_fn(y[:d]) @ y[d:]])  # noqa: E731  (q, q') -> (q, p)
        observe = plant.positions_and_velocities
    else:
        plant = _LearnedPlant(model, d)
        plant_text = "the learned model itself (no simulator for the training data)"
        to_state, observe = model.momenta_of, model.velocities_of
    controller = energy_shaping_controller(model, jnp.asarray(args.target, jnp.float32), kp=args.kp, kd=args.kd)
    num_times = int(round(steps)) + 1
    x0 = jnp.asarray(start, jnp.float32)
    if not model.velocity_data:  # the controller and the start are in (q, p)
        observe = None
    else:  # a model of measured velocities: the start is (q, q'), the controller is given (q, q')
        x0 = to_state(x0)
    x, u = closed_loop(plant, controller, x0, dt=args.dt, num_times=num_times, substeps=args.substeps,
                       u_max=args.max_control, observe=observe)
    if observe is not None:
        x = np.asarray(jax.vmap(observe)(jnp.asarray(x)))
    if not np.all(np.isfinite(x)):
        raise InputError("the closed loop diverged (non-finite states); lower --kp/--kd or --dt, or set --max-control")
    summary = closed_loop_summary(x, u, args.target, dt=args.dt, angles=model.angles, tolerance=args.tolerance)
    rank = actuation_rank(model, start[:d])
    summary.update(model_dir=str(args.model_dir), plant=plant_text, target=list(args.target), start=start.tolist(),
                   kp=args.kp, kd=args.kd, dt=args.dt, max_control=args.max_control, actuation_rank=rank,
                   fully_actuated=rank == d)
    warnings = []
    if rank < d:
        warnings.append(f"the learned input matrix g(q) has rank {rank} < {d}: the system is underactuated, so "
                        "potential shaping cannot place every coordinate at the target")
    if not summary["reached"]:
        warnings.append(f"the closed loop ends {summary['max_final_error']:.3g} from the target (tolerance "
                        f"{args.tolerance:g}); raise --time or --kp, or retrain on data that cover the path")
    summary["warnings"] = warnings
    second = "v" if model.velocity_data else "p"
    names = [f"q{i + 1}" for i in range(d)] + [f"{second}{i + 1}" for i in range(d)]
    controls = [f"u{j + 1}" for j in range(u.shape[-1])]
    t = args.dt * np.arange(num_times)
    with folder as stage:
        write_json(stage / "summary.json", summary)
        np.savetxt(stage / "closed_loop.csv", np.column_stack([t, x, u]), delimiter=",", comments="",
                   header=",".join(["t", *names, *controls]))
        closed_loop_figure(t, x, u, args.target, stage / "closed_loop.png", names=names, control_names=controls,
                           title=f"energy shaping on {plant_text}: Kp {args.kp:g}, Kd {args.kd:g}")
    err = ", ".join(f"{e:+.3g}" for e in summary["final_error"])
    print(f"closed loop on {plant_text}: final error {err} after {summary['duration']:g} time units "
          f"({'reached' if summary['reached'] else 'not reached'}, settling time {summary['settling_time']}); "
          f"max |u| {max(summary['max_abs_control']):.3g}; wrote {args.out}")
    for w in warnings:
        print(f"physlaw control: warning: {w}", file=sys.stderr)
    return 0


class _LearnedPlant:
    """The learned model as the plant of a closed loop (``closed_loop`` needs ``dim`` and ``controlled_field``)."""

    def __init__(self, model, dim: int):
        self.dim, self.controlled_field = dim, model.controlled_field
