"""Nonlinear symmetries, and their conserved quantities, straight from an autoencoder's Jacobian.

The direct Lie route (:mod:`physlaw.symmetry._lie`) looks for linear generators ``δz = K z + c``;
here the candidates are the Hamiltonian vector fields of a function library's features (the idea of
LieNLSD — the Lie algebra of nonlinear symmetries from a network's Jacobian over a function library —
in the canonical form that gives the conserved quantity at once). For ``G = Σ_k c_k ψ_k`` the
generator is

    V_G(x) = J ∇G(x) = Σ_k c_k J ∇ψ_k(x),   J = [[0, I], [−I, 0]],

linear in ``c``. A symmetry's field is tangent to the learned manifold, so at on-manifold points
``z`` (transition pairs ``(x_t, x_{t+lag})``, the field acting alike on each slice)

    (I − J_f(z)) (V_G(x_t), V_G(x_{t+lag})) ≈ 0.

For canonical fields this is Noether's theorem read backwards: the flow of ``V_G`` maps the pair
manifold ``{(x, Φ_τ x)}`` onto itself exactly when it commutes with the dynamics, i.e. when ``{G, H}`` is
constant, and it keeps the data's energy shells when ``{G, H} = 0`` there. So each null vector ``c`` of
the stacked rows is a conserved quantity ``G = Σ c_k ψ_k``, nonlinear ones included (the energy of a
non-quadratic Hamiltonian, Kepler's Runge–Lenz vector in :func:`kepler_library`'s features); the rare
constant non-zero bracket (``G = p`` under a uniform force, on data of many energies) is caught by the
held-out checks. Quantities constant on the data's energy shell only (``(H − E₀) q_i`` on one shell)
are not symmetries and are not found, unlike in the trajectory route. The converse needs Hamiltonian dynamics: on a dissipative flow a
canonical field can still commute with it (the damped oscillator ``ẋ = A x``: ``J S = A − ½ tr(A) I`` for
``G = ½ xᵀ S x = ½ (ω² q² + 2ζω q p + p²)``), and its ``G`` decays (here at the rate ``2ζω``) instead of
being conserved; the held-out checks of :func:`physlaw.symmetry.conserve` then call it "approximately
conserved" with its rate.

Columns are measured against the RMS size of ``J ∇ψ_k`` itself (as in :func:`lie_rows`), so the
spectrum is absolute: the fraction of a candidate's motion that leaves the manifold. Constants are
not in a library (their field is zero: trivially conserved, no information). A feature whose field
vanishes at every evaluation point (``q2²`` on data with ``q2 ≡ 0``) cannot be tested by these
data; it is pinned (a unit residual of random sign in every row, so it never enters a law) and listed in
``details["untestable_features"]``.

Reference: LieNLSD, Lie algebras of nonlinear symmetries from a network's Jacobian (ICML 2025); here the
candidate fields are restricted to canonical ones, so each symmetry comes with its conserved quantity.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.symmetry._baseline import library_discovery
from physlaw.symmetry._laws import Discovery, symplectic_form
from physlaw.symmetry._library import FunctionLibrary


def projected_jacobians(model, rows) -> tuple[np.ndarray, np.ndarray]:
    """Evaluation points moved onto the autoencoder's manifold, ``z ← f(z)`` ``[N, D]``, and ``J_f`` there
    ``[N, D, D]``."""
    def one(z):
        z = model(z)
        return z, jax.jacfwd(model)(z)

    z, jf = jax.jit(jax.vmap(one))(jnp.asarray(rows))
    return np.asarray(z, dtype=np.float64), np.asarray(jf, dtype=np.float64)


def lie_library_rows(model, library: FunctionLibrary, rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The constraint matrix ``[N·k·n, m]``: ``(I − J_f(z)) V_k(z)`` with ``V_k = J ∇ψ_k`` on each of the
    ``k`` slices of ``z``, the RMS size of each unprojected ``V_k`` (the columns' natural scale), and the
    projected states ``[N·k, n]``."""
    rows = np.asarray(rows)
    n = library.dim
    z, jf = projected_jacobians(model, rows)
    num, width = z.shape
    states = z.reshape(-1, n)  # [N·k, n]
    grads = library.gradients(states)  # [N·k, m, n]
    m = grads.shape[1]
    field = np.einsum("smb,ab->sma", grads, symplectic_form(n // 2))  # J ∇ψ_k at each slice
    v = field.reshape(num, width // n, m, n).transpose(0, 2, 1, 3).reshape(num, m, width)  # [N, m, k·n]
    out = v - np.einsum("iab,imb->ima", jf, v)
    sizes = np.sqrt(np.mean(v**2, axis=(0, 2)))
    return out.transpose(0, 2, 1).reshape(-1, m), sizes, states


def lie_library_laws(
    model,
    rows,
    library: FunctionLibrary,
    *,
    num_points: int = 1000,
    seed: int = 0,
    rtol: float | None = None,
    min_gap: float = 10.0,
    max_count: int | None = None,
    count: int | None = None,
    bootstrap: int = 20,
    drop_below: float = 1e-3,
) -> Discovery:
    """Conserved quantities ``G = Σ c_k ψ_k`` whose Hamiltonian field ``J ∇G`` the autoencoder finds tangent
    to its manifold (module docstring).

    Args:
        model: the trained autoencoder (``z ↦ f(z)``, one row at a time), e.g. from
            :func:`physlaw.symmetry.conserve` with ``method="lie"``.
        rows: evaluation points ``[N, k·n]``: ``k`` time slices of phase-space states ``(q, p)`` (transition
            pairs ``k = 2``), in the library's coordinate order.
        library: the candidate functions on the ``n = 2d`` coordinates, positions first
            (:class:`FunctionLibrary`, e.g. ``kepler_library`` for the Runge–Lenz vector).
        num_points: at most this many rows are used (a random subset, ``seed``).
        rtol, min_gap, max_count, count, bootstrap: passed to :func:`null_space` (``rtol=None``: its default).
        drop_below: relative coefficient size below which a term is dropped from a law.

    Returns:
        A :class:`Discovery` (route ``"lie-library"``): one :class:`Law` per null vector (reduced echelon form,
        bootstrap errors), the absolute singular-value spectrum and the gap; when nothing is found,
        ``arrays["approximate_expr"]`` holds the combination closest to a symmetry.

    Raises:
        InputError: rows not made of phase-space slices of the library's dimension, too few rows.

    Example:
        >>> import jax.numpy as jnp
        >>> lib = FunctionLibrary(["q", "p"], degree=2)
        >>> t = np.linspace(0, 6, 200)
        >>> pairs = np.stack([np.cos(t), -np.sin(t), np.cos(t + 0.3), -np.sin(t + 0.3)], axis=1)
        >>> def shell(z):  # the exact projection onto the pairs of the unit circle, advanced by 0.3
        ...     c, s = jnp.cos(0.3), jnp.sin(0.3)
        ...     u = 0.5 * (z[:2] + jnp.array([c * z[2] - s * z[3], s * z[2] + c * z[3]]))
        ...     u = u / jnp.linalg.norm(u)
        ...     return jnp.concatenate([u, jnp.array([c * u[0] + s * u[1], -s * u[0] + c * u[1]])])
        >>> disc = lie_library_laws(shell, pairs, lib)
        >>> disc.count
        1
        >>> sorted((t, round(float(v), 4)) for t, (v, _) in disc.laws[0].coefficients.items() if abs(v) > 1e-3)
        [('p**2', 1.0), ('q**2', 1.0)]
    """
    started = time.perf_counter()
    if not isinstance(library, FunctionLibrary):
        raise InputError(f"library must be a FunctionLibrary, got {type(library).__name__}")
    n = library.dim
    x = np.asarray(rows, dtype=float)
    if n % 2 or n != 2 * library.num_positions:
        raise InputError(f"the lie-library route needs phase-space coordinates (q, p) of equal size; the library is on "
                         f"{n} coordinates with {library.num_positions} positions")
    if x.ndim != 2 or x.shape[1] == 0 or x.shape[1] % n:
        raise InputError(f"rows must be [N, k·{n}] (k time slices of the {n} coordinates "
                         f"{', '.join(library.coordinate_names)}); got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError("the rows contain non-finite values")
    rng = np.random.default_rng(seed)
    if x.shape[0] > num_points:
        x = x[np.sort(rng.choice(x.shape[0], num_points, replace=False))]
    mat, sizes, states = lie_library_rows(model, library, x.astype(np.float32))
    if not (np.all(np.isfinite(mat)) and np.all(np.isfinite(sizes))):
        raise InputError("the autoencoder's Jacobian is not finite at some points; check the model and the data")
    big = float(sizes.max())
    untestable = [j for j in range(sizes.size) if not sizes[j] > 1e-8 * big]
    if untestable:  # pinned: a residual of the reference size, of random sign, in every row (independent columns)
        sizes = sizes.copy()
        sizes[untestable] = big if big > 0 else 1.0
        signs = np.random.default_rng(seed).choice([-1.0, 1.0], (mat.shape[0], len(untestable)))
        mat[:, untestable] = signs * sizes[untestable]
    details = {
        "num_points": int(x.shape[0]),
        "slices_per_row": int(x.shape[1] // n),
        "generator": "V_G = J grad G on each slice; rows (I - J_f(z)) V_G(z) at z <- f(z)",
        "column_scale": "RMS |J grad psi_k| (absolute spectrum)",
        "untestable_features": [library.names[j] for j in untestable],
    }
    disc = library_discovery("lie-library", mat, library, rtol=rtol, min_gap=min_gap, max_count=max_count,
                             count=count, bootstrap=bootstrap, seed=seed, drop_below=drop_below, details=details,
                             started=started, column_scale=sizes, points=states)
    if untestable:
        disc.message += (f" {len(untestable)} feature{'s' if len(untestable) > 1 else ''} "
                         f"({', '.join(library.names[j] for j in untestable)}) could not be tested: "
                         "their Hamiltonian field vanishes at every point of the data.")
    return disc
