"""The algebra of several generators: structure constants, closure, standard names."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.dynamics import simulate
from physlaw.errors import InputError
from physlaw.symmetry import algebra, conserve, symplectic_form
from physlaw.symmetry._algebra import algebra_details


def rotations3():
    e = np.eye(3)
    return [np.outer(e[(i + 2) % 3], e[(i + 1) % 3]) - np.outer(e[(i + 1) % 3], e[(i + 2) % 3]) for i in range(3)]


def oscillator_u2():
    """Hamiltonian vector fields K = J S of the isotropic oscillator's four quadratic charges ½ xᵀ S x."""
    j = symplectic_form(2)
    s = [np.diag([1.0, 0, 1, 0]), np.diag([0, 1.0, 0, 1])]
    a = np.zeros((4, 4))
    a[0, 1] = a[1, 0] = a[2, 3] = a[3, 2] = 1  # q1 q2 + p1 p2
    b = np.zeros((4, 4))
    b[0, 3] = b[3, 0] = 1
    b[1, 2] = b[2, 1] = -1  # q1 p2 − q2 p1
    return [j @ m for m in s + [a, b]]


def test_so3_structure_constants_are_the_levi_civita_symbol():
    a = algebra(rotations3())
    assert a.name == "so(3) ≅ su(2)" and a.closes and a.compact
    eps = np.zeros((3, 3, 3))
    for i, j, k in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
        eps[i, j, k], eps[j, i, k] = 1, -1
    np.testing.assert_allclose(a.structure_constants, eps, atol=1e-12)
    assert a.killing_signature == (3, 0, 0) and a.derived_dimension == 3 and a.centre_dimension == 0
    # the name does not depend on the basis
    mix = np.random.default_rng(0).standard_normal((3, 3))
    assert algebra([sum(c * g for c, g in zip(row, rotations3())) for row in mix]).name == "so(3) ≅ su(2)"


def test_u2_of_the_isotropic_oscillator_and_its_subalgebras():
    gens = oscillator_u2()
    a = algebra(gens)
    assert a.name == "u(2)" and a.derived_dimension == 3 and a.centre_dimension == 1 and a.compact
    assert algebra(gens[:1]).name == "so(2) ≅ u(1)"
    assert algebra(gens[:2]).name == "abelian u(1)^2"  # the two mode energies commute
    rot = np.array([[0.0, -1], [1, 0]])
    assert algebra([rot, np.eye(2)]).name == "abelian u(1) ⊕ R"  # rotation and a common scaling


def test_non_compact_and_nilpotent_algebras():
    x, y, h = np.array([[0.0, 1], [0, 0]]), np.array([[0.0, 0], [1, 0]]), np.diag([1.0, -1])
    assert algebra([x, y, h]).name == "sl(2, R) ≅ so(2, 1)"
    assert algebra([x, y, h, np.eye(2)]).name == "gl(2, R) ≅ sl(2, R) ⊕ R"
    e = lambda i, j: np.outer(np.eye(3)[i], np.eye(3)[j])  # noqa: E731
    assert algebra([e(0, 1), e(1, 2), e(0, 2)]).name == "heisenberg"
    # affine generators [K | c]: the Euclidean group of the plane (rotation + two translations)
    rot = np.hstack([np.array([[0.0, -1], [1, 0]]), np.zeros((2, 1))])
    tx, ty = np.hstack([np.zeros((2, 2)), [[1.0], [0]]]), np.hstack([np.zeros((2, 2)), [[0.0], [1]]])
    se2 = algebra([rot, tx, ty])
    assert se2.closes and se2.derived_dimension == 2 and se2.centre_dimension == 0 and "non-abelian" in se2.name


def test_negative_control_a_span_that_does_not_close():
    x, y = np.array([[0.0, 1], [0, 0]]), np.array([[0.0, 0], [1, 0]])
    a = algebra([x, y])  # [x, y] = h is outside the span
    assert not a.closes and a.name == "not closed" and a.residuals[0, 1] > 0.5
    # u(2) with one generator missing: [K3, K4] ∝ K1 − K2 leaves the span
    assert algebra(oscillator_u2()[1:]).name == "not closed"


def test_tolerance_and_errors_from_noisy_generators():
    rng = np.random.default_rng(1)
    sigma = 0.01
    gens = [g + sigma * rng.standard_normal(g.shape) for g in oscillator_u2()]
    a = algebra(gens, [np.full((4, 4), sigma)] * 4, seed=2)
    assert a.closes and a.name == "u(2)"
    # [K3, K4] = 2 (K1 − K2) in this basis: within 4 standard errors
    f, err = a.structure_constants[2, 3], a.errors[2, 3]
    assert np.all(np.abs(f - [2, -2, 0, 0]) < 4 * err + 1e-3), (f, err)
    # the negative control stays open under the same noise level
    x, y = np.array([[0.0, 1], [0, 0]]), np.array([[0.0, 0], [1, 0]])
    assert not algebra([x, y], [np.full((2, 2), sigma)] * 2).closes


def test_bad_input_and_details_never_raise():
    with pytest.raises(InputError, match="linearly dependent"):
        algebra([np.eye(2), 2 * np.eye(2)])
    with pytest.raises(InputError, match="one shape"):
        algebra([np.eye(2), np.eye(3)])
    assert algebra_details([]) is None
    assert "linearly dependent" in algebra_details([np.eye(2), np.eye(2)])["note"]
    d = algebra_details(np.array(rotations3()), np.zeros((3, 3, 3)))  # arrays as the group route passes them
    assert d["name"] == "so(3) ≅ su(2)" and d["commutators"][0] == "[K1, K2] = 1 K3"


def test_lie_route_reports_the_algebra_of_the_sphere():
    # an exact 'autoencoder' of the unit sphere (the projection): the gl family's null space is so(3)
    ds = simulate("sphere", jax.random.key(0), num_trajectories=300)
    res = conserve(ds, method="lie", family="gl", key=jax.random.key(1), model=lambda z: z / jnp.linalg.norm(z))
    alg = res.discovery.details["algebra"]
    assert res.discovery.count == 3 and alg["name"] == "so(3) ≅ su(2)" and alg["closes"]
