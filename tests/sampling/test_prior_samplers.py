"""The priors' two exact samplers agree: ``sample_many`` (NumPy; the engine's prior draws, which compile
no JAX sampler) and ``sample`` (JAX, one draw) draw the same distribution. Two-sample
Kolmogorov-Smirnov tests on 4000 draws per coordinate at fixed seeds; a negative control (a Gamma of
another shape) fails the same test. The engine's draws come from ``sample_many`` when the prior has it."""

import jax
import numpy as np
import pytest
from scipy.stats import ks_2samp

from physlaw.priors import JointPrior, LogGamma, LogHalfNormal, LogUniform, Normal, Uniform
from physlaw.sampling import Target, flatten_target
from physlaw.sampling._target import batched

N = 4000
PRIORS = {
    "normal": Normal(1.0, 2.0, (2,)),
    "uniform": Uniform(-3.0, 0.5, (2,)),
    "log_gamma": LogGamma(1.7, 3.0, (2,)),
    "log_gamma_small_k": LogGamma(0.3, 1.0),
    "log_uniform": LogUniform(1e-3, 10.0),
    "log_half_normal": LogHalfNormal(0.7, (3,)),
}


def jax_draws(dist, seed):
    keys = jax.random.split(jax.random.key(seed), N)
    return np.asarray(jax.vmap(dist.sample)(keys), np.float64).reshape(N, -1)


def numpy_draws(dist, seed):
    return np.asarray(dist.sample_many(np.random.default_rng(seed), N), np.float64).reshape(N, -1)


@pytest.mark.parametrize("name", sorted(PRIORS))
def test_numpy_and_jax_samplers_draw_the_same_distribution(name):
    dist = PRIORS[name]
    a, b = numpy_draws(dist, 1), jax_draws(dist, 2)
    assert a.shape == b.shape == (N, max(1, int(np.prod(dist.shape))))
    for j in range(a.shape[1]):
        assert ks_2samp(a[:, j], b[:, j]).pvalue > 1e-3, (name, j)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(np.asarray(dist.log_prob(a[0].reshape(dist.shape)))))


def test_negative_control_another_gamma_shape_fails_the_same_test():
    a, b = numpy_draws(LogGamma(1.7, 3.0), 1), jax_draws(LogGamma(2.0, 3.0), 2)
    assert ks_2samp(a[:, 0], b[:, 0]).pvalue < 1e-3


def test_the_engine_draws_from_sample_many_in_the_working_dtype():
    prior = JointPrior({"b": Normal(0.0, 1.0, (2,)), "a": LogGamma(2.0, 1.0)})
    target = Target.from_prior(prior, lambda p: 0.0 * p["a"])
    assert target.sample_prior_many_fn == prior.sample_many
    key = jax.random.key(3)
    for dtype in (None, np.float32):
        flat = flatten_target(target, key, dtype)
        draws = batched(flat).sample_prior(key, N)
        assert isinstance(draws, np.ndarray) and draws.shape == (N, 3)
        assert draws.dtype == (np.float32 if dtype else np.asarray(jax.numpy.zeros(1)).dtype)
        # flat order = ravel_pytree's (sorted keys: a, then b[0], b[1]); a = log Gamma(2, 1) draws
        assert ks_2samp(draws[:, 0], numpy_draws(LogGamma(2.0, 1.0), 5)[:, 0]).pvalue > 1e-3
        assert ks_2samp(draws[:, 1], numpy_draws(Normal(0.0, 1.0), 6)[:, 0]).pvalue > 1e-3
        np.testing.assert_array_equal(draws, batched(flat).sample_prior(key, N))   # the key fixes the draws


def test_a_joint_prior_with_a_distribution_without_a_numpy_sampler_keeps_the_jax_one():
    class Custom:   # the user's own distribution: log_prob and a JAX sampler only
        shape = ()

        def log_prob(self, x):
            return Normal(0.0, 1.0).log_prob(x)

        def sample(self, key):
            return Normal(0.0, 1.0).sample(key)

    target = Target.from_prior(JointPrior({"a": Custom(), "b": Normal(0.0, 1.0)}), lambda p: 0.0 * p["a"])
    assert target.sample_prior_many_fn is None
    flat = flatten_target(target, jax.random.key(0))
    draws = batched(flat).sample_prior(jax.random.key(1), 600)   # the blocks of the compiled JAX sampler
    assert draws.shape == (600, 2) and ks_2samp(draws[:, 0], numpy_draws(Normal(0.0, 1.0), 7)[:, 0]).pvalue > 1e-3


def test_split_keys_gives_jax_random_split_s_keys():
    from physlaw.sampling import split_keys

    key = jax.random.key(123)
    for num in (2, 5, 8, 11):
        got = np.stack([np.asarray(jax.random.key_data(k)) for k in split_keys(key, num)])
        np.testing.assert_array_equal(got, np.asarray(jax.random.key_data(jax.random.split(key, num))))
    assert len({tuple(np.asarray(jax.random.key_data(k))) for k in split_keys(key, 5)}) == 5   # control: distinct
