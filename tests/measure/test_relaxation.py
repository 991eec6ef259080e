"""NMR relaxation: two exponentials select K = 2 exponential, one stretched exponential selects the
stretched model; the verdict sentence names them; T1 values inside their intervals."""

import jax
import numpy as np

from physlaw.measure.relaxation import analyse_relaxation, relaxation_curve

T = np.geomspace(0.01, 300.0, 60)
SMALL = dict(num_samples=800, num_burnin=800, num_replicas=16, num_chains=2, progress=False)


def test_two_exponentials_give_two_exponential_modes():
    rng = np.random.default_rng(1)
    y = relaxation_curve(T, [0.6, 0.4], [1.0, 30.0]) + rng.normal(0, 0.01, T.size)
    res = analyse_relaxation(T, y, sigma=0.01, kmax=2, key=jax.random.key(1), **SMALL)
    assert res.selected == "K2-exponential", [(f.name, f.free_energy) for f in res.fits]
    assert res.best.probability > 0.9
    s = res.parameter_summaries()
    for k, t1 in enumerate((1.0, 30.0)):
        lo, hi = s[f"mode {k + 1}"]["T1"]["interval_95"]
        assert lo < t1 < hi
    assert res.verdict().startswith("two exponential modes, T1 = ")


def test_one_stretched_exponential_gives_the_stretched_model():
    rng = np.random.default_rng(2)
    y = relaxation_curve(T, [1.0], [5.0], beta=[0.5], offset=0.1) + rng.normal(0, 0.01, T.size)
    res = analyse_relaxation(T, y, estimate_noise=True, kmax=2, key=jax.random.key(2), **SMALL)
    assert res.selected == "K1-stretched", [(f.name, f.free_energy) for f in res.fits]
    s = res.parameter_summaries()["mode 1"]
    assert s["beta"]["interval_95"][0] < 0.5 < s["beta"]["interval_95"][1]
    assert s["T1"]["interval_95"][0] < 5.0 < s["T1"]["interval_95"][1]
    assert abs(res.noise_sigma / 0.01 - 1) < 0.2   # n = 60: σ̂ has ~9 % sampling spread
    assert res.verdict().startswith("one stretched exponential, T1 = ") and "β = " in res.verdict()


def test_modes_are_relabelled_fastest_first_for_the_diagnostics():
    import jax.numpy as jnp

    from physlaw.measure.relaxation import order_by_rate, relaxation_target

    p = {"amp": jnp.array([0.4, 0.6]), "log_w": jnp.array([-3.0, 0.5]), "beta": jnp.array([0.9, 0.5]),
         "c": jnp.array(0.1)}
    q = order_by_rate(p)
    assert np.allclose(q["log_w"], [0.5, -3.0]) and np.allclose(q["amp"], [0.6, 0.4])
    assert np.allclose(q["beta"], [0.5, 0.9]) and float(q["c"]) == 0.1
    assert relaxation_target(T, np.exp(-T), 0.01, 2, True).relabel_fn is order_by_rate
