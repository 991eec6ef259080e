"""The run driver: checkpoint and resume, ladder construction, prior checks, input validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.errors import InputError
from physlaw.io.checkpoints import CheckpointFile
from physlaw.measure.linear import linear_target
from physlaw.sampling import Target, first_beta, respace_ladder, run

X = np.linspace(0.0, 1.0, 20)
Y = 1.5 * X + 0.3 + np.random.default_rng(0).normal(0, 0.2, X.size)
KW = dict(num_samples=400, num_burnin=400, num_replicas=8, num_chains=2, chunk_size=100)


class KilledAfter:
    """A checkpoint that saves to a file, then "kills" the run (KeyboardInterrupt) after N saves."""

    def __init__(self, path, saves):
        self.file, self.left = CheckpointFile(path), saves

    def load(self, fingerprint):
        return self.file.load(fingerprint)

    def save(self, fingerprint, meta, arrays):
        self.file.save(fingerprint, meta, arrays)
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt


class Recorder:
    """A progress receiver that records what the driver reports."""

    def __init__(self):
        self.events = []

    def start(self, total, desc):
        self.events.append(("start", total, desc))

    def update(self, n, desc=None):
        self.events.append(("update", n, desc))

    def close(self):
        self.events.append(("close",))


def test_killed_run_resumes_to_the_same_result(tmp_path):
    target = linear_target(X, Y, 0.2, "ax+b")
    whole = run(jax.random.key(5), target, **KW)
    ckpt = tmp_path / "run.ckpt.npz"
    # "kill" the run after 3 chunks (during burn-in), then again after 2 more (during sampling)
    with pytest.raises(KeyboardInterrupt):
        run(jax.random.key(5), target, checkpoint=KilledAfter(ckpt, 3), checkpoint_every=0, **KW)
    assert ckpt.exists()
    with pytest.raises(KeyboardInterrupt):
        run(jax.random.key(5), target, checkpoint=KilledAfter(ckpt, 2), checkpoint_every=0, **KW)
    progress = Recorder()
    resumed = run(jax.random.key(5), target, checkpoint=CheckpointFile(ckpt), checkpoint_every=0, progress=progress,
                  progress_desc="resume", **KW)
    assert progress.events[0] == ("start", 800, "resume")
    assert progress.events[1] == ("update", 500, "resume (resumed)")  # 5 chunks were done before
    assert [e[1] for e in progress.events[2:-1]] == [100, 100, 100] and progress.events[-1] == ("close",)
    np.testing.assert_array_equal(resumed.samples, whole.samples)
    np.testing.assert_array_equal(resumed.betas, whole.betas)
    assert resumed.free_energy.free_energy == whole.free_energy.free_energy


def test_checkpoint_of_another_run_is_refused(tmp_path):
    ckpt = tmp_path / "run.ckpt.npz"
    with pytest.raises(KeyboardInterrupt):
        run(jax.random.key(5), linear_target(X, Y, 0.2, "ax+b"), checkpoint=KilledAfter(ckpt, 1), **KW)
    with pytest.raises(InputError, match="different run"):
        run(jax.random.key(6), linear_target(X, Y, 0.2, "ax+b"), checkpoint=CheckpointFile(ckpt), **KW)


def test_corrupt_checkpoint_is_one_clear_error(tmp_path):
    ckpt = tmp_path / "run.ckpt.npz"
    ckpt.write_bytes(b"not a zip file")
    with pytest.raises(InputError, match="cannot be read"):
        run(jax.random.key(5), linear_target(X, Y, 0.2, "ax+b"), checkpoint=CheckpointFile(ckpt), **KW)


def test_a_path_is_not_a_checkpoint(tmp_path):
    with pytest.raises(InputError, match="CheckpointFile"):
        run(jax.random.key(5), linear_target(X, Y, 0.2, "ax+b"), checkpoint=tmp_path / "run.ckpt.npz", **KW)
    with pytest.raises(InputError, match="progress must be"):
        run(jax.random.key(5), linear_target(X, Y, 0.2, "ax+b"), progress=True, **KW)


def test_improper_prior_is_refused():
    flat = Target(lambda p: 0.0 * p["a"], lambda p: -p["a"] ** 2, lambda k: {"a": jax.random.normal(k)})
    with pytest.raises(InputError, match="unnormalised or improper"):
        run(jax.random.key(0), flat, **KW)


def test_unnormalised_prior_is_refused():
    unnorm = Target(lambda p: -0.5 * p["a"] ** 2, lambda p: -p["a"] ** 2, lambda k: {"a": jax.random.normal(k)})
    with pytest.raises(InputError, match="unnormalised or improper"):
        run(jax.random.key(0), unnorm, **KW)


def test_normalised_hand_written_prior_is_accepted():
    ok = Target(lambda p: -0.5 * p["a"] ** 2 - 0.5 * jnp.log(2 * jnp.pi), lambda p: -p["a"] ** 2,
                lambda k: {"a": jax.random.normal(k)})
    res = run(jax.random.key(0), ok, **KW)
    assert abs(res.diagnostics.prior_check["log_integral"]) < 0.05
    # exact: Z = ∫ N(a;0,1) e^{-a²} da = 1/√3
    assert abs(-res.free_energy.free_energy - np.log(1 / np.sqrt(3))) < 5 * res.free_energy.free_energy_err + 0.01


def test_prior_and_sampler_disagree():
    bad = Target(lambda p: jnp.where(p["a"] > 0, -jnp.log(1.0), -jnp.inf), lambda p: -p["a"] ** 2,
                 lambda k: {"a": jax.random.normal(k)})
    with pytest.raises(InputError, match="not finite"):
        run(jax.random.key(0), bad, **KW)


def test_hand_ladder_is_validated_and_used():
    betas = np.linspace(0, 1, 6) ** 3
    res = run(jax.random.key(1), linear_target(X, Y, 0.2, "ax"), betas=betas, **KW)
    np.testing.assert_allclose(res.betas, betas)
    with pytest.raises(InputError, match="increase strictly"):
        run(jax.random.key(1), linear_target(X, Y, 0.2, "ax"), betas=[0.0, 0.5, 0.4, 1.0], **KW)


def test_first_beta_bisection():
    ll = np.random.default_rng(0).normal(-1e4, 1e3, 4096)
    b = first_beta(ll)
    # ESS ≥ ½ of exp(β ℓ) needs β σ_ℓ ≈ √(log 2) for a Gaussian ℓ
    assert 0.5e-3 < b < 1.2e-3
    # log-likelihoods spread over 10²⁵ nat (NIST Lanczos1 at its own noise): below the usual floor 1e-12
    assert 0.5e-24 < first_beta(ll * 1e21) < 1.2e-24
    assert first_beta(ll * 1e300) == 1e-200   # the extreme floor


def test_respaced_ladder_equalises_rejection():
    betas = np.concatenate([[0.0], np.geomspace(1e-4, 1, 9)])
    # rejection concentrated in the lower half
    rej = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2, 0.1, 0.05, 0.05])
    new = respace_ladder(betas, rej)
    assert new[0] == 0 and new[-1] == 1 and np.all(np.diff(new) > 0)
    # more rungs are moved into the hard region (low β)
    assert np.sum(new < betas[4]) > np.sum(betas < betas[4])


def test_rhat_and_ess_match_arviz():
    import arviz as az

    from physlaw.sampling._diagnostics import rhat_and_ess

    rng = np.random.default_rng(3)
    # AR(1) chains, one of them shifted: autocorrelation and disagreement both exercised
    x = np.zeros((4, 2000, 2))
    for t in range(1, 2000):
        x[:, t] = 0.9 * x[:, t - 1] + rng.normal(size=(4, 2))
    x[0, :, 1] += 1.5
    x = np.concatenate([x, np.round(x[..., :1], 1)], axis=-1)  # ties, as rejected Metropolis moves make
    rhat, ess = rhat_and_ess(x)
    for j in range(3):
        assert abs(rhat[j] - float(az.rhat(x[..., j]))) < 1e-6
        # the truncation of the autocorrelation sum differs in detail from ArviZ's: agree within 1 %
        assert abs(ess[j] - float(az.ess(x[..., j]))) / ess[j] < 0.01
