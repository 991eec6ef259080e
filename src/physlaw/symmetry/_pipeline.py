"""One call from a trajectory dataset to conserved quantities, by any of the four routes.

* ``group`` — Mototake's method: train an autoencoder on transition pairs, sample the invariant
  maps of a family by exchange Monte Carlo over σ' (method 1), fit the group relations by BIC and
  ODR, differentiate at the identity, Noether charge (method 2).
* ``lie`` — the same autoencoder, then the Lie algebra directly as a null space (seconds).
* ``hnn`` — train a Hamiltonian network; conserved quantities in a function library from
  ``{G, H} = 0`` (nonlinear laws), and the family's linear symmetries from ``∇H · K x = 0``.
* ``library`` — no network: ``dG/dt = ∇G · ẋ = 0`` with finite-difference velocities (the baseline).
"""

from __future__ import annotations

import dataclasses
import time

import jax
import numpy as np

from physlaw.dynamics import Dataset
from physlaw.errors import InputError
from physlaw.sampling import Checkpoint, Progress
from physlaw.symmetry._baseline import trajectory_laws
from physlaw.symmetry._families import Family, make_family
from physlaw.symmetry._group import GroupSamples, sample_group
from physlaw.symmetry._hnn import hnn_laws, hnn_symmetries
from physlaw.symmetry._laws import Discovery
from physlaw.symmetry._library import FunctionLibrary
from physlaw.symmetry._lie import lie_algebra
from physlaw.symmetry._relations import MAX_PARAMS, GroupFit, fit_relations, group_laws

METHODS = ("group", "lie", "hnn", "library")


@dataclasses.dataclass
class Conservation:
    """Everything a conservation run produced (the CLI writes it; figures are drawn from it).

    Attributes:
        discovery: the route's laws, count, evidence and message.
        family: the transformation family (group, lie, hnn routes), else None.
        library: the function library (hnn, library routes), else None.
        group: method 1's samples over σ' (group route), else None.
        fit: method 2's relations and generators (group route, when a σ' was chosen), else None.
        symmetries: the HNN route's linear symmetries in the family (its laws are the library's).
        model, model_config, train_info: the trained network (None for the library route).
        timings: seconds per stage.
        settings: the options used (JSON-able).
    """

    discovery: Discovery
    family: Family | None = None
    library: FunctionLibrary | None = None
    group: GroupSamples | None = None
    fit: GroupFit | None = None
    symmetries: Discovery | None = None
    model: object = None
    model_config: dict | None = None
    train_info: object = None
    timings: dict = dataclasses.field(default_factory=dict)
    settings: dict = dataclasses.field(default_factory=dict)


def is_phase_space(dataset: Dataset) -> bool:
    """Whether the data are (q, p) pairs of equal dimension (else a static manifold or positions only)."""
    return dataset.p.shape[-1] > 0 and dataset.p.shape[-1] == dataset.q.shape[-1]


def dataset_family(dataset: Dataset, spec: str) -> Family:
    """The family ``spec`` (preset or mask) on the dataset's coordinates."""
    d = dataset.q.shape[-1] if is_phase_space(dataset) else len(dataset.coordinate_names)
    return make_family(spec, dataset.coordinate_names, num_positions=d)


def train_autoencoder(dataset: Dataset, *, key, lag: int = 1, steps: int = 30000, width: int = 128,
                      latent_dim: int | None = None, progress: Progress | None = None):
    """The autoencoder of the group and lie routes (SiLU, 2 hidden layers, cosine schedule, minibatches of 256).

    The bottleneck defaults to one more than the dimension of the pair manifold on an energy shell
    (``2d`` for pairs), and ``n − 1`` for a static manifold of ``n`` coordinates (mission B.6).
    """
    from physlaw.nets import TrainConfig, train

    settings = {"width": width, "activation": "silu"}
    if latent_dim is not None:
        settings["latent_dim"] = int(latent_dim)
    config = TrainConfig(num_steps=int(steps), learning_rate=1e-3, schedule="cosine", batch_size=256,
                         eval_every=min(1000, int(steps)))
    rows = dataset.points() if dataset.num_times == 1 else dataset.transition_pairs(lag)
    if rows.shape[0] < 256:
        raise InputError(f"the autoencoder needs at least 256 points (transition pairs), the data give {rows.shape[0]}; "
                         "give more trajectories or times")
    return train("dae", dataset, key=key, config=config, model_settings=settings, lag=lag, progress=progress)


