"""Exchange Monte Carlo (replica exchange) in JAX, with Bayesian free energies.

Table of contents:
    Target, Incremental      the model: log-prior, log-likelihood, prior sampler (+ O(n) updates;
    LinearPart               + a Gaussian likelihood's linear parameters, for moves="correlated")
    run, ExchangeResult      the driver: burn-in with adaptation, chunks, checkpoints, progress; optional
                             target precision of F (``precision=``), chains over devices, float32;
                             RunStart: where a run ended, to start another (``start=``)
    least_squares_point      the least-squares point of a target with a linear part (variable projection),
                             where very precise data's replicas start (``init=``)
    _driver                  its phases: RunConfig, RunState (= the checkpoint), tune → sample → estimate;
                             out_of_the_race: a ``stop_early`` for model comparison
    _programs                the compiled programs (one chunk program per model structure), chains over devices
    Checkpoint, Progress     the driver's hooks (protocols): where state is kept, who hears of progress
    Diagnostics              the typed record of a run's mixing (swap rates, round trips, R-hat, ESS)
    init, step               one chain's pure kernel (ExchangeState, ExchangeParams, ExchangeInfo)
    free_energy, FreeEnergy  stepping stone (forward, reverse, two-sided) and thermodynamic integration
    initial_ladder, respace_ladder   the inverse-temperature ladder
    SortComponents           the relabelling of exchangeable components (one draw in JAX, many in NumPy)
    to_device, ravel_structure, split_keys   host-side helpers that compile no eager program (cold-start latency)
"""

from physlaw.sampling._diagnostics import Diagnostics
from physlaw.sampling._driver import RunConfig, RunState, out_of_the_race
from physlaw.sampling._free_energy import FreeEnergy, free_energy
from physlaw.sampling._hooks import Checkpoint, CheckpointFactory, Progress, as_progress
from physlaw.sampling._kernel import (
    ExchangeInfo,
    ExchangeParams,
    ExchangeState,
    exchange_log_ratio,
    init,
    step,
)
from physlaw.sampling._ladder import communication_barrier, first_beta, initial_ladder, respace_ladder
from physlaw.sampling._optimum import LeastSquaresPoint, least_squares_point
from physlaw.sampling._run import ExchangeResult, RunStart, run
from physlaw.sampling._target import (
    Incremental, LinearPart, PhyslawWarning, SortComponents, Target, check_prior, flatten_target, ravel_structure, split_keys, to_device)

__all__ = [
    "as_progress",
    "Checkpoint", "CheckpointFactory", "Diagnostics", "ExchangeInfo", "ExchangeParams", "ExchangeResult",
    "ExchangeState", "FreeEnergy", "Incremental", "LeastSquaresPoint", "LinearPart", "least_squares_point",
    "PhyslawWarning", "Progress", "Target", "check_prior", "communication_barrier", "exchange_log_ratio",
    "first_beta", "flatten_target", "free_energy", "init", "initial_ladder", "out_of_the_race", "respace_ladder",
    "ravel_structure", "run", "RunConfig", "RunStart", "RunState", "SortComponents", "split_keys", "step", "to_device",
]
