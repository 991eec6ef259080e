"""The model the engine samples: separate log-prior and log-likelihood over a parameter pytree.

Internally the engine works on flat vectors (``jax.flatten_util.ravel_pytree``); ``FlatTarget``
holds the flattened functions. A likelihood may also provide an *incremental* form (``Incremental``)
so that a one-coordinate Metropolis update costs O(n) instead of a full re-evaluation (the peak
cache of spectral deconvolution, mission.md A.6).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from physlaw.errors import InputError


class PhyslawWarning(UserWarning):
    """A diagnostic the user should see: the result may be unreliable."""


class Incremental(NamedTuple):
    """An incremental log-likelihood over the *flat* parameter vector.

    Attributes:
        init_fn: ``cache = init_fn(x, data)`` builds the cache from scratch (O(n K)).
        update_fn: ``proposal = update_fn(x_new, j, cache, data)`` after coordinate ``j`` changed (O(n)):
            without ``select_fn`` the new cache; with it, anything ``value_fn`` and ``select_fn`` take
            (the spectrum proposes only the changed component's row, not the whole [K, n] table).
        value_fn: ``log_likelihood = value_fn(cache_or_proposal, data)``.
        select_fn: optional ``cache = select_fn(ok, proposal, old_cache, j)``: the cache after the
            Metropolis decision on coordinate ``j`` (default: every leaf, ``where(ok, new, old)``).
    """

    init_fn: Callable[[jax.Array, Any], Any]
    update_fn: Callable[[jax.Array, jax.Array, Any, Any], Any]
    value_fn: Callable[[Any, Any], jax.Array]
    select_fn: Callable | None = None


class LinearPart(NamedTuple):
    """A Gaussian likelihood whose mean is linear in some parameters (amplitudes, offsets), for the
    ``"correlated"`` moves' exact draw of those parameters given the others.

    Attributes:
        names: the linear parameters (keys of the parameter dict; every element of each leaf is linear).
        mean_fn: ``(params, data) -> [n]`` the model's mean; linear in the ``names`` leaves.
        observed_fn: ``data -> (y [n], sigma [n])``: the data and noise ``log_likelihood_fn`` uses,
            ``−½ Σ ((y − mean) / σ)²`` plus terms that do not depend on the linear parameters.

    On flat vectors (``FlatTarget.linear``) ``names`` becomes ``index``, the flat coordinates, and
    ``mean_fn`` takes the flat vector.
    """

    names: tuple[str, ...] | None
    mean_fn: Callable
    observed_fn: Callable
    index: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Target:
    """A Bayesian model for the exchange Monte Carlo engine.

    The tempered density of replica ``l`` is ``exp(β_l log_likelihood(θ) + log_prior(θ))``.
    ``log_likelihood_fn`` must include every normalising constant (e.g. ``−n/2 log 2πσ²``) so that
    ``log Z(1) = log p(D)``; ``log_prior_fn`` must be a normalised density of the sampled
    (unconstrained) coordinates, and ``sample_prior_fn`` an exact sampler of it.

    Data enter as an explicit pytree of arrays (``data``) rather than through a closure, so the
    compiled sampler is reused for every dataset of the same shapes (keep the functions themselves
    the same objects between calls: module-level functions, not fresh lambdas).

    Attributes:
        log_prior_fn: ``params -> scalar``.
        log_likelihood_fn: ``(params, data) -> scalar``, or ``params -> scalar`` when ``data`` is None.
        sample_prior_fn: ``key -> params`` (a pytree; its structure defines the parameters).
        prior_normalised: True when the prior is known to be normalised (``physlaw.priors``);
            otherwise the engine checks numerically and refuses an unnormalised or improper prior.
        incremental: optional O(n) one-coordinate likelihood updates (on flat vectors).
        data: a pytree of arrays passed to the likelihood functions.
        relabel_fn: for models with exchangeable components (peaks, modes), ``params -> params`` in a
            canonical labelling (e.g. peaks sorted by centre); R-hat and ESS are computed on it, so
            label switching between chains is not mistaken for chains that disagree.
        sampled: for a model *padded* to a larger structure (so that one compiled program serves a
            family of models, e.g. K components of at most K_max, the unused ones masked out of the
            likelihood through ``data``): the flat indices of the coordinates that are sampled. The
            others keep their initial prior draw, so they must not change the likelihood; the prior
            being normalised, they leave the free energy unchanged. The result holds only the sampled
            coordinates. None: all are sampled.
        sampled_unravel: with ``sampled``, the unravel of the sampled coordinates (in that order) into
            the smaller model's parameter pytree (what ``result.posterior()`` and ``relabel_fn`` see).
        linear: optional ``LinearPart``: the likelihood is Gaussian and linear in these parameters
            (used by ``moves="correlated"``).
        sample_prior_many_fn: optional ``(rng, num) -> params`` with leaves [num, *shape]: ``num``
            exact prior draws from a NumPy ``Generator`` (``physlaw.priors``' ``sample_many``). The
            engine then makes its prior draws (first ladder, initial replicas) on the host and compiles
            no JAX sampler; without it they come from ``sample_prior_fn``.
    """

    log_prior_fn: Callable
    log_likelihood_fn: Callable
    sample_prior_fn: Callable
    prior_normalised: bool = False
    incremental: Incremental | None = None
    data: Any = None
    relabel_fn: Callable | None = None
    sampled: tuple[int, ...] | None = None
    sampled_unravel: Callable | None = None
    linear: LinearPart | None = None
    sample_prior_many_fn: Callable | None = None

    @classmethod
    def from_prior(cls, prior, log_likelihood_fn, *, data=None, incremental: Incremental | None = None,
                   relabel_fn: Callable | None = None, sampled=None, sampled_unravel=None,
                   linear: LinearPart | None = None) -> "Target":
        """Build a target from a ``physlaw.priors`` distribution and a log-likelihood."""
        many = getattr(prior, "sample_many", None)
        if not all(hasattr(d, "sample_many") for d in getattr(prior, "components", {}).values()):
            many = None   # a joint prior with a distribution of the user's own: its JAX sampler
        return cls(
            log_prior_fn=prior.log_prob,
            log_likelihood_fn=log_likelihood_fn,
            sample_prior_fn=prior.sample,
            prior_normalised=bool(getattr(prior, "normalised", False)),
            incremental=incremental,
            data=data,
            relabel_fn=relabel_fn,
            sampled=None if sampled is None else tuple(int(i) for i in sampled),
            sampled_unravel=sampled_unravel,
            linear=linear,
            sample_prior_many_fn=many,
        )


@dataclass(frozen=True)
class SortComponents:
    """A ``relabel_fn`` for exchangeable components: the components (the last axis of the leaves named
    in ``names``) in increasing order of the leaf ``by`` (decreasing with ``descending``); other leaves
    are unchanged.

    Calling it relabels one draw (JAX, inside the engine's programs); ``many`` relabels NumPy draws with
    leading batch axes (leaves [..., *shape]), which is how the engine relabels a run's samples for its
    diagnostics: no program is compiled per model size. A leaf with more axes than ``by`` (a joint
    model's [datasets, K]) is permuted along its last axis by the same order.
    """

    by: str
    names: tuple[str, ...]
    descending: bool = False

    def __call__(self, params: dict) -> dict:
        return self._apply(params, jnp, {})

    def many(self, params: dict) -> dict:
        return self._apply(params, np, {"kind": "stable"})

    def _apply(self, params: dict, xp, sort_options: dict) -> dict:
        key = params[self.by]
        order = xp.argsort(-key if self.descending else key, axis=-1, **sort_options)

        def take(v):
            index = order.reshape(order.shape[:-1] + (1,) * (v.ndim - order.ndim) + order.shape[-1:])
            return xp.take_along_axis(v, index, axis=-1)

        return {k: (take(v) if k in self.names else v) for k, v in params.items()}


class FlatTarget(NamedTuple):
    """The target on flat vectors; ``log_likelihood(x, data)`` and the incremental functions take data."""

    dim: int
    unravel: Callable
    log_prior: Callable
    log_likelihood: Callable
    sample_prior: Callable
    incremental: Incremental | None
    names: tuple[str, ...]
    data: Any
    signature: tuple
    sampled: tuple[int, ...] | None = None
    sampled_unravel: Callable | None = None
    linear: LinearPart | None = None
    sample_prior_many: Callable | None = None   # (rng, num) -> [num, d] NumPy, or None


def _cast(tree, dtype):
    """Floating leaves of ``tree`` cast to ``dtype`` (integers, booleans and None untouched). A concrete
    leaf is cast by NumPy and put on the device (the same rounding, and no eager program compiled)."""
    def one(v):
        if v is None or not jnp.issubdtype(jnp.result_type(v), jnp.floating):
            return v
        return jnp.asarray(v, dtype) if isinstance(v, jax.core.Tracer) else to_device(v, dtype)
    return jax.tree_util.tree_map(one, tree)


def to_device(value, dtype=None) -> jax.Array:
    """``value`` as a device array of ``dtype``, converted on the host: ``jnp.asarray`` would compile a
    small program per shape and dtype (about 0.05 s each from an empty compilation cache)."""
    return jax.device_put(np.asarray(value, dtype))


@functools.partial(jax.jit, static_argnums=1)
def _split(key: jax.Array, num: int) -> tuple:
    return tuple(jax.random.split(key, num))


SPLIT_BLOCK = 8


def split_keys(key: jax.Array, num: int) -> tuple:
    """``jax.random.split(key, num)`` as a tuple of keys (the same keys), where splitting and unpacking
    eagerly compiles two programs. With JAX's partitionable threefry (the default) the first ``num``
    of ``split(key, 8)`` are ``split(key, num)``, so one compiled program serves every ``num`` ≤ 8."""
    if num <= SPLIT_BLOCK and jax.config.jax_threefry_partitionable:
        return _split(key, SPLIT_BLOCK)[:num]
    return _split(key, num)


def ravel_structure(shapes) -> tuple[int, Callable]:
    """The flat size and ``unravel`` of a pytree of arrays or ``jax.ShapeDtypeStruct`` leaves, as
    ``jax.flatten_util.ravel_pytree`` gives them, from an abstract trace: no array is made and no program
    compiled (the unravel holds only the leaves' sizes, shapes and dtypes)."""
    unravel = []

    def ravel(tree):
        flat, unravel_fn = ravel_pytree(tree)
        unravel.append(unravel_fn)
        return flat

    return int(jax.eval_shape(ravel, shapes).size), unravel[0]


def flatten_target(target: Target, key: jax.Array, dtype=None) -> FlatTarget:
    """Ravel the target's parameter pytree into a flat vector and wrap its functions.

    ``dtype`` (e.g. ``jnp.float32``), if given, is the sampler's working precision: the parameters,
    the prior draws and the floating arrays of ``target.data`` are cast to it, and the log densities
    are returned in it (a model's internal constants may still promote its arithmetic).
    """
    # Only the draw's structure is needed: no prior sample is computed (nor an eager sampler compiled).
    example = jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), jax.eval_shape(target.sample_prior_fn, key))
    data = target.data
    if dtype is not None:
        example = jax.tree_util.tree_map(
            lambda v: v.astype(dtype) if jnp.issubdtype(v.dtype, jnp.floating) else v, example)
        data = _cast(data, dtype)
    size, unravel = ravel_structure(example)
    if size <= 0:
        raise InputError("sample_prior_fn returned no parameters; it must return a pytree of arrays")
    names = _parameter_names(example)

    def log_prior(x):
        return jnp.asarray(target.log_prior_fn(unravel(x)), dtype=x.dtype)

    with_data = target.data is not None

    def log_likelihood(x, data):
        p = unravel(x)
        return jnp.asarray(target.log_likelihood_fn(p, data) if with_data else target.log_likelihood_fn(p), dtype=x.dtype)

    def sample_prior(k):
        draw = target.sample_prior_fn(k)
        return ravel_pytree(draw if dtype is None else _cast(draw, dtype))[0]

    sample_prior_many = None
    if target.sample_prior_many_fn is not None:
        flat_dtype = np.result_type(*[v.dtype for v in jax.tree_util.tree_leaves(example)])

        def sample_prior_many(rng, num: int):
            leaves = jax.tree_util.tree_leaves(target.sample_prior_many_fn(rng, num))
            return np.concatenate([np.reshape(v, (num, -1)) for v in leaves], axis=1).astype(flat_dtype)

    linear = None if target.linear is None else _flat_linear(target.linear, example, unravel)
    signature = (
        target.log_prior_fn, target.log_likelihood_fn, target.sample_prior_fn, target.sample_prior_many_fn,
        target.incremental, with_data, None if linear is None else (target.linear.mean_fn, target.linear.observed_fn, linear.index),
        jax.tree_util.tree_structure(example), tuple((np.shape(v), str(jnp.result_type(v))) for v in jax.tree_util.tree_leaves(example)),
    )
    sampled = target.sampled
    if sampled is not None:
        if (len(set(sampled)) != len(sampled) or not sampled or min(sampled) < 0 or max(sampled) >= size
                or target.sampled_unravel is None):
            raise InputError(f"sampled must be distinct flat indices in [0, {size}) with a sampled_unravel")
        if len(sampled) == size and tuple(sampled) == tuple(range(size)):
            sampled = None
    if linear is not None and sampled is not None and not set(linear.index) <= set(sampled):
        raise InputError("the linear parameters of a padded model must all be sampled")
    return FlatTarget(size, unravel, log_prior, log_likelihood, sample_prior, target.incremental, names,
                      data, signature, sampled, None if target.sampled is None else target.sampled_unravel, linear,
                      sample_prior_many)


def _flat_linear(part: LinearPart, example, unravel) -> LinearPart:
    """``part`` on flat vectors: the flat indices of its leaves and a mean of the flat vector."""
    if not isinstance(example, dict) or not part.names or any(n not in example for n in part.names):
        raise InputError(f"linear parameters {part.names!r} must be keys of the parameter dict")
    marks = {k: np.full(np.shape(v), k in part.names) for k, v in example.items()}
    index = tuple(int(i) for i in np.flatnonzero(np.concatenate([np.ravel(m) for m in jax.tree_util.tree_leaves(marks)])))

    def mean(x, data):
        return part.mean_fn(unravel(x), data)

    return LinearPart(None, mean, part.observed_fn, index)


class Batched(NamedTuple):
    """Compiled, vectorised helpers of a flat target (one compile per model structure)."""

    sample_prior: Callable  # (key, num) -> [num, d] (NumPy)
    log_prior: Callable  # [N, d] -> [N]
    log_likelihood: Callable  # ([N, d], data) -> [N]


_BATCHED: dict = {}
PRIOR_BLOCK = 512
"""Prior draws are made in blocks of this many (block b from ``fold_in(key, b)``): one compiled sampler
serves every number of draws (samplers with rejection loops, e.g. Gamma, take seconds to compile)."""


def batched(flat: FlatTarget) -> Batched:
    """Jitted batch versions of the target's functions, cached by the model's structure."""
    if flat.signature not in _BATCHED:
        block = jax.jit(lambda key: jax.vmap(flat.sample_prior)(jax.random.split(key, PRIOR_BLOCK)))

        def sample_prior(key, num: int):   # NumPy: joining and cutting the blocks compiles nothing
            if flat.sample_prior_many is not None:   # NumPy's generator, seeded by the key's bits
                return flat.sample_prior_many(np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel()),
                                              int(num))
            blocks = [np.asarray(block(jax.random.fold_in(key, b))) for b in range(-(-int(num) // PRIOR_BLOCK))]
            return (blocks[0] if len(blocks) == 1 else np.concatenate(blocks))[:num]

        _BATCHED[flat.signature] = Batched(
            sample_prior,
            jax.jit(jax.vmap(flat.log_prior)),
            jax.jit(jax.vmap(flat.log_likelihood, in_axes=(0, None))),
        )
    return _BATCHED[flat.signature]


def sampled_names(flat: FlatTarget) -> tuple[str, ...]:
    """The names of the sampled coordinates, as the smaller model (``sampled_unravel``) calls them."""
    if flat.sampled_unravel is None:
        return flat.names
    size = flat.dim if flat.sampled is None else len(flat.sampled)  # None: every coordinate, in order
    shapes = jax.eval_shape(flat.sampled_unravel, jax.ShapeDtypeStruct((size,), jnp.float32))
    return _parameter_names(jax.tree_util.tree_map(lambda v: np.zeros(v.shape, v.dtype), shapes))


def _parameter_names(example) -> tuple[str, ...]:
    names = []
    leaves = jax.tree_util.tree_leaves_with_path(example)
    for path, leaf in leaves:
        base = "".join(
            str(getattr(p, "key", getattr(p, "idx", getattr(p, "name", p)))) if i == 0
            else f"[{getattr(p, 'key', getattr(p, 'idx', getattr(p, 'name', p)))}]"
            for i, p in enumerate(path)
        ) or "theta"
        size = int(np.size(leaf))
        if np.ndim(leaf) == 0:
            names.append(base)
        else:
            names.extend(f"{base}[{i}]" for i in range(size))
    return tuple(names)


def check_prior(flat: FlatTarget, key: jax.Array, num_samples: int = 20_000) -> dict:
    """Check numerically that the prior is proper and normalised; refuse it otherwise.

    Importance sampling with a defensive Gaussian mixture fitted to the prior's own samples,
    ``q = ½ N(m, C) + ½ N(m, 9C)``, estimates ``∫ exp(log_prior) dθ`` and its standard error.
    An improper prior (e.g. a flat ``log_prior = 0``) gives a huge integral; a missing constant gives
    ``exp(const)``.

    Returns:
        ``{"log_integral": ..., "log_integral_err": ...}``.

    Raises:
        InputError: if the density is not finite on its own samples, or the integral differs from 1.
    """
    k_s, k_q = split_keys(key, 2)
    fns = batched(flat)
    x = fns.sample_prior(k_s, num_samples)
    lp = fns.log_prior(x)
    if not bool(jnp.all(jnp.isfinite(lp))):
        raise InputError(
            "the prior's log density is not finite at samples drawn from its own sampler: "
            "log_prior_fn and sample_prior_fn describe different distributions"
        )
    xn = np.asarray(x, dtype=np.float64)
    mean = xn.mean(0)
    cov = np.atleast_2d(np.cov(xn, rowvar=False)) + 1e-12 * np.eye(flat.dim)
    chol = np.linalg.cholesky(cov)
    rng = np.random.default_rng(int(jax.random.randint(k_q, (), 0, 2**31 - 1)))
    z = rng.standard_normal((num_samples, flat.dim))
    wide = rng.random(num_samples) < 0.5
    q = mean + (z * np.where(wide, 3.0, 1.0)[:, None]) @ chol.T
    logdet = np.sum(np.log(np.diag(chol)))
    maha = np.sum(np.linalg.solve(chol, (q - mean).T) ** 2, axis=0)
    base = -0.5 * flat.dim * math.log(2 * math.pi) - logdet
    log_q = np.logaddexp(
        math.log(0.5) + base - 0.5 * maha,
        math.log(0.5) + base - flat.dim * math.log(3.0) - 0.5 * maha / 9.0,
    )
    lp_q = np.asarray(fns.log_prior(jnp.asarray(q, dtype=x.dtype)), dtype=np.float64)
    log_w = np.where(np.isfinite(lp_q), lp_q - log_q, -np.inf)
    if np.any(np.isnan(log_w)) or np.any(log_w == np.inf):
        raise InputError("the prior's log density returns NaN or +inf; it must be a normalised log density")
    wmax = np.max(log_w)
    w = np.exp(log_w - wmax)
    log_integral = wmax + math.log(np.mean(w))
    rel_err = np.std(w) / (np.mean(w) * math.sqrt(num_samples))
    if abs(log_integral) > 0.1 + 5 * rel_err:
        raise InputError(
            f"the prior integrates to about exp({log_integral:.3g}), not 1: it is unnormalised or "
            "improper, and the free energy would be meaningless. Use the normalised distributions "
            "in physlaw.priors, or add the missing normalising constant to log_prior_fn"
        )
    if rel_err > 0.2:
        warnings.warn(
            f"could not verify that the prior is normalised (relative error {rel_err:.2g}); "
            "prefer the distributions in physlaw.priors",
            PhyslawWarning,
            stacklevel=3,
        )
    return {"log_integral": float(log_integral), "log_integral_err": float(rel_err)}
