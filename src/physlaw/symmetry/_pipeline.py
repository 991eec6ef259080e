"""One call from a trajectory dataset to conserved quantities, by any of the four routes.

* ``group`` — Mototake's method: train an autoencoder on transition pairs, sample the invariant
  maps of a family by exchange Monte Carlo over σ' (method 1), fit the group relations by BIC and
  ODR, differentiate at the identity, Noether charge (method 2).
* ``lie`` — the same autoencoder, then the Lie algebra directly as a null space (seconds); with
  ``library=True`` the candidates are the Hamiltonian fields ``J ∇ψ_k`` of a function library's features
  instead of the family's linear maps, and each null vector is a (nonlinear) conserved quantity
  (:func:`physlaw.symmetry.lie_library_laws`, route ``"lie-library"``).
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
from physlaw.symmetry._algebra import algebra_details
from physlaw.symmetry._baseline import trajectory_laws
from physlaw.symmetry._checks import check_discovery, split_trajectories
from physlaw.symmetry._families import Family, make_family
from physlaw.symmetry._group import GroupSamples, sample_group
from physlaw.symmetry._hnn import hnn_laws, hnn_symmetries
from physlaw.symmetry._laws import Discovery
from physlaw.symmetry._library import FunctionLibrary
from physlaw.symmetry._lie import lie_algebra
from physlaw.symmetry._lie_library import lie_library_laws
from physlaw.symmetry._relations import MAX_PARAMS, GroupFit, fit_relations, group_laws

METHODS = ("group", "lie", "hnn", "library")


@dataclasses.dataclass
class Conservation:
    """Everything a conservation run produced (the CLI writes it; figures are drawn from it).

    Attributes:
        discovery: the route's laws, count, evidence and message.
        family: the transformation family (group, lie, hnn routes), else None.
        library: the function library (hnn, library routes; lie with ``library=True``), else None.
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
    radial: bool = False,
    trig: bool = False,
    angles: bool = False,
    angle_products: bool = False,
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
    check: bool = True,
    holdout: float = 0.25,
    library: bool = False,
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
        degree, inverse_radius, trig, angles, angle_products: the function library (hnn and library routes, and
            lie with ``library=True``;
            ``angle_products``: the velocity monomials times the first harmonics of the angles, which hold
            the energy of any chain of pendulums in angles and angular velocities; see ``FunctionLibrary``).
        radial: add ``q_i/|q|`` to the library (with ``degree=3, inverse_radius=True``: Kepler's Runge–Lenz vector).
        num_samples, num_burnin, sigma_max, sigma_min, num_levels: method 1 (group route).
        min_gap: the singular-value gap below which a count is called weak evidence.
        stencil, order: the library route's finite-difference velocities (``trajectory_laws``; a lower
            ``order`` than ``stencil − 1`` smooths noisy data).
        progress: receives the progress of training and sampling (``physlaw.sampling.Progress``), or None.
        checkpoint: where method 1's exchange run keeps its state (``physlaw.sampling.Checkpoint``), or None.
        check: check every law on held-out trajectories (:mod:`physlaw.symmetry._checks`): its drift
            ``(dG/dt)/<|G|>`` with a 95 % interval and verdict, and a time-shuffled surrogate; laws not
            conserved there, or constant on the surrogate too, are dropped with a note
            (``details["dropped_laws"]``). Applies to phase-space trajectories (not static manifolds).
        holdout: the fraction of trajectories held out for the checks (every ``1/holdout``-th; none
            when there are fewer than 8 trajectories: the checks then use the fitted ones and say so).
        library: ``method="lie"`` only: look for nonlinear symmetries ``J ∇G`` with ``G`` in the function library
            (``degree``, ``inverse_radius``, ...) instead of the family's linear maps; each is a conserved quantity
            (:func:`physlaw.symmetry.lie_library_laws`). Needs phase-space trajectories (q and p).
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if library and method != "lie":
        raise InputError(f"library=True applies to method='lie' only (the Hamiltonian fields of the library's "
                         f"functions as candidate symmetries); the {method} route "
                         + ("always uses the function library" if method in ("hnn", "library")
                            else "uses the family's linear maps"))
    phase = is_phase_space(dataset)
    if library and not (phase and dataset.num_times >= 2):
        raise InputError("the lie route with library=True needs phase-space trajectories: positions and momenta of "
                         f"equal dimension and at least 2 times; the data have {dataset.q.shape[-1]} position and "
                         f"{dataset.p.shape[-1]} momentum columns and {dataset.num_times} time"
                         f"{'s' if dataset.num_times != 1 else ''} (choose them when loading the data: "
                         "load_dataset(..., q=..., p=...))")
    timings: dict = {}
    start = time.perf_counter()
    settings = {"method": method, "lag": lag}
    out = Conservation(discovery=None, settings=settings)  # type: ignore[arg-type]
    k_train, k_run = jax.random.split(key)
    held = None
    if check and phase and dataset.num_times >= 3:
        dataset, held = split_trajectories(dataset, fraction=holdout)
        settings.update(holdout=holdout, held_out_trajectories=0 if held is None else int(held.num_trajectories))
    full = dataset if held is None else None
    library_options = dict(degree=degree, inverse_radius=inverse_radius, radial=radial, trig=trig, angles=angles,
                           angle_products=angle_products)
    if method in ("group", "lie"):
        if library:
            out.library = _function_library(dataset, **library_options)
            settings.update(library=list(out.library.names))
        else:
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
        if method == "lie" and library:
            out.discovery = lie_library_laws(model, rows, out.library, min_gap=min_gap,
                                             seed=int(jax.random.randint(k_run, (), 0, 2**30)))
            timings["lie"] = time.perf_counter() - t0
        elif method == "lie":
            out.discovery = lie_algebra(model, fam, rows, min_gap=min_gap, phase_space=phase,
                                        seed=int(jax.random.randint(k_run, (), 0, 2**30)))
            out.discovery.details["algebra"] = algebra_details(out.discovery.details.get("generators"),
                                                               out.discovery.details.get("generator_errors"))
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
        lib = _function_library(dataset, **library_options)
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
    if check and phase and out.discovery is not None and (held is not None or dataset.num_times >= 3):
        t0 = time.perf_counter()
        check_discovery(out.discovery, held if held is not None else full, held_out=held is not None,
                        seed=int(jax.random.randint(k_run, (), 0, 2**30)),
                        approximate=out.discovery.arrays.get("approximate_expr"),
                        dissipation=out.discovery.arrays.get("dissipation_expr"))
        timings["checks"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start
    out.timings = {k: round(v, 3) for k, v in timings.items()}
    return out


def _function_library(dataset: Dataset, **options) -> FunctionLibrary:
    """The function library on the dataset's coordinates, its positions first (``options``: ``FunctionLibrary``'s)."""
    return FunctionLibrary(dataset.coordinate_names, num_positions=dataset.q.shape[-1], **options)


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
        algebra=algebra_details(list(fit.generators), list(fit.generator_errors)),
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


ALL_ROUTES = ("lie", "hnn", "library")
"""The routes ``method="all"`` runs on phase-space trajectories (the group route's exchange Monte Carlo
takes minutes: run it alone); on a static manifold or positions-only data only ``lie`` applies."""
AGREE_DEGREES = 5.0
"""Two laws agree when the principal angle between them is below this (in the space of their values)."""


@dataclasses.dataclass
class Comparison:
    """Several routes on one dataset, their laws side by side, and their agreement.

    Attributes:
        results: route -> :class:`Conservation`.
        agreement: one dict per pair of routes with laws: ``routes``, ``counts``, ``angles_degrees`` (the
            principal angles between the two law subspaces, ascending) and ``shared`` (how many are below
            ``AGREE_DEGREES``).
        shared_count: the dimension of the law subspace all routes with laws share (principal angles
            below ``AGREE_DEGREES``), or 0.
        message: the one verdict, in words.
        timings: seconds per route.
        errors: route -> the one-line reason a route could not run (the others are still reported).
    """

    results: dict
    agreement: list
    shared_count: int
    message: str
    timings: dict = dataclasses.field(default_factory=dict)
    errors: dict = dataclasses.field(default_factory=dict)


def law_values(laws, dataset: Dataset, *, max_points: int = 2000, seed: int = 0) -> np.ndarray:
    """``[N, k]`` values of ``k`` laws at up to ``max_points`` states of the data, each column centred
    (a law's additive constant does not matter) — the common space in which routes' laws are compared."""
    from physlaw.symmetry._checks import law_function

    x = dataset.x.reshape(-1, dataset.x.shape[-1])
    if x.shape[0] > max_points:
        x = x[np.random.default_rng(seed).choice(x.shape[0], max_points, replace=False)]
    cols = []
    for law in laws:
        v, _ = law_function(law.expr, dataset.coordinate_names)
        col = v(x)
        col = np.where(np.isfinite(col), col, 0.0)
        cols.append(col - col.mean())
    return np.stack(cols, axis=1) if cols else np.zeros((x.shape[0], 0))


def principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles (degrees, ascending) between the column spaces of ``a`` and ``b`` (scipy)."""
    import scipy.linalg

    if a.shape[1] == 0 or b.shape[1] == 0:
        return np.zeros(0)
    return np.sort(np.degrees(scipy.linalg.subspace_angles(a, b)))


def conserve_all(dataset: Dataset, *, key, routes=None, **options) -> Comparison:
    """Run every route that applies (``ALL_ROUTES``) on one dataset and compare their laws.

    Each route is :func:`conserve` with the same ``options`` (family, library, training steps, checks);
    a route that cannot run on these data (``InputError``) is reported in ``errors``, the others still
    are. Agreement: the laws' values on common states (:func:`law_values`) span a subspace per route;
    the principal angles between two routes' subspaces measure how far they agree (0°: the same
    laws, up to linear combination). The verdict names the shared laws' number.
    """
    phase = is_phase_space(dataset)
    routes = tuple(routes or (ALL_ROUTES if phase else ("lie",)))
    results, errors, timings = {}, {}, {}
    for i, route in enumerate(routes):
        t0 = time.perf_counter()
        try:
            results[route] = conserve(dataset, method=route, key=jax.random.fold_in(key, i), **options)
        except InputError as err:
            errors[route] = str(err)
        timings[route] = round(time.perf_counter() - t0, 3)
    with_laws = {r: _compared_laws(res) for r, res in results.items()}
    with_laws = {r: laws for r, laws in with_laws.items() if laws}
    values = {}
    for r, laws in with_laws.items():
        try:
            values[r] = law_values(laws, dataset)
        except InputError:
            pass
    agreement = []
    names = list(values)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ang = principal_angles(values[a], values[b])
            agreement.append({"routes": [a, b], "counts": [values[a].shape[1], values[b].shape[1]],
                              "angles_degrees": [round(float(x), 4) for x in ang],
                              "shared": int(np.sum(ang < AGREE_DEGREES))})
    shared = 0
    if names:
        base = values[names[0]]
        basis = np.linalg.svd(base, full_matrices=False)[0][:, :base.shape[1]] if base.shape[1] else base
        for other in names[1:]:  # the subspace of the first route's laws that every other route also spans
            import scipy.linalg

            ob = scipy.linalg.orth(values[other])
            u, s, _ = np.linalg.svd(basis.T @ ob, full_matrices=False)
            keep = s > np.cos(np.radians(AGREE_DEGREES))
            basis = basis @ u[:, keep]
        shared = int(basis.shape[1]) if len(names) == len(results) else 0
    counts = {r: sum(_exact(law) for law in res.discovery.laws) for r, res in results.items()}
    approx = {r: len(with_laws.get(r, [])) - counts[r] for r in results}
    message = _all_verdict(counts, shared, agreement, errors, approx)
    return Comparison(results, agreement, shared, message, timings, errors)


def _exact(law) -> bool:
    return law.drift is None or law.drift.verdict == "conserved"


def _compared_laws(res: Conservation) -> list:
    """A route's laws for the comparison: the checked ones, else its best approximate law (if it is one)."""
    from physlaw.symmetry._laws import Law

    laws = list(res.discovery.laws)
    approx = res.discovery.details.get("approximate_law")
    expr = res.discovery.arrays.get("approximate_expr")
    if not laws and approx and expr is not None and approx["drift"]["verdict"] == "approximately conserved":
        laws = [Law(expr=expr, coefficients={}, residual=float("nan"))]
    return laws


