"""Function libraries for conserved quantities ``G(x) = Σ_j c_j φ_j(x)``, and laws from their null spaces.

A conserved quantity that is a linear combination of library features ``φ_j`` satisfies a linear
condition on its coefficients at every sample: along trajectories ``dG/dt = Σ_j c_j ∇φ_j(x)·ẋ = 0``
(:func:`physlaw.symmetry.trajectory_laws`), or against a learned Hamiltonian
``{G, H} = Σ_j c_j ∇φ_j(x)ᵀ J ∇H(x) = 0`` (:func:`physlaw.symmetry.hnn_laws`). Stacking samples
gives a matrix whose near-null space (:func:`physlaw.symmetry.null_space`) holds the laws.

Features: the monomials of degree ``1 … degree`` in all coordinates (the constant is left out: it is
trivially conserved), optionally ``1/|q|`` over the position block (Kepler), ``cos q_i`` and
``sin q_i`` of each position (angles), and any extra SymPy expressions. Every feature has a
readable name in the coordinate names (``q1*p2``, ``1/sqrt(q1**2 + q2**2)``, ``cos(theta)``).

Degeneracy: the null space holds *every* conserved combination in the library, not one per
independent law. If ``G`` is conserved so is any function of it, so a library containing ``G`` and
``G²`` counts both (the 1D free particle in a degree-2 library: ``p`` and ``p²``, count 2). Counts
of the truth in the default degree-2 library (constant excluded):

* 1D harmonic oscillator / spring (``q, p, q², qp, p²``): 1, the energy.
* 2D isotropic oscillator (14 features): 4, the quadratic u(2) charges ``q1² + p1²``,
  ``q2² + p2²``, ``q1 q2 + p1 p2``, ``q1 p2 − q2 p1`` (with unit mass and spring constant).
* 2D anisotropic oscillator, frequencies 1 : 2: 2, the mode energies.
* planar Kepler with ``inverse_radius`` (15 features): 2, the energy ``|p|²/2 − 1/|q|`` and
  ``L = q1 p2 − q2 p1``. The Runge–Lenz components ``p × L − q/|q|`` are cubic in ``(q, p)`` plus
  ``q_i/|q|``: not in this library.
* planar Kepler in :func:`kepler_library` (degree 3, ``1/|q|``, ``q_i/|q|``; 37 features): 4, the
  energy, ``L`` and the two Runge–Lenz components ``A1 = p2 L − q1/|q|``, ``A2 = −p1 L − q2/|q|``
  (``m = k = 1``) — when the data span several energies. On a single energy shell ``E = E0`` also
  ``(E − E0) q_i`` is constant along every trajectory and lies in this library: 2 more directions
  (then count with several shells, or read the Runge–Lenz vector from the span). In 3D (degree 3:
  119 features) the same holds with ``L``'s three and ``A``'s three components.
* pendulum with ``angles`` (``ω, ω², cos θ, sin θ``): 1, the energy ``ω² − (2g/l) cos θ``
  (in ``ω = θ̇``). With ``trig`` instead (``θ, ω, θ², θω, ω², cos θ, sin θ``) also 1 in exact
  arithmetic, but ``θ``/``sin θ`` and ``θ²``/``cos θ`` are nearly collinear at moderate amplitude, so
  noisy or damped data show extra near-null directions.
* free particle 1D: 2 (``p`` and ``p²``).
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy

from physlaw.dynamics import check_coordinate_names
from physlaw.errors import InputError
from physlaw.symmetry._laws import Law, polynomial_law
from physlaw.symmetry._nullspace import NullSpace


def _harmonics(names, symbols) -> list:
    """``(name, expression)`` of the first harmonics of angles: ``cos θ_i, sin θ_i`` and for each pair
    ``cos(θ_i − θ_j), sin(θ_i − θ_j), cos(θ_i + θ_j), sin(θ_i + θ_j)``."""
    out = [(f"cos({c})", sympy.cos(s)) for c, s in zip(names, symbols)]
    out += [(f"sin({c})", sympy.sin(s)) for c, s in zip(names, symbols)]
    for (a, sa), (b, sb) in itertools.combinations(zip(names, symbols), 2):
        out += [(f"cos({a} - {b})", sympy.cos(sa - sb)), (f"sin({a} - {b})", sympy.sin(sa - sb)),
                (f"cos({a} + {b})", sympy.cos(sa + sb)), (f"sin({a} + {b})", sympy.sin(sa + sb))]
    return out


def num_angle_product_features(num_angles: int, num_other: int, degree: int) -> int:
    """The size of ``FunctionLibrary(..., angle_products=True)`` (without building it)."""
    import math

    harmonics = 1 + 2 * num_angles + 2 * num_angles * (num_angles - 1)
    return math.comb(num_other + degree, degree) * harmonics - 1


def _monomial(names, combo) -> str:
    """``q1*p2`` or ``q1**2`` for a tuple of coordinate indices (in coordinate order)."""
    parts = []
    for i, group in itertools.groupby(combo):
        power = len(list(group))
        parts.append(names[i] if power == 1 else f"{names[i]}**{power}")
    return "*".join(parts)


class FunctionLibrary:
    """A library of scalar features ``φ_j(x)`` on ``n`` coordinates, with exact gradients.

    Values and gradients are SymPy expressions compiled once with ``sympy.lambdify`` (NumPy,
    common subexpressions shared), so ``N = 10⁴`` samples and ``m ≈ 50`` features take
    milliseconds.

    Args:
        coordinate_names: the ``n`` coordinates (Python identifiers), positions first.
        degree: highest monomial degree (``0`` for none); the constant is never included.
        inverse_radius: add ``1/|q|`` over the position block.
        trig: add ``cos q_i`` and ``sin q_i`` for each position.
        angles: the positions are angles: they enter only through ``cos q_i`` and ``sin q_i``
            (implies ``trig``; a function on the circle is periodic), the monomials use the other
            coordinates only. Use it for pendulums: with ``trig`` alone, ``q`` and ``sin q`` (and
            ``q²`` and ``cos q``) are nearly collinear at moderate amplitudes, and near-conserved
            combinations such as ``sin q − 0.87 q`` compete with the energy.
        angle_products: the positions are angles (implies ``angles``) and the features are every product
            of a monomial of degree ``0 … degree`` in the other coordinates (the velocities) with a
            first harmonic of the angles, ``1, cos θ_i, sin θ_i`` and, for each pair,
            ``cos(θ_i − θ_j), sin(θ_i − θ_j), cos(θ_i + θ_j), sin(θ_i + θ_j)`` (the constant left out).
            The energy of any chain of pendulums in angles and angular velocities,
            ``½ ωᵀ M(θ) ω + V(θ)`` with ``M`` and ``V`` of first harmonics, lies in it (the double
            pendulum's ``ω1 ω2 cos(θ1 − θ2)``); 53 features for two angles at degree 2.
        num_positions: size of the position block (default ``n/2`` for even ``n``, else ``n``).
        extra: further features as SymPy expressions built from symbols named after the coordinates
            (e.g. ``q1, q2, p1, p2 = sympy.symbols("q1 q2 p1 p2")``; text is refused, never parsed).
        radial: add the unit-vector components ``q_i/|q|`` of the position block (with ``degree=3``
            and ``inverse_radius`` the library holds the Kepler Runge–Lenz vector
            ``A = p × L − m k q/|q|``; see :func:`kepler_library`).

    Attributes:
        coordinate_names, num_positions, names (feature strings), expressions (SymPy), symbols.

    Example:
        >>> lib = FunctionLibrary(["q", "p"], degree=2)
        >>> lib.names
        ('q', 'p', 'q**2', 'q*p', 'p**2')
    """

    def __init__(self, coordinate_names, *, degree: int = 2, inverse_radius: bool = False, trig: bool = False,
                 angles: bool = False, num_positions: int | None = None, extra=(), radial: bool = False,
                 angle_products: bool = False):
        names = tuple(coordinate_names)
        if not names:
            raise InputError("a function library needs at least one coordinate name")
        names = check_coordinate_names(names)
        n = len(names)
        d = (n // 2 if n % 2 == 0 else n) if num_positions is None else int(num_positions)
        if not 0 <= d <= n:
            raise InputError(f"num_positions must be between 0 and {n}, got {num_positions}")
        if int(degree) < 0:
            raise InputError(f"degree must be >= 0, got {degree}")
        angles = bool(angles or angle_products)
        if (inverse_radius or radial or trig or angles) and d == 0:
            raise InputError("inverse_radius, radial, trig and angles act on positions, but the library has none "
                             "(num_positions = 0)")
        if angles and (inverse_radius or radial):
            raise InputError("angles excludes inverse_radius and radial (1/|q| of angles has no meaning)")
        self.coordinate_names = names
        self.num_positions = d
        self.degree = int(degree)
        self.symbols = tuple(sympy.Symbol(c, real=True) for c in names)
        self.options = {"degree": self.degree, "inverse_radius": bool(inverse_radius), "radial": bool(radial),
                        "trig": bool(trig), "angles": bool(angles), "angle_products": bool(angle_products)}
        sym = self.symbols
        self.angles = bool(angles)
        # every feature is built from the symbols; its name is formatted alongside, never parsed
        feats: list[tuple[str, sympy.Expr]] = []
        poly = list(range(d, n)) if angles else list(range(n))
        monomials = [(_monomial(names, combo), sympy.Mul(*(sym[i] for i in combo)))
                     for k in range(1, self.degree + 1) for combo in itertools.combinations_with_replacement(poly, k)]
        if angle_products:
            for h_text, h in [("", sympy.Integer(1))] + _harmonics(names[:d], sym[:d]):
                feats += [(t if not h_text else f"{t}*{h_text}", e * h) for t, e in monomials]
                if h_text:
                    feats.append((h_text, h))
        else:
            feats += monomials
        if inverse_radius:
            feats.append((f"1/sqrt({' + '.join(f'{c}**2' for c in names[:d])})",
                          1 / sympy.sqrt(sympy.Add(*(s**2 for s in sym[:d])))))
        if radial:
            norm = f"sqrt({' + '.join(f'{c}**2' for c in names[:d])})"
            radius = sympy.sqrt(sympy.Add(*(s**2 for s in sym[:d])))
            feats += [(f"{c}/{norm}", s / radius) for c, s in zip(names[:d], sym[:d])]
        if (trig or angles) and not angle_products:
            feats += [(f"cos({c})", sympy.cos(s)) for c, s in zip(names[:d], sym[:d])]
            feats += [(f"sin({c})", sympy.sin(s)) for c, s in zip(names[:d], sym[:d])]
        for e in extra:
            expr = self._own(e, "library feature (extra=)")
            feats.append((str(expr), expr))
        for text, expr in feats:
            if not expr.free_symbols:
                raise InputError(f"library feature {text!r} is a constant (trivially conserved); leave it out")
        if not feats:
            raise InputError("the library is empty: use degree >= 1, inverse_radius, trig or extra features")
        labels = [t for t, _ in feats]
        if len(set(labels)) != len(labels):
            raise InputError(f"the library has repeated features: {labels}")
        self.names = tuple(labels)
        self.expressions = tuple(e for _, e in feats)
        exprs = list(self.expressions)
        grads = [sympy.diff(e, s) for e in exprs for s in self.symbols]
        self._values = sympy.lambdify(self.symbols, exprs, modules="numpy", cse=True)
        self._grads = sympy.lambdify(self.symbols, grads, modules="numpy", cse=True)

    def _own(self, expr, what: str):
        """``expr`` (a SymPy expression) in this library's symbols, matched by name; text is refused."""
        if not isinstance(expr, sympy.Expr):
            raise InputError(f"{what} must be a SymPy expression built from the library's symbols (e.g. "
                             f"q1, p1 = lib.symbols; q1 * p1), got {type(expr).__name__} {expr!r:.60}; "
                             "text is never parsed")
        by_name = {s.name: s for s in self.symbols}
        unknown = sorted(str(s) for s in expr.free_symbols if not (isinstance(s, sympy.Symbol) and s.name in by_name))
        if unknown:
            raise InputError(f"{what} {str(expr)!r:.80} uses {unknown}, not among the coordinates "
                             f"{list(self.coordinate_names)}")
        return expr.xreplace({s: by_name[s.name] for s in expr.free_symbols})

    @property
    def num_features(self) -> int:
        return len(self.names)

    @property
    def dim(self) -> int:
        return len(self.coordinate_names)

    def __repr__(self) -> str:
        return f"FunctionLibrary({list(self.coordinate_names)}, {self.num_features} features: {', '.join(self.names)})"

    def _check(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise InputError(f"library on ({', '.join(self.coordinate_names)}) needs points of shape [N, {self.dim}]; "
                             f"got {x.shape}")
        return x

    def _stack(self, out, shape, what) -> np.ndarray:
        arr = np.stack([np.broadcast_to(np.asarray(v, dtype=float), shape[:1]) for v in out], axis=-1).reshape(shape)
        if not np.all(np.isfinite(arr)):
            bad = np.unique(np.nonzero(~np.isfinite(arr.reshape(shape[0], self.num_features, -1)))[1])
            raise InputError(f"library {what} are not finite at some points for {[self.names[j] for j in bad]} "
                             "(e.g. 1/|q| at q = 0); remove those points or features")
        return arr

    def values(self, x) -> np.ndarray:
        """``φ_j(x_i)``, ``[N, m]``."""
        x = self._check(x)
        with np.errstate(all="ignore"):
            out = self._values(*x.T)
        return self._stack(out, (x.shape[0], self.num_features), "values")

    def gradients(self, x) -> np.ndarray:
        """``∂φ_j/∂x_k (x_i)``, ``[N, m, n]``."""
        x = self._check(x)
        with np.errstate(all="ignore"):
            out = self._grads(*x.T)
        return self._stack(out, (x.shape[0], self.num_features, self.dim), "gradients")

    def coefficients(self, expression, points=None) -> tuple[np.ndarray, float]:
        """Coefficients ``c`` of ``expression = const + Σ_j c_j φ_j`` (least squares on sample points).

        ``expression`` is a SymPy expression in the coordinates (``q1, p1 = lib.symbols``; symbols
        are matched by name, so a law's :attr:`Law.expr` works too); text is refused.

        For comparing a found null space with a known law. The default points are generic (random,
        ``0.3 ≤ |x_k| ≤ 1.5``, fixed seed): data points would not do when the law is constant on
        them (an energy shell). Returns ``(c, relative residual)``; a residual well above round-off
        means the expression is not in the library.
        """
        if points is None:
            rng = np.random.default_rng(0)
            n_pts = max(4 * self.num_features, 200)
            points = rng.uniform(0.3, 1.5, (n_pts, self.dim)) * rng.choice([-1.0, 1.0], (n_pts, self.dim))
        x = self._check(points)
        expr = self._own(expression, "the expression")
        g = np.broadcast_to(np.asarray(sympy.lambdify(self.symbols, expr, "numpy")(*x.T), float), x.shape[:1])
        a = np.hstack([self.values(x), np.ones((x.shape[0], 1))])
        c, *_ = np.linalg.lstsq(a, g, rcond=None)
        res = float(np.linalg.norm(a @ c - g) / max(np.linalg.norm(g - g.mean()), 1e-300))
        return c[:-1], res


def library_laws(space: NullSpace, library: FunctionLibrary, *, drop_below: float = 1e-3, notes=(),
                 points=None) -> list[Law]:
    """One :class:`Law` per null vector of a library null space.

    Each basis vector ``c`` (reduced echelon form: 1 on its pivot feature, 0 on the other pivots)
    becomes ``G = Σ_j c_j φ_j`` with the bootstrap errors of ``c`` (``nan`` when the null space was
    not bootstrapped), normalised by :func:`polynomial_law` so the largest coefficient is 1; terms
    below ``drop_below`` of it (and within two errors of zero) are dropped. ``residual`` is the
    null space's RMS residual of that vector (scaled units, see :class:`NullSpace`).

    In an ``angles`` library, with the data's ``points`` given, an energy-like law is measured from its
    minimum (:func:`ground`: sign and additive constant, the constant listed as the coefficient of
    ``"1"``), so that its relative drift is the relative rate of an energy.
    """
    if space.basis.shape[1:] != (library.num_features,):
        raise InputError(f"null space over {space.basis.shape[1]} unknowns does not match the library's "
                         f"{library.num_features} features")
    bootstrapped = bool(np.any(space.errors))
    laws = []
    for i in range(space.count):
        vec, err = space.basis[i], space.errors[i]
        terms = {library.expressions[j]: (float(vec[j]), float(err[j]) if bootstrapped else float("nan"))
                 for j in range(library.num_features) if vec[j] != 0}
        law = polynomial_law(terms, residual=float(space.residuals[i]), drop_below=drop_below,
                             labels=dict(zip(library.expressions, library.names)))
        law.notes.extend(notes)
        if points is not None and library.angles:
            _ground_law(law, library, points)
        laws.append(law)
    return laws


def _round_level(level: float) -> sympy.Expr:
    return sympy.Float(float(f"{level:.4g}"), 15)


def grounded(expr, library: FunctionLibrary, points):
    """``(expression, note, sign)``: ``expr`` measured from its minimum where :func:`ground` applies, else
    unchanged (note None, sign 1). The constant is rounded to 4 significant digits."""
    g = ground(expr, library, points)
    if g is None:
        return expr, None, 1
    _, sign, level = g
    out = sign * expr - sign * _round_level(level)
    out = out.xreplace({s: sympy.Symbol(s.name) for s in out.free_symbols})
    note = ("measured from its minimum (the state of rest): " + ("sign reversed and " if sign < 0 else "")
            + f"constant {-sign * level:.4g} added, so that it is >= 0 like an energy and its relative drift is "
            "an energy's decay rate")
    return out, note, int(sign)


def _ground_law(law: Law, library: FunctionLibrary, points) -> None:
    """:func:`grounded` applied to a law in place (expression, coefficients with the constant as ``"1"``, note)."""
    g = ground(law.expr, library, points)
    if g is None:
        return
    _, sign, level = g
    law.expr = sign * law.expr - sign * _round_level(level)
    law.coefficients = {k: (sign * v, e) for k, (v, e) in law.coefficients.items()}
    law.coefficients["1"] = (-sign * float(_round_level(level)), float("nan"))
    law.notes.append("measured from its minimum (the state of rest): " + ("sign reversed and " if sign < 0 else "")
                     + f"constant {-sign * level:.4g} added, so that it is >= 0 like an energy and its relative "
                     "drift is an energy's decay rate")


def ground(expr, library: FunctionLibrary, points, *, max_starts: int = 5):
    """An energy-like law measured from its minimum: ``(s (G − G_min), s, G_min)`` or None.

    A law in an ``angles`` library has no natural additive constant (``cos θ`` carries one), yet its
    *relative* drift ``(dG/dt)/⟨|G|⟩`` (:mod:`physlaw.symmetry._checks`) depends on it. An energy is
    measured from its minimum, the state of rest: ``G`` is minimised over the state space (angles
    free, the other coordinates within three ranges of the data's) from the data's ``max_starts``
    lowest states, for ``s = +1`` and for ``s = −1``; a sign for which the minimum is an interior
    point (not on a velocity bound: ``s G`` bounded below there) and below every data point gives
    ``s (G − G_min) ≥ 0``. Nothing (None) when neither or both signs qualify (a function of the angles
    only is bounded both ways: no energy-like reading), or the library has no angles.
    """
    import scipy.optimize

    from physlaw.symmetry._checks import law_function

    if not library.angles:
        return None
    x = np.asarray(points, float).reshape(-1, library.dim)
    x = x[np.all(np.isfinite(x), axis=1)]
    if x.shape[0] < 2:
        return None
    values_fn, grad_fn = law_function(expr, library.coordinate_names)
    d = library.num_positions
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.maximum(hi - lo, 1e-12)
    bounds = [(None, None)] * d + [(lo[k] - 3 * span[k], hi[k] + 3 * span[k]) for k in range(d, library.dim)]
    g_data = values_fn(x)
    spread = float(np.ptp(g_data))
    if not np.isfinite(spread) or spread <= 0:
        return None
    found = []
    for sign in (1.0, -1.0):
        fun = lambda y, s=sign: (s * float(values_fn(y[None])[0]), s * grad_fn(y[None])[0])  # noqa: E731
        best = None
        for i in np.argsort(sign * g_data)[:max_starts]:
            res = scipy.optimize.minimize(fun, x[i], jac=True, method="L-BFGS-B", bounds=bounds)
            if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
                best = res
        if best is None:
            continue
        at_bound = any(b is not None and abs(best.x[k] - b) < 1e-6 * span[k]
                       for k, pair in enumerate(bounds) for b in pair)
        level = sign * float(best.fun)
        if not at_bound and np.all(sign * (g_data - level) >= -1e-6 * spread):
            found.append((sign, level))
    if len(found) != 1:
        return None
    sign, level = found[0]
    return sign * (expr - level), sign, level


def kepler_library(coordinate_names, *, num_positions: int | None = None, degree: int = 3) -> FunctionLibrary:
    """The library that holds every classical Kepler invariant: monomials up to ``degree`` (3),
    ``1/|q|`` and ``q_i/|q|``.

    Energy ``|p|²/2m − k/|q|``, angular momentum ``q × p`` and the Laplace–Runge–Lenz vector
    ``A = p × L − m k q/|q|`` (cubic in ``(q, p)`` plus ``q_i/|q|``) are all linear combinations of its
    features, so the library route finds ``A`` as part of the null space (its hidden SO(4) symmetry
    for bound orbits). Every feature is built from SymPy symbols.

    Example:
        >>> lib = kepler_library(["q1", "q2", "p1", "p2"])
        >>> q1, q2, p1, p2 = lib.symbols
        >>> L = q1*p2 - q2*p1
        >>> lib.coefficients(p2*L - q1/sympy.sqrt(q1**2 + q2**2))[1] < 1e-10
        True
    """
    return FunctionLibrary(coordinate_names, degree=degree, inverse_radius=True, radial=True,
                           num_positions=num_positions)
