"""Which physics prior do the data support? Train the family on one split and weigh it by evidence.

:func:`compare_models` trains every requested model on the same training rows, scores each by the
last-layer Laplace log evidence (:mod:`physlaw.nets._evidence`), turns the scores into posterior
model probabilities ``p(model | D) ∝ exp(log Z)`` (uniform prior over the models), sums them per
physics class (``MODEL_CLASSES``: conservative, dissipative, unstructured) and rolls every model out
on the held-out part of the data.

All models see the same state and targets: positions and velocities ``(q, q̇)`` with derivatives
``(q̇, q̈)`` (:func:`physlaw.nets.velocity_dataset`: simulated Hamiltonian data are converted, other
data are taken to hold velocities in their ``p`` columns). A constant-mass Hamiltonian system is
still Hamiltonian in ``(q, q̇)`` (``H/m``), so the HNN family is not put at a disadvantage there.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.dynamics import Dataset
from physlaw.errors import InputError
from physlaw.nets._evidence import laplace_evidence
from physlaw.nets._integrate import rollout
from physlaw.nets._metrics import geometric_mean_relative_error, valid_prediction_time
from physlaw.nets._models import make_model
from physlaw.nets._state import momenta, system_of, velocity_dataset
from physlaw.nets._tasks import ANGLE_SYSTEMS, dynamics_arrays
from physlaw.nets._train import TrainConfig, derivative_loss, fit

MODEL_CLASSES = {
    "hnn": "conservative", "hnn-separable": "conservative", "lnn": "conservative",
    "dhnn": "dissipative", "port-hnn": "dissipative",
    "baseline": "unstructured", "node2": "unstructured",
}
"""The physics prior each model builds in: a conserved energy, energy loss, or none."""
DEFAULT_MODELS = ("baseline", "node2", "hnn", "dhnn", "port-hnn", "lnn")
DECISIVE = 0.9
"""Class probability above which the comparison names a winner; below it the data cannot tell."""


def split_dataset(dataset: Dataset, holdout: float = 0.2):
    """``(train, test, how)``: whole trajectories held out when there are at least 4, else the last
    ``holdout`` fraction of every trajectory's times (a real recording of one or two trials)."""
    n, nt = dataset.num_trajectories, dataset.num_times

    def take(tr, ti):
        return Dataset(dataset.q[tr][:, ti], dataset.p[tr][:, ti], dataset.t[tr][:, ti], dataset.coordinate_names,
                       dataset.metadata, None if dataset.dq is None else dataset.dq[tr][:, ti],
                       None if dataset.dp is None else dataset.dp[tr][:, ti])

    if n >= 4:
        k = max(1, int(round(holdout * n)))
        return take(slice(0, n - k), slice(None)), take(slice(n - k, n), slice(None)), f"last {k} of {n} trajectories"
    k = max(3, int(round(holdout * nt)))
    if nt - k < 3:
        raise InputError(f"{nt} times per trajectory are too few to hold out a test segment; give longer trajectories")
    return (take(slice(None), slice(0, nt - k)), take(slice(None), slice(nt - k, nt)),
            f"last {k} of {nt} times of each of the {n} trajectories")


def rescale_time(dataset: Dataset, tau: float) -> Dataset:
    """The ``(q, q̇)`` dataset in the time unit ``τ``: ``t' = t/τ``, ``q̇' = τ q̇``, ``q̈' = τ² q̈``.

    A change of time unit maps a conservative system to a conservative one and a damped one to a damped
    one, so the comparison is unchanged; it only brings derivatives of order 100 (a filmed double
    pendulum: q̈ up to ~150 rad/s²) to order 1, where networks with unit-scale initial weights train.
    """
    dq = None if dataset.dq is None else dataset.dq * tau
    dp = None if dataset.dp is None else dataset.dp * tau**2
    meta = {**(dataset.metadata or {}), "time_unit": tau}
    return Dataset(dataset.q, dataset.p * tau, dataset.t / tau, dataset.coordinate_names, meta, dq, dp)


def auto_time_scale(dataset: Dataset) -> float:
    """``τ = rms q̇ / rms q̈`` (``q̈`` stored or by finite differences): then ``q̇' = τ q̇`` and ``q̈' = τ² q̈``
    have the same size. (Velocities rather than positions: unwrapped angles can grow without bound.)"""
    acc = dataset.derivatives()[..., dataset.q.shape[-1]:]
    rv = float(np.sqrt(np.mean(np.asarray(dataset.p, np.float64) ** 2)))
    ra = float(np.sqrt(np.mean(np.asarray(acc, np.float64) ** 2)))
    if not (rv > 0 and ra > 0 and np.isfinite(rv) and np.isfinite(ra)):
        return 1.0
    return rv / ra


