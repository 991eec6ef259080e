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

from physlaw.errors import InputError
from physlaw.symmetry._laws import Discovery, verdict
from physlaw.symmetry._library import FunctionLibrary, library_laws
from physlaw.symmetry._nullspace import null_space


def finite_differences(x, t, *, stencil: int = 5, order: int | None = None) -> np.ndarray:
    """Time derivatives of trajectories by finite differences on each trajectory's own time grid.

    At every time the derivative of the polynomial of degree ``order`` fitted (least squares) to
    ``stencil`` neighbouring samples (centred where possible, shifted inwards at the ends). With the
    default ``order = stencil − 1`` the polynomial interpolates: error ``O(Δt^{stencil−1})`` in the
    interior, weights solving ``Σ_k w_k (t_k − t_i)^r = δ_{r1}`` (Fornberg); ``stencil = 3`` is
    NumPy's ``gradient`` in the interior. A lower ``order`` smooths (Savitzky–Golay, on uneven grids
    too): for noisy trajectories, e.g. ``stencil=7, order=3``. Uneven grids (dropped frames) are handled.

    Args:
        x: ``[trajectory, time, n]``.
        t: ``[trajectory, time]``, strictly increasing along each trajectory.
        stencil: odd number of samples per derivative, at most the number of times.
        order: polynomial degree, 1 ≤ order ≤ stencil − 1 (default stencil − 1).

    Returns:
        ``ẋ`` of the shape of ``x``.
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(t, dtype=float)
    num = x.shape[1]
    stencil = int(stencil)
    if stencil < 3 or stencil % 2 == 0:
        raise InputError(f"the finite-difference stencil must be an odd number >= 3, got {stencil}")
    order = stencil - 1 if order is None else int(order)
    if not 1 <= order <= stencil - 1:
        raise InputError(f"the finite-difference polynomial order must be between 1 and stencil − 1 = {stencil - 1}, "
                         f"got {order}")
    if num < stencil:
        raise InputError(f"a {stencil}-point finite difference needs at least {stencil} times per trajectory; "
                         f"got {num}")
    if np.any(np.diff(t, axis=1) <= 0):
        raise InputError("times must increase strictly along each trajectory for finite differences")
    half = stencil // 2
    start = np.clip(np.arange(num) - half, 0, num - stencil)  # [time]
    idx = start[:, None] + np.arange(stencil)  # [time, stencil]
    h = t[:, idx] - t[:, :, None]  # [traj, time, stencil]
    s = np.max(np.abs(h), axis=-1, keepdims=True)
    v = (h / s)[..., :, None] ** np.arange(order + 1)  # [traj, time, k, r]
    # the fitted polynomial's slope at t_i: row r = 1 of the least-squares solution operator
    w = np.linalg.pinv(v)[..., 1, :] / s  # [traj, time, k]
    return np.einsum("btk,btkn->btn", w, x[:, idx])


def resolve_rtol(rtol: float | None) -> float:
    """``rtol``, or :func:`null_space`'s default when None."""
    return float(inspect.signature(null_space).parameters["rtol"].default if rtol is None else rtol)


def _subsample(n_rows: int, max_points: int | None, seed: int) -> np.ndarray:
    if max_points is None or n_rows <= max_points:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=int(max_points), replace=False))


def library_discovery(route: str, rows: np.ndarray, library: FunctionLibrary, *, rtol: float | None, min_gap: float,
                      max_count, count, bootstrap: int, seed: int, drop_below: float, details: dict,
                      started: float, column_scale=None) -> Discovery:
    """Null space of library rows → :class:`Discovery` (shared by the trajectory and HNN routes)."""
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
    laws = library_laws(space, library, drop_below=drop_below, notes=notes)
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
    return Discovery(route=route, laws=laws, spectrum=space.singular_values, count=space.count, gap=space.gap,
                     weak=space.weak, message=message, details=details,
                     arrays={"basis": space.basis, "errors": space.errors, "pivots": np.asarray(space.pivots)})


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
    details = {"derivatives": source, "trim": k, "num_trajectories": int(dataset.num_trajectories),
               "num_times": int(dataset.num_times)}
    return library_discovery("library", rows, library, rtol=rtol, min_gap=min_gap, max_count=max_count,
                             count=count, bootstrap=bootstrap, seed=seed, drop_below=drop_below,
                             details=details, started=started)
