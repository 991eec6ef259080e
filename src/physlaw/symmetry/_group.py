"""Method 1 (Mototake 2021): sample the invariant transformations by exchange Monte Carlo over σ'.

The parameters ``θ`` of a family's maps get a bounded uniform prior around the identity and the
"likelihood" ``exp(−N E_samp(θ) / (2σ'²))`` (:mod:`._invariance`). One exchange Monte Carlo run of the
foundation engine (:func:`physlaw.sampling.run`) samples every noise level ``σ'`` at once: rung ``l``
has ``β_l = (σ'_min / σ'_l)²``, so the ladder *is* the σ' scan, and exchanges let samples travel
between the wide (large σ') and the thin (small σ') sets.

**Choosing σ'** (the rule the figure shows). Near a symmetry set ``S`` of dimension ``d`` in the
``P``-dimensional parameter space, ``E`` grows quadratically off ``S``, so the tempered density is
Gaussian of width ∝ σ' in the ``P − d`` normal directions and flat along ``S``; then

    d_eff(σ') = P − N (⟨E⟩_σ' − E_0) / σ'²

(from ``d log Z / d log β``; ``E_0`` from the thinnest level, ``⟨E⟩(σ'_min) − P σ'_min²/N``) equals ``d``. At large σ' the samples fill the prior box
(``d_eff → P``); at very small σ' the autoencoder's tiny imperfections along ``S`` pin them to the
identity (``d_eff → 0``). The chosen σ' is the geometric middle of the longest run of consecutive
levels (at least 3) where ``d_eff`` stays within 0.35 of one integer ``d ∈ [1, P − 1]``; ``d`` is the group's
dimension estimate (method 2 checks it by BIC). Without such a plateau there is no group: the tool
says so.

An invertibility guard adds ``(1 − |det M|^{1/n} / δ)²`` to ``E`` when ``|det M|^{1/n} < δ``: spare
latent units can make collapsing maps (``A ≈ 0``) cheap (mission B.6).
"""

from __future__ import annotations

import dataclasses
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.sampling import Checkpoint, Progress, Target, run
from physlaw.symmetry._families import Family
from physlaw.symmetry._invariance import check_rows, family_apply, linear_part_det


@dataclasses.dataclass
class GroupSamples:
    """Samples of the invariant maps at every noise level.

    Attributes:
        family: the family sampled.
        sigmas: ``[L]`` noise levels σ', descending (the prior rung, σ' = ∞, is dropped).
        samples: ``[L, S, P]`` parameter samples per level (chains pooled).
        energies: ``[L, S]`` ``E_samp`` of the samples (guard included).
        mean_energy: ``[L]`` ⟨E⟩ per level; ``energy_identity``: ``E`` at the identity.
        effective_dim: ``[L]`` ``d_eff(σ')``.
        chosen: index of the chosen σ' (or None when there is no plateau); ``dimension``: the
            plateau's integer ``d`` (0 if none).
        reason: the selection rule's verdict in words.
        diagnostics: the exchange run in JSON-ready form: swap rate per neighbouring pair of levels,
            round trips per chain, acceptance per level, seconds and settings.
    """

    family: Family
    sigmas: np.ndarray
    samples: np.ndarray
    energies: np.ndarray
    mean_energy: np.ndarray
    energy_identity: float
    effective_dim: np.ndarray
    chosen: int | None
    dimension: int
    reason: str
    num_points: int
    diagnostics: dict = dataclasses.field(default_factory=dict)

    @property
    def chosen_sigma(self) -> float | None:
        return None if self.chosen is None else float(self.sigmas[self.chosen])

    @property
    def chosen_samples(self) -> np.ndarray:
        """``[S, P]`` the sampled set ``D_a`` at the chosen σ' (empty when none was chosen)."""
        if self.chosen is None:
            return np.zeros((0, self.family.num_params))
        return self.samples[self.chosen]


class _BoxPrior:
    """Uniform on ``[low, high]`` per coordinate (normalised), as one array parameter ``theta``."""

    def __init__(self, low, high):
        self.low, self.high = np.asarray(low, float), np.asarray(high, float)
        self.log_volume = float(np.sum(np.log(self.high - self.low)))

    def log_prob(self, params):
        th = params["theta"]
        inside = jnp.all((th >= self.low) & (th <= self.high))
        return jnp.where(inside, -self.log_volume, -jnp.inf)

    def sample(self, key):
        u = jax.random.uniform(key, self.low.shape)
        return {"theta": jnp.asarray(self.low + (self.high - self.low) * u)}


