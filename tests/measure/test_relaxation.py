"""Relaxation curves: decays, saturation and inversion recoveries; sign conventions; K, the shape and
the time constants; a time constant beyond the window reported as a lower bound."""

import jax
import numpy as np
import pytest

from physlaw.errors import InputError
from physlaw.measure.relaxation import (
    RelaxationTransform, _curve, analyse_relaxation, choose_experiments, relaxation_curve,
)

T = np.geomspace(0.01, 300.0, 60)
SMALL = dict(num_samples=800, num_burnin=800, num_replicas=16, num_chains=2, progress=False)


def test_two_exponentials_give_two_exponential_modes():
    rng = np.random.default_rng(1)
    y = relaxation_curve(T, [0.6, 0.4], [1.0, 30.0]) + rng.normal(0, 0.01, T.size)
    res = analyse_relaxation(T, y, sigma=0.01, kmax=2, key=jax.random.key(1), **SMALL)
    assert res.experiments == ("decay",)
    assert res.selected == "K2-exponential", [(f.name, f.free_energy) for f in res.fits]
    assert res.best.probability > 0.9
    s = res.parameter_summaries()
    for k, t1 in enumerate((1.0, 30.0)):
        lo, hi = s[f"mode {k + 1}"]["T"]["interval_95"]
        assert lo < t1 < hi
    assert res.verdict().startswith("two exponential modes, T = ")
    # the selected K is the largest asked for: said in words
    assert any("K = 2 relaxation modes" in w and "lower bound" in w for w in res.warnings)


def test_one_stretched_exponential_gives_the_stretched_model():
    rng = np.random.default_rng(2)
    y = relaxation_curve(T, [1.0], [5.0], beta=[0.5], offset=0.1) + rng.normal(0, 0.01, T.size)
    res = analyse_relaxation(T, y, kmax=2, quantity="T2", key=jax.random.key(2), **SMALL)
    assert res.noise_estimated   # no sigma given: estimated, no refusal
    assert res.selected == "K1-stretched", [(f.name, f.free_energy) for f in res.fits]
    s = res.parameter_summaries()["mode 1"]
    assert s["beta"]["interval_95"][0] < 0.5 < s["beta"]["interval_95"][1]
    assert s["T2"]["interval_95"][0] < 5.0 < s["T2"]["interval_95"][1]
    assert abs(res.noise_sigma / 0.01 - 1) < 0.2   # n = 60: σ̂ has ~9 % sampling spread
    assert res.verdict().startswith("one stretched exponential, T2 = ") and "β = " in res.verdict()


@pytest.mark.slow   # two candidates, ~3 min on the loaded 2-core machine; benchmarks/relaxation.py covers it too
def test_inversion_recovery_one_mode():
    """20 log-spaced times, σ = 0.01; ``recovery`` fits saturation and inversion and compares them by F."""
    rng = np.random.default_rng(3)
    t = np.geomspace(1e-3, 10.0, 20)
    y = relaxation_curve(t, [1.0], [0.3], experiment="inversion", f=0.98) + rng.normal(0, 0.01, t.size)
    assert choose_experiments(t, y) == ("inversion",)   # what auto would fit: it starts near −M0
    res = analyse_relaxation(t, y, sigma=0.01, kmax=1, experiment="recovery", shapes=("exponential",),
                             key=jax.random.key(4), **SMALL)
    assert res.experiments == ("saturation", "inversion") and res.quantity == "T1"
    assert res.selected == "K1-exponential-inversion", [(f.name, f.free_energy) for f in res.fits]
    s = res.parameter_summaries()
    assert s["mode 1"]["T1"]["interval_95"][0] < 0.3 < s["mode 1"]["T1"]["interval_95"][1]
    f = s["curve"]["inversion efficiency f"]
    assert f["interval_95"][0] < 0.98 < f["interval_95"][1]
    assert "inversion recovery" in res.verdict()
    assert res.time_constant_bounds() == ["interval"]


def test_time_constant_beyond_the_window_is_a_lower_bound():
    """A saturation recovery with T1 = 50 × the last time: the curve is a straight line; T1 is only bounded."""
    rng = np.random.default_rng(5)
    t = np.geomspace(0.1, 10.0, 20)
    y = relaxation_curve(t, [1.0], [500.0], experiment="saturation") + rng.normal(0, 2e-4, t.size)
    res = analyse_relaxation(t, y, sigma=2e-4, kmax=1, experiment="saturation", shapes=("exponential",),
                             key=jax.random.key(6), **SMALL)
    assert res.time_constant_bounds() == ["lower bound"]
    assert "only a lower bound" in res.verdict()
    assert any("only a lower bound" in w for w in res.warnings)


