"""Linear-in-the-coefficients regression models, exactly solvable (Katakami et al., arXiv:2406.02869, 2024).

Models (``MODELS``):

* ``ax``: y = a x + ε;  ``ax+b``: y = a x + b + ε;
* ``poly2`` … ``poly5``: y = polynomial of degree d in x + ε.

Noise ε_i ~ N(0, σ_i²). Every model is y = Φ w + ε with a design matrix Φ and independent Normal
priors w_j ~ N(0, S_j²), so everything is closed form (``exact_linear``):

* free energy ``F = −log p(D) = (n/2) log 2π + ½ log det C + ½ yᵀ C⁻¹ y``, ``C = Σ + Φ S0 Φᵀ``,
  Σ = diag(σ_i²), S0 = diag(S_j²);
* posterior ``w | D ~ N(m, V)``, ``V = (S0⁻¹ + Φᵀ Σ⁻¹ Φ)⁻¹``, ``m = V Φᵀ Σ⁻¹ y``.

**Bases.** ``ax`` and ``ax+b`` use the columns x (and 1) as written. The polynomials use Legendre
polynomials P_j(u) of the standardised abscissa ``u = (x − x_mid)/x_half`` ∈ [−1, 1] (``Basis``):
nearly orthogonal columns, so the sampler mixes well and the coefficients of an x of size 10⁶
(NIST Pontius) are of the same size as those of an x of size 1. Posterior draws are mapped exactly
(a fixed linear map) to the monomial coefficients c_0 … c_d of y = Σ c_k x^k for reporting.

**Default priors** (``prior_scales``): from the data's own scale, so that a user need not choose
them. With Y = max|y| and X = max|x|: ``ax``: a ~ N(0, (s Y/X)²); ``ax+b``: a as for ``ax``,
b ~ N(0, (s Y)²); ``polyd``: each Legendre coefficient ~ N(0, (s Y)²) (|P_j| ≤ 1 on the data's
range, so s Y bounds any plausible contribution). s = ``DEFAULT_RELATIVE_SCALE`` = 10. Passing an
absolute ``prior_scale`` (the older interface) gives every coefficient N(0, S²) in the model's own
basis instead.

``linear_target`` gives the same model to the exchange Monte Carlo engine, so the sampled answers
can be checked against the exact ones; ``candidates`` builds ``selection.Candidate`` objects and
The result type ``Regression`` of ``physlaw.measure.regression.regress`` is built from these pieces.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.measure.selection import Candidate
from physlaw.priors import JointPrior, Normal
from physlaw.sampling import Target, to_device

MODELS = ("ax", "ax+b", "poly2", "poly3", "poly4", "poly5")
#: The models ``regress`` fits by default (``--model all``).
DEFAULT_MODELS = ("ax", "ax+b", "poly2", "poly3")
#: The absolute prior scale S of the original two-model interface (``exact_linear(..., prior_scale=S)``).
DEFAULT_PRIOR_SCALE = 10.0
#: s in the data-scaled default priors (module docstring): coefficients ~ N(0, (s · data scale)²).
DEFAULT_RELATIVE_SCALE = 10.0

LABELS = {"ax": "y = a x", "ax+b": "y = a x + b", "poly2": "quadratic", "poly3": "cubic", "poly4": "quartic",
          "poly5": "quintic"}


def degree(model: str) -> int:
    """The polynomial degree of a model name (``ax`` and ``ax+b``: 1)."""
    _check(model)
    return 1 if model in ("ax", "ax+b") else int(model[4:])


def _check(model: str) -> None:
    if model not in MODELS:
        raise InputError(f"unknown regression model {model!r}; choose from {', '.join(MODELS)} or all")


def parse_models(text: str) -> tuple[str, ...]:
    """``"all"``, one name or a comma-separated list (``"ax+b,poly2"``) → model names, in order, once each."""
    names = []
    for part in str(text).split(","):
        part = part.strip()
        if part == "all":
            names += DEFAULT_MODELS
        elif part == "both":  # the older spelling of --model
            names += ("ax", "ax+b")
        else:
            _check(part)
            names.append(part)
    if not names:
        raise InputError("no regression model given; choose from " + ", ".join(MODELS) + " or all")
    return tuple(dict.fromkeys(names))


class Basis(NamedTuple):
    """The abscissa transform of the polynomial models: u = (x − mid) / half ∈ [−1, 1]."""

    mid: float
    half: float

    @classmethod
    def from_data(cls, x) -> "Basis":
        x = np.asarray(x, dtype=np.float64)
        lo, hi = float(np.min(x)), float(np.max(x))
        half = 0.5 * (hi - lo)
        return cls(0.5 * (hi + lo), half if half > 0 else 1.0)


def coefficient_names(model: str) -> tuple[str, ...]:
    """The sampler's parameter names: ``a`` (``b``) for the straight lines, ``l0 … ld`` (Legendre) otherwise."""
    _check(model)
    if model == "ax":
        return ("a",)
    if model == "ax+b":
        return ("a", "b")
    return tuple(f"l{j}" for j in range(degree(model) + 1))


