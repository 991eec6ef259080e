"""Symmetries and conserved quantities of a trained Hamiltonian network (route ``"hnn"``).

Both searches are linear null-space problems on the data's points ``x_i`` (not a grid: the
network is only trustworthy where it was trained), with ``g_i = ∇H_θ(x_i)`` from automatic
differentiation.

Linear symmetries. An infinitesimal affine map ``δx = K x + c`` leaves ``H`` invariant when
``∇H(x) · (K x + c) = 0``. With ``[K | c] = Σ_j k_j B_j`` in a family's span (``B_j`` =
``family.basis``, ``x̃ = (x, 1)``) each point gives one row

    r_ij = g_i · (B_j x̃_i) / (|g_i| |x̃_i|),

and the null space of ``R`` holds the symmetry generators; each becomes a Noether charge
(:func:`noether_charge`). The division by ``|g_i| |x̃_i|`` (the largest possible size of the row's
entries) gives every point the same weight, so regions with steep ``H`` or large ``|x|`` do not
dominate; it leaves the exact null space unchanged.

Conserved quantities. ``G = Σ_j c_j φ_j`` (a :class:`FunctionLibrary`) is conserved by the
learned flow when the Poisson bracket vanishes,

    {G, H} = ∇Gᵀ J ∇H = Σ_j c_j ∇φ_j(x_i)ᵀ J g_i / |g_i| = 0,   J = [[0, I], [−I, 0]],

one row per point (divided by ``|g_i|``, as above). This reaches nonlinear laws (energy,
Runge–Lenz where the library holds it). ``H`` itself is conserved exactly by the learned flow,
so whenever ``H_θ`` is close to a library combination the energy is among the laws; how close the
smallest singular values are to zero measures how well the network learned the other laws.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.symmetry._baseline import _subsample, library_discovery, resolve_rtol
from physlaw.symmetry._families import Family
from physlaw.symmetry._laws import Discovery, Law, noether_charge, symplectic_form, verdict
from physlaw.symmetry._library import FunctionLibrary
from physlaw.symmetry._nullspace import null_space


def _points(points, what: str) -> np.ndarray:
    """``[N, n]`` phase-space points from an array or a Dataset (which must have momenta)."""
    if hasattr(points, "coordinate_names") and hasattr(points, "p"):
        if points.p.shape[-1] == 0 or points.p.shape[-1] != points.q.shape[-1]:
            raise InputError(f"the HNN {what} route needs phase-space data (q, p) with as many momenta as positions; "
                             f"the dataset has {points.q.shape[-1]} position and {points.p.shape[-1]} momentum columns")
        points = points.points()
    x = np.asarray(points, dtype=float)
    if x.ndim != 2 or x.shape[1] % 2 or x.shape[1] == 0:
        raise InputError(f"the HNN {what} route needs points [N, 2d] in phase space (q, p); got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError("the points contain non-finite values")
    return x


def hamiltonian_gradients(model, points, *, batch: int = 8192) -> np.ndarray:
    """``∇H_θ(x_i)``, ``[N, n]``, of a model with a ``hamiltonian(x)`` method (HNN, PortHNN)."""
    if not hasattr(model, "hamiltonian"):
        raise InputError(f"the HNN route needs a model with a learned Hamiltonian (HNN or PortHNN); "
                         f"got {type(model).__name__}")
    x = np.asarray(points, dtype=float)
    grad = jax.jit(jax.vmap(jax.grad(lambda y: jnp.squeeze(model.hamiltonian(y)))))
    out = [np.asarray(grad(jnp.asarray(x[i:i + batch]))) for i in range(0, x.shape[0], batch)]
    g = np.concatenate(out).astype(float)
    if not np.all(np.isfinite(g)):
        raise InputError("the network's gradient is not finite at some points; check the model and the data")
    return g


def _usable(x: np.ndarray, g: np.ndarray):
    norm = np.linalg.norm(g, axis=1)
    ok = norm > 1e-9 * max(float(norm.max(initial=0.0)), 1e-300)
    return x[ok], g[ok], norm[ok]


def hnn_symmetries(
    model,
    points,
    family: Family,
    *,
    rtol: float | None = None,
    min_gap: float = 10.0,
    max_count: int | None = None,
    count: int | None = None,
    bootstrap: int = 50,
    seed: int = 0,
    max_points: int | None = 20000,
    drop_below: float = 1e-3,
) -> Discovery:
    """Linear (affine) symmetries ``∇H_θ · (K x + c) = 0`` of a trained network, and their Noether charges.

    Args:
        model: a trained HNN (anything with ``hamiltonian(x)``, ``x`` of shape ``[n]``).
        points: ``[N, n]`` phase-space points, or a Dataset (its states are used).
        family: the candidate generators (``family.basis``); its coordinates must be ``n``.
        rtol, min_gap, max_count, count, bootstrap, seed: passed to :func:`null_space`
            (``rtol=None``: its default).
        max_points: at most this many points (a fixed random subset).
        drop_below: relative size under which a term is dropped from a charge.

    Returns:
        A :class:`Discovery` (route ``"hnn"``): one law per generator, the Noether charge
        ``G = −½ xᵀ J K x − (J c)ᵀ x`` with errors propagated from the bootstrap, its generator
        and symplectic defect; ``residual`` is the generator's RMS row residual (scaled units).
        ``arrays["generators"]`` ``[k, n, n + 1]``.

    Raises:
        InputError: no Hamiltonian, points not in phase space, dimension mismatch, too few points.
    """
    started = time.perf_counter()
    x = _points(points, "symmetry")
    if family.dim != x.shape[1]:
        raise InputError(f"the family acts on {family.dim} coordinates but the points have {x.shape[1]}")
    x = x[_subsample(x.shape[0], max_points, seed)]
    x, g, gnorm = _usable(x, hamiltonian_gradients(model, x))
    p = family.num_params
    if x.shape[0] < 2 * p:
        raise InputError(f"the HNN symmetry route needs at least {2 * p} points with a non-zero gradient for "
                         f"{p} family parameters; got {x.shape[0]}")
    rtol = resolve_rtol(rtol)
    xt = np.hstack([x, np.ones((x.shape[0], 1))])
    rows = np.einsum("ia,jab,ib->ij", g, family.basis, xt) / (gnorm * np.linalg.norm(xt, axis=1))[:, None]
    space = null_space(rows, rtol=rtol, min_gap=min_gap, max_count=max_count, count=count,
                       bootstrap=bootstrap, seed=seed)
    bootstrapped = bool(np.any(space.errors))
    laws, gens = [], []
    for i in range(space.count):
        gen = family.generator(space.basis[i])
        err = np.sqrt(np.tensordot(space.errors[i] ** 2, family.basis**2, axes=1)) if bootstrapped else None
        gens.append(gen)
        try:
            law = noether_charge(gen, family.coordinate_names, errors=err, drop_below=drop_below)
        except InputError:
            d = family.dim // 2
            jk = symplectic_form(d) @ gen[:, :-1]
            law = Law(expr=0, coefficients={}, residual=0.0, generator=gen,
                      symplectic_defect=float("inf") if np.allclose(jk + jk.T, 0) else None,
                      notes=["a symmetry of H_θ that is not canonical (J K antisymmetric): no Noether charge"])
        law.residual = float(space.residuals[i])
        laws.append(law)
    details = {
        "family": family.describe(),
        "num_params": p,
        "num_points": int(x.shape[0]),
        "row_normalisation": "|grad H| |(x, 1)|",
        "rtol": float(rtol),
        "min_gap": float(min_gap),
        "bootstrap": int(bootstrap),
        "smallest_singular_value": float(space.singular_values[-1]),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return Discovery(route="hnn", laws=laws, spectrum=space.singular_values, count=space.count, gap=space.gap,
                     weak=space.weak, message=verdict(space.count, space.gap, space.weak, "symmetry", "symmetries"),
                     details=details,
                     arrays={"generators": np.array(gens).reshape(-1, family.dim, family.dim + 1),
                             "basis": space.basis, "errors": space.errors})


def hnn_laws(
    model,
    points,
    library: FunctionLibrary | None = None,
    *,
    rtol: float | None = None,
    min_gap: float = 10.0,
    max_count: int | None = None,
    count: int | None = None,
    bootstrap: int = 50,
    seed: int = 0,
    max_points: int | None = 20000,
    drop_below: float = 1e-3,
) -> Discovery:
    """Conserved quantities ``G`` in a function library with ``{G, H_θ} = 0`` on the data's points.

    Args:
        model: a trained HNN (anything with ``hamiltonian(x)``).
        points: ``[N, 2d]`` phase-space points, or a Dataset (its states are used).
        library: the features, on the ``2d`` coordinates, positions first (default: degree-2
            polynomials; needs ``coordinate_names`` — pass a library when ``points`` is an array).
        rtol, min_gap, max_count, count, bootstrap, seed: passed to :func:`null_space`
            (``rtol=None``: its default).
        max_points: at most this many points (a fixed random subset).
        drop_below: relative coefficient size below which a term is dropped from a law.

    Returns:
        A :class:`Discovery` (route ``"hnn"``), one :class:`Law` per null vector (reduced echelon
        form, bootstrap errors); ``residual`` is the RMS of ``{G, H}/|∇H|`` in scaled units.

    Raises:
        InputError: no Hamiltonian, points not in phase space, dimension mismatch, too few points.
    """
    started = time.perf_counter()
    if library is None:
        if not hasattr(points, "coordinate_names"):
            raise InputError("hnn_laws needs a FunctionLibrary when the points are a plain array")
        library = FunctionLibrary(points.coordinate_names)
    x = _points(points, "library")
    if hasattr(points, "coordinate_names") and tuple(points.coordinate_names) != tuple(library.coordinate_names):
        raise InputError(f"the library is on ({', '.join(library.coordinate_names)}) but the data have "
                         f"({', '.join(points.coordinate_names)})")
    if library.dim != x.shape[1]:
        raise InputError(f"the library is on {library.dim} coordinates but the points have {x.shape[1]}")
    x = x[_subsample(x.shape[0], max_points, seed)]
    x, g, gnorm = _usable(x, hamiltonian_gradients(model, x))
    d = x.shape[1] // 2
    jg = g @ symplectic_form(d).T  # J ∇H: the learned vector field
    grads = library.gradients(x)
    rows = np.einsum("imk,ik->im", grads, jg) / gnorm[:, None]
    # each feature's bracket is judged against its own size |∇φ_j| (RMS over the points): a G whose
    # bracket with H is tiny everywhere (p of a free particle) is a null direction, not rescaled noise
    scale = np.sqrt(np.mean(np.sum(grads**2, axis=-1), axis=0))
    details = {"num_points": int(x.shape[0]), "row_normalisation": "|grad H|", "bracket": "{G, H} = grad G . J grad H",
               "column_scale": "RMS |grad G_j| (absolute spectrum)"}
    return library_discovery("hnn", rows, library, rtol=rtol, min_gap=min_gap, max_count=max_count, count=count,
                             bootstrap=bootstrap, seed=seed, drop_below=drop_below, details=details,
                             started=started, column_scale=scale, points=x)
