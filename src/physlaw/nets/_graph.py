"""Graph Hamiltonian network: one learned pair interaction, applied to any number of bodies.

For ``N`` bodies in ``D`` dimensions (state ``x = (q_1, …, q_N, p_1, …, p_N)``, each ``q_i, p_i ∈ R^D``,
so ``2 D`` columns per body) the network's Hamiltonian is a sum over the nodes and over the edges of
the fully connected graph,

.. math::
    H_θ(q, p) = \\sum_i T_θ(|p_i|^2) + \\sum_{i<j} V_θ(r_{ij}), \\qquad r_{ij} = \\sqrt{|q_i - q_j|^2 + ε^2},

with two small MLPs ``T_θ`` and ``V_θ`` shared by all bodies and all pairs (``ε`` a fixed softening
that keeps ``∇H`` smooth where two bodies meet). The weights do not depend on ``N``: a network trained
on three bodies runs on five. By construction ``H_θ`` is invariant under permutations of the bodies
(so the vector field is permutation-equivariant), rotations, reflections and translations (so the
learned flow conserves total momentum and angular momentum exactly as well as ``H_θ``). ``H_θ`` is
separable, ``T(p) + V(q)``, so rollouts use the explicit symplectic 4th-order Yoshida integrator.

This is the Hamiltonian graph network of Sanchez-Gonzalez, Bapst, Cranmer & Battaglia (2019,
arXiv 1909.12790) reduced to one round of pairwise messages, in the spirit of Desai's variational
integrator graph networks (Desai, Mattheakis, Roberts, Protopapas et al. 2021, arXiv 2004.13688),
whose benchmark is the same: learn on few bodies, predict on more.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from physlaw.errors import InputError
from physlaw.nets._models import AbstractDynamicsModel, _activation, _symplectic


class GraphHNN(AbstractDynamicsModel):
    """Graph Hamiltonian network ``H_θ = Σ_i T_θ(|p_i|²) + Σ_{i<j} V_θ(r_ij)`` (module docstring).

    Args:
        dim: phase-space dimension of the data it is built for (``2 D N``); only checked (a multiple
            of ``2 D``): the same weights apply to any number of bodies.
        width, depth, activation: of both MLPs.
        space_dim: ``D``, the bodies' space dimension (columns per body: ``2 D``).
        softening: ``ε`` in ``r_ij``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = GraphHNN(12, width=8, key=jax.random.key(0))
        >>> net.vector_field(0.0, jnp.ones(12)).shape, net.vector_field(0.0, jnp.ones(20)).shape
        ((12,), (20,))
    """

    integrator: ClassVar[str] = "yoshida4"
    mlp_t: eqx.nn.MLP
    mlp_v: eqx.nn.MLP
    space_dim: int = eqx.field(static=True)
    softening: float = eqx.field(static=True)

    def __init__(self, dim: int, *, width: int = 64, depth: int = 2, activation: str = "tanh", space_dim: int = 2,
                 softening: float = 0.05, key):
        if isinstance(space_dim, bool) or not isinstance(space_dim, int) or not 1 <= space_dim <= 3:
            raise InputError(f"graph-hnn: space_dim must be 1, 2 or 3, got {space_dim!r}")
        if dim < 2 * space_dim or dim % (2 * space_dim):
            raise InputError(f"graph-hnn needs {2 * space_dim} columns per body ({space_dim} positions, then "
                             f"{space_dim} momenta, of each body: q = x1, y1, x2, y2, …, p likewise) but the data have "
                             f"{dim} columns, not a multiple of {2 * space_dim}; give --q and --p with "
                             f"{space_dim} columns per body")
        if not softening > 0:
            raise InputError(f"graph-hnn: softening must be positive, got {softening}")
        k1, k2 = jax.random.split(key)
        act = _activation(activation)
        self.mlp_t = eqx.nn.MLP(1, "scalar", width, depth, act, key=k1)
        self.mlp_v = eqx.nn.MLP(1, "scalar", width, depth, act, key=k2)
        self.space_dim = space_dim
        self.softening = float(softening)

    @property
    def columns_per_body(self) -> int:
        """``2 D``: the phase-space columns of one body."""
        return 2 * self.space_dim

    def num_bodies(self, x) -> int:
        """``N`` from a state ``x`` ``[2 D N]`` (static: from the shape)."""
        return x.shape[-1] // self.columns_per_body

    def kinetic(self, p):
        """``Σ_i T_θ(|p_i|²)`` of momenta ``p`` ``[D N]``."""
        sq = jnp.sum(p.reshape(-1, self.space_dim) ** 2, axis=-1)
        return jnp.sum(jax.vmap(self.mlp_t)(sq[:, None]))

    def pair_distances(self, q):
        """Softened distances ``r_ij`` ``[N (N − 1) / 2]`` of all pairs ``i < j`` of positions ``q`` ``[D N]``."""
        z = q.reshape(-1, self.space_dim)
        left, right = jnp.triu_indices(z.shape[0], k=1)
        return jnp.sqrt(jnp.sum((z[left] - z[right]) ** 2, axis=-1) + self.softening**2)

    def pair_potential(self, r):
        """The learned interaction ``V_θ(r)`` of one pair at (softened) distance ``r``."""
        return self.mlp_v(jnp.reshape(r, (1,)))

    def potential(self, q):
        """``Σ_{i<j} V_θ(r_ij)`` of positions ``q`` ``[D N]``."""
        return jnp.sum(jax.vmap(self.pair_potential)(self.pair_distances(q)))

    def hamiltonian(self, x):
        """The learned ``H_θ(q, p)`` of a state ``x = (q, p)`` ``[2 D N]``."""
        d = x.shape[-1] // 2
        return self.kinetic(x[d:]) + self.potential(x[:d])

    def vector_field(self, t, x):
        if x.shape[-1] % self.columns_per_body:
            raise InputError(f"graph-hnn: a state of {x.shape[-1]} columns is not {self.columns_per_body} per body")
        return _symplectic(jax.grad(self.hamiltonian)(x), x.shape[-1] // 2)
