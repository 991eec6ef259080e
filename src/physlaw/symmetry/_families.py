"""Transformation families: linear (and affine) maps with a chosen structure of free and tied entries.

A family maps a parameter vector ``θ`` (its free entries) to an affine map ``x ↦ M(θ) x + b(θ)`` on the
``n`` coordinates of one time slice; on transition pairs ``(x_t, x_{t+Δt})`` the same map acts on
each slice (Mototake, PRE 103, 033303, 2021). ``M`` and ``b`` are *linear* in ``θ``, so the family's
tangent space at the identity is spanned by the constant matrices ``∂(M, b)/∂θ_j`` — the candidate
generators that the direct Lie route combines.

Mask syntax (from Python and ``--family``): the rows of ``[M | b]`` separated by ``;``, entries by
spaces or commas. An entry is a number (held fixed), a name (a free parameter; the same name in two
places ties them) or ``-name``. A row of ``n`` entries has no translation; ``n + 1`` entries add
the translation column (homogeneous coordinates ``(x, 1)``). Example, the seed's Kepler family on
``(q1, q2, p1, p2)``::

    "a b 0 0; c d 0 0; 0 0 a b; 0 0 c d"

and its free particle on ``(q, p)`` (one scale on both, a translation of q)::

    "a 0 t; 0 a 0"
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from physlaw.errors import InputError

_NAME = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class Family:
    """A structured family of affine maps ``x ↦ M(θ) x + b(θ)``, linear in ``θ``.

    Attributes:
        names: the free parameters, in order.
        coordinate_names: the ``n`` coordinates of one time slice.
        basis: ``[P, n, n + 1]``, ``∂[M | b]/∂θ_j`` (entries ``±1`` or 0).
        offset: ``[n, n + 1]``, the fixed entries of ``[M | b]``.
        identity: ``[P]``, the parameters of the identity map.
        mask: the mask string the family was built from (for records and the report).
        name: the preset name, or ``"mask"``.
    """

    names: tuple[str, ...]
    coordinate_names: tuple[str, ...]
    basis: np.ndarray
    offset: np.ndarray
    identity: np.ndarray
    mask: str
    name: str = "mask"

    @property
    def num_params(self) -> int:
        return len(self.names)

    @property
    def dim(self) -> int:
        return len(self.coordinate_names)

    @property
    def affine(self) -> bool:
        """Whether any parameter moves the translation column."""
        return bool(np.any(self.basis[:, :, -1] != 0))

    def matrix(self, theta):
        """``[M | b]`` (shape ``[..., n, n + 1]``) for parameters ``θ`` (``[..., P]``; NumPy or JAX)."""
        return self.offset + (theta[..., :, None, None] * self.basis).sum(axis=-3)

    def apply(self, theta, x):
        """``M x + b`` for states ``x`` of shape ``[..., k·n]`` (k time slices side by side)."""
        mb = self.matrix(theta)
        n = self.dim
        m, b = mb[..., :n], mb[..., n]
        lead = x.shape[:-1]
        xs = x.reshape(*lead, -1, n)
        return (xs @ m.T + b).reshape(*lead, -1)

    def generator(self, direction) -> np.ndarray:
        """The infinitesimal map ``[K | c] = Σ_j direction_j ∂[M | b]/∂θ_j`` as ``[n, n + 1]``."""
        return np.tensordot(np.asarray(direction, dtype=float), self.basis, axes=1)

    def describe(self) -> str:
        return f"{self.name} family on ({', '.join(self.coordinate_names)}), free: {', '.join(self.names)}"


def parse_mask(mask: str, coordinate_names, *, name: str = "mask") -> Family:
    """Build a :class:`Family` from the mask syntax (see the module docstring).

    Raises:
        InputError: wrong shape, a bad token, or a structure that cannot contain the identity.
    """
    coordinate_names = tuple(coordinate_names)
    n = len(coordinate_names)
    rows = [r for r in re.split(r"[;\n]", str(mask)) if r.strip()]
    if len(rows) != n:
        raise InputError(
            f"family mask {mask!r} has {len(rows)} rows but the data have {n} coordinates "
            f"({', '.join(coordinate_names)}); give one row per coordinate, rows separated by ';'"
        )
    cells = [[c for c in re.split(r"[\s,]+", r.strip()) if c] for r in rows]
    widths = {len(r) for r in cells}
    if len(widths) != 1 or widths.pop() not in (n, n + 1):
        raise InputError(
            f"family mask {mask!r}: every row needs {n} entries (linear) or {n + 1} (with a translation "
            f"column); got row lengths {[len(r) for r in cells]}"
        )
    width = len(cells[0])
    names: list[str] = []
    entries = []  # (i, j, sign, name) for free entries
    offset = np.zeros((n, n + 1))
    for i, row in enumerate(cells):
        for j, tok in enumerate(row):
            try:
                offset[i, j] = float(tok)
                continue
            except ValueError:
                pass
            if not _NAME.match(tok):
                raise InputError(f"family mask entry {tok!r} (row {i + 1}, column {j + 1}) is neither a number "
                                 "nor a parameter name such as a, b2 or -c")
            sign, nm = (-1.0, tok[1:]) if tok.startswith("-") else (1.0, tok)
            if nm not in names:
                names.append(nm)
            entries.append((i, j, sign, nm))
    if not names:
        raise InputError(f"family mask {mask!r} has no free entries; name at least one entry (e.g. 'a')")
    basis = np.zeros((len(names), n, n + 1))
    for i, j, sign, nm in entries:
        basis[names.index(nm), i, j] = sign
    target = np.hstack([np.eye(n), np.zeros((n, 1))])
    a = basis.reshape(len(names), -1).T
    identity, *_ = np.linalg.lstsq(a, (target - offset).ravel(), rcond=None)
    if not np.allclose(a @ identity + offset.ravel(), target.ravel(), atol=1e-9):
        raise InputError(
            f"family mask {mask!r} cannot represent the identity map (e.g. a fixed 0 on the diagonal, "
            "or one name tied to a diagonal and an off-diagonal entry); the symmetry search starts at the identity"
        )
    del width
    return Family(tuple(names), coordinate_names, basis, offset, identity, str(mask), name)


def _block_mask(n: int, blocks: list[list[int]], *, prefix: str = "a", translate: list[int] | None = None) -> str:
    """Mask with one shared free square block placed on each coordinate group in ``blocks``."""
    k = len(blocks[0])
    grid = [["0"] * n for _ in range(n)]
    for i in range(n):
        grid[i][i] = "1"
    for group in blocks:
        for r, gi in enumerate(group):
            for c, gj in enumerate(group):
                grid[gi][gj] = f"{prefix}{r + 1}{c + 1}" if k < 10 else f"{prefix}{r + 1}_{c + 1}"
    if translate is not None:
        for i in range(n):
            grid[i].append(f"t{translate.index(i) + 1}" if i in translate else "0")
    return "; ".join(" ".join(row) for row in grid)


PRESETS = ("rotation", "gl", "affine", "translation")


def make_family(spec: str, coordinate_names, *, num_positions: int | None = None) -> Family:
    """A named preset or a mask string, for data with the given coordinates.

    Presets (``d`` positions and ``d`` momenta; a static manifold has no momenta):

    * ``rotation`` — one free ``d × d`` block acting alike on q and on p (for ``d = 2`` the seed's
      2×2 block); on a static manifold of ``n`` coordinates, a 2×2 block on the first two.
    * ``gl`` — every entry of an ``n × n`` matrix free (all linear maps on (q, p)).
    * ``affine`` — the ``rotation`` block plus a free translation of each position
      (homogeneous coordinates ``(q, 1, p, 1)``; the seed's free-particle family for ``d = 1``).
    * ``translation`` — the identity plus a free translation of each position.

    Anything else is parsed as a mask (:func:`parse_mask`).
    """
    coordinate_names = tuple(coordinate_names)
    n = len(coordinate_names)
    d = n // 2 if num_positions is None else int(num_positions)
    static = d == n
    if spec in PRESETS:
        if not static and n != 2 * d:
            raise InputError(f"the {spec!r} preset needs as many momenta as positions; got {d} positions of {n} "
                             "coordinates (give a mask instead)")
        if spec == "gl":
            mask = "; ".join(" ".join(f"a{i + 1}_{j + 1}" if n >= 10 else f"a{i + 1}{j + 1}" for j in range(n))
                             for i in range(n))
        elif static:
            if n < 2:
                raise InputError(f"the {spec!r} preset needs at least 2 coordinates")
            if spec == "rotation":
                mask = _block_mask(n, [[0, 1]])
            elif spec == "affine":
                mask = _block_mask(n, [[0, 1]], translate=list(range(n)))
            else:
                mask = _identity_translation_mask(n, list(range(n)))
        else:
            blocks = [list(range(d)), list(range(d, 2 * d))]
            if spec == "rotation":
                mask = _block_mask(n, blocks)
            elif spec == "affine":
                mask = _block_mask(n, blocks, translate=list(range(d)))
            else:
                mask = _identity_translation_mask(n, list(range(d)))
        return parse_mask(mask, coordinate_names, name=spec)
    if not any(ch in str(spec) for ch in " ;,"):
        raise InputError(f"unknown family {spec!r}: use a preset ({', '.join(PRESETS)}) or a mask such as "
                         "'a b 0 0; c d 0 0; 0 0 a b; 0 0 c d'")
    return parse_mask(spec, coordinate_names)


def _identity_translation_mask(n: int, translate: list[int]) -> str:
    rows = []
    for i in range(n):
        row = ["1" if j == i else "0" for j in range(n)]
        row.append(f"t{translate.index(i) + 1}" if i in translate else "0")
        rows.append(" ".join(row))
    return "; ".join(rows)
