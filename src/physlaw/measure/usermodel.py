"""User models: K copies of a user's component formula (plus an optional background), selected by F.

    y(x) = Σ_{k=1..K} f(x; θ_k) + b(x; φ) + ε

``f`` is a formula string (``physlaw.measure.formula``: parsed, never evaluated as Python) or a
Python callable ``f(x, **params)`` written with ``jax.numpy``; ``b`` likewise (optional). Each
parameter has a prior from ``physlaw.priors`` (or a string such as ``"loguniform(1e-3, 1e3)"``).

Noise: Gaussian with σ known (a number or one per point), or estimated over the temperature ladder
(``sigma=None``); or Poisson for counts, with the exact normalisation
``log p(D|θ) = Σ_i [y_i log μ_i − μ_i − log y_i!]`` so that free energies compare across models
(μ ≤ 0 where y > 0 is impossible: log-likelihood −∞). ``likelihood="auto"`` is Poisson when every
y is a non-negative integer and no σ is given, Gaussian otherwise.

Parameters and their coordinates: the sampler works on each prior's own coordinate, in which the
prior is normalised: the value itself for ``normal`` and ``uniform``, the *log* of the value for
``loguniform``, ``halfnormal`` and ``gamma`` (``LogUniform``, ``LogHalfNormal``, ``LogGamma``:
positive parameters, with the Jacobian in the prior). The formula always receives the parameter's
value (``physlaw.priors.parameter_value``: ``exp`` of the sampled log); summaries, draws and
figures are in values too.

Label switching: the K components are exchangeable; draws are relabelled in increasing order of
the ``order`` parameter (default: the first component parameter), for R-hat/ESS and summaries.

K: ``kmax`` given runs K = kmin..kmax; ``kmax=None`` grows K until the free energy has clearly
passed its minimum (``selection.scan``), up to ``limit``.

Example:
    >>> import jax, numpy as np
    >>> from physlaw.measure import fit
    >>> t = np.geomspace(0.01, 10, 30); y = np.exp(-(t / 1.0) ** 0.6) + 0.01 * np.random.default_rng(0).normal(size=30)
    >>> res = fit(t, y, component="A * exp(-(x / T)**beta)", kmax=1,  # doctest: +SKIP
    ...           priors={"A": "uniform(0, 2)", "T": "loguniform(1e-3, 1e3)", "beta": "uniform(0.2, 1)"},
    ...           order="T", key=jax.random.key(0))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, xlogy

from physlaw.errors import InputError
from physlaw.measure.formula import Formula, PriorSpec, parse_formula, parse_prior
from physlaw.measure.selection import parameter_summary
from physlaw.measure.selection import Candidate, Selection, evidence_words, noise_scale_guess, scan
from physlaw.priors import JointPrior
from physlaw.sampling import SortComponents, Target

LIKELIHOODS = ("gaussian", "poisson", "auto")
_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


@dataclass(frozen=True)
class UserModel:
    """A checked user model: component (and background) functions with their priors.

    ``component(x, params)`` / ``background(x, params)`` take scalar parameter values (a dict) and
    return an array broadcastable to ``x``. ``priors``/``background_priors`` map each parameter to a
    distribution *factory* ``shape -> physlaw.priors distribution``; ``log_scale`` names the
    parameters sampled as logs.
    """

    component: Callable
    priors: dict
    background: Callable | None
    background_priors: dict
    order: str | None
    log_scale: frozenset
    description: dict

    @property
    def component_names(self) -> tuple[str, ...]:
        return tuple(self.priors)

    @property
    def background_names(self) -> tuple[str, ...]:
        return tuple(self.background_priors)


def _factory(name: str, spec):
    """``(shape -> distribution, log_scale, text)`` from a string, a PriorSpec or a distribution."""
    if isinstance(spec, str):
        spec = parse_prior(spec, name=name)
    if isinstance(spec, PriorSpec):
        return spec.distribution, spec.log_scale, spec.text
    if hasattr(spec, "log_prob") and hasattr(spec, "sample") and dataclasses.is_dataclass(spec) and hasattr(spec, "shape"):
        return (lambda shape, d=spec: dataclasses.replace(d, shape=shape)), bool(getattr(spec, "log_scale", False)), repr(spec)
    raise InputError(f"the prior of {name} must be a string such as \"normal(0, 1)\" or a physlaw.priors "
                     f"distribution, got {type(spec).__name__}")


def _function(fn, names: tuple[str, ...], x_names: tuple[str, ...], what: str):
    """``(x, params) -> array`` from a formula string or a callable ``fn(x, **params)``; the formula's names checked."""
    if isinstance(fn, Formula):
        fn = fn.text
    if isinstance(fn, str):
        formula = parse_formula(fn, variables=x_names, parameters=names, what=f"{what} formula")
        unused = [n for n in names if n not in formula.used]
        if unused:
            raise InputError(f"{what} formula {fn[:60]!r} does not use {', '.join(unused)}, which has a prior; "
                             "remove the prior or use the parameter")

        def evaluate(x, params):
            return formula({v: x for v in x_names}, params)

        return evaluate, fn
    if callable(fn):
        def call(x, params):
            return fn(x, **params)

        return call, getattr(fn, "__name__", "a Python function")
    raise InputError(f"the {what} must be a formula string or a Python function f(x, **params), got {type(fn).__name__}")


