"""Spectral deconvolution: K peaks on an optional background (Nagata, Sugita & Okada, Neural Networks 28, 82 (2012)).

    f(x) = Σ_k a_k g(x; μ_k, b_k, η_k) + B(x),     y_i = f(x_i) + ε_i,  ε_i ~ N(0, σ_i²)

Line shapes g (peak height a_k, centre μ_k, width parameter b_k > 0 with the Gaussian meaning
``exp(−b (x − μ)²/2)``; every shape has the same half width at half maximum h = √(2 ln 2 / b)):

* ``gauss``:   exp(−b d²/2)
* ``lorentz``: 1 / (1 + d²/h²)
* ``voigt``:   pseudo-Voigt η L + (1 − η) G with a per-peak mixing η ∈ [0, 1]
* ``doniach``: η DS + (1 − η) G, the Lorentzian replaced by the Doniach–Šunjić line of a metal's or a
  conjugated solid's core level, DS(t) = cos(πα/2 + (1 − α) arctan(t/h)) / (h² + t²)^((1 − α)/2), with a
  per-peak asymmetry α ∈ (−0.4, 0.4): a tail towards higher x for α > 0 (higher binding energy on a
  binding-energy axis), towards lower x for α < 0; α = 0 is the pseudo-Voigt. DS is scaled to 1 at its
  maximum and placed so that the maximum is at μ (the line's position as read off the spectrum). The
  sum with a Gaussian stands in for the convolution DS ⊗ G (the XPS programs' "GL" approximation):
  closed form, so the O(n) update stays cheap. DS's tail is not integrable: ``area`` is over the window.

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
A move proposes only the changed row; the table is written when the move is accepted.

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
from physlaw.measure.spectrum_options import (  # noqa: F401
    AUTO_BACKGROUNDS, BACKGROUNDS, COMPONENTS, LIKELIHOODS, PRIOR_TOML_HELP, PRIOR_TOML_KEYS, SHAPES, SIGNS,
)
from physlaw.priors import JointPrior, LogGamma, Normal, Uniform
from physlaw.sampling import Incremental, SortComponents, Target, ravel_structure, to_device

_LN2 = math.log(2.0)
#: The shapes with a per-line Lorentzian (or Doniach–Šunjić) mixing η.
MIXED_SHAPES = ("voigt", "doniach")

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


def peak_shape(x, mu, b, eta, shape: str, xp=jnp, alpha=0.0):
    """Unit-height line shape g(x; μ, b, η, α) (see the module docstring); broadcasts."""
    d2 = (x - mu) ** 2
    gauss = xp.exp(-0.5 * b * d2)
    if shape == "gauss":
        return gauss
    if shape == "doniach":
        return eta * doniach_sunjic(x - mu, xp.sqrt(2.0 * _LN2 / b), alpha, xp) + (1.0 - eta) * gauss
    lorentz = 1.0 / (1.0 + b * d2 / (2.0 * _LN2))
    if shape == "lorentz":
        return lorentz
    return eta * lorentz + (1.0 - eta) * gauss


def doniach_sunjic(d, h, alpha, xp=jnp):
    """The Doniach–Šunjić line of half width h and asymmetry α at offsets d from its maximum, scaled to 1
    there; the tail is on the side of sign(α) (α = 0: the Lorentzian 1/(1 + d²/h²)).

    With τ = t/h and a = |α|: DS ∝ cos(πa/2 + (1 − a) arctan τ) (1 + τ²)^(−(1 − a)/2), whose maximum
    is at arctan τ_m = −πa/(2(2 − a)) (where the phase is θ_m = πa/(2(2 − a))); the heavy tail is
    at τ → −∞, so τ = τ_m − sign(α) d/h.
    """
    a = xp.abs(alpha)
    phi_m = -xp.pi * a / (2.0 * (2.0 - a))
    tau_m = xp.tan(phi_m)
    tau = tau_m - xp.where(alpha >= 0, 1.0, -1.0) * d / h
    theta = 0.5 * xp.pi * a + (1.0 - a) * xp.arctan(tau)
    log_ratio = 0.5 * (1.0 - a) * (xp.log1p(tau_m * tau_m) - xp.log1p(tau * tau))
    return xp.cos(theta) / xp.cos(phi_m) * xp.exp(log_ratio)   # θ_m = −φ_m


# ----------------------------------------------------------------------------------------------
# Components: one line or a multiplet of lines sharing one width


def _sextet_offsets() -> tuple[np.ndarray, np.ndarray]:
    """⁵⁷Fe magnetic sextet: line offsets per tesla (mm/s/T) and the sign of the quadrupole shift per line.

    E(m_e, m_g) − E_0 = μ_N B (−g_e m_e + g_g m_g), g_g = μ_g/I_g = 0.09044/(1/2), g_e = −0.1549/(3/2)
    nuclear magnetons; Δm = 0, ±1; converted to Doppler velocity with E_γ = 14.4125 keV. At 33 T the
    outer lines lie at ±5.31 mm/s (α-Fe). Lines 1 and 6 move by +ε, lines 2–5 by −ε (quadrupole shift).
    """
    mu_n, e_gamma, c_mm = 3.15245125844e-8, 14412.497, 299792458.0e3
    g_g, g_e = 0.09044 / 0.5, -0.1549 / 1.5
    pairs = [(1.5, 0.5), (0.5, 0.5), (-0.5, 0.5), (0.5, -0.5), (-0.5, -0.5), (-1.5, -0.5)]
    per_tesla = np.sort([(-g_e * me + g_g * mg) * mu_n * c_mm / e_gamma for me, mg in pairs])
    return per_tesla, np.array([1.0, -1.0, -1.0, -1.0, -1.0, 1.0])


SEXTET_PER_TESLA, SEXTET_QUADRUPOLE = _sextet_offsets()
#: Minor : major line area of a spin–orbit pair (j = l − ½ : j = l + ½).
SPIN_ORBIT_RATIO = {"spin-orbit-p": 1 / 2, "spin-orbit-d": 2 / 3, "spin-orbit-f": 3 / 4}
#: Per-component parameters of each component kind beyond height, width and centre (``log_a, log_b, mu``).
COMPONENT_PARAMETERS = {"peak": (), "sextet": ("field", "qshift", "xratio"), "doublet": ("qsplit",),
                        **{name: () for name in SPIN_ORBIT_RATIO}}
#: Global (shared by all K components) parameters of a component kind.
COMPONENT_GLOBALS = {name: ("so_split",) for name in SPIN_ORBIT_RATIO}


def component_lines(p: dict, component: str, sx, xp=jnp):
    """Line offsets from the centre (sampler units u) and relative heights of each component.

    Args:
        p: parameters with per-component leaves of shape [..., K] (``field`` in tesla and ``qshift``
            in data units, the others in sampler units).
        sx: data units per sampler unit of x.

    Returns:
        (offsets [..., K, L], weights [..., K, L]); a single ``peak`` has L = 1, offset 0, weight 1.
    """
    mu = p["mu"]
    one = xp.ones_like(mu)[..., None]
    if component == "peak":
        return 0.0 * one, one
    if component in SPIN_ORBIT_RATIO:
        split = xp.asarray(p["so_split"])[..., None, None] * one
        return xp.concatenate([0.0 * one, split], -1), xp.concatenate([one, SPIN_ORBIT_RATIO[component] * one], -1)
    if component == "doublet":
        half = 0.5 * p["qsplit"][..., None]
        return xp.concatenate([-half, half], -1), xp.concatenate([one, one], -1)
    if component == "sextet":
        off = (p["field"][..., None] * SEXTET_PER_TESLA + p["qshift"][..., None] * SEXTET_QUADRUPOLE) / sx
        x = p["xratio"][..., None]
        w = xp.concatenate([3 * one, x, one, one, x, 3 * one], -1) / 3.0
        return off, w
    raise InputError(f"unknown component {component!r}; choose one of {', '.join(COMPONENTS)}")


def component_curves(p: dict, u, component: str, shape: str, sx, xp=jnp):
    """Every component's curve [..., K, n] on the abscissa u [n] (sampler units): a Σ_l w_l g(u; μ + o_l)."""
    off, w = component_lines(p, component, sx, xp)
    centre = (p["mu"][..., None] + off)[..., None]                     # [..., K, L, 1]
    b = xp.exp(p["log_b"])[..., None, None]
    eta = p["eta"][..., None, None] if shape in MIXED_SHAPES else 0.0
    alpha = p["alpha"][..., None, None] if shape == "doniach" else 0.0
    g = peak_shape(u, centre, b, eta, shape, xp, alpha)                # [..., K, L, n]
    return xp.exp(p["log_a"])[..., None] * xp.sum(w[..., None] * g, axis=-2)