def design_matrix(x, model: str, basis: Basis | None = None) -> np.ndarray:
    """Φ [n, k]: columns x (and 1) for ``ax`` (``ax+b``); P_0(u) … P_d(u) for ``polyd``."""
    _check(model)
    x = np.asarray(x, dtype=np.float64)
    if model == "ax":
        return x[:, None]
    if model == "ax+b":
        return np.stack([x, np.ones_like(x)], axis=1)
    basis = basis or Basis.from_data(x)
    u = (x - basis.mid) / basis.half
    return np.polynomial.legendre.legvander(u, degree(model))


def prior_scales(x, y, model: str, relative: float = DEFAULT_RELATIVE_SCALE) -> np.ndarray:
    """The data-scaled default prior standard deviations S_j of the model's coefficients (module docstring)."""
    _check(model)
    y_scale = float(np.max(np.abs(y))) or 1.0
    x_scale = float(np.max(np.abs(x))) or 1.0
    if model == "ax":
        return np.array([relative * y_scale / x_scale])
    if model == "ax+b":
        return np.array([relative * y_scale / x_scale, relative * y_scale])
    return np.full(degree(model) + 1, relative * y_scale)


def _scales(x, y, model, prior_scale, relative: float = DEFAULT_RELATIVE_SCALE) -> np.ndarray:
    k = len(coefficient_names(model))
    if prior_scale is None:
        if not (np.isfinite(relative) and relative > 0):
            raise InputError(f"the relative prior scale must be a positive number, got {relative!r}")
        return prior_scales(x, y, model, relative)
    s = np.broadcast_to(np.asarray(prior_scale, dtype=np.float64), (k,)).copy()
    if not np.all(np.isfinite(s) & (s > 0)):
        raise InputError(f"prior scales must be positive numbers, got {prior_scale!r}")
    return s


class ExactLinear(NamedTuple):
    """Closed-form answers of a linear model: free energy, posterior mean and covariance (sampler coordinates)."""

    free_energy: float
    mean: np.ndarray
    cov: np.ndarray
    names: tuple[str, ...]


