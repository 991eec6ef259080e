"""The no-network baseline: conserved quantities from trajectories and a function library.

A law ``G = Σ_j c_j φ_j`` is constant along the trajectories when

    dG/dt = Σ_j c_j ∇φ_j(x_i) · ẋ_i = 0   at every sample i,

so the rows ``r_ij = ∇φ_j(x_i)·ẋ_i / |ẋ_i|`` define a matrix whose near-null space is the set of
conserved combinations. ``ẋ`` comes from finite differences of the recorded trajectories
(:func:`finite_differences`: fourth order by default, on each trajectory's own time grid), never from
stored exact derivatives unless asked: the baseline uses the trajectories only. Dividing each row by
the speed ``|ẋ_i|`` makes every sample one constraint of the same weight (the condition is
homogeneous, so the exact null space is unchanged); samples at rest carry no information and are
dropped.

Approximate laws: with friction (a real pendulum) or with noise, ``dG/dt`` is small but not zero,
and the smallest relative singular value measures how far from conserved the best combination is
(it grows with the damping rate relative to the motion's frequency, and with noise). Raise ``rtol``
above it to count the law; the Discovery then says the law is approximate. Cutting the record into
short windows does not shrink the violation in this derivative form (``dG/dt`` from friction is
the same in every window), but the spread of the coefficients between windows measures their
systematic error (the Schmidt–Lipson test does this with the two halves of the record).
"""

from __future__ import annotations

import inspect
import time

import numpy as np

from physlaw.dynamics import finite_differences  # noqa: F401  (re-exported: the library route's differences)

from physlaw.errors import InputError
from physlaw.symmetry._laws import Discovery, verdict
from physlaw.symmetry._library import FunctionLibrary, grounded, library_laws
from physlaw.symmetry._nullspace import null_space


def resolve_rtol(rtol: float | None) -> float:
    """``rtol``, or :func:`null_space`'s default when None."""
    return float(inspect.signature(null_space).parameters["rtol"].default if rtol is None else rtol)


def _subsample(n_rows: int, max_points: int | None, seed: int) -> np.ndarray:
    if max_points is None or n_rows <= max_points:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=int(max_points), replace=False))


def library_discovery(route: str, rows: np.ndarray, library: FunctionLibrary, *, rtol: float | None, min_gap: float,
                      max_count, count, bootstrap: int, seed: int, drop_below: float, details: dict,
                      started: float, column_scale=None, points=None, friction=None) -> Discovery:
    """Null space of library rows → :class:`Discovery` (shared by the trajectory and HNN routes).

    ``points``: the data's states (``[N, n]``); in an ``angles`` library the laws and the best approximate
    law are then measured from their minimum (:func:`physlaw.symmetry._library.grounded`).
    ``friction``: ``(rows [N, K], names)`` of :func:`friction_features` (divided like ``rows``); when no law
    is exact the best approximate law is then the conservative part's energy (:func:`conservative_part`)."""
    m = library.num_features
    rtol = resolve_rtol(rtol)
    if rows.shape[0] < 2 * m:
        raise InputError(f"the {route} route needs at least {2 * m} usable points for {m} library features "
                         f"(twice as many as unknowns); got {rows.shape[0]}: give more data or a smaller library")
    space = null_space(rows, rtol=rtol, min_gap=min_gap, max_count=max_count, count=count,
                       bootstrap=bootstrap, seed=seed, column_scale=column_scale)
    notes = []
    smallest = float(space.singular_values[-1])
    if space.count and smallest > 1e-3:
        notes.append(f"approximate law: the smallest relative singular value is {smallest:.2g}, not ~0 "
                     "(damping, noise or derivative error); it was counted with rtol = "
                     f"{rtol:g}")
    laws = library_laws(space, library, drop_below=drop_below, notes=notes, points=points)
    message = verdict(space.count, space.gap, space.weak)
    if notes:
        message += f" The laws hold only approximately (smallest relative singular value {smallest:.2g})."
    details = {
        **details,
        "library": list(library.names),
        "num_features": m,
        "num_rows": int(rows.shape[0]),
        "rtol": float(rtol),
        "min_gap": float(min_gap),
        "bootstrap": int(bootstrap),
        "smallest_singular_value": smallest,
        "seconds": round(time.perf_counter() - started, 3),
    }
    arrays = {"basis": space.basis, "errors": space.errors, "pivots": np.asarray(space.pivots)}
    if space.count == 0:
        arrays["approximate_expr"] = best_approximate(rows, library, column_scale)
        if friction is not None and friction[0].shape[1]:
            g, dis = conservative_part(rows, friction[0], library, friction[1])
            if g is not None and g != 0:
                arrays["approximate_expr"] = g
                details["approximate_law_kind"] = "conservative part (dG/dt = -R, R quadratic in the velocities)"
                details["dissipation"] = str(dis)
                arrays["dissipation_expr"] = dis
        if points is not None and library.angles:
            arrays["approximate_expr"], note, sign = grounded(arrays["approximate_expr"], library, points)
            if note:
                details["approximate_law_note"] = note
                if "dissipation_expr" in arrays:
                    arrays["dissipation_expr"] = sign * arrays["dissipation_expr"]
                    details["dissipation"] = str(arrays["dissipation_expr"])
    return Discovery(route=route, laws=laws, spectrum=space.singular_values, count=space.count, gap=space.gap,
                     weak=space.weak, message=message, details=details, arrays=arrays)


