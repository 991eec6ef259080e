"""One sweep of exchange Monte Carlo as pure functions: ``init`` and ``step``.

Replicas stay in fixed *slots* and exchanges swap their temperatures (the slot ↔ rung assignment),
never their states: a swap then costs O(L) instead of moving every position and likelihood cache.

A sweep is: local Metropolis moves at every rung (each coordinate in turn, and/or one block move),
then one round of neighbour exchanges. The block move's proposal is Gaussian with covariance
``(block_scale · step)²`` per coordinate, or ``block_scale² · C`` with ``C = block_chol block_cholᵀ`` the
covariance of the rung's replicas learned during burn-in (``moves="correlated"``): what a narrow,
tilted posterior valley needs (sums of exponentials, overlapping peaks), where coordinate moves
crawl. Exchanges follow the deterministic even/odd scheme of
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

MOVES = ("componentwise", "block", "both", "correlated")


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
        block_chol: [L, d, d] lower Cholesky factor of each rung's block-move covariance, or None
            (then the block move steps ``step_size`` per coordinate).
    """

    betas: jax.Array
    step_size: jax.Array
    block_scale: jax.Array
    order: jax.Array | None = None
    num_sampled: jax.Array | None = None
    block_chol: jax.Array | None = None


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


def _walk(params: ExchangeParams, r, z, mask):
    """The block moves' random-walk step [L, d] from standard normals ``z``: ``block_scale`` times the
    per-coordinate steps, or times the learned covariance's factor; only the coordinates in ``mask`` move."""
    if params.block_chol is None:
        return params.block_scale[r][:, None] * params.step_size[r] * (z * mask)
    return params.block_scale[r][:, None] * jnp.einsum("lij,lj->li", params.block_chol[r], z * mask) * mask


def _block(target: FlatTarget, key, state: ExchangeState, params: ExchangeParams, data):
    num_rungs, dim = state.position.shape
    k_z, k_u = jax.random.split(key)
    z = jax.random.normal(k_z, (num_rungs, dim), state.position.dtype)
    r = state.rung_of_slot
    x_new = state.position + _walk(params, r, z, sampled_mask(params, dim, state.position.dtype))
    return _metropolis(target, k_u, state, x_new, params.betas[r], data)


def _metropolis(target: FlatTarget, key, state: ExchangeState, x_new, betas, data, log_q=0.0):
    """Accept or reject a proposal ``x_new`` [L, d] for every slot at once (``log_q``: the proposal's
    log q(x | x_new) − log q(x_new | x) when it is not symmetric); the state and the acceptances in rung order."""
    lp_new, ll_new, cache_new = _evaluate(target, x_new, data)
    log_r = jax.vmap(_log_accept)(lp_new, ll_new, state.log_prior, state.log_likelihood, betas) + log_q
    log_r = jnp.where(jnp.isnan(log_r), -jnp.inf, log_r)
    ok = jnp.log(jax.random.uniform(key, betas.shape, state.position.dtype)) < log_r

    def pick(a, b):
        return jnp.where(ok.reshape(ok.shape + (1,) * (a.ndim - 1)), a, b)

    new = state._replace(
        position=pick(x_new, state.position),
        log_prior=pick(lp_new, state.log_prior),
        log_likelihood=pick(ll_new, state.log_likelihood),
        cache=jax.tree_util.tree_map(pick, cache_new, state.cache),
    )
    return new, rung_view(state, ok.astype(state.position.dtype))


def linear_conditional(target: FlatTarget, x, data):
    """The Gaussian likelihood's linear coordinates a given the others (``FlatTarget.linear``): the least-squares
    â and a lower factor ``c`` of G = Xᵀ W X = c cᵀ (the conditional of a at β is N(â, (β G)⁻¹) under a flat
    prior). By QR of the whitened design (cᵀ = R), not the normal equations: a sum of exponentials with
    close rates has a design condition number of 10⁵ and more, whose square float32 cannot hold. Also the
    variable projection of ``least_squares_point``."""
    lin = target.linear
    idx = jnp.asarray(lin.index, jnp.int32)
    y, sigma = lin.observed_fn(data)
    base, tangent = jax.linearize(lambda a: lin.mean_fn(x.at[idx].set(a), data), jnp.zeros(idx.size, x.dtype))
    cols = jax.vmap(tangent)(jnp.eye(idx.size, dtype=x.dtype)) / sigma      # [m, n] whitened: mean = X a + base
    q, r = jnp.linalg.qr(cols.T)
    a_hat = jax.scipy.linalg.solve_triangular(r, q.T @ ((y - base) / sigma), lower=False)
    return a_hat, r.T


