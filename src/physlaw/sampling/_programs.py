"""The compiled programs of a run, cached by model structure: initial states, and the chunk of sweeps.

One chunk program serves burn-in and sampling (a traced ``adapt`` flag switches the Robbins–Monro
step-size adaptation on), every ladder (β is an argument) and every dataset of the same shapes
(data is an argument). It is cached in ``_CHUNK_CACHE`` by the model's structure, so the runs of a
pipeline (pilot, final run, every noise level) trace it once per process.

Chains over devices: with ``devices > 1`` the chains are split across that many JAX devices
(``jax.shard_map`` over a one-axis mesh ``"chains"``; on a CPU, XLA host devices, see
``physlaw.cli._common.setup_jax``). Every chain's PRNG key is split from the chunk's key *before*
the chains are distributed. On a CPU each device runs its chains one after the other
(``chain_loop="map"``: every chain is the same compiled one-chain program whatever the number of
chains per device, so the draws do not depend on the number of devices, bit for bit — a test checks
it; a ``vmap`` over C/D chains may round differently from one over C). On a GPU the chains of a
device are vmapped (``"vmap"``), which a GPU needs to be full.
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.sampling import _kernel as kernel
from physlaw.sampling._target import to_device

_CHUNK_CACHE: dict = {}


def default_chain_loop() -> str:
    """``"map"`` on a CPU (device-count-independent draws), ``"vmap"`` on accelerators."""
    return "map" if jax.default_backend() == "cpu" else "vmap"


def _adapt_gain(sweep):
    return jnp.maximum(0.5 / jnp.sqrt(1.0 + sweep / 50.0), 0.01)


def _init_fn(flat):
    """``states = init(x0 [C, L, d], data)``: every chain's initial state, compiled once per model structure."""
    key = (flat.signature, "init")
    if key not in _CHUNK_CACHE:
        _CHUNK_CACHE[key] = jax.jit(jax.vmap(lambda x, data: kernel.init(flat, x, data), in_axes=(0, None)))
    return _CHUNK_CACHE[key]


RELABEL_BLOCK = 256
"""Draws are relabelled in blocks of this many per chain (the last one padded), so one compiled program
serves every run length (a pilot and its final run, every precision-driven length)."""


def _relabel_fn(flat, relabel: Callable):
    """``relabel`` ([C, S, d'] flat samples of the sampled coordinates → canonical labelling, NumPy), made
    once per model structure: in NumPy for a relabelling with a NumPy form (``relabel.many``, e.g.
    ``SortComponents``: nothing compiled), else compiled and applied in blocks."""
    key = (flat.signature, "relabel", relabel, flat.sampled)
    if key not in _CHUNK_CACHE:
        unravel = flat.unravel if flat.sampled_unravel is None else flat.sampled_unravel
        _CHUNK_CACHE[key] = (_relabel_numpy if hasattr(relabel, "many") else _relabel_blocks)(flat, unravel, relabel)
    return _CHUNK_CACHE[key]


def _relabel_numpy(flat, unravel, relabel):
    size = flat.dim if flat.sampled is None else len(flat.sampled)
    leaves, tree = jax.tree_util.tree_flatten(jax.eval_shape(unravel, jax.ShapeDtypeStruct((size,), np.float32)))
    ends = np.cumsum([math.prod(leaf.shape) for leaf in leaves])[:-1]

    def apply(samples):
        samples = np.asarray(samples)
        batch = samples.shape[:-1]
        parts = np.split(samples, ends, axis=-1)
        params = tree.unflatten([p.reshape(batch + leaf.shape) for p, leaf in zip(parts, leaves)])
        return np.concatenate([np.reshape(v, batch + (-1,)) for v in jax.tree_util.tree_leaves(relabel.many(params))],
                              axis=-1).astype(samples.dtype)

    return apply


def _relabel_blocks(flat, unravel, relabel):
    block = jax.jit(jax.vmap(jax.vmap(lambda v: jax.flatten_util.ravel_pytree(relabel(unravel(v)))[0])))

    def apply(samples):
        samples = np.asarray(samples)
        num = samples.shape[1]
        pad = -num % RELABEL_BLOCK
        if pad:
            samples = np.concatenate([samples, np.repeat(samples[:, -1:], pad, axis=1)], axis=1)
        return np.concatenate([np.asarray(block(samples[:, i:i + RELABEL_BLOCK]))
                               for i in range(0, samples.shape[1], RELABEL_BLOCK)], axis=1)[:, :num]

    return apply


def usable_devices(num_chains: int, devices: int | None) -> int:
    """How many devices the chains are spread over: the largest divisor of ``num_chains`` not above
    ``devices`` (None: every device of JAX's default backend)."""
    available = jax.local_device_count()
    want = available if devices is None else max(1, min(int(devices), available))
    return max(d for d in range(1, want + 1) if num_chains % d == 0)