def test_sign_conventions_and_the_sampler_curve():
    t = np.geomspace(0.01, 10.0, 30)
    assert relaxation_curve([0.0], [1.0], [1.0], experiment="inversion", f=1.0)[0] == pytest.approx(-1.0)
    assert relaxation_curve([0.0], [2.0], [1.0], experiment="saturation")[0] == pytest.approx(0.0)
    # the sampler's curve (window amplitude r = M (1 − g(t_max)), units of max|m|) equals the model's
    tr = RelaxationTransform.from_data(t, relaxation_curve(t, [2.0], [0.7], experiment="inversion", f=0.9))
    w = tr.t_ref / 0.7
    for exp, extra in (("inversion", {"f": np.array(0.9)}), ("saturation", {})):
        p = {"amp": np.array([2.0 * (1 - np.exp(-tr.t_max / 0.7)) / tr.sy]), "log_w": np.log(np.array([w])), **extra}
        got = tr.sy * np.asarray(_curve(p, t / tr.t_ref, tr.t_max / tr.t_ref, xp=np))
        assert np.allclose(got, relaxation_curve(t, [2.0], [0.7], experiment=exp, f=0.9), rtol=1e-10)


def test_choose_experiments():
    t = np.geomspace(0.01, 10.0, 30)
    assert choose_experiments(t, np.exp(-t)) == ("decay",)
    assert choose_experiments(t, 1 - np.exp(-t)) == ("saturation",)
    assert choose_experiments(t, 1 - 2 * np.exp(-t)) == ("inversion",)
    assert choose_experiments(t[::-1], (1 - 2 * np.exp(-t))[::-1]) == ("inversion",)  # row order
    assert choose_experiments(t, np.exp(-t), "recovery") == ("saturation", "inversion")
    assert choose_experiments(t, np.exp(-t), "inversion") == ("inversion",)
    with pytest.raises(InputError, match="unknown experiment"):
        choose_experiments(t, np.exp(-t), "echo")


def test_modes_are_relabelled_fastest_first_for_the_diagnostics():
    import jax.numpy as jnp

    from physlaw.measure.relaxation import order_by_rate, relaxation_target

    p = {"amp": jnp.array([0.4, 0.6]), "log_w": jnp.array([-3.0, 0.5]), "beta": jnp.array([0.9, 0.5]),
         "c": jnp.array(0.1)}
    q = order_by_rate(p)
    assert np.allclose(q["log_w"], [0.5, -3.0]) and np.allclose(q["amp"], [0.6, 0.4])
    assert np.allclose(q["beta"], [0.5, 0.9]) and float(q["c"]) == 0.1
    assert relaxation_target(T, np.exp(-T), 0.01, 2, True).relabel_fn is order_by_rate


def test_high_signal_to_noise_curves_sample_with_correlated_moves():
    """``moves="auto"`` (the default): a decay whose noise is below 0.1 % of its range samples with the
    correlated moves (their block-move acceptance is reported) and its σ̂ finds the noise; at 1 % noise
    coordinate moves alone (no block moves), as with ``componentwise``; an unknown ``moves`` is refused."""
    import inspect

    from physlaw.errors import InputError

    assert inspect.signature(analyse_relaxation).parameters["moves"].default == "auto"

    t = np.linspace(0.0, 1.2, 25)
    kw = dict(kmax=1, shapes=("exponential",), experiment="decay", num_samples=200, num_replicas=12, num_chains=2,
              key=jax.random.key(0), progress=False, moves="auto")
    rng = np.random.default_rng(7)
    precise = analyse_relaxation(t, 2.0 * np.exp(-t / 0.3) + rng.normal(0, 5e-4, t.size), **kw)
    assert precise.best.result.diagnostics.block_acceptance_per_replica is not None
    assert abs(precise.noise_sigma / 5e-4 - 1) < 0.5, precise.noise_sigma
    noisy = analyse_relaxation(t, 2.0 * np.exp(-t / 0.3) + rng.normal(0, 0.02, t.size), **kw)
    assert noisy.best.result.diagnostics.block_acceptance_per_replica is None
    assert analyse_relaxation(t, 2.0 * np.exp(-t / 0.3) + rng.normal(0, 2e-6, t.size),
                              **{**kw, "moves": "componentwise"}).best.result.diagnostics.block_acceptance_per_replica is None
    with pytest.raises(InputError, match="moves must be one of"):
        analyse_relaxation(t, 2.0 * np.exp(-t / 0.3), **{**kw, "moves": "bogus"})
