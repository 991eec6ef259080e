"""Near-null spaces with a counted dimension, an interpretable basis and bootstrap errors.

Every linear route (direct Lie algebra, HNN symmetries, function-library laws) ends in the same
problem: rows ``r_i`` (one per sample, or per sample and output) of a matrix ``R`` whose near-null
space holds the answer, ``R c ≈ 0``. The dimension is read from the singular-value spectrum: the
count is set at the largest gap ``s_k / s_{k+1}`` among the small singular values, and the evidence
is called weak when that gap is small.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.linalg

from physlaw.errors import InputError


@dataclasses.dataclass(frozen=True)
class NullSpace:
    """A counted near-null space.

    Attributes:
        basis: ``[k, m]``, the null vectors in reduced echelon form (each is 1 on its own pivot,
            0 on the other pivots), in the original (unscaled) column units.
        errors: ``[k, m]`` bootstrap standard deviations of ``basis`` (zeros if not bootstrapped).
        singular_values: ``[m]`` relative singular values ``s_i / s_0`` of the column-scaled matrix,
            descending (absolute ``s_i / sqrt(N)`` with ``column_scale``).
        count: ``k``.
        gap: ``s_{m−k−1} / s_{m−k}`` (relative), the gap that set the count (``inf`` when exact).
        weak: True when the gap is below ``min_gap`` or the count is uncertain.
        pivots: the pivot column of each basis vector.
        residuals: ``[k]`` RMS of ``R c / ||c||`` over rows, in scaled units, per basis vector.
    """

    basis: np.ndarray
    errors: np.ndarray
    singular_values: np.ndarray
    count: int
    gap: float
    weak: bool
    pivots: tuple[int, ...]
    residuals: np.ndarray


NO_GAP = 3.0  # a ratio between neighbouring singular values below this is no gap at all


def _count(rel: np.ndarray, rtol: float, min_gap: float, max_count: int | None):
    """Number of null directions from relative singular values (descending); 0 when the best gap < NO_GAP."""
    m = rel.size
    best, gap = 0, 1.0
    for k in range(1, m + (0 if m > 1 else 1)):
        if max_count is not None and k > max_count:
            break
        i = m - k  # the k smallest are rel[i:], the gap is rel[i - 1] / rel[i]
        if i == 0 or rel[i] > rtol:
            continue
        ratio = rel[i - 1] / max(rel[i], 1e-300)
        if ratio > gap:
            best, gap = k, ratio
    return (best, gap) if gap >= NO_GAP else (0, gap)


def _echelon(vectors: np.ndarray, pivots=None):
    """Reduced echelon form of a row basis ``[k, m]``: pick pivots by column-pivoted QR if not given."""
    k = vectors.shape[0]
    if pivots is None:
        _, _, piv = scipy.linalg.qr(vectors, pivoting=True, mode="economic")
        pivots = tuple(sorted(int(p) for p in piv[:k]))
    sub = vectors[:, list(pivots)]
    return np.linalg.solve(sub, vectors), pivots


def null_space(
    rows: np.ndarray,
    *,
    rtol: float = 5e-2,
    min_gap: float = 10.0,
    max_count: int | None = None,
    count: int | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    column_scale=None,
) -> NullSpace:
    """The near-null space of ``rows`` (``[N, m]``) with its dimension and a readable basis.

    Columns are scaled to unit RMS first (so features of different sizes compete fairly), the SVD of
    the scaled matrix gives the spectrum, and the count ``k`` is set at the largest ratio between
    consecutive relative singular values among those below ``rtol`` (``count`` forces it); a best ratio
    below 3 is no gap at all (count 0, flagged weak when small singular values exist), one below
    ``min_gap`` is weak evidence. The
    basis returned is in reduced echelon form — the most readable basis of the subspace — mapped
    back to the original units; ``bootstrap`` resamples the rows to give each coefficient an error.

    Args:
        rows: the constraint matrix ``R`` (the answer ``c`` satisfies ``R c ≈ 0``).
        rtol: a singular value counts as "near zero" only below ``rtol × s_0`` (the gap decides the count).
        min_gap: a gap smaller than this makes the evidence ``weak``.
        max_count: at most this many null directions.
        count: force the dimension (e.g. known from the truth, for a comparison).
        bootstrap: number of row resamples for the coefficient errors (0: none).
        column_scale: ``[m]`` natural sizes of the unknowns' columns *before* a projection (e.g. the RMS
            of the candidate generators' vectors ``K_j x`` when the rows are ``(I − J_f) K_j x``). Then
            the spectrum is absolute, ``s_i / sqrt(N)`` = the RMS residual per unit-size column
            (1: nothing of it survives the constraint, 0: an exact null direction), the count compares
            against a virtual reference value 1, and a family with a single candidate can be counted.
    """
    rows = np.asarray(rows, dtype=float)
    if rows.ndim != 2 or rows.shape[0] < rows.shape[1] or not np.all(np.isfinite(rows)):
        raise InputError(
            f"null space needs a finite matrix with at least as many rows as unknowns; got shape {rows.shape}"
            + ("" if np.all(np.isfinite(rows)) else " with non-finite entries")
        )
    absolute = column_scale is not None
    scale = np.sqrt(np.mean(rows**2, axis=0)) if not absolute else np.asarray(column_scale, dtype=float)
    big = float(scale.max())
    scale = np.where(scale > 1e-10 * big, scale, big if big > 0 else 1.0)  # a zero column stays zero
    scaled = rows / scale
    _, s, vt = np.linalg.svd(scaled, full_matrices=False)
    rel = s / (np.sqrt(rows.shape[0]) if absolute else max(s[0], 1e-300))
    if count is None and absolute:
        k, gap = _count(np.concatenate([[max(1.0, rel[0])], rel]), rtol, min_gap, max_count)
    elif count is None:
        k, gap = _count(rel, rtol, min_gap, max_count)
    else:
        k = int(count)
        ref = np.concatenate([[max(1.0, rel[0])], rel]) if absolute else rel
        gap = ref[-k - 1] / max(ref[-k], 1e-300) if 0 < k < ref.size else float("inf")
    weak = bool(k > 0 and gap < min_gap) or bool(k == 0 and rel[-1] < rtol)
    if k == 0:
        empty = np.zeros((0, rows.shape[1]))
        return NullSpace(empty, empty, rel, 0, float(gap), weak, (), np.zeros(0))
    vec = vt[-k:] / scale  # back to the original units: R (v / scale) = scaled v
    basis, pivots = _echelon(vec)
    errors = np.zeros_like(basis)
    if bootstrap:
        rng = np.random.default_rng(seed)
        draws = []
        for _ in range(bootstrap):
            idx = rng.integers(0, rows.shape[0], rows.shape[0])
            _, _, vb = np.linalg.svd(scaled[idx], full_matrices=False)
            try:
                b, _ = _echelon(vb[-k:] / scale, pivots)
            except np.linalg.LinAlgError:
                continue
            draws.append(b)
        if len(draws) > 1:
            errors = np.std(draws, axis=0, ddof=1)
    unit = basis * scale
    res = np.sqrt(np.mean((scaled @ unit.T) ** 2, axis=0)) / np.linalg.norm(unit, axis=1)
    return NullSpace(basis, errors, rel, k, float(gap), weak, pivots, res)
