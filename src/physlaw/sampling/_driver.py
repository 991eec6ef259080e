"""The run driver in named phases: a config record, a typed run state, and tune → sample → estimate.

The shape is that of BlackJAX's ``run_inference_algorithm`` and Pigeons.jl's driver: the state of a
run is one small record (``RunState``), which is also exactly what a checkpoint stores; the settings
are another (``RunConfig``); each phase is a function ``state → state`` that runs compiled chunks of
sweeps and calls the hooks (``Hooks``: checkpoint and progress) between them:

* ``tune``: burn-in, with Robbins–Monro step-size adaptation and, at chunk counts 1, 2, 4, … (up to
  ¾ of burn-in), re-spacing of the ladder to equal swap rejection rates (``respace_ladder``);
* ``sample``: chunks at a fixed ladder, keeping the log-likelihood of every rung and the β = 1 draws;
  with a target ``precision`` it goes on past the minimum length until the free energy's standard
  error is at most ``precision`` nat (or ``stop_early`` says the model is out of the race, or the
  maximum length is reached);
* ``estimate``: free energies (every estimator, with batch-means errors) and diagnostics.

Chunk i's PRNG key is ``fold_in(k_run, i)`` whatever the phase, so a resumed run ends bit for bit
where the uninterrupted one ends, and a run stopped by ``precision`` after N sweeps has the draws of
a fixed-length run of N sweeps.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.sampling._free_energy import FreeEnergy, free_energy
from physlaw.sampling._hooks import Checkpoint, Progress
from physlaw.sampling._ladder import respace_ladder

#: Why the sampling phase ended (``Diagnostics.stop_reason``).
FIXED, PRECISION, MAXIMUM, EARLY = "fixed length", "precision reached", "maximum length", "stopped early"


@dataclass(frozen=True)
class RunConfig:
    """A run's settings (validated by ``run``); lengths in sweeps per chain.

    Attributes:
        num_samples: sampling sweeps; with ``precision`` (or ``stop_early``) the *minimum*.
        max_samples: the most sampling sweeps (= ``num_samples`` for a fixed-length run).
        precision: target standard error of F in nat, or None.
        stop_early: ``(F, F_err) -> bool`` asked at every precision check; True ends sampling.
    """

    num_samples: int
    num_burnin: int
    num_chains: int
    chunk_size: int
    thin: int
    moves: str
    target_accept: float
    target_accept_block: float
    adapt_ladder: bool
    keep_all_rungs: bool
    precision: float | None = None
    max_samples: int | None = None
    stop_early: Callable[[float, float], bool] | None = None
    progress_desc: str = "exchange MC"

    @property
    def burn_chunks(self) -> int:
        return -(-self.num_burnin // self.chunk_size)

    @property
    def min_sample_chunks(self) -> int:
        return -(-self.num_samples // self.chunk_size)

    @property
    def max_sample_chunks(self) -> int:
        return -(-max(self.max_samples or 0, self.num_samples) // self.chunk_size)

    @property
    def adaptive_length(self) -> bool:
        return self.max_sample_chunks > self.min_sample_chunks

    def ladder_rounds(self) -> set[int]:
        """Chunk counts (1-based) after which the ladder is re-spaced: 1, 2, 4, … up to ¾ of burn-in."""
        if not self.adapt_ladder:
            return set()
        ends, n = set(), 1
        while n <= max(1, int(0.75 * self.burn_chunks)):
            ends.add(n)
            n *= 2
        return ends


@dataclass
class RunState:
    """Everything a run carries from chunk to chunk; a checkpoint stores exactly this.

    Attributes:
        chunk_index: chunks done (burn-in first, then sampling).
        chains: the ``ExchangeState`` of every chain (leading axis C, on the device).
        betas: [L] the ladder; step: [C, L, d] step sizes; block: [C, L] block-move scales.
        cov: [C, L, d, d] the block moves' covariance learned during burn-in (``moves="correlated"``),
            else None.
        round_probs: exchange acceptance probabilities [C, L−1] of the burn-in chunks since the last
            ladder re-spacing.
        ll: log-likelihood traces [C, chunk, L] of the sampling chunks; pos: the kept draws.
        sums: running sums over the sampling chunks of (accept, accept_block, swap_tried,
            swap_accepted, swap_prob), or None before sampling.
        next_check: sampling chunks after which the precision is next checked.
        stop_reason: why sampling ended ('' while it runs).
    """

    chunk_index: int
    chains: object
    betas: np.ndarray
    step: np.ndarray
    block: np.ndarray
    round_probs: list = field(default_factory=list)
    ll: list = field(default_factory=list)
    pos: list = field(default_factory=list)
    sums: tuple | None = None
    next_check: int = 0
    stop_reason: str = ""
    checked: FreeEnergy | None = field(default=None, repr=False)  # the last check's estimate (not saved)
    cov: np.ndarray | None = None

    def sample_chunks(self, cfg: RunConfig) -> int:
        return max(0, self.chunk_index - cfg.burn_chunks)

    def to_checkpoint(self) -> tuple[dict, dict[str, np.ndarray]]:
        """``(meta, arrays)`` for ``Checkpoint.save``."""
        arrays = {f"state_{i}": np.asarray(leaf) for i, leaf in enumerate(jax.tree_util.tree_leaves(self.chains))}
        C, L = self.block.shape
        arrays.update(betas=self.betas, step=self.step, block=self.block,
                      round_probs=np.array(self.round_probs) if self.round_probs else np.zeros((0, C, L - 1)))
        if self.cov is not None:
            arrays["cov"] = self.cov
        if self.ll:
            arrays.update(ll=np.concatenate(self.ll, axis=1), pos=np.concatenate(self.pos, axis=1))
            arrays.update({f"sum_{i}": s for i, s in enumerate(self.sums)})
        meta = {"chunk_index": self.chunk_index}
        if self.next_check:
            meta["next_check"] = self.next_check
        return meta, arrays

    def restored(self, meta: dict, saved: dict[str, np.ndarray]) -> "RunState":
        """This (initial) state replaced by a checkpoint's ``(meta, arrays)``."""
        leaves, treedef = jax.tree_util.tree_flatten(self.chains)
        chains = jax.tree_util.tree_unflatten(
            treedef, [jnp.asarray(saved[f"state_{i}"], dtype=leaf.dtype) for i, leaf in enumerate(leaves)])
        out = RunState(int(meta["chunk_index"]), chains, saved["betas"], saved["step"], saved["block"],
                       list(saved["round_probs"]) if saved["round_probs"].size else [],
                       next_check=int(meta.get("next_check", 0)), cov=saved.get("cov"))
        if "ll" in saved:
            out.ll, out.pos = [saved["ll"]], [saved["pos"]]
            out.sums = tuple(saved[f"sum_{i}"] for i in range(5))
        return out


