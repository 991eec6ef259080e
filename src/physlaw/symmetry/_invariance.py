"""The invariance energy of a map under a trained autoencoder (Mototake 2021, method 1).

A deep autoencoder ``f`` trained on transition pairs reconstructs points on the data manifold
(``f(z) ≈ z``) and not off it. A map ``A`` is a symmetry of the dynamics when it sends the manifold
to itself, so

    E_samp(A) = (1/N) Σ_i ||A z_i − f(A z_i)||² / ⟨||z||²⟩

is as small as the autoencoder's own reconstruction error. We divide by the mean squared norm of
the data, so ``E`` is dimensionless and the noise levels ``σ'`` do not depend on the data's units.
``A`` acts alike on every time slice of a pair (``Family.apply``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.symmetry._families import Family


def check_rows(rows, family: Family):
    """Validate evaluation rows ``[N, k·n]`` against a family on ``n`` coordinates."""
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] % family.dim or not np.all(np.isfinite(rows)):
        raise InputError(
            f"evaluation points must be a finite [N, k·{family.dim}] array (k time slices of the "
            f"{family.dim} coordinates {', '.join(family.coordinate_names)}); got shape {rows.shape}"
        )
    return rows


def invariance_energy(model, family: Family, theta, rows, norm2):
    """``E_samp`` for parameters ``θ`` (``[P]``), rows ``[N, k·n]`` and ``norm2 = ⟨||z||²⟩`` (JAX)."""
    moved = family_apply(family, theta, rows)
    recon = jax.vmap(model)(moved)
    return jnp.mean(jnp.sum((moved - recon) ** 2, axis=-1)) / norm2


def family_apply(family: Family, theta, rows):
    """``M z + b`` slice by slice with JAX arrays (``family.basis``/``offset`` as constants)."""
    basis = jnp.asarray(family.basis, rows.dtype)
    mb = jnp.asarray(family.offset, rows.dtype) + jnp.tensordot(theta.astype(rows.dtype), basis, axes=1)
    n = family.dim
    xs = rows.reshape(rows.shape[0], -1, n)
    return (xs @ mb[:, :n].T + mb[:, n]).reshape(rows.shape)


def linear_part_det(family: Family, theta):
    """``|det M|^(1/n)`` of the linear part (the invertibility guard; 1 at the identity)."""
    basis = jnp.asarray(family.basis)
    mb = jnp.asarray(family.offset) + jnp.tensordot(theta, basis.astype(theta.dtype), axes=1)
    n = family.dim
    return jnp.abs(jnp.linalg.det(mb[:, :n])) ** (1.0 / n)


def energies(model, family: Family, thetas, rows, *, batch: int = 512) -> np.ndarray:
    """``E_samp`` for many parameter vectors ``[S, P]`` (a jitted, batched evaluation)."""
    rows = jnp.asarray(rows)
    norm2 = jnp.mean(jnp.sum(rows**2, axis=-1))
    fn = jax.jit(jax.vmap(lambda th: invariance_energy(model, family, th, rows, norm2)))
    thetas = np.asarray(thetas)
    out = [np.asarray(fn(jnp.asarray(thetas[i:i + batch], rows.dtype))) for i in range(0, len(thetas), batch)]
    return np.concatenate(out) if out else np.zeros(0)
