"""Method 2 (Mototake 2021): from the sampled group to relations, generators and Noether charges.

The sampled maps ``D_a`` (free entries ``A'``, ``P`` of them) lie on a Lie group manifold of dimension
``d``. Choose ``d`` coordinates ``b ⊂ A'``; every other entry ``c_k`` obeys a relation ``h_k(c_k, b) = 0``,
fitted as an implicit polynomial (monomials up to ``max_degree``) by orthogonal distance regression
(``odrpack``, implicit task). For every candidate ``(d, b)`` and ``c_k`` the monomial subset is chosen
by BIC over Sampson (first-order orthogonal) distances, then refined by implicit ODR, which also gives
the coefficient covariance. ``d`` and ``b`` are chosen by the total BIC of the description

    −2 log L = Σ_k S log(2πe RSS_k / S) + Σ_{l ≤ d} 2 S log w_l,   + (#coefficients) log S,

(Gaussian orthogonal scatter about each relation, the samples uniform over the set's own extent:
``w_l`` is the sampled set's range along its ``l``-th principal axis). The extent is the same for
every ``b`` of one dimension, so among those the relations' fit decides. (The ranges of the ``b``
themselves, used before, are no measure of the set: where it is steep over ``b`` the model "uniform
over range(b) × orthogonal scatter" has mass arc length / range(b) > 1, which rewards a ``b`` that
barely moves along the set — on a short rotation arc ``a11 = cos t`` spans ``t²/2``, ``a12`` spans ``t``.)

Charts. The relations must define the ``c`` as smooth functions of the ``b`` near the identity
(implicit function theorem), or the generators are wrong. A choice of ``b`` is skipped when the
set's own directions near the identity (principal axes of the quarter of the samples nearest to it)
do not project invertibly onto the ``b`` (smallest singular value < 0.1: the set runs along the other
entries there, as a rotation arc runs along ``a12, a21`` and not ``a11, a22``). A relation is rejected
when it is singular at the identity (``|∂h/∂c|`` < 0.1 × its typical ``|∇h|`` over the samples) —
otherwise ``a12² − a21² = 0`` can win and give the wrong generator — and also when it is singular
(the same test, median over them) at the 5 % of the samples nearest the identity: the autoencoder is
not exact, so the sampled set passes a few of its thicknesses off the identity, and two sheets crossing
right next to it (``a12 (a11 − c) = 0``, ``(a21 − a12)(a21 + a12 + ε) = 0``) pass the test at the
identity itself. These three rules made method 2 read the rotation off the milling Couzin swarm,
whose sampled sets were clean rotation arcs (before, it returned scalings).

Other guards (mission B.6): samples outside the connected component of the identity (e.g.
reflections) and collapsed maps (``|det M|`` small) are dropped before fitting; a "relation" whose RMS
orthogonal scatter exceeds 0.2 × the sampled set's largest principal width explains nothing and
disqualifies that choice of ``b``; a relation that misses the identity (``|h(I)|`` > 0.1 × its typical
``|∇h|``) is rejected.

Generators by implicit differentiation at ``A = I``: ``dc_k/db_l = −(∂h_k/∂b_l) / (∂h_k/∂c_k)``,
``K_l = ∂(M, b)/∂b_l + Σ_k ∂(M, b)/∂c_k · dc_k/db_l``.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings

import numpy as np
import scipy.sparse.csgraph
import scipy.spatial

from physlaw.errors import InputError
from physlaw.symmetry._families import Family
from physlaw.symmetry._laws import canonical_generators, monomial, noether_charge, polynomial_law

MAX_PARAMS = 8


@dataclasses.dataclass
class Relation:
    """One fitted relation ``h(c, b) = 0``."""

    target: str
    variables: tuple[str, ...]
    exponents: np.ndarray  # [m, v] exponents of (c, b_1, …) per monomial
    coefficients: np.ndarray  # [m]
    covariance: np.ndarray  # [m, m]
    rss: float
    bic: float
    expression: str
    jacobian_ratio: float

    def monomials(self) -> list[str]:
        return [_monomial_name(e, self.variables) for e in self.exponents]

    def terms(self, coefficients, errors) -> tuple[dict, dict]:
        """``({SymPy monomial: (coefficient, error)}, {monomial: label})`` for :func:`polynomial_law`."""
        exprs = [monomial(self.variables, e) for e in self.exponents]
        return dict(zip(exprs, zip(coefficients, errors))), dict(zip(exprs, self.monomials()))


@dataclasses.dataclass
class GroupFit:
    """The result of method 2."""

    dimension: int
    coordinates: tuple[str, ...]  # the chosen b
    relations: list
    generators: np.ndarray  # [d, n, n+1]
    generator_errors: np.ndarray  # [d, n, n+1]
    num_used: int
    num_dropped: int
    bic_by_dimension: dict
    notes: list


def _monomial_name(exps, variables) -> str:
    parts = []
    for e, v in zip(exps, variables):
        if e == 1:
            parts.append(v)
        elif e > 1:
            parts.append(f"{v}**{e}")
    return "*".join(parts) if parts else "1"


def _exponents(num_vars: int, max_degree: int) -> np.ndarray:
    out = [e for deg in range(max_degree + 1) for e in itertools.product(range(deg + 1), repeat=num_vars)
           if sum(e) == deg]
    return np.array(sorted(set(out), key=lambda e: (sum(e), tuple(-x for x in e))), dtype=int)


def _design(z, exps):
    """Monomials ``[S, m]`` and their gradients ``[S, m, v]`` at points ``z [S, v]``."""
    phi = np.prod(z[:, None, :] ** exps[None], axis=-1)
    grads = np.zeros(phi.shape + (z.shape[1],))
    for j in range(z.shape[1]):
        e = exps.copy()
        coef = e[:, j].astype(float)
        e[:, j] = np.maximum(e[:, j] - 1, 0)
        grads[:, :, j] = coef * np.prod(z[:, None, :] ** e[None], axis=-1)
    return phi, grads


def _sampson_rss(gamma, phi, grads):
    h = phi @ gamma
    g = np.einsum("smv,m->sv", grads, gamma)
    return float(np.sum(h**2 / np.maximum(np.sum(g**2, axis=1), 1e-300)))


def identity_component(samples, identity, *, family: Family | None = None, guard: float = 0.3):
    """Keep the samples connected to the identity (radius graph) and with ``|det M|^{1/n} ≥ guard``.

    Returns ``(kept [S', P], num_dropped)``.
    """
    x = np.asarray(samples, float)
    keep = np.ones(len(x), bool)
    if family is not None:
        mats = family.matrix(x)[..., : family.dim]
        keep &= np.abs(np.linalg.det(mats)) ** (1.0 / family.dim) >= guard
    x = x[keep]
    if len(x) < 10:
        return x, int((~keep).sum())
    tree = scipy.spatial.cKDTree(x)
    dist, _ = tree.query(x, k=min(11, len(x)))
    spread = float(np.sqrt(np.mean(np.sum((x - identity) ** 2, axis=1))))
    radius = max(3.0 * float(np.median(dist[:, -1])), 0.1 * spread)
    pairs = tree.query_pairs(radius, output_type="ndarray")
    graph = scipy.sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(x), len(x)))
    _, labels = scipy.sparse.csgraph.connected_components(graph, directed=False)
    home = labels[np.argmin(np.sum((x - identity) ** 2, axis=1))]
    kept = x[labels == home]
    return kept, int(len(samples) - len(kept))


def _best_relation(z, target_idx, var_names, identity_vals, exps_all, max_terms, near):
    """Best-BIC implicit polynomial in ``z [S, v]`` (column 0 = the target c) that is regular at the identity
    and at the samples ``near`` it (indices)."""
    s = z.shape[0]
    phi_all, grads_all = _design(z, exps_all)
    id_phi, id_grads = _design(identity_vals[None], exps_all)
    has_c = exps_all[:, 0] > 0
    scale = np.sqrt(np.mean(phi_all**2, axis=0))
    scale = np.where(scale > 0, scale, 1.0)
    best = None
    idx_all = range(len(exps_all))
    for size in range(2, max_terms + 1):
        for subset in itertools.combinations(idx_all, size):
            sub = list(subset)
            if not has_c[sub].any():
                continue
            phi = phi_all[:, sub] / scale[sub]
            _, sv, vt = np.linalg.svd(phi, full_matrices=False)
            gamma = vt[-1] / scale[sub]
            if np.min(np.abs(gamma * scale[sub])) < 1e-6:
                continue  # a term with no weight: the same relation is found by a smaller subset
            grad_id = id_grads[0, sub].T @ gamma
            typical = float(np.median(np.linalg.norm(np.einsum("smv,m->sv", grads_all[:, sub], gamma), axis=1)))
            ratio = abs(grad_id[0]) / max(typical, 1e-300)
            if ratio < 0.1 or abs(id_phi[0, sub] @ gamma) > 0.1 * typical:
                continue  # singular at the identity (∂h/∂c tiny there compared with elsewhere), or misses it
            if np.median(np.abs(grads_all[near][:, sub, 0] @ gamma)) < 0.1 * typical:
                continue  # singular where the set passes the identity (two sheets crossing next to it)
            rss = _sampson_rss(gamma, phi_all[:, sub], grads_all[:, sub])
            bic = s * np.log(max(rss, 1e-300) / s) + (size - 1) * np.log(s)
            if best is None or bic < best[0]:
                best = (bic, sub, gamma, rss, ratio)
    return best


def _odr_refine(z, exps, gamma):
    """Implicit ODR (odrpack) of ``Σ γ_s z^{e_s} = 0`` with the largest coefficient fixed; returns (γ, cov, rss)."""
    import odrpack

    fix = np.zeros(len(gamma), bool)
    top = int(np.argmax(np.abs(gamma)))
    gamma = gamma / gamma[top]
    fix[top] = True

    def f(x, beta):
        return np.prod(x.T[:, None, :] ** exps[None], axis=-1) @ beta

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = odrpack.odr_fit(f, z.T, np.zeros(z.shape[0]), gamma, task="implicit-ODR", fix_beta=fix, maxit=100)
        beta = np.asarray(out.beta, float)
        cov = np.asarray(out.cov_beta, float) * float(out.res_var) if out.res_var > 0 else np.asarray(out.cov_beta)
        if not np.all(np.isfinite(beta)):
            raise ValueError("non-finite ODR coefficients")
        phi, grads = _design(z, exps)
        return beta, cov, _sampson_rss(beta, phi, grads)
    except Exception:  # noqa: BLE001 — fall back to the algebraic fit, which is already a good answer
        phi, grads = _design(z, exps)
        return gamma, np.full((len(gamma), len(gamma)), np.nan), _sampson_rss(gamma, phi, grads)


def fit_relations(
    samples,
    family: Family,
    *,
    max_degree: int = 2,
    max_terms: int = 4,
    dimension: int | None = None,
    guard: float = 0.3,
    num_error_draws: int = 200,
    seed: int = 0,
) -> GroupFit:
    """Method 2 on a sampled set ``D_a`` (``[S, P]``): relations by BIC, the generators, their errors.

    Args:
        samples: sampled parameters of ``family``'s maps at the chosen σ'.
        family: the family (its identity is the expansion point).
        max_degree, max_terms: implicit polynomials up to this degree with at most this many monomials.
        dimension: the group dimension ``d`` when known (the conserve pipeline passes the d_eff plateau's);
            default: by BIC over 1 … P − 1.
        guard: drop maps with ``|det M|^{1/n}`` below this.
        num_error_draws: Gaussian draws of the ODR coefficients propagated to the generators.
    """
    p = family.num_params
    if p > MAX_PARAMS:
        raise InputError(f"method 2 fits relations among at most {MAX_PARAMS} free entries; the {family.name} family "
                         f"has {p}. Use method='lie' (the direct Lie-algebra route) for large families")
    if p < 2:
        raise InputError("method 2 needs a family with at least 2 free entries (one group coordinate and a relation)")
    kept, dropped = identity_component(samples, family.identity, family=family, guard=guard)
    if len(kept) < 20 * p:
        raise InputError(f"only {len(kept)} sampled maps are connected to the identity (need ≥ {20 * p}); sample "
                         "longer or at another σ'")
    names = family.names
    s = len(kept)
    extent = float(np.sqrt(np.max(np.linalg.eigvalsh(np.atleast_2d(np.cov(kept.T))))))
    # the set's own extent: ranges along its principal axes (Σ over the first d of their logs)
    centred = kept - kept.mean(axis=0)
    log_extent = np.cumsum(np.log(np.maximum(np.ptp(centred @ np.linalg.svd(centred, full_matrices=False)[2].T,
                                                    axis=0), 1e-300)))
    # where the set passes the identity: its nearest 5 % (regularity) and 25 % (its directions there)
    order = np.argsort(np.linalg.norm(kept - family.identity, axis=1))
    near = order[: max(s // 20, 10)]
    local = kept[order[: max(s // 4, 10 * p)]]
    local_axes = np.linalg.svd(local - local.mean(axis=0), full_matrices=False)[2]
    dims = [dimension] if dimension is not None else list(range(1, p))
    candidates = []
    for d in dims:
        for b in itertools.combinations(range(p), d):
            total, rels, ok = 0.0, [], True
            if np.any(np.ptp(kept[:, list(b)], axis=0) <= 0):
                continue
            if np.linalg.svd(local_axes[:d][:, list(b)], compute_uv=False).min() < 0.1:
                continue  # no coordinates on the set near the identity: it runs along the other entries there
            total += 2 * s * float(log_extent[d - 1])
            exps = _exponents(d + 1, max_degree)
            for k in (i for i in range(p) if i not in b):
                cols = [k] + list(b)
                best = _best_relation(kept[:, cols], k, [names[i] for i in cols], family.identity[cols], exps,
                                      max_terms, near)
                if best is None:
                    ok = False
                    break
                bic, sub, gamma, rss, ratio = best
                if np.sqrt(rss / s) > 0.2 * extent:
                    ok = False  # not a relation: the scatter about it is comparable to the set's extent
                    break
                total += s * np.log(2 * np.pi * np.e * max(rss, 1e-300) / s) + (len(sub) - 1) * np.log(s)
                rels.append((k, cols, exps[sub], gamma, rss, bic, ratio))
            if ok:
                candidates.append((total, d, b, rels))
    if not candidates:
        raise InputError("no set of group coordinates gives relations that are regular at the identity; the sampled "
                         "set may not be a group (check the σ' figure) or needs a higher max_degree")
    bic_by_dim = {}
    for total, d, _, _ in candidates:
        bic_by_dim[d] = min(bic_by_dim.get(d, np.inf), total)
    total, d, b, rels = min(candidates, key=lambda c: c[0])
    relations = []
    for k, cols, exps, gamma, rss, bic, ratio in rels:
        beta, cov, rss_odr = _odr_refine(kept[:, cols], exps, gamma)
        var_names = tuple(names[i] for i in cols)
        errs = np.sqrt(np.clip(np.diag(cov), 0, None)) if np.all(np.isfinite(cov)) else np.full(len(beta), np.nan)
        law = polynomial_law({monomial(var_names, e): (v, er) for e, v, er in zip(exps, beta, errs)},
                             residual=float(np.sqrt(rss_odr / s)), drop_below=0.0,
                             labels={monomial(var_names, e): _monomial_name(e, var_names) for e in exps})
        relations.append(Relation(names[k], var_names, exps, beta, cov, rss_odr, bic, law.expression, ratio))
    gens, gen_errs = _generators(relations, family, b, num_error_draws, seed)
    notes = []
    if dropped:
        notes.append(f"{dropped} of {len(samples)} sampled maps were not connected to the identity or nearly "
                     "singular (e.g. reflections) and were left out of the fit")
    return GroupFit(d, tuple(names[i] for i in b), relations, gens, gen_errs, s, dropped,
                    {int(k): float(v) for k, v in sorted(bic_by_dim.items())}, notes)


def _relation_gradient(rel: Relation, point):
    _, grads = _design(np.asarray(point, float)[None], rel.exponents)
    return grads[0].T @ rel.coefficients  # [v]


def _generators(relations, family: Family, b, num_draws, seed):
    names = list(family.names)
    ident = family.identity
    rng = np.random.default_rng(seed)

    def tangents(coef_sets):
        out = []
        for l_idx, bl in enumerate(b):
            t = np.zeros(family.num_params)
            t[bl] = 1.0
            for rel, coef in zip(relations, coef_sets):
                cols = [names.index(v) for v in rel.variables]
                _, grads = _design(ident[cols][None], rel.exponents)
                g = grads[0].T @ coef
                t[cols[0]] = -g[1 + l_idx] / g[0]
            out.append(family.generator(t))
        return np.array(out)

    gens = tangents([r.coefficients for r in relations])
    draws = []
    for _ in range(num_draws):
        coefs = []
        for r in relations:
            if np.all(np.isfinite(r.covariance)):
                coefs.append(rng.multivariate_normal(r.coefficients, r.covariance, check_valid="ignore"))
            else:
                coefs.append(r.coefficients)
        draws.append(tangents(coefs))
    errs = np.std(draws, axis=0) if draws else np.zeros_like(gens)
    return gens, errs


def group_laws(fit: GroupFit, family: Family, *, phase_space: bool):
    """Laws from method 2: Noether charges of the generators (phase space) or the relations (static)."""
    laws = []
    if phase_space:
        for gen, err in canonical_generators(fit.generators, fit.generator_errors):
            law = noether_charge(gen, family.coordinate_names, errors=err)
            law.residual = float(max((r.rss / fit.num_used) ** 0.5 for r in fit.relations))
            law.notes.append("relations: " + "; ".join(f"{r.expression} = 0" for r in fit.relations))
            laws.append(law)
    else:
        for rel in fit.relations:
            errs = np.sqrt(np.clip(np.diag(rel.covariance), 0, None)) if np.all(np.isfinite(rel.covariance)) \
                else np.full(len(rel.coefficients), np.nan)
            terms, labels = rel.terms(rel.coefficients, errs)
            law = polynomial_law(terms, labels=labels,
                                 residual=float((rel.rss / fit.num_used) ** 0.5), drop_below=0.0,
                                 generator=fit.generators[0] if len(fit.generators) == 1 else None)
            law.notes.append(f"group relation {law.expression} = 0 among the entries of the invariant maps")
            laws.append(law)
    return laws
