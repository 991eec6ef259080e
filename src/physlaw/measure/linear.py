"""The solvable linear-response measurement (Katakami et al., arXiv:2406.02869, 2024).

Models ``ax``: y = a x + ε and ``ax+b``: y = a x + b + ε, with Gaussian noise ε_i ~ N(0, σ_i²) and
independent Normal(0, S²) priors on the coefficients. With design matrix Φ (columns x, and 1 for
``ax+b``) and prior w ~ N(0, S0 = S² I), everything is closed form:

* free energy ``F = −log p(D) = (n/2) log 2π + ½ log det C + ½ yᵀ C⁻¹ y``, ``C = Σ + Φ S0 Φᵀ``,
  Σ = diag(σ_i²);
* posterior ``w | D ~ N(m, V)``, ``V = (S0⁻¹ + Φᵀ Σ⁻¹ Φ)⁻¹``, ``m = V Φᵀ Σ⁻¹ y``.

``linear_target`` gives the same model to the exchange Monte Carlo engine, so the sampled answers
can be checked against these exact ones.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.priors import JointPrior, Normal
from physlaw.sampling import Target

MODELS = ("ax", "ax+b")
#: Default prior scale S of each coefficient when the user gives none (in units of y/x and y).
DEFAULT_PRIOR_SCALE = 10.0


def _coefficients(model: str) -> tuple[str, ...]:
    if model not in MODELS:
        raise InputError(f"unknown linear model {model!r}; choose one of {', '.join(MODELS)}")
    return ("a",) if model == "ax" else ("a", "b")


def design_matrix(x, model: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    cols = [x] if model == "ax" else [x, np.ones_like(x)]
    _coefficients(model)
    return np.stack(cols, axis=1)


class ExactLinear(NamedTuple):
    """Closed-form answers of a linear model: free energy, posterior mean and covariance."""

    free_energy: float
    mean: np.ndarray
    cov: np.ndarray
    names: tuple[str, ...]


def exact_linear(x, y, sigma, model: str, prior_scale: float = DEFAULT_PRIOR_SCALE) -> ExactLinear:
    """The exact free energy and posterior of a linear model (see the module docstring).

    Args:
        x, y: [n] data.
        sigma: noise standard deviation, a scalar or [n] per-point values.
        model: ``"ax"`` or ``"ax+b"``.
        prior_scale: S, the standard deviation of each coefficient's Normal(0, S²) prior.
    """
    names = _coefficients(model)
    y = np.asarray(y, dtype=np.float64)
    phi = design_matrix(x, model)
    n, k = phi.shape
    var = np.broadcast_to(np.asarray(sigma, dtype=np.float64) ** 2, (n,))
    s0 = prior_scale**2 * np.eye(k)
    c = np.diag(var) + phi @ s0 @ phi.T
    sign, logdet = np.linalg.slogdet(c)
    f = 0.5 * n * np.log(2 * np.pi) + 0.5 * logdet + 0.5 * y @ np.linalg.solve(c, y)
    prec = np.linalg.inv(s0) + phi.T @ (phi / var[:, None])
    cov = np.linalg.inv(prec)
    mean = cov @ (phi.T @ (y / var))
    return ExactLinear(float(f), mean, cov, names)


def gaussian_log_likelihood(residual, sigma):
    """Full Gaussian log-likelihood, ``−Σ_i [½ log 2πσ_i² + r_i²/(2σ_i²)]``."""
    return -jnp.sum(0.5 * jnp.log(2 * jnp.pi * sigma**2) + 0.5 * (residual / sigma) ** 2)


@functools.lru_cache(maxsize=64)
def _prior(names: tuple[str, ...], prior_scale: float) -> JointPrior:
    # one object per (model, scale): the engine reuses its compiled sampler for the same functions
    return JointPrior({name: Normal(0.0, prior_scale) for name in names})


def _log_likelihood(p, data):
    x, y, sigma = data
    pred = p["a"] * x + (p["b"] if "b" in p else 0.0)
    return gaussian_log_likelihood(y - pred, sigma)


def linear_target(x, y, sigma, model: str, prior_scale: float = DEFAULT_PRIOR_SCALE, dtype=None) -> Target:
    """The linear model as an exchange Monte Carlo target (parameters ``{"a": .., "b": ..}``).

    ``sigma`` is a scalar or per-point [n] noise standard deviation.
    """
    names = _coefficients(model)
    dtype = dtype or jnp.result_type(float)
    y = jnp.asarray(y, dtype)
    data = (jnp.asarray(x, dtype), y, jnp.broadcast_to(jnp.asarray(sigma, dtype), y.shape))
    return Target.from_prior(_prior(names, float(prior_scale)), _log_likelihood, data=data)
