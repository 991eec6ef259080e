"""Model selection by the Bayesian free energy, with the noise estimated over the ladder.

``select`` runs the exchange Monte Carlo engine for each candidate model, optionally estimating the
noise level first (Tokuda, Nagata & Okada, JPSJ 86, 024001 (2017): one run at a small reference σ_0
gives F(σ) on the whole ladder; σ̂ minimises it), and returns F(m) ± error and p(m | D) ∝ exp(−F(m)).
With the noise estimated, F(m) = F(m, σ̂_m), the free energy at each model's own noise estimate
(the maximum of p(D | m, σ) over σ), from a second run at σ̂_m.

``deconvolve`` is the spectrum scan over K = 1..Kmax (and line shapes / backgrounds when asked),
with posterior summaries on the labelling ordered by peak centre, the posterior predictive band and
each peak's component.

Example:
    >>> import jax
    >>> from physlaw.measure.spectrum import nagata_data
    >>> from physlaw.measure.selection import deconvolve
    >>> x, y, _ = nagata_data(0)
    >>> res = deconvolve(x, y, kmax=4, estimate_noise=True, key=jax.random.key(0))  # doctest: +SKIP
    >>> res.selected, res.noise_sigma  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import jax
import numpy as np

from physlaw.errors import InputError
from physlaw.measure import spectrum as sp
from physlaw.measure.noise import noise_curve
from physlaw.measure.regression import ModelFit, fit_by_name, model_probabilities, parameter_summary
from physlaw.sampling import CheckpointFactory, Progress, Target, run


@dataclass(frozen=True)
class Candidate:
    """One model of a selection: a name, a JSON-ready description and ``sigma -> Target``."""

    name: str
    info: dict
    make_target: Callable[[object], Target]


@dataclass
class CandidateFit(ModelFit):
    """A candidate's run (``ModelFit``) and its description."""

    info: dict = field(default_factory=dict)


@dataclass
class Selection:
    """Every candidate's fit, the selected one and the warnings of all runs."""

    fits: list[CandidateFit]
    selected: str
    noise_estimated: bool
    warnings: list[str] = field(default_factory=list)

    def fit(self, name: str) -> CandidateFit:
        """The fit of the candidate called ``name``.

        Raises:
            InputError: no candidate has that name (the message lists the names there are).
        """
        return fit_by_name(self.fits, name)

    @property
    def best(self) -> CandidateFit:
        return self.fit(self.selected)

    @property
    def noise_sigma(self) -> float:
        return self.best.noise_sigma


def noise_scale_guess(y) -> float:
    """A rough noise scale from second differences (1.4826 MAD / √6), robust to smooth signals."""
    d2 = np.diff(np.asarray(y, float), 2)
    if d2.size < 3:
        return float(np.std(y)) or 1.0
    s = 1.4826 * np.median(np.abs(d2 - np.median(d2))) / np.sqrt(6.0)
    return float(s) if s > 0 else float(np.std(y)) or 1.0