def train_hnn(dataset: Dataset, *, key, steps: int = 5000, width: int = 200, progress: Progress | None = None):
    """The Hamiltonian network of the hnn route (tanh, 2 hidden layers, cosine schedule)."""
    from physlaw.nets import TrainConfig, train

    config = TrainConfig(num_steps=int(steps), learning_rate=1e-3, schedule="cosine",
                         batch_size=min(1024, dataset.num_trajectories * dataset.num_times),
                         eval_every=min(500, int(steps)))
    return train("hnn", dataset, key=key, config=config, model_settings={"width": width}, progress=progress)


def conserve(
    dataset: Dataset,
    *,
    method: str = "lie",
    family: str = "rotation",
    key,
    lag: int = 1,
    train_steps: int | None = None,
    width: int | None = None,
    latent_dim: int | None = None,
    model=None,
    degree: int = 2,
    inverse_radius: bool = False,
    trig: bool = False,
    angles: bool = False,
    num_samples: int = 2000,
    num_burnin: int = 500,
    sigma_max: float = 30.0,
    sigma_min: float = 3e-3,
    num_levels: int = 32,
    min_gap: float = 10.0,
    stencil: int = 5,
    order: int | None = None,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
) -> Conservation:
    """Find the conserved quantities (or group relations) of a dataset by one route.

    Args:
        dataset: trajectories (``physlaw.dynamics.Dataset``: from ``simulate`` or ``load_dataset``).
        method: ``"group"``, ``"lie"``, ``"hnn"`` or ``"library"`` (module docstring).
        family: a preset (``rotation``, ``gl``, ``affine``, ``translation``) or a mask string.
        key: PRNG key (training, sampling).
        lag: transition pairs ``(x_t, x_{t+lag})`` for the autoencoder.
        train_steps, width, latent_dim: network settings (defaults: DAE 30000 steps, width 128;
            HNN 5000 steps, width 200).
        model: an already trained network (DAE for group/lie, HNN for hnn) to skip training.
        degree, inverse_radius, trig, angles: the function library (hnn and library routes).
        num_samples, num_burnin, sigma_max, sigma_min, num_levels: method 1 (group route).
        min_gap: the singular-value gap below which a count is called weak evidence.
        stencil, order: the library route's finite-difference velocities (``trajectory_laws``; a lower
            ``order`` than ``stencil − 1`` smooths noisy data).
        progress: receives the progress of training and sampling (``physlaw.sampling.Progress``), or None.
        checkpoint: where method 1's exchange run keeps its state (``physlaw.sampling.Checkpoint``), or None.
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    timings: dict = {}
    start = time.perf_counter()
    phase = is_phase_space(dataset)
    settings = {"method": method, "lag": lag}
    out = Conservation(discovery=None, settings=settings)  # type: ignore[arg-type]
    k_train, k_run = jax.random.split(key)
    if method in ("group", "lie"):
        fam = dataset_family(dataset, family)
        out.family = fam
        settings.update(family=fam.name, mask=fam.mask)
        if method == "group" and not 2 <= fam.num_params <= MAX_PARAMS:
            raise InputError(f"the group route fits relations among 2 to {MAX_PARAMS} free entries; the {fam.name} "
                             f"family has {fam.num_params}. Use method='lie' (the direct Lie-algebra route) for "
                             "large families, or a mask with fewer free entries")
        if model is None:
            t0 = time.perf_counter()
            model, info, cfg = train_autoencoder(dataset, key=k_train, lag=lag, steps=train_steps or 30000,
                                                 width=width or 128, latent_dim=latent_dim, progress=progress)
            out.model_config, out.train_info = cfg, info
            timings["train"] = time.perf_counter() - t0
        out.model = model
        rows = dataset.points() if dataset.num_times == 1 else dataset.transition_pairs(lag)
        t0 = time.perf_counter()
        if method == "lie":
            out.discovery = lie_algebra(model, fam, rows, min_gap=min_gap, phase_space=phase,
                                        seed=int(jax.random.randint(k_run, (), 0, 2**30)))
            timings["lie"] = time.perf_counter() - t0
        else:
            out.group = sample_group(model, fam, rows, key=k_run, num_samples=num_samples, num_burnin=num_burnin,
                                     sigma_max=sigma_max, sigma_min=sigma_min, num_levels=num_levels,
                                     progress=progress, checkpoint=checkpoint)
            timings["sample"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            out.discovery = _group_discovery(out, fam, phase)
            timings["fit"] = time.perf_counter() - t0
    else:
        if not phase:
            raise InputError(f"the {method} route needs positions and momenta of equal dimension; the data have "
                             f"{dataset.q.shape[-1]} position and {dataset.p.shape[-1]} momentum columns "
                             "(choose them when loading the data: load_dataset(..., q=..., p=...))")
        lib = FunctionLibrary(dataset.coordinate_names, degree=degree, inverse_radius=inverse_radius, trig=trig,
                              angles=angles, num_positions=dataset.q.shape[-1])
        out.library = lib
        settings.update(library=list(lib.names))
        if method == "library":
            t0 = time.perf_counter()
            out.discovery = trajectory_laws(dataset, lib, min_gap=min_gap, stencil=stencil, order=order)
            timings["library"] = time.perf_counter() - t0
        else:
            if model is None:
                t0 = time.perf_counter()
                model, info, cfg = train_hnn(dataset, key=k_train, steps=train_steps or 5000, width=width or 200,
                                             progress=progress)
                out.model_config, out.train_info = cfg, info
                timings["train"] = time.perf_counter() - t0
            out.model = model
            points = dataset.x.reshape(-1, dataset.x.shape[-1])
            t0 = time.perf_counter()
            out.discovery = hnn_laws(model, points, lib, min_gap=min_gap)
            fam = dataset_family(dataset, family)
            out.family = fam
            settings.update(family=fam.name, mask=fam.mask)
            out.symmetries = hnn_symmetries(model, points, fam, min_gap=min_gap)
            out.discovery.details["linear_symmetries"] = out.symmetries.to_dict()
            timings["hnn"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start
    out.timings = {k: round(v, 3) for k, v in timings.items()}
    return out


def _group_discovery(out: Conservation, fam: Family, phase: bool) -> Discovery:
    """Method 2 on the chosen σ' and the resulting :class:`Discovery`."""
    g = out.group
    details = {
        "sigmas": [float(s) for s in g.sigmas],
        "effective_dimension": [float(x) for x in g.effective_dim],
        "mean_energy": [float(x) for x in g.mean_energy],
        "energy_identity": float(g.energy_identity),
        "chosen_sigma": g.chosen_sigma,
        "sigma_rule": g.reason,
        "sampler": g.diagnostics,
        "parameters": list(fam.names),
        "family": fam.name,
        "mask": fam.mask,
    }
    if g.chosen is None:
        return Discovery("group", [], None, 0, float("nan"), False,
                         "No continuous symmetry found in this family: " + g.reason + ".", details)
    # method 2 at the chosen σ', with the dimension of the d_eff plateau (by BIC when the σ' came from
    # the fallback rule); if that set cannot be described as a group (too thick), the next thinner
    # levels are tried (at most 3), and the σ' actually used is reported
    fit, tried = None, []
    for idx in range(g.chosen, min(g.chosen + 4, g.sigmas.size)):
        try:
            fit = fit_relations(g.samples[idx], fam, dimension=g.dimension or None)
            break
        except InputError as err:
            tried.append(f"σ' = {g.sigmas[idx]:.3g}: {err}")
    if fit is None:
        return Discovery("group", [], None, 0, float("nan"), True,
                         "The sampled sets could not be described as a group (" + "; ".join(tried) + ")", details)
    if tried:
        details["sigma_used_for_fit"] = float(g.sigmas[idx])
        details["sigma_fallback"] = tried
    out.fit = fit
    laws, notes = [], list(fit.notes)
    try:
        laws = group_laws(fit, fam, phase_space=phase)
    except InputError as err:
        notes.append(f"no Noether charge: {err}")
    details.update(
        group_dimension=fit.dimension, group_coordinates=list(fit.coordinates),
        relations=[{"expression": f"{r.expression} = 0", "target": r.target, "bic": float(r.bic),
                    "rms_distance": float(np.sqrt(r.rss / fit.num_used)), "regularity_at_identity": float(r.jacobian_ratio)}
                   for r in fit.relations],
        bic_by_dimension=fit.bic_by_dimension, samples_used=fit.num_used, samples_dropped=fit.num_dropped,
        generators=[np.round(gen, 6).tolist() for gen in fit.generators],
        generator_errors=[np.round(e, 6).tolist() for e in fit.generator_errors], notes=notes,
    )
    weak = g.dimension == 0 or bool(tried)
    msg = f"The invariant maps form a {fit.dimension}-dimensional group (BIC; σ' = {g.sigmas[idx]:.3g}); "
    msg += (f"{len(laws)} conserved quantit{'y' if len(laws) == 1 else 'ies'} from its generators"
            + ("." if laws or not notes else f" ({notes[-1]}).") if phase
            else f"{len(laws)} group relation{'' if len(laws) == 1 else 's'} among the map's entries (static manifold).")
    if g.dimension == 0:
        msg += " Weak evidence: no clean plateau of d_eff(σ'); σ' and the dimension came from the fallback rule and BIC."
    elif tried:
        msg += " Weak evidence: the set at the chosen σ' was too thick for the relations; a thinner level was used."
    return Discovery("group", laws, None, len(laws), float("nan"), weak, msg, details)