def _chunk_fn(flat, moves, chunk_size, target_accept, target_accept_block, log_ratio_fn, all_rungs=False,
              devices: int = 1, chain_loop: str = "vmap"):
    """The compiled chunk of ``chunk_size`` sweeps for all chains, cached across runs of the same structure.

    ``chunk(key, states, data, betas, step, block, sweep0, adapt, order, num_sampled, chol)`` returns
    the new states, the step sizes and block scales (adapted when ``adapt``), the per-chunk sums of the
    acceptance indicators and exchange statistics, the traces: log-likelihood [C, chunk, L] in rung
    order and the kept positions [C, chunk, d] (β = 1) or [C, chunk, L, d] (``all_rungs``), and, for
    ``moves="correlated"`` (``chol`` [C, L, d, d], the block moves' Cholesky factors), the covariance
    [C, L, d, d] of each rung's positions over the chunk (else ``()``).
    """
    cache_key = (flat.signature, moves, chunk_size, target_accept, target_accept_block, log_ratio_fn, all_rungs,
                 devices, chain_loop)
    if cache_key in _CHUNK_CACHE:
        return _CHUNK_CACHE[cache_key]
    use_comp = moves in ("componentwise", "both", "correlated")
    use_block = moves in ("block", "both", "correlated")
    use_cov = moves == "correlated"

    def one_chain(key, state, data, betas, step, block, chol, sweep0, adapt, order, num_sampled):
        if flat.incremental is not None:
            state = kernel.refresh(flat, state, data)
        mask = kernel.sampled_mask(kernel.ExchangeParams(betas, step, block, order, num_sampled),
                                   state.position.shape[1], step.dtype)
        origin = kernel.rung_view(state, state.position)   # moments about the start: no cancellation

        def body(carry, k):
            state, step, block, sums, moments, i = carry
            params = kernel.ExchangeParams(betas, step, block, order, num_sampled, chol if use_cov else None)
            state, info = kernel.step(flat, k, state, params, data, moves=moves, log_ratio_fn=log_ratio_fn)
            gain = jnp.where(adapt, _adapt_gain((sweep0 + i).astype(step.dtype)), 0.0)
            if use_comp:  # coordinates held fixed (not sampled) keep their step
                step = step * jnp.exp(gain * (info.accept - target_accept) * mask)
            if use_block:
                block = block * jnp.exp(gain * (info.accept_block - target_accept_block))
            sums = jax.tree_util.tree_map(
                jnp.add, sums, (info.accept, info.accept_block, info.swap_tried, info.swap_accepted, info.swap_prob)
            )
            if use_cov:
                dx = kernel.rung_view(state, state.position) - origin
                moments = (moments[0] + dx, moments[1] + dx[:, :, None] * dx[:, None, :])
            kept = kernel.rung_view(state, state.position) if all_rungs else state.position[state.slot_of_rung[-1]]
            return (state, step, block, sums, moments, i + 1), (kernel.rung_view(state, state.log_likelihood), kept)

        L, d = state.position.shape
        z = lambda *s: jnp.zeros(s, state.position.dtype)  # noqa: E731
        sums0 = (z(L, d), z(L), z(L - 1), z(L - 1), z(L - 1))
        moments0 = (z(L, d), z(L, d, d)) if use_cov else ()
        keys = jax.random.split(key, chunk_size)
        (state, step, block, sums, moments, _), (ll, pos) = jax.lax.scan(
            body, (state, step, block, sums0, moments0, 0), keys)
        cov = ()
        if use_cov:
            mean = moments[0] / chunk_size
            cov = moments[1] / chunk_size - mean[:, :, None] * mean[:, None, :]
        return state, step, block, sums, ll, pos, cov

    def chains(keys, states, data, betas, step, block, chol, sweep0, adapt, order, num_sampled):
        if chain_loop == "map":  # one chain at a time: the same program whatever the chains per device
            return jax.lax.map(lambda a: one_chain(a[0], a[1], data, betas, a[2], a[3], a[4], sweep0, adapt, order,
                                                   num_sampled), (keys, states, step, block, chol))
        return jax.vmap(one_chain, in_axes=(0, 0, None, None, 0, 0, 0, None, None, None, None))(
            keys, states, data, betas, step, block, chol, sweep0, adapt, order, num_sampled)

    place = None
    if devices > 1:
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        mesh = Mesh(np.array(jax.local_devices()[:devices]), ("chains",))
        c, r = PartitionSpec("chains"), PartitionSpec()
        chains = jax.shard_map(chains, mesh=mesh, in_specs=(c, c, r, r, c, c, c, r, r, r, r), out_specs=c,
                               check_vma=False)
        place = NamedSharding(mesh, c)

    @jax.jit
    def compiled(key, states, data, betas, step, block, chol, sweep0, adapt, order, num_sampled):
        keys = jax.random.split(key, step.shape[0])
        return chains(keys, states, data, betas, step, block, chol, sweep0, adapt, order, num_sampled)

    every = (to_device(np.arange(flat.dim), np.int32), to_device(flat.dim, np.int32))  # all coordinates

    def chunk(key, states, data, betas, step, block, sweep0, adapt, order=None, num_sampled=None, chol=None):
        # The states a chunk returns are split over the devices; initial (or restored) states are not
        # yet: placing them the same way keeps one compiled program for both (no second compile). They,
        # and the per-chain steps (NumPy from the driver), are split on the host (splitting device arrays,
        # or leaving it to the jit, compiles a slicing program per leaf).
        if order is None:
            order, num_sampled = every
        if not use_cov:   # a placeholder per chain (unused)
            chol = np.zeros(step.shape[:1] + (0,), step.dtype)
        elif chol is None:   # no covariance learned yet: the per-coordinate steps
            chol = step[..., None] * jnp.eye(step.shape[-1], dtype=step.dtype)
        if place is not None:
            states, step, block, chol = (x if getattr(jax.tree_util.tree_leaves(x)[0], "sharding", None) == place
                                         else jax.device_put(jax.tree_util.tree_map(np.asarray, x), place)
                                         for x in (states, step, block, chol))
        return compiled(key, states, data, betas, step, block, chol, sweep0, adapt, order, num_sampled)

    _CHUNK_CACHE[cache_key] = chunk
    return chunk