def select(
    candidates: list[Candidate],
    *,
    num_points: int,
    sigma=None,
    sigma0: float | None = None,
    key: jax.Array,
    num_samples: int = 2000,
    num_burnin: int | None = None,
    num_replicas: int = 32,
    num_chains: int = 4,
    checkpoints: CheckpointFactory | None = None,
    progress: Progress | None = None,
) -> Selection:
    """Run every candidate and select by the free energy.

    Args:
        candidates: the models.
        num_points: n, the number of data points (for F(σ)).
        sigma: the known noise (scalar or [n]); None estimates it over the ladder from a pilot run
            at the reference noise ``sigma0`` (default: half the second-difference noise scale).
        key: a ``jax.random`` key.
        checkpoints: ``name -> Checkpoint`` for each run (e.g. ``physlaw.io.checkpoints.CheckpointFolder(dir)``;
            runs named ``<candidate>`` and ``<candidate>-noise<i>``), resumed when present; None for none.
        progress: receives each run's progress (``physlaw.sampling.Progress``), or None.

    Returns:
        A ``Selection`` (probabilities with equal prior odds on the candidates).
    """
    if not candidates:
        raise InputError("no candidate models to select from")
    if sigma is not None and np.any(np.asarray(sigma) <= 0):
        raise InputError(f"the noise sigma must be positive, got {np.min(sigma)}")
    if sigma is None and not (sigma0 is not None and sigma0 > 0):
        raise InputError("estimating the noise needs a positive reference noise sigma0")
    settings = dict(num_samples=num_samples, num_burnin=num_burnin, num_replicas=num_replicas,
                    num_chains=num_chains, progress=progress)

    def ckpt(name):
        return None if checkpoints is None else checkpoints(name)

    fits = []
    for i, cand in enumerate(candidates):
        k_pilot, k_final = jax.random.split(jax.random.fold_in(key, i))
        curve = None
        if sigma is None:
            s0 = float(sigma0)
            for attempt in range(3):
                pilot = run(jax.random.fold_in(k_pilot, attempt), cand.make_target(s0),
                            checkpoint=ckpt(f"{cand.name}-noise{attempt}"),
                            progress_desc=f"{cand.name}: noise", **settings)
                curve = noise_curve(pilot.free_energy, s0, num_points)
                if curve.sigma_hat > 1.05 * s0:  # the minimum lies inside the ladder's σ grid
                    break
                s0 /= 4.0
            noise = curve.sigma_hat
        else:
            noise = sigma
        res = run(k_final, cand.make_target(noise), checkpoint=ckpt(cand.name), progress_desc=cand.name, **settings)
        fits.append(CandidateFit(cand.name, res, float(np.mean(noise)), curve, info=dict(cand.info)))
    p, perr = model_probabilities([f.free_energy for f in fits], [f.free_energy_err for f in fits])
    for f, pi, ei in zip(fits, p, perr):
        f.probability, f.probability_err = float(pi), float(ei)
    selected = fits[int(np.argmax(p))].name
    warnings = [f"{f.name}: {w}" for f in fits for w in f.result.warnings]
    return Selection(fits, selected, sigma is None, warnings)


# ----------------------------------------------------------------------------------------------
# Spectra


def spectrum_model_name(num_peaks: int, shape: str, background: str) -> str:
    return f"K{num_peaks}-{shape}-{background}"


@dataclass
class SpectrumAnalysis(Selection):
    """``deconvolve``'s result: a ``Selection`` plus the data and their transform to sampler units."""

    x: np.ndarray = None
    y: np.ndarray = None
    sigma: np.ndarray | None = None
    transforms: dict = field(default_factory=dict)

    def physical(self, name: str | None = None) -> dict:
        """Posterior draws of a model (default: the selected one) in data units, ordered by centre."""
        f = self.fit(name or self.selected)
        post = {k: np.asarray(v).reshape(-1, *np.shape(v)[2:]) for k, v in f.result.posterior().items()}
        return sp.physical_samples(post, self.transforms[f.name], f.info["shape"], f.info["background"])

    def parameter_summaries(self, name: str | None = None) -> dict:
        """``{"peak 1": {"centre": summary, ...}, ..., "background": {...}}``; peaks ordered by centre."""
        phys = self.physical(name)
        out = {}
        for k in range(phys["centre"].shape[1]):
            out[f"peak {k + 1}"] = {q: parameter_summary(phys[q][:, k])
                                    for q in ("centre", "amplitude", "fwhm", "area", "eta") if q in phys}
        bg = {q: parameter_summary(v) for q, v in phys.items() if q.startswith("background")}
        if bg:
            out["background"] = bg
        return out

    def predictive(self, grid=None, *, name: str | None = None, num_draws: int = 400, seed: int = 0) -> dict:
        """Posterior predictive on ``grid`` (default 400 points over the data's range).

        Returns:
            ``{"x", "median", "mean_95": [2, m], "mean_68", "predictive_95": [2, m],
            "components": [K, m] (median of each ordered peak), "background": [m]}``.
        """
        f = self.fit(name or self.selected)
        grid = np.linspace(self.x.min(), self.x.max(), 400) if grid is None else np.asarray(grid, float)
        return predictive_bands(self.physical(f.name), grid, f.info["shape"], f.info["background"],
                                self.transforms[f.name], f.noise_sigma, num_draws, seed)

    def probability_at_least(self, num_peaks: int) -> float:
        """p(K ≥ num_peaks | D), summed over shapes and backgrounds."""
        return float(sum(f.probability for f in self.fits if f.info["num_peaks"] >= num_peaks))

    def peak_number_probabilities(self) -> dict[int, float]:
        """p(K | D) summed over the line shapes and backgrounds of the scan."""
        out: dict[int, float] = {}
        for f in self.fits:
            out[f.info["num_peaks"]] = out.get(f.info["num_peaks"], 0.0) + f.probability
        return dict(sorted(out.items()))