def _log_likelihood(params, data):
    """``−N (E_samp + guard) / (2 σ'_min²)``; the rung's β turns σ'_min into σ'_l."""
    model, rows, norm2, scale, guard = data["model"], data["rows"], data["norm2"], data["scale"], data["guard"]
    fam = data["family"]
    th = params["theta"].astype(rows.dtype)
    moved = family_apply(fam, th, rows)
    recon = jax.vmap(model)(moved)
    e = jnp.mean(jnp.sum((moved - recon) ** 2, axis=-1)) / norm2
    det = linear_part_det(fam, th)
    e = e + jnp.where(det < guard, (1.0 - det / guard) ** 2, 0.0)
    return -scale * e


def _likelihood_for(family: Family, static):
    """The log-likelihood with the family and the network's static structure closed over."""

    def fn(params, data):
        return _log_likelihood(params, dict(data, family=family, model=eqx.combine(data["model"], static)))

    return fn


def select_sigma(sigmas, effective_dim, num_params: int, *, tol: float = 0.35, samples=None):
    """The σ' selection rule (module docstring): ``(index or None, d, reason)``.

    A plateau is a run of at least 3 levels within ``tol`` of one integer whose linear trend over
    the run is below half a unit (a slow ramp crossing an integer is not a plateau). Without one,
    and when ``samples`` (``[L, S, P]``) are given, the fallback takes the level whose sample cloud is
    most elongated (ratio of the largest to the smallest principal width ≥ 10, largest width ≥ 0.1):
    a symmetry direction that is only approximately flat (a translation of a finite data range)
    keeps its width while the others shrink with σ'. The fallback returns ``d = 0`` (unknown; method
    2 decides by BIC) and its result is reported as weak evidence.
    """
    sigmas, dims = np.asarray(sigmas), np.asarray(effective_dim)
    best = (0, None, 0)  # (length, start, d)
    i = 0
    while i < dims.size:
        r = int(np.rint(dims[i]))
        if 1 <= r <= num_params - 1 and abs(dims[i] - r) < tol:
            j = i
            while j + 1 < dims.size and abs(dims[j + 1] - r) < tol:
                j += 1
            run_ = dims[i:j + 1]
            trend = abs(np.polyfit(np.arange(run_.size), run_, 1)[0]) * (run_.size - 1) if run_.size > 1 else 0.0
            if j - i + 1 > best[0] and trend < 0.5:
                best = (j - i + 1, i, r)
            i = j + 1
        else:
            i += 1
    length, start, d = best
    if start is not None and length >= 3:
        idx = start + (length - 1) // 2
        return idx, d, (
            f"d_eff(σ') stays at {d} for {length} consecutive levels (σ' = {sigmas[start + length - 1]:.3g} … "
            f"{sigmas[start]:.3g}); the geometric middle σ' = {sigmas[idx]:.3g} is chosen: wide enough to "
            "spread along the symmetry, narrow enough to stay on it"
        )
    none = (None, 0, "no plateau of the effective dimension d_eff(σ') at an integer between 1 and "
                     f"{num_params - 1}: the samples either fill the box or collapse to the identity, so no "
                     "continuous symmetry was found in this family")
    if samples is None:
        return none
    widths = np.array([np.sqrt(np.clip(np.linalg.eigvalsh(np.cov(x.T).reshape(num_params, num_params)), 0, None))
                       for x in np.asarray(samples)])
    ratio = widths[:, -1] / np.maximum(widths[:, 0], 1e-12)
    ok = (widths[:, -1] >= 0.1) & (ratio >= 10)
    if not ok.any():
        return none
    idx = int(np.argmax(np.where(ok, ratio, -np.inf)))
    return idx, 0, (
        "no clean plateau of d_eff(σ') (a symmetry direction that is only approximately flat, e.g. a "
        f"translation of a finite data range); fallback: σ' = {sigmas[idx]:.3g}, where the sampled maps are most "
        f"elongated (largest/smallest principal width {ratio[idx]:.3g}) — weak evidence"
    )


