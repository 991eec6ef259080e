"""Train a model on a :class:`physlaw.dynamics.Dataset`: arrays, model config, fit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.dynamics import Dataset
from physlaw.errors import InputError
from physlaw.nets._models import make_model
from physlaw.nets._train import TrainConfig, derivative_loss, fit, reconstruction_loss

DYNAMICS_MODELS = ("baseline", "hnn", "port-hnn", "node2", "lnn", "dhnn", "hnn-separable", "graph-hnn")
VELOCITY_MODELS = ("node2", "lnn")
"""Models whose state is ``(q, q̇)``: the dataset is converted by :func:`physlaw.nets._state.velocity_dataset`."""
POSITION_MODELS = ("vin",)
"""Models trained on positions alone (uniform time step): the variational integrator network."""
CONTROL_MODELS = ("symoden",)
"""Models of systems with control inputs (the dataset's ``u``): SymODEN."""
ANGLE_SYSTEMS = ("pendulum", "double-pendulum", "pendulum-chain")
"""Simulated systems whose positions are angles (the LNN/NODE2 embed them as cos/sin by default)."""


def _first_bad(ok: np.ndarray):
    """``(trajectory, time)`` of the first ``False`` in a ``[trajectory, time, ...]`` mask, or ``None``."""
    ok = np.asarray(ok).reshape(ok.shape[0], ok.shape[1], -1).all(axis=-1)
    bad = np.argwhere(~ok)
    return None if bad.size == 0 else (int(bad[0][0]), int(bad[0][1]))


def _square_range(dtype) -> tuple[float, float]:
    """Magnitudes whose squares (summed over many rows) stay normal numbers in ``dtype``."""
    info = jnp.finfo(dtype)
    return float(np.sqrt(float(info.max))) / 1e4, float(np.sqrt(float(info.tiny))) * 1e4


def check_training_data(dataset: Dataset, *, dtype=jnp.float32) -> None:
    """Refuse data a network cannot be trained on, naming the trajectory and time and what to fix.

    The times and states must be finite, and their squares must neither overflow nor underflow in
    ``dtype`` (float32 by default: magnitudes up to about 1e15, states not all below about 1e-15);
    each trajectory's times must increase strictly (a repeated time gives an infinite
    finite-difference quotient and a transition pair of one state with itself).

    Raises:
        InputError: the first offending trajectory and time, with the remedy.
    """
    limit, tiny = _square_range(dtype)
    for name, values in (("times", dataset.t), ("states (q, p)", dataset.x)):
        values = np.asarray(values, dtype=np.float64)
        where = _first_bad(np.isfinite(values))
        if where is not None:
            i, j = where
            raise InputError(f"the {name} of trajectory {i} at time index {j} are nan or inf; remove or repair those "
                             "rows (or the whole trajectory) before training")
        where = _first_bad(np.abs(values) <= limit)
        if where is not None:
            i, j = where
            raise InputError(f"the {name} of trajectory {i} at time index {j} exceed {limit:.3g} in size, so their "
                             f"squares overflow in {jnp.dtype(dtype).name} (the networks' precision); rescale the "
                             "data (other units)")
    largest = float(np.max(np.abs(dataset.x), initial=0.0))
    if 0 < largest < tiny:
        raise InputError(f"the states (q, p) are all below {tiny:.3g} in size (largest {largest:.3g}), so their squares "
                         f"underflow in {jnp.dtype(dtype).name} (the networks' precision); rescale the data (other units)")
    if dataset.num_times > 1:
        steps = np.diff(np.asarray(dataset.t, dtype=np.float64), axis=1)
        bad = np.argwhere(~(steps > 0))
        if bad.size:
            i, j = (int(v) for v in bad[0])
            t0, t1 = dataset.t[i, j], dataset.t[i, j + 1]
            what = "a repeated time" if t0 == t1 else "times that decrease"
            raise InputError(f"trajectory {i} has {what} (t = {t0:g} at time index {j}, then t = {t1:g}): training "
                             "needs strictly increasing times within each trajectory (derivatives and transition "
                             "pairs follow them); remove duplicate rows or sort each trajectory by t")


def dynamics_arrays(dataset: Dataset, dtype=jnp.float32):
    """Rows ``(t, x, ẋ)`` of a dataset: derivatives stored, else finite differences.

    Raises:
        InputError: see :func:`check_training_data`; also when the derivatives are not finite.
    """
    if dataset.p.shape[-1] == 0 or dataset.p.shape[-1] != dataset.q.shape[-1]:
        raise InputError(
            f"dynamics models need positions and momenta of equal dimension; the data have "
            f"{dataset.q.shape[-1]} position and {dataset.p.shape[-1]} momentum columns (choose them with load_dataset(..., q=..., p=...), on the command line --q/--p)"
        )
    stored = dataset.dq is not None and dataset.dp is not None
    check_training_data(dataset, dtype=dtype)
    dx = dataset.derivatives()
    where = _first_bad(np.isfinite(dx) & (np.abs(dx) <= _square_range(dtype)[0]))
    if where is not None:
        i, j = where
        source = "stored derivatives (dq, dp)" if stored else "finite-difference derivatives"
        fix = ("repair or drop them (without dq and dp, derivatives come from finite differences)" if stored
               else "the states change too fast between these times: check the times and units, or rescale")
        raise InputError(f"the {source} of trajectory {i} at time index {j} are nan, inf or over "
                         f"{_square_range(dtype)[0]:.3g} in size ({jnp.dtype(dtype).name} squares overflow); {fix}")
    x = dataset.x
    return tuple(jnp.asarray(a.reshape(-1, *a.shape[2:]), dtype) for a in (dataset.t, x, dx))


def autoencoder_arrays(dataset: Dataset, *, lag: int = 1, dtype=jnp.float32):
    """Rows for the DAE: transition pairs ``(x_t, x_{t+lag})``, or the points of a static manifold.

    Raises:
        InputError: see :func:`check_training_data` (nan, inf or out-of-range states).
    """
    check_training_data(dataset, dtype=dtype)
    rows = dataset.points() if dataset.num_times == 1 else dataset.transition_pairs(lag)
    return jnp.asarray(rows, dtype)


def train(
    kind: str,
    dataset: Dataset,
    *,
    key,
    config: TrainConfig = TrainConfig(),
    model_settings: dict | None = None,
    lag: int = 1,
    progress: bool = False,
    checkpoint_fn=None,
    init_model=None,
):
    """Train a dynamics model (``DYNAMICS_MODELS``) or the ``"dae"`` on a dataset.

    The ``"qv"`` models (``VELOCITY_MODELS``: ``"lnn"``, ``"node2"``) train on ``(q, q̇)``: simulated
    Hamiltonian data are converted (:func:`physlaw.nets._state.velocity_dataset`), other data are taken
    to hold velocities in their ``p`` columns; positions of the pendulum systems are embedded as angles
    unless ``model_settings["angles"]`` says otherwise.

    Dynamics models regress their vector field on ``ẋ`` (:func:`derivative_loss`); SymODEN
    (``CONTROL_MODELS``) predicts windows of recorded states under the recorded controls
    (:func:`physlaw.nets._symoden.symoden_loss`); the VIN
    (``POSITION_MODELS``) uses the positions alone: multi-step rollouts of windows of
    ``model_settings["window"]`` positions (:func:`physlaw.nets._vin.fit_vin`; angles as for the LNN); the DAE
    reconstructs transition pairs (:func:`reconstruction_loss`) with a bottleneck
    ``latent_dim`` (default: the phase-space dimension 2d for pairs — the dimension of the pair
    manifold, one more than on an energy shell — and ``dim − 1`` for static points) and one global
    ``scale`` (the RMS of the data).

    ``checkpoint_fn(model, model_config, step, info)``, if given, is called after every chunk of
    ``config.eval_every`` steps. ``init_model`` (e.g. a loaded checkpoint of the same config)
    replaces the random initialisation; the optimiser state starts afresh.

    Returns:
        ``(model, info, model_config)``; ``make_model(model_config, key=…)`` rebuilds the structure.

    Example:
        >>> import jax
        >>> from physlaw.dynamics import simulate
        >>> ds = simulate("spring", jax.random.key(0), num_trajectories=5, noise=0.1)
        >>> model, info, cfg = train("hnn", ds, key=jax.random.key(1), config=TrainConfig(num_steps=100))
        >>> cfg["model"], cfg["dim"]
        ('hnn', 2)
    """
    settings = dict(model_settings or {})
    k_model, k_fit = jax.random.split(key)
    if kind in VELOCITY_MODELS:
        from physlaw.nets._state import velocity_dataset

        dataset = velocity_dataset(dataset)
        if "angles" not in settings and (dataset.metadata or {}).get("system") in ANGLE_SYSTEMS:
            settings["angles"] = "all"
    if kind == "node2" and settings.get("window"):  # derivatives plus trajectory rollouts (fit_node2)
        from physlaw.nets._mechanics import node2_arrays, parse_angles

        angles = parse_angles(settings.get("angles", ""), dataset.q.shape[-1])
        data = node2_arrays(dataset, window=settings["window"], angles=angles)
        loss = None  # fit_node2 below
        model_config = {"model": kind, "dim": int(data[0].shape[-1]), **settings}
    elif kind in DYNAMICS_MODELS:
        data = dynamics_arrays(dataset)
        loss = derivative_loss
        model_config = {"model": kind, "dim": int(data[1].shape[-1]), **settings}
    elif kind in POSITION_MODELS:
        from physlaw.nets._vin import VIN_WINDOW, vin_arrays

        if "angles" not in settings and (dataset.metadata or {}).get("system") in ANGLE_SYSTEMS:
            settings["angles"] = "all"
        settings.setdefault("window", VIN_WINDOW)
        data = vin_arrays(dataset, window=settings["window"])
        loss = None  # fit_vin below
        model_config = {"model": kind, "dim": 2 * int(data[0].shape[-1]), **settings}
    elif kind in CONTROL_MODELS:
        from physlaw.nets._mechanics import parse_angles
        from physlaw.nets._symoden import SYMODEN_WINDOW, symoden_arrays, symoden_loss

        known = (dataset.metadata or {}).get("angles")
        if "angles" not in settings and isinstance(known, list) and all(isinstance(i, int) for i in known):
            settings["angles"] = ",".join(map(str, known))  # a simulated controlled system says which
        settings.setdefault("window", SYMODEN_WINDOW)
        angles = parse_angles(settings.get("angles", ""), dataset.q.shape[-1])
        data = symoden_arrays(dataset, window=settings["window"], angles=angles)
        loss = symoden_loss
        model_config = {"model": kind, "dim": int(data[0].shape[-1]), "controls": int(data[1].shape[-1]), **settings}
    elif kind == "dae":
        rows = autoencoder_arrays(dataset, lag=lag)
        data = (rows,)
        loss = reconstruction_loss
        default_latent = rows.shape[-1] // 2 if dataset.num_times > 1 else rows.shape[-1] - 1
        settings.setdefault("latent_dim", int(default_latent))
        settings.setdefault("scale", float(jnp.sqrt(jnp.mean(rows**2))))
        model_config = {"model": "dae", "dim": int(rows.shape[-1]), **settings}
    else:
        raise InputError(f"unknown model {kind!r}; choose one of "
                         f"{', '.join(DYNAMICS_MODELS + POSITION_MODELS + CONTROL_MODELS + ('dae',))}")
    model = make_model(model_config, key=k_model) if init_model is None else init_model
    save = None if checkpoint_fn is None else (lambda m, step, info: checkpoint_fn(m, model_config, step, info))
    if kind in POSITION_MODELS:
        from physlaw.nets._vin import fit_vin

        model, info = fit_vin(model, data, key=k_fit, config=config, progress=progress, checkpoint_fn=save)
    elif loss is None:
        from physlaw.nets._mechanics import fit_node2

        model, info = fit_node2(model, data, key=k_fit, config=config, progress=progress, checkpoint_fn=save)
    else:
        model, info = fit(model, loss, data, key=k_fit, config=config, progress=progress, checkpoint_fn=save)
    if not np.isfinite(info.history[-1][1]):  # the data were checked above: the optimisation itself diverged
        raise InputError(f"training diverged (loss {info.history[-1][1]}) although the data are finite; lower the "
                         f"learning rate (it is {config.learning_rate:g})")
    return model, info, model_config