def exact_linear(x, y, sigma, model: str, prior_scale=DEFAULT_PRIOR_SCALE, basis: Basis | None = None) -> ExactLinear:
    """The exact free energy and posterior of a linear model (see the module docstring).

    Args:
        x, y: [n] data.
        sigma: noise standard deviation, a scalar or [n] per-point values.
        model: a name from ``MODELS``.
        prior_scale: S, the prior standard deviation of every coefficient (a number or one per
            coefficient); None for the data-scaled defaults (``prior_scales``).
        basis: the polynomial models' abscissa transform (default ``Basis.from_data(x)``).
    """
    names = coefficient_names(model)
    y = np.asarray(y, dtype=np.float64)
    phi = design_matrix(x, model, basis)
    n, k = phi.shape
    var = np.broadcast_to(np.asarray(sigma, dtype=np.float64) ** 2, (n,))
    s0 = np.diag(_scales(x, y, model, prior_scale) ** 2)
    c = np.diag(var) + phi @ s0 @ phi.T
    _, logdet = np.linalg.slogdet(c)
    f = 0.5 * n * np.log(2 * np.pi) + 0.5 * logdet + 0.5 * y @ np.linalg.solve(c, y)
    prec = np.linalg.inv(s0) + phi.T @ (phi / var[:, None])
    cov = np.linalg.inv(prec)
    mean = cov @ (phi.T @ (y / var))
    return ExactLinear(float(f), mean, cov, names)


def least_squares_rms(x, y, model: str) -> float:
    """√(RSS / (n − k)) of the least-squares fit: the noise scale the model leaves."""
    phi = design_matrix(x, model)
    coef, *_ = np.linalg.lstsq(phi, np.asarray(y, float), rcond=None)
    r = np.asarray(y, float) - phi @ coef
    return float(np.sqrt(np.sum(r**2) / max(len(r) - phi.shape[1], 1)))


def monomial_map(model: str, basis: Basis | None) -> np.ndarray:
    """M [d+1, k] with c = M w: the monomial coefficients c_0 … c_d of y = Σ c_k x^k from the sampler's w."""
    names = coefficient_names(model)
    if model == "ax":
        return np.array([[0.0], [1.0]])
    if model == "ax+b":
        return np.array([[0.0, 1.0], [1.0, 0.0]])
    d = len(names) - 1
    out = np.zeros((d + 1, d + 1))
    shift = np.polynomial.Polynomial([-basis.mid / basis.half, 1.0 / basis.half])   # u(x)
    for j in range(d + 1):
        in_u = np.polynomial.Polynomial(np.polynomial.legendre.leg2poly(np.eye(d + 1)[j]))
        coef = in_u(shift).coef                                                       # P_j(u(x)) in powers of x
        out[: coef.size, j] = coef
    return out


def gaussian_log_likelihood(residual, sigma):
    """Full Gaussian log-likelihood, ``−Σ_i [½ log 2πσ_i² + r_i²/(2σ_i²)]``."""
    return -jnp.sum(0.5 * jnp.log(2 * jnp.pi * sigma**2) + 0.5 * (residual / sigma) ** 2)


@functools.lru_cache(maxsize=64)
def _prior(names: tuple[str, ...], scales: tuple[float, ...]) -> JointPrior:
    # one object per (model, scales): the engine reuses its compiled sampler for the same functions
    return JointPrior({name: Normal(0.0, s) for name, s in zip(names, scales)})


@functools.lru_cache(maxsize=16)
def _log_likelihood(names: tuple[str, ...]):
    # one function per model: the engine reuses its compiled sampler for the same functions
    def log_likelihood(p, data):
        phi, y, sigma = data
        w = jnp.stack([p[n] for n in names], axis=-1)
        return gaussian_log_likelihood(y - phi @ w, sigma)

    return log_likelihood


def linear_target(x, y, sigma, model: str, prior_scale=DEFAULT_PRIOR_SCALE, dtype=None,
                  basis: Basis | None = None) -> Target:
    """The model as an exchange Monte Carlo target (parameters ``coefficient_names(model)``).

    ``sigma`` is a scalar or per-point [n] noise standard deviation; ``prior_scale`` as in
    :func:`exact_linear`.
    """
    names = coefficient_names(model)
    dtype = dtype or jnp.result_type(float)
    scales = tuple(float(s) for s in _scales(x, y, model, prior_scale))
    y = jnp.asarray(y, dtype)
    data = (jnp.asarray(design_matrix(x, model, basis), dtype), y, jnp.broadcast_to(jnp.asarray(sigma, dtype), y.shape))
    return Target.from_prior(_prior(names, scales), _log_likelihood(names), data=data)


