"""Conserved quantities as results: the ``Law`` record, Noether charges of linear generators.

Noether (Mototake 2021, eq. for linear canonical maps): a generator ``δx = ε (K x + c)`` on
``x = (q, p)`` with ``J = [[0, I], [−I, 0]]`` is the Hamiltonian flow of

    G(x) = −½ xᵀ J K x − (J c)ᵀ x,

valid when ``J K`` is symmetric (``K ∈ sp(2d)``); otherwise only the symmetric part enters ``G`` and
the *symplectic defect* ``||JK − (JK)ᵀ|| / ||JK + (JK)ᵀ||`` is reported. Checks: ``K`` the rotation
acting alike on q and p gives ``G = q1 p2 − q2 p1``; the translation ``δq = c`` gives ``G = c · p``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import sympy

from physlaw.errors import InputError


@dataclasses.dataclass
class Law:
    """One conserved quantity (or group relation) found by a route.

    Attributes:
        expr: the law as a SymPy expression built from ``sympy.Symbol`` objects named after the
            dataset's coordinates (``q1*p2 - q2*p1``), normalised so the largest coefficient is 1
            (laws are defined up to a factor). Never parsed from text.
        coefficients: term label -> ``(value, error)``, the same normalisation; the error is ``nan``
            when the route gives none.
        residual: how well the law holds on the data (route-specific, documented by the route).
        generator: ``[n, n + 1]`` ``[K | c]`` of the symmetry behind the law, or None.
        symplectic_defect: of ``K`` (None without a generator or on a static manifold).
        notes: anything a physicist should know about this law, in words.
        drift: its check along held-out trajectories (``physlaw.symmetry._checks.Drift``: the relative
            rate ``(dG/dt)/<|G|>`` with a 95 % interval and the verdict), or None when not checked.
    """

    expr: sympy.Expr
    coefficients: dict
    residual: float
    generator: np.ndarray | None = None
    symplectic_defect: float | None = None
    notes: list = dataclasses.field(default_factory=list)
    drift: object = None

    def __post_init__(self):
        if isinstance(self.expr, (int, float, np.integer, np.floating)) and not isinstance(self.expr, bool):
            self.expr = sympy.Integer(int(self.expr)) if float(self.expr) == int(self.expr) else sympy.Float(float(self.expr))
        if not isinstance(self.expr, sympy.Basic):
            raise InputError(f"Law.expr must be a SymPy expression built from sympy.Symbol objects, got "
                             f"{type(self.expr).__name__} (text is never parsed)")

    @property
    def expression(self) -> str:
        """The law as text (``str`` of :attr:`expr`), for the JSON summary and printing."""
        return str(self.expr)

    def to_dict(self) -> dict:
        out = {
            "expression": self.expression,
            "coefficients": {k: {"value": float(v), "error": (None if not np.isfinite(e) else float(e))}
                             for k, (v, e) in self.coefficients.items()},
            "residual": float(self.residual),
            "generator": None if self.generator is None else np.round(np.asarray(self.generator), 6).tolist(),
            "symplectic_defect": None if self.symplectic_defect is None else float(self.symplectic_defect),
            "notes": list(self.notes),
            "drift": None if self.drift is None else self.drift.to_dict(),
        }
        return out

    def sympy(self):
        """The expression as a SymPy object (:attr:`expr` itself; nothing is parsed)."""
        return self.expr


def monomial(symbols, exponents) -> sympy.Expr:
    """``∏ s_i^{e_i}`` from SymPy symbols (or names, made into plain ``Symbol`` objects) and integer exponents.

    Example:
        >>> monomial(["q1", "p2"], [2, 1])
        p2*q1**2
    """
    out = sympy.Integer(1)
    for s, e in zip(symbols, exponents):
        e = int(e)
        if e:
            out *= (s if isinstance(s, sympy.Symbol) else sympy.Symbol(str(s))) ** e
    return out


def _plain_symbols(expr):
    """``expr`` with every symbol replaced by a plain ``Symbol`` of the same name (no assumptions), so
    laws from different routes compare equal."""
    return expr.xreplace({s: sympy.Symbol(s.name) for s in expr.free_symbols if isinstance(s, sympy.Symbol)})


def symplectic_form(d: int) -> np.ndarray:
    """``J = [[0, I], [−I, 0]]`` of size ``2d``."""
    z, i = np.zeros((d, d)), np.eye(d)
    return np.block([[z, i], [-i, z]])


def _round(x: float, err: float) -> float:
    """Round a coefficient to the precision its error allows (3 significant digits without one)."""
    if np.isfinite(err) and err > 0:
        digits = max(0, int(-np.floor(np.log10(err))) + 1)
    else:
        digits = max(0, 3 - int(np.floor(np.log10(max(abs(x), 1e-12)))) - 1)
    return round(float(x), min(digits, 12))


def polynomial_law(terms: dict, *, residual: float, drop_below: float = 0.0, labels: dict | None = None,
                   **extra) -> Law:
    """A :class:`Law` from ``{SymPy monomial: (coefficient, error)}``.

    The monomials are SymPy expressions built from ``sympy.Symbol`` objects (products and powers,
    see :func:`monomial`); text is refused, never parsed. Coefficients are divided by the largest in
    magnitude (errors alike, to first order); terms whose |coefficient| is below ``drop_below`` (and
    within two errors of zero) are dropped. ``labels`` maps a monomial to its name in
    :attr:`Law.coefficients` (default ``str(monomial)``).
    """
    if not terms:
        raise InputError("a law needs at least one term")
    bad = [t for t in terms if not isinstance(t, sympy.Basic)]
    if bad:
        raise InputError(f"polynomial_law needs SymPy monomials built from sympy.Symbol objects as keys (see "
                         f"monomial()); got {type(bad[0]).__name__} {bad[0]!r:.60}")
    labels = labels or {}
    values = np.array([v for v, _ in terms.values()], dtype=float)
    top = values[np.argmax(np.abs(values))]
    if top == 0:
        raise InputError("every coefficient of the law is zero")
    kept, expr = {}, sympy.Integer(0)
    for term, (v, e) in terms.items():
        v_n, e_n = v / top, abs(e / top) if e is not None and np.isfinite(e) else float("nan")
        if abs(v_n) < drop_below and (not np.isfinite(e_n) or abs(v_n) < 2 * e_n):
            continue
        kept[labels.get(term, str(term))] = (v_n, e_n)
        r = _round(v_n, e_n)
        coef = sympy.Integer(int(r)) if r == int(r) else sympy.Float(r, 15)
        expr += coef * term
    return Law(expr=_plain_symbols(expr), coefficients=kept,
               residual=float(residual), **extra)


def noether_charge(generator, coordinate_names, *, errors=None, drop_below: float = 1e-3) -> Law:
    """The Noether charge of a linear (affine) generator ``[K | c]`` on ``x = (q, p)``.

    Args:
        generator: ``[n, n]`` ``K`` or ``[n, n + 1]`` ``[K | c]`` with ``n = 2d``.
        coordinate_names: ``n`` names, positions first.
        errors: optional standard deviations of the generator's entries (same shape); they are
            propagated linearly to the coefficients of ``G``.
        drop_below: relative size under which a coefficient is dropped from the expression.

    Returns:
        A :class:`Law` with ``G`` (normalised), its coefficients, the generator and the symplectic
        defect of ``K``; ``residual`` is 0 (the route that found the generator sets it).

    Example:
        >>> import numpy as np
        >>> r = np.array([[0.0, -1.0], [1.0, 0.0]])
        >>> k = np.block([[r, np.zeros((2, 2))], [np.zeros((2, 2)), r]])
        >>> noether_charge(k, ["q1", "q2", "p1", "p2"]).expression
        'q1*p2 - q2*p1'
    """
    gen = np.asarray(generator, dtype=float)
    n = len(coordinate_names)
    if n % 2 or gen.shape[0] != n or gen.shape[1] not in (n, n + 1):
        raise InputError(f"a Noether charge needs phase-space coordinates (q, p) of even dimension and a "
                         f"generator [n, n] or [n, n+1]; got {n} coordinates and a generator {gen.shape}")
    d = n // 2
    k = gen[:, :n]
    c = gen[:, n] if gen.shape[1] > n else np.zeros(n)
    j = symplectic_form(d)
    jk = j @ k
    sym = 0.5 * (jk + jk.T)
    anti = 0.5 * (jk - jk.T)
    defect = float(np.linalg.norm(anti) / max(np.linalg.norm(sym) + np.linalg.norm(j @ c), 1e-300))
    # G = -1/2 x^T sym x - (J c)^T x, collected into monomials
    lin = -(j @ c)
    err_k = None if errors is None else np.asarray(errors, dtype=float)
    terms: dict = {}
    labels: dict = {}
    names = [str(c) for c in coordinate_names]
    syms = [sympy.Symbol(c) for c in names]
    for a in range(n):
        for b in range(a, n):
            coef = -sym[a, a] / 2 if a == b else -sym[a, b]
            if err_k is not None:  # (J K)[a, b] = ±K[m(a), b]: |J| @ err picks that entry's error
                eja = np.abs(j) @ err_k[:, :n]
                err = eja[a, a] / 2 if a == b else 0.5 * np.hypot(eja[a, b], eja[b, a])
            else:
                err = float("nan")
            if coef != 0:
                term = syms[a] * syms[b]
                terms[term] = (coef, err)
                labels[term] = f"{names[a]}*{names[b]}" if a != b else f"{names[a]}**2"
    for a in range(n):
        if lin[a] != 0:
            err = float("nan") if err_k is None or err_k.shape[1] <= n else float((np.abs(j) @ err_k[:, n])[a])
            terms[syms[a]] = (lin[a], err)
            labels[syms[a]] = names[a]
    if not terms or max(abs(v) for v, _ in terms.values()) < 1e-12:
        raise InputError("the generator gives a zero Noether charge (its J K is antisymmetric: not a canonical "
                         "symmetry); check the family or the data")
    law = polynomial_law(terms, residual=0.0, drop_below=drop_below, labels=labels)
    law.generator = gen if gen.shape[1] > n else np.hstack([gen, np.zeros((n, 1))])
    law.symplectic_defect = defect
    if defect > 0.1:
        law.notes.append(f"the generator is not symplectic (defect {defect:.2f}); G uses its symplectic part only")
    return law


def _charge_vectors(gens: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each generator's charge vector (upper triangle of the symmetric part of ``J K``, then ``J c``)
    divided by the generator's norm, and the norms: rows [m, n(n+1)/2 + n], norms [m]."""
    n = gens[0].shape[0]
    j = symplectic_form(n // 2)
    norms = np.array([max(np.linalg.norm(g), 1e-300) for g in gens])
    iu = np.triu_indices(n)
    rows = []
    for g, norm in zip(gens, norms):
        jk = j @ g[:, :n]
        c = g[:, n] if g.shape[1] > n else np.zeros(n)
        rows.append(np.concatenate([(0.5 * (jk + jk.T))[iu], j @ c]) / norm)
    return np.array(rows), norms


def canonical_generators(generators, errors, *, min_charge: float = 0.1):
    """Combinations of the group's generators with independent Noether charges.

    A generator's charge depends only on the symmetric part of ``J K`` (and on ``J c``); a direction
    of the algebra whose charge is small against the generator itself (e.g. a common scaling of q and
    p, ``J K`` antisymmetric) is no canonical symmetry and carries no law. With each generator scaled
    to unit norm, the charge vectors' singular value decomposition gives the combinations with
    independent charges (singular value ≥ ``min_charge``); a generator basis of a 2-dimensional
    group {rotation, scaling} thus gives one law, not two copies of it. Entry errors are propagated
    linearly. Raises ``InputError`` when no direction has a charge.
    """
    gens = [np.asarray(g, float) for g in generators]
    if not gens:
        return []
    rows, norms = _charge_vectors(gens)
    u, sv, _ = np.linalg.svd(rows, full_matrices=False)
    keep = np.flatnonzero(sv >= min_charge)
    if keep.size == 0:
        raise InputError(f"the generators give no Noether charge (largest relative charge {sv.max():.2g} < "
                         f"{min_charge}: J K is nearly antisymmetric, not a canonical symmetry); check the family "
                         "or the data")
    out = []
    for col in keep:
        w = u[:, col] / norms
        w = w * np.sign(w[np.argmax(np.abs(w))])
        gen = sum(wi * g for wi, g in zip(w, gens))
        err = np.sqrt(sum((wi * np.asarray(e, float)) ** 2 for wi, e in zip(w, errors)))
        out.append((gen, err))
    return out


def generator_similarity(found, truth) -> float:
    """``|cos|`` between two generators (flattened), the benchmark's subspace-similarity metric for d = 1."""
    a, b = np.ravel(np.asarray(found, float)), np.ravel(np.asarray(truth, float))
    m = min(a.size, b.size)
    a, b = a[:m], b[:m]
    return float(abs(a @ b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-300))


def subspace_similarity(found, truth) -> float:
    """Mean squared cosine of the principal angles between two row spaces (1 = identical).

    ``found`` ``[k1, m]``, ``truth`` ``[k2, m]``; divided by ``max(k1, k2)`` so extra or missing
    directions lower the score.
    """
    a = np.atleast_2d(np.asarray(found, float))
    b = np.atleast_2d(np.asarray(truth, float))
    if a.shape[0] == 0 or b.shape[0] == 0:
        return 0.0
    qa, _ = np.linalg.qr(a.T)
    qb, _ = np.linalg.qr(b.T)
    cos = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return float(np.sum(cos**2) / max(a.shape[0], b.shape[0]))


@dataclasses.dataclass
class Discovery:
    """What a route found: its laws, the evidence for their number, and data for the figures.

    Attributes:
        route: ``"group"``, ``"lie"``, ``"lie-library"``, ``"hnn"`` or ``"library"``.
        laws: the conserved quantities (or, on a static manifold, the group relations).
        spectrum: relative singular values of the route's null-space problem (descending), or None.
        count: number of laws (null directions) found.
        gap: the singular-value gap that set the count (``inf`` exact, ``nan`` if not applicable).
        weak: True when the evidence for the count is weak (small gap, few samples, poor fit).
        message: one or two plain sentences for the user: what was found and how sure it is.
        details: route-specific JSON-able values (settings, timings, fit quality).
        arrays: route-specific arrays for the figures (never written to the summary).
    """

    route: str
    laws: list
    spectrum: np.ndarray | None
    count: int
    gap: float
    weak: bool
    message: str
    details: dict = dataclasses.field(default_factory=dict)
    arrays: dict = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        gap = self.gap if np.isfinite(self.gap) else None
        return {
            "route": self.route,
            "count": int(self.count),
            "singular_value_gap": gap,
            "weak_evidence": bool(self.weak),
            "message": self.message,
            "singular_values": None if self.spectrum is None else [float(s) for s in self.spectrum],
            "laws": [law.to_dict() for law in self.laws],
            "details": self.details,
        }


def verdict(count: int, gap: float, weak: bool, what: str = "conserved quantity", whats: str | None = None) -> str:
    """The plain-language sentence for a count and its gap (``what``/``whats``: singular and plural noun)."""
    whats = whats or (what[:-1] + "ies" if what.endswith("y") else what + "s")
    if count == 0:
        return (f"No {what} found: no singular value is clearly separated from the rest"
                + (" (the smallest are small but without a gap — evidence weak)." if weak else "."))
    g = "an exact null space" if not np.isfinite(gap) else f"a singular-value gap of ×{gap:.3g}"
    return f"Found {count} {what if count == 1 else whats} with {g}" + (
        " — weak evidence: treat the count with care." if weak else ".")


def describe_directions(generators, residuals=None, *, min_charge: float = 0.1) -> list[dict]:
    """Every direction of a symmetry null space, canonical or not, in words (nothing is thrown away).

    The span of ``generators`` (each ``[n, n]`` or ``[n, n + 1]`` on ``x = (q, p)``) is split as in
    :func:`canonical_generators`: the singular value decomposition of the unit generators' charge
    vectors (symmetric part of ``J K``, and ``J c``) gives combinations with a Noether charge (singular
    value ≥ ``min_charge``: "canonical") and combinations without one ("non-canonical": ``J K``
    antisymmetric). Each non-canonical combination is named: ``"a scaling"`` when ``K`` is a multiple of
    the identity (``q, p → λ q, λ p``: maps orbits to orbits of a homogeneous system but conserves
    nothing), else ``"a non-canonical linear map"``.

    Returns:
        One dict per direction: ``kind`` (``"canonical"`` / ``"non-canonical"``), ``charge_share`` (the
        singular value: the fraction of the direction that carries a charge, 0 to 1), ``description``,
        ``generator`` (rounded ``[K | c]``) and ``residual`` (the largest null-space residual of the
        directions combined, when given).
    """
    gens = [np.asarray(g, float) for g in generators]
    if not gens:
        return []
    n = gens[0].shape[0]
    gens = [g if g.shape[1] > n else np.hstack([g, np.zeros((n, 1))]) for g in gens]
    rows, norms = _charge_vectors(gens)
    u, sv, _ = np.linalg.svd(rows, full_matrices=True)
    sv = np.concatenate([sv, np.zeros(len(gens) - sv.size)]) if sv.size < len(gens) else sv[: len(gens)]
    res = None if residuals is None or len(residuals) == 0 else float(np.max(residuals))
    combos = []
    for col in range(len(gens)):
        w = u[:, col] / norms
        gen = sum(wi * g for wi, g in zip(w, gens))
        combos.append(gen / max(np.linalg.norm(gen), 1e-300))
    # within the directions without a charge, show a common scaling on its own when the span holds one
    free = [i for i in range(len(gens)) if sv[i] < min_charge]
    if free:
        basis = np.array([combos[i].ravel() for i in free])
        ident = np.hstack([np.eye(n), np.zeros((n, 1))]).ravel() / np.sqrt(n)
        coef, *_ = np.linalg.lstsq(basis.T, ident, rcond=None)
        if np.linalg.norm(basis.T @ coef) > 0.9:
            qmat, _ = np.linalg.qr(np.column_stack([basis.T @ coef, basis.T]))
            for slot, i in enumerate(free):
                combos[i] = qmat[:, slot].reshape(combos[i].shape)
    out = []
    for col in range(len(gens)):
        gen = combos[col]
        gen = gen * np.sign(gen.ravel()[np.argmax(np.abs(gen.ravel()))])
        share = float(min(sv[col], 1.0))
        if share >= min_charge:
            kind, text = "canonical", "a canonical symmetry: its Noether charge is a conserved quantity"
        else:
            k = gen[:, :n]
            scale = np.trace(k) / n
            if abs(scale) > 0 and np.linalg.norm(k - scale * np.eye(n)) < 0.1 * np.linalg.norm(k) \
                    and np.linalg.norm(gen[:, n]) < 0.1:
                kind, text = "non-canonical", "a scaling (q, p -> λq, λp): no conserved quantity"
            else:
                kind, text = "non-canonical", "a non-canonical linear map (J K antisymmetric): no conserved quantity"
        out.append({"kind": kind, "charge_share": round(share, 4), "description": text,
                    "generator": np.round(gen, 4).tolist(), "residual": res})
    return out
