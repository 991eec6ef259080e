"""The inverse-temperature ladder 0 = β_0 < β_1 < … < β_{L−1} = 1.

* ``initial_ladder``: β_1 by bisection on prior samples — the largest β at which importance weights
  ``exp(β ℓ(θ))`` over prior draws keep an effective sample size of at least half the draws, so the
  first exchange step is well-conditioned — then geometric up to 1 (the Okada-school recipe).
* ``respace_ladder``: the non-reversible parallel tempering schedule update (Syed, Bouchard-Côté,
  Deligiannidis & Doucet, JRSS-B 84, 321 (2022), Algorithm 4; Pigeons.jl): with rejection rates
  r_l between neighbours, the cumulative barrier Λ(β) is interpolated and the new ladder puts equal
  barrier Λ/(L−1) between every pair of neighbours, i.e. equal swap rejection rates.
"""

from __future__ import annotations

import math

import jax
import numpy as np


def _ess_fraction(log_w: np.ndarray) -> float:
    log_w = log_w - np.max(log_w)
    w = np.exp(log_w)
    return float(np.sum(w) ** 2 / np.sum(w**2) / w.size)


def first_beta(prior_loglik: np.ndarray, *, min_ess: float = 0.5, lowest: float = 1e-12,
               extreme: float = 1e-200) -> float:
    """Largest β in [lowest, 1] with ESS(exp(β ℓ)) ≥ min_ess · N over prior draws, by bisection in log β;
    below ``lowest`` (down to ``extreme``) only when even β = lowest leaves too few: data so precise that
    the prior draws' log-likelihoods spread over 10¹² nat and more (NIST Lanczos1 at its own noise 9e-14:
    10²⁵ nat, β_1 ≈ 1e-25; with β_1 = 1e-12 the lowest rungs never exchanged and F came out ± 10¹²)."""
    ll = np.asarray(prior_loglik, dtype=np.float64)
    ll = ll[np.isfinite(ll)]
    if ll.size < 2:
        return lowest
    if _ess_fraction(ll) >= min_ess:
        return 1.0
    lo, hi = math.log(lowest), 0.0
    if _ess_fraction(lowest * ll) < min_ess:
        if _ess_fraction(extreme * ll) < min_ess:
            return extreme
        lo, hi = math.log(extreme), math.log(lowest)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _ess_fraction(math.exp(mid) * ll) >= min_ess:
            lo = mid
        else:
            hi = mid
    return math.exp(lo)


def initial_ladder(target, key: jax.Array, num_rungs: int, num_prior_samples: int = 4096) -> np.ndarray:
    """β_0 = 0, β_1 by bisection on prior samples, then geometric to β_{L−1} = 1."""
    if num_rungs < 2:
        raise ValueError("an exchange ladder needs at least 2 rungs")
    from physlaw.sampling._target import batched

    fns = batched(target)
    ll = np.asarray(fns.log_likelihood(fns.sample_prior(key, num_prior_samples), target.data), dtype=np.float64)
    beta1 = first_beta(ll)
    if num_rungs == 2:
        return np.array([0.0, 1.0])
    beta1 = min(beta1, 1.0 / (num_rungs - 1))
    rest = np.geomspace(beta1, 1.0, num_rungs - 1)
    rest[-1] = 1.0
    return np.concatenate([[0.0], rest])


def _to_t(betas: np.ndarray) -> np.ndarray:
    """Map β to a coordinate linear in β on [0, β_1] and in log β above β_1."""
    b1 = betas[1]
    return np.where(betas <= b1, betas / b1, 1.0 + np.log(np.maximum(betas, b1) / b1))


def _from_t(t: np.ndarray, b1: float) -> np.ndarray:
    return np.where(t <= 1.0, t * b1, b1 * np.exp(t - 1.0))


def respace_ladder(betas: np.ndarray, rejection: np.ndarray, *, floor: float = 1e-4) -> np.ndarray:
    """New ladder with equal rejection rates between neighbours (Syed et al. 2022).

    Args:
        betas: [L] current ladder.
        rejection: [L−1] mean rejection rate ``1 − E[min(1, e^{log r})]`` of each neighbour pair.
        floor: smallest rejection counted per pair (keeps Λ strictly increasing).

    Returns:
        [L] the new ladder, with β_0 = 0 and β_{L−1} = 1.
    """
    return rescaled_ladder(betas, rejection, 1.0, floor=floor)[0]


def communication_barrier(rejection: np.ndarray) -> float:
    """Global communication barrier Λ ≈ Σ_l r_l (Syed et al. 2022)."""
    return float(np.sum(rejection))


def rescaled_ladder(betas: np.ndarray, rejection: np.ndarray, power: float, *, floor: float = 1e-4
                    ) -> tuple[np.ndarray, np.ndarray, float]:
    """A ladder for a likelihood that is this one's raised to ``1 / power`` (0 < power ≤ 1), from this
    ladder's measured rejection rates.

    Rung β' of the new problem is rung β = power · β' of this one (the same tempered distribution), so
    the new ladder spans β ∈ [0, power] here. Its L rungs put equal barrier between neighbours (the
    cumulative barrier Λ(β) interpolated linearly in β below β_1 and in log β above) and are returned
    divided by ``power``; ``power = 1`` is ``respace_ladder``.

    Returns:
        ``(new_betas, old_betas, rejection)``: [L] the new ladder (0 … 1), [L] the rungs of this problem
        it corresponds to (``power · new_betas``) and the rejection rate expected between its neighbours.
    """
    betas = np.asarray(betas, dtype=np.float64)
    if not 0.0 < power <= 1.0:
        raise ValueError(f"power must lie in (0, 1], got {power!r}")
    r = np.maximum(np.asarray(rejection, dtype=np.float64), floor)
    cum = np.concatenate([[0.0], np.cumsum(r)])
    t = _to_t(betas)
    b1 = betas[1]
    top = cum[-1] if power == 1.0 else float(np.interp(power / b1 if power <= b1 else 1.0 + math.log(power / b1),
                                                       t, cum))
    t_new = np.interp(np.linspace(0.0, top, betas.size), cum, t)
    old = _from_t(t_new, b1)
    old[0], old[-1] = 0.0, power
    for i in range(1, old.size):   # keep strictly increasing where the interpolation repeats a rung
        if old[i] <= old[i - 1]:
            old[i] = np.nextafter(old[i - 1], 2.0)
    new = old / power
    new[-1] = 1.0
    return new, old, top / (betas.size - 1)
