"""The run driver: burn-in with step-size and ladder adaptation, sampling in chunks, checkpoints.

The chain runs as compiled chunks of ``chunk_size`` sweeps (``lax.scan``); between chunks the driver
reports progress, adapts the ladder (during burn-in) and saves a checkpoint, both through objects the
caller passes (``Progress``, ``Checkpoint``; the driver itself never touches disk or the terminal).
Each chunk's PRNG key is ``fold_in(key, chunk_index)``, so a run resumed from its checkpoint ends
bit-for-bit where the uninterrupted run with the same seed ends.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Callable

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.sampling import _kernel as kernel
from physlaw.sampling._diagnostics import Diagnostics, summarise
from physlaw.sampling._free_energy import FreeEnergy, free_energy
from physlaw.sampling._hooks import Checkpoint, Progress, as_progress
from physlaw.sampling._ladder import initial_ladder, respace_ladder
from physlaw.sampling._target import PhyslawWarning, Target, batched, check_prior, flatten_target


@dataclass
class ExchangeResult:
    """What a run returns.

    Attributes:
        betas: [L] the final ladder.
        samples: [C, S, d] flat parameters of the β = 1 replica (``posterior()`` gives the pytree).
        rung_samples: [C, S, L, d] the samples of every rung (only with ``keep_all_rungs``), else None.
        log_likelihood: [C, S, L] log-likelihood at every rung and sweep (free energies, WHAM, noise).
        names: names of the d flat coordinates.
        free_energy: the ``FreeEnergy`` (log Z at every rung, F with errors, every estimator).
        diagnostics: a ``Diagnostics`` record: acceptance, swap rates, round trips, barrier, R-hat,
            ESS, the prior check (``diagnostics.to_dict()`` for JSON).
        warnings: everything that makes the result doubtful, in words.
        step_size: [C, L, d] the tuned step sizes.
    """

    betas: np.ndarray
    samples: np.ndarray
    log_likelihood: np.ndarray
    names: tuple[str, ...]
    free_energy: FreeEnergy
    diagnostics: Diagnostics
    warnings: list[str]
    step_size: np.ndarray
    unravel: Callable = field(repr=False, default=None)
    rung_samples: np.ndarray | None = None

    def posterior(self):
        """The β = 1 samples as the model's parameter pytree of NumPy arrays, each leaf with leading axes [C, S].

        The flat samples are cut into the leaves in ``ravel_pytree`` order (slices and reshapes, exact),
        without compiling anything.
        """
        return _unflatten(self.unravel, np.asarray(self.samples))

    def to_inference_data(self, coords: dict | None = None):
        """An ArviZ InferenceData with the posterior (one variable per parameter) and sample stats."""
        import arviz as az

        tree = self.posterior()
        post = {k: np.asarray(v) for k, v in tree.items()} if isinstance(tree, dict) \
            else {n: self.samples[..., i] for i, n in enumerate(self.names)}
        thin = self.log_likelihood.shape[1] // max(self.samples.shape[1], 1)
        stats = {"log_likelihood_total": self.log_likelihood[:, :: max(thin, 1), -1][:, : self.samples.shape[1]]}
        idata = az.from_dict(posterior=post, sample_stats=stats, coords=coords)
        idata.posterior.attrs["free_energy"] = self.free_energy.free_energy
        idata.posterior.attrs["free_energy_err"] = self.free_energy.free_energy_err
        idata.posterior.attrs["betas"] = self.betas.tolist()
        return idata


def _unflatten(unravel: Callable, flat: np.ndarray):
    """``vmap(unravel)`` over the leading axes of ``flat`` [..., d], in NumPy (no compilation)."""
    d = flat.shape[-1]
    shapes = jax.eval_shape(unravel, jax.ShapeDtypeStruct((d,), flat.dtype))
    leaves, treedef = jax.tree_util.tree_flatten(shapes)
    out, start = [], 0
    for leaf in leaves:
        size = int(np.prod(leaf.shape, dtype=np.int64))
        out.append(flat[..., start:start + size].reshape(flat.shape[:-1] + tuple(leaf.shape))
                   .astype(leaf.dtype, copy=False))
        start += size
    return jax.tree_util.tree_unflatten(treedef, out)


def _adapt_gain(sweep):
    return jnp.maximum(0.5 / jnp.sqrt(1.0 + sweep / 50.0), 0.01)


_CHUNK_CACHE: dict = {}

_LOG_RATIO_FN: Callable = kernel.exchange_log_ratio
"""The exchange acceptance log-ratio ``run`` uses; tests swap in a broken one (negative controls)."""


def _init_fn(flat):
    key = (flat.signature, "init")
    if key not in _CHUNK_CACHE:
        _CHUNK_CACHE[key] = jax.jit(jax.vmap(lambda x, data: kernel.init(flat, x, data), in_axes=(0, None)))
    return _CHUNK_CACHE[key]


def _chunk_fn(flat, moves, chunk_size, target_accept, target_accept_block, log_ratio_fn, all_rungs=False):
    """The compiled chunk of sweeps for all chains, cached across runs of the same model structure.

    ``adapt`` (a traced flag) switches on Robbins–Monro step-size adaptation for burn-in, so one
    program serves burn-in and sampling.
    """
    cache_key = (flat.signature, moves, chunk_size, target_accept, target_accept_block, log_ratio_fn, all_rungs)
    if cache_key in _CHUNK_CACHE:
        return _CHUNK_CACHE[cache_key]
    use_comp = moves in ("componentwise", "both")
    use_block = moves in ("block", "both")

    def one_chain(key, state, data, betas, step, block, sweep0, adapt):
        if flat.incremental is not None:
            state = kernel.refresh(flat, state, data)

        def body(carry, k):
            state, step, block, sums, i = carry
            state, info = kernel.step(flat, k, state, kernel.ExchangeParams(betas, step, block), data,
                                      moves=moves, log_ratio_fn=log_ratio_fn)
            gain = jnp.where(adapt, _adapt_gain((sweep0 + i).astype(step.dtype)), 0.0)
            if use_comp:
                step = step * jnp.exp(gain * (info.accept - target_accept))
            if use_block:
                block = block * jnp.exp(gain * (info.accept_block - target_accept_block))
            sums = jax.tree_util.tree_map(
                jnp.add, sums, (info.accept, info.accept_block, info.swap_tried, info.swap_accepted, info.swap_prob)
            )
            kept = kernel.rung_view(state, state.position) if all_rungs else state.position[state.slot_of_rung[-1]]
            return (state, step, block, sums, i + 1), (kernel.rung_view(state, state.log_likelihood), kept)

        L, d = state.position.shape
        z = lambda *s: jnp.zeros(s, state.position.dtype)  # noqa: E731
        sums0 = (z(L, d), z(L), z(L - 1), z(L - 1), z(L - 1))
        keys = jax.random.split(key, chunk_size)
        (state, step, block, sums, _), (ll, pos) = jax.lax.scan(body, (state, step, block, sums0, 0), keys)
        return state, step, block, sums, ll, pos

    @jax.jit
    def chunk(key, states, data, betas, step, block, sweep0, adapt):
        keys = jax.random.split(key, step.shape[0])
        return jax.vmap(one_chain, in_axes=(0, 0, None, None, 0, 0, None, None))(
            keys, states, data, betas, step, block, sweep0, adapt)

    _CHUNK_CACHE[cache_key] = chunk
    return chunk


def _ladder_rounds(num_burn_chunks: int) -> set[int]:
    """Chunk indices (1-based count of chunks done) after which the ladder is re-spaced."""
    ends, n = set(), 1
    while n <= max(1, int(0.75 * num_burn_chunks)):
        ends.add(n)
        n *= 2
    return ends


def _interp_steps(step: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Carry tuned step sizes [C, L, d] over to a re-spaced ladder (linear in log β, rung 0 kept)."""
    out = step.copy()
    lo, ln = np.log(old[1:]), np.log(new[1:])
    for c in range(step.shape[0]):
        for j in range(step.shape[2]):
            out[c, 1:, j] = np.exp(np.interp(ln, lo, np.log(step[c, 1:, j])))
    return out


