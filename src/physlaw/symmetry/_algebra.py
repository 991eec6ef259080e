"""The Lie algebra spanned by several symmetry generators: structure constants, closure, its name.

Generators ``K_a`` found by a route (``n × n`` matrices, or affine ``[K | c]`` embedded as
``[[K, c], [0, 0]]``) span an algebra only if their commutators stay in the span:

    [K_a, K_b] = K_a K_b − K_b K_a = Σ_c f_ab^c K_c.

The structure constants ``f_ab^c`` are fitted by least squares (the generators are linearly
independent); the relative residual ``||[K_a, K_b] − Σ_c f_ab^c K_c|| / (||K_a|| ||K_b||)`` says
whether the span closes. Its tolerance comes from the generators' own errors when they are given
(Monte Carlo: the residuals of generators redrawn within their errors, 95th percentile, times 3),
else ``rtol``. The same draws give the errors of ``f``.

The name is read from basis-independent invariants: the dimension, the derived algebra
``g' = [g, g]`` (rank of the commutators), the centre ``z`` (null space of ``x ↦ ad_x``) and the
signature of the Killing form ``B(x, y) = tr(ad_x ad_y)`` on ``g'``. A reductive algebra
``g = g' ⊕ z`` with ``B`` negative definite on ``g'`` is compact: ``g' = su(2) ≅ so(3)`` (dim 3),
``so(4) ≅ su(2) ⊕ su(2)`` (6), ``su(3)`` (8); with a one-dimensional centre ``u(2)`` (4) and
``u(3)`` (9); ``so(2)`` for one generator with imaginary eigenvalues (a rotation), ``u(1)^k`` for
``k`` commuting rotations. ``sl(2, R) ≅ so(2, 1)`` (Killing form of signature (2, 1)) and the
Heisenberg algebra (dim 3, ``g' = z`` of dim 1) are named too; anything else is described by its
invariants ("non-abelian, dimension 4, derived 2, centre 1").

Checks: the three rotations of R³ give ``so(3)``, the four u(2) charges' generators of the
isotropic 2D oscillator give ``u(2)``, rotation plus a common scaling gives ``u(1) ⊕ R`` (abelian),
``{q ∂_q, p ∂_p, ...}`` off a subalgebra do not close.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from physlaw.errors import InputError


@dataclasses.dataclass
class LieAlgebra:
    """Structure of the algebra spanned by generators.

    Attributes:
        dimension: number of (independent) generators.
        structure_constants: ``[k, k, k]`` ``f[a, b, c]`` with ``[K_a, K_b] = Σ_c f[a, b, c] K_c``.
        errors: ``[k, k, k]`` their standard deviations (zeros without generator errors).
        residuals: ``[k, k]`` relative closure residuals of each commutator.
        closes: every residual within ``tolerance``.
        tolerance: the closure threshold used (from the generators' errors, or ``rtol``).
        name: the standard name (``"so(3) ≅ su(2)"``, ``"u(2)"``, ``"abelian u(1)^2"``, …) or a
            description by invariants; ``"not closed"`` when the span does not close.
        derived_dimension, centre_dimension: ``dim [g, g]`` and ``dim z(g)``.
        killing_signature: ``(negative, zero, positive)`` eigenvalue counts of the Killing form.
        compact: every generator has imaginary eigenvalues and the Killing form is negative
            semi-definite.
    """

    dimension: int
    structure_constants: np.ndarray
    errors: np.ndarray
    residuals: np.ndarray
    closes: bool
    tolerance: float
    name: str
    derived_dimension: int
    centre_dimension: int
    killing_signature: tuple
    compact: bool

    def commutator_table(self, labels=None, *, drop_below: float = 1e-6) -> list[str]:
        """The non-zero commutators as text, e.g. ``['[K1, K2] = 1.000 K3', ...]``."""
        k = self.dimension
        labels = labels or [f"K{i + 1}" for i in range(k)]
        big = max(float(np.abs(self.structure_constants).max(initial=0.0)), 1e-300)
        out = []
        for a in range(k):
            for b in range(a + 1, k):
                f = self.structure_constants[a, b]
                keep = [c for c in range(k) if abs(f[c]) > max(drop_below * big, 2 * self.errors[a, b, c])]
                rhs = " + ".join(f"{f[c]:.4g} {labels[c]}" for c in keep) or "0"
                out.append(f"[{labels[a]}, {labels[b]}] = {rhs}".replace("+ -", "- "))
        return out

    def to_dict(self) -> dict:
        return {
            "dimension": int(self.dimension),
            "name": self.name,
            "closes": bool(self.closes),
            "tolerance": float(self.tolerance),
            "max_residual": float(self.residuals.max(initial=0.0)),
            "derived_dimension": int(self.derived_dimension),
            "centre_dimension": int(self.centre_dimension),
            "killing_signature": [int(x) for x in self.killing_signature],
            "compact": bool(self.compact),
            "structure_constants": np.round(self.structure_constants, 6).tolist(),
            "structure_constant_errors": np.round(self.errors, 6).tolist(),
            "commutators": self.commutator_table(),
        }


def _square(gens) -> np.ndarray:
    """Generators as square matrices ``[k, m, m]`` (affine ``[K | c]`` embedded in ``m = n + 1``)."""
    gens = [np.asarray(g, dtype=float) for g in gens]
    if not gens:
        raise InputError("the algebra needs at least one generator")
    shapes = {g.shape for g in gens}
    if len(shapes) != 1:
        raise InputError(f"generators must share one shape, got {sorted(shapes)}")
    (shape,) = shapes
    if len(shape) != 2 or shape[1] not in (shape[0], shape[0] + 1):
        raise InputError(f"a generator must be [n, n] or [n, n + 1] ([K | c]), got {shape}")
    if shape[1] == shape[0] + 1:
        if all(np.allclose(g[:, -1], 0) for g in gens):
            return np.stack([g[:, :-1] for g in gens])
        pad = np.zeros((1, shape[1]))
        return np.stack([np.vstack([g, pad]) for g in gens])
    return np.stack(gens)


def _constants(mats: np.ndarray, *, vectors: bool = False):
    """Least-squares structure constants ``f[a, b, c]`` and relative residuals ``[k, k]`` (with
    ``vectors``: the residual vectors ``[k, k, m²]`` divided by ``||K_a|| ||K_b||`` instead)."""
    k = mats.shape[0]
    basis = mats.reshape(k, -1).T  # [m², k]
    norms = np.linalg.norm(basis, axis=0)
    f = np.zeros((k, k, k))
    res = np.zeros((k, k, basis.shape[0]))
    for a in range(k):
        for b in range(a + 1, k):
            comm = (mats[a] @ mats[b] - mats[b] @ mats[a]).ravel()
            coef, *_ = np.linalg.lstsq(basis, comm, rcond=None)
            f[a, b], f[b, a] = coef, -coef
            res[a, b] = (basis @ coef - comm) / max(norms[a] * norms[b], 1e-300)
            res[b, a] = -res[a, b]
    return f, (res if vectors else np.linalg.norm(res, axis=-1))


def _rank(mat: np.ndarray, rtol: float) -> int:
    if mat.size == 0:
        return 0
    s = np.linalg.svd(mat, compute_uv=False)
    return int(np.sum(s > rtol * max(s[0], 1e-300))) if s[0] > 1e-12 else 0


def algebra(generators, errors=None, *, rtol: float = 0.05, num_draws: int = 200, seed: int = 0) -> LieAlgebra:
    """Structure constants, closure and name of the Lie algebra spanned by ``generators``.

    Args:
        generators: ``k`` matrices ``[n, n]`` or affine ``[n, n + 1]`` (``[K | c]``), linearly
            independent (e.g. a route's null-space basis).
        errors: optional standard deviations of the generators' entries (same shapes), e.g. the
            lie route's bootstrap errors. They set the closure tolerance and the errors of ``f``
            (all zeros counts as not given).
        rtol: closure tolerance without errors (relative residual), and the relative threshold
            under which a structure constant, a Killing eigenvalue or a singular value counts as 0.
        num_draws: Monte Carlo draws for the tolerance and the errors.
        seed: of those draws.

    Returns:
        A :class:`LieAlgebra`.

    Example:
        >>> import numpy as np
        >>> e = np.eye(3)
        >>> rot = [np.outer(e[(i + 2) % 3], e[(i + 1) % 3]) - np.outer(e[(i + 1) % 3], e[(i + 2) % 3]) for i in range(3)]
        >>> a = algebra(rot)
        >>> a.name, a.closes, a.commutator_table()[0]
        ('so(3) ≅ su(2)', True, '[K1, K2] = 1 K3')
    """
    mats = _square(generators)
    k = mats.shape[0]
    if _rank(mats.reshape(k, -1), 1e-8) < k:
        raise InputError(f"the {k} generators are linearly dependent; pass a basis (e.g. a null space's)")
    f, resvec = _constants(mats, vectors=True)
    res = np.linalg.norm(resvec, axis=-1)
    ferr = np.zeros_like(f)
    tol = float(rtol)
    if errors is not None and not np.any(np.asarray([np.asarray(e, float) for e in errors])):
        errors = None  # all-zero errors mean "not estimated" (no bootstrap): use rtol
    if errors is not None:
        errs = _square(errors) if np.shape(errors)[-1] == np.shape(generators)[-1] else None
        if errs is None or errs.shape != mats.shape:
            raise InputError(f"errors must have the generators' shape {np.shape(generators)}")
        rng = np.random.default_rng(seed)
        fs, rs = [], []
        for _ in range(int(num_draws)):
            fd, rd = _constants(mats + errs * rng.standard_normal(mats.shape), vectors=True)
            fs.append(fd)
            rs.append(np.linalg.norm(rd - resvec, axis=-1).max(initial=0.0))
        ferr = np.std(fs, axis=0, ddof=1) if len(fs) > 1 else ferr
        # the generators' errors move the residuals by this much (to first order the residual of a
        # closed algebra's noisy basis): the tolerance is 3 × the 95th percentile of that change
        tol = max(3.0 * float(np.percentile(rs, 95)), 1e-9)
    closes = bool(res.max(initial=0.0) <= tol)
    # the invariants in an orthonormal basis (Frobenius inner product), where "small" means the same
    # in every direction: derived algebra and centre from ranks, Killing form from its eigenvalues
    u, _, _ = np.linalg.svd(mats.reshape(k, -1).T, full_matrices=False)
    fz, _ = _constants(u.T.reshape(k, *mats.shape[1:]))
    # ad_a [c, b] = f[a, b, c]; Killing B_ab = tr(ad_a ad_b)
    ad = np.transpose(fz, (0, 2, 1))
    killing = np.einsum("acd,bdc->ab", ad, ad)
    derived = _rank(fz.reshape(k * k, k), rtol)
    centre = k - _rank(fz.reshape(k, k * k), rtol) if k > 1 else 1
    kev = np.linalg.eigvalsh(0.5 * (killing + killing.T)) if k else np.zeros(0)
    kscale = max(float(np.abs(kev).max(initial=0.0)), 1e-300)
    signature = (int(np.sum(kev < -rtol * kscale)), int(np.sum(np.abs(kev) <= rtol * kscale)),
                 int(np.sum(kev > rtol * kscale)))
    rotation = [_is_rotation(m, rtol) for m in mats]
    compact = all(rotation) and signature[2] == 0
    name = _name(k, derived, centre, signature, rotation, closes)
    return LieAlgebra(k, f, ferr, res, closes, tol, name, derived, centre, signature, compact)


def _is_rotation(m: np.ndarray, rtol: float) -> bool:
    """Imaginary eigenvalues, not all zero (a nilpotent map such as a shear generates no rotation)."""
    ev = np.linalg.eigvals(m)
    size = max(float(np.linalg.norm(m)), 1e-300)
    return bool(np.all(np.abs(ev.real) <= rtol * size) and np.abs(ev.imag).max() > rtol * size)


_COMPACT_SIMPLE = {3: "su(2)", 6: "su(2) ⊕ su(2)", 8: "su(3)"}
_NAMES = {(3, 0): "so(3) ≅ su(2)", (3, 1): "u(2)", (6, 0): "so(4) ≅ su(2) ⊕ su(2)", (8, 0): "su(3)",
          (8, 1): "u(3)"}


def _name(k: int, derived: int, centre: int, signature: tuple, rotation: list, closes: bool) -> str:
    if not closes:
        return "not closed"
    neg, zero, pos = signature
    if derived == 0:
        if k == 1:
            return "so(2) ≅ u(1)" if rotation[0] else "R (one non-compact generator)"
        n_rot = sum(rotation)
        power = lambda base, m: base if m == 1 else f"{base}^{m}"  # noqa: E731
        parts = [power("u(1)", n_rot)] * bool(n_rot) + [power("R", k - n_rot)] * bool(k - n_rot)
        return "abelian " + " ⊕ ".join(parts)
    if derived + centre == k and neg == derived and pos == 0:  # compact reductive g = g' ⊕ z
        if (derived, centre) in _NAMES:
            return _NAMES[(derived, centre)]
        simple = _COMPACT_SIMPLE.get(derived, f"compact semisimple of dimension {derived}")
        return simple + (f" ⊕ u(1)^{centre}" if centre else "")
    if k == 3 and derived == 3 and neg == 1 and pos == 2:
        return "sl(2, R) ≅ so(2, 1)"
    if k == 4 and derived == 3 and centre == 1 and neg == 1 and pos == 2:
        return "gl(2, R) ≅ sl(2, R) ⊕ R"
    if k == 3 and derived == 1 and centre == 1 and zero == 3:
        return "heisenberg"
    return f"non-abelian, dimension {k} (derived algebra {derived}, centre {centre}, Killing signature {signature})"


def algebra_details(generators, errors=None, **options) -> dict | None:
    """:func:`algebra` as a JSON-able dict for a route's ``details`` (``None`` without generators).

    Never raises on the route's behalf: a degenerate set (dependent or zero generators) gives
    ``{"dimension": k, "name": None, "note": why}``, so the algebra can only add to a result.
    """
    gens = [] if generators is None else [np.asarray(g, dtype=float) for g in generators]
    if not gens:
        return None
    errs = None if errors is None else [np.asarray(e, dtype=float) for e in errors]
    try:
        return algebra(gens, errs, **options).to_dict()
    except (InputError, np.linalg.LinAlgError, ValueError) as err:
        return {"dimension": len(gens), "name": None, "note": f"no algebra computed: {err}"}
