"""``run``: exchange Monte Carlo from a key and a model to samples, free energies and diagnostics.

``run`` validates its arguments into a ``RunConfig``, builds the initial ``RunState`` (prior draws,
the ladder, step sizes) or restores it from a checkpoint, and runs the phases of
``physlaw.sampling._driver``: *tune* (burn-in), *sample* (chunks, optionally until a target
precision of the free energy) and *estimate* (here: free energies and diagnostics into an
``ExchangeResult``). The compiled programs live in ``_programs``. The driver never touches disk or
the terminal: checkpoints and progress go through the objects the caller passes (``Checkpoint``,
``Progress``). Each chunk's PRNG key is ``fold_in(key, chunk_index)``, so a run resumed from its
checkpoint ends bit-for-bit where the uninterrupted run with the same seed ends.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import dataclass, field, replace
from typing import Callable

import jax
import jax.flatten_util
import numpy as np

from physlaw.errors import InputError
from physlaw.sampling import _kernel as kernel
from physlaw.sampling._diagnostics import Diagnostics, summarise
from physlaw.sampling._driver import (
    EARLY, Context, Hooks, RunConfig, RunState, Saver, _interp_steps, sample, traces, tune)
from physlaw.sampling._free_energy import FreeEnergy, free_energy
from physlaw.sampling._hooks import Checkpoint, Progress, as_progress
from physlaw.sampling._ladder import initial_ladder, rescaled_ladder
from physlaw.sampling._programs import (  # noqa: F401  (_CHUNK_CACHE, _chunk_fn: benchmarks use them)
    _CHUNK_CACHE, _chunk_fn, _init_fn, _relabel_fn, default_chain_loop, usable_devices)
from physlaw.sampling._target import (
    PhyslawWarning, Target, batched, check_prior, flatten_target, sampled_names, split_keys, to_device)


@dataclass(frozen=True)
class RunStart:
    """Where a run ended, as a start for another: ``run(..., start=result.final)``.

    Attributes:
        betas: [L] the ladder.
        positions: [C, L, d] every chain's replica at every rung (rung order), flat coordinates.
        step: [C, L, d] the tuned step sizes (rung order).
        rejection: [L − 1] the mean exchange rejection rate of each neighbour pair while sampling.
        cov: [C, L, d, d] the block moves' learned covariances (``moves="correlated"``), else None.
    """

    betas: np.ndarray
    positions: np.ndarray
    step: np.ndarray
    rejection: np.ndarray
    cov: np.ndarray | None = None

    def rescaled(self, power: float) -> "RunStart":
        """The start for a model whose log-likelihood is this one's divided by ``power`` (0 < power ≤ 1),
        up to a constant: its rung β' is this run's rung ``power · β'``.

        The noise scan uses it: with Gaussian noise, the likelihood at σ̂ is the one at σ_0 raised to
        ``(σ_0/σ̂)²``, so the final run at σ̂ starts from the pilot's replicas at σ_0 with
        ``power = (σ_0/σ̂)²``. Its ladder spans the pilot's rungs up to β = power with equal exchange
        rejection between neighbours (``rescaled_ladder``); every new rung takes the replicas of the
        nearest pilot rung (in log β) and step sizes interpolated in log β.
        """
        new, old, rejection = rescaled_ladder(self.betas, self.rejection, power)
        floor = 1e-3 * self.betas[1]
        idx = np.argmin(np.abs(np.log(self.betas + floor)[None, :] - np.log(old + floor)[:, None]), axis=1)
        return RunStart(new, self.positions[:, idx], _interp_steps(self.step, self.betas, old),
                        np.full(new.size - 1, rejection), None if self.cov is None else self.cov[:, idx])


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
        final: where the run ended (a ``RunStart`` for another run), or None.
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
    final: RunStart | None = field(repr=False, default=None)

    def posterior(self):
        """The β = 1 samples as the model's parameter pytree of NumPy arrays, each leaf with leading axes [C, S].

        The flat samples are cut into the leaves in ``ravel_pytree`` order (slices and reshapes, exact),
        without compiling anything.
        """
        return _unflatten(self.unravel, np.asarray(self.samples))

    def draws(self) -> tuple[dict, dict]:
        """The β = 1 draws ``{parameter: [C, S, ...]}`` and their statistics ``{"log_likelihood_total": [C, S]}``
        as NumPy arrays: what ``to_inference_data`` and the posterior files (``physlaw.io.posteriors``) hold."""
        tree = self.posterior()
        post = {k: np.asarray(v) for k, v in tree.items()} if isinstance(tree, dict) \
            else {n: np.asarray(self.samples)[..., i] for i, n in enumerate(self.names)}
        draws = np.asarray(self.samples).shape[1]
        thin = self.log_likelihood.shape[1] // max(draws, 1)
        stats = {"log_likelihood_total": np.asarray(self.log_likelihood)[:, :: max(thin, 1), -1][:, :draws]}
        return post, stats

    def to_inference_data(self, coords: dict | None = None):
        """An ArviZ InferenceData with the posterior (one variable per parameter) and sample stats."""
        import arviz as az

        post, stats = self.draws()
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


_LOG_RATIO_FN: Callable = kernel.exchange_log_ratio
"""The exchange acceptance log-ratio ``run`` uses; tests swap in a broken one (negative controls)."""


def run(
    key: jax.Array,
    target: Target,
    *,
    num_samples: int = 5000,
    num_burnin: int | None = None,
    num_replicas: int = 32,
    num_chains: int = 4,
    betas=None,
    start: RunStart | None = None,
    init=None,
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
    precision: float | None = None,
    max_samples: int | None = None,
    stop_early: Callable[[float, float], bool] | None = None,
    devices: int | None = None,
    dtype=None,
) -> ExchangeResult:
    """Run exchange Monte Carlo and return posterior samples, free energies and diagnostics.

    The run is three phases (``physlaw.sampling._driver``): *tune* (burn-in: step sizes and ladder
    adapt), *sample* (chunks at the tuned ladder; with ``precision``, until the free energy is known
    to that many nat) and *estimate* (free energies and diagnostics).

    Args:
        key: a ``jax.random`` key.
        target: the model (``Target``).
        num_samples: sweeps kept after burn-in (per chain); with ``precision`` or ``stop_early``, the
            minimum.
        num_burnin: sweeps of burn-in (step sizes and ladder adapt); default ``max(1000, num_samples // 2)``.
        num_replicas: L, the number of rungs (ignored when ``betas`` is given).
        num_chains: independent chains (vmapped), for error bars and R-hat.
        betas: a ladder given by hand (0 first, 1 last, increasing); it is then not adapted.
        start: where another run of the same model structure ended (``ExchangeResult.final``, or
            ``final.rescaled(power)`` for a likelihood that is a power of that run's): its ladder,
            replicas and step sizes replace the initial ladder, the prior draws and the initial steps
            (the ladder still adapts during burn-in, which can then be short).
        init: a flat point [d] (e.g. ``least_squares_point(target, key).position``) where every replica at
            β > 0 starts instead of at a prior draw (β = 0 keeps its prior draws, and the step sizes still
            come from them). Burn-in relaxes every rung to its own tempered posterior; on very precise
            data a start at the least-squares point lets the cold rungs settle at all.
        adapt_ladder: re-space the ladder during burn-in to equal swap rejection rates.
        moves: ``"componentwise"`` (one coordinate at a time), ``"block"`` (all at once), ``"both"``, or
            ``"correlated"``: both, the block move's covariance learned per rung during burn-in (a
            narrow valley along which several parameters change together: sums of exponentials).
        target_accept, target_accept_block: acceptance targets of the step-size adaptation.
        chunk_size: sweeps per compiled chunk (progress and checkpoints happen between chunks).
        thin: keep every ``thin``-th β = 1 sample (the log-likelihood traces are kept at every sweep).
        checkpoint: where the run's state is kept (a ``Checkpoint``, e.g.
            ``physlaw.io.checkpoints.CheckpointFile(path)``), or None; saved between chunks (at most
            every ``checkpoint_every`` seconds, and at the end of burn-in); a state saved by the same
            run (same fingerprint) is resumed.
        progress: receives the sweeps done (a ``Progress``, e.g.
            ``physlaw.report.progress.ProgressBar()``), or None to run silently. Its total is burn-in +
            ``num_samples``; a run that samples longer for ``precision`` reports the extra chunks too.
        progress_desc: the name the run reports to ``progress``.
        keep_all_rungs: also keep the (thinned) samples of every rung in ``rung_samples`` (a scan over
            temperatures, e.g. the noise levels σ' of the symmetry search).
        precision: target standard error of the free energy F in nat (e.g. 0.1), or None for a run of
            fixed length. With it, sampling goes on in chunks after ``num_samples`` sweeps until the
            error is at most ``precision`` or ``max_samples`` sweeps are done. The check costs one
            free-energy estimate; checks are spaced by the predicted length (error ∝ 1/√sweeps).
        max_samples: the most sampling sweeps with ``precision`` / ``stop_early``
            (default ``10 × num_samples``).
        stop_early: ``(F, F_err) -> bool``, asked at every check after the minimum length: True ends
            sampling (model comparison: a model whose F is many errors above the best one's is out of
            the race). Without ``precision`` it makes the run's length adaptive as well.
        devices: spread the chains over this many JAX devices (None: all devices of the default
            backend; on a CPU, XLA host devices: ``physlaw.cli._common.setup_jax`` or
            ``jax.config.update("jax_num_cpu_devices", N)`` before JAX first runs anything). The
            largest divisor of ``num_chains`` not above it is used. The draws do not depend on it.
        dtype: the sampler's working precision, e.g. ``jnp.float32`` (about 2–3× the updates per second
            of float64 on a CPU): parameters, prior draws, the data's floating arrays and the
            log densities in it. None: the dtype the model's prior sampler returns. The free energies,
            their errors and all sums over sweeps are computed in float64 whatever this is.

    Returns:
        An ``ExchangeResult``; ``diagnostics.precision_reached`` (F's error), ``precision_met`` and
        ``stop_reason`` say how sampling ended.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from physlaw.priors import JointPrior, Normal
        >>> from physlaw.sampling import Target, run
        >>> prior = JointPrior({"a": Normal(0.0, 1.0)})
        >>> target = Target.from_prior(prior, lambda p: -0.5 * (p["a"] - 1.0) ** 2 / 0.1 - 0.5 * jnp.log(2 * jnp.pi * 0.1))
        >>> res = run(jax.random.key(0), target, num_samples=500, num_replicas=8, precision=0.05)
        >>> res.diagnostics.precision_met  # doctest: +SKIP
        True
    """
    if moves not in kernel.MOVES:
        raise InputError(f"moves must be one of {kernel.MOVES}, got {moves!r}")
    for name, val, lo in (("num_samples", num_samples, 10), ("num_chains", num_chains, 1),
                          ("chunk_size", chunk_size, 1), ("thin", thin, 1)):
        if int(val) != val or val < lo:
            raise InputError(f"{name} must be an integer ≥ {lo}, got {val!r}")
    if precision is not None and not (isinstance(precision, (int, float)) and math.isfinite(precision)
                                      and precision > 0):
        raise InputError(f"precision must be a positive number of nats (e.g. 0.1), got {precision!r}")
    if stop_early is not None and not callable(stop_early):
        raise InputError(f"stop_early must be a function (F, F_err) -> bool, got {stop_early!r}")
    adaptive = precision is not None or stop_early is not None
    if max_samples is not None and (int(max_samples) != max_samples or max_samples < num_samples):
        raise InputError(f"max_samples must be an integer ≥ num_samples ({num_samples}), got {max_samples!r}")
    max_samples = (10 * num_samples if max_samples is None else int(max_samples)) if adaptive else num_samples
    num_burnin = max(1000, num_samples // 2) if num_burnin is None else int(num_burnin)
    k_flat, k_check, k_ladder, k_init, k_run = split_keys(key, 5)
    flat = flatten_target(target, k_flat, dtype)
    prior_check = {"skipped": True} if target.prior_normalised else check_prior(flat, k_check)

    if start is not None:
        if betas is not None:
            raise InputError("give either betas or a start (which has its own ladder), not both")
        want = (int(num_chains), np.asarray(start.betas).size, flat.dim)
        if np.shape(start.positions) != want or np.shape(start.step) != want:
            raise InputError(f"the start's replicas have shape {np.shape(start.positions)}, this run needs {want} "
                             "(chains, rungs, parameters)")
        betas = np.asarray(start.betas, dtype=np.float64)
    if betas is not None:
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or betas.size < 2 or betas[0] != 0 or betas[-1] != 1 or np.any(np.diff(betas) <= 0):
            raise InputError(f"betas must increase strictly from 0 to 1, got {betas!r}")
        adapt_ladder = adapt_ladder and start is not None
    else:
        if num_replicas < 2:
            raise InputError(f"num_replicas must be at least 2, got {num_replicas}")
        betas = initial_ladder(flat, k_ladder, num_replicas)
    cfg = RunConfig(num_samples=int(num_samples), num_burnin=num_burnin, num_chains=int(num_chains),
                    chunk_size=int(chunk_size), thin=int(thin), moves=moves, target_accept=target_accept,
                    target_accept_block=target_accept_block, adapt_ladder=bool(adapt_ladder),
                    keep_all_rungs=bool(keep_all_rungs), precision=precision, max_samples=max_samples,
                    stop_early=stop_early, progress_desc=progress_desc)
    if init is not None:
        init = np.asarray(init, np.float64)
        if start is not None or init.shape != (flat.dim,) or not np.all(np.isfinite(init)):
            raise InputError(f"init must be a finite flat point of {flat.dim} coordinates (and not given with a "
                             f"start), got shape {init.shape}")
    state, x0 = _initial_state(flat, k_init, betas, cfg, start, init)
    num_devices = usable_devices(cfg.num_chains, devices)
    ctx = Context(chunk=_chunk_fn(flat, moves, cfg.chunk_size, target_accept, target_accept_block, _LOG_RATIO_FN,
                                  cfg.keep_all_rungs, num_devices, default_chain_loop()),
                  data=flat.data, dtype=x0.dtype, key=k_run,
                  linear=() if flat.linear is None or moves != "correlated" else flat.linear.index)
    if flat.sampled is not None:  # a padded model: only these coordinates move
        rest = sorted(set(range(flat.dim)) - set(flat.sampled))
        ctx.order = to_device(list(flat.sampled) + rest, np.int32)        # converted once, not per chunk
        ctx.num_sampled = to_device(len(flat.sampled), np.int32)
    hooks = Hooks(Saver(checkpoint, _fingerprint(key, target, flat, cfg, betas, x0), checkpoint_every),
                  as_progress(progress))
    restored = hooks.saver.load()
    if restored is not None:
        state = state.restored(*restored)

    hooks.progress.start((cfg.burn_chunks + cfg.min_sample_chunks) * cfg.chunk_size, progress_desc)
    try:
        if state.chunk_index:
            hooks.progress.update(state.chunk_index * cfg.chunk_size, f"{progress_desc} (resumed)")
        state = tune(state, cfg, ctx, hooks)
        state = sample(state, cfg, ctx, hooks)
    finally:
        hooks.progress.close()
    return estimate(state, cfg, target, flat, prior_check)


def _initial_state(flat, key, betas: np.ndarray, cfg: RunConfig, start: RunStart | None = None, init=None):
    """Independent prior draws at every rung of every chain (or ``init`` at every rung β > 0) and step
    sizes from the prior's spread, or the replicas and step sizes of a ``start``."""
    L, d, C = betas.size, flat.dim, cfg.num_chains
    if start is not None:
        dtype = jax.eval_shape(flat.sample_prior, key).dtype
        x0 = to_device(start.positions, dtype)
        chains = _init_fn(flat)(x0, flat.data)
        cov = None if start.cov is None or cfg.moves != "correlated" else np.array(start.cov, np.float64)
        return RunState(0, chains, betas, np.array(start.step, np.float64), np.full((C, L), 1.0 / np.sqrt(d)),
                        cov=cov), x0
    draws = batched(flat).sample_prior(key, C * L).reshape(C, L, d)
    x0 = draws.copy()
    if init is not None:
        x0[:, 1:, :] = np.asarray(init, draws.dtype)
    x0 = to_device(x0)
    chains = _init_fn(flat)(x0, flat.data)
    prior_sd = np.maximum(np.std(draws.reshape(-1, d), axis=0, dtype=np.float64), 1e-8)
    scale = np.minimum(1.0, np.sqrt(betas[1] / np.maximum(betas, betas[1])))
    step = np.broadcast_to(prior_sd[None, None, :] * scale[None, :, None], (C, L, d)).copy()
    block = np.full((C, L), 1.0 / np.sqrt(d))
    return RunState(0, chains, betas, step, block), x0


def _fingerprint(key, target: Target, flat, cfg: RunConfig, betas: np.ndarray, x0) -> str:
    """What identifies a run for its checkpoint: key, model structure, data, settings."""
    settings = {
        "key": np.asarray(jax.random.key_data(key)).tolist(), "d": flat.dim, "names": flat.names,
        "L": int(betas.size), "C": cfg.num_chains, "samples": cfg.num_samples, "burn": cfg.num_burnin,
        "chunk": cfg.chunk_size, "thin": cfg.thin, "moves": cfg.moves, "adapt": cfg.adapt_ladder,
        "betas0": np.round(betas, 12).tolist(), "dtype": str(x0.dtype),
        **({} if flat.sampled is None else {"sampled": list(flat.sampled)}),
        "targets": [cfg.target_accept, cfg.target_accept_block], "all_rungs": cfg.keep_all_rungs,
        "x0": float(np.sum(np.asarray(x0, np.float64))),
        "data": hashlib.sha256(b"".join(np.ascontiguousarray(np.asarray(v)).tobytes()
                                        for v in jax.tree_util.tree_leaves(flat.data))).hexdigest(),
    }
    if cfg.adaptive_length:  # only then: fixed-length runs keep the fingerprints of earlier versions
        settings.update(precision=cfg.precision, max_samples=cfg.max_samples,
                        stop_early=cfg.stop_early is not None)
    return hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:16]


