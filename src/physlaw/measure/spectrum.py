"""Spectral deconvolution: K peaks on an optional background (Nagata, Sugita & Okada, Neural Networks 28, 82 (2012)).

    f(x) = Σ_k a_k g(x; μ_k, b_k, η_k) + B(x),     y_i = f(x_i) + ε_i,  ε_i ~ N(0, σ_i²)

Line shapes g (peak height a_k, centre μ_k, width parameter b_k > 0 with the Gaussian meaning
``exp(−b (x − μ)²/2)``; every shape has the same half width at half maximum h = √(2 ln 2 / b)):

* ``gauss``:   exp(−b d²/2)
* ``lorentz``: 1 / (1 + d²/h²)
* ``voigt``:   pseudo-Voigt η L + (1 − η) G with a per-peak mixing η ∈ [0, 1]

Backgrounds B(u) of the normalised abscissa u (below): ``none``; ``constant`` c; ``linear``
c + s (u − 1.5)/1.5; ``exponential`` c + A exp(−u/τ).

**Normalised coordinates.** The sampler works in ``u = 3 (x − x_0)/(x_max − x_min)`` ∈ [0, 3] and
``v = (y − y_0)/A`` (A = half the data's range; y_0 = 0 without background, the 5th percentile of y
with one), where the reference priors of the Okada school apply unchanged:
a ~ Gamma(5, rate 5), μ ~ Normal(1.5, variance 0.2), b ~ Gamma(5, rate 0.04) (sampled as log a,
log b, Jacobian included). So the priors follow the data's x and y ranges, the prior objects do not
depend on the data (the compiled sampler is reused for every dataset of the same shape) and the
likelihood carries the Jacobian ``−n log A``: free energies are those of the data in their own units.
``priors="nagata"`` uses the identity transform (the published priors for x ∈ [0, 3] in data units).
A TOML file (``physlaw.io.load_prior_toml``) overrides any prior, in data units.

The likelihood has an *incremental* form for the engine: the cache holds each peak's contribution
[K, n], the background [n] and their sum [n]; changing one parameter recomputes only that peak (or
the background), so a one-parameter Metropolis update costs O(n) rather than O(nK) (mission.md A.6).

Example:
    >>> from physlaw.measure.spectrum import nagata_data, spectrum_target
    >>> x, y, sigma = nagata_data(0)
    >>> target = spectrum_target(x, y, sigma, 3)   # then physlaw.sampling.run(key, target)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.flatten_util
import numpy as np

from physlaw.errors import InputError
# the names of shapes and backgrounds and the prior-file format live in a JAX-free module (for the CLI parser)
from physlaw.measure.spectrum_options import BACKGROUNDS, PRIOR_TOML_HELP, PRIOR_TOML_KEYS, SHAPES  # noqa: F401
from physlaw.priors import JointPrior, LogGamma, Normal, Uniform
from physlaw.sampling import Incremental, Target

_LN2 = math.log(2.0)

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


def peak_shape(x, mu, b, eta, shape: str, xp=jnp):
    """Unit-height line shape g(x; μ, b, η) (see the module docstring); broadcasts."""
    d2 = (x - mu) ** 2
    gauss = xp.exp(-0.5 * b * d2)
    if shape == "gauss":
        return gauss
    lorentz = 1.0 / (1.0 + b * d2 / (2.0 * _LN2))
    if shape == "lorentz":
        return lorentz
    return eta * lorentz + (1.0 - eta) * gauss


def background_curve(u, bg: dict, background: str, xp=jnp):
    """B(u) in normalised units from the background parameters (keys ``bg_c``, ``bg_slope``, ...)."""
    if background == "none":
        return xp.zeros_like(u)
    out = bg["bg_c"] + xp.zeros_like(u)
    if background == "linear":
        out = out + bg["bg_slope"] * (u - 1.5) / 1.5
    elif background == "exponential":
        out = out + bg["bg_amp"] * xp.exp(-u / xp.exp(bg["bg_log_tau"]))
    return out


# ----------------------------------------------------------------------------------------------
# Priors


@dataclasses.dataclass(frozen=True)
class SpectrumPriors:
    """Priors in the sampler's normalised coordinates (u ∈ [0, 3], v = (y − y_0)/A).

    Attributes (each a tuple of the distribution's parameters):
        amplitude: (shape k, rate r) of a ~ Gamma(k, r).
        centre: (mean, sd) of μ ~ Normal.
        width: (shape k, rate r) of b ~ Gamma(k, r), b the inverse variance of the Gaussian.
        eta: (low, high) of the pseudo-Voigt mixing η ~ Uniform.
        bg_c: (mean, sd) of the background level c ~ Normal.
        bg_slope: (mean, sd) of the linear background's slope ~ Normal (change over half the range).
        bg_amp: (mean, sd) of the exponential background's amplitude at u = 0 ~ Normal.
        bg_log_tau: (low, high) of log τ ~ Uniform (τ the decay length in u).
    """

    amplitude: tuple = (5.0, 5.0)
    centre: tuple = (1.5, math.sqrt(0.2))
    width: tuple = (5.0, 0.04)
    eta: tuple = (0.0, 1.0)
    bg_c: tuple = (0.0, 1.0)
    bg_slope: tuple = (0.0, 1.0)
    bg_amp: tuple = (0.0, 2.0)
    bg_log_tau: tuple = (math.log(0.03), math.log(30.0))


#: The reference priors (Nagata 2012) in normalised coordinates.
DEFAULT_PRIORS = SpectrumPriors()


@functools.lru_cache(maxsize=256)
def spectrum_prior(num_peaks: int, shape: str = "gauss", background: str = "none",
                   priors: SpectrumPriors = DEFAULT_PRIORS) -> JointPrior:
    """The JointPrior of a model (one shared object per model structure and priors)."""
    k = (num_peaks,)
    comps = {
        "log_a": LogGamma(*priors.amplitude, shape=k),
        "log_b": LogGamma(*priors.width, shape=k),
        "mu": Normal(*priors.centre, shape=k),
    }
    if shape == "voigt":
        comps["eta"] = Uniform(*priors.eta, shape=k)
    if background != "none":
        comps["bg_c"] = Normal(*priors.bg_c)
    if background == "linear":
        comps["bg_slope"] = Normal(*priors.bg_slope)
    if background == "exponential":
        comps["bg_amp"] = Normal(*priors.bg_amp)
        comps["bg_log_tau"] = Uniform(*priors.bg_log_tau)
    return JointPrior(comps)


def nagata_prior(num_peaks: int) -> JointPrior:
    """The reference priors for K Gaussian peaks without background."""
    return spectrum_prior(int(num_peaks))


class Transform(NamedTuple):
    """Data units ↔ the sampler's units: x = x0 + sx u, y = y0 + sy v."""

    x0: float
    sx: float
    y0: float
    sy: float

    @classmethod
    def identity(cls) -> "Transform":
        return cls(0.0, 1.0, 0.0, 1.0)

    @classmethod
    def from_data(cls, x, y, background: str = "none", x_range=None) -> "Transform":
        """u ∈ [0, 3] over the data's x range (or ``x_range``); A = half the y range."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        lo, hi = (float(x.min()), float(x.max())) if x_range is None else x_range
        sy = 0.5 * float(np.ptp(y)) if np.ptp(y) > 0 else 1.0
        y0 = 0.0 if background == "none" else float(np.quantile(y, 0.05))
        return cls(lo, (hi - lo) / 3.0, y0, sy)


def normalised_priors(overrides: dict | None, tr: Transform) -> SpectrumPriors:
    """The default priors with ``overrides`` (data units, from ``physlaw.io.load_prior_toml``) mapped to u, v units."""
    if not overrides:
        return DEFAULT_PRIORS
    p = {}
    for name, (a, b) in overrides.items():
        field = PRIOR_TOML_KEYS[name][0]
        if name == "amplitude":
            p[field] = (a, b * tr.sy)                    # a_v = a / sy: rate scales by sy
        elif name == "centre":
            p[field] = ((a - tr.x0) / tr.sx, b / tr.sx)
        elif name == "width":
            p[field] = (a, b / tr.sx**2)                 # b_u = b sx²: rate scales by 1/sx²
        elif name == "eta":
            p[field] = (a, b)
        elif name == "background_level":
            p[field] = ((a - tr.y0) / tr.sy, b / tr.sy)
        elif name in ("background_slope", "background_amplitude"):
            p[field] = (a / tr.sy, b / tr.sy)
        elif name == "background_log_decay":
            p[field] = (a - math.log(tr.sx), b - math.log(tr.sx))
    return dataclasses.replace(DEFAULT_PRIORS, **p)


# ----------------------------------------------------------------------------------------------
# Likelihood


class SpectrumData(NamedTuple):
    """Data in the sampler's units; ``log_jacobian`` = −n log A brings ℓ back to data units."""

    x: jnp.ndarray
    y: jnp.ndarray
    sigma: jnp.ndarray
    log_jacobian: jnp.ndarray


def _layout(num_peaks: int, shape: str, background: str):
    """Offsets of each key in the flat vector (ravel_pytree sorts dict keys)."""
    prior = spectrum_prior(num_peaks, shape, background)
    sizes = {name: math.prod(d.shape) for name, d in prior.components.items()}
    offsets, o = {}, 0
    for name in sorted(sizes):
        offsets[name] = o
        o += sizes[name]
    return offsets, sizes


def _unpack_flat(theta, num_peaks, shape, background):
    offsets, sizes = _layout(num_peaks, shape, background)
    return {name: theta[o] if name.startswith("bg") else theta[o:o + sizes[name]] for name, o in offsets.items()}


def _loglik_from_total(total, data: SpectrumData):
    r = (data.y - total) / data.sigma
    return -jnp.sum(0.5 * jnp.log(2 * jnp.pi * data.sigma**2)) - 0.5 * jnp.sum(r * r) + data.log_jacobian


@functools.lru_cache(maxsize=128)
def _incremental(num_peaks: int, shape: str = "gauss", background: str = "none") -> Incremental:
    offsets, _ = _layout(num_peaks, shape, background)
    num_bg = min((o for n, o in offsets.items() if not n.startswith("bg")), default=0)

    def peaks(p, x):
        eta = p["eta"][:, None] if shape == "voigt" else 0.0
        return jnp.exp(p["log_a"])[:, None] * peak_shape(x[None, :], p["mu"][:, None],
                                                          jnp.exp(p["log_b"])[:, None], eta, shape)

    def init_fn(theta, data):
        p = _unpack_flat(theta, num_peaks, shape, background)
        comps = peaks(p, data.x)
        bg = background_curve(data.x, p, background)
        return comps, bg, comps.sum(0) + bg

    def update_fn(theta, j, cache, data):
        comps, bg, total = cache
        p = _unpack_flat(theta, num_peaks, shape, background)

        def new_peak(_):
            k = (j - num_bg) % num_peaks
            eta = p["eta"][k] if shape == "voigt" else 0.0
            new = jnp.exp(p["log_a"][k]) * peak_shape(data.x, p["mu"][k], jnp.exp(p["log_b"][k]), eta, shape)
            return comps.at[k].set(new), bg, total - comps[k] + new

        def new_bg(_):
            new = background_curve(data.x, p, background)
            return comps, new, total - bg + new

        if num_bg == 0:
            return new_peak(None)
        return jax.lax.cond(j < num_bg, new_bg, new_peak, None)

    def value_fn(cache, data):
        return _loglik_from_total(cache[2], data)

    return Incremental(init_fn, update_fn, value_fn)


@functools.lru_cache(maxsize=128)
def _log_likelihood_fn(num_peaks: int, shape: str, background: str):
    inc = _incremental(num_peaks, shape, background)

    def log_likelihood(params, data):
        theta = jax.flatten_util.ravel_pytree(params)[0]
        return inc.value_fn(inc.init_fn(theta, data), data)

    return log_likelihood


def check_model(num_peaks: int, shape: str, background: str) -> None:
    if int(num_peaks) != num_peaks or num_peaks < 1:
        raise InputError(f"the number of peaks must be a positive integer, got {num_peaks!r}")
    if shape not in SHAPES:
        raise InputError(f"unknown line shape {shape!r}; choose one of {', '.join(SHAPES)}")
    if background not in BACKGROUNDS:
        raise InputError(f"unknown background {background!r}; choose one of {', '.join(BACKGROUNDS)}")


def spectrum_data(x, y, sigma, tr: Transform, dtype=None) -> SpectrumData:
    dtype = dtype or jnp.result_type(float)
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    sigma = np.broadcast_to(np.asarray(sigma, float), y.shape)
    return SpectrumData(jnp.asarray((x - tr.x0) / tr.sx, dtype), jnp.asarray((y - tr.y0) / tr.sy, dtype),
                        jnp.asarray(sigma / tr.sy, dtype), jnp.asarray(-y.size * math.log(tr.sy), dtype))


def spectrum_target(x, y, sigma, num_peaks: int, *, shape: str = "gauss", background: str = "none",
                    priors="nagata", prior_overrides: dict | None = None, incremental: bool = True,
                    dtype=None) -> Target:
    """K peaks as an exchange Monte Carlo target.

    Args:
        x, y: [n] the spectrum.
        sigma: the noise standard deviation (scalar or [n]).
        num_peaks: K.
        shape: ``gauss``, ``lorentz`` or ``voigt``.
        background: ``none``, ``constant``, ``linear`` or ``exponential``.
        priors: ``"nagata"`` (the published priors in data units, for x ∈ [0, 3]), ``"auto"`` (the
            same rescaled to the data's ranges), or a ``Transform``.
        prior_overrides: ``{name: (p1, p2)}`` in data units (``physlaw.io.load_prior_toml``).
        incremental: use the O(n) peak cache for one-parameter updates.
        dtype: float32 or float64 (default: JAX's default float).
    """
    check_model(num_peaks, shape, background)
    tr = model_transform(x, y, priors, background)
    prior = spectrum_prior(int(num_peaks), shape, background, normalised_priors(prior_overrides, tr))
    return Target.from_prior(prior, _log_likelihood_fn(int(num_peaks), shape, background),
                             data=spectrum_data(x, y, sigma, tr, dtype),
                             incremental=_incremental(int(num_peaks), shape, background) if incremental else None,
                             relabel_fn=order_by_centre)


PEAK_PARAMETERS = ("log_a", "log_b", "mu", "eta")


def order_by_centre(params: dict) -> dict:
    """The same parameters with the peaks relabelled in order of increasing centre ``mu``.

    Per-peak leaves (``log_a``, ``log_b``, ``mu``, ``eta``) are permuted along their last axis (so a
    joint target's [datasets, K] leaves work too); everything else is unchanged.
    """
    order = jnp.argsort(params["mu"])
    return {k: (jnp.take(v, order, axis=-1) if k in PEAK_PARAMETERS else v) for k, v in params.items()}


def model_transform(x, y, priors, background: str) -> Transform:
    if isinstance(priors, Transform):
        return priors
    if priors == "nagata":
        return Transform.identity()
    if priors == "auto":
        return Transform.from_data(x, y, background)
    raise InputError(f"priors must be 'nagata', 'auto' or a Transform, got {priors!r}")


# ----------------------------------------------------------------------------------------------
# Posterior in data units, ordered by centre


def physical_samples(post: dict, tr: Transform, shape: str, background: str) -> dict:
    """Posterior draws in data units with peaks ordered by centre.

    Args:
        post: the posterior pytree with leaves [..., K] / [...] (e.g. ``result.posterior()`` flattened).

    Returns:
        ``{"amplitude": [N, K], "centre": [N, K], "fwhm": [N, K], "area": [N, K], ("eta": [N, K]),
        background keys: [N]}``, N the number of draws, peaks sorted by centre in each draw.
    """
    mu = np.asarray(post["mu"]).reshape(-1, np.shape(post["mu"])[-1])
    order = np.argsort(mu, axis=1)
    take = lambda v: np.take_along_axis(np.asarray(v).reshape(mu.shape), order, axis=1)  # noqa: E731
    a = tr.sy * np.exp(take(post["log_a"]))
    b = np.exp(take(post["log_b"])) / tr.sx**2
    out = {"amplitude": a, "centre": tr.x0 + tr.sx * take(post["mu"]), "fwhm": 2 * np.sqrt(2 * _LN2 / b)}
    g_area = a * np.sqrt(2 * np.pi / b)
    l_area = a * np.pi * 0.5 * out["fwhm"]
    if shape == "voigt":
        out["eta"] = take(post["eta"])
        out["area"] = out["eta"] * l_area + (1 - out["eta"]) * g_area
    else:
        out["area"] = g_area if shape == "gauss" else l_area
    n = mu.shape[0]
    flat = lambda k: np.asarray(post[k]).reshape(n)  # noqa: E731
    if background != "none":
        out["background_level"] = tr.y0 + tr.sy * flat("bg_c")
    if background == "linear":
        out["background_slope"] = tr.sy * flat("bg_slope") / (1.5 * tr.sx)
    if background == "exponential":
        out["background_amplitude"] = tr.sy * flat("bg_amp")
        out["background_decay"] = tr.sx * np.exp(flat("bg_log_tau"))
    return out


def model_curves(phys: dict, x, shape: str, background: str, tr: Transform):
    """Peak components [N, K, m] and background [N, m] on the grid ``x`` from ``physical_samples``."""
    a, mu = phys["amplitude"], phys["centre"]
    b = 8 * _LN2 / phys["fwhm"] ** 2
    eta = phys.get("eta", np.zeros_like(a))
    comps = a[..., None] * peak_shape(x[None, None, :], mu[..., None], b[..., None], eta[..., None], shape, xp=np)
    bg = np.zeros((a.shape[0], x.size))
    if background != "none":
        bg = bg + phys["background_level"][:, None]
    if background == "linear":
        bg = bg + phys["background_slope"][:, None] * (x[None, :] - (tr.x0 + 1.5 * tr.sx))
    if background == "exponential":
        bg = bg + phys["background_amplitude"][:, None] * np.exp(-(x[None, :] - tr.x0) / phys["background_decay"][:, None])
    return comps, bg