def hastings_log_ratio(u, z_new, chol, chol_new):
    """log q(a | θ) − log q(a_new | θ_new) of the linear coordinates' conditional draws [L], from the
    whitened draws (``u`` of the current a, ``z_new`` of the proposed) and the Cholesky factors of
    their precisions; the β-terms cancel. (Module-level so that a test can break it: negative control.)"""
    def logdet(c):
        return jnp.sum(jnp.log(jnp.abs(jnp.diagonal(c, axis1=1, axis2=2))), axis=1)

    return -0.5 * (jnp.sum(u * u, axis=1) - jnp.sum(z_new * z_new, axis=1)) + logdet(chol) - logdet(chol_new)


def _linear_block(target: FlatTarget, key, state: ExchangeState, params: ExchangeParams, data):
    """Joint moves of all coordinates for a likelihood that is Gaussian and linear in some of them
    (amplitudes, offsets), as many as there are coordinates: the others move by a (learned-covariance)
    random walk, the linear ones are drawn from their exact conditional at the replica's β given the
    new nonlinear values, and the Metropolis–Hastings ratio includes both conditionals (Bretthorst's
    elimination of amplitudes, as a proposal: the tempered target is unchanged). An amplitude no longer
    pins the decay rates: the moves walk the narrow valley of a sum of exponentials. Returns the state
    and the mean acceptance per rung."""
    num_rungs, dim = state.position.shape
    idx = jnp.asarray(target.linear.index, jnp.int32)
    r = state.rung_of_slot
    nonlinear = sampled_mask(params, dim, state.position.dtype).at[idx].set(0.0)
    betas = params.betas[r]
    root = jnp.sqrt(jnp.maximum(betas, jnp.finfo(state.position.dtype).tiny))[:, None]
    conditional = jax.vmap(lambda x: linear_conditional(target, x, data))

    def one(i, carry):
        state, (a_hat, chol), acc = carry
        k_z, k_a, k_u = jax.random.split(jax.random.fold_in(key, i), 3)
        theta = state.position + _walk(params, r, jax.random.normal(k_z, (num_rungs, dim), state.position.dtype),
                                       nonlinear)
        a_hat_new, chol_new = conditional(theta)
        z_a = jax.random.normal(k_a, (num_rungs, idx.size), state.position.dtype)
        solve = jax.vmap(lambda c, v: jax.scipy.linalg.solve_triangular(c.T, v, lower=False))
        x_new = theta.at[:, idx].set(a_hat_new + solve(chol_new, z_a) / root)
        u = root * jnp.einsum("lji,lj->li", chol, state.position[:, idx] - a_hat)
        log_q = hastings_log_ratio(u, z_a, chol, chol_new)
        log_q = jnp.where((betas > 0) & jnp.isfinite(log_q), log_q, -jnp.inf)  # β = 0: no conditional to draw from
        state, ok = _metropolis(target, k_u, state, x_new, betas, data, log_q)
        keep = (ok[state.rung_of_slot] > 0)[:, None]   # (ok is in rung order; the conditionals per slot)
        cond = (jnp.where(keep, a_hat_new, a_hat), jnp.where(keep[:, :, None], chol_new, chol))
        return state, cond, acc + ok

    acc0 = jnp.zeros(num_rungs, state.position.dtype)
    state, _, acc = jax.lax.fori_loop(0, dim, one, (state, conditional(state.position), acc0))
    return state, acc / dim


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
        moves: ``"componentwise"`` (each coordinate in turn), ``"block"`` (all at once), ``"both"``, or
            ``"correlated"`` (both, the block move with ``params.block_chol``).
        log_ratio_fn: exchange log-acceptance ratio; only tests replace it (negative controls).

    Returns:
        The new state and an ``ExchangeInfo``.
    """
    num_rungs, dim = state.position.shape
    k_c, k_b, k_x = jax.random.split(key, 3)
    acc = jnp.zeros((num_rungs, dim), state.position.dtype)
    acc_b = jnp.zeros((num_rungs,), state.position.dtype)
    if moves in ("componentwise", "both", "correlated"):
        state, acc = _componentwise(target, k_c, state, params, data)
    if moves in ("block", "both"):
        state, acc_b = _block(target, k_b, state, params, data)
    if moves == "correlated":
        state, acc_b = (_block if target.linear is None else _linear_block)(target, k_b, state, params, data)
    state, prob, tried, accepted = _exchange(k_x, state, params, log_ratio_fn)
    state = state._replace(sweep=state.sweep + 1)
    return state, ExchangeInfo(acc, acc_b, prob, tried, accepted)
