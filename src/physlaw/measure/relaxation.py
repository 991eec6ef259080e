"""NMR relaxation mode decomposition (Ueda et al., JPSJ 92, 054002 (2023)), for decays and recoveries.

With g_k(t) = exp(−(t/T_k)^{β_k}) (β_k = 1: exponential; β_k ∈ (0, 1]: stretched) and noise
ε ~ N(0, σ²), three experiments (``EXPERIMENTS``), each with its sign convention and offset:

* ``decay`` (CPMG / spin echo T2, or any free decay):  m(t) = Σ_k A_k g_k(t) + C,  A_k > 0;
* ``saturation`` recovery (T1):  m(t) = Σ_k M_k (1 − g_k(t)),  M_k > 0 (starts at 0, rises to Σ M_k);
* ``inversion`` recovery (T1):  m(t) = Σ_k M_k (1 − 2 f g_k(t)),  M_k > 0, f ∈ [½, 1] the inversion
  efficiency shared by the modes (starts near −Σ M_k for f = 1; f = ½ is a saturation recovery).

``experiment="auto"`` decides from the data: a curve that falls (mean of its first fifth in time
above that of its last fifth) is a decay; one that rises is an inversion recovery when it starts
clearly below zero (its smallest value below −0.1 max |m|), a saturation recovery otherwise.
(Comparing the experiments by the free energy instead is ``experiment="recovery"``: saturation and
inversion are both fitted, at twice the cost.) The time constant is labelled ``T1``
for recoveries, ``T`` for decays by default (``quantity="T2"`` for a CPMG/echo train).

The number of modes K is grown by ``selection.scan`` (from 1 until F has clearly passed its
minimum, up to ``limit``; or K = kmin..kmax when kmax is given); a selected K at the largest K
tried carries a warning in words. The noise is estimated over the temperature ladder when no σ is
given. Each (experiment, shape) pair is one family of the scan.

The sampler works in ``τ = t / t_ref`` (t_ref the geometric mean of the smallest positive and the
largest time) and ``v = m / s`` (s = max |m|), with the Jacobian −n log s in the likelihood (free
energies are those of the data in their own units). Priors there:

* log W_k (W = 1/T) ~ Uniform(log 1/(100 t_max), log 100/t_min): time constants from a hundredth of
  the first time to a hundred times the last, so that a mode slower than the window (NIST Misra1a,
  T ≈ 1818 for t ≤ 790) is inside the prior; when the posterior of T reaches the prior's edge, the
  result says that the data give only a bound on T;
* decay: A_k ~ Uniform(0, 4 s), C ~ Normal(0, s²); recoveries: the part of each mode recovered within
  the window, r_k = M_k (1 − g_k(t_max)) ~ Uniform(0, 4 s) (sampled instead of M_k: a recovery far
  from complete has M_k ≫ max |m| and M_k strongly tied to T_k, while r_k is what the data show);
  f ~ Uniform(½, 1); β_k ~ Uniform(0, 1).

Modes are exchangeable; summaries are made on the labelling ordered by rate (fastest first).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.measure.selection import parameter_summary
from physlaw.measure.selection import (
    Candidate, Selection, correlated_noise_floor, evidence_words, noise_scale_guess, scan, single_precision_floor)
from physlaw.priors import JointPrior, Normal, Uniform
from physlaw.sampling import LinearPart, SortComponents, Target

EXPERIMENTS = ("decay", "saturation", "inversion")
QUANTITIES = ("T1", "T2", "T")
#: Time constants in the prior: from t_min / SPAN to SPAN · t_max.
SPAN = 100.0
#: Upper bound of the amplitude priors in units of max |m| (A_k of decays, r_k of recoveries).
AMPLITUDE_MAX = 4.0
#: The largest K the scan tries when no kmax is given.
DEFAULT_LIMIT = 6

_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
_EXPERIMENT_WORDS = {"decay": "decay", "saturation": "saturation recovery", "inversion": "inversion recovery"}


class RelaxationTransform(NamedTuple):
    """Sampler units: τ = t / t_ref, v = m / sy; the log-rate prior's bounds (in 1/t_ref)."""

    t_ref: float
    y0: float          # kept for the older interface; 0 (v is not centred)
    sy: float
    log_w_low: float
    log_w_high: float
    t_min: float = 0.0
    t_max: float = 0.0

    @classmethod
    def from_data(cls, t, y) -> "RelaxationTransform":
        t = np.asarray(t, float)
        pos = t[t > 0]
        t_min, t_max = float(pos.min()), float(t.max())
        t_ref = math.sqrt(t_min * t_max)
        sy = float(np.max(np.abs(y))) or 1.0
        # rates in units of 1/t_ref, rounded to 1e-6 so equal grids share one prior object
        lo, hi = round(math.log(t_ref / (SPAN * t_max)), 6), round(math.log(SPAN * t_ref / t_min), 6)
        return cls(t_ref, 0.0, sy, lo, hi, t_min, t_max)

    @property
    def time_range(self) -> tuple[float, float]:
        """The smallest and largest time constant the prior allows (data units)."""
        return self.t_ref * math.exp(-self.log_w_high), self.t_ref * math.exp(-self.log_w_low)


