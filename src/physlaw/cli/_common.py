"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import math


def setup_jax(*, float64: bool | None = True) -> None:
    """Set JAX up for a command: precision (float64 by default; None leaves it as it is) and physlaw's
    persistent compilation cache (``physlaw.enable_persistent_cache``). Call it before anything compiles."""
    import jax

    import physlaw

    if float64 is not None:
        jax.config.update("jax_enable_x64", float64)
    physlaw.enable_persistent_cache()
    host_devices()


MEASUREMENT_WRITERS = ("scipy.special", "physlaw.plot.spectrum", "physlaw.report.html")
"""What a measurement command imports only after its computation: the free-energy diagnostics' SciPy,
matplotlib's figures and the report (about 1 s of imports together)."""


def prefetch(modules=MEASUREMENT_WRITERS):
    """Import ``modules`` in a background thread while the computation runs, so that writing the result
    does not wait for them (the sampling leaves a core partly idle, and JAX releases the GIL while a
    compiled program runs). Call it once the input has been read and checked. The thread is not a
    daemon: the interpreter finishes the imports before it exits. A failing import is left to the real
    import later, which reports it.

    Returns:
        The started thread.
    """
    import importlib
    import threading

    def load():
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001  (reported by the command's own import)
                pass

    thread = threading.Thread(target=load, name="physlaw-prefetch")
    thread.start()
    return thread


def host_devices(count: int | None = None) -> int | None:
    """One XLA host device per usable CPU core (at most 8), so ``physlaw.sampling.run`` spreads its chains
    over the cores (``run(devices=None)``, the default: the draws do not depend on the count).

    ``count`` if given, else the environment variable ``PHYSLAW_CPU_DEVICES`` (``1`` switches it off),
    else the cores this process may use. It only works before JAX first runs anything (JAX fixes its
    devices then) and is skipped when ``XLA_FLAGS`` already sets ``--xla_force_host_platform_device_count``.
    Library users do the same with ``jax.config.update("jax_num_cpu_devices", N)`` right after importing JAX.

    Returns:
        The device count set, or None when nothing was changed.
    """
    import os

    import jax
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized() or "xla_force_host_platform_device_count" in os.environ.get(
            "XLA_FLAGS", ""):
        return None
    if count is None:
        setting = os.environ.get("PHYSLAW_CPU_DEVICES", "").strip()
        count = int(setting) if setting.isdigit() and int(setting) > 0 else min(len(os.sched_getaffinity(0)), 8)
    if count < 2:
        return None
    jax.config.update("jax_num_cpu_devices", int(count))
    return int(count)


MAX_INT = 2**31 - 1  # every count option: JAX indexes with 32-bit integers


def _shown(text: str) -> str:
    """An argument as it appears in a message: at most 40 characters."""
    return text if len(text) <= 40 else text[:37] + "..."


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{_shown(text)!r} is not a number") from None


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # also integers too long to parse (over 4300 digits)
        raise argparse.ArgumentTypeError(f"{_shown(text)!r} is not an integer") from None


def positive_float(text: str) -> float:
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {_shown(text)}")
    return value


def finite_float(text: str) -> float:
    """Any finite number (no nan, inf or overflow such as 1e400)."""
    value = _number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {_shown(text)}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite number ≥ 0 (a noise level, a weight decay)."""
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {_shown(text)}")
    return value


def float_between(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False, why: str = ""):
    """An argparse ``type``: a number in ``[lo, hi]`` (an open end with ``lo_open`` / ``hi_open``)."""
    def parse(text: str) -> float:
        value = _number(text)
        if not ((lo < value if lo_open else lo <= value) and (value < hi if hi_open else value <= hi)):
            interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
            kind = "a positive finite number" if lo > 0 or (lo == 0 and lo_open) else "a number"
            raise argparse.ArgumentTypeError(f"must be {kind} in {interval}{why}, got {_shown(text)}")
        return value

    parse.__name__ = f"number in [{lo:g}, {hi:g}]"
    return parse


def positive_int(text: str) -> int:
    value = _integer(text)
    if not 1 <= value <= MAX_INT:
        raise argparse.ArgumentTypeError(f"must be a positive integer up to {MAX_INT}, got {_shown(text)}")
    return value


def int_between(lo: int, hi: int = MAX_INT, *, why: str = ""):
    """An argparse ``type``: an integer in ``[lo, hi]``; ``why`` explains the bound in the message.

    Example: ``p.add_argument("--kmax", type=int_between(1, 12))`` refuses ``--kmax 0`` and
    ``--kmax 13`` with "must be an integer from 1 to 12, got 13".
    """
    def parse(text: str) -> int:
        value = _integer(text)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be an integer from {lo} to {hi}{why}, got {_shown(text)}")
        return value

    parse.__name__ = f"integer in [{lo}, {hi}]"
    return parse


# Bounds of the sampler options: run() needs at least 10 kept sweeps and 2 temperatures.
samples_type = int_between(10, why=" (the sampler needs at least 10 kept sweeps per chain)")
replicas_type = int_between(2, 1024, why=" (a ladder needs at least 2 temperatures; 16-64 are typical)")
chains_type = int_between(1, 1024)

#: The length of a run when neither --samples nor --precision is given: from 500 sweeps until every free
#: energy is known to 0.1 nat; --samples alone gives a run of exactly that length (2000 with --precision 0).
DEFAULT_SAMPLES, DEFAULT_SAMPLES_WITH_PRECISION, DEFAULT_PRECISION = 2000, 500, 0.1


def add_sampling_options(p, *, float64: bool = True) -> None:
    """``--samples``, ``--precision`` and (``float64``) ``--float64`` of the measurement commands
    (``resolve_length`` fills the defaults; ``sampler_dtype`` reads ``--float64``)."""
    p.add_argument("--samples", type=samples_type, default=None,
                   help=f"sweeps kept per chain, at least 10: exactly this many, or the minimum with --precision "
                        f"(default: from {DEFAULT_SAMPLES_WITH_PRECISION} sweeps until the precision is reached)")
    p.add_argument("--precision", type=float_between(0.0, 100.0), metavar="NAT",
                   help=f"sample each model until its free energy is known to NAT, at most 10 x --samples sweeps; "
                        f"models many errors worse than the best stop at --samples (default {DEFAULT_PRECISION:g} "
                        f"unless --samples is given; 0: exactly --samples sweeps, default {DEFAULT_SAMPLES})")
    if not float64:
        return
    p.add_argument("--float64", action="store_true",
                   help="sample in double precision (default: single precision, about twice as fast, for a "
                        "Gaussian likelihood; Poisson counts always use double; free energies are summed in double)")


def sampler_dtype(args):
    """The sampler's working precision: float32 unless ``--float64`` (``selection.select``'s ``dtype``)."""
    import jax.numpy as jnp

    return None if getattr(args, "float64", False) else jnp.float32


def resolve_length(args) -> None:
    """Fill ``args.samples`` and ``args.precision`` (None: a fixed length): neither given → from 500 sweeps
    to 0.1 nat; --samples alone → exactly that many; --precision alone → from 500 sweeps; --precision 0 →
    a fixed length (default 2000)."""
    samples, precision = getattr(args, "samples", None), getattr(args, "precision", None)
    if precision is None and samples is None:
        precision = DEFAULT_PRECISION
    args.precision = precision or None
    args.samples = samples if samples is not None else (
        DEFAULT_SAMPLES_WITH_PRECISION if args.precision else DEFAULT_SAMPLES)


MAX_SEED = 2**63


def seed(text: str) -> int:
    """A ``--seed``: an integer with 0 ≤ seed < 2^63."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not an integer seed") from None
    if not 0 <= value < MAX_SEED:
        raise argparse.ArgumentTypeError(f"a seed must be between 0 and 2^63 - 1, got {text[:40]}")
    return value