def _legendre(t, degree: int, xp=jnp):
    """P_1..P_degree(t), stacked on the first axis."""
    out, p_prev, p_cur = [], xp.ones_like(t), t
    for n in range(1, degree + 1):
        out.append(p_cur)
        p_prev, p_cur = p_cur, ((2 * n + 1) * t * p_cur - n * p_prev) / (n + 1)
    return xp.stack(out, 0)


def shirley_step(peaks, data, xp=jnp):
    """The integrated peak signal from the low-x end up to each point, divided by its total: 0 → 1.

    The Shirley background is ``c + h · shirley_step``: a step whose rise at each energy is
    proportional to the peak area on one side (h > 0: higher background at high x, e.g. binding
    energy; h < 0 the other way). Trapezoid rule on the data's own (possibly decreasing, uneven) grid.
    """
    ps = xp.take(peaks, data.order, axis=-1)
    inc = 0.5 * (ps[..., 1:] + ps[..., :-1]) * data.du
    cum = xp.concatenate([xp.zeros_like(ps[..., :1]), xp.cumsum(inc, axis=-1)], -1)
    cum = cum / (cum[..., -1:] + 1e-12)
    return xp.take(cum, data.inverse, axis=-1)


#: The internal background of a model compiled once for every background: all their parameters, the
#: terms in use switched on by ``SpectrumData.bg_terms`` (level, P1, P2, P3, exponential, Shirley).
ANY_BACKGROUND = "any"
_BG_TERMS = {"none": (0, 0, 0, 0, 0, 0), "constant": (1, 0, 0, 0, 0, 0), "linear": (1, 1, 0, 0, 0, 0),
             "poly2": (1, 1, 1, 0, 0, 0), "poly3": (1, 1, 1, 1, 0, 0), "exponential": (1, 0, 0, 0, 1, 0),
             "shirley": (1, 0, 0, 0, 0, 1)}


