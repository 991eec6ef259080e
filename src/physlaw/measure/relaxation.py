"""NMR relaxation mode decomposition (Ueda et al., JPSJ 92, 054002 (2023)).

    m(t) = Σ_{k=1..K} A_k exp(−(W_k t)^{β_k}) + C + ε,    ε ~ N(0, σ²)

with W_k = 1/T1_k the rates and β_k ∈ (0, 1] stretching exponents. The model set is
K = 1..Kmax × {exponential (β_k = 1), stretched (β_k free)}; the free energy decides whether a
non-exponential curve is *two phases* (two exponentials) or *disorder* (one stretched exponential).

The sampler works in ``τ = t / t_ref`` (t_ref the geometric mean of the smallest positive and the
largest time) and ``v = (m − m̄)/A`` (A half the range of m), with the Jacobian −n log A in the
likelihood (free energies are those of the data in their own units). Priors there:
A_k ~ Normal(0, 2²), C ~ Normal(0, 2²), log W_k ~ Uniform over the rates the times can resolve
(1/(3 t_max) … 3/t_min, times spanning decades), β_k ~ Uniform(0, 1). Modes are exchangeable;
summaries are made on the labelling ordered by rate (fastest first).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.measure.regression import parameter_summary
from physlaw.measure.selection import Candidate, Selection, _check_noise_args, noise_scale_guess, select
from physlaw.priors import JointPrior, Normal, Uniform
from physlaw.sampling import Target

_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


class RelaxationTransform(NamedTuple):
    t_ref: float
    y0: float
    sy: float
    log_w_low: float
    log_w_high: float

    @classmethod
    def from_data(cls, t, y) -> "RelaxationTransform":
        t = np.asarray(t, float)
        pos = t[t > 0]
        t_min, t_max = float(pos.min()), float(t.max())
        t_ref = math.sqrt(t_min * t_max)
        sy = 0.5 * float(np.ptp(y)) or 1.0
        # rates in units of 1/t_ref, rounded to 1e-6 so equal grids share one prior object
        lo, hi = round(math.log(t_ref / (3 * t_max)), 6), round(math.log(3 * t_ref / t_min), 6)
        return cls(t_ref, float(np.mean(y)), sy, lo, hi)


@functools.lru_cache(maxsize=64)
def relaxation_prior(num_components: int, stretched: bool, log_w_low: float, log_w_high: float) -> JointPrior:
    k = (num_components,)
    comps = {"amp": Normal(0.0, 2.0, shape=k), "c": Normal(0.0, 2.0), "log_w": Uniform(log_w_low, log_w_high, shape=k)}
    if stretched:
        comps["beta"] = Uniform(0.0, 1.0, shape=k)
    return JointPrior(comps)


class RelaxationData(NamedTuple):
    t: jnp.ndarray
    y: jnp.ndarray
    sigma: jnp.ndarray
    log_jacobian: jnp.ndarray


def _curve(p, t, xp=jnp):
    w = xp.exp(p["log_w"])
    arg = w[..., :, None] * t
    if "beta" in p:
        arg = arg ** p["beta"][..., :, None]
    return xp.sum(p["amp"][..., :, None] * xp.exp(-arg), axis=-2) + p["c"][..., None]


def _log_likelihood(p, data: RelaxationData):
    r = (data.y - _curve(p, data.t)) / data.sigma
    return -jnp.sum(0.5 * jnp.log(2 * jnp.pi * data.sigma**2)) - 0.5 * jnp.sum(r * r) + data.log_jacobian


def relaxation_target(t, y, sigma, num_components: int, stretched: bool, tr: RelaxationTransform | None = None,
                      dtype=None) -> Target:
    """The relaxation model with K components as an exchange Monte Carlo target."""
    if int(num_components) != num_components or num_components < 1:
        raise InputError(f"the number of components must be a positive integer, got {num_components!r}")
    tr = tr or RelaxationTransform.from_data(t, y)
    dtype = dtype or jnp.result_type(float)
    y = np.asarray(y, float)
    sigma = np.broadcast_to(np.asarray(sigma, float), y.shape)
    data = RelaxationData(jnp.asarray(np.asarray(t, float) / tr.t_ref, dtype), jnp.asarray((y - tr.y0) / tr.sy, dtype),
                          jnp.asarray(sigma / tr.sy, dtype), jnp.asarray(-y.size * math.log(tr.sy), dtype))
    prior = relaxation_prior(int(num_components), bool(stretched), tr.log_w_low, tr.log_w_high)
    return Target.from_prior(prior, _log_likelihood, data=data, relabel_fn=order_by_rate)


MODE_PARAMETERS = ("amp", "log_w", "beta")


def order_by_rate(params: dict) -> dict:
    """The same parameters with the modes relabelled fastest first (decreasing ``log_w``); the
    sampler's R-hat and ESS are computed on this labelling, as the summaries are."""
    order = jnp.argsort(-params["log_w"])
    return {k: (jnp.take(v, order, axis=-1) if k in MODE_PARAMETERS else v) for k, v in params.items()}


def relaxation_model_name(num_components: int, stretched: bool) -> str:
    return f"K{num_components}-{'stretched' if stretched else 'exponential'}"