def _all_verdict(counts: dict, shared: int, agreement: list, errors: dict, approx: dict | None = None) -> str:
    approx = approx or {}
    ran = ", ".join(f"{r} {c}" + (f" (+{approx[r]} approximate)" if approx.get(r) else "") for r, c in counts.items())
    skipped = f" Not run: {'; '.join(f'{r} ({e[:80]})' for r, e in errors.items())}." if errors else ""
    if not counts:
        return "No route could run on these data." + skipped
    values = set(counts.values())
    worst = max((a["angles_degrees"][-1] for a in agreement if a["angles_degrees"]), default=0.0)
    if values == {0} and not any(approx.values()):
        return f"No route finds a conserved law (laws per route: {ran}): the routes agree." + skipped
    if values == {0}:
        return (f"No route finds an exactly conserved law; approximate laws (a steady drift, e.g. friction): {ran}; "
                f"the approximate laws of all routes share {shared} dimension{'s' if shared != 1 else ''} "
                f"(principal angles < {AGREE_DEGREES:g}°)." + skipped)
    if len(values) == 1 and shared == next(iter(values)) and not any(approx.values()):
        return (f"All {len(counts)} routes agree on {shared} law{'s' if shared > 1 else ''} (largest principal angle "
                f"between their law subspaces {worst:.2g}°): high confidence." + skipped)
    return (f"The routes differ (laws per route: {ran}); the laws every route finds span {shared} "
            f"dimension{'s' if shared != 1 else ''} (principal angles < {AGREE_DEGREES:g}°). Trust those first; "
            "a law found by one route only needs a closer look (its drift check and residual)." + skipped)
