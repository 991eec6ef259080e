"""Symmetries of learned dynamics and the conserved quantities they imply (Noether).

Table of contents
-----------------
Transformation families
    ``Family``, ``make_family``, ``parse_mask``, ``PRESETS``.
Results
    ``Law``, ``noether_charge``, ``polynomial_law``, ``symplectic_form``, ``generator_similarity``,
    ``subspace_similarity``.
Linear algebra shared by the routes
    ``NullSpace``, ``null_space``.
"""

from physlaw.symmetry._families import PRESETS, Family, make_family, parse_mask
from physlaw.symmetry._laws import (
    Discovery,
    verdict,
    Law,
    generator_similarity,
    noether_charge,
    polynomial_law,
    subspace_similarity,
    symplectic_form,
)
from physlaw.symmetry._nullspace import NullSpace, null_space

__all__ = [
    "PRESETS", "Discovery", "Family", "Law", "verdict", "NullSpace", "generator_similarity", "make_family", "noether_charge",
    "null_space", "parse_mask", "polynomial_law", "subspace_similarity", "symplectic_form",
]