@dataclass
class RelaxationAnalysis(Selection):
    """``analyse_relaxation``'s result: a ``Selection`` plus the data and the transform."""

    t: np.ndarray = None
    y: np.ndarray = None
    sigma: np.ndarray | None = None
    transform: RelaxationTransform = None
    summaries: dict = field(default_factory=dict)

    def physical(self, name: str | None = None) -> dict:
        """Draws in data units, modes ordered by rate (fastest first): amplitude, T1, rate, (beta) [N, K]; offset [N]."""
        f = self.fit(name or self.selected)
        post = {k: np.asarray(v).reshape(-1, *np.shape(v)[2:]) for k, v in f.result.posterior().items()}
        tr = self.transform
        order = np.argsort(-post["log_w"], axis=1)
        take = lambda v: np.take_along_axis(v, order, axis=1)  # noqa: E731
        rate = np.exp(take(post["log_w"])) / tr.t_ref
        out = {"amplitude": tr.sy * take(post["amp"]), "T1": 1.0 / rate, "rate": rate}
        if "beta" in post:
            out["beta"] = take(post["beta"])
        out["offset"] = tr.y0 + tr.sy * post["c"]
        return out

    def parameter_summaries(self, name: str | None = None) -> dict:
        phys = self.physical(name)
        out = {f"mode {k + 1}": {q: parameter_summary(phys[q][:, k]) for q in ("amplitude", "T1", "beta") if q in phys}
               for k in range(phys["T1"].shape[1])}
        out["offset"] = {"C": parameter_summary(phys["offset"])}
        return out

    def predictive(self, grid=None, *, name: str | None = None, num_draws: int = 400, seed: int = 0) -> dict:
        f = self.fit(name or self.selected)
        pos = self.t[self.t > 0]
        grid = np.geomspace(pos.min(), self.t.max(), 300) if grid is None else np.asarray(grid, float)
        phys = self.physical(f.name)
        rng = np.random.default_rng(seed)
        idx = rng.choice(phys["T1"].shape[0], size=min(num_draws, phys["T1"].shape[0]), replace=False)
        arg = grid[None, None, :] / phys["T1"][idx, :, None]
        if "beta" in phys:
            arg = arg ** phys["beta"][idx, :, None]
        comps = phys["amplitude"][idx, :, None] * np.exp(-arg)
        total = comps.sum(1) + phys["offset"][idx, None]
        noisy = total + rng.normal(0.0, f.noise_sigma, total.shape)
        return {"x": grid, "median": np.median(total, 0), "mean_68": np.quantile(total, [0.16, 0.84], axis=0),
                "mean_95": np.quantile(total, [0.025, 0.975], axis=0),
                "predictive_95": np.quantile(noisy, [0.025, 0.975], axis=0),
                "components": np.median(comps, 0), "background": np.median(phys["offset"][idx]) + 0 * grid}

    def verdict(self) -> str:
        """A sentence: e.g. "two exponential modes, T1 = 1.02 and 29.8 (p = 0.97)"."""
        best = self.best
        k, stretched = best.info["num_components"], best.info["stretched"]
        s = self.parameter_summaries()
        t1 = [s[f"mode {i + 1}"]["T1"]["median"] for i in range(k)]
        t1_text = " and ".join(f"{v:.4g}" for v in t1) if k <= 2 else ", ".join(f"{v:.4g}" for v in t1)
        kind = "stretched exponential" if stretched else "exponential"
        noun = f"{_WORDS.get(k, str(k))} {kind}{' modes' if k > 1 else ''}"
        text = f"{noun}, T1 = {t1_text}"
        if stretched:
            text += ", β = " + " and ".join(f"{s[f'mode {i + 1}']['beta']['median']:.3g}" for i in range(k))
        return f"{text} (p = {best.probability:.3g})"


def analyse_relaxation(t, y, *, sigma=None, estimate_noise: bool = False, kmax: int = 2, key,
                       num_samples: int = 2000, num_burnin=None, num_replicas: int = 32, num_chains: int = 4,
                       checkpoints=None, progress=None) -> RelaxationAnalysis:
    """Select among K = 1..kmax × {exponential, stretched} by the free energy.

    Args:
        t: [n] times (≥ 0, at least one positive); y: [n] magnetisation (any units).
        sigma: known noise (scalar or [n]); or ``estimate_noise=True``.
        key: a ``jax.random`` key.
        checkpoints: ``name -> Checkpoint`` for each run (e.g. ``physlaw.io.checkpoints.CheckpointFolder(dir)``),
            or None; progress: a ``physlaw.sampling.Progress`` or None (as in ``selection.select``).
    """
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    _check_noise_args(sigma, estimate_noise)
    if np.any(t < 0) or not np.any(t > 0):
        raise InputError("relaxation times must be ≥ 0 with at least one positive; check the first column")
    tr = RelaxationTransform.from_data(t, y)
    cands = []
    for k in range(1, kmax + 1):
        for stretched in (False, True):
            cands.append(Candidate(relaxation_model_name(k, stretched), {"num_components": k, "stretched": stretched},
                                   functools.partial(_make, t, y, k, stretched, tr)))
    sel = select(cands, num_points=t.size, sigma=sigma, sigma0=0.5 * noise_scale_guess(y) if estimate_noise else None,
                 key=key, num_samples=num_samples, num_burnin=num_burnin, num_replicas=num_replicas,
                 num_chains=num_chains, checkpoints=checkpoints, progress=progress)
    return RelaxationAnalysis(sel.fits, sel.selected, sel.noise_estimated, sel.warnings, t=t, y=y,
                              sigma=None if sigma is None else np.broadcast_to(np.asarray(sigma, float), t.shape),
                              transform=tr)


def _make(t, y, k, stretched, tr, sigma):
    return relaxation_target(t, y, sigma, k, stretched, tr)


def relaxation_curve(t, amplitude, t1, beta=None, offset=0.0):
    """Σ_k A_k exp(−(t/T1_k)^β_k) + C in NumPy (for simulating data)."""
    t = np.asarray(t, float)[None, :]
    arg = t / np.asarray(t1, float)[:, None]
    if beta is not None:
        arg = arg ** np.asarray(beta, float)[:, None]
    return np.sum(np.asarray(amplitude, float)[:, None] * np.exp(-arg), axis=0) + offset


