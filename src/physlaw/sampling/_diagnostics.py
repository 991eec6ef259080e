"""Diagnostics of an exchange Monte Carlo run: are the replicas mixing, do the chains agree?"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Diagnostics:
    """How well an exchange Monte Carlo run mixed (``ExchangeResult.diagnostics``).

    Per-rung and per-pair quantities run along the final ladder, β = 0 first.

    Attributes:
        num_sweeps: sweeps of the sampling phase (per chain, burn-in excluded).
        num_chains: C, the independent chains.
        betas: ``(L,)`` the final ladder.
        acceptance_per_replica: ``(L,)`` mean acceptance of coordinate updates at each rung.
        acceptance_per_parameter_at_beta1: ``{name: acceptance}`` at β = 1.
        swap_rate_per_pair: ``(L − 1,)`` accepted / tried exchanges between neighbouring rungs.
        round_trips_per_chain: ``(C,)`` completed β = 0 → 1 → 0 round trips of each chain.
        round_trip_rate: mean round trips per chain per sweep.
        communication_barrier: Λ = Σ (1 − mean exchange acceptance probability) over the pairs.
        rhat: ``{name: R-hat}`` (NaN when there are too few chains or draws).
        ess: ``{name: bulk ESS}``.
        block_acceptance_per_replica: ``(L,)`` acceptance of block moves, or None without them.
        prior_check: the prior normalisation check (``{"skipped": True}`` for normalised priors).
        labelling: how R-hat and ESS were computed when the model relabels (``relabel_fn``), else None.
        free_energy_estimators: F by each estimator; ``free_energy_estimator_errs``: their errors.
        precision: the requested standard error of F in nat (``run(precision=...)``), or None.
        precision_reached: the standard error of F the run reached (nat).
        precision_met: whether ``precision_reached <= precision`` (None without a request).
        stop_reason: why sampling ended: "fixed length", "precision reached", "maximum length" or
            "stopped early" (``run(stop_early=...)``).
        num_sweeps_kept: sweeps per chain the free energy and the samples come from.
    """

    num_sweeps: int
    num_chains: int
    betas: tuple[float, ...]
    acceptance_per_replica: tuple[float, ...]
    acceptance_per_parameter_at_beta1: dict[str, float]
    swap_rate_per_pair: tuple[float, ...]
    round_trips_per_chain: tuple[int, ...]
    round_trip_rate: float
    communication_barrier: float
    rhat: dict[str, float]
    ess: dict[str, float]
    block_acceptance_per_replica: tuple[float, ...] | None = None
    prior_check: dict = field(default_factory=dict)
    labelling: str | None = None
    free_energy_estimators: dict[str, float] = field(default_factory=dict)
    free_energy_estimator_errs: dict[str, float] = field(default_factory=dict)
    precision: float | None = None
    precision_reached: float | None = None
    precision_met: bool | None = None
    stop_reason: str | None = None
    num_sweeps_kept: int | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict (lists for tuples; absent optional entries left out), for summary files."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name == "labelling":
                out["diagnostics_labelling"] = value
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def _split(x: np.ndarray) -> np.ndarray:
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties (repeated Metropolis states) given their average rank."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    counts = np.bincount(group)
    ranks = np.empty(values.size)
    ranks[order] = (starts + (counts - 1) / 2.0 + 1.0)[group]
    return ranks


def _rank_normal(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    r = _average_ranks(x.ravel()).reshape(x.shape)
    return ndtri((r - 0.375) / (x.size + 0.25))


def _rhat(x: np.ndarray) -> float:
    n = x.shape[1]
    w = x.var(axis=1, ddof=1).mean()
    b_over_n = x.mean(axis=1).var(ddof=1)
    return float(np.sqrt(((n - 1) / n * w + b_over_n) / w))


def _ess(x: np.ndarray) -> float:
    m, n = x.shape
    centred = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(centred, size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), size, axis=1)[:, :n] / n
    w = x.var(axis=1, ddof=1).mean()
    var_plus = (n - 1) / n * w + x.mean(axis=1).var(ddof=1)
    rho = 1.0 - (w - acov.mean(axis=0) * n / (n - 1)) / var_plus
    rho[0] = 1.0
    # Geyer's initial positive sequence of pair sums, made monotone
    pairs = rho[: (n // 2) * 2].reshape(-1, 2).sum(axis=1)
    positive = np.flatnonzero(pairs <= 0)
    pairs = pairs[: positive[0]] if positive.size else pairs
    pairs = np.minimum.accumulate(pairs)
    tau = max(-1.0 + 2.0 * pairs.sum(), 1.0 / np.log10(m * n))
    return float(m * n / tau)


def rhat_and_ess(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank-normalised split R-hat (max of bulk and folded) and bulk ESS of every coordinate.

    Vehtari, Gelman, Simpson, Carpenter & Bürkner, Bayesian Analysis 16, 667 (2021); the same
    definitions as ArviZ's ``rhat`` and ``ess`` (a test compares them), without importing ArviZ.

    Args:
        samples: [C, S, d] draws of C chains.
    """
    rhat, ess = [], []
    for j in range(samples.shape[-1]):
        x = _split(np.asarray(samples[..., j], dtype=np.float64))
        if np.ptp(x) == 0:
            rhat.append(np.nan)
            ess.append(np.nan)
            continue
        z = _rank_normal(x)
        folded = _rank_normal(np.abs(x - np.median(x)))
        rhat.append(max(_rhat(z), _rhat(folded)))
        ess.append(_ess(z))
    return np.array(rhat), np.array(ess)