def build_model(component, priors: dict, *, background=None, background_priors=None, order: str | None = None,
                x_name: str = "x") -> UserModel:
    """Check a user model and compile its formulas (see the module docstring).

    ``x_name``: the x column's name, usable in formulas besides ``x`` when it is a plain name.

    Raises:
        InputError: a bad formula or prior, a parameter without prior or prior without parameter,
            a name used by both component and background, an unknown ``order``.
    """
    if not isinstance(priors, dict) or not priors:
        raise InputError("the component needs priors: a table such as { A = \"uniform(0, 2)\", T = \"loguniform(1e-3, 1e3)\" }")
    background_priors = dict(background_priors or {})
    if background is None and background_priors:
        raise InputError(f"background priors ({', '.join(background_priors)}) given without a background formula")
    both = set(priors) & set(background_priors)
    if both:
        raise InputError(f"{', '.join(sorted(both))} is a parameter of both the component and the background; "
                         "rename one (background parameters are shared, component parameters are per component)")
    x_names = ("x",) + ((x_name,) if x_name != "x" and _plain(x_name) and x_name not in priors
                        and x_name not in background_priors else ())
    comp, comp_text = _function(component, tuple(priors), x_names, "component")
    bg, bg_text = (None, None) if background is None else _function(background, tuple(background_priors), x_names,
                                                                    "background")
    factories, log_scale, texts = {}, set(), {}
    for group in (priors, background_priors):
        for name, spec in group.items():
            make, is_log, text = _factory(name, spec)
            factories[name] = make
            texts[name] = text
            if is_log:
                log_scale.add(name)
    if order is not None and order not in priors:
        raise InputError(f"order = {str(order)[:40]!r} is not a component parameter; the component parameters are "
                         f"{', '.join(priors)}")
    order = order or next(iter(priors))
    description = {"component": comp_text, "background": bg_text, "order": order,
                   "priors": {n: texts[n] for n in priors},
                   "background_priors": {n: texts[n] for n in background_priors},
                   "sampled_as_log": sorted(log_scale)}
    return UserModel(comp, {n: factories[n] for n in priors}, bg, {n: factories[n] for n in background_priors},
                     order, frozenset(log_scale), description)


def _plain(name: str) -> bool:
    import re

    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name)) and "__" not in name


class UserData(NamedTuple):
    x: jnp.ndarray
    y: jnp.ndarray
    sigma: jnp.ndarray  # [n] (Gaussian) or ones (Poisson)
    constant: jnp.ndarray  # −Σ log y! (Poisson) or −½ Σ log 2πσ² (Gaussian)