def key_from_seed(value: int):
    """The ``jax.random`` key of a ``--seed``: distinct seeds give distinct keys, with or without float64.

    The key's data are the seed's two 32-bit halves, which is what ``jax.random.key(seed)`` gives
    with 64-bit integers on, so results stay those of earlier releases; without them
    ``jax.random.key`` would drop the upper half and seeds 2^32 apart would alias.
    """
    import jax
    import numpy as np

    if not 0 <= int(value) < MAX_SEED:
        raise ValueError(f"seed must be between 0 and 2^63 - 1, got {value}")
    halves = np.array([int(value) >> 32, int(value) & 0xFFFFFFFF], dtype=np.uint32)
    return jax.random.wrap_key_data(jax.device_put(halves), impl="threefry2x32")


# --------------------------------------------------------------------------------------------
# Sizes and scales checked before a command reads big data or computes

GIB = 2**30
MAX_MEMORY_GIB = 8.0
"""Largest estimated memory a command may request (GiB); ``PHYSLAW_MAX_MEMORY_GIB`` raises it."""


def max_memory_bytes() -> float:
    import os

    text = os.environ.get("PHYSLAW_MAX_MEMORY_GIB")
    try:
        gib = float(text) if text else MAX_MEMORY_GIB
    except ValueError:
        gib = MAX_MEMORY_GIB
    return (gib if math.isfinite(gib) and gib > 0 else MAX_MEMORY_GIB) * GIB


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """Refuse a run whose arrays would need more than :func:`max_memory_bytes` (default 8 GiB).

    ``what`` names the arrays and their sizes (e.g. "4 chains × 10^6 samples × 32 replicas"),
    ``fix`` says which options to lower. The estimate is made before any data are read or computed.
    """
    from physlaw.errors import InputError

    bound = max_memory_bytes()
    if not nbytes <= bound:  # also a nan or inf estimate
        raise InputError(f"{what} would need about {nbytes / GIB:.3g} GiB of memory, more than the "
                         f"{bound / GIB:.3g} GiB bound (PHYSLAW_MAX_MEMORY_GIB raises it); {fix}")


