"""A run started where another ended (``run(start=...)``, ``RunStart.rescaled``): the noise scan's final
run at σ̂ starts from the pilot's replicas at σ0 < σ̂ (the pilot's rung β = (σ0/σ̂)² is the final
run's β = 1). With no burn-in at all its free energy matches the closed form within the run's own
error; the pilot's replicas placed rung for rung without the rescaling do not (negative control)."""

import jax
import numpy as np
import pytest

from physlaw.errors import InputError
from physlaw.measure import linear
from physlaw.sampling import run
from tests.sampling.helpers import agrees

SIGMA0, SIGMA = 0.02, 0.05


@pytest.fixture(scope="module")
def pilot_and_data():
    rng = np.random.default_rng(11)
    x = np.linspace(0.0, 3.0, 25)
    y = 0.2 + 0.5 * x + rng.normal(0, SIGMA, x.size)
    pilot = run(jax.random.key(0), linear.linear_target(x, y, SIGMA0, "ax+b"), num_samples=400,
                num_replicas=16, num_chains=4)
    return x, y, pilot


def test_rescaled_ladder_spans_the_pilots_rungs_up_to_the_power(pilot_and_data):
    _, _, pilot = pilot_and_data
    power = (SIGMA0 / SIGMA) ** 2
    start = pilot.final.rescaled(power)
    assert start.betas.shape == pilot.betas.shape and start.betas[0] == 0 and start.betas[-1] == 1
    assert np.all(np.diff(start.betas) > 0)
    assert start.positions.shape == pilot.final.positions.shape == (4, 16, 2)
    # the top rung's replicas are the pilot's from the rung nearest β = power
    top = np.argmin(np.abs(np.log(pilot.betas[1:]) - np.log(power))) + 1
    assert np.array_equal(start.positions[:, -1], pilot.final.positions[:, top])
    with pytest.raises(ValueError, match="power"):
        pilot.final.rescaled(1.5)


def test_started_run_needs_no_burn_in(pilot_and_data):
    x, y, pilot = pilot_and_data
    target = linear.linear_target(x, y, SIGMA, "ax+b")
    exact = linear.exact_linear(x, y, SIGMA, "ax+b").free_energy
    good = pilot.final.rescaled((SIGMA0 / SIGMA) ** 2)
    res = run(jax.random.key(1), target, start=good, num_burnin=0, num_samples=200, chunk_size=50)
    fe = res.free_energy
    assert agrees(fe.free_energy, fe.free_energy_err, exact), (fe.free_energy, fe.free_energy_err, exact)
    # negative control: no start (prior draws, the initial geometric ladder, untuned steps), no burn-in
    res = run(jax.random.key(1), target, num_replicas=16, num_chains=4, num_burnin=0, num_samples=200,
              chunk_size=50)
    cold = res.free_energy
    assert not agrees(cold.free_energy, fe.free_energy_err, exact), (cold.free_energy, exact)
    assert cold.free_energy_err > 10 * fe.free_energy_err


def test_a_start_of_the_wrong_shape_is_refused(pilot_and_data):
    x, y, pilot = pilot_and_data
    target = linear.linear_target(x, y, SIGMA, "ax+b")
    with pytest.raises(InputError, match="start's replicas have shape"):
        run(jax.random.key(1), target, start=pilot.final, num_chains=2, num_samples=100)
    with pytest.raises(InputError, match="either betas or a start"):
        run(jax.random.key(1), target, start=pilot.final, betas=pilot.betas, num_samples=100)