class Saver:
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

    def save(self, state: RunState, force: bool = False):
        if self.store is None or (not force and time.monotonic() - self.last < self.every):
            return
        self.store.save(self.fingerprint, *state.to_checkpoint())
        self.last = time.monotonic()


@dataclass
class Hooks:
    """What the phases report to: the checkpoint (through its ``Saver``) and the progress receiver."""

    saver: Saver
    progress: Progress


@dataclass
class Context:
    """What the phases need besides the state: the compiled chunk, the data, the dtype and the run key."""

    chunk: Callable
    data: object
    dtype: object
    key: jax.Array
    order: jax.Array | None = None      # sampled coordinates first (a padded model), else None
    num_sampled: jax.Array | None = None
    linear: tuple[int, ...] = ()        # the linear coordinates (``FlatTarget.linear``), left out of the covariance moves


def _interp_steps(step: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Carry tuned step sizes [C, L, d] over to a re-spaced ladder (linear in log β, rung 0 kept)."""
    out = step.copy()
    lo, ln = np.log(old[1:]), np.log(new[1:])
    for c in range(step.shape[0]):
        for j in range(step.shape[2]):
            out[c, 1:, j] = np.exp(np.interp(ln, lo, np.log(step[c, 1:, j])))
    return out


def block_cholesky(cov: np.ndarray, step: np.ndarray, fixed=()) -> np.ndarray:
    """Cholesky factors [..., d, d] of the block moves' covariances ``cov`` [..., d, d], regularised by
    1 % of the coordinate steps² (a direction the replicas did not explore still gets a small move).
    Coordinates in ``fixed`` (the linear ones, which ``_linear_block`` draws from their conditional) are
    left out: the others' factor is that of their *marginal* covariance."""
    d = step.shape[-1]
    keep = np.setdiff1d(np.arange(d), np.asarray(fixed, int))
    sub = cov[..., keep[:, None], keep] + np.einsum("...i,ij->...ij", 0.01 * step[..., keep] ** 2, np.eye(keep.size))
    try:
        factor = np.linalg.cholesky(sub)
    except np.linalg.LinAlgError:   # round-off made a covariance indefinite: its diagonal only
        factor = np.sqrt(np.einsum("...ii->...i", sub))[..., None] * np.eye(keep.size)
    out = np.zeros(cov.shape)
    out[..., keep[:, None], keep] = factor
    return out


def _run_chunk(state: RunState, ctx: Context, cfg: RunConfig, adapt: bool):
    k = jax.random.fold_in(ctx.key, state.chunk_index)
    chol = None if state.cov is None else block_cholesky(state.cov, state.step, ctx.linear)
    # NumPy in the working dtype: the chunk places them (on its devices, or the jit on the default one)
    return ctx.chunk(k, state.chains, ctx.data, np.asarray(state.betas, ctx.dtype),
                     np.asarray(state.step, ctx.dtype), np.asarray(state.block, ctx.dtype),
                     state.chunk_index * cfg.chunk_size, adapt, ctx.order, ctx.num_sampled,
                     None if chol is None else np.asarray(chol, ctx.dtype))


def tune(state: RunState, cfg: RunConfig, ctx: Context, hooks: Hooks) -> RunState:
    """Burn-in: adapt step sizes every sweep and re-space the ladder at the chosen chunk counts; with
    ``moves="correlated"``, learn each rung's block-move covariance: the covariance of the rung's
    positions over the last chunk (a posterior that narrows by orders of magnitude during burn-in
    is followed at once)."""
    rounds = cfg.ladder_rounds()
    while state.chunk_index < cfg.burn_chunks:
        chains, step, block, s, _, _, cov = _run_chunk(state, ctx, cfg, True)
        state.chains = chains
        state.step, state.block = np.asarray(step, np.float64), np.asarray(block, np.float64)
        if cfg.moves == "correlated":
            state.cov = np.asarray(cov, np.float64)
        state.round_probs.append(np.asarray(s[4], np.float64) / cfg.chunk_size)
        state.chunk_index += 1
        if state.chunk_index in rounds:
            rejection = 1.0 - np.mean(state.round_probs, axis=(0, 1))
            new = respace_ladder(state.betas, rejection)
            state.step = _interp_steps(state.step, state.betas, new)
            state.betas = new
            state.round_probs = []
        if state.chunk_index == cfg.burn_chunks:
            state.round_probs = []
        hooks.saver.save(state, force=state.chunk_index == cfg.burn_chunks)  # always at the end of burn-in
        hooks.progress.update(cfg.chunk_size, f"{cfg.progress_desc} (burn-in)")
    return state


def _kept_sweeps(state: RunState, cfg: RunConfig) -> int:
    """Sampling sweeps the estimate uses: ``num_samples`` at the minimum length, else all done (≤ max)."""
    done = state.sample_chunks(cfg) * cfg.chunk_size
    if state.sample_chunks(cfg) <= cfg.min_sample_chunks:
        return min(done, cfg.num_samples)
    return min(done, max(cfg.max_samples or 0, cfg.num_samples))


def _check(state: RunState, cfg: RunConfig) -> str:
    """At a check point: the reason to stop sampling now, or '' (and when to check next)."""
    n = state.sample_chunks(cfg)
    if n >= cfg.max_sample_chunks and not cfg.adaptive_length:
        return FIXED
    if n < max(cfg.min_sample_chunks, state.next_check) and n < cfg.max_sample_chunks:
        return ""
    ll = np.concatenate(state.ll, axis=1)[:, :_kept_sweeps(state, cfg)]
    fe = free_energy(ll, state.betas)
    state.checked = fe
    err = fe.free_energy_err
    if cfg.precision is not None and np.isfinite(err) and err <= cfg.precision:
        return PRECISION
    if n >= cfg.max_sample_chunks:
        return MAXIMUM
    if cfg.stop_early is not None and bool(cfg.stop_early(fe.free_energy, err)):
        return EARLY
    # error ∝ 1/√sweeps: aim at the length that reaches the precision (+10 %), at most doubling
    grow = 2.0 if cfg.precision is None or not np.isfinite(err) else min(2.0, 1.1 * (err / cfg.precision) ** 2)
    state.next_check = min(cfg.max_sample_chunks, max(n + 1, math.ceil(n * grow)))
    return ""


def sample(state: RunState, cfg: RunConfig, ctx: Context, hooks: Hooks) -> RunState:
    """Sampling chunks at the tuned ladder until the length (or the precision) says stop."""
    while not (reason := _check(state, cfg)):
        chains, _, _, s, ll, pos, _ = _run_chunk(state, ctx, cfg, False)
        state.chains = chains
        s = tuple(np.asarray(a, np.float64) for a in s)
        state.sums = s if state.sums is None else tuple(a + b for a, b in zip(state.sums, s))
        state.ll.append(np.asarray(ll))
        state.pos.append(np.asarray(pos))
        state.checked = None
        state.chunk_index += 1
        if state.sample_chunks(cfg) < cfg.max_sample_chunks:
            hooks.saver.save(state)
        hooks.progress.update(cfg.chunk_size, f"{cfg.progress_desc} (sampling)")
    state.stop_reason = reason
    return state


def traces(state: RunState, cfg: RunConfig) -> tuple[np.ndarray, np.ndarray, int]:
    """The kept traces: log-likelihood [C, S, L], thinned draws and S."""
    kept = _kept_sweeps(state, cfg)
    ll = np.concatenate(state.ll, axis=1)[:, :kept]
    samples = np.concatenate(state.pos, axis=1)[:, :kept:cfg.thin]
    return ll, samples, kept


def out_of_the_race(best: float, best_err: float, *, sigmas: float = 4.0, nats: float = 7.0) -> Callable:
    """A ``stop_early`` for model comparison (``run(..., stop_early=out_of_the_race(F_best, err_best))``).

    A candidate stops sampling once its free energy is more than ``nats`` above the best model's even
    after moving both by ``sigmas`` combined standard errors in its favour:
    ``F − F_best − sigmas · √(err² + err_best²) > nats``. Its posterior odds against the best are then
    below e^−nats (≈ 10⁻³ for 7 nat), so a more precise F would not change the selection.
    """
    def stop(f: float, err: float) -> bool:
        return bool(np.isfinite(f) and f - best - sigmas * math.hypot(err, best_err) > nats)

    return stop
