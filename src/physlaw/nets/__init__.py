"""Networks trained on dynamics: the physics-informed family (baseline, NODE2, HNN, DHNN, port-HNN, LNN), autoencoders.

Table of contents
-----------------
Models (Equinox modules, built from JSON-able configs)
    ``_models.py``: ``Baseline``, ``HNN``, ``PortHNN``, ``DAE``, ``AbstractDynamicsModel``, ``make_model``.
    ``_mechanics.py``: ``LNN`` (Lagrangian), ``NODE2`` (second-order neural ODE), ``DHNN`` (dissipative
    HNN), ``SeparableHNN``; ``hessian_report`` (near-singular LNN Hessians), ``parse_angles``.
    ``_graph.py``: ``GraphHNN`` (pairwise ``H`` on the fully connected graph of N bodies; any N).
    ``_vin.py``: ``VIN`` (variational integrator network: learned ``V_θ`` and constant ``M``, Störmer–Verlet
    update, trained on positions only), ``fit_vin``, ``vin_arrays``, ``vin_loss``, ``uniform_step``.
    ``_symoden.py``: ``SymODEN`` (learned ``M⁻¹(q)``, ``V(q)`` and input matrix ``g(q)`` of a system with
    controls, trained on windows of states under the recorded controls), ``energy_shaping_controller``
    (``u = β(q) + v(p)`` from the learned model), ``symoden_arrays``, ``symoden_loss``.
    ``_state.py``: ``(q, p) ↔ (q, q̇)``: ``velocity_dataset``, ``velocities``, ``momenta``.
Integrators
    ``_integrate.py``: ``rollout`` (one function for every model: Yoshida for separable H, implicit
    midpoint for a learned H, RK4 otherwise), ``implicit_midpoint_step``, ``integrate_implicit_midpoint``.
Evidence (which physics prior the data support)
    ``_evidence.py``: ``laplace_evidence``; ``_compare.py``: ``compare_models``, ``MODEL_CLASSES``.
Training (Optax)
    ``TrainConfig``, ``TrainInfo``, ``fit``, ``train``, ``derivative_loss``,
    ``reconstruction_loss``, ``dynamics_arrays``, ``autoencoder_arrays``.
Rollouts and metrics
    ``_metrics.py``: ``derivative_mse``, ``rollout_mse``, ``energy_mse``, ``quantity_drift``,
    ``relative_error``, ``geometric_mean_relative_error``, ``valid_prediction_time``,
    ``evaluate_rollouts``, ``evaluate_on_system``, ``evaluate_panel``.
Files
    ``physlaw.io.save_model``, ``physlaw.io.load_model`` (``eqx.tree_serialise_leaves`` + ``config.json``).

Example:
    >>> import jax
    >>> from physlaw.dynamics import get_system, simulate
    >>> from physlaw.nets import TrainConfig, evaluate_on_system, train
    >>> data = simulate("spring", jax.random.key(0), num_trajectories=50, noise=0.1)
    >>> hnn, info, cfg = train("hnn", data, key=jax.random.key(1), config=TrainConfig(num_steps=200))
    >>> metrics = evaluate_on_system(hnn, get_system("spring"), jax.random.key(2))
    >>> sorted(k for k in metrics if k.endswith("mse"))
    ['derivative_mse', 'energy_mse', 'rollout_mse']
"""

from physlaw.nets._integrate import INTEGRATORS, implicit_midpoint_step, integrate_implicit_midpoint, rollout
from physlaw.nets._metrics import (
    derivative_mse,
    energy_mse,
    evaluate_on_system,
    evaluate_panel,
    evaluate_rollouts,
    geometric_mean_relative_error,
    quantity_drift,
    relative_error,
    rollout_mse,
    valid_prediction_time,
)
from physlaw.nets._models import DAE, HNN, MODELS, AbstractDynamicsModel, Baseline, PortHNN, make_model
from physlaw.nets._graph import GraphHNN  # after _models, which registers it
from physlaw.nets._mechanics import DHNN, LNN, NODE2, SeparableHNN, hessian_report, parse_angles
from physlaw.nets._state import momenta, velocities, velocity_dataset
from physlaw.nets._vin import VIN, fit_vin, uniform_step, vin_arrays, vin_loss
from physlaw.nets._symoden import SymODEN, actuation_rank, energy_shaping_controller, symoden_arrays, symoden_loss
from physlaw.nets._tasks import (
    CONTROL_MODELS, DYNAMICS_MODELS, POSITION_MODELS, VELOCITY_MODELS, autoencoder_arrays, dynamics_arrays, train,
)
from physlaw.nets._train import TrainConfig, TrainInfo, derivative_loss, fit, reconstruction_loss, split_rows

__all__ = [
    "AbstractDynamicsModel", "Baseline", "DAE", "DHNN", "DYNAMICS_MODELS", "GraphHNN", "HNN", "INTEGRATORS", "LNN", "MODELS",
    "NODE2", "POSITION_MODELS", "PortHNN", "SeparableHNN", "TrainConfig", "TrainInfo", "VELOCITY_MODELS", "autoencoder_arrays",
    "derivative_loss", "derivative_mse", "dynamics_arrays", "energy_mse", "evaluate_on_system", "evaluate_panel",
    "evaluate_rollouts", "fit", "geometric_mean_relative_error", "hessian_report", "implicit_midpoint_step",
    "integrate_implicit_midpoint", "make_model", "momenta", "parse_angles", "quantity_drift",
    "reconstruction_loss", "relative_error", "rollout", "rollout_mse", "split_rows", "train",
    "uniform_step", "valid_prediction_time", "velocities", "velocity_dataset", "VIN", "fit_vin", "vin_arrays", "vin_loss",
    "CONTROL_MODELS", "SymODEN", "actuation_rank", "energy_shaping_controller", "symoden_arrays", "symoden_loss",
]