def _values(model: UserModel, p: dict) -> dict:
    return {n: (jnp.exp(u) if n in model.log_scale else u) for n, u in p.items()}


def mean_curve(model: UserModel, p: dict, x, *, components: bool = False):
    """The model's mean at ``x`` for one parameter set in sampled coordinates (component arrays [K]).

    Returns the total [n], or ``(components [K, n], background [n])`` with ``components=True``.
    """
    v = _values(model, p)
    comp_params = {n: v[n] for n in model.component_names}
    comps = jax.vmap(lambda q: jnp.broadcast_to(model.component(x, q), x.shape))(comp_params)
    bg = jnp.zeros_like(x)
    if model.background is not None:
        bg = jnp.broadcast_to(model.background(x, {n: v[n] for n in model.background_names}), x.shape) + bg
    if components:
        return comps, bg
    return jnp.sum(comps, axis=0) + bg


def _target(model: UserModel, k: int, data: UserData, likelihood: str) -> Target:
    prior = JointPrior({**{n: make((k,)) for n, make in model.priors.items()},
                        **{n: make(()) for n, make in model.background_priors.items()}})

    if likelihood == "poisson":
        def log_likelihood(p, d):
            mu = mean_curve(model, p, d.x)
            ok = jnp.all((mu > 0) | ((mu == 0) & (d.y == 0)))
            ll = jnp.sum(xlogy(d.y, jnp.where(mu > 0, mu, 1.0)) - mu) + d.constant
            ll = jnp.where(ok, ll, -jnp.inf)
            return jnp.where(jnp.isnan(ll), -jnp.inf, ll)
    else:
        def log_likelihood(p, d):
            r = (d.y - mean_curve(model, p, d.x)) / d.sigma
            ll = d.constant - 0.5 * jnp.sum(r * r)
            return jnp.where(jnp.isnan(ll), -jnp.inf, ll)

    order, names = model.order, model.component_names

    return Target.from_prior(prior, log_likelihood, data=data, relabel_fn=SortComponents(order, tuple(names)))


