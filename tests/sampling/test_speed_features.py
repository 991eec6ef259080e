"""Issue 12 at the sampling layer: stop at a target precision, chains over devices, float32.

* ``precision``: sampling goes on until F's error is below it; the draws are those of a fixed-length
  run of the same length (same keys chunk by chunk), the result says whether it was met, and an
  interrupted run resumes to the same answer.
* ``devices``: the draws do not depend on the number of devices the chains are spread over.
* ``dtype=float32``: the free energy agrees with float64 within its error; a precision that is not
  safe (bfloat16, 8-bit mantissa) fails the same check (negative control).
"""

import os
import subprocess
import sys
import textwrap
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from physlaw.io.checkpoints import CheckpointFile
from physlaw.measure.linear import linear_target
from physlaw.sampling import PhyslawWarning, run
from tests.sampling.test_run_driver import KilledAfter

X = np.linspace(0.0, 1.0, 20)
Y = 1.5 * X + 0.3 + np.random.default_rng(0).normal(0, 0.2, X.size)
KW = dict(num_burnin=400, num_replicas=8, num_chains=4, chunk_size=100)


def quiet_run(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PhyslawWarning)
        return run(*args, **kw)


def test_precision_is_reached_and_equals_a_fixed_run_of_that_length():
    target = linear_target(X, Y, 0.2, "ax+b")
    res = quiet_run(jax.random.key(4), target, num_samples=200, precision=0.1, **KW)
    d = res.diagnostics
    assert d.stop_reason == "precision reached" and d.precision_met is True and d.precision == 0.1
    assert d.precision_reached == res.free_energy.free_energy_err <= 0.1
    assert d.num_sweeps_kept > 200  # 200 sweeps give ≈ 0.25 nat here: it had to go on
    assert res.log_likelihood.shape[1] == d.num_sweeps_kept == d.num_sweeps
    for k in ("precision", "precision_reached", "precision_met", "stop_reason"):
        assert k in d.to_dict()
    fixed = quiet_run(jax.random.key(4), target, num_samples=d.num_sweeps_kept, **KW)
    assert fixed.diagnostics.stop_reason == "fixed length" and fixed.diagnostics.precision_met is None
    np.testing.assert_array_equal(fixed.samples, res.samples)
    assert fixed.free_energy.free_energy == res.free_energy.free_energy


def test_unreachable_precision_stops_at_the_maximum_and_says_so():
    target = linear_target(X, Y, 0.2, "ax+b")
    with pytest.warns(PhyslawWarning, match="above the requested precision"):
        res = run(jax.random.key(3), target, num_samples=200, precision=1e-4, max_samples=400, **KW)
    d = res.diagnostics
    assert d.stop_reason == "maximum length" and d.precision_met is False and d.num_sweeps_kept == 400
    assert d.to_dict()["precision_met"] is False


def test_stop_early_ends_at_the_minimum_and_sees_f():
    seen = []

    def out_of_the_race(f, err):
        seen.append((f, err))
        return True

    res = quiet_run(jax.random.key(3), linear_target(X, Y, 0.2, "ax+b"), num_samples=200, stop_early=out_of_the_race,
                    **KW)
    assert res.diagnostics.stop_reason == "stopped early" and res.diagnostics.num_sweeps_kept == 200
    assert seen == [(res.free_energy.free_energy, res.free_energy.free_energy_err)]


