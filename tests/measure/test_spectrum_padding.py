"""One compiled program for every K of a scan: a model padded to K_max components with the unused ones
masked out (``spectrum_target(..., pad_to=K_max)``) is the K-component model.

* its likelihood equals the K-component model's at the same parameters, exactly (full and O(n) cache),
  also when every background's parameters are compiled in (``any_background``) and one is switched on;
* its free energy agrees with the unpadded model's within the runs' own errors, while the (K+1)-model
  differs (negative control: the comparison can fail);
* its result is the K-component model's (names, posterior shapes), and the programs are shared: the
  second K of a scan compiles no new sampling program.
"""

import math
import warnings

import jax
import numpy as np
import pytest

from physlaw.measure import spectrum as sp
from physlaw.sampling import PhyslawWarning, flatten_target, run
from physlaw.sampling import _programs

X, Y, S = sp.nagata_data(0)
X, Y = X[::3], Y[::3]
RUN = dict(num_samples=600, num_burnin=600, num_replicas=16, num_chains=4)


@pytest.mark.parametrize("component,shape,background,sign,any_bg", [
    ("peak", "gauss", "none", "positive", False), ("peak", "voigt", "shirley", "negative", False),
    ("spin-orbit-d", "lorentz", "linear", "positive", True), ("sextet", "lorentz", "poly2", "negative", True),
    ("peak", "gauss", "none", "positive", True), ("peak", "voigt", "shirley", "negative", True),
    ("peak", "gauss", "exponential", "positive", True), ("doublet", "gauss", "constant", "negative", True)])
def test_padded_likelihood_is_the_k_component_one(component, shape, background, sign, any_bg):
    x = np.linspace(-8, 8, X.size) if component == "sextet" else X
    small = sp.spectrum_target(x, Y + 1, 0.1, 2, shape=shape, background=background, priors="auto",
                               component=component, sign=sign)
    padded = sp.spectrum_target(x, Y + 1, 0.1, 2, shape=shape, background=background, priors="auto",
                                component=component, sign=sign, pad_to=5, any_background=any_bg)
    fs, fp = flatten_target(small, jax.random.key(0)), flatten_target(padded, jax.random.key(0))
    xs = jax.vmap(fs.sample_prior)(jax.random.split(jax.random.key(1), 4))
    xp = jax.vmap(fp.sample_prior)(jax.random.split(jax.random.key(2), 4))
    xp = xp.at[:, np.array(padded.sampled)].set(xs)  # the unused components keep arbitrary values
    want = jax.vmap(fs.log_likelihood, in_axes=(0, None))(xs, fs.data)
    got = jax.vmap(fp.log_likelihood, in_axes=(0, None))(xp, fp.data)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # the O(n) cache of the padded model, moved coordinate by coordinate, stays the full likelihood
    # with Metropolis decisions (select_fn keeps the accepted moves' rows only)
    inc, theta = padded.incremental, xp[0]
    cache = inc.init_fn(theta, fp.data)
    for i, j in enumerate(padded.sampled):
        proposal = theta.at[j].add(0.01 * (j + 1))
        ok = jax.numpy.asarray(i % 3 != 1)
        cache = inc.select_fn(ok, inc.update_fn(proposal, j, cache, fp.data), cache, j)
        theta = proposal if bool(ok) else theta
    full = padded.log_likelihood_fn(fp.unravel(theta), fp.data)
    assert math.isclose(float(inc.value_fn(cache, fp.data)), float(full), rel_tol=1e-10, abs_tol=1e-8)


def _run(k, pad, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PhyslawWarning)
        return run(jax.random.key(seed), sp.spectrum_target(X, Y, S, k, priors="auto", background="constant",
                                                            pad_to=pad), **RUN)


def test_padded_free_energy_equals_the_unpadded_one_and_shares_the_program():
    plain = _run(2, None, 1)
    padded = _run(2, 4, 2)
    before = len(_programs._CHUNK_CACHE)
    padded3 = _run(3, 4, 3)
    assert len(_programs._CHUNK_CACHE) - before <= 1, "only the relabelling of K = 3 is new, not the chunk"
    f, e = plain.free_energy.free_energy, plain.free_energy.free_energy_err
    fp, ep = padded.free_energy.free_energy, padded.free_energy.free_energy_err
    assert abs(fp - f) < 4 * math.hypot(e, ep) + 0.05
    # negative control: three components are not two (the Nagata spectrum has three peaks)
    f3, e3 = padded3.free_energy.free_energy, padded3.free_energy.free_energy_err
    assert abs(f3 - f) > 4 * math.hypot(e, e3) + 0.05
    # the result is the K-component model's
    assert padded.names == plain.names
    assert padded.posterior()["mu"].shape == plain.posterior()["mu"].shape == (4, 600, 2)
    assert padded3.posterior()["log_a"].shape[-1] == 3
    assert set(padded.diagnostics.acceptance_per_parameter_at_beta1) == set(plain.names)
    assert min(padded.diagnostics.acceptance_per_parameter_at_beta1.values()) > 0.05


def test_pad_below_k_is_refused():
    from physlaw.errors import InputError

    with pytest.raises(InputError, match="pad_to"):
        sp.spectrum_target(X, Y, S, 3, pad_to=2)



def test_a_scan_of_one_background_compiles_that_background_alone(monkeypatch):
    """The all-backgrounds program costs about twice as much per sweep: only a scan that compares
    backgrounds compiles it (negative control: a scan of two backgrounds does)."""
    from physlaw.measure import selection
    from physlaw.sampling import flatten_target

    class Stop(Exception):
        pass

    def dims(backgrounds):
        seen = []

        def fake_scan(make_candidates, **kw):
            seen.extend(flatten_target(c.make_target(S), jax.random.key(0)).dim for c in make_candidates(2))
            raise Stop

        monkeypatch.setattr(selection, "scan", fake_scan)
        with pytest.raises(Stop):
            selection.deconvolve(X, Y, sigma=S, kmax=3, shapes="gauss", backgrounds=backgrounds,
                                 signs="positive", key=jax.random.key(0))
        return seen

    one = dims("constant")
    both = dims(("constant", "linear"))
    assert one == [3 * 3 + 1]                  # three padded gaussians and the level
    assert len(both) == 2 and all(d > one[0] for d in both)   # every background's parameters compiled in