def predictive_bands(phys: dict, grid, shape: str, background: str, tr, noise_sigma: float,
                     num_draws: int = 400, seed: int = 0) -> dict:
    """Median, 68/95 % bands of the mean, 95 % predictive band and median components on ``grid``
    from posterior draws in data units (``spectrum.physical_samples``)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(phys["centre"].shape[0], size=min(num_draws, phys["centre"].shape[0]), replace=False)
    sub = {k: v[idx] for k, v in phys.items()}
    comps, bg = sp.model_curves(sub, grid, shape, background, tr)
    total = comps.sum(1) + bg
    noisy = total + rng.normal(0.0, noise_sigma, total.shape)
    return {
        "x": grid,
        "median": np.median(total, 0),
        "mean_68": np.quantile(total, [0.16, 0.84], axis=0),
        "mean_95": np.quantile(total, [0.025, 0.975], axis=0),
        "predictive_95": np.quantile(noisy, [0.025, 0.975], axis=0),
        "components": np.median(comps, 0),
        "background": np.median(bg, 0),
    }


def deconvolve(
    x,
    y,
    *,
    sigma=None,
    estimate_noise: bool = False,
    kmax: int = 4,
    kmin: int = 1,
    shapes=("gauss",),
    backgrounds=("none",),
    priors="auto",
    prior_overrides: dict | None = None,
    key: jax.Array,
    num_samples: int = 2000,
    num_burnin: int | None = None,
    num_replicas: int = 32,
    num_chains: int = 4,
    checkpoints: CheckpointFactory | None = None,
    progress: Progress | None = None,
) -> SpectrumAnalysis:
    """Spectral deconvolution with model selection over K = kmin..kmax × shapes × backgrounds.

    Args:
        x, y: [n] the spectrum.
        sigma: known noise (scalar or [n]); or ``estimate_noise=True``.
        priors: ``"auto"`` (the reference priors rescaled to the data's ranges) or ``"nagata"``.
        prior_overrides: from ``physlaw.io.priors.load_prior_toml`` (data units).
        key: a ``jax.random`` key.
        checkpoints, progress: as in :func:`select`.

    Returns:
        A ``SpectrumAnalysis``.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    _check_noise_args(sigma, estimate_noise)
    if not (1 <= kmin <= kmax):
        raise InputError(f"need 1 ≤ kmin ≤ kmax, got kmin={kmin}, kmax={kmax}")
    candidates, transforms = [], {}
    for shape in shapes:
        for bg in backgrounds:
            for k in range(kmin, kmax + 1):
                sp.check_model(k, shape, bg)
                name = spectrum_model_name(k, shape, bg)
                transforms[name] = sp.model_transform(x, y, priors, bg)
                candidates.append(Candidate(name, {"num_peaks": k, "shape": shape, "background": bg},
                                            _spectrum_maker(x, y, k, shape, bg, transforms[name], prior_overrides)))
    sel = select(candidates, num_points=x.size, sigma=sigma,
                 sigma0=0.5 * noise_scale_guess(y) if estimate_noise else None, key=key, num_samples=num_samples,
                 num_burnin=num_burnin, num_replicas=num_replicas, num_chains=num_chains,
                 checkpoints=checkpoints, progress=progress)
    return SpectrumAnalysis(sel.fits, sel.selected, sel.noise_estimated, sel.warnings, x=x, y=y,
                            sigma=None if sigma is None else np.broadcast_to(np.asarray(sigma, float), x.shape),
                            transforms=transforms)


def _check_noise_args(sigma, estimate_noise):
    if estimate_noise and sigma is not None:
        raise InputError("give either a noise level (sigma) or estimate_noise, not both")
    if not estimate_noise and sigma is None:
        raise InputError("no noise level: give sigma (a number or a per-point column) or ask to estimate it")


def _spectrum_maker(x, y, k, shape, bg, tr, overrides):
    def make(sigma):
        return sp.spectrum_target(x, y, sigma, k, shape=shape, background=bg, priors=tr, prior_overrides=overrides)

    return make
