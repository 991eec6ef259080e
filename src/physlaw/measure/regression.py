"""Bayesian linear regression with model selection: ``y = a x`` versus ``y = a x + b``.

``regress`` runs the exchange Monte Carlo engine for each model, optionally estimates the noise by
the free energy over the ladder (``physlaw.measure.noise``), and returns free energies, posterior
model probabilities, parameter summaries and diagnostics. It is the library call behind
``physlaw regress``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import numpy as np

from physlaw.errors import InputError
from physlaw.measure.linear import DEFAULT_PRIOR_SCALE, MODELS, design_matrix, linear_target
from physlaw.measure.noise import NoiseCurve, noise_curve
from physlaw.sampling import CheckpointFactory, ExchangeResult, Progress, run


@dataclass
class ModelFit:
    """One model's result."""

    name: str
    result: ExchangeResult
    noise_sigma: float
    noise: NoiseCurve | None = None
    probability: float = float("nan")
    probability_err: float = float("nan")

    @property
    def free_energy(self) -> float:
        return self.result.free_energy.free_energy

    @property
    def free_energy_err(self) -> float:
        return self.result.free_energy.free_energy_err


@dataclass
class Regression:
    """Results of ``regress`` for every model, and the selected one."""

    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray | None
    fits: list[ModelFit]
    selected: str
    warnings: list[str] = field(default_factory=list)

    def fit(self, name: str) -> ModelFit:
        """The fit of the model called ``name``.

        Raises:
            InputError: no model has that name (the message lists the names there are).
        """
        return fit_by_name(self.fits, name)


def fit_by_name(fits, name: str):
    """The fit called ``name`` among ``fits``; an ``InputError`` listing the names there are otherwise."""
    for f in fits:
        if f.name == name:
            return f
    raise InputError(f"no model named {name!r}; the models are {', '.join(f.name for f in fits)}")


def parameter_summary(samples: np.ndarray) -> dict:
    """Median, mean, sd, 68 % and 95 % central intervals of 1-D samples."""
    q = np.quantile(samples, [0.025, 0.16, 0.5, 0.84, 0.975])
    return {
        "median": float(q[2]),
        "mean": float(np.mean(samples)),
        "sd": float(np.std(samples)),
        "interval_68": [float(q[1]), float(q[3])],
        "interval_95": [float(q[0]), float(q[4])],
    }


def model_probabilities(free_energies, errors) -> tuple[np.ndarray, np.ndarray]:
    """p(m | D) ∝ exp(−F_m) (equal prior odds) and their standard errors (delta method)."""
    f = np.asarray(free_energies, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    w = np.exp(-(f - f.min()))
    p = w / w.sum()
    # ∂p_i/∂F_j = −p_i (δ_ij − p_j)
    jac = -(np.diag(p) - np.outer(p, p))
    err = np.sqrt((jac**2) @ (e**2))
    return p, err


def _least_squares_rms(x, y, model) -> float:
    phi = design_matrix(x, model)
    coef, *_ = np.linalg.lstsq(phi, y, rcond=None)
    r = y - phi @ coef
    dof = max(len(y) - phi.shape[1], 1)
    return float(np.sqrt(np.sum(r**2) / dof))


def regress(
    x,
    y,
    *,
    sigma=None,
    models=MODELS,
    estimate_noise: bool = False,
    prior_scale: float = DEFAULT_PRIOR_SCALE,
    key: jax.Array,
    num_samples: int = 5000,
    num_replicas: int = 32,
    num_chains: int = 4,
    checkpoints: CheckpointFactory | None = None,
    progress: Progress | None = None,
) -> Regression:
    """Fit each linear model by exchange Monte Carlo and select by the Bayesian free energy.

    Args:
        x, y: [n] the measurement.
        sigma: the noise standard deviation, a scalar or [n] per point; None with ``estimate_noise``.
        models: names from ``("ax", "ax+b")``.
        estimate_noise: estimate σ by minimising F(σ) over the ladder of a pilot run at σ_0 = ¼ of
            the least-squares residual scale, then sample at the estimate.
        prior_scale: S of the Normal(0, S²) prior on each coefficient.
        key: a ``jax.random`` key.
        checkpoints: ``name -> Checkpoint`` for each run (e.g. ``physlaw.io.checkpoints.CheckpointFolder(dir)``;
            runs named ``<model>`` and ``<model>-noise``), resumed when present; None for none.
        progress: receives each run's progress (``physlaw.sampling.Progress``), or None.

    Returns:
        A ``Regression``.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if estimate_noise and sigma is not None:
        raise InputError("give either a noise level (sigma) or estimate_noise, not both")
    if not estimate_noise and sigma is None:
        raise InputError("no noise level: give sigma (a number or a per-point column) or ask to estimate it")
    if sigma is not None and np.any(np.asarray(sigma) <= 0):
        raise InputError(f"sigma must be positive, got {np.min(sigma)}")
    if not (np.isfinite(prior_scale) and prior_scale > 0):
        raise InputError(f"prior scale must be a positive number, got {prior_scale}")
    models = tuple(models)
    for m in models:
        if m not in MODELS:
            raise InputError(f"unknown model {m!r}; choose from {', '.join(MODELS)}")
    settings = dict(num_samples=num_samples, num_replicas=num_replicas, num_chains=num_chains, progress=progress)

    def ckpt(name):
        return None if checkpoints is None else checkpoints(name)

    fits = []
    for i, name in enumerate(models):
        k_pilot, k_final = jax.random.split(jax.random.fold_in(key, i))
        curve = None
        if estimate_noise:
            # a floor relative to the data's own scale (an absolute one would swamp data of size 1e-20)
            floor = 1e-12 * max(float(np.ptp(y)), float(np.max(np.abs(y))), 1e-280)
            sigma0 = 0.25 * max(_least_squares_rms(x, y, name), floor)
            pilot = run(k_pilot, linear_target(x, y, sigma0, name, prior_scale), checkpoint=ckpt(name + "-noise"),
                        progress_desc=f"{name}: noise", **settings)
            curve = noise_curve(pilot.free_energy, sigma0, x.size)
            noise = curve.sigma_hat
        else:
            noise = sigma
        res = run(k_final, linear_target(x, y, noise, name, prior_scale), checkpoint=ckpt(name),
                  progress_desc=f"{name}", **settings)
        fits.append(ModelFit(name, res, float(np.mean(noise)) if np.ndim(noise) else float(noise), curve))
    p, perr = model_probabilities([f.free_energy for f in fits], [f.free_energy_err for f in fits])
    for f, pi, ei in zip(fits, p, perr):
        f.probability, f.probability_err = float(pi), float(ei)
    selected = fits[int(np.argmax(p))].name
    warnings = [f"{f.name}: {w}" for f in fits for w in f.result.warnings]
    warnings += [f"{f.name}: the noise estimate {f.noise_sigma:.4g} lies at the edge of the ladder's σ grid; "
                 "it is a bound, not a minimum" for f in fits if f.noise is not None and f.noise.at_edge]
    return Regression(x, y, None if sigma is None else np.broadcast_to(sigma, x.shape).astype(float), fits, selected, warnings)
