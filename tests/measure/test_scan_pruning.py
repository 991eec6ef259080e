"""The K scan's pruning of model families (``selection.scan``), with the runs replaced by a table of F.

A family far behind at its first K must not be dropped: two exponential modes lose to one stretched
exponential by 1360 nat at K = 1 and win at K = 2 (seen on a simulated two-mode decay). A family far
behind after two K is dropped, unless its second component gained more than the gap (then once more).
"""

from types import SimpleNamespace

import jax
import pytest

from physlaw.measure import selection
from physlaw.measure.selection import Candidate, scan

TABLE = {  # family -> F (nat) at K = 1, 2, ...
    "exponential": [1501.9, -110.0, -106.0, -103.0, -100.0, -97.0],
    "stretched": [141.9, -98.3, -96.0, -95.0, -93.0, -91.0],
    "hopeless": [900.0, 880.0, 870.0, 860.0, 850.0, 840.0],
}


@pytest.fixture
def runs(monkeypatch):
    done = []

    def fake_fit(self, cand, key):
        done.append(cand.name)
        f = TABLE[cand.info["family"]][cand.info["K"] - 1]
        return SimpleNamespace(name=cand.name, info=cand.info, free_energy=f, free_energy_err=0.1,
                               result=SimpleNamespace(warnings=[]), noise=None, noise_sigma=0.01)

    monkeypatch.setattr(selection._Runner, "fit", fake_fit)
    return done


def _candidates(k):
    return [Candidate(f"K{k}-{fam}", {"family": fam}, None, needs_noise=False) for fam in TABLE if fam != "asym"]


@pytest.mark.parametrize("kmax", [None, 4])
def test_a_family_behind_at_its_first_k_is_kept(runs, kmax):
    sel = scan(_candidates, kmax=kmax, limit=6, num_points=10, sigma=0.01, key=jax.random.key(0))
    assert sel.selected == "K2-exponential"
    assert "K2-hopeless" in runs and "K3-hopeless" not in runs   # dropped after two K, not before
    if kmax is None:   # the growing scan stops once every family has passed its minimum
        assert "K4-exponential" in runs and "K5-exponential" not in runs
    else:
        assert "K4-exponential" in runs and "K4-stretched" in runs


def test_a_family_still_gaining_more_than_its_gap_is_kept(runs):
    """Negative control of the gain rule: 210 nat behind at K = 2 like a hopeless family, but its second
    component gained 1900 nat: it is run at K = 3, where it wins."""
    TABLE["fast"] = [2000.0, 100.0, -200.0, -190.0, -185.0, -180.0]
    try:
        sel = scan(_candidates, limit=6, num_points=10, sigma=0.01, key=jax.random.key(0))
    finally:
        del TABLE["fast"]
    assert sel.selected == "K3-fast" and "K3-fast" in runs


def test_the_gain_exemption_is_given_once(runs):
    """A family that keeps gaining but stays far behind (broad peaks filling the gaps between absorption
    dips) gets a third K, not more."""
    TABLE["filler"] = [3000.0, 500.0, 100.0, -60.0, -80.0, -90.0]   # K = 3: 210 behind, gained 400
    try:
        sel = scan(_candidates, limit=6, num_points=10, sigma=0.01, key=jax.random.key(0))
    finally:
        del TABLE["filler"]
    assert sel.selected == "K2-exponential"
    assert "K3-filler" in runs and "K4-filler" not in runs


@pytest.mark.parametrize("parent_f1,tried", [(-50.0, True), (200.0, False)])
def test_a_family_extending_another_joins_only_beside_it(runs, parent_f1, tried):
    """An extension (the asymmetric line of a symmetric family, ``joins_after``) runs at its first K only
    when its parent is then within the pruning margin of the best: beside a parent in the race it runs
    and can win; beside a parent 300 nat behind it is never tried (the negative control)."""
    TABLE["sym"] = [parent_f1, -60.0, -55.0, -50.0, -45.0, -40.0]
    TABLE["asym"] = [parent_f1 - 20.0, -130.0, -125.0, -120.0, -115.0, -110.0]

    def cands(k):
        return [*_candidates(k), Candidate(f"K{k}-asym", {"family": "asym", "joins_after": "sym"}, None, False)]

    try:
        sel = scan(cands, limit=6, num_points=10, sigma=0.01, key=jax.random.key(0))
    finally:
        del TABLE["sym"], TABLE["asym"]
    assert ("K1-asym" in runs) == tried
    assert runs.index("K1-sym") < (runs.index("K1-asym") if tried else len(runs))
    assert sel.selected == ("K2-asym" if tried else "K2-exponential")


def test_evidence_words_read_the_gap_with_its_error():
    """The verdict's words follow ΔF − 2 err on Jeffreys' scale; an F error wide enough turns a
    decisive-looking gap into "cannot decide" (the words cannot be read off ΔF alone)."""
    from types import SimpleNamespace as F

    from physlaw.measure.selection import evidence_words

    best = F(free_energy=100.0, free_energy_err=0.1)
    assert evidence_words(best, F(free_energy=100.5, free_energy_err=0.1), "K = 2").startswith("the data cannot decide")
    assert evidence_words(best, F(free_energy=102.5, free_energy_err=0.1), "K = 2").startswith("a weak preference")
    assert evidence_words(best, F(free_energy=104.5, free_energy_err=0.1), "K = 2").startswith("strong evidence")
    assert evidence_words(best, F(free_energy=110.0, free_energy_err=0.1), "K = 2").startswith("decisive evidence over K = 2")
    assert evidence_words(best, F(free_energy=110.0, free_energy_err=5.0), "K = 2").startswith("the data cannot decide")