@dataclass
class UserFit(Selection):
    """``fit``'s result: a ``Selection`` over K plus the data, the model and what the one writer needs."""

    x: np.ndarray = None
    y: np.ndarray = None
    sigma: np.ndarray | None = None
    likelihood: str = "gaussian"
    likelihood_note: str = ""
    model: UserModel = None
    plot_style: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def physical(self, name: str | None = None) -> dict:
        """Draws of the parameters' values: component parameters [N, K] ordered by ``order``, background [N]."""
        f = self.fit(name or self.selected)
        post = {k: np.asarray(v).reshape(-1, *np.shape(v)[2:]) for k, v in f.result.posterior().items()}
        vals = {n: (np.exp(u) if n in self.model.log_scale else u) for n, u in post.items()}
        idx = np.argsort(vals[self.model.order], axis=1)
        for n in self.model.component_names:
            vals[n] = np.take_along_axis(vals[n], idx, axis=1)
        return vals

    def _sampled(self, vals: dict) -> dict:
        return {n: (np.log(v) if n in self.model.log_scale else v) for n, v in vals.items()}

    def parameter_summaries(self, name: str | None = None) -> dict:
        """``{"component 1": {param: summary}, ..., "background": {...}}`` (components ordered by ``order``)."""
        vals = self.physical(name)
        k = vals[self.model.order].shape[1]
        out = {f"component {i + 1}": {n: parameter_summary(vals[n][:, i]) for n in self.model.component_names}
               for i in range(k)}
        if self.model.background_names:
            out["background"] = {n: parameter_summary(vals[n]) for n in self.model.background_names}
        return out

    def marginals(self, name: str | None = None) -> dict[str, np.ndarray]:
        vals = self.physical(name)
        k = vals[self.model.order].shape[1]
        out = {}
        for i in range(k):
            for n in self.model.component_names:
                out[f"{n} {i + 1}" if k > 1 else n] = vals[n][:, i]
        for n in self.model.background_names:
            out[n] = vals[n]
        return out

    def predictive(self, grid=None, *, name: str | None = None, num_draws: int = 400, seed: int = 0) -> dict:
        f = self.fit(name or self.selected)
        if grid is None:
            lo, hi = float(np.min(self.x)), float(np.max(self.x))
            log = self.plot_style.get("xscale") == "log"
            grid = np.geomspace(lo, hi, 400) if log else np.linspace(lo, hi, 400)
        grid = np.asarray(grid, float)
        vals = self.physical(f.name)
        rng = np.random.default_rng(seed)
        num = vals[self.model.order].shape[0]
        idx = rng.choice(num, size=min(num_draws, num), replace=False)
        sampled = {n: jnp.asarray(v[idx]) for n, v in self._sampled(vals).items()}
        comps, bg = jax.vmap(lambda p: mean_curve(self.model, p, jnp.asarray(grid), components=True))(sampled)
        comps, bg = np.asarray(comps), np.asarray(bg)
        total = comps.sum(1) + bg
        if self.likelihood == "poisson":
            noisy = rng.poisson(np.clip(np.nan_to_num(total), 0, 1e15)).astype(float)
        else:
            noisy = total + rng.normal(0.0, f.noise_sigma, total.shape)
        return {"x": grid, "median": np.median(total, 0), "mean_68": np.quantile(total, [0.16, 0.84], axis=0),
                "mean_95": np.quantile(total, [0.025, 0.975], axis=0),
                "predictive_95": np.quantile(noisy, [0.025, 0.975], axis=0),
                "components": np.median(comps, 0),
                "background": np.median(bg, 0) if self.model.background is not None else None}

    def verdict(self) -> str:
        """One sentence: how many components, of what, how sure (p and ΔF to the next-best K)."""
        best = self.best
        k = best.info.get("K", best.info.get("num_components"))
        pk = self.k_probabilities()
        others = [f for f in self.fits if f.info.get("K") != k]
        nxt = min(others, key=lambda f: f.free_energy) if others else None
        gap = f"; {evidence_words(best, nxt, 'K = ' + str(nxt.info.get('K')))}" if nxt else ""
        noun = "component" if k == 1 else "components"
        text = (f"{_WORDS.get(k, str(k))} {noun} of {self.model.description['component']}"
                + (f" on a background {self.model.description['background']}" if self.model.background else "")
                + f", {self.likelihood} likelihood (p(K = {k} | D) = {pk.get(k, best.probability):.3g}{gap})")
        return text + self.caveat()


