"""Bayesian polynomial regression with model selection: ``ax``, ``ax+b``, ``poly2`` … ``poly5``.

``regress`` is the ``physlaw regress`` preset of the one measurement pipeline: it builds one
``selection.Candidate`` per model (``physlaw.measure.linear``: design matrices, data-scaled priors,
exact closed forms) and runs ``selection.select``, which estimates the noise over the temperature
ladder when no σ is given (Tokuda et al. 2017) and returns F(m) ± error and p(m | D). The result is
a ``Regression`` (a ``Selection`` with the data, monomial coefficients, bands and a verdict).
"""

from __future__ import annotations

import jax
import numpy as np

from physlaw.errors import InputError
from physlaw.measure import linear
from physlaw.measure.linear import LABELS, Basis, coefficient_names, design_matrix, monomial_map
# the result helpers every selection shares, re-exported here for older imports
from physlaw.measure.selection import (  # noqa: F401
    ModelFit, Selection, evidence_words, fit_by_name, model_probabilities, parameter_summary, select,
)
from physlaw.sampling import CheckpointFactory, Progress


def regress(
    x,
    y,
    *,
    sigma=None,
    models=None,
    estimate_noise: bool | None = None,
    prior_scale=None,
    relative_scale: float = 10.0,
    key: jax.Array,
    num_samples: int = 5000,
    num_burnin: int | None = None,
    num_replicas: int = 32,
    num_chains: int = 4,
    checkpoints: CheckpointFactory | None = None,
    progress: Progress | None = None,
    precision: float | None = None,
):
    """Fit each polynomial model by exchange Monte Carlo and select by the Bayesian free energy.

    Args:
        x, y: [n] the measurement.
        sigma: the noise standard deviation, a scalar or [n] per point; None (the default)
            estimates it per model as the minimum of F(σ) over the ladder of a pilot run.
        models: names from ``linear.MODELS`` (default ``linear.DEFAULT_MODELS``: ax, ax+b, poly2, poly3).
        estimate_noise: kept for the older interface: True is the same as ``sigma=None`` (and is
            refused together with a sigma); False or None change nothing.
        prior_scale: None for the data-scaled default priors (``linear.prior_scales`` with
            ``relative_scale`` s: e.g. Legendre coefficients ~ N(0, (s max|y|)²)), or an absolute S:
            every coefficient N(0, S²) in its model's basis.
        key: a ``jax.random`` key.
        checkpoints: ``name -> Checkpoint`` for each run (runs named ``<model>`` and ``<model>-noise<i>``).
        progress: receives each run's progress (``physlaw.sampling.Progress``), or None.
        precision: sample until each F's error is below this many nat (None: ``num_samples`` sweeps).

    Returns:
        A ``Regression``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if estimate_noise and sigma is not None:
        raise InputError("give either a noise level (sigma) or estimate_noise, not both")
    if sigma is not None and np.any(np.asarray(sigma) <= 0):
        raise InputError(f"sigma must be positive, got {np.min(sigma)}")
    models = linear.DEFAULT_MODELS if models is None else tuple(models)
    for m in models:
        if m not in linear.MODELS:
            raise InputError(f"unknown model {m!r}; choose from {', '.join(linear.MODELS)}")
    too_big = [m for m in models if len(linear.coefficient_names(m)) >= x.size]
    if too_big:
        raise InputError(f"{x.size} points cannot fit {', '.join(too_big)} (as many coefficients as points "
                         "or more); give more points or choose smaller models")
    sigma0 = None
    if sigma is None:
        # the smallest residual scale any model leaves, a quarter of it: the ladder's σ grid then
        # reaches from below the best model's noise to well above the worst's
        floor = 1e-12 * max(float(np.ptp(y)), float(np.max(np.abs(y))), 1e-280)
        sigma0 = 0.25 * max(min(linear.least_squares_rms(x, y, m) for m in models), floor)
    sel = select(linear.candidates(x, y, models, prior_scale, relative_scale), num_points=x.size, sigma=sigma, sigma0=sigma0,
                 key=key, num_samples=num_samples, num_burnin=num_burnin, num_replicas=num_replicas,
                 num_chains=num_chains, checkpoints=checkpoints, progress=progress, precision=precision)
    per_point = None if sigma is None else np.broadcast_to(np.asarray(sigma, float), x.shape).copy()
    return Regression(x, y, per_point, sel.fits, sel.selected, sel.warnings,
                      noise_estimated=sel.noise_estimated, basis=Basis.from_data(x))


class Regression(Selection):
    """``regress``'s result: a ``selection.Selection`` of polynomial models plus the data.

    Attributes (besides the ``Selection`` ones): ``x``, ``y``, ``sigma`` (per point, or None when
    estimated), ``basis``, ``likelihood`` ("gaussian"), ``plot_style``.
    """

    likelihood = "gaussian"
    plot_style = {"xlabel": "x", "ylabel": "y", "xscale": "linear", "component_label": "term"}

    def __init__(self, x, y, sigma, fits, selected, warnings=None, *, noise_estimated: bool = False,
                 basis: Basis | None = None):
        super().__init__(list(fits), selected, noise_estimated, list(warnings or []))
        self.x = np.asarray(x, float)
        self.y = np.asarray(y, float)
        self.sigma = sigma
        self.basis = basis or (Basis.from_data(self.x) if self.x.size else Basis(0.0, 1.0))

    def coefficients(self, name: str | None = None) -> np.ndarray:
        """Posterior draws [N, d+1] of the monomial coefficients c_0 … c_d (y = Σ c_k x^k)."""
        f = self.fit(name or self.selected)
        flat = np.asarray(f.result.samples).reshape(-1, f.result.samples.shape[-1])
        order = [f.result.names.index(n) for n in coefficient_names(f.name)]
        return flat[:, order] @ monomial_map(f.name, self.basis).T

    def marginals(self, name: str | None = None) -> dict[str, np.ndarray]:
        """label → 1-D draws: ``a``, ``b`` for the straight lines, ``c0`` … ``cd`` (of x^k) for polynomials."""
        f = self.fit(name or self.selected)
        c = self.coefficients(f.name)
        if f.name == "ax":
            return {"a": c[:, 1]}
        if f.name == "ax+b":
            return {"a": c[:, 1], "b": c[:, 0]}
        return {f"c{k}": c[:, k] for k in range(c.shape[1])}

    def parameter_summaries(self, name: str | None = None) -> dict:
        """``{"coefficients": {label: summary}}`` (see :meth:`marginals`; c_k multiplies x^k)."""
        return {"coefficients": {k: parameter_summary(v) for k, v in self.marginals(name).items()}}

    def predictive(self, grid=None, *, name: str | None = None, num_draws: int = 400, seed: int = 0) -> dict:
        """Median, 68/95 % bands of the mean and the 95 % predictive band on ``grid`` (default 200 points)."""
        f = self.fit(name or self.selected)
        grid = np.linspace(self.x.min(), self.x.max(), 200) if grid is None else np.asarray(grid, float)
        flat = np.asarray(f.result.samples).reshape(-1, f.result.samples.shape[-1])
        rng = np.random.default_rng(seed)
        idx = rng.choice(flat.shape[0], size=min(num_draws, flat.shape[0]), replace=False)
        order = [f.result.names.index(n) for n in coefficient_names(f.name)]
        mean = flat[idx][:, order] @ design_matrix(grid, f.name, self.basis).T
        noisy = mean + rng.normal(0.0, f.noise_sigma, mean.shape)
        return {"x": grid, "median": np.median(mean, 0), "mean_68": np.quantile(mean, [0.16, 0.84], axis=0),
                "mean_95": np.quantile(mean, [0.025, 0.975], axis=0),
                "predictive_95": np.quantile(noisy, [0.025, 0.975], axis=0),
                "components": np.zeros((0, grid.size)), "background": np.zeros(grid.size)}   # no components

    def verdict(self) -> str:
        """One sentence: the selected model, how sure (p, ΔF to the runner-up) and the noise."""
        best = self.best
        others = [f for f in self.fits if f.name != best.name]
        text = f"{LABELS[best.name]} ({best.name}) selected, p = {best.probability:.3g}"
        if others:
            second = min(others, key=lambda f: f.free_energy)
            text += "; " + evidence_words(best, second, second.name)
        kind = "estimated" if self.noise_estimated else "given"
        return f"{text}; noise σ = {self.noise_sigma:.4g} ({kind}){self.caveat()}"