def estimate(state: RunState, cfg: RunConfig, target: Target, flat, prior_check: dict) -> ExchangeResult:
    """The estimate phase: free energies and diagnostics from the sampling phase's traces."""
    ll, samples, kept = traces(state, cfg)
    acc, accb, tried, accepted, prob = state.sums
    names, unravel, step = flat.names, flat.unravel, state.step
    if flat.sampled is not None:  # a padded model: the result is the smaller model's
        s = list(flat.sampled)
        samples, acc, step = samples[..., s], acc[..., s], step[..., s]
    if flat.sampled_unravel is not None:  # (also a padded model at its full size: its own names)
        names, unravel = sampled_names(flat), flat.sampled_unravel
    rung_samples = None
    if cfg.keep_all_rungs:
        rung_samples, samples = samples, samples[:, :, -1]
    n_sweeps = state.sample_chunks(cfg) * cfg.chunk_size
    fe = state.checked if state.checked is not None else free_energy(ll, state.betas)
    diag_samples = samples
    if target.relabel_fn is not None:
        diag_samples = _relabel_fn(flat, target.relabel_fn)(samples)
    diag, warn = summarise(
        betas=state.betas,
        accept=acc / n_sweeps,
        accept_block=accb / n_sweeps if cfg.moves != "componentwise" else None,
        swap_tried=tried,
        swap_accepted=accepted,
        swap_prob=prob / n_sweeps,
        round_trips=np.asarray(state.chains.round_trips),
        num_sweeps=n_sweeps,
        samples=diag_samples,
        names=names,
    )
    met = None if cfg.precision is None else bool(fe.free_energy_err <= cfg.precision)
    diag = replace(
        diag, prior_check=prior_check, free_energy_estimators=fe.estimators,
        free_energy_estimator_errs=fe.estimator_errs,
        labelling=None if target.relabel_fn is None
        else "R-hat and ESS computed on the model's canonical labelling (relabel_fn)",
        precision=cfg.precision, precision_reached=float(fe.free_energy_err), precision_met=met,
        stop_reason=state.stop_reason, num_sweeps_kept=int(kept))
    warn = warn + fe.warnings
    if met is False and state.stop_reason != EARLY:  # a model stopped early is out of the race: F is precise enough
        warn.append(f"free energy error {fe.free_energy_err:.3g} nat is above the requested precision "
                    f"{cfg.precision:g} nat after the maximum {kept} sweeps; raise max_samples or use more chains")
    for w in warn:
        warnings.warn(w, PhyslawWarning, stacklevel=3)
    slots = np.asarray(state.chains.slot_of_rung)
    final = RunStart(state.betas, np.take_along_axis(np.asarray(state.chains.position), slots[..., None], axis=1),
                     state.step, 1.0 - np.mean(state.sums[4] / n_sweeps, axis=0), state.cov)
    return ExchangeResult(
        betas=state.betas, samples=samples, log_likelihood=ll, names=names, free_energy=fe,
        diagnostics=diag, warnings=warn, step_size=step, unravel=unravel, rung_samples=rung_samples, final=final,
    )