def fit(x, y, *, component, priors: dict, kmax: int | None = None, kmin: int = 1, limit: int = 8, background=None,
        background_priors: dict | None = None, order: str | None = None, sigma=None, likelihood: str = "gaussian",
        key, x_name: str = "x", y_name: str = "y", num_samples: int = 2000, num_burnin: int | None = None,
        num_replicas: int = 32, num_chains: int = 4, checkpoints=None, progress=None,
        precision: float | None = None) -> UserFit:
    """Fit K copies of a user's component (plus background) and select K by the free energy.

    Args:
        x, y: [n] the data (any order; nothing is sorted).
        component: a formula string over ``x`` and the parameter names, or ``f(x, **params)``.
        priors: parameter name -> prior (``"normal(0, 1)"`` ..., or a ``physlaw.priors`` distribution).
        kmax: K = kmin..kmax; None grows K until F has clearly passed its minimum (at most ``limit``).
        background, background_priors: an optional shared background, like the component.
        order: the component parameter whose increasing order labels the components.
        sigma: Gaussian noise σ (a number or [n]); None estimates it over the temperature ladder.
        likelihood: ``"gaussian"``, ``"poisson"`` (counts) or ``"auto"`` (Poisson for non-negative
            integer y when no σ is given).
        key: a ``jax.random`` key. The other arguments as in ``selection.select``.

    Returns:
        A :class:`UserFit`.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise InputError(f"x and y must be 1-D of one length ≥ 2, got shapes {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError("x and y must be finite numbers; remove or fix the rows with nan or inf")
    if likelihood not in LIKELIHOODS:
        raise InputError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {str(likelihood)[:30]!r}")
    counts = bool(np.all(y >= 0) and np.all(y == np.round(y)) and np.any(y > 0))
    note = ""
    if likelihood == "auto":
        likelihood = "poisson" if counts and sigma is None else "gaussian"
        note = ("Poisson: every y is a non-negative integer (counts)" if likelihood == "poisson"
                else "Gaussian: " + ("the noise sigma is given" if sigma is not None else "y are not counts"))
    if likelihood == "poisson":
        if sigma is not None:
            raise InputError("a Poisson likelihood has no noise sigma: drop sigma, or use the Gaussian likelihood")
        if not counts:
            raise InputError("the Poisson likelihood needs counts: every y a non-negative integer; use the Gaussian "
                             "likelihood for other data")
    if sigma is not None:
        sigma = np.broadcast_to(np.asarray(sigma, float), y.shape).copy()
        if not np.all(np.isfinite(sigma) & (sigma > 0)):
            raise InputError("the noise sigma must be positive and finite at every point")
    if kmax is not None and not (1 <= kmin <= kmax):
        raise InputError(f"need 1 ≤ kmin ≤ kmax, got kmin={kmin}, kmax={kmax}")
    model = build_model(component, priors, background=background, background_priors=background_priors, order=order,
                        x_name=x_name)
    dtype = jnp.result_type(float)
    xj, yj = jnp.asarray(x, dtype), jnp.asarray(y, dtype)
    if likelihood == "poisson":
        data0 = UserData(xj, yj, jnp.ones_like(yj), jnp.asarray(-np.sum(gammaln(y + 1.0)), dtype))

        def make_data(_sigma):
            return data0
    else:
        def make_data(s):
            s = np.broadcast_to(np.asarray(s, float), y.shape)
            return UserData(xj, yj, jnp.asarray(s, dtype), jnp.asarray(-0.5 * np.sum(np.log(2 * np.pi * s**2)), dtype))

    def make_candidates(k: int) -> list[Candidate]:
        def make_target(s, k=k):
            return _target(model, k, make_data(s), likelihood)

        return [Candidate(f"K{k}", {"num_components": k, "family": "user", "likelihood": likelihood},
                          make_target, needs_noise=likelihood != "poisson")]

    sigma0 = None
    if likelihood != "poisson" and sigma is None:
        sigma0 = 0.5 * noise_scale_guess(y[np.argsort(x, kind="stable")])
    sel = scan(make_candidates, kmin=kmin, kmax=kmax, limit=limit, num_points=x.size, sigma=sigma, sigma0=sigma0,
               key=key, num_samples=num_samples, num_burnin=num_burnin, num_replicas=num_replicas,
               num_chains=num_chains, checkpoints=checkpoints, progress=progress, precision=precision)
    pos = x[x > 0]
    log_x = bool(np.all(x > 0) and pos.max() / pos.min() > 100)
    style = {"xlabel": x_name, "ylabel": y_name, "xscale": "log" if log_x else "linear",
             "component_label": "component",
             "invert_x": bool(x.size > 1 and np.all(np.diff(x) < 0))}  # e.g. XPS binding energy, drawn as recorded
    notes = [f"likelihood {note}" if note else f"likelihood: {likelihood}"]
    if model.log_scale:
        notes.append(f"sampled as logs (positive priors): {', '.join(sorted(model.log_scale))}")
    return UserFit(sel.fits, sel.selected, sel.noise_estimated, sel.warnings, x=x, y=y, sigma=sigma,
                   likelihood=likelihood, likelihood_note=note, model=model, plot_style=style, notes=notes)