def _any_background(u, bg: dict, peaks, data, with_shirley=True):
    """The background of ``ANY_BACKGROUND``: the terms ``data.bg_terms`` switches on (the Shirley step
    only when ``with_shirley``; the caller keeps it otherwise)."""
    on = data.bg_terms
    t = (u - 1.5) / 1.5
    out = on[0] * bg["bg_c"] + jnp.tensordot(bg["bg_poly"] * on[1:4], _legendre(t, 3), axes=([-1], [0]))
    out = out + on[4] * bg["bg_amp"] * jnp.exp(-u / jnp.exp(bg["bg_log_tau"]))
    if with_shirley:
        out = out + jax.lax.cond(on[5] > 0, lambda: on[5] * bg["bg_step"] * shirley_step(peaks, data),
                                 lambda: jnp.zeros_like(out))
    return out


def background_curve(u, bg: dict, background: str, xp=jnp, peaks=None, data=None):
    """B(u) in normalised units from the background parameters (keys ``bg_c``, ``bg_slope``, ...).

    ``shirley`` needs the summed peaks on the data points and the data (for its grid).
    """
    if background == "none":
        return xp.zeros_like(u)
    if background == ANY_BACKGROUND:
        return _any_background(u, bg, peaks, data)
    out = bg["bg_c"] + xp.zeros_like(u)
    t = (u - 1.5) / 1.5
    if background == "linear":
        out = out + bg["bg_slope"] * t
    elif background.startswith("poly"):
        out = out + xp.tensordot(bg["bg_poly"], _legendre(t, int(background[4:]), xp), axes=([-1], [0]))
    elif background == "exponential":
        out = out + bg["bg_amp"] * xp.exp(-u / xp.exp(bg["bg_log_tau"]))
    elif background == "shirley":
        out = out + bg["bg_step"] * shirley_step(peaks, data, xp)
    return out


# ----------------------------------------------------------------------------------------------
# Priors


@dataclasses.dataclass(frozen=True)
class SpectrumPriors:
    """Priors in the sampler's normalised coordinates (u ∈ [0, 3], v = (y − y_0)/A).

    Attributes (each a tuple of the distribution's parameters):
        amplitude: (shape k, rate r) of a ~ Gamma(k, r) (the height of a component's strongest line).
        centre: (mean, sd) of μ ~ Normal.
        width: (shape k, rate r) of b ~ Gamma(k, r), b the inverse variance of the Gaussian.
        eta: (low, high) of the pseudo-Voigt mixing η ~ Uniform.
        asymmetry: (low, high) of the Doniach–Šunjić asymmetry α ~ Uniform.
        bg_c: (mean, sd) of the background level c ~ Normal.
        bg_slope: (mean, sd) of the linear background's slope ~ Normal (change over half the range);
            also each Legendre coefficient of a polynomial background and the Shirley step height.
        bg_amp: (mean, sd) of the exponential background's amplitude at u = 0 ~ Normal.
        bg_log_tau: (low, high) of log τ ~ Uniform (τ the decay length in u).
        splitting: (low, high) of a spin–orbit or quadrupole splitting ~ Uniform (u units).
        field: (low, high) of a sextet's hyperfine field ~ Uniform (tesla; x in mm/s).
        qshift: (mean, sd) of a sextet's quadrupole shift ε ~ Normal (mm/s).
        xratio: (low, high) of a sextet's middle-line area ratio x in 3:x:1 ~ Uniform (2 for a powder).
    """

    amplitude: tuple = (5.0, 5.0)
    centre: tuple = (1.5, math.sqrt(0.2))
    width: tuple = (5.0, 0.04)
    eta: tuple = (0.0, 1.0)
    asymmetry: tuple = (-0.4, 0.4)
    bg_c: tuple = (0.0, 1.0)
    bg_slope: tuple = (0.0, 1.0)
    bg_amp: tuple = (0.0, 2.0)
    bg_log_tau: tuple = (math.log(0.03), math.log(30.0))
    splitting: tuple = (0.0, 1.5)
    field: tuple = (0.0, 60.0)
    qshift: tuple = (0.0, 0.5)
    xratio: tuple = (0.0, 4.0)


#: The reference priors (Nagata 2012) in normalised coordinates.
DEFAULT_PRIORS = SpectrumPriors()


