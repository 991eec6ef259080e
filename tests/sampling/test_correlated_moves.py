"""``moves="correlated"``: block moves with each rung's covariance learned in burn-in and, for a Gaussian
likelihood linear in some parameters (``Target.linear``), joint moves that draw those parameters from their
exact conditional (a Metropolis–Hastings proposal, so the tempered target is unchanged).

Exact answer: y = a e^(−w x) + b with Normal priors on a, b and a uniform prior on w has
Z = ∫ π(w) N(y; 0, σ² I + X(w) S₀ X(w)ᵀ) dw, a one-dimensional quadrature. The run's F agrees with it within
its own error; with the Hastings correction of the conditional draws removed it does not (negative control).
On NIST Lanczos3 (three exponentials, data rounded to 5 digits: a valley 10⁵ times narrower than it is long)
the correlated moves reach the least-squares optimum in 750 sweeps; coordinate moves do not."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.priors import JointPrior, Normal, Uniform
from physlaw.sampling import LinearPart, Target, run
from physlaw.sampling import _kernel, _programs
from tests.sampling.helpers import agrees

SIGMA, PRIOR_SD, W_RANGE = 0.02, 2.0, (0.2, 3.0)
NIST = Path(__file__).resolve().parents[1] / "fixtures" / "nist"


def _mean(p, data):
    return p["a"] * jnp.exp(-p["w"] * data["x"]) + p["b"]


def _observed(data):
    return data["y"], data["sigma"]


def _log_likelihood(p, data):
    r = (data["y"] - _mean(p, data)) / data["sigma"]
    return -0.5 * jnp.sum(r * r) - jnp.sum(jnp.log(data["sigma"])) - 0.5 * r.size * jnp.log(2 * jnp.pi)


def _problem():
    x = np.linspace(0.0, 3.0, 40)
    y = 1.0 * np.exp(-1.3 * x) + 0.2 + np.random.default_rng(3).normal(0.0, SIGMA, x.size)
    prior = JointPrior({"a": Normal(0.0, PRIOR_SD), "b": Normal(0.0, PRIOR_SD), "w": Uniform(*W_RANGE)})
    data = {"x": jnp.asarray(x), "y": jnp.asarray(y), "sigma": jnp.full(x.size, SIGMA)}
    target = Target.from_prior(prior, _log_likelihood, data=data, linear=LinearPart(("a", "b"), _mean, _observed))
    return x, y, target


def _exact_free_energy(x, y) -> float:
    """−log Z by quadrature over w of the closed-form evidence of the linear part (Woodbury)."""
    w = np.linspace(*W_RANGE, 40001)
    cols = np.stack([np.exp(-np.outer(w, x)), np.ones((w.size, x.size))], axis=1)       # [W, 2, n]
    gram = cols @ cols.transpose(0, 2, 1) / SIGMA**2                                   # [W, 2, 2]
    proj = cols @ y / SIGMA**2                                                         # [W, 2]
    precision = gram + np.eye(2) / PRIOR_SD**2
    quad = np.einsum("wi,wi->w", proj, np.linalg.solve(precision, proj[..., None])[..., 0])
    log_det = np.linalg.slogdet(np.eye(2) + PRIOR_SD**2 * gram)[1]
    log_z_w = -0.5 * x.size * np.log(2 * np.pi * SIGMA**2) - 0.5 * log_det - 0.5 * (y @ y / SIGMA**2 - quad)
    top = log_z_w.max()
    integrand = np.exp(log_z_w - top) / (W_RANGE[1] - W_RANGE[0])
    return -(top + np.log(np.sum((integrand[1:] + integrand[:-1]) * 0.5 * np.diff(w))))


def _run(target, key=0, moves="correlated", **kw):
    kw = {"num_samples": 600, "num_burnin": 600, "num_replicas": 16, "num_chains": 4, **kw}
    return run(jax.random.key(key), target, moves=moves, **kw)


def test_joint_moves_give_the_exact_free_energy():
    x, y, target = _problem()
    exact = _exact_free_energy(x, y)
    res = _run(target)
    fe = res.free_energy
    assert agrees(fe.free_energy, fe.free_energy_err, exact), (fe.free_energy, fe.free_energy_err, exact)
    assert fe.free_energy_err < 0.2
    post = res.posterior()
    assert abs(np.mean(post["w"]) - 1.3) < 0.1 and abs(np.mean(post["a"]) - 1.0) < 0.1
    assert res.diagnostics.block_acceptance_per_replica[-1] > 0.1   # the joint moves do move at β = 1


def test_without_the_hastings_correction_the_free_energy_is_wrong(monkeypatch):
    x, y, target = _problem()
    exact = _exact_free_energy(x, y)
    _programs._CHUNK_CACHE.clear()
    monkeypatch.setattr(_kernel, "hastings_log_ratio", lambda u, z, c, c_new: jnp.zeros(u.shape[0], u.dtype))
    try:
        fe = _run(target).free_energy
    finally:
        _programs._CHUNK_CACHE.clear()
    assert not agrees(fe.free_energy, fe.free_energy_err, exact), (fe.free_energy, fe.free_energy_err, exact)


def test_learned_covariance_moves_without_a_linear_part():
    """The plain covariance block move (no ``linear``) on the same model: F still exact."""
    x, y, target = _problem()
    exact = _exact_free_energy(x, y)
    plain = Target.from_prior(JointPrior({"a": Normal(0.0, PRIOR_SD), "b": Normal(0.0, PRIOR_SD),
                                          "w": Uniform(*W_RANGE)}), _log_likelihood, data=target.data)
    fe = _run(plain, key=1).free_energy
    assert agrees(fe.free_energy, fe.free_energy_err, exact), (fe.free_energy, fe.free_energy_err, exact)


@pytest.fixture(scope="module")
def lanczos3():
    from physlaw.io.nist import read_nist
    from physlaw.measure.relaxation import RelaxationTransform, relaxation_target
    from scipy.optimize import least_squares

    t, y, cert = read_nist(NIST / "Lanczos3.dat")
    sigma = 3e-5
    target = relaxation_target(t, y, sigma, 3, False, RelaxationTransform.from_data(t, y))
    # the least-squares optimum of the same model (three exponentials and an offset), from the certified start
    def resid(p):
        return np.exp(-np.outer(t, np.exp(p[3:6]))) @ p[:3] + p[6] - y
    best = least_squares(resid, [0.0951, 0.8607, 1.5576, 0.0, np.log(3.0), np.log(5.0), 0.0], method="lm")
    ll_opt = -0.5 * t.size * np.log(2 * np.pi * sigma**2) - np.sum(best.fun**2) / (2 * sigma**2)
    return target, ll_opt


@pytest.mark.parametrize("moves", ["correlated", "componentwise"])
def test_lanczos3_valley(lanczos3, moves):
    target, ll_opt = lanczos3
    res = run(jax.random.key(1), target, num_samples=250, num_burnin=500, moves=moves)
    # at the posterior, ⟨ℓ⟩ = ℓ_opt − d/2 (d = 7), within a few units
    mean_ll = res.log_likelihood[:, :, -1].mean(axis=1)
    reached = bool(np.all(np.abs(mean_ll - (ll_opt - 3.5)) < 3.0))
    assert reached == (moves == "correlated"), (moves, mean_ll, ll_opt)


def test_killed_correlated_run_resumes_to_the_same_draws(tmp_path):
    """The learned covariance is part of the checkpoint: a run killed during burn-in ends bit for bit where
    the uninterrupted one ends."""
    from physlaw.io.checkpoints import CheckpointFile
    from tests.sampling.test_run_driver import KilledAfter

    _, _, target = _problem()
    kw = dict(num_samples=200, num_burnin=300, num_replicas=8, num_chains=2, chunk_size=100)
    whole = _run(target, key=4, **kw)
    ckpt = tmp_path / "run.ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        _run(target, key=4, checkpoint=KilledAfter(ckpt, 2), checkpoint_every=0, **kw)
    resumed = _run(target, key=4, checkpoint=CheckpointFile(ckpt), checkpoint_every=0, **kw)
    np.testing.assert_array_equal(resumed.samples, whole.samples)
    np.testing.assert_array_equal(resumed.final.cov, whole.final.cov)