def sample_group(
    model,
    family: Family,
    rows,
    *,
    key,
    sigma_max: float = 30.0,
    sigma_min: float = 3e-3,
    num_levels: int = 32,
    half_width: float = 1.5,
    guard: float = 0.3,
    num_points: int = 256,
    num_samples: int = 2000,
    num_burnin: int = 500,
    num_chains: int = 2,
    moves: str = "block",
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
) -> GroupSamples:
    """Sample invariant maps of ``family`` under the autoencoder ``model`` at σ' levels, pick σ'.

    Args:
        model: trained autoencoder.
        family: transformation family.
        rows: data points ``[N, k·n]`` (transition pairs); ``num_points`` of them (random) enter ``E``.
        key: PRNG key.
        sigma_max, sigma_min, num_levels: the geometric σ' grid (relative units: ``E`` is divided by
            the data's mean squared norm).
        half_width: the uniform prior box is identity ± ``half_width`` for matrix entries and
            ± ``half_width × RMS(x)`` for translations.
        guard: δ of the invertibility guard.
        num_samples, num_burnin, num_chains, moves: exchange Monte Carlo settings.
        progress: receives the sampler's progress (``physlaw.sampling.Progress``), or None.
        checkpoint: where the exchange run keeps its state (``physlaw.sampling.Checkpoint``, e.g.
            ``physlaw.io.checkpoints.CheckpointFile(path)``; resumed when present), or None.

    Returns:
        :class:`GroupSamples`.
    """
    start = time.perf_counter()
    rows = check_rows(rows, family)
    if not (sigma_max > sigma_min > 0) or num_levels < 4:
        raise InputError(f"need sigma_max > sigma_min > 0 and at least 4 levels; got {sigma_max}, {sigma_min}, "
                         f"{num_levels}")
    k_sub, k_run = jax.random.split(key)
    if rows.shape[0] > num_points:
        idx = np.asarray(jax.random.choice(k_sub, rows.shape[0], (num_points,), replace=False))
        rows = rows[idx]
    rows_j = jnp.asarray(rows, jnp.float32)
    norm2 = jnp.mean(jnp.sum(rows_j**2, axis=-1))
    n_eval = rows.shape[0]
    rms = float(np.sqrt(np.mean(rows.reshape(-1, family.dim) ** 2)))
    is_translation = np.any(family.basis[:, :, -1] != 0, axis=(1,))
    width = np.where(is_translation, half_width * rms, half_width)
    prior = _BoxPrior(family.identity - width, family.identity + width)
    sigmas = np.geomspace(sigma_max, sigma_min, num_levels)
    betas = np.concatenate([[0.0], (sigma_min / sigmas) ** 2])
    arrays, static = eqx.partition(model, eqx.is_array)
    loglik = _likelihood_for(family, static)
    data = {"model": arrays, "rows": rows_j, "norm2": norm2, "scale": jnp.float32(n_eval / (2 * sigma_min**2)),
            "guard": jnp.float32(guard)}
    target = Target(log_prior_fn=prior.log_prob, log_likelihood_fn=loglik,
                    sample_prior_fn=prior.sample, prior_normalised=True, data=data)
    import warnings

    from physlaw.sampling import PhyslawWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PhyslawWarning)  # R-hat over a set of symmetries is not the point here
        res = run(k_run, target, num_samples=num_samples, num_burnin=num_burnin, num_chains=num_chains,
                  betas=betas, moves=moves, keep_all_rungs=True, progress=progress,
                  progress_desc="sampling symmetries", checkpoint=checkpoint)
    samples = np.moveaxis(res.rung_samples, 2, 0)  # [L+1, C, S, P]
    samples = samples[1:].reshape(num_levels, -1, family.num_params)
    ll = np.moveaxis(res.log_likelihood, 2, 0)[1:].reshape(num_levels, -1)
    scale = n_eval / (2 * sigma_min**2)
    energies = -ll / scale
    mean_e = energies.mean(axis=1)
    ll0 = float(loglik({"theta": jnp.asarray(family.identity, jnp.float32)}, data))
    e_id = -ll0 / scale
    # E_0 from the thinnest level, where the samples sit in the harmonic well of the best maps:
    # ⟨E⟩(σ'_min) = E_0 + P σ'_min² / N (a minimum over samples would be biased low by extreme values)
    e0 = float(mean_e[-1] - family.num_params * sigmas[-1] ** 2 / n_eval)
    d_eff = family.num_params - n_eval * (mean_e - e0) / sigmas**2
    chosen, dim, reason = select_sigma(sigmas, d_eff, family.num_params, samples=samples)
    diag = res.diagnostics
    sampler = {  # along the run's ladder: the prior rung (σ' = ∞) first, then the levels from sigma_max down
        "swap_rate_per_pair": list(diag.swap_rate_per_pair),
        "round_trips_per_chain": list(diag.round_trips_per_chain),
        "round_trip_rate": diag.round_trip_rate,
        "acceptance_per_replica": list(diag.acceptance_per_replica),
        "communication_barrier": diag.communication_barrier,
    }
    return GroupSamples(
        family=family, sigmas=sigmas, samples=samples, energies=energies, mean_energy=mean_e,
        energy_identity=e_id, effective_dim=d_eff, chosen=chosen, dimension=dim, reason=reason,
        num_points=n_eval,
        diagnostics={
            "seconds": round(time.perf_counter() - start, 2),
            **sampler,
            "num_samples": num_samples, "num_burnin": num_burnin, "num_chains": num_chains,
        },
    )