def energy_function(dataset: Dataset):
    """The true energy ``E(q, q̇)`` of a simulated dataset in velocity coordinates, or ``None``."""
    system = system_of(dataset)
    meta = dataset.metadata or {}
    if system is not None:
        return lambda y: system.energy(momenta(system, y))
    if meta.get("system") == "damped-oscillator":
        params = meta.get("parameters") or {}
        m, k = float(params.get("m", 1.0)), float(params.get("k", params.get("omega", 1.0) ** 2))
        return lambda y: 0.5 * m * jnp.sum(y[y.shape[-1] // 2:] ** 2) + 0.5 * k * jnp.sum(y[:y.shape[-1] // 2] ** 2)
    return None


def physics_verdict(kinds, log_z) -> dict:
    """Conservative versus dissipative: posterior class probabilities among the structured models only.

    ``p(class | D, a physics prior holds) = Σ_{m ∈ class} Z_m / Σ_{m structured} Z_m``. The unstructured
    models (baseline, NODE2) are left out of this question — they can fit either kind of data — and
    reported beside it. ``decisive`` when the larger class probability exceeds ``DECISIVE`` (0.9).
    """
    log_z = np.asarray(log_z, np.float64)
    idx = [i for i, k in enumerate(kinds) if MODEL_CLASSES[k] in ("conservative", "dissipative") and np.isfinite(log_z[i])]
    present = {MODEL_CLASSES[kinds[i]] for i in idx}
    if len(present) < 2:
        return {"probabilities": {}, "winner": None, "decisive": False, "log_evidence_gap": None}
    z = log_z[idx] - np.max(log_z[idx])
    w = np.exp(z) / np.sum(np.exp(z))
    probs = {"conservative": 0.0, "dissipative": 0.0}
    best = {"conservative": -np.inf, "dissipative": -np.inf}
    for i, wi in zip(idx, w):
        c = MODEL_CLASSES[kinds[i]]
        probs[c] += float(wi)
        best[c] = max(best[c], float(log_z[i]))
    winner = max(probs, key=probs.get)
    return {"probabilities": probs, "winner": winner, "decisive": bool(probs[winner] > DECISIVE),
            "log_evidence_gap": float(abs(best["conservative"] - best["dissipative"]))}


def compare_models(dataset: Dataset, kinds=DEFAULT_MODELS, *, key, config: TrainConfig = TrainConfig(),
                   settings: dict | None = None, holdout: float = 0.2, angles: str | None = None,
                   evidence_rows: int = 1500, substeps: int = 10, time_scale="auto", progress_fn=None) -> dict:
    """Train ``kinds`` on the same split of ``dataset`` and weigh them by last-layer Laplace evidence.

    Args:
        dataset: trajectories (positions and velocities or momenta, see the module docstring).
        kinds: model names from ``MODEL_CLASSES``.
        key: PRNG key (one per model is folded in, so each model's initialisation is reproducible).
        config: training settings (``validation_fraction`` is ignored: the split is :func:`split_dataset`'s).
        settings: network settings shared by all models (``width``, ``depth``, ``activation``).
        holdout: fraction of the data held out (trajectories or trailing times).
        angles: position indices embedded as cos/sin by the LNN and NODE2 (default: all for the
            simulated pendulums, none otherwise).
        evidence_rows: training rows (evenly spaced) used for the evidence of every model.
        substeps: integrator steps per recorded step in the held-out rollouts.
        time_scale: ``"auto"`` (:func:`auto_time_scale`, used when it is below 0.5 or above 2), a
            number ``τ`` (:func:`rescale_time`), or ``None`` for the data's own time unit. Errors and
            energies are then in that unit (``result["time_unit"]``); the evidence ranking is unaffected.
        progress_fn: called as ``progress_fn(kind, i, n)`` before each model trains.

    Returns:
        ``{"models": {kind: {...}}, "classes": {class: p over all models}, "physics":
        :func:`physics_verdict`, "verdict", "decisive", "best_model", "split", "state",
        "models_objects": {kind: (model, config, held-out rollout)}, "test_times", "test_true"}``.
    """
    kinds = list(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in MODEL_CLASSES]
    if unknown or not kinds:
        raise InputError(f"unknown model(s) {unknown} for compare; choose from {', '.join(MODEL_CLASSES)}")
    if not 0 < holdout < 1:
        raise InputError(f"holdout must be in (0, 1), got {holdout}")
    data = velocity_dataset(dataset)
    energy_fn = energy_function(data)
    tau = 1.0
    if time_scale == "auto":
        tau = auto_time_scale(data)
        tau = tau if not 0.5 <= tau <= 2.0 else 1.0
    elif time_scale is not None:
        tau = float(time_scale)
    if tau != 1.0:
        data = rescale_time(data, tau)
        if energy_fn is not None:  # E(q, q̇) in the new unit: E' = τ² E(q, q̇'/τ)
            e0 = energy_fn
            energy_fn = lambda y: tau**2 * e0(jnp.concatenate([y[:y.shape[-1] // 2], y[y.shape[-1] // 2:] / tau]))  # noqa: E731
    train_ds, test_ds, how = split_dataset(data, holdout)
    t_tr, x_tr, dx_tr = dynamics_arrays(train_ds)
    t_te, x_te, dx_te = dynamics_arrays(test_ds)
    if angles is None:
        angles = "all" if (data.metadata or {}).get("system") in ANGLE_SYSTEMS else ""
    base = dict(settings or {})
    cfg = config._replace(validation_fraction=0.0, patience=None)
    test_true = np.asarray(test_ds.x)
    test_t = np.asarray(test_ds.t[0])
    dt = float(np.median(np.diff(test_t)))
    results, objects = {}, {}
    for i, kind in enumerate(kinds):
        if progress_fn is not None:
            progress_fn(kind, i, len(kinds))
        model_config = {"model": kind, "dim": int(x_tr.shape[-1]), **base}
        if kind in ("lnn", "node2") and angles:
            model_config["angles"] = angles
        k_model, k_fit = jax.random.split(jax.random.fold_in(key, i))
        model = make_model(model_config, key=k_model)
        start = time.perf_counter()
        model, info = fit(model, derivative_loss, (t_tr, x_tr, dx_tr), key=k_fit, config=cfg)
        wall = time.perf_counter() - start
        ev = laplace_evidence(model, kind, t_tr, x_tr, dx_tr, max_rows=evidence_rows)
        val_mse = float(jnp.mean((jax.vmap(model.vector_field)(t_te, x_te) - dx_te) ** 2))
        pred = np.asarray(rollout(model, jnp.asarray(test_true[:, 0], jnp.float32), dt, test_true.shape[1],
                                  substeps=substeps, t0=float(test_t[0])))
        entry = {
            "class": MODEL_CLASSES[kind], "config": model_config, "train_loss": float(info.history[-1][1]),
            "train_seconds": wall, "train_cpu_seconds": info.cpu_time, "evidence": ev,
            "log_evidence": ev["log_evidence"], "validation_derivative_mse": val_mse,
            "rollout_mse": float(np.mean((pred - test_true) ** 2)) if np.all(np.isfinite(pred)) else None,
            "gm_relative_error": geometric_mean_relative_error(pred, test_true),
            "valid_prediction_time": valid_prediction_time(pred, test_true, test_t),
            "energy_mse": None,
        }
        if energy_fn is not None and np.all(np.isfinite(pred)):
            e = jax.jit(jax.vmap(jax.vmap(energy_fn)))
            entry["energy_mse"] = float(jnp.mean((e(jnp.asarray(pred)) - e(jnp.asarray(test_true))) ** 2))
        if kind == "lnn":
            from physlaw.nets._mechanics import hessian_report

            entry["hessian"] = hessian_report(model, x_tr)
        results[kind] = entry
        objects[kind] = (model, model_config, pred)
    log_z = np.array([results[k]["log_evidence"] for k in kinds], np.float64)
    finite = np.isfinite(log_z)
    post = np.zeros_like(log_z)
    if finite.any():
        z = log_z[finite] - np.max(log_z[finite])
        post[finite] = np.exp(z) / np.sum(np.exp(z))
    for k, p in zip(kinds, post):
        results[k]["p_model"] = float(p)
    classes: dict[str, float] = {}
    for k, p in zip(kinds, post):
        classes[results[k]["class"]] = classes.get(results[k]["class"], 0.0) + float(p)
    best_model = kinds[int(np.argmax(np.where(finite, log_z, -np.inf)))]
    physics = physics_verdict(kinds, log_z)
    best_class = max(classes, key=classes.get)
    if physics["decisive"]:
        verdict = (f"the data support a {physics['winner']} model: p({physics['winner']} | D, physics prior) = "
                   f"{physics['probabilities'][physics['winner']]:.3g}")
    elif physics["winner"] is None:
        verdict = "no physics prior to weigh: give at least one conservative and one dissipative model"
    else:
        verdict = ("the data cannot tell a conservative from a dissipative model: "
                   + ", ".join(f"p({c} | D, physics prior) = {p:.3g}" for c, p in physics["probabilities"].items())
                   + f" (neither above {DECISIVE})")
    if results[best_model]["class"] == "unstructured":
        verdict += f"; an unstructured model ({best_model}) has the highest evidence of all"
    decisive = physics["decisive"]
    gap = physics["log_evidence_gap"]
    return {"models": results, "classes": classes, "physics": physics, "best_class": best_class, "best_model": best_model,
            "decisive": bool(decisive), "verdict": verdict, "log_evidence_gap_between_classes": gap,
            "split": how, "state": "(q, q')", "num_train_rows": int(len(x_tr)), "num_test_rows": int(len(x_te)),
            "energy_known": energy_fn is not None, "dt": dt, "time_unit": tau, "models_objects": objects,
            "test_times": test_t, "test_true": test_true}