@functools.lru_cache(maxsize=64)
def relaxation_prior(num_components: int, stretched: bool, log_w_low: float, log_w_high: float,
                     experiment: str = "decay") -> JointPrior:
    k = (num_components,)
    comps = {"amp": Uniform(0.0, AMPLITUDE_MAX, shape=k)}
    if experiment == "decay":
        comps["c"] = Normal(0.0, 1.0)
    else:
        if experiment == "inversion":
            comps["f"] = Uniform(0.5, 1.0)
    comps["log_w"] = Uniform(log_w_low, log_w_high, shape=k)
    if stretched:
        comps["beta"] = Uniform(0.0, 1.0, shape=k)
    return JointPrior(comps)


class RelaxationData(NamedTuple):
    t: jnp.ndarray
    y: jnp.ndarray
    sigma: jnp.ndarray
    log_jacobian: jnp.ndarray
    t_max: jnp.ndarray


def _exponent(p, t, xp=jnp):
    """(W_k t)^β_k [..., K, n] (t may be a scalar)."""
    arg = xp.exp(p["log_w"])[..., :, None] * t
    if "beta" in p:
        arg = arg ** p["beta"][..., :, None]
    return arg


def recovery_amplitude(p, t_max, xp=jnp):
    """M_k = r_k / (1 − g_k(t_max)) [..., K] from the sampled window amplitudes r_k (sampler units)."""
    return p["amp"] / (-xp.expm1(-_exponent(p, t_max, xp)[..., 0]))


def _curve(p, t, t_max, xp=jnp):
    """m(t) in sampler units; the experiment is told by the parameters present (``c``: decay, ``f``: inversion)."""
    g = xp.exp(-_exponent(p, t, xp))
    if "c" in p:
        return xp.sum(p["amp"][..., :, None] * g, axis=-2) + p["c"][..., None]
    m = recovery_amplitude(p, t_max, xp)[..., :, None]
    if "f" in p:
        return xp.sum(m * (1.0 - 2.0 * p["f"][..., None, None] * g), axis=-2)
    return xp.sum(-m * xp.expm1(-_exponent(p, t, xp)), axis=-2)


def _log_likelihood(p, data: RelaxationData):
    r = (data.y - _curve(p, data.t, data.t_max)) / data.sigma
    return -jnp.sum(0.5 * jnp.log(2 * jnp.pi * data.sigma**2)) - 0.5 * jnp.sum(r * r) + data.log_jacobian


