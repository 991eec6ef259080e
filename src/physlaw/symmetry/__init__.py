"""Symmetries of learned dynamics and the conserved quantities they imply (Noether).

Table of contents
-----------------
Transformation families
    ``Family``, ``make_family``, ``parse_mask``, ``PRESETS``.
Results
    ``Law``, ``monomial``, ``noether_charge``, ``polynomial_law``, ``symplectic_form``, ``generator_similarity``,
    ``subspace_similarity``.
Linear algebra shared by the routes
    ``NullSpace``, ``null_space``; the algebra of several generators: ``algebra`` (``LieAlgebra``:
    structure constants, closure, name such as so(3) or u(2)).
The routes
    ``conserve`` (one call, any route; ``Conservation``, ``METHODS``), ``conserve_all`` (every route
    that applies, side by side, with their agreement: ``Comparison``),
    group: ``sample_group`` (method 1, ``GroupSamples``, ``select_sigma``), ``fit_relations``,
    ``group_laws`` (method 2, ``GroupFit``); lie: ``lie_algebra``, and nonlinear symmetries over a function
    library, ``lie_library_laws`` (``conserve(..., method="lie", library=True)``); hnn: ``hnn_laws``,
    ``hnn_symmetries``, ``hamiltonian_gradients``; library: ``FunctionLibrary``, ``library_laws``,
    ``trajectory_laws``, ``finite_differences``, ``kepler_library`` (Runge–Lenz).
Checks (``_checks``)
    ``drift`` / ``Drift`` (relative rate (dG/dt)/<|G|> with a 95 % interval, verdict), ``check_expression``
    (drift on a dataset with its time-shuffled surrogate).
Autoencoder energy
    ``invariance_energy``, ``energies``.
"""

from physlaw.symmetry._families import PRESETS, Family, make_family, parse_mask
from physlaw.symmetry._laws import (
    Discovery,
    verdict,
    Law,
    generator_similarity,
    monomial,
    noether_charge,
    polynomial_law,
    subspace_similarity,
    symplectic_form,
)
from physlaw.symmetry._nullspace import NullSpace, null_space
from physlaw.symmetry._algebra import LieAlgebra, algebra
from physlaw.symmetry._library import FunctionLibrary, kepler_library, library_laws
from physlaw.symmetry._baseline import finite_differences, trajectory_laws
from physlaw.symmetry._hnn import hamiltonian_gradients, hnn_laws, hnn_symmetries
from physlaw.symmetry._invariance import energies, invariance_energy
from physlaw.symmetry._lie import lie_algebra
from physlaw.symmetry._lie_library import lie_library_laws
from physlaw.symmetry._group import GroupSamples, sample_group, select_sigma
from physlaw.symmetry._relations import GroupFit, fit_relations, group_laws
from physlaw.symmetry._pipeline import ALL_ROUTES, METHODS, Comparison, Conservation, conserve, conserve_all
from physlaw.symmetry._checks import Drift, check_expression, drift

__all__ = [
    "LieAlgebra", "algebra", "kepler_library",
    "ALL_ROUTES", "Comparison", "Drift", "check_expression", "conserve_all", "drift",
    "METHODS", "Conservation", "FunctionLibrary", "GroupFit", "GroupSamples", "conserve", "energies",
    "finite_differences", "fit_relations", "group_laws", "hamiltonian_gradients", "hnn_laws", "hnn_symmetries",
    "invariance_energy", "library_laws", "lie_algebra", "lie_library_laws", "sample_group", "select_sigma", "trajectory_laws",
    "PRESETS", "Discovery", "Family", "Law", "verdict", "NullSpace", "generator_similarity", "make_family", "monomial", "noether_charge",
    "null_space", "parse_mask", "polynomial_law", "subspace_similarity", "symplectic_form",
]
