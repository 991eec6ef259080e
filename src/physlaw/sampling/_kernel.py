"""One sweep of exchange Monte Carlo as pure functions: ``init`` and ``step``.

Replicas stay in fixed *slots* and exchanges swap their temperatures (the slot ↔ rung assignment),
never their states: a swap then costs O(L) instead of moving every position and likelihood cache.

A sweep is: local Metropolis moves at every rung (each coordinate in turn, and/or one block move),
then one round of neighbour exchanges. Exchanges follow the deterministic even/odd scheme of
non-reversible parallel tempering (Okabe et al. 2001; Syed et al. 2022): even sweeps try the pairs
(0,1), (2,3), …; odd sweeps (1,2), (3,4), …. A pair of rungs l < l+1 holding states a and b swaps
with probability ``min(1, exp((β_{l+1} − β_l)(ℓ_a − ℓ_b)))`` where ℓ is the log-likelihood
(Hukushima & Nemoto 1996); the prior cancels.

All functions act on one chain; the run driver vmaps them over independent chains.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from physlaw.sampling._target import FlatTarget

MOVES = ("componentwise", "block", "both")


class ExchangeState(NamedTuple):
    """The state of one chain of L replicas, indexed by slot; ``slot_of_rung`` says which slot is at
    which rung (rung l has inverse temperature β_l).

    Attributes:
        position: [L, d] flat parameters, per slot.
        log_prior: [L] per slot.
        log_likelihood: [L] per slot.
        cache: the incremental likelihood's cache, leading axis L per slot (``()`` when not used).
        slot_of_rung: [L] the slot (replica identity) at each rung; exchanges permute it.
        rung_of_slot: [L] its inverse.
        heading: [L] per slot: 0 not yet at β_0, 1 left β_0 heading up, 2 reached β=1 heading down.
        round_trips: number of completed β_0 → 1 → β_0 round trips.
        sweep: number of sweeps done (its parity picks the exchange pairs).
    """

    position: jax.Array
    log_prior: jax.Array
    log_likelihood: jax.Array
    cache: object
    slot_of_rung: jax.Array
    rung_of_slot: jax.Array
    heading: jax.Array
    round_trips: jax.Array
    sweep: jax.Array


class ExchangeParams(NamedTuple):
    """Tunable numbers of the kernel (arrays, so changing them does not recompile).

    Attributes:
        betas: [L] inverse temperatures, 0 = β_0 < … < β_{L−1} = 1.
        step_size: [L, d] random-walk step per rung and coordinate.
        block_scale: [L] multiplier of ``step_size`` for the block move.
        order: [d] flat coordinates, the sampled ones first (None: all, in order).
        num_sampled: how many of ``order`` are sampled; the rest keep their values (a model padded
            to a larger structure, ``Target.sampled``). None: all d.
    """

    betas: jax.Array
    step_size: jax.Array
    block_scale: jax.Array
    order: jax.Array | None = None
    num_sampled: jax.Array | None = None


def sampled_mask(params: ExchangeParams, dim: int, dtype) -> jax.Array:
    """[d] 1.0 for the coordinates that are sampled, 0.0 for those held fixed."""
    if params.order is None:
        return jnp.ones(dim, dtype)
    return jnp.zeros(dim, dtype).at[params.order].set((jnp.arange(dim) < params.num_sampled).astype(dtype))


class ExchangeInfo(NamedTuple):
    """What one sweep did.

    Attributes:
        accept: [L, d] 1.0 where the coordinate update at rung l was accepted.
        accept_block: [L] 1.0 where the block move at rung l was accepted.
        swap_prob: [L−1] exchange acceptance probability of every neighbour pair (Rao–Blackwellised;
            computed for all pairs, also those not tried this sweep).
        swap_tried: [L−1] 1.0 for the pairs tried this sweep.
        swap_accepted: [L−1] 1.0 for the pairs that exchanged.
    """

    accept: jax.Array
    accept_block: jax.Array
    swap_prob: jax.Array
    swap_tried: jax.Array
    swap_accepted: jax.Array


def exchange_log_ratio(beta_lo, beta_hi, loglik_lo, loglik_hi):
    """Log acceptance ratio of exchanging the states at two rungs (β_lo < β_hi)."""
    return (beta_hi - beta_lo) * (loglik_lo - loglik_hi)


def _evaluate(target: FlatTarget, position: jax.Array, data):
    lp = jax.vmap(target.log_prior)(position)
    if target.incremental is not None:
        cache = jax.vmap(target.incremental.init_fn, in_axes=(0, None))(position, data)
        ll = jax.vmap(target.incremental.value_fn, in_axes=(0, None))(cache, data)
    else:
        cache = ()
        ll = jax.vmap(target.log_likelihood, in_axes=(0, None))(position, data)
    return lp, ll, cache


def init(target: FlatTarget, position: jax.Array, data=None) -> ExchangeState:
    """Initial state of one chain from positions [L, d] (usually prior draws) and the data."""
    num_rungs = position.shape[0]
    lp, ll, cache = _evaluate(target, position, data)
    return ExchangeState(
        position=position,
        log_prior=lp,
        log_likelihood=ll,
        cache=cache,
        slot_of_rung=jnp.arange(num_rungs, dtype=jnp.int32),
        rung_of_slot=jnp.arange(num_rungs, dtype=jnp.int32),
        heading=jnp.zeros(num_rungs, dtype=jnp.int32).at[0].set(1),
        round_trips=jnp.zeros((), jnp.int32),
        sweep=jnp.zeros((), jnp.int32),
    )


def refresh(target: FlatTarget, state: ExchangeState, data=None) -> ExchangeState:
    """Recompute log densities and cache from the positions (removes round-off drift of caches)."""
    lp, ll, cache = _evaluate(target, state.position, data)
    return state._replace(log_prior=lp, log_likelihood=ll, cache=cache)


def _log_accept(lp_new, ll_new, lp_old, ll_old, beta):
    delta_ll = jnp.where(beta > 0, beta * (ll_new - ll_old), 0.0)
    log_r = (lp_new - lp_old) + delta_ll
    return jnp.where(jnp.isnan(log_r) | jnp.isnan(ll_new), -jnp.inf, log_r)


def rung_view(state: ExchangeState, values):
    """Per-slot values [L, ...] reordered to rung order."""
    return values[state.slot_of_rung]


def _componentwise(target: FlatTarget, key, state: ExchangeState, params: ExchangeParams, data):
    num_rungs, dim = state.position.shape
    betas, steps = params.betas[state.rung_of_slot], params.step_size[state.rung_of_slot]
    k_z, k_u = jax.random.split(key)
    z = jax.random.normal(k_z, (dim, num_rungs), state.position.dtype)
    log_u = jnp.log(jax.random.uniform(k_u, (dim, num_rungs), state.position.dtype))
    inc = target.incremental

    def one(x, lp, ll, cache, beta, step, j, z_j, log_u_j):
        x_new = x.at[j].add(step[j] * z_j)
        lp_new = target.log_prior(x_new)
        if inc is not None:
            cache_new = inc.update_fn(x_new, j, cache, data)
            ll_new = inc.value_fn(cache_new, data)
        else:
            cache_new = cache
            ll_new = target.log_likelihood(x_new, data)
        ok = log_u_j < _log_accept(lp_new, ll_new, lp, ll, beta)
        pick = lambda a, b: jnp.where(ok, a, b)  # noqa: E731
        if inc is not None and inc.select_fn is not None:
            cache_out = inc.select_fn(ok, cache_new, cache, j)
        else:
            cache_out = jax.tree_util.tree_map(pick, cache_new, cache)
        return pick(x_new, x), pick(lp_new, lp), pick(ll_new, ll), cache_out, ok.astype(x.dtype)

    one_all = jax.vmap(one, in_axes=(0, 0, 0, 0, 0, 0, None, 0, 0))

    order = jnp.arange(dim) if params.order is None else params.order
    count = dim if params.num_sampled is None else params.num_sampled

    def body(i, carry):
        x, lp, ll, cache, acc = carry
        j = order[i]
        x, lp, ll, cache, ok = one_all(x, lp, ll, cache, betas, steps, j, z[j], log_u[j])
        return x, lp, ll, cache, acc.at[:, j].set(ok)

    acc0 = jnp.zeros((num_rungs, dim), state.position.dtype)
    x, lp, ll, cache, acc = jax.lax.fori_loop(
        0, count, body, (state.position, state.log_prior, state.log_likelihood, state.cache, acc0)
    )
    return state._replace(position=x, log_prior=lp, log_likelihood=ll, cache=cache), rung_view(state, acc)


def _block(target: FlatTarget, key, state: ExchangeState, params: ExchangeParams, data):
    num_rungs, dim = state.position.shape
    k_z, k_u = jax.random.split(key)
    z = jax.random.normal(k_z, (num_rungs, dim), state.position.dtype) * sampled_mask(params, dim, state.position.dtype)
    r = state.rung_of_slot
    x_new = state.position + params.block_scale[r][:, None] * params.step_size[r] * z
    lp_new, ll_new, cache_new = _evaluate(target, x_new, data)
    log_r = jax.vmap(_log_accept)(lp_new, ll_new, state.log_prior, state.log_likelihood, params.betas[r])
    ok = jnp.log(jax.random.uniform(k_u, (num_rungs,), state.position.dtype)) < log_r

    def pick(a, b):
        return jnp.where(ok.reshape(ok.shape + (1,) * (a.ndim - 1)), a, b)

    new = state._replace(
        position=pick(x_new, state.position),
        log_prior=pick(lp_new, state.log_prior),
        log_likelihood=pick(ll_new, state.log_likelihood),
        cache=jax.tree_util.tree_map(pick, cache_new, state.cache),
    )
    return new, rung_view(state, ok.astype(state.position.dtype))


def _exchange(key, state: ExchangeState, params: ExchangeParams, log_ratio_fn: Callable):
    num_rungs = state.position.shape[0]
    betas, ll = params.betas, rung_view(state, state.log_likelihood)
    log_r = log_ratio_fn(betas[:-1], betas[1:], ll[:-1], ll[1:])
    log_r = jnp.where(jnp.isnan(log_r), -jnp.inf, log_r)
    prob = jnp.exp(jnp.minimum(log_r, 0.0))
    lower = jnp.arange(num_rungs - 1)
    tried = (lower % 2) == (state.sweep % 2)
    log_u = jnp.log(jax.random.uniform(key, (num_rungs - 1,), ll.dtype))
    accepted = tried & (log_u < log_r)
    up = jnp.concatenate([accepted, jnp.zeros(1, bool)])  # rung l swaps with l+1
    down = jnp.concatenate([jnp.zeros(1, bool), accepted])  # rung l swaps with l-1
    idx = jnp.arange(num_rungs)
    perm = jnp.where(up, idx + 1, jnp.where(down, idx - 1, idx))
    slot_of_rung = state.slot_of_rung[perm]
    rung_of_slot = jnp.zeros_like(state.rung_of_slot).at[slot_of_rung].set(idx.astype(slot_of_rung.dtype))
    # Round trips: a replica leaving β_0 heads up; reaching β=1 turns it down; back at β_0 counts one.
    top, bottom = slot_of_rung[-1], slot_of_rung[0]
    heading = state.heading
    heading = heading.at[top].set(jnp.where(heading[top] == 1, 2, heading[top]))
    completed = heading[bottom] == 2
    heading = heading.at[bottom].set(1)
    new = state._replace(slot_of_rung=slot_of_rung, rung_of_slot=rung_of_slot, heading=heading,
                         round_trips=state.round_trips + completed.astype(jnp.int32))
    return new, prob, tried.astype(ll.dtype), accepted.astype(ll.dtype)


def step(
    target: FlatTarget,
    key: jax.Array,
    state: ExchangeState,
    params: ExchangeParams,
    data=None,
    *,
    moves: str = "componentwise",
    log_ratio_fn: Callable = exchange_log_ratio,
) -> tuple[ExchangeState, ExchangeInfo]:
    """One sweep: local moves at every rung, then neighbour exchanges.

    Args:
        target: the flattened model.
        key: a PRNG key, used once.
        state: the chain's state.
        params: ladder and step sizes.
        data: the target's data pytree.
        moves: ``"componentwise"`` (each coordinate in turn), ``"block"`` (all at once) or ``"both"``.
        log_ratio_fn: exchange log-acceptance ratio; only tests replace it (negative controls).

    Returns:
        The new state and an ``ExchangeInfo``.
    """
    num_rungs, dim = state.position.shape
    k_c, k_b, k_x = jax.random.split(key, 3)
    acc = jnp.zeros((num_rungs, dim), state.position.dtype)
    acc_b = jnp.zeros((num_rungs,), state.position.dtype)
    if moves in ("componentwise", "both"):
        state, acc = _componentwise(target, k_c, state, params, data)
    if moves in ("block", "both"):
        state, acc_b = _block(target, k_b, state, params, data)
    state, prob, tried, accepted = _exchange(k_x, state, params, log_ratio_fn)
    state = state._replace(sweep=state.sweep + 1)
    return state, ExchangeInfo(acc, acc_b, prob, tried, accepted)
