"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import math


def setup_jax(*, float64: bool = True) -> None:
    """float64 by default; physlaw.sampling sets up the persistent compilation cache on import."""
    import jax

    jax.config.update("jax_enable_x64", float64)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


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
    import jax.numpy as jnp
    import numpy as np

    if not 0 <= int(value) < MAX_SEED:
        raise ValueError(f"seed must be between 0 and 2^63 - 1, got {value}")
    halves = np.array([int(value) >> 32, int(value) & 0xFFFFFFFF], dtype=np.uint32)
    return jax.random.wrap_key_data(jnp.asarray(halves), impl="threefry2x32")
