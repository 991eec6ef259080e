"""Networks trained on dynamics: baseline MLP, Hamiltonian and port-Hamiltonian networks, autoencoders.

Table of contents
-----------------
Models (Equinox modules, built from JSON-able configs)
    ``Baseline``, ``HNN``, ``PortHNN``, ``DAE``, ``AbstractDynamicsModel``, ``make_model``.
Training (Optax)
    ``TrainConfig``, ``TrainInfo``, ``fit``, ``train``, ``derivative_loss``,
    ``reconstruction_loss``, ``dynamics_arrays``, ``autoencoder_arrays``.
Rollouts and metrics
    ``rollout``, ``derivative_mse``, ``rollout_mse``, ``energy_mse``, ``quantity_drift``,
    ``evaluate_rollouts``, ``evaluate_on_system``.
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

from physlaw.nets._metrics import (
    derivative_mse,
    energy_mse,
    evaluate_on_system,
    evaluate_rollouts,
    quantity_drift,
    rollout,
    rollout_mse,
)
from physlaw.nets._models import DAE, HNN, MODELS, AbstractDynamicsModel, Baseline, PortHNN, make_model
from physlaw.nets._tasks import DYNAMICS_MODELS, autoencoder_arrays, dynamics_arrays, train
from physlaw.nets._train import TrainConfig, TrainInfo, derivative_loss, fit, reconstruction_loss, split_rows

__all__ = [
    "AbstractDynamicsModel", "Baseline", "DAE", "DYNAMICS_MODELS", "HNN", "MODELS", "PortHNN", "TrainConfig",
    "TrainInfo", "autoencoder_arrays", "derivative_loss", "derivative_mse", "dynamics_arrays", "energy_mse",
    "evaluate_on_system", "evaluate_rollouts", "fit", "make_model", "quantity_drift",
    "reconstruction_loss", "rollout", "rollout_mse", "split_rows", "train",
]