@functools.lru_cache(maxsize=256)
def spectrum_prior(num_peaks: int, shape: str = "gauss", background: str = "none",
                   priors: SpectrumPriors = DEFAULT_PRIORS, component: str = "peak") -> JointPrior:
    """The JointPrior of a model (one shared object per model structure and priors)."""
    k = (num_peaks,)
    comps = {
        "log_a": LogGamma(*priors.amplitude, shape=k),
        "log_b": LogGamma(*priors.width, shape=k),
        "mu": Normal(*priors.centre, shape=k),
    }
    if shape in MIXED_SHAPES:
        comps["eta"] = Uniform(*priors.eta, shape=k)
    if shape == "doniach":
        comps["alpha"] = Uniform(*priors.asymmetry, shape=k)
    if component in SPIN_ORBIT_RATIO:
        comps["so_split"] = Uniform(*priors.splitting)
    elif component == "doublet":
        comps["qsplit"] = Uniform(*priors.splitting, shape=k)
    elif component == "sextet":
        comps["field"] = Uniform(*priors.field, shape=k)
        comps["qshift"] = Normal(*priors.qshift, shape=k)
        comps["xratio"] = Uniform(*priors.xratio, shape=k)
    if background != "none":
        comps["bg_c"] = Normal(*priors.bg_c)
    if background == "linear":
        comps["bg_slope"] = Normal(*priors.bg_slope)
    elif background.startswith("poly"):
        comps["bg_poly"] = Normal(*priors.bg_slope, shape=(int(background[4:]),))
    elif background == "exponential":
        comps["bg_amp"] = Normal(*priors.bg_amp)
        comps["bg_log_tau"] = Uniform(*priors.bg_log_tau)
    elif background == "shirley":
        comps["bg_step"] = Normal(*priors.bg_slope)
    elif background == ANY_BACKGROUND:
        comps.update(bg_poly=Normal(*priors.bg_slope, shape=(3,)), bg_amp=Normal(*priors.bg_amp),
                     bg_log_tau=Uniform(*priors.bg_log_tau), bg_step=Normal(*priors.bg_slope))
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
    def from_data(cls, x, y, background: str = "none", x_range=None, sign: str = "positive") -> "Transform":
        """u ∈ [0, 3] over the data's x range (or ``x_range``); A = half the y range; y_0 = 0 without a
        background, else the 5th percentile of y (95th for absorption dips, ``sign="negative"``)."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        lo, hi = (float(x.min()), float(x.max())) if x_range is None else x_range
        sy = 0.5 * float(np.ptp(y)) if np.ptp(y) > 0 else 1.0
        y0 = 0.0 if background == "none" else float(np.quantile(y, 0.95 if sign == "negative" else 0.05))
        return cls(lo, (hi - lo) / 3.0, y0, sy)


def normalised_priors(overrides: dict | None, tr: Transform, component: str = "peak") -> SpectrumPriors:
    """The default priors (the hyperfine field's upper bound from the x range) with ``overrides``
    (data units, from ``physlaw.io.load_prior_toml``) mapped to u, v units."""
    p = {}
    if component == "sextet":
        # the outer lines of a sextet centred in the window stay inside it
        p["field"] = (0.0, float(min(60.0, 1.5 * tr.sx / SEXTET_PER_TESLA[-1])))
    for name, (a, b) in (overrides or {}).items():
        field = PRIOR_TOML_KEYS[name][0]
        if name == "amplitude":
            p[field] = (a, b * tr.sy)                    # a_v = a / sy: rate scales by sy
        elif name == "centre":
            p[field] = ((a - tr.x0) / tr.sx, b / tr.sx)
        elif name == "width":
            p[field] = (a, b / tr.sx**2)                 # b_u = b sx²: rate scales by 1/sx²
        elif name in ("eta", "hyperfine_field", "asymmetry"):
            p[field] = (a, b)
        elif name == "background_level":
            p[field] = ((a - tr.y0) / tr.sy, b / tr.sy)
        elif name in ("background_slope", "background_amplitude"):
            p[field] = (a / tr.sy, b / tr.sy)
        elif name == "background_log_decay":
            p[field] = (a - math.log(tr.sx), b - math.log(tr.sx))
        elif name == "splitting":
            p[field] = (a / tr.sx, b / tr.sx)
    return dataclasses.replace(DEFAULT_PRIORS, **p) if p else DEFAULT_PRIORS


# ----------------------------------------------------------------------------------------------
# Likelihood


class SpectrumData(NamedTuple):
    """Data in the sampler's units; ``log_jacobian`` = −n log A brings ℓ back to data units.

    ``counts`` = y / ``count_scale`` are the detector counts (the Poisson likelihood uses them with
    the mean ``(y0 + sy · model) / count_scale``; ``log_norm`` = Σ log counts_i!); ``count_scale`` is
    1 for raw counts and the lattice step of counts multiplied by a constant (a transmission or
    dwell-time correction). ``order``/``inverse``/``du`` sort the
    abscissa for the Shirley step; ``sx`` converts sampler units of x back to data units.
    """

    x: jnp.ndarray
    y: jnp.ndarray
    sigma: jnp.ndarray
    log_jacobian: jnp.ndarray
    counts: jnp.ndarray
    log_norm: jnp.ndarray
    y0: jnp.ndarray
    sy: jnp.ndarray
    sx: jnp.ndarray
    order: jnp.ndarray
    inverse: jnp.ndarray
    du: jnp.ndarray
    count_scale: jnp.ndarray
    active: jnp.ndarray | None = None
    sign: jnp.ndarray | None = None
    bg_terms: jnp.ndarray | None = None


class Structure(NamedTuple):
    """Everything that changes the compiled likelihood of a spectrum model."""

    num_peaks: int
    shape: str = "gauss"
    background: str = "none"
    component: str = "peak"
    likelihood: str = "gaussian"
    sign: str = "positive"


def _layout(num_peaks: int, shape: str, background: str, component: str = "peak"):
    """Offsets and sizes of each key in the flat vector (ravel_pytree sorts dict keys)."""
    prior = spectrum_prior(num_peaks, shape, background, DEFAULT_PRIORS, component)
    sizes = {name: math.prod(d.shape) for name, d in prior.components.items()}
    offsets, o = {}, 0
    for name in sorted(sizes):
        offsets[name] = o
        o += sizes[name]
    return offsets, sizes


def _index_kinds(num_peaks: int, shape: str, background: str, component: str):
    """For each flat index: 0 = one component's parameter (and which), 1 = background, 2 = shared by all components."""
    offsets, sizes = _layout(num_peaks, shape, background, component)
    dim = sum(sizes.values())
    kind, comp = np.zeros(dim, np.int32), np.zeros(dim, np.int32)
    for name, o in offsets.items():
        if name.startswith("bg"):
            kind[o:o + sizes[name]] = 1
        elif name in COMPONENT_GLOBALS.get(component, ()):
            kind[o:o + sizes[name]] = 2
        else:
            comp[o:o + sizes[name]] = np.arange(sizes[name])
    return kind, comp


def _unpack_flat(theta, num_peaks, shape, background, component="peak"):
    offsets, sizes = _layout(num_peaks, shape, background, component)
    scalar = lambda n: sizes[n] == 1 and (n.startswith("bg") or n in COMPONENT_GLOBALS.get(component, ()))  # noqa: E731
    return {name: theta[o] if scalar(name) else theta[o:o + sizes[name]] for name, o in offsets.items()}


def _log_likelihood_value(total, data: SpectrumData, likelihood: str):
    """ℓ of the model curve ``total`` (sampler units): Gaussian with σ_i, or Poisson counts (exact normalisation)."""
    if likelihood == "poisson":
        mean = jnp.maximum((data.y0 + data.sy * total) / data.count_scale, 1e-6)  # a floor keeps ℓ finite
        return jnp.sum(data.counts * jnp.log(mean) - mean) - data.log_norm
    r = (data.y - total) / data.sigma
    return -jnp.sum(0.5 * jnp.log(2 * jnp.pi * data.sigma**2)) - 0.5 * jnp.sum(r * r) + data.log_jacobian


def _active(data: SpectrumData, num_peaks: int):
    """[K] 1 for the components in use (a padded model uses the first ones), and the sign ±1 of the peaks."""
    active = jnp.ones(num_peaks) if data.active is None else data.active
    return active, (1.0 if data.sign is None else data.sign)


@functools.lru_cache(maxsize=128)
def _incremental(num_peaks: int, shape: str = "gauss", background: str = "none", component: str = "peak",
                 likelihood: str = "gaussian") -> Incremental:
    """The O(n) likelihood of K components; the components in use (``data.active``) and the sign of
    the peaks (``data.sign``) are data, so one compiled program serves every K ≤ ``num_peaks`` and
    both signs.

    The cache is (rows [K, n], background [n], total [n]). A move of coordinate j *proposes*
    (row [n], background, total, all rows): the new curve of the one component j belongs to, and the
    whole table only for a model with a parameter shared by every component (``()`` otherwise).
    ``select_fn`` writes the row into the table only when the move is accepted, so a move never copies
    the [K, n] table (half the cost of a sweep when it did)."""
    kind_np, comp_np = _index_kinds(num_peaks, shape, background, component)
    kinds = sorted({int(v) for v in kind_np})    # which branches this model needs: 0 component, 1 bg, 2 shared
    branch_np = np.searchsorted(kinds, kind_np).astype(np.int32)   # each coordinate's branch among those
    shared_rows = 2 in kinds

    def unpack(theta):
        return _unpack_flat(theta, num_peaks, shape, background, component)

    def bg_of(p, peaks, data):
        return background_curve(data.x, p, background, peaks=peaks, data=data)

    def init_fn(theta, data):
        p = unpack(theta)
        active, sgn = _active(data, num_peaks)
        comps = component_curves(p, data.x, component, shape, data.sx) * active[:, None].astype(data.x.dtype)
        peaks = sgn * comps.sum(0)
        bg = bg_of(p, peaks, data)
        return comps, bg, peaks + bg

    def update_fn(theta, j, cache, data):
        comps, bg, total = cache
        p = unpack(theta)
        comp = jnp.asarray(comp_np)[j]
        active, sgn = _active(data, num_peaks)
        rows = comps if shared_rows else ()

        def new_peak(_):
            k = comp
            shared = COMPONENT_GLOBALS.get(component, ())
            pk = {n: (v if n in shared else v[k][None]) for n, v in p.items() if not n.startswith("bg")}
            new = component_curves(pk, data.x, component, shape, data.sx)[0] * active[k].astype(data.x.dtype)
            peaks = total - bg + sgn * (new - comps[k])
            if background == ANY_BACKGROUND:  # only a Shirley step follows the peaks
                nbg = jax.lax.cond(data.bg_terms[5] > 0, lambda: bg_of(p, peaks, data), lambda: bg)
            else:
                nbg = bg_of(p, peaks, data) if background == "shirley" else bg
            return new, nbg, peaks + nbg, rows

        def new_bg(_):
            peaks = total - bg
            nbg = bg_of(p, peaks, data)
            return comps[0], nbg, peaks + nbg, rows

        def new_all(_):
            every, nbg, ntotal = init_fn(theta, data)
            return every[0], nbg, ntotal, every

        branches = {0: new_peak, 1: new_bg, 2: new_all}
        if len(kinds) == 1:
            return branches[kinds[0]](None)
        return jax.lax.switch(jnp.asarray(branch_np)[j], [branches[i] for i in kinds], None)

    def value_fn(cache, data):
        return _log_likelihood_value(cache[2], data, likelihood)

    def select_fn(ok, new, old, j):
        # the accepted move's row goes into the table (an O(n) slice update: a masked select over all K
        # rows made XLA thread a small op at K = 8); a background move keeps the table; a shared
        # parameter's move (kind 2) replaces every row
        kind, comp = jnp.asarray(kind_np)[j], jnp.asarray(comp_np)[j]
        comps = old[0].at[comp].set(jnp.where(ok & (kind == 0), new[0], old[0][comp]))
        if shared_rows:
            comps = jnp.where(ok & (kind == 2), new[3], comps)
        return comps, jnp.where(ok, new[1], old[1]), jnp.where(ok, new[2], old[2])

    return Incremental(init_fn, update_fn, value_fn, select_fn)


@functools.lru_cache(maxsize=128)
def _log_likelihood_fn(num_peaks: int, shape: str, background: str, component: str = "peak",
                       likelihood: str = "gaussian"):
    inc = _incremental(num_peaks, shape, background, component, likelihood)

    def log_likelihood(params, data):
        theta = jax.flatten_util.ravel_pytree(params)[0]
        return inc.value_fn(inc.init_fn(theta, data), data)

    return log_likelihood


def check_model(num_peaks: int, shape: str, background: str, component: str = "peak",
                likelihood: str = "gaussian", sign: str = "positive") -> None:
    if int(num_peaks) != num_peaks or num_peaks < 1:
        raise InputError(f"the number of peaks must be a positive integer, got {num_peaks!r}")
    for value, options, what in ((shape, SHAPES, "line shape"), (background, BACKGROUNDS, "background"),
                                 (component, COMPONENTS, "component"), (likelihood, LIKELIHOODS, "likelihood"),
                                 (sign, SIGNS, "sign")):
        if value not in options:
            raise InputError(f"unknown {what} {value!r}; choose one of {', '.join(options)}")
    if sign == "negative" and background == "none":
        raise InputError("absorption dips (sign negative) need a background to dip from; choose a background")
    if likelihood == "poisson" and background == "none" and sign == "negative":
        raise InputError("Poisson counts with dips need a background")


def spectrum_data(x, y, sigma, tr: Transform, dtype=None, count_scale: float = 1.0, sign: str = "positive",
                  active=None, background: str | None = None) -> SpectrumData:
    """The data in sampler units (``sigma`` None for a Poisson likelihood of the counts y / count_scale);
    ``active`` [K_max] marks the components in use of a padded model (None: all)."""
    dtype = dtype or jnp.result_type(float)
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    sig = np.ones_like(y) if sigma is None else np.broadcast_to(np.asarray(sigma, float), y.shape)
    u = (x - tr.x0) / tr.sx
    order = np.argsort(u, kind="stable")
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    from scipy.special import gammaln

    counts = np.maximum(np.round(y / count_scale), 0.0) if count_scale != 1.0 else np.maximum(y, 0.0)
    log_norm = float(np.sum(gammaln(counts + 1.0)))
    arr = lambda v: to_device(v, dtype)  # noqa: E731
    return SpectrumData(arr(u), arr((y - tr.y0) / tr.sy), arr(sig / tr.sy), arr(-y.size * math.log(tr.sy)),
                        arr(counts), arr(log_norm), arr(tr.y0), arr(tr.sy), arr(tr.sx), to_device(order),
                        to_device(inverse), arr(np.diff(u[order])), arr(count_scale),
                        None if active is None else arr(active), arr(-1.0 if sign == "negative" else 1.0),
                        None if background is None else arr(_BG_TERMS[background]))


def spectrum_target(x, y, sigma, num_peaks: int, *, shape: str = "gauss", background: str = "none",
                    priors="nagata", prior_overrides: dict | None = None, incremental: bool = True,
                    dtype=None, component: str = "peak", likelihood: str = "gaussian",
                    sign: str = "positive", count_scale: float = 1.0, pad_to: int | None = None,
                    any_background: bool = False) -> Target:
    """K components (peaks or multiplets) on a background as an exchange Monte Carlo target.

    Args:
        x, y: [n] the spectrum (x in any order; a sextet needs x in mm/s).
        sigma: the noise standard deviation (scalar or [n]); None with ``likelihood="poisson"``.
        num_peaks: K, the number of components.
        shape: ``gauss``, ``lorentz`` or ``voigt`` (of every line).
        background: one of ``BACKGROUNDS``.
        priors: ``"nagata"`` (the published priors in data units, for x ∈ [0, 3]), ``"auto"`` (the
            same rescaled to the data's ranges), or a ``Transform``.
        prior_overrides: ``{name: (p1, p2)}`` in data units (``physlaw.io.load_prior_toml``).
        incremental: use the O(n) component cache for one-parameter updates.
        dtype: float32 or float64 (default: JAX's default float).
        component: one of ``COMPONENTS``.
        likelihood: ``gaussian`` (σ) or ``poisson`` (y are counts).
        sign: ``positive`` (peaks) or ``negative`` (absorption dips below the background).
        count_scale: y / count_scale are the counts (``physlaw.measure.selection.count_scale``).
        pad_to: compile the model for this many components and use the first ``num_peaks`` (the
            others are masked out and not sampled): every K ≤ ``pad_to`` of a scan then shares one
            compiled program. The result is that of the K-component model.
        any_background: compile the model with every background's parameters (``ANY_BACKGROUND``),
            the unused ones masked out and not sampled: every background shares one program.
    """
    check_model(num_peaks, shape, background, component, likelihood, sign)
    if likelihood == "gaussian" and sigma is None:
        raise InputError("a Gaussian likelihood needs the noise sigma (or estimate it); counts take likelihood poisson")
    k = int(num_peaks)
    size = k if pad_to is None else int(pad_to)
    if size < k:
        raise InputError(f"pad_to ({pad_to}) must be at least the number of components ({k})")
    tr = model_transform(x, y, priors, background, sign)
    normalised = normalised_priors(prior_overrides, tr, component)
    compiled_bg = ANY_BACKGROUND if any_background else background
    prior = spectrum_prior(size, shape, compiled_bg, normalised, component)
    structure = (size, shape, compiled_bg, component, likelihood)
    data = spectrum_data(x, y, sigma if likelihood == "gaussian" else None, tr, dtype, count_scale, sign,
                         np.arange(size) < k, background if any_background else None)
    padding = {} if (size == k and not any_background) else dict(
        sampled=_sampled_indices(k, size, shape, background, component, compiled_bg),
        sampled_unravel=_unravel(k, shape, background, component))
    return Target.from_prior(prior, _log_likelihood_fn(*structure), data=data,
                             incremental=_incremental(*structure) if incremental else None,
                             relabel_fn=order_by_centre, **padding)


def _sampled_indices(k: int, size: int, shape: str, background: str, component: str,
                     compiled_bg: str | None = None) -> np.ndarray:
    """Where the K-component model's flat coordinates sit in the padded (``size`` components, background
    ``compiled_bg``) one; a linear background's slope is the first Legendre coefficient of ``any``."""
    off_k, sizes_k = _layout(k, shape, background, component)
    off_p, _ = _layout(size, shape, compiled_bg or background, component)
    where = lambda name: off_p["bg_poly" if name == "bg_slope" and name not in off_p else name]  # noqa: E731
    return np.concatenate([where(name) + np.arange(sizes_k[name]) for name in sorted(off_k)])


@functools.lru_cache(maxsize=256)
def _unravel(k: int, shape: str, background: str, component: str):
    """The unravel of the K-component model's flat vector (its parameter pytree)."""
    prior = spectrum_prior(k, shape, background, DEFAULT_PRIORS, component)
    return ravel_structure(jax.eval_shape(lambda: prior.sample(jax.random.key(0))))[1]


PEAK_PARAMETERS = ("log_a", "log_b", "mu", "eta", "alpha", "field", "qshift", "xratio", "qsplit")


order_by_centre = SortComponents("mu", PEAK_PARAMETERS)
"""The same parameters with the components relabelled in order of increasing centre ``mu``.
Per-component leaves (``PEAK_PARAMETERS``) are permuted along their last axis (so a joint
target's [datasets, K] leaves work too); everything else is unchanged."""


def model_transform(x, y, priors, background: str, sign: str = "positive") -> Transform:
    if isinstance(priors, Transform):
        return priors
    if priors == "nagata":
        return Transform.identity()
    if priors == "auto":
        return Transform.from_data(x, y, background, sign=sign)
    raise InputError(f"priors must be 'nagata', 'auto' or a Transform, got {priors!r}")


# ----------------------------------------------------------------------------------------------
# Posterior in data units, ordered by centre


def physical_samples(post: dict, tr: Transform, shape: str, background: str, component: str = "peak") -> dict:
    """Posterior draws in data units with components ordered by centre.

    Args:
        post: the posterior pytree with leaves [..., K] / [...] (e.g. ``result.posterior()`` flattened).

    Returns:
        ``{"amplitude": [N, K], "centre": [N, K], "fwhm": [N, K], "area": [N, K], ("eta", "field",
        "quadrupole_shift", "line_ratio", "splitting": [N, K]), background keys: [N]}``, N the number
        of draws, components sorted by centre in each draw. ``area`` sums a multiplet's lines;
        ``amplitude`` is the height of its strongest line.
    """
    mu = np.asarray(post["mu"]).reshape(-1, np.shape(post["mu"])[-1])
    n = mu.shape[0]
    order = np.argsort(mu, axis=1)
    take = lambda v: np.take_along_axis(np.asarray(v).reshape(mu.shape), order, axis=1)  # noqa: E731
    flat = lambda k: np.asarray(post[k]).reshape(n)  # noqa: E731
    a = tr.sy * np.exp(take(post["log_a"]))
    b = np.exp(take(post["log_b"])) / tr.sx**2
    out = {"amplitude": a, "centre": tr.x0 + tr.sx * take(post["mu"]), "fwhm": 2 * np.sqrt(2 * _LN2 / b)}
    g_area = a * np.sqrt(2 * np.pi / b)
    l_area = a * np.pi * 0.5 * out["fwhm"]
    if shape == "voigt":
        out["eta"] = take(post["eta"])
        out["area"] = out["eta"] * l_area + (1 - out["eta"]) * g_area
    elif shape == "doniach":
        out["eta"] = take(post["eta"])
        out["asymmetry"] = take(post["alpha"])
        out["area"] = _window_area(out, tr)
    else:
        out["area"] = g_area if shape == "gauss" else l_area
    if component != "peak":
        p = {"mu": take(post["mu"])}
        for name in COMPONENT_PARAMETERS[component]:
            p[name] = take(post[name])
        if component in SPIN_ORBIT_RATIO:
            p["so_split"] = flat("so_split")
        _, w = component_lines(p, component, tr.sx, np)
        out["area"] = out["area"] * w.sum(-1)
        if component == "sextet":
            out["field"] = p["field"]
            out["quadrupole_shift"] = p["qshift"]
            out["line_ratio"] = p["xratio"]
        elif component == "doublet":
            out["splitting"] = tr.sx * p["qsplit"]
        else:
            out["splitting"] = np.repeat((tr.sx * p["so_split"])[:, None], mu.shape[1], axis=1)
    if background != "none":
        out["background_level"] = tr.y0 + tr.sy * flat("bg_c")
    if background == "linear":
        out["background_slope"] = tr.sy * flat("bg_slope") / (1.5 * tr.sx)
    elif background.startswith("poly"):
        coef = np.asarray(post["bg_poly"]).reshape(n, -1)
        for j in range(coef.shape[1]):
            out[f"background_legendre_{j + 1}"] = tr.sy * coef[:, j]
    elif background == "exponential":
        out["background_amplitude"] = tr.sy * flat("bg_amp")
        out["background_decay"] = tr.sx * np.exp(flat("bg_log_tau"))
    elif background == "shirley":
        out["background_step"] = tr.sy * flat("bg_step")
    return out


def _window_area(phys: dict, tr: Transform, num: int = 601) -> np.ndarray:
    """[N, K] area of each Doniach–Šunjić pseudo-Voigt line over the window u ∈ [0, 3] (trapezoid rule
    in data units; the DS tail is not integrable over the whole line)."""
    from scipy.integrate import trapezoid

    u = np.linspace(0.0, 3.0, num)
    mu = (phys["centre"] - tr.x0) / tr.sx
    b = 8 * _LN2 / phys["fwhm"] ** 2 * tr.sx**2
    out = np.empty_like(mu)
    for k in range(mu.shape[1]):   # one component at a time keeps the [N, num] table small
        g = peak_shape(u, mu[:, k, None], b[:, k, None], phys["eta"][:, k, None], "doniach", np,
                       phys["asymmetry"][:, k, None])
        out[:, k] = phys["amplitude"][:, k] * trapezoid(g, u, axis=1) * tr.sx
    return out


def model_curves(phys: dict, x, shape: str, background: str, tr: Transform, component: str = "peak",
                 sign: str = "positive"):
    """Component curves [N, K, m] (signed: dips are negative) and background [N, m] on the grid ``x``
    from ``physical_samples``."""
    u = (np.asarray(x, float) - tr.x0) / tr.sx
    p = {"log_a": np.log(phys["amplitude"] / tr.sy), "mu": (phys["centre"] - tr.x0) / tr.sx,
         "log_b": np.log(8 * _LN2 / phys["fwhm"] ** 2 * tr.sx**2), "eta": phys.get("eta", np.zeros_like(phys["centre"])),
         "alpha": phys.get("asymmetry", np.zeros_like(phys["centre"]))}
    if component == "sextet":
        p.update(field=phys["field"], qshift=phys["quadrupole_shift"], xratio=phys["line_ratio"])
    elif component == "doublet":
        p["qsplit"] = phys["splitting"] / tr.sx
    elif component in SPIN_ORBIT_RATIO:
        p["so_split"] = phys["splitting"][:, 0] / tr.sx
    comps = (-tr.sy if sign == "negative" else tr.sy) * component_curves(p, u, component, shape, tr.sx, np)
    n = comps.shape[0]
    bg = np.zeros((n, u.size))
    if background != "none":
        bg = bg + phys["background_level"][:, None]
    t = (u - 1.5) / 1.5
    if background == "linear":
        bg = bg + phys["background_slope"][:, None] * (x[None, :] - (tr.x0 + 1.5 * tr.sx))
    elif background.startswith("poly"):
        leg = _legendre(t, int(background[4:]), np)
        coef = np.stack([phys[f"background_legendre_{j + 1}"] for j in range(leg.shape[0])], 1)
        bg = bg + coef @ leg
    elif background == "exponential":
        bg = bg + phys["background_amplitude"][:, None] * np.exp(-(x[None, :] - tr.x0) / phys["background_decay"][:, None])
    elif background == "shirley":
        order = np.argsort(u, kind="stable")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        grid = type("Grid", (), {"order": order, "inverse": inverse, "du": np.diff(u[order])})
        bg = bg + phys["background_step"][:, None] * shirley_step(comps.sum(1) / tr.sy, grid, np)
    return comps, bg