def conservative_part(rows: np.ndarray, friction_rows: np.ndarray, library: FunctionLibrary, friction_names):
    """The energy of the conservative part of a dissipative flow, and its dissipation: ``(G, D)``.

    With friction no ``G`` in the library has ``dG/dt = 0``; the energy of the conservative part instead
    obeys ``dE/dt = −R(v)`` with a dissipation function ``R`` quadratic in the velocities (Rayleigh:
    linear friction, ``R = Σ b_kl v_k v_l``; a damped oscillator ``dE/dt = −2 ζ ω p²``). So the null
    direction is sought of ``[∇φ_j · ẋ | −ψ_k]`` with ``ψ`` the quadratic monomials of the velocities
    (``friction_rows``, each row divided by the same speed as ``rows``; columns scaled to unit RMS):
    ``Σ c_j ∇φ_j · ẋ = Σ d_k ψ_k``. The smallest right singular vector gives ``G = Σ c_j φ_j`` (largest
    coefficient 1, 4 significant digits) and ``D = dG/dt = Σ d_k ψ_k`` in the same normalisation (SymPy
    expressions). Unlike the combination with the smallest ``dG/dt`` (:func:`best_approximate`), which
    mixes in terms that slow its own decay, this is the mechanical energy where the friction is linear.
    """
    import sympy

    full = np.hstack([rows, -friction_rows])
    scale = np.sqrt(np.mean(full**2, axis=0))
    big = float(scale.max()) if scale.size else 1.0
    scale = np.where(scale > 1e-10 * big, scale, big if big > 0 else 1.0)
    _, _, vt = np.linalg.svd(full / scale, full_matrices=False)
    v = vt[-1] / scale
    m = library.num_features
    c, dd = v[:m], v[m:]
    top = c[np.argmax(np.abs(c))]
    if top == 0:
        return None, None
    c, dd = c / top, dd / top
    plain = {s: sympy.Symbol(s.name) for s in library.symbols}
    g = sympy.Integer(0)
    for cj, ej in zip(c, library.expressions):
        if abs(cj) > 1e-3:
            g += sympy.Float(float(f"{cj:.4g}"), 15) * ej
    by_name = {s.name: s for s in plain.values()}
    dis = sympy.Integer(0)
    for dk, combo in zip(dd, friction_names):
        if abs(dk) > 1e-6:
            dis += sympy.Float(float(f"{dk:.4g}"), 15) * sympy.Mul(*(by_name[n] for n in combo))
    return g.xreplace(plain), dis


def friction_features(x: np.ndarray, num_positions: int, coordinate_names):
    """``ψ_k(x)``: the quadratic monomials of the velocity block (coordinates after the positions),
    ``[N, K]``, and their names as tuples of coordinate names."""
    import itertools

    idx = list(range(num_positions, x.shape[1]))
    combos = list(itertools.combinations_with_replacement(idx, 2))
    values = np.stack([x[:, i] * x[:, j] for i, j in combos], axis=1) if combos else np.zeros((x.shape[0], 0))
    return values, [(coordinate_names[i], coordinate_names[j]) for i, j in combos]


def best_approximate(rows: np.ndarray, library: FunctionLibrary, column_scale=None):
    """The library combination closest to conserved: the right singular vector of the column-scaled rows
    with the smallest singular value (a SymPy expression, coefficients to 4 significant digits, the
    largest 1). Where no law is exact (friction) it is the energy-like quantity whose breaking rate
    :mod:`physlaw.symmetry._checks` then measures."""
    import sympy

    scale = np.sqrt(np.mean(rows**2, axis=0)) if column_scale is None else np.asarray(column_scale, float)
    big = float(scale.max()) if scale.size else 1.0
    scale = np.where(scale > 1e-10 * big, scale, big if big > 0 else 1.0)
    _, _, vt = np.linalg.svd(rows / scale, full_matrices=False)
    c = vt[-1] / scale
    c = c / c[np.argmax(np.abs(c))]
    expr = sympy.Integer(0)
    for cj, ej in zip(c, library.expressions):
        if abs(cj) > 1e-3:
            expr += sympy.Float(float(f"{cj:.4g}"), 15) * ej
    return expr.xreplace({s: sympy.Symbol(s.name) for s in expr.free_symbols})


