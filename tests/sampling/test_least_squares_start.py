"""``least_squares_point`` (variable projection over a target's nonlinear coordinates) and ``run(init=...)``.

Exact answers: the least-squares point of y = a e^(−wx) + b against SciPy's own multi-start fit of the same
curve, and NIST Lanczos2's certified residual SD. Then the use: at Lanczos2's own noise (1.1e-6 of a curve of
range 2.5) chains that start at the least-squares point sit in the valley (⟨ℓ⟩ = ℓ_opt − d/2 at β = 1, the
posterior's value), and the same run from prior draws does not (the negative control).
"""

import dataclasses
from pathlib import Path

import jax
import numpy as np
import pytest
from scipy.optimize import least_squares

from physlaw.errors import InputError
from physlaw.sampling import least_squares_point, run
from tests.sampling.test_correlated_moves import SIGMA, _problem

NIST = Path(__file__).resolve().parents[1] / "fixtures" / "nist"


def test_the_point_is_scipys_least_squares_fit():
    x, y, target = _problem()
    point = least_squares_point(target, jax.random.key(0))
    starts = [(a, w, b) for a in (0.5, 2.0) for w in (0.3, 1.0, 2.5) for b in (-0.5, 0.5)]
    fits = [least_squares(lambda p: p[0] * np.exp(-p[1] * x) + p[2] - y, s, method="lm") for s in starts]
    best = min(fits, key=lambda f: f.cost)
    assert np.isclose(point.chi2, np.sum(best.fun**2) / SIGMA**2, rtol=1e-6), (point.chi2, 2 * best.cost)
    p = target.sample_prior_fn(jax.random.key(0))
    assert set(p) == {"a", "b", "w"}
    # flat order is a, b, w (the dict's sorted keys)
    assert np.allclose(point.position, [best.x[0], best.x[2], best.x[1]], rtol=1e-5, atol=1e-8)


def test_a_target_without_a_linear_part_has_none():
    x, y, target = _problem()
    plain = dataclasses.replace(target, linear=None)
    assert plain.linear is None and least_squares_point(plain, jax.random.key(0)) is None


@pytest.fixture(scope="module")
def lanczos2():
    from physlaw.io.nist import read_nist
    from physlaw.measure.relaxation import RelaxationTransform, relaxation_target

    t, y, cert = read_nist(NIST / "Lanczos2.dat")
    sigma = 1.1e-6
    target = relaxation_target(t, y, sigma, 3, False, RelaxationTransform.from_data(t, y))
    return t, target, sigma, cert["residual_sd"], least_squares_point(target, jax.random.key(1))


def test_lanczos2_least_squares_residual_is_the_certified_one(lanczos2):
    t, target, sigma, certified, point = lanczos2
    d = point.position.size                    # three amplitudes, three rates and an offset
    sd = sigma * np.sqrt(point.chi2 / (t.size - d))
    # the certified fit has no offset (18 degrees of freedom, not 17): its SD is an upper bound, reached within 1 %
    assert 0.99 * certified < sd <= certified * np.sqrt(18 / 17), (sd, certified)


@pytest.mark.parametrize("start", ["least squares", "prior draws"])
def test_lanczos2_chains_settle_from_the_least_squares_point(lanczos2, start):
    t, target, sigma, _, point = lanczos2
    ll_opt = -0.5 * t.size * np.log(2 * np.pi * sigma**2) - 0.5 * point.chi2
    d = point.position.size
    res = run(jax.random.key(0), target, num_samples=250, num_burnin=500, moves="correlated",
              init=point.position if start == "least squares" else None)
    mean_ll = res.log_likelihood[:, :, -1].mean(axis=1)
    settled = bool(np.all(np.abs(mean_ll - (ll_opt - d / 2)) < 3 * np.sqrt(d / 2)))
    assert settled == (start == "least squares"), (start, mean_ll, ll_opt - d / 2)


def test_init_is_checked():
    x, y, target = _problem()
    with pytest.raises(InputError, match="init must be a finite flat point of 3 coordinates"):
        run(jax.random.key(0), target, num_samples=10, num_burnin=10, init=np.zeros(2))
    with pytest.raises(InputError, match="init must be"):
        run(jax.random.key(0), target, num_samples=10, num_burnin=10, init=np.array([0.0, np.nan, 1.0]))