class _Saver:
    """The driver's side of a ``Checkpoint``: the run's fingerprint and the "every N seconds" throttle."""

    def __init__(self, store: Checkpoint | None, fingerprint: str, every: float):
        if store is not None and not all(callable(getattr(store, m, None)) for m in ("load", "save")):
            raise InputError(
                f"checkpoint must be an object with load(fingerprint) and save(fingerprint, meta, arrays) "
                f"(e.g. physlaw.io.checkpoints.CheckpointFile(path)), got {type(store).__name__}")
        self.store = store
        self.fingerprint = fingerprint
        self.every = every
        self.last = time.monotonic()

    def load(self):
        return None if self.store is None else self.store.load(self.fingerprint)

    def save(self, meta, arrays, force=False):
        if self.store is None or (not force and time.monotonic() - self.last < self.every):
            return
        self.store.save(self.fingerprint, meta, arrays)
        self.last = time.monotonic()


def run(
    key: jax.Array,
    target: Target,
    *,
    num_samples: int = 5000,
    num_burnin: int | None = None,
    num_replicas: int = 32,
    num_chains: int = 4,
    betas=None,
    adapt_ladder: bool = True,
    moves: str = "componentwise",
    target_accept: float = 0.5,
    target_accept_block: float = 0.3,
    chunk_size: int = 100,
    thin: int = 1,
    checkpoint: Checkpoint | None = None,
    checkpoint_every: float = 30.0,
    progress: Progress | None = None,
    progress_desc: str = "exchange MC",
    keep_all_rungs: bool = False,
) -> ExchangeResult:
    """Run exchange Monte Carlo and return posterior samples, free energies and diagnostics.

    Args:
        key: a ``jax.random`` key.
        target: the model (``Target``).
        num_samples: sweeps kept after burn-in (per chain).
        num_burnin: sweeps of burn-in (step sizes and ladder adapt); default ``max(1000, num_samples // 2)``.
        num_replicas: L, the number of rungs (ignored when ``betas`` is given).
        num_chains: independent chains (vmapped), for error bars and R-hat.
        betas: a ladder given by hand (0 first, 1 last, increasing); it is then not adapted.
        adapt_ladder: re-space the ladder during burn-in to equal swap rejection rates.
        moves: ``"componentwise"``, ``"block"`` or ``"both"``.
        target_accept, target_accept_block: acceptance targets of the step-size adaptation.
        chunk_size: sweeps per compiled chunk (progress and checkpoints happen between chunks).
        thin: keep every ``thin``-th β = 1 sample (the log-likelihood traces are kept at every sweep).
        checkpoint: where the run's state is kept (a ``Checkpoint``, e.g.
            ``physlaw.io.checkpoints.CheckpointFile(path)``), or None; saved between chunks (at most
            every ``checkpoint_every`` seconds, and at the end of burn-in); a state saved by the same
            run (same fingerprint) is resumed.
        progress: receives the sweeps done (a ``Progress``, e.g.
            ``physlaw.report.progress.ProgressBar()``), or None to run silently.
        progress_desc: the name the run reports to ``progress``.
        keep_all_rungs: also keep the (thinned) samples of every rung in ``rung_samples`` (a scan over
            temperatures, e.g. the noise levels σ' of the symmetry search).

    Returns:
        An ``ExchangeResult``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from physlaw.priors import JointPrior, Normal
        >>> from physlaw.sampling import Target, run
        >>> prior = JointPrior({"a": Normal(0.0, 1.0)})
        >>> target = Target.from_prior(prior, lambda p: -0.5 * (p["a"] - 1.0) ** 2 / 0.1 - 0.5 * jnp.log(2 * jnp.pi * 0.1))
        >>> res = run(jax.random.key(0), target, num_samples=500, num_replicas=8)
        >>> round(res.free_energy.free_energy, 1)  # doctest: +SKIP
        1.4
    """
    if moves not in kernel.MOVES:
        raise InputError(f"moves must be one of {kernel.MOVES}, got {moves!r}")
    for name, val, lo in (("num_samples", num_samples, 10), ("num_chains", num_chains, 1),
                          ("chunk_size", chunk_size, 1), ("thin", thin, 1)):
        if int(val) != val or val < lo:
            raise InputError(f"{name} must be an integer ≥ {lo}, got {val!r}")
    num_burnin = max(1000, num_samples // 2) if num_burnin is None else int(num_burnin)
    k_flat, k_check, k_ladder, k_init, k_run = jax.random.split(key, 5)
    flat = flatten_target(target, k_flat)
    prior_check = {"skipped": True} if target.prior_normalised else check_prior(flat, k_check)

    if betas is not None:
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or betas.size < 2 or betas[0] != 0 or betas[-1] != 1 or np.any(np.diff(betas) <= 0):
            raise InputError(f"betas must increase strictly from 0 to 1, got {betas!r}")
        adapt_ladder = False
    else:
        if num_replicas < 2:
            raise InputError(f"num_replicas must be at least 2, got {num_replicas}")
        betas = initial_ladder(flat, k_ladder, num_replicas)
    L, d, C = betas.size, flat.dim, num_chains

    # Initial states: independent prior draws at every rung of every chain.
    x0 = batched(flat).sample_prior(k_init, C * L).reshape(C, L, d)
    dtype = x0.dtype
    states = _init_fn(flat)(x0, flat.data)
    prior_sd = np.maximum(np.asarray(jnp.std(x0.reshape(-1, d), axis=0), dtype=np.float64), 1e-8)
    scale = np.minimum(1.0, np.sqrt(betas[1] / np.maximum(betas, betas[1])))
    step = np.broadcast_to(prior_sd[None, None, :] * scale[None, :, None], (C, L, d)).copy()
    block = np.full((C, L), 1.0 / np.sqrt(d))

    num_burn_chunks = -(-num_burnin // chunk_size)
    num_sample_chunks = -(-num_samples // chunk_size)
    rounds = _ladder_rounds(num_burn_chunks) if adapt_ladder else set()
    chunk_fn = _chunk_fn(flat, moves, chunk_size, target_accept, target_accept_block, _LOG_RATIO_FN,
                         bool(keep_all_rungs))
    data = flat.data

    fingerprint = hashlib.sha256(json.dumps({
        "key": np.asarray(jax.random.key_data(key)).tolist(), "d": d, "names": flat.names, "L": L, "C": C,
        "samples": num_samples, "burn": num_burnin, "chunk": chunk_size, "thin": thin, "moves": moves,
        "adapt": adapt_ladder, "betas0": np.round(betas, 12).tolist(), "dtype": str(dtype),
        "targets": [target_accept, target_accept_block], "all_rungs": bool(keep_all_rungs),
        "x0": float(np.asarray(jnp.sum(x0), dtype=np.float64)),
        "data": hashlib.sha256(b"".join(np.ascontiguousarray(np.asarray(v)).tobytes()
                                        for v in jax.tree_util.tree_leaves(flat.data))).hexdigest(),
    }).encode()).hexdigest()[:16]
    ckpt = _Saver(checkpoint, fingerprint, checkpoint_every)
    bar = as_progress(progress)

    chunk_index = 0
    round_probs: list[np.ndarray] = []
    ll_chunks: list[np.ndarray] = []
    pos_chunks: list[np.ndarray] = []
    sums = None
    restored = ckpt.load()
    if restored is not None:
        meta, saved = restored
        chunk_index = int(meta["chunk_index"])
        leaves, treedef = jax.tree_util.tree_flatten(states)
        states = jax.tree_util.tree_unflatten(
            treedef, [jnp.asarray(saved[f"state_{i}"], dtype=leaf.dtype) for i, leaf in enumerate(leaves)])
        betas, step, block = saved["betas"], saved["step"], saved["block"]
        round_probs = list(saved["round_probs"]) if saved["round_probs"].size else []
        if "ll" in saved:
            ll_chunks, pos_chunks = [saved["ll"]], [saved["pos"]]
            sums = tuple(saved[f"sum_{i}"] for i in range(5))

    def save(force=False):
        arrays = {f"state_{i}": np.asarray(leaf) for i, leaf in enumerate(jax.tree_util.tree_leaves(states))}
        arrays.update(betas=betas, step=step, block=block,
                      round_probs=np.array(round_probs) if round_probs else np.zeros((0, C, L - 1)))
        if ll_chunks:
            arrays.update(ll=np.concatenate(ll_chunks, axis=1), pos=np.concatenate(pos_chunks, axis=1))
            arrays.update({f"sum_{i}": s for i, s in enumerate(sums)})
        ckpt.save({"chunk_index": chunk_index}, arrays, force=force)

    total_chunks = num_burn_chunks + num_sample_chunks
    bar.start(total_chunks * chunk_size, progress_desc)
    try:
        if chunk_index:
            bar.update(chunk_index * chunk_size, f"{progress_desc} (resumed)")
        while chunk_index < total_chunks:
            k = jax.random.fold_in(k_run, chunk_index)
            jb = jnp.asarray(betas, dtype=dtype)
            burning = chunk_index < num_burn_chunks
            states, step_j, block_j, s, ll, pos = chunk_fn(
                k, states, data, jb, jnp.asarray(step, dtype), jnp.asarray(block, dtype),
                chunk_index * chunk_size, burning)
            if burning:
                step, block = np.asarray(step_j, np.float64), np.asarray(block_j, np.float64)
                round_probs.append(np.asarray(s[4], np.float64) / chunk_size)
                chunk_index += 1
                if chunk_index in rounds:
                    rejection = 1.0 - np.mean(round_probs, axis=(0, 1))
                    new = respace_ladder(betas, rejection)
                    step = _interp_steps(step, betas, new)
                    betas = new
                    round_probs = []
                stage = "burn-in"
                if chunk_index == num_burn_chunks:
                    round_probs = []
            else:
                s = tuple(np.asarray(a, np.float64) for a in s)
                sums = s if sums is None else tuple(a + b for a, b in zip(sums, s))
                ll_chunks.append(np.asarray(ll))
                pos_chunks.append(np.asarray(pos))
                chunk_index += 1
                stage = "sampling"
            if chunk_index < total_chunks:
                save(force=chunk_index == num_burn_chunks)  # always at the end of burn-in
            bar.update(chunk_size, f"{progress_desc} ({stage})")
    finally:
        bar.close()

    ll = np.concatenate(ll_chunks, axis=1)[:, :num_samples]
    samples = np.concatenate(pos_chunks, axis=1)[:, :num_samples:thin]
    rung_samples = None
    if keep_all_rungs:
        rung_samples, samples = samples, samples[:, :, -1]
    n_sweeps = num_sample_chunks * chunk_size
    fe = free_energy(ll, betas)
    acc, accb, tried, accepted, prob = sums
    diag_samples = samples
    if target.relabel_fn is not None:
        canonical = jax.jit(jax.vmap(jax.vmap(
            lambda v: jax.flatten_util.ravel_pytree(target.relabel_fn(flat.unravel(v)))[0])))
        diag_samples = np.asarray(canonical(jnp.asarray(samples)))
    diag, warn = summarise(
        betas=betas,
        accept=acc / n_sweeps,
        accept_block=accb / n_sweeps if moves != "componentwise" else None,
        swap_tried=tried,
        swap_accepted=accepted,
        swap_prob=prob / n_sweeps,
        round_trips=np.asarray(states.round_trips),
        num_sweeps=n_sweeps,
        samples=diag_samples,
        names=flat.names,
    )
    diag = replace(
        diag, prior_check=prior_check, free_energy_estimators=fe.estimators,
        free_energy_estimator_errs=fe.estimator_errs,
        labelling=None if target.relabel_fn is None
        else "R-hat and ESS computed on the model's canonical labelling (relabel_fn)")
    warn = warn + fe.warnings
    for w in warn:
        warnings.warn(w, PhyslawWarning, stacklevel=2)
    return ExchangeResult(
        betas=betas, samples=samples, log_likelihood=ll, names=flat.names, free_energy=fe,
        diagnostics=diag, warnings=warn, step_size=step, unravel=flat.unravel, rung_samples=rung_samples,
    )
