"""Equinox networks: baseline MLP, Hamiltonian (HNN), port-Hamiltonian (PHNN), deep autoencoder.

A dynamics model is a frozen pytree with ``vector_field(t, x) -> ẋ`` for a phase-space state
``x = (q, p)`` of shape ``[2d]``; batch it with ``jax.vmap``. Models are built from a JSON-able
config by :func:`make_model`, which is also how :func:`physlaw.io.load_model` rebuilds them.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from physlaw.errors import InputError

ACTIVATIONS = {"tanh": jnp.tanh, "silu": jax.nn.silu, "relu": jax.nn.relu, "softplus": jax.nn.softplus}


def _activation(name: str):
    if name not in ACTIVATIONS:
        raise InputError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def _symplectic(grad_h, d):
    """``J ∇H`` with ``J = [[0, I], [−I, 0]]``: ``(∂H/∂p, −∂H/∂q)``."""
    return jnp.concatenate([grad_h[d:], -grad_h[:d]])


class AbstractDynamicsModel(eqx.Module):
    """A learned vector field ``ẋ = f(t, x)`` on a state ``x ∈ R^{2d}``.

    ``state`` is ``"qp"`` (canonical momenta) or ``"qv"`` (velocities, :mod:`physlaw.nets._mechanics`);
    ``integrator`` is the rollout method :func:`physlaw.nets.rollout` uses by default
    (``"rk4"``, ``"implicit-midpoint"`` for a non-separable learned Hamiltonian, ``"yoshida4"`` for a
    separable one).
    """

    state: ClassVar[str] = "qp"
    integrator: ClassVar[str] = "rk4"

    @abc.abstractmethod
    def vector_field(self, t, x):
        """Time derivative ``ẋ`` at time ``t`` and state ``x`` (shape ``[2d]``)."""


class Baseline(AbstractDynamicsModel):
    """Baseline: an MLP that maps ``x`` straight to ``ẋ`` (no physics prior).

    Greydanus et al. (2019) compare HNNs against this model with 2 hidden layers of 200 tanh units.
    """

    mlp: eqx.nn.MLP

    def __init__(self, dim: int, *, width: int = 200, depth: int = 2, activation: str = "tanh", key):
        self.mlp = eqx.nn.MLP(dim, dim, width, depth, _activation(activation), key=key)

    def vector_field(self, t, x):
        return self.mlp(x)


class HNN(AbstractDynamicsModel):
    """Hamiltonian neural network (Greydanus, Dzamba & Yosinski, NeurIPS 2019, arXiv 1906.01563).

    An MLP outputs a scalar ``H_θ(q, p)``; the vector field is Hamilton's
    ``q̇ = ∂H_θ/∂p, ṗ = −∂H_θ/∂q``, so the learned flow conserves ``H_θ`` exactly and is
    symplectic. Trained by regressing ``J ∇H_θ`` on the observed ``ẋ``. A learned ``H_θ`` is not
    separable, so rollouts use the implicit midpoint rule (symplectic, bounded energy error).
    """

    integrator: ClassVar[str] = "implicit-midpoint"
    mlp: eqx.nn.MLP

    def __init__(self, dim: int, *, width: int = 200, depth: int = 2, activation: str = "tanh", key):
        self.mlp = eqx.nn.MLP(dim, "scalar", width, depth, _activation(activation), key=key)

    def hamiltonian(self, x):
        """The learned scalar ``H_θ(x)``."""
        return self.mlp(x)

    def vector_field(self, t, x):
        return _symplectic(jax.grad(self.hamiltonian)(x), x.shape[-1] // 2)


class PortHNN(AbstractDynamicsModel):
    """Port-Hamiltonian network with learned damping and forcing (Desai et al., PRE 104, 034312, 2021).

    .. math::
        \\dot q = \\partial H_θ/\\partial p, \\qquad
        \\dot p = -\\partial H_θ/\\partial q - D\\,\\partial H_θ/\\partial p + F_θ(t),

    with a diagonal damping ``D = softplus(δ) ≥ 0`` (energy can only leave through it) and a
    time-dependent force ``F_θ(t)`` from a small MLP. ``D → 0, F → 0`` recovers the HNN.
    """

    hnn: HNN
    raw_damping: jax.Array
    forcing: eqx.nn.MLP

    def __init__(self, dim: int, *, width: int = 200, depth: int = 2, activation: str = "tanh",
                 forcing_width: int = 32, key):
        k1, k2 = jax.random.split(key)
        self.hnn = HNN(dim, width=width, depth=depth, activation=activation, key=k1)
        self.raw_damping = jnp.full((dim // 2,), -5.0)
        self.forcing = eqx.nn.MLP("scalar", dim // 2, forcing_width, 1, jnp.tanh, key=k2)
        # start with no forcing: zero the last layer
        last = self.forcing.layers[-1]
        self.forcing = eqx.tree_at(lambda m: (m.layers[-1].weight, m.layers[-1].bias), self.forcing,
                                   (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)))

    def hamiltonian(self, x):
        return self.hnn.hamiltonian(x)

    @property
    def damping(self):
        """The diagonal damping coefficients ``D ≥ 0``."""
        return jax.nn.softplus(self.raw_damping)

    def vector_field(self, t, x):
        d = x.shape[-1] // 2
        g = jax.grad(self.hamiltonian)(x)
        force = self.forcing(jnp.asarray(t, x.dtype))
        return jnp.concatenate([g[d:], -g[:d] - self.damping * g[d:] + force])


class DAE(eqx.Module):
    """Deep autoencoder ``f = decoder ∘ encoder`` for transition data (Mototake, PRE 103, 033303, 2021).

    Trained so that ``f(x) ≈ x`` on the data manifold; ``||x − f(x)||`` then measures the distance
    from it. ``scale`` is one global length (not per coordinate, which would break symmetries):
    ``f(x) = scale · dec(enc(x / scale))``. The bottleneck ``latent_dim`` is the manifold dimension,
    or one more (which helped in our feasibility runs, mission B.6).
    """

    encoder: eqx.nn.MLP
    decoder: eqx.nn.MLP
    scale: float = eqx.field(static=True)

    def __init__(self, dim: int, *, latent_dim: int, width: int = 128, depth: int = 2,
                 activation: str = "silu", scale: float = 1.0, key):
        if not 1 <= latent_dim <= dim:
            raise InputError(f"latent_dim must be in [1, {dim}], got {latent_dim}")
        k1, k2 = jax.random.split(key)
        act = _activation(activation)
        self.encoder = eqx.nn.MLP(dim, latent_dim, width, depth, act, key=k1)
        self.decoder = eqx.nn.MLP(latent_dim, dim, width, depth, act, key=k2)
        self.scale = float(scale)

    def encode(self, x):
        return self.encoder(x / self.scale)

    def __call__(self, x):
        return self.scale * self.decoder(self.encode(x))


MODELS = {"baseline": Baseline, "hnn": HNN, "port-hnn": PortHNN, "dae": DAE}


def _register_family():
    from physlaw.nets._mechanics import DHNN, LNN, NODE2, SeparableHNN

    MODELS.update({"node2": NODE2, "lnn": LNN, "dhnn": DHNN, "hnn-separable": SeparableHNN})
    from physlaw.nets._graph import GraphHNN

    MODELS["graph-hnn"] = GraphHNN
    from physlaw.nets._vin import VIN

    MODELS["vin"] = VIN
    from physlaw.nets._symoden import SymODEN

    MODELS["symoden"] = SymODEN


_register_family()


def make_model(config: dict, *, key):
    """Build a model from a JSON-able config ``{"model": "hnn", "dim": 2, "width": 200, …}``.

    Keys other than ``model`` and ``dim`` are the class's keyword arguments.

    Example:
        >>> import jax
        >>> m = make_model({"model": "hnn", "dim": 2, "width": 16}, key=jax.random.key(0))
        >>> m.vector_field(0.0, jax.numpy.ones(2)).shape
        (2,)
    """
    config = dict(config)
    kind = config.pop("model", None)
    if kind not in MODELS:
        raise InputError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")
    dim = config.pop("dim")
    if kind != "dae" and dim % 2:
        raise InputError(f"model {kind!r} needs phase-space data (q, p) of even dimension, got {dim}")
    try:
        return MODELS[kind](dim, **config, key=key)
    except TypeError as err:
        raise InputError(f"bad settings {config} for model {kind!r}: {err}") from None
