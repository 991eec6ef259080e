"""Spectral deconvolution: a sum of K Gaussian peaks (Nagata, Sugita & Okada, Neural Networks 28, 82 (2012)).

    f(x) = Σ_k a_k exp(−b_k (x − μ_k)² / 2),     y_i = f(x_i) + ε_i,  ε_i ~ N(0, σ²)

Parameters are sampled as ``log_a``, ``mu``, ``log_b`` with the reference priors of the Okada school
(for x ∈ [0, 3]): a ~ Gamma(5, rate 5), μ ~ Normal(1.5, variance 0.2), b ~ Gamma(5, rate 0.04).

The likelihood has an *incremental* form for the engine: the cache holds each peak's contribution
[K, n] and their sum [n]; changing one parameter of peak k recomputes only that peak, so a
one-parameter Metropolis update costs O(n) rather than O(nK) (mission.md A.6).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from physlaw.priors import JointPrior, LogGamma, Normal
from physlaw.sampling import Incremental, Target

#: The standard synthetic benchmark of Nagata et al. (2012): n = 301, x_i = 0.01 i, σ = 0.1.
NAGATA_2012 = {
    "a": (0.587, 1.522, 1.183),
    "mu": (1.210, 1.455, 1.703),
    "b": (95.689, 146.837, 164.469),
    "sigma": 0.1,
}


def nagata_data(seed: int = 0, n: int = 301):
    """The Nagata 2012 synthetic spectrum with one noise draw: returns (x, y, sigma)."""
    x = 0.01 * np.arange(n)
    p = NAGATA_2012
    clean = gaussian_peaks(x, np.array(p["a"]), np.array(p["mu"]), np.array(p["b"]))
    y = clean + np.random.default_rng(seed).normal(0.0, p["sigma"], n)
    return x, y, p["sigma"]


def gaussian_peaks(x, a, mu, b):
    """Σ_k a_k exp(−b_k (x − μ_k)²/2) for arrays a, μ, b of length K (NumPy or JAX)."""
    xp = jnp if any(isinstance(v, jnp.ndarray) for v in (x, a, mu, b)) else np
    return xp.sum(a[:, None] * xp.exp(-0.5 * b[:, None] * (x[None, :] - mu[:, None]) ** 2), axis=0)


@functools.lru_cache(maxsize=32)
def nagata_prior(num_peaks: int) -> JointPrior:
    """The reference priors for K peaks (one shared object per K, so compiled samplers are reused)."""
    k = (num_peaks,)
    return JointPrior({
        "log_a": LogGamma(5.0, 5.0, shape=k),
        "log_b": LogGamma(5.0, 0.04, shape=k),
        "mu": Normal(1.5, math.sqrt(0.2), shape=k),
    })


class SpectrumData(NamedTuple):
    x: jnp.ndarray
    y: jnp.ndarray
    sigma: jnp.ndarray


def _unpack(theta, num_peaks):
    # ravel_pytree orders dict keys alphabetically: log_a, log_b, mu
    return jnp.exp(theta[:num_peaks]), theta[2 * num_peaks:], jnp.exp(theta[num_peaks:2 * num_peaks])


def _loglik_from_total(total, data: SpectrumData):
    r = (data.y - total) / data.sigma
    return -0.5 * data.y.size * jnp.log(2 * jnp.pi * data.sigma**2) - 0.5 * jnp.sum(r * r)


def _peak(x, a, mu, b):
    return a * jnp.exp(-0.5 * b * (x - mu) ** 2)


@functools.lru_cache(maxsize=32)
def _incremental(num_peaks: int) -> Incremental:
    def init_fn(theta, data):
        a, mu, b = _unpack(theta, num_peaks)
        comps = _peak(data.x[None, :], a[:, None], mu[:, None], b[:, None])
        return comps, comps.sum(0)

    def update_fn(theta, j, cache, data):
        comps, total = cache
        k = j % num_peaks
        a, mu, b = _unpack(theta, num_peaks)
        new = _peak(data.x, a[k], mu[k], b[k])
        return comps.at[k].set(new), total - comps[k] + new

    def value_fn(cache, data):
        return _loglik_from_total(cache[1], data)

    return Incremental(init_fn, update_fn, value_fn)


def _log_likelihood(params, data: SpectrumData):
    total = gaussian_peaks(data.x, jnp.exp(params["log_a"]), params["mu"], jnp.exp(params["log_b"]))
    return _loglik_from_total(total, data)


def spectrum_target(x, y, sigma, num_peaks: int, *, incremental: bool = True, dtype=None) -> Target:
    """K Gaussian peaks with the Nagata priors as an exchange Monte Carlo target.

    Args:
        x, y: [n] the spectrum.
        sigma: the noise standard deviation.
        num_peaks: K.
        incremental: use the O(n) peak cache for one-parameter updates.
        dtype: float32 or float64 (default: JAX's default float).
    """
    dtype = dtype or jnp.result_type(float)
    data = SpectrumData(jnp.asarray(x, dtype), jnp.asarray(y, dtype), jnp.asarray(sigma, dtype))
    return Target.from_prior(nagata_prior(int(num_peaks)), _log_likelihood, data=data,
                             incremental=_incremental(int(num_peaks)) if incremental else None)