def test_without_a_precision_a_model_out_of_the_race_stops_at_a_quarter():
    """Fixed-length selections race too: a model many errors behind the best so far stops at a quarter
    of the sweeps (at least 500; here half of 1000), while the best runs exactly the fixed-length run (the same draws as
    ``run`` alone with its key: the checks do not touch the chunks' keys)."""
    import numpy as np

    from physlaw.measure import linear
    from physlaw.sampling import run

    x = np.linspace(0.0, 3.0, 25)
    y = 0.5 * x + 1.0 + np.random.default_rng(0).normal(0, 0.05, x.size)
    cands = linear.candidates(x, y, ("ax+b", "ax"))   # ax (no offset) is hundreds of nat behind
    key = jax.random.key(4)
    sel = selection.select(cands, num_points=x.size, sigma=0.05, key=key, num_samples=1000, num_replicas=8,
                           num_chains=2)
    good, bad = sel.fit("ax+b"), sel.fit("ax")
    assert bad.free_energy - good.free_energy > 100
    assert bad.result.diagnostics.stop_reason == "stopped early" and bad.result.samples.shape[1] == 500
    assert good.result.samples.shape[1] == 1000
    alone = cands[0].finish(run(jax.random.split(jax.random.fold_in(key, 0))[1], cands[0].make_target(0.05),
                                num_samples=1000, num_replicas=8, num_chains=2))
    assert alone.diagnostics.stop_reason == "fixed length"
    assert np.array_equal(good.result.samples, alone.samples)   # the winner's run is the fixed-length run
    assert good.free_energy == alone.free_energy.free_energy


def test_a_selected_k_at_the_scan_limit_is_only_a_lower_bound_in_the_verdict(monkeypatch):
    """F still falling at the scan's limit: the warning, and the verdict's caveat (the real XPS C 1s: K = 8 of 8).
    Control: a minimum inside the range gives neither."""
    for table, at_edge in (([0.0, -10.0, -20.0, -30.0], True), ([0.0, -10.0, -5.0, -1.0], False)):
        def fake_fit(self, cand, key, table=table):
            return SimpleNamespace(name=cand.name, info=cand.info, free_energy=table[cand.info["K"] - 1],
                                   free_energy_err=0.1, result=SimpleNamespace(warnings=[]), noise=None,
                                   noise_sigma=0.01)

        monkeypatch.setattr(selection._Runner, "fit", fake_fit)
        sel = scan(lambda k: [Candidate(f"K{k}", {"family": "f"}, None, needs_noise=False)], limit=4,
                   num_points=10, sigma=0.01, key=jax.random.key(0))
        assert (sel.best.info["K"] == 4) == at_edge
        assert any(w.startswith(selection.EDGE_WARNING) for w in sel.warnings) == at_edge
        assert ("K IS ONLY A LOWER BOUND" in sel.caveat()) == at_edge


def test_the_leading_family_runs_first_and_keys_follow_the_position(monkeypatch):
    """From the second K on, the family with the lowest F at the last K runs first (so that the others
    can be judged out of the race against it); each candidate's key and the order of the results are
    those of its position, whatever order the runs took."""
    calls = []

    def fake_fit(self, cand, key):
        calls.append((cand.name, tuple(int(v) for v in jax.random.key_data(key).ravel())))
        f = TABLE[cand.info["family"]][cand.info["K"] - 1]
        return SimpleNamespace(name=cand.name, info=cand.info, free_energy=f, free_energy_err=0.1,
                               result=SimpleNamespace(warnings=[]), noise=None, noise_sigma=0.01)

    monkeypatch.setattr(selection._Runner, "fit", fake_fit)
    key = jax.random.key(0)
    sel = scan(_candidates, limit=3, num_points=10, sigma=0.01, key=key)
    order = [name for name, _ in calls]
    # K = 1 in the candidates' order; K = 2: stretched (141.9) before hopeless (900) before exponential (1501.9)
    assert order[:3] == ["K1-exponential", "K1-stretched", "K1-hopeless"]
    assert order[3:6] == ["K2-stretched", "K2-hopeless", "K2-exponential"]
    # K = 3: exponential (-110) first; hopeless was dropped after two K
    assert order[6:] == ["K3-exponential", "K3-stretched"]
    positions = {c.name: i for k in (1, 2, 3) for i, c in enumerate(_candidates(k))}
    for name, kd in calls:
        k = int(name[1])
        want = jax.random.fold_in(jax.random.fold_in(key, 1000 + k), positions[name])
        assert kd == tuple(int(v) for v in jax.random.key_data(want).ravel())
    assert [f.name for f in sel.fits][:6] == ["K1-exponential", "K1-stretched", "K1-hopeless",
                                             "K2-exponential", "K2-stretched", "K2-hopeless"]