def summarise(
    *,
    betas: np.ndarray,
    accept: np.ndarray,
    accept_block: np.ndarray | None,
    swap_tried: np.ndarray,
    swap_accepted: np.ndarray,
    swap_prob: np.ndarray,
    round_trips: np.ndarray,
    num_sweeps: int,
    samples: np.ndarray,
    names: tuple[str, ...],
) -> tuple[Diagnostics, list[str]]:
    """Diagnostics and warnings (the driver adds the prior check and the free-energy estimators).

    Args:
        accept: [C, L, d] mean acceptance of coordinate updates per chain, rung and coordinate.
        accept_block: [C, L] mean block acceptance, or None.
        swap_tried, swap_accepted: [C, L−1] counts.
        swap_prob: [C, L−1] mean exchange acceptance probability.
        round_trips: [C] completed round trips per chain.
        samples: [C, S, d] β = 1 samples.
    """
    swap_rate = swap_accepted.sum(0) / np.maximum(swap_tried.sum(0), 1)
    rejection = 1.0 - swap_prob.mean(0)
    rhat, ess = rhat_and_ess(samples) if samples.shape[0] > 1 and samples.shape[1] >= 8 else (
        np.full(len(names), np.nan), np.full(len(names), np.nan))
    diag = Diagnostics(
        num_sweeps=int(num_sweeps),
        num_chains=int(samples.shape[0]),
        betas=tuple(float(b) for b in betas),
        acceptance_per_replica=tuple(accept.mean(axis=(0, 2)).tolist()),
        acceptance_per_parameter_at_beta1=dict(zip(names, accept[:, -1, :].mean(0).tolist())),
        swap_rate_per_pair=tuple(swap_rate.tolist()),
        round_trips_per_chain=tuple(round_trips.astype(int).tolist()),
        round_trip_rate=float(round_trips.mean() / max(num_sweeps, 1)),
        communication_barrier=float(rejection.sum()),
        rhat=dict(zip(names, rhat.tolist())),
        ess=dict(zip(names, ess.tolist())),
        block_acceptance_per_replica=None if accept_block is None else tuple(accept_block.mean(0).tolist()),
    )
    warn = []
    low = np.flatnonzero(swap_rate < 0.02)
    if low.size:
        pairs = ", ".join(f"{i}-{i + 1}" for i in low[:5])
        warn.append(
            f"swap rate near zero between rungs {pairs} (min {swap_rate.min():.3f}): the replicas do not "
            "communicate; use more replicas or let the ladder adapt longer"
        )
    if np.all(round_trips == 0) and num_sweeps >= 1000:
        warn.append("no replica made a round trip between β = 0 and β = 1; free energies may be biased")
    bad = [f"{n} ({r:.3f})" for n, r in zip(names, rhat) if np.isfinite(r) and r > 1.05]
    if bad:
        warn.append(
            "independent chains disagree (R-hat > 1.05): " + ", ".join(bad[:5])
            + "; run longer or use more replicas"
        )
    low_ess = [n for n, e in zip(names, ess) if np.isfinite(e) and e < 100]
    if low_ess:
        warn.append(f"effective sample size below 100 for {', '.join(low_ess[:5])}; run longer")
    return diag, warn