def test_precision_run_resumes_from_its_checkpoint(tmp_path):
    target = linear_target(X, Y, 0.2, "ax+b")
    kw = dict(num_samples=200, precision=0.1, checkpoint_every=0, **KW)
    whole = quiet_run(jax.random.key(4), target, **kw)
    ckpt = tmp_path / "run.ckpt.npz"
    n_chunks = whole.diagnostics.num_sweeps_kept // 100 + 4
    with pytest.raises(KeyboardInterrupt):  # killed in the adaptive part of sampling
        quiet_run(jax.random.key(4), target, checkpoint=KilledAfter(ckpt, n_chunks - 2), **kw)
    resumed = quiet_run(jax.random.key(4), target, checkpoint=CheckpointFile(ckpt), **kw)
    np.testing.assert_array_equal(resumed.samples, whole.samples)
    assert resumed.diagnostics.num_sweeps_kept == whole.diagnostics.num_sweeps_kept
    # a fixed-length checkpoint is not resumed by a precision run (different fingerprint)
    with pytest.raises(Exception, match="different run"):
        quiet_run(jax.random.key(4), target, checkpoint=CheckpointFile(ckpt), num_samples=200, **KW)


def test_bad_precision_arguments_are_refused():
    from physlaw.errors import InputError

    target = linear_target(X, Y, 0.2, "ax")
    with pytest.raises(InputError, match="precision"):
        run(jax.random.key(0), target, num_samples=200, precision=-1.0, **KW)
    with pytest.raises(InputError, match="max_samples"):
        run(jax.random.key(0), target, num_samples=200, precision=0.1, max_samples=100, **KW)


DEVICES_SCRIPT = textwrap.dedent("""
    import warnings
    import jax
    jax.config.update("jax_num_cpu_devices", 2)
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from physlaw.measure.spectrum import nagata_data, spectrum_target
    from physlaw.sampling import run
    warnings.simplefilter("ignore")
    assert jax.local_device_count() == 2
    x, y, s = nagata_data(0)
    gauss = spectrum_target(x[::3], y[::3], s, 2, incremental=True)
    # the program real XPS data run by default: Voigt lines, every background, padded
    voigt = spectrum_target(x[::3], y[::3], s, 3, shape="voigt", background="poly2", any_background=True, pad_to=4)
    # 4 and 8 chains: 4 or 8 one after the other on one device, 2 or 4 on each of two; float32 is the
    # CLI's working precision
    for name, target, chains, dtype in (("gauss", gauss, 4, None), ("gauss", gauss, 4, "float32"),
                                        ("gauss", gauss, 8, "float32"), ("voigt", voigt, 4, "float32")):
        case = f"{name}, {chains} chains, {dtype}"
        kw = dict(num_samples=100, num_burnin=200, num_replicas=6, num_chains=chains, moves="both", dtype=dtype)
        one = run(jax.random.key(7), target, devices=1, **kw)
        two = run(jax.random.key(7), target, devices=2, **kw)
        assert np.array_equal(one.samples, two.samples), f"samples differ ({case})"
        assert np.array_equal(one.log_likelihood, two.log_likelihood), f"traces differ ({case})"
        assert np.array_equal(one.step_size, two.step_size), f"step sizes differ ({case})"
    print("same draws on 1 and 2 devices")
""")


def test_draws_do_not_depend_on_the_number_of_devices():
    """Two XLA host devices (a fresh process: the device count is fixed when JAX starts)."""
    out = subprocess.run([sys.executable, "-c", DEVICES_SCRIPT], capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, PHYSLAW_JAX_CACHE="0"))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "same draws" in out.stdout


@pytest.fixture(scope="module")
def sharp_linear():
    """ax + b with σ = 0.01 on 101 points: ℓ ≈ +300, where 8-bit mantissas round by ~1 nat."""
    rng = np.random.default_rng(1)
    x = np.linspace(0.0, 1.0, 101)
    y = 1.5 * x + 0.3 + rng.normal(0.0, 0.01, x.size)
    target = linear_target(x, y, 0.01, "ax+b")
    kw = dict(num_samples=1500, num_burnin=500, num_replicas=12, num_chains=4)
    return {name: quiet_run(jax.random.key(3), target, dtype=dt, **kw).free_energy
            for name, dt in (("float64", jnp.float64), ("float32", jnp.float32), ("bfloat16", jnp.bfloat16))}


def _same_f(a, b, k=4.0):
    return abs(a.free_energy - b.free_energy) <= k * np.hypot(a.free_energy_err, b.free_energy_err)


