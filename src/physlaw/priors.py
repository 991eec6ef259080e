"""Normalised prior distributions for the exchange Monte Carlo engine.

The Bayesian free energy is only meaningful under a proper, normalised prior: ``log Z(β=0) = 0``.
Every distribution here is normalised *in the coordinate that is sampled* (for ``LogGamma`` that is
``u = log a``, with the log-Jacobian included), has exact samplers (``sample(key)`` in JAX, one draw;
``sample_many(rng, num)`` in NumPy, the engine's prior draws), and a typical scale that seeds the
Metropolis step sizes.

Example:
    >>> import jax
    >>> from physlaw.priors import JointPrior, Normal, Uniform
    >>> prior = JointPrior({"a": Normal(0.0, 10.0), "b": Uniform(-1.0, 1.0)})
    >>> params = prior.sample(jax.random.key(0))
    >>> float(prior.log_prob({"a": 0.0, "b": 0.0}))  # doctest: +ELLIPSIS
    -3.9147...
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from physlaw.errors import InputError


def _check_positive(name: str, value: float, what: str) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise InputError(f"{name}: {what} must be a positive finite number, got {value!r}")


@dataclass(frozen=True)
class Normal:
    """Normal(loc, scale²) on an unconstrained real coordinate."""

    loc: float
    scale: float
    shape: tuple[int, ...] = ()

    def __post_init__(self):
        _check_positive("Normal", self.scale, "scale")

    def log_prob(self, x):
        z = (x - self.loc) / self.scale
        return jnp.sum(-0.5 * z**2 - math.log(self.scale) - 0.5 * math.log(2 * math.pi))

    def sample(self, key):
        return self.loc + self.scale * jax.random.normal(key, self.shape)

    def sample_many(self, rng: np.random.Generator, num: int) -> np.ndarray:
        return self.loc + self.scale * rng.standard_normal((num, *self.shape))

    @property
    def typical_scale(self) -> float:
        return self.scale


@dataclass(frozen=True)
class Uniform:
    """Uniform(low, high): density 1/(high − low) inside, zero (log = −inf) outside."""

    low: float
    high: float
    shape: tuple[int, ...] = ()

    def __post_init__(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.high > self.low):
            raise InputError(
                f"Uniform: need finite low < high, got low={self.low!r}, high={self.high!r}; "
                "an unbounded uniform prior is improper and has no free energy"
            )

    def log_prob(self, x):
        inside = jnp.all((x >= self.low) & (x <= self.high))
        n = math.prod(self.shape)
        return jnp.where(inside, -n * math.log(self.high - self.low), -jnp.inf)

    def sample(self, key):
        return jax.random.uniform(key, self.shape, minval=self.low, maxval=self.high)

    def sample_many(self, rng: np.random.Generator, num: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, (num, *self.shape))

    @property
    def typical_scale(self) -> float:
        return (self.high - self.low) / math.sqrt(12.0)


@dataclass(frozen=True)
class LogGamma:
    """``u = log a`` where ``a ~ Gamma(shape=k, rate=r)``; density of u includes the Jacobian e^u.

    This is how the reference code of the Okada school samples positive peak amplitudes and widths.
    """

    k: float
    rate: float
    shape: tuple[int, ...] = ()

    def __post_init__(self):
        _check_positive("LogGamma", self.k, "shape k")
        _check_positive("LogGamma", self.rate, "rate")

    def log_prob(self, u):
        return jnp.sum(self.k * math.log(self.rate) - gammaln(self.k) + self.k * u - self.rate * jnp.exp(u))

    def sample(self, key):
        return jnp.log(jax.random.gamma(key, self.k, self.shape) / self.rate)

    def sample_many(self, rng: np.random.Generator, num: int) -> np.ndarray:
        return np.log(np.maximum(rng.gamma(self.k, 1.0, (num, *self.shape)), np.finfo(float).tiny) / self.rate)

    @property
    def typical_scale(self) -> float:
        return math.sqrt(float(jax.scipy.special.polygamma(1, self.k)))  # sd of log Gamma

    #: The sampled coordinate is the log of the parameter: a model uses ``value(u) = exp(u)``.
    log_scale = True

    def value(self, u):
        """The parameter ``a = exp(u)`` from the sampled coordinate ``u``."""
        return jnp.exp(u)


@dataclass(frozen=True)
class LogUniform:
    """``u = log a`` where ``a`` is log-uniform on [low, high] (density ∝ 1/a, 0 < low < high).

    In the sampled coordinate ``u`` this is exactly Uniform(log low, log high), normalised:
    ``log p(u) = −log(log high − log low)`` inside.
    """

    low: float
    high: float
    shape: tuple[int, ...] = ()

    def __post_init__(self):
        if not (isinstance(self.low, (int, float)) and isinstance(self.high, (int, float))
                and math.isfinite(self.low) and math.isfinite(self.high) and 0 < self.low < self.high):
            raise InputError(f"LogUniform: need finite 0 < low < high, got low={self.low!r}, high={self.high!r}")

    @property
    def _bounds(self) -> tuple[float, float]:
        return math.log(self.low), math.log(self.high)

    def log_prob(self, u):
        lo, hi = self._bounds
        inside = jnp.all((u >= lo) & (u <= hi))
        return jnp.where(inside, -math.prod(self.shape) * math.log(hi - lo), -jnp.inf)

    def sample(self, key):
        lo, hi = self._bounds
        return jax.random.uniform(key, self.shape, minval=lo, maxval=hi)

    def sample_many(self, rng: np.random.Generator, num: int) -> np.ndarray:
        lo, hi = self._bounds
        return rng.uniform(lo, hi, (num, *self.shape))

    @property
    def typical_scale(self) -> float:
        lo, hi = self._bounds
        return (hi - lo) / math.sqrt(12.0)

    log_scale = True

    def value(self, u):
        return jnp.exp(u)


@dataclass(frozen=True)
class LogHalfNormal:
    """``u = log a`` where ``a ~ HalfNormal(scale)`` (density √(2/π)/s · exp(−a²/2s²) on a > 0).

    The density of ``u`` includes the Jacobian ``e^u``:
    ``log p(u) = ½ log(2/π) − log s − e^{2u}/(2 s²) + u``, normalised on the real line.
    """

    scale: float
    shape: tuple[int, ...] = ()

    def __post_init__(self):
        _check_positive("LogHalfNormal", self.scale, "scale")

    def log_prob(self, u):
        return jnp.sum(0.5 * math.log(2 / math.pi) - math.log(self.scale) - 0.5 * jnp.exp(2 * u) / self.scale**2 + u)

    def sample(self, key):
        z = jnp.abs(jax.random.normal(key, self.shape))
        return jnp.log(self.scale * jnp.maximum(z, jnp.finfo(z.dtype).tiny))

    def sample_many(self, rng: np.random.Generator, num: int) -> np.ndarray:
        z = np.abs(rng.standard_normal((num, *self.shape)))
        return np.log(self.scale * np.maximum(z, np.finfo(float).tiny))

    @property
    def typical_scale(self) -> float:
        return math.pi / math.sqrt(8.0)  # sd of log|Z|, Z ~ N(0, 1)

    log_scale = True

    def value(self, u):
        return jnp.exp(u)


def parameter_value(dist, u):
    """The model parameter from a sampled coordinate: ``exp(u)`` for log-scale priors
    (``LogGamma``, ``LogUniform``, ``LogHalfNormal``), ``u`` itself otherwise."""
    return dist.value(u) if getattr(dist, "log_scale", False) else u


@dataclass(frozen=True)
class JointPrior:
    """Independent priors on the named leaves of a parameter dict."""

    components: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.components:
            raise InputError("JointPrior: give at least one named component")

    def log_prob(self, params):
        return sum(dist.log_prob(jnp.asarray(params[name])) for name, dist in self.components.items())

    def sample(self, key):
        keys = jax.random.split(key, len(self.components))
        return {name: dist.sample(k) for k, (name, dist) in zip(keys, self.components.items())}

    def sample_many(self, rng: np.random.Generator, num: int) -> dict:
        """``num`` independent draws (leaves [num, *shape]) from NumPy's generator ``rng``: the engine's
        prior draws (first ladder, initial replicas), which then compile no JAX sampler (a Gamma
        sampler's rejection loops take about 1.7 s to compile)."""
        return {name: dist.sample_many(rng, num) for name, dist in self.components.items()}

    def typical_scale(self):
        """A dict like the parameters whose leaves hold each component's typical scale."""
        return {
            name: jnp.full(dist.shape, dist.typical_scale) for name, dist in self.components.items()
        }

    #: Distributions built here are normalised by construction; the engine skips its numerical check.
    normalised = True