def relaxation_target(t, y, sigma, num_components: int, stretched: bool, tr: RelaxationTransform | None = None,
                      dtype=None, experiment: str = "decay") -> Target:
    """The relaxation model with K components of one experiment as an exchange Monte Carlo target."""
    if int(num_components) != num_components or num_components < 1:
        raise InputError(f"the number of components must be a positive integer, got {num_components!r}")
    if experiment not in EXPERIMENTS:
        raise InputError(f"unknown experiment {experiment!r}; choose from {', '.join(EXPERIMENTS)} or auto")
    tr = tr or RelaxationTransform.from_data(t, y)
    dtype = dtype or jnp.result_type(float)
    y = np.asarray(y, float)
    sigma = np.broadcast_to(np.asarray(sigma, float), y.shape)
    data = RelaxationData(jnp.asarray(np.asarray(t, float) / tr.t_ref, dtype), jnp.asarray(y / tr.sy, dtype),
                          jnp.asarray(sigma / tr.sy, dtype), jnp.asarray(-y.size * math.log(tr.sy), dtype),
                          jnp.asarray(tr.t_max / tr.t_ref, dtype))
    prior = relaxation_prior(int(num_components), bool(stretched), tr.log_w_low, tr.log_w_high, experiment)
    return Target.from_prior(prior, _log_likelihood, data=data, relabel_fn=order_by_rate,
                             linear=_LINEAR_DECAY if experiment == "decay" else _LINEAR_RECOVERY)


def _mean(p, data: RelaxationData):
    return _curve(p, data.t, data.t_max)


def _observed(data: RelaxationData):
    return data.y, data.sigma


# The curve is linear in the amplitudes (and a decay's offset): the "correlated" moves draw them exactly.
_LINEAR_DECAY = LinearPart(("amp", "c"), _mean, _observed)
_LINEAR_RECOVERY = LinearPart(("amp",), _mean, _observed)


MODE_PARAMETERS = ("amp", "log_w", "beta")


order_by_rate = SortComponents("log_w", MODE_PARAMETERS, descending=True)
"""The same parameters with the modes relabelled fastest first (decreasing ``log_w``); the
sampler's R-hat and ESS are computed on this labelling, as the summaries are."""


def relaxation_model_name(num_components: int, stretched: bool, experiment: str = "decay") -> str:
    """``K2-exponential`` (decays), ``K1-stretched-inversion`` (recoveries name their experiment)."""
    base = f"K{num_components}-{'stretched' if stretched else 'exponential'}"
    return base if experiment == "decay" else f"{base}-{experiment}"