def sampler_bytes(*, chains: int, samples: int, replicas: int, dim: int, models: int = 1,
                  all_rungs: bool = False) -> float:
    """Bytes the exchange Monte Carlo keeps: per model, float64 log-likelihoods
    ``chains × samples × replicas`` and β = 1 samples ``chains × samples × dim`` (every rung's
    samples with ``all_rungs``), times the number of models whose results are kept."""
    kept_rungs = replicas if all_rungs else 1
    return 8.0 * models * chains * samples * (replicas + kept_rungs * dim)


def check_sampler_size(args, *, dim: int, models: int = 1, replicas: int | None = None, chains: int | None = None,
                       all_rungs: bool = False, options: str = "--samples, --replicas or --chains") -> None:
    """:func:`check_memory` for ``--chains``, ``--samples`` and ``--replicas`` (or ``--levels``); with a
    ``--precision`` a run may keep up to 10 × ``--samples`` sweeps."""
    samples = args.samples * (10 if getattr(args, "precision", None) else 1)
    chains = args.chains if chains is None else chains
    replicas = args.replicas if replicas is None else replicas
    nbytes = sampler_bytes(chains=chains, samples=samples, replicas=replicas, dim=dim, models=models,
                           all_rungs=all_rungs)
    check_memory(nbytes, f"{models} model(s) × {chains} chain(s) × {samples} samples × {replicas} temperatures "
                         f"({dim} parameters)", f"lower {options}")


def check_network_size(*, width: int, depth: int = 2, rows: int = 0, dim: int = 0) -> None:
    """:func:`check_memory` for a float32 network: its weights with their gradients and two Adam moments
    (``4 × (depth × width² + (dim + 2) × width)`` numbers) and the activations of a batch of ``rows``
    rows (``rows × width × (depth + 1)``, counted twice for the backward pass)."""
    weights = depth * width**2 + (dim + 2) * width
    nbytes = 4.0 * (4 * weights + 2 * rows * width * (depth + 1))
    check_memory(nbytes, f"a network of {depth} hidden layers × {width} units" + (f" on {rows} rows" if rows else ""),
                 "lower --width" + (", --depth or --batch-size" if rows else ""))


MAX_DATA_MAGNITUDE = 1e100
"""Largest |x| or |y| a measurement accepts: squares and sums of squares of the data (and of the
priors scaled to them) must stay far from the float64 limit 1.8e308."""
MIN_DATA_SCALE = 1e-100
"""Smallest spread of x or y a measurement accepts: below it, squares underflow towards zero."""


def check_data_scale(x, y, where: str, *, sigma=None, xname: str = "x", yname: str = "y") -> None:
    """Refuse data whose magnitudes would overflow or underflow in squares (one-line ``InputError``).

    The columns must be finite, at most ``MAX_DATA_MAGNITUDE`` (1e100) in magnitude, and x and y
    must spread over more than ``MIN_DATA_SCALE`` (1e-100) unless all equal; the fix is to rescale
    the units (e.g. GHz instead of Hz).
    """
    import numpy as np

    from physlaw.errors import InputError

    columns = [(xname, x), (yname, y)] + ([("sigma", sigma)] if sigma is not None else [])
    for name, values in columns:
        v = np.asarray(values, dtype=np.float64).ravel()
        if v.size == 0:
            continue
        if not np.all(np.isfinite(v)):
            raise InputError(f"{where}: the {name} values include nan or inf; remove or fix those rows")
        big = float(np.max(np.abs(v)))
        if big > MAX_DATA_MAGNITUDE:
            raise InputError(f"{where}: {name} values up to {big:.3g} would overflow in squares (the bound is "
                             f"|{name}| <= {MAX_DATA_MAGNITUDE:.0e}); rescale the units of {name}")
        spread = float(np.ptp(v))
        if 0 < max(spread, big) < MIN_DATA_SCALE:
            raise InputError(f"{where}: {name} values are all below {MIN_DATA_SCALE:.0e} in size (largest "
                             f"{big:.3g}) and would underflow in squares; rescale the units of {name}")