def trajectory_laws(
    dataset,
    library: FunctionLibrary | None = None,
    *,
    exact_derivatives: bool = False,
    stencil: int = 5,
    order: int | None = None,
    trim: int = 1,
    rtol: float | None = None,
    min_gap: float = 10.0,
    max_count: int | None = None,
    count: int | None = None,
    bootstrap: int = 50,
    seed: int = 0,
    max_points: int | None = 20000,
    drop_below: float = 1e-3,
    velocities=None,
) -> Discovery:
    """Conserved quantities in a function library from trajectories alone (route ``"library"``).

    Solves ``Σ_j c_j ∇φ_j(x_i)·ẋ_i / |ẋ_i| = 0`` for the coefficients ``c`` as a counted near-null
    space (:func:`null_space`; columns scaled to unit RMS, count at the largest singular-value gap
    below ``rtol``, bootstrap errors over samples).

    Args:
        dataset: a :class:`physlaw.dynamics.Dataset` with at least 3 times per trajectory.
        library: the features (default: degree-2 polynomials in the dataset's coordinates).
        exact_derivatives: use the dataset's stored exact ``ẋ`` instead of finite differences
            (for comparisons only; the baseline proper uses trajectories only).
        stencil: samples per finite difference (:func:`finite_differences`; 5: fourth order).
        order: polynomial degree of the differences (default ``stencil − 1``, interpolating; lower
            smooths noisy data, e.g. ``stencil=7, order=3``).
        trim: samples dropped at each end of each trajectory (there the differences are one-sided
            and first order).
        rtol, min_gap, max_count, count, bootstrap, seed: passed to :func:`null_space`
            (``rtol=None``: its default).
        max_points: at most this many samples (a fixed random subset) enter the null space.
        drop_below: relative coefficient size below which a term is dropped from a law.
        velocities: optional ``[trajectory, time, n]`` array replacing ``ẋ`` (e.g. shuffled, as a
            negative control).

    Returns:
        A :class:`Discovery` with route ``"library"``; each law's residual is its RMS ``dG/dt``
        per unit speed in scaled units.

    Raises:
        InputError: coordinates not matching the library, too few times or points.
    """
    started = time.perf_counter()
    names = tuple(dataset.coordinate_names)
    if library is None:
        library = FunctionLibrary(names, num_positions=dataset.q.shape[-1])
    if tuple(library.coordinate_names) != names:
        raise InputError(f"the library is on ({', '.join(library.coordinate_names)}) but the data have "
                         f"({', '.join(names)}); build the library from dataset.coordinate_names")
    if int(trim) < 0 or dataset.num_times < max(int(stencil), 2 * int(trim) + 1):
        raise InputError(f"the trajectory route needs at least {max(int(stencil), 2 * int(trim) + 1)} times per "
                         f"trajectory ({stencil}-point differences, {trim} trimmed at each end); "
                         f"got {dataset.num_times}")
    x = dataset.x
    if velocities is not None:
        xdot = np.asarray(velocities, dtype=float)
        if xdot.shape != x.shape:
            raise InputError(f"velocities must have the data's shape {x.shape}, got {xdot.shape}")
        source = "given"
    elif exact_derivatives:
        if dataset.dq is None or dataset.dp is None:
            raise InputError("exact_derivatives=True but the dataset stores no exact derivatives")
        xdot, source = dataset.derivatives(), "exact (stored)"
    else:
        xdot = finite_differences(x, dataset.t, stencil=stencil, order=order)
        source = f"finite differences ({int(stencil)}-point" + ("" if order is None or int(order) == int(stencil) - 1
                                                             else f", degree-{int(order)} least squares") + ")"
    k = int(trim)
    if k:
        x, xdot = x[:, k:-k], xdot[:, k:-k]
    x, xdot = x.reshape(-1, x.shape[-1]), xdot.reshape(-1, xdot.shape[-1])
    speed = np.linalg.norm(xdot, axis=1)
    ok = np.isfinite(speed) & (speed > 1e-12 * max(float(np.nanmax(speed, initial=0.0)), 1e-300)) \
        & np.all(np.isfinite(x), axis=1)
    x, xdot, speed = x[ok], xdot[ok], speed[ok]
    pick = _subsample(x.shape[0], max_points, seed)
    x, xdot, speed = x[pick], xdot[pick], speed[pick]
    if x.shape[0] < 2 * library.num_features:
        raise InputError(f"the trajectory route needs at least {2 * library.num_features} moving samples for "
                         f"{library.num_features} library features; got {x.shape[0]}")
    rows = np.einsum("imk,ik->im", library.gradients(x), xdot) / speed[:, None]
    psi, psi_names = friction_features(x, dataset.q.shape[-1], names)
    details = {"derivatives": source, "trim": k, "num_trajectories": int(dataset.num_trajectories),
               "num_times": int(dataset.num_times)}
    return library_discovery("library", rows, library, rtol=rtol, min_gap=min_gap, max_count=max_count,
                             count=count, bootstrap=bootstrap, seed=seed, drop_below=drop_below,
                             details=details, started=started, points=x, friction=(psi / speed[:, None], psi_names))