def choose_experiments(t, y, experiment: str = "auto") -> tuple[str, ...]:
    """The experiments to fit: the one asked for; ``recovery``: (saturation, inversion), compared by F;
    ``auto``: decay for a falling curve (first fifth of the times against the last fifth), inversion for
    a rising one that starts clearly below zero (min m < −0.1 max |m|), saturation otherwise."""
    if experiment == "recovery":
        return ("saturation", "inversion")
    if experiment != "auto":
        if experiment not in EXPERIMENTS:
            raise InputError(f"unknown experiment {experiment!r}; choose from {', '.join(EXPERIMENTS)}, "
                             "recovery or auto")
        return (experiment,)
    order = np.argsort(np.asarray(t, float), kind="stable")
    ys = np.asarray(y, float)[order]
    m = max(1, ys.size // 5)
    if ys[:m].mean() > ys[-m:].mean():
        return ("decay",)
    return ("inversion",) if ys.min() < -0.1 * np.max(np.abs(ys)) else ("saturation",)


class RelaxationAnalysis(Selection):
    """``analyse_relaxation``'s result: a ``Selection`` plus the data, the transform and the labels.

    Contract attributes for the one writer: ``x`` (= ``t``), ``y``, ``sigma``, ``likelihood``,
    ``plot_style``, ``parameter_summaries``, ``marginals``, ``predictive``, ``verdict``.
    """

    likelihood = "gaussian"

    def __init__(self, fits, selected, noise_estimated, warnings=None, *, t=None, y=None, sigma=None,
                 transform: RelaxationTransform | None = None, quantity: str = "T1",
                 experiments: tuple[str, ...] = ("decay",)):
        super().__init__(list(fits), selected, noise_estimated, list(warnings or []))
        self.t = np.asarray(t, float)
        self.y = np.asarray(y, float)
        self.sigma = sigma
        self.transform = transform
        self.quantity = quantity
        self.experiments = tuple(experiments)
        self.plot_style = {"xlabel": "t", "ylabel": "m(t)", "xscale": "log", "component_label": "mode"}
        self.warnings.extend(self._bound_warnings())

    @property
    def x(self) -> np.ndarray:
        return self.t

    def physical(self, name: str | None = None) -> dict:
        """Draws in data units, modes ordered by rate (fastest first): ``amplitude``, ``T`` (also under the
        quantity's name and, for the older writer, ``T1``), ``rate``, (``beta``) [N, K]; ``offset`` [N]
        (m(∞): C for a decay, Σ M_k for a recovery); ``f`` [N] for an inversion recovery."""
        f = self.fit(name or self.selected)
        post = {k: np.asarray(v).reshape(-1, *np.shape(v)[2:]) for k, v in f.result.posterior().items()}
        tr = self.transform
        order = np.argsort(-post["log_w"], axis=1)
        take = lambda v: np.take_along_axis(v, order, axis=1)  # noqa: E731
        rate = np.exp(take(post["log_w"])) / tr.t_ref
        if "c" in post:
            amp = tr.sy * take(post["amp"])
        else:   # recoveries sample the window amplitude r_k; M_k = r_k / (1 − g_k(t_max))
            arg = (rate * tr.t_max) ** (take(post["beta"]) if "beta" in post else 1.0)
            amp = tr.sy * take(post["amp"]) / (-np.expm1(-arg))
        out = {"amplitude": amp, "T": 1.0 / rate, "rate": rate}
        out[self.quantity] = out["T"]
        out["T1"] = out["T"]
        if "beta" in post:
            out["beta"] = take(post["beta"])
        out["offset"] = tr.sy * post["c"] if "c" in post else amp.sum(axis=1)
        if "f" in post:
            out["f"] = post["f"]
        return out

    def _curve_group(self, fit_info: dict, phys: dict) -> dict:
        exp = fit_info.get("experiment", "decay")
        out = {("offset C" if exp == "decay" else "M0 = m(inf)"): parameter_summary(phys["offset"])}
        if "f" in phys:
            out["inversion efficiency f"] = parameter_summary(phys["f"])
        return out

    def parameter_summaries(self, name: str | None = None) -> dict:
        """``{"mode 1": {"amplitude", <quantity>, ("beta")}, ..., "curve": {"offset C" | "M0 = m(inf)", ("f")}}``."""
        f = self.fit(name or self.selected)
        phys = self.physical(f.name)
        q = self.quantity
        out = {f"mode {k + 1}": {qq: parameter_summary(phys[key][:, k])
                                 for qq, key in (("amplitude", "amplitude"), (q, "T"), ("beta", "beta")) if key in phys}
               for k in range(phys["T"].shape[1])}
        out["curve"] = self._curve_group(f.info, phys)
        out["offset"] = {"C": out["curve"].get("offset C", out["curve"].get("M0 = m(inf)"))}   # older writer
        return out

    def marginals(self, name: str | None = None) -> dict[str, np.ndarray]:
        """label → 1-D draws for the marginals figure."""
        f = self.fit(name or self.selected)
        phys = self.physical(f.name)
        out = {}
        for k in range(phys["T"].shape[1]):
            out[f"amplitude {k + 1}"] = phys["amplitude"][:, k]
            out[f"{self.quantity} {k + 1}"] = phys["T"][:, k]
            if "beta" in phys:
                out[f"beta {k + 1}"] = phys["beta"][:, k]
        out["offset C" if f.info.get("experiment", "decay") == "decay" else "M0"] = phys["offset"]
        if "f" in phys:
            out["f"] = phys["f"]
        return out

    def predictive(self, grid=None, *, name: str | None = None, num_draws: int = 400, seed: int = 0) -> dict:
        """Posterior bands on ``grid`` (default 300 log-spaced times); ``components`` is each mode's term
        (A_k g_k, M_k (1 − g_k) or M_k (1 − 2 f g_k)), ``background`` the offset C (0 for recoveries)."""
        f = self.fit(name or self.selected)
        pos = self.t[self.t > 0]
        grid = np.geomspace(pos.min(), self.t.max(), 300) if grid is None else np.asarray(grid, float)
        phys = self.physical(f.name)
        rng = np.random.default_rng(seed)
        idx = rng.choice(phys["T"].shape[0], size=min(num_draws, phys["T"].shape[0]), replace=False)
        arg = grid[None, None, :] / phys["T"][idx, :, None]
        if "beta" in phys:
            arg = arg ** phys["beta"][idx, :, None]
        g = np.exp(-arg)
        amp = phys["amplitude"][idx, :, None]
        exp = f.info.get("experiment", "decay")
        if exp == "decay":
            comps, bg = amp * g, phys["offset"][idx]
        elif exp == "inversion":
            comps, bg = amp * (1.0 - 2.0 * phys["f"][idx, None, None] * g), np.zeros(idx.size)
        else:
            comps, bg = amp * (1.0 - g), np.zeros(idx.size)
        total = comps.sum(1) + bg[:, None]
        noisy = total + rng.normal(0.0, f.noise_sigma, total.shape)
        return {"x": grid, "median": np.median(total, 0), "mean_68": np.quantile(total, [0.16, 0.84], axis=0),
                "mean_95": np.quantile(total, [0.025, 0.975], axis=0),
                "predictive_95": np.quantile(noisy, [0.025, 0.975], axis=0),
                "components": np.median(comps, 0), "background": np.median(bg) + 0 * grid}

    def time_constant_bounds(self, name: str | None = None) -> list[str]:
        """Per mode: ``"interval"`` (the data pin T), ``"lower bound"`` (its 95 % interval reaches the
        prior's largest time constant) or ``"upper bound"`` (reaches the smallest)."""
        phys = self.physical(name)
        lo_edge, hi_edge = self.transform.time_range
        out = []
        for k in range(phys["T"].shape[1]):
            q_lo, q_hi = np.quantile(phys["T"][:, k], [0.025, 0.975])
            if q_hi > hi_edge / 3.0:
                out.append("lower bound")
            elif q_lo < lo_edge * 3.0:
                out.append("upper bound")
            else:
                out.append("interval")
        return out

    def _bound_warnings(self) -> list[str]:
        if not self.fits or self.transform is None:
            return []
        q = self.quantity
        s = self.parameter_summaries()
        out = []
        lo_edge, hi_edge = self.transform.time_range
        for k, kind in enumerate(self.time_constant_bounds()):
            v = s[f"mode {k + 1}"][q]
            if kind == "lower bound":
                out.append(f"{q} of mode {k + 1} is only a lower bound: {q} > {v['interval_95'][0]:.4g} (95 %); its "
                           f"posterior reaches the prior's largest time constant {hi_edge:.4g} (100 × the last time) — "
                           "measure longer times to pin it")
            elif kind == "upper bound":
                out.append(f"{q} of mode {k + 1} is only an upper bound: {q} < {v['interval_95'][1]:.4g} (95 %); its "
                           f"posterior reaches the prior's smallest time constant {lo_edge:.4g} — measure earlier times")
        return out

    def verdict(self) -> str:
        """A sentence, e.g. "two exponential modes (saturation recovery), T1 = 0.8 and 40 (p = 0.97, ΔF = 6.1 nat)"."""
        best = self.best
        k, stretched = best.info["num_components"], best.info["stretched"]
        exp = best.info.get("experiment", "decay")
        s = self.parameter_summaries()
        q = self.quantity
        bounds = self.time_constant_bounds()
        parts = []
        for i in range(k):
            v = s[f"mode {i + 1}"][q]
            if bounds[i] == "lower bound":
                parts.append(f"> {v['interval_95'][0]:.4g} (only a lower bound)")
            elif bounds[i] == "upper bound":
                parts.append(f"< {v['interval_95'][1]:.4g} (only an upper bound)")
            else:
                parts.append(f"{v['median']:.4g}")
        t_text = " and ".join(parts) if k <= 2 else ", ".join(parts)
        kind = "stretched exponential" if stretched else "exponential"
        noun = f"{_WORDS.get(k, str(k))} {kind}{' modes' if k > 1 else ''}"
        text = f"{noun}, {q} = {t_text}"
        if stretched:
            text += ", β = " + " and ".join(f"{s[f'mode {i + 1}']['beta']['median']:.3g}" for i in range(k))
        if exp != "decay":
            text += f" ({_EXPERIMENT_WORDS[exp]})"
        others = [f for f in self.fits if f.name != best.name]
        extra = ""
        if others:
            second = min(others, key=lambda f: f.free_energy)
            extra = "; " + evidence_words(best, second, second.name)
        return f"{text} (p = {best.probability:.3g}{extra}){self.caveat()}"


def analyse_relaxation(t, y, *, sigma=None, estimate_noise: bool | None = None, experiment: str = "auto",
                       quantity: str | None = None, kmax: int | None = None, kmin: int = 1,
                       limit: int = DEFAULT_LIMIT, shapes=("exponential", "stretched"), key,
                       num_samples: int = 2000, num_burnin=None, num_replicas: int = 32, num_chains: int = 4,
                       checkpoints=None, progress=None, precision: float | None = None,
                       dtype=None, moves: str = "auto") -> RelaxationAnalysis:
    """Select the experiment's model, K and the mode shape by the free energy.

    Args:
        t: [n] times (≥ 0, at least one positive); y: [n] signal (any units).
        sigma: known noise (scalar or [n]); None (default) estimates it over the ladder.
        estimate_noise: the older interface: True is the same as ``sigma=None`` (refused with a sigma).
        experiment: ``decay``, ``saturation``, ``inversion`` or ``auto`` (module docstring).
        quantity: the time constant's name: ``T1``, ``T2`` or ``T`` (default T1 for recoveries, T for decays).
        kmax: None grows K from ``kmin`` (``selection.scan``, up to ``limit``); a number fits K = kmin..kmax.
        shapes: ``exponential`` and/or ``stretched``.
        key: a ``jax.random`` key.
        checkpoints, progress, precision, dtype: as in ``selection.select`` (float64 where the noise is below
            float32's resolution of the data: ``selection.single_precision_floor``).
        moves: ``auto`` (default): correlated for a candidate whose noise is below 0.1 % of the data's
            range (``selection.correlated_noise_floor``), else componentwise; ``componentwise``: coordinate
            moves; ``correlated``: also joint moves (``physlaw.sampling.run``: learned covariance, amplitudes
            drawn from their exact conditional), which walk the valley of a very precise sum of exponentials
            (NIST Lanczos3 at its own noise) at 2-4× the CPU time per sweep. With ``auto`` Lanczos3's default
            answer is right (K = 3, σ̂ 3.5e-5); Misra1a's is unchanged at 4× the CPU time.
    """
    t = np.asarray(t, float)
    y = np.asarray(y, float)
    if estimate_noise and sigma is not None:
        raise InputError("give either a noise level (sigma) or estimate_noise, not both")
    if np.any(t < 0) or not np.any(t > 0):
        raise InputError("relaxation times must be ≥ 0 with at least one positive; check the first column")
    shapes = tuple(shapes)
    if not shapes or any(s not in ("exponential", "stretched") for s in shapes):
        raise InputError(f"mode shapes must be exponential and/or stretched, got {shapes!r}")
    experiments = choose_experiments(t, y, experiment)
    if quantity is None:
        quantity = "T" if experiments == ("decay",) else "T1"
    if quantity not in QUANTITIES:
        raise InputError(f"unknown quantity {quantity!r}; choose T1, T2 or T")
    tr = RelaxationTransform.from_data(t, y)

    def make_candidates(k):
        out = []
        for exp in experiments:
            for shape in shapes:
                stretched = shape == "stretched"
                out.append(Candidate(relaxation_model_name(k, stretched, exp),
                                     {"num_components": k, "stretched": stretched, "experiment": exp,
                                      "family": f"{shape}-{exp}", "quantity": quantity},
                                     functools.partial(_make, t, y, k, stretched, tr, exp)))
        return out

    sel = scan(make_candidates, kmin=kmin, kmax=kmax, limit=limit, num_points=t.size, sigma=sigma,
               sigma0=0.5 * noise_scale_guess(y) if sigma is None else None, key=key, num_samples=num_samples,
               num_burnin=num_burnin, num_replicas=num_replicas, num_chains=num_chains, checkpoints=checkpoints,
               progress=progress, precision=precision, dtype=dtype, noise_floor=single_precision_floor(y),
               what="relaxation modes", correlated_floor=_correlated_floor(y, moves))
    kp = sel.k_probabilities()
    k_top = max(kp)
    if k_top != sel.best.info["K"] and k_top > kmin and kp[k_top] > 0.05:
        # the scan's edge warning covers a selected K at the edge; a large p at the edge is as telling
        sel.warnings.append(f"p(K = {k_top} | D) = {kp[k_top]:.2g} at the largest K tried ({k_top}): the data may hold "
                            "more relaxation modes than were tried; treat K as a lower bound")
    return RelaxationAnalysis(sel.fits, sel.selected, sel.noise_estimated, sel.warnings, t=t, y=y,
                              sigma=None if sigma is None else np.broadcast_to(np.asarray(sigma, float), t.shape),
                              transform=tr, quantity=quantity, experiments=experiments)


def _correlated_floor(y, moves: str) -> float:
    """The noise below which candidates use ``moves="correlated"``: ``auto`` at high signal-to-noise ratio
    (``selection.correlated_noise_floor``), always or never."""
    floors = {"auto": correlated_noise_floor(y), "correlated": math.inf, "componentwise": 0.0}
    if moves not in floors:
        raise InputError(f"moves must be one of {', '.join(floors)}, got {moves!r}")
    return floors[moves]


def _make(t, y, k, stretched, tr, experiment, sigma):
    return relaxation_target(t, y, sigma, k, stretched, tr, experiment=experiment)


def relaxation_curve(t, amplitude, t1, beta=None, offset=0.0, experiment: str = "decay", f: float = 1.0):
    """The model in NumPy (for simulating data): Σ A_k g_k + C (decay), Σ M_k (1 − g_k) (saturation) or
    Σ M_k (1 − 2 f g_k) (inversion), g_k = exp(−(t/T_k)^β_k); ``offset`` is added in every case."""
    t = np.asarray(t, float)[None, :]
    arg = t / np.asarray(t1, float)[:, None]
    if beta is not None:
        arg = arg ** np.asarray(beta, float)[:, None]
    g = np.exp(-arg)
    amp = np.asarray(amplitude, float)[:, None]
    if experiment == "decay":
        terms = amp * g
    elif experiment == "saturation":
        terms = amp * (1.0 - g)
    elif experiment == "inversion":
        terms = amp * (1.0 - 2.0 * f * g)
    else:
        raise InputError(f"unknown experiment {experiment!r}; choose from {', '.join(EXPERIMENTS)}")
    return np.sum(terms, axis=0) + offset
