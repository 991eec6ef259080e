"""The Lie algebra of the symmetries straight from a trained autoencoder (mission B.5, the seed's future work).

An infinitesimal symmetry ``δz = ε (K z + c)`` (acting alike on each time slice) keeps on-manifold
points on the manifold. The autoencoder's Jacobian ``J_f(z)`` projects onto the manifold's tangent
space there, so a symmetry satisfies

    (I − J_f(z)) (K z + c) ≈ 0    for every on-manifold z.

With ``[K | c] = Σ_j k_j B_j`` over the family's basis ``B_j`` this is linear in ``k``: stacking the
rows over samples gives a matrix whose near-null space (SVD) is the whole algebra, its dimension
read from the singular-value gap. Each column is measured against the size of ``B_j z̃`` itself, so
the spectrum is absolute: the fraction of a candidate's motion that leaves the manifold (1: all of
it, 0: none) — a family with a single candidate (a translation) can be judged too. No sampling, no fit: seconds once the autoencoder is trained.
Evaluation points are first passed through the autoencoder (``z ← f(z)``) so they sit on its
manifold.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from physlaw.symmetry._families import Family
from physlaw.symmetry._invariance import check_rows
from physlaw.errors import InputError
from physlaw.symmetry._laws import (
    Discovery, canonical_generators, describe_directions, noether_charge, polynomial_law, verdict,
)
from physlaw.symmetry._nullspace import null_space


def lie_rows(model, family: Family, rows) -> tuple[np.ndarray, np.ndarray]:
    """The constraint matrix ``[N · k·n, P]``: ``(I − J_f(z)) B_j z̃`` for every point and basis map,
    and the RMS size of each unprojected ``B_j z̃`` component (the columns' natural scale)."""
    rows = jnp.asarray(rows)
    n = family.dim
    basis = jnp.asarray(family.basis, rows.dtype)  # [P, n, n+1]

    def one(z):
        z = model(z)
        jf = jax.jacfwd(model)(z)
        xs = z.reshape(-1, n)
        moved = jnp.einsum("pij,sj->psi", basis[:, :, :n], xs) + basis[:, None, :, n]  # [P, slices, n]
        v = moved.reshape(basis.shape[0], -1)  # [P, k·n]
        return (v - v @ jf.T).T, v.T  # [k·n, P] each

    out, raw = jax.jit(jax.vmap(one))(rows)
    raw = np.asarray(raw, dtype=np.float64).reshape(-1, basis.shape[0])
    return np.asarray(out, dtype=np.float64).reshape(-1, basis.shape[0]), np.sqrt(np.mean(raw**2, axis=0))


def lie_algebra(
    model,
    family: Family,
    rows,
    *,
    num_points: int = 1000,
    seed: int = 0,
    rtol: float = 5e-2,
    min_gap: float = 10.0,
    bootstrap: int = 20,
    phase_space: bool = True,
) -> Discovery:
    """Symmetry generators in ``family``'s span from an autoencoder, and their Noether charges.

    Args:
        model: the trained autoencoder (``z ↦ f(z)``, one row at a time).
        family: the transformation family (its basis spans the candidate generators).
        rows: evaluation points ``[N, k·n]`` (transition pairs or points of a static manifold).
        num_points: at most this many points are used (a random subset).
        rtol, min_gap: the null-space counting rule (:func:`null_space`).
        bootstrap: row resamples for coefficient errors.
        phase_space: the coordinates are ``(q, p)``: turn each generator into a Noether charge.
            Otherwise (a static manifold) each generator is reported as the vector field ``K x + c``.

    Returns:
        A :class:`Discovery` with one law per generator, the singular-value spectrum and the gap.
    """
    start = time.perf_counter()
    rows = check_rows(rows, family)
    rng = np.random.default_rng(seed)
    if rows.shape[0] > num_points:
        rows = rows[rng.choice(rows.shape[0], num_points, replace=False)]
    mat, sizes = lie_rows(model, family, rows.astype(np.float32))
    ns = null_space(mat, rtol=rtol, min_gap=min_gap, bootstrap=bootstrap, seed=seed, column_scale=sizes)
    laws = []
    gens = [family.generator(vec) for vec in ns.basis]
    gen_errs = [np.sqrt(np.tensordot(err**2, family.basis**2, axes=1)) for err in ns.errors]
    directions = describe_directions(gens, ns.residuals) if phase_space else []
    non_canonical = [d for d in directions if d["kind"] == "non-canonical"]
    try:
        if non_canonical:  # a direction with (almost) no Noether charge, e.g. a common scaling of q and p
            raise InputError("non-canonical direction")
        for vec, err, res, gen, gen_err in zip(ns.basis, ns.errors, ns.residuals, gens, gen_errs):
            law = (noether_charge(gen, family.coordinate_names, errors=gen_err) if phase_space
                   else _vector_field_law(gen, gen_err, family))
            law.residual = float(res)
            law.notes.append("generator coefficients: " + ", ".join(
                f"{nm}={v:.4g}±{e:.2g}" for nm, v, e in zip(family.names, vec, err) if abs(v) > 1e-9))
            laws.append(law)
    except InputError:  # keep the canonical combinations: every direction is reported in details["directions"]
        laws = _canonical_laws(gens, gen_errs, ns.residuals, family)
    message = verdict(len(laws), ns.gap, ns.weak, what="conserved quantity" if phase_space else "symmetry generator")
    if non_canonical:
        names = sorted({d["description"].split(":")[0] for d in non_canonical})
        message += (f" {len(non_canonical)} further symmetry direction{'s are' if len(non_canonical) > 1 else ' is'} "
                    f"not canonical ({'; '.join(names)}): no conserved quantity from "
                    f"{'them' if len(non_canonical) > 1 else 'it'}.")
    return Discovery(
        route="lie",
        laws=laws,
        spectrum=ns.singular_values,
        count=len(laws),
        gap=ns.gap,
        weak=ns.weak,
        message=message,
        details={
            "family": family.name, "mask": family.mask, "parameters": list(family.names),
            "num_points": int(rows.shape[0]), "rtol": rtol, "min_gap": min_gap,
            "seconds": round(time.perf_counter() - start, 3),
            "generators": [g.tolist() for g in gens],
            "symmetry_directions": int(ns.count), "non_canonical_directions": len(non_canonical),
            "directions": directions,
        },
    )


def _canonical_laws(gens, gen_errs, residuals, family: Family) -> list:
    """Noether charges of the canonical combinations of ``gens`` (none when every direction is non-canonical)."""
    try:
        canonical = canonical_generators(gens, gen_errs)
    except InputError:
        return []
    laws = []
    for gen, err in canonical:
        law = noether_charge(gen, family.coordinate_names, errors=err)
        law.residual = float(np.max(residuals))
        law.notes.append("a combination of the null space's directions: the part with a Noether charge "
                         "(the other directions are not canonical)")
        laws.append(law)
    return laws


def _vector_field_law(gen, gen_err, family: Family):
    """On a static manifold: the infinitesimal map ``δx_i = Σ_j K_ij x_j + c_i`` written out, one row per term."""
    n = family.dim
    names = family.coordinate_names
    terms, labels = {}, {}
    for i in range(n):
        for j in range(n + 1):
            if abs(gen[i, j]) > 1e-9:
                term = sympy.Symbol(f"d_{names[i]}") * (sympy.Symbol(names[j]) if j < n else 1)
                terms[term] = (gen[i, j], gen_err[i, j])
                labels[term] = f"d_{names[i]}*{names[j]}" if j < n else f"d_{names[i]}"
    law = polynomial_law(terms, residual=0.0, drop_below=1e-3, generator=gen, labels=labels)
    law.notes.append("static manifold: the law is the symmetry's vector field δx = K x + c "
                     "(d_xi*xj means K_ij: the rate of change of xi per unit xj)")
    return law