def test_float32_free_energy_agrees_with_float64(sharp_linear):
    f64, f32 = sharp_linear["float64"], sharp_linear["float32"]
    assert f32.free_energy_err < 0.2
    assert _same_f(f32, f64), (f32.free_energy, f32.free_energy_err, f64.free_energy, f64.free_energy_err)


def test_negative_control_bfloat16_fails_the_same_check(sharp_linear):
    f64, bf16 = sharp_linear["float64"], sharp_linear["bfloat16"]
    assert not (np.isfinite(bf16.free_energy) and _same_f(bf16, f64)), (bf16.free_energy, f64.free_energy)


def test_out_of_the_race():
    from physlaw.sampling import out_of_the_race

    stop = out_of_the_race(-100.0, 0.1)
    assert stop(-80.0, 0.5)          # 20 nat behind, errors small: out
    assert not stop(-95.0, 0.5)      # 5 nat behind: still in (odds e^-5 are not negligible)
    assert not stop(-80.0, 5.0)      # far behind but its F is too uncertain to tell
    assert not stop(float("nan"), 0.1)


def test_relabelling_in_blocks_equals_relabelling_at_once_and_serves_every_length():
    """The diagnostics' relabelling: a ``SortComponents`` runs in NumPy (no program compiled per model
    size), any other relabel_fn in fixed compiled blocks (one program for a pilot and its final run).
    For lengths below, at and above a block both equal the whole array relabelled at once by the JAX
    relabel_fn, draw by draw."""
    from physlaw.measure import spectrum as sp
    from physlaw.sampling import flatten_target
    from physlaw.sampling import _programs

    x, y, s = sp.nagata_data(0)
    target = sp.spectrum_target(x, y, s, 3)
    flat = flatten_target(target, jax.random.key(0))
    whole = jax.jit(jax.vmap(jax.vmap(
        lambda v: jax.flatten_util.ravel_pytree(target.relabel_fn(flat.unravel(v)))[0])))
    numpy_form = _programs._relabel_fn(flat, target.relabel_fn)
    compiled_form = _programs._relabel_fn(flat, lambda p: target.relabel_fn(p))   # no NumPy form: blocks
    assert hasattr(target.relabel_fn, "many")
    rng = np.random.default_rng(0)
    for num in (7, _programs.RELABEL_BLOCK, _programs.RELABEL_BLOCK + 3):
        draws = rng.normal(size=(2, num, flat.dim)).astype(np.asarray(jnp.zeros(1)).dtype)
        for fn in (numpy_form, compiled_form):
            got = fn(draws)
            assert got.shape == draws.shape and got.dtype == draws.dtype
            np.testing.assert_array_equal(got, np.asarray(whole(draws)))
            assert not np.array_equal(got, draws)   # control: the relabelling did reorder something


def test_sort_components_many_equals_one_draw_at_a_time_with_joint_leaves():
    """``SortComponents.many`` on draws with batch axes, with a joint model's [datasets, K] leaf and a
    descending key, equals the JAX relabelling of each draw."""
    from physlaw.sampling import SortComponents

    relabel = SortComponents("w", ("w", "a"), descending=True)
    rng = np.random.default_rng(1)
    params = {"w": rng.normal(size=(3, 5, 4)), "a": rng.normal(size=(3, 5, 2, 4)), "c": rng.normal(size=(3, 5))}
    got = relabel.many(params)
    for i in range(3):
        for j in range(5):
            one = relabel({k: jnp.asarray(v[i, j]) for k, v in params.items()})
            for k in params:
                np.testing.assert_allclose(got[k][i, j], np.asarray(one[k]), rtol=0, atol=0)
    assert np.all(np.diff(got["w"], axis=-1) <= 0) and not np.all(np.diff(params["w"], axis=-1) <= 0)
    np.testing.assert_array_equal(got["c"], params["c"])