# ----------------------------------------------------------------------------------------------
# Candidates and the result type of ``regress``


@functools.lru_cache(maxsize=8)
def _standard_prior(width: int) -> JointPrior:
    # one object per width: every model of a comparison shares the compiled sampler
    return JointPrior({"z": Normal(0.0, 1.0, shape=(width,))})


def _standard_log_likelihood(p, data):
    scaled_phi, y, sigma = data   # Φ_j S_j, zero columns beyond the model's coefficients
    return gaussian_log_likelihood(y - scaled_phi @ p["z"], sigma)


@functools.lru_cache(maxsize=16)
def _named(names: tuple[str, ...]):
    def unravel(v):  # the sampled z_0 .. z_{k-1} under the model's coefficient names
        return {n: v[j] for j, n in enumerate(names)}

    return unravel


def padded_target(x, y, sigma, model: str, scales, basis: Basis, width: int) -> Target:
    """The model as a selection runs it: one compiled sampler for every model of the comparison.

    The coefficients are standardised, w_j = S_j z_j with z_j ~ N(0, 1) (the same model and free
    energy as :func:`linear_target`: a linear change of variables of a normalised prior), and padded
    to ``width`` coordinates whose design columns are zero and which are not sampled. The samples
    are z: multiply by the scales S (``rescale``) for the coefficients in the model's basis.
    """
    names = coefficient_names(model)
    phi = design_matrix(x, model, basis) * np.asarray(scales)[None, :]
    padded = np.zeros((phi.shape[0], width))
    padded[:, : phi.shape[1]] = phi
    dtype = jnp.result_type(float)
    y = np.asarray(y, dtype)   # converted on the host: no eager program compiled
    data = (to_device(padded, dtype), to_device(y), to_device(np.broadcast_to(np.asarray(sigma, dtype), y.shape)))
    return Target.from_prior(_standard_prior(width), _standard_log_likelihood, data=data,
                             sampled=range(len(names)), sampled_unravel=_named(names))


def rescale(result, scales):
    """A run of :func:`padded_target` with its samples turned from z into the coefficients w = S z."""
    return replace(result, samples=np.asarray(result.samples) * np.asarray(scales, dtype=float))


def candidates(x, y, models=DEFAULT_MODELS, prior_scale=None,
               relative_scale: float = DEFAULT_RELATIVE_SCALE) -> list[Candidate]:
    """One ``selection.Candidate`` per model; ``info`` holds the degree, prior scales and basis.

    The targets are padded targets (:func:`padded_target`) of one width (the largest model's); each candidate's
    ``finish`` (:func:`rescale`) turns the standardised draws into the coefficients.

    ``prior_scale``: an absolute S for every coefficient, or None for the data-scaled defaults with
    ``relative_scale`` s (module docstring)."""
    basis = Basis.from_data(x)
    width = max(len(coefficient_names(m)) for m in models)
    out = []
    for m in models:
        scales = _scales(x, y, m, prior_scale, relative_scale)
        info = {"model": m, "degree": degree(m), "label": LABELS[m], "coefficients": list(coefficient_names(m)),
                "prior_scales": scales.tolist(),
                "basis": "raw x" if m in ("ax", "ax+b") else
                f"Legendre P_j(u), u = (x - {basis.mid:.6g}) / {basis.half:.6g}"}
        out.append(Candidate(m, info, functools.partial(_make_target, np.asarray(x, float), np.asarray(y, float),
                                                          m, tuple(scales), basis, width),
                             finish=functools.partial(rescale, scales=tuple(scales))))
    return out


def _make_target(x, y, model, scales, basis, width, sigma):
    return padded_target(x, y, sigma, model, scales, basis, width)
