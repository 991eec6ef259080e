"""Data integration: several spectra of one sample sharing named parameters (mission.md A.5).

M datasets D_1..D_M (each x_m, y_m with its own noise σ_m) are described by one K-peak model in
which some parameters are *shared* (e.g. the peak centres ``mu``: the same lines seen by several
instruments) and the others belong to each dataset (e.g. the heights ``log_a``). The joint
likelihood is the product of the datasets' full Gaussian likelihoods, each with its own σ_m:

    log p(D_1..D_M | θ) = Σ_m log N(y_m | f(x_m; θ_shared, θ_m), σ_m²)

and the prior is the reference spectrum prior (``spectrum.spectrum_prior``), each shared parameter
counted once and every other parameter once per dataset, so it stays normalised and the joint
free energy F_joint = −log p(D_1..D_M) is comparable with the "independent" hypothesis in which each
dataset has all its own parameters: F_indep = Σ_m F_m. ΔF = F_joint − F_indep > 0 flags the datasets
as inconsistent with one set of shared parameters; p(shared | D) = 1 / (1 + exp ΔF) with equal prior odds.

**Units.** Parameters are sampled in the normalised coordinates of ``physlaw.measure.spectrum`` with
one *common* transform for all datasets (x over the union of the x ranges, y scaled by the largest
half range), so a shared parameter means the same thing in data units for every dataset, and the
independent fits use exactly the same priors as the joint one (the comparison differs only by the sharing).

**Noise.** Each σ_m is given, or estimated beforehand from that dataset alone, with the same K, line
shape, background and priors (``selection.select`` with the noise over the ladder, Tokuda et al. 2017):
σ̂_m minimises F_m(σ). The single-dataset run at σ̂_m is the F_m of the independent hypothesis,
and the joint run uses the same σ̂_m (a plug-in: σ is not re-estimated under sharing, which, if
anything, favours the independent hypothesis slightly).

The joint likelihood has an incremental form (per dataset, the peak cache of ``spectrum``): a
one-parameter update recomputes one peak of each dataset it touches.

Example:
    >>> from physlaw.measure.integration import integrate
    >>> res = integrate([(x1, y1), (x2, y2)], share=("mu",), sigma=[0.05, 0.1], kmax=3,
    ...                 key=jax.random.key(0))  # doctest: +SKIP
    >>> res.delta_free_energy(), res.verdict()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np

from physlaw.errors import InputError
from physlaw.measure import spectrum as sp
from physlaw.measure.selection import model_probabilities, parameter_summary
from physlaw.measure.selection import (Candidate, CandidateFit, Selection, noise_scale_guess, select,
                                      spectrum_model_name)
from physlaw.priors import JointPrior
from physlaw.sampling import CheckpointFactory, Incremental, Progress, Target, run


def shareable(num_peaks: int = 1, shape: str = "gauss", background: str = "none") -> tuple[str, ...]:
    """The parameter names that may be shared: those of the single-spectrum model."""
    return tuple(sorted(sp.spectrum_prior(int(num_peaks), shape, background).components))


def check_share(share, shape: str = "gauss", background: str = "none") -> tuple[str, ...]:
    """Validate and normalise the shared names (sorted tuple); one-line ``InputError`` otherwise."""
    if isinstance(share, str):
        share = [s.strip() for s in share.split(",")]
    share = tuple(sorted({s for s in share if s}))
    valid = shareable(1, shape, background)
    if not share:
        raise InputError(f"nothing to share: name at least one parameter ({', '.join(valid)})")
    bad = [s for s in share if s not in valid]
    if bad:
        raise InputError(f"cannot share {', '.join(bad)}: the parameters of a {shape} model with background "
                         f"{background} are {', '.join(valid)}")
    return share


# ----------------------------------------------------------------------------------------------
# The joint target


@functools.lru_cache(maxsize=256)
def joint_prior(num_peaks: int, shape: str, background: str, share: tuple, num_datasets: int,
                priors: sp.SpectrumPriors = sp.DEFAULT_PRIORS) -> JointPrior:
    """Shared components as in the single model; the others with a leading axis of length M."""
    single = sp.spectrum_prior(num_peaks, shape, background, priors)
    return JointPrior({name: dist if name in share else dataclasses.replace(dist, shape=(num_datasets, *dist.shape))
                       for name, dist in single.components.items()})


@functools.lru_cache(maxsize=256)
def _index_maps(num_peaks: int, shape: str, background: str, share: tuple, num_datasets: int):
    """For each dataset m, ``take[m]``: the joint flat index of each single-model flat coordinate, and
    ``local[m]``: for each joint coordinate, its single-model index (or −1 when it does not enter D_m)."""
    offsets, sizes = sp._layout(num_peaks, shape, background)
    j_off, o = {}, 0
    for name in sorted(sizes):  # ravel_pytree sorts dict keys, as in the single model
        j_off[name] = o
        o += sizes[name] if name in share else num_datasets * sizes[name]
    dim = o
    take = np.zeros((num_datasets, sum(sizes.values())), np.int32)
    local = -np.ones((num_datasets, dim), np.int32)
    for m in range(num_datasets):
        for name, s_off in offsets.items():
            base = j_off[name] + (0 if name in share else m * sizes[name])
            for i in range(sizes[name]):
                take[m, s_off + i] = base + i
                local[m, base + i] = s_off + i
    return take, local


@functools.lru_cache(maxsize=128)
def _joint_incremental(num_peaks: int, shape: str, background: str, share: tuple, num_datasets: int) -> Incremental:
    single = sp._incremental(num_peaks, shape, background)
    take, local = _index_maps(num_peaks, shape, background, share, num_datasets)
    take, local = jnp.asarray(take), jnp.asarray(local)

    def init_fn(theta, data):
        return tuple(single.init_fn(theta[take[m]], d) for m, d in enumerate(data))

    def update_fn(theta, j, cache, data):
        # each dataset's proposal; a dataset that coordinate j does not enter keeps its curves (ℓ unchanged)
        out = []
        for m, d in enumerate(data):
            jm = local[m, j]
            row, bg, total, rows = single.update_fn(theta[take[m]], jnp.maximum(jm, 0), cache[m], d)
            out.append((row, jnp.where(jm >= 0, bg, cache[m][1]), jnp.where(jm >= 0, total, cache[m][2]), rows))
        return tuple(out)

    def value_fn(cache, data):
        return sum(single.value_fn(c, d) for c, d in zip(cache, data))

    def select_fn(ok, new, old, j):
        return tuple(single.select_fn(ok & (local[m, j] >= 0), new[m], old[m], jnp.maximum(local[m, j], 0))
                     for m in range(len(old)))

    return Incremental(init_fn, update_fn, value_fn, select_fn)


@functools.lru_cache(maxsize=128)
def _joint_log_likelihood_fn(num_peaks: int, shape: str, background: str, share: tuple, num_datasets: int):
    inc = _joint_incremental(num_peaks, shape, background, share, num_datasets)

    def log_likelihood(params, data):
        theta = jax.flatten_util.ravel_pytree(params)[0]
        return inc.value_fn(inc.init_fn(theta, data), data)

    return log_likelihood


def common_transform(datasets, background: str = "none") -> sp.Transform:
    """One transform for all datasets: x over the union of ranges, y by the largest half range."""
    xs = np.concatenate([np.asarray(x, float) for x, _ in datasets])
    trs = [sp.Transform.from_data(x, y, background, x_range=(float(xs.min()), float(xs.max()))) for x, y in datasets]
    return sp.Transform(trs[0].x0, trs[0].sx, min(t.y0 for t in trs), max(t.sy for t in trs))


def joint_target(datasets, sigmas, num_peaks: int, share, *, shape: str = "gauss", background: str = "none",
                 priors="auto", prior_overrides: dict | None = None, incremental: bool = True, dtype=None) -> Target:
    """One exchange Monte Carlo target for M datasets with the parameters ``share`` in common.

    Args:
        datasets: [(x_m, y_m), ...], M ≥ 2 (lengths may differ).
        sigmas: one noise level per dataset (scalar or [n_m] each).
        num_peaks: K.
        share: names of the shared parameters (``shareable()``), e.g. ``("mu",)``.
        priors: ``"auto"`` (reference priors on the common transform), ``"nagata"`` or a ``Transform``.

    The parameter pytree has the shared names with their single-model shapes and every other name
    with a leading axis of length M (``log_a``: [M, K]).
    """
    sp.check_model(num_peaks, shape, background)
    share = check_share(share, shape, background)
    datasets = [(np.asarray(x, float), np.asarray(y, float)) for x, y in datasets]
    if len(datasets) < 2:
        raise InputError("data integration needs at least two datasets")
    if len(sigmas) != len(datasets):
        raise InputError(f"give one noise level per dataset: {len(datasets)} datasets, {len(sigmas)} sigmas")
    tr = priors if isinstance(priors, sp.Transform) else (
        common_transform(datasets, background) if priors == "auto" else sp.model_transform(None, None, priors, background))
    k, m = int(num_peaks), len(datasets)
    prior = joint_prior(k, shape, background, share, m, sp.normalised_priors(prior_overrides, tr))
    data = tuple(sp.spectrum_data(x, y, s, tr, dtype) for (x, y), s in zip(datasets, sigmas))
    # peaks can be relabelled for the diagnostics only when their centres are common to all datasets
    return Target.from_prior(prior, _joint_log_likelihood_fn(k, shape, background, share, m), data=data,
                             incremental=_joint_incremental(k, shape, background, share, m) if incremental else None,
                             relabel_fn=sp.order_by_centre if "mu" in share else None)


# ----------------------------------------------------------------------------------------------
# Joint analysis over K with the consistency test


@dataclass
class IntegrationAnalysis(Selection):
    """``integrate``'s result: a ``Selection`` over the joint models plus the independent fits.

    Attributes:
        fits: the joint runs, one per K (``CandidateFit``; ``info`` has num_peaks, shape, background,
            shared and noise_sigma, one per dataset).
        independent: ``{K: [CandidateFit per dataset]}``, each dataset alone (same priors).
        selected: the name of the joint model with the lowest F.
        share: the shared names; datasets: [(x, y)]; transform: the common transform.
    """

    independent: dict = field(default_factory=dict)
    share: tuple = ()
    datasets: list = field(default_factory=list)
    transform: sp.Transform | None = None

    @property
    def num_datasets(self) -> int:
        return len(self.datasets)

    def sigmas(self, name: str | None = None) -> list[float]:
        return list(self.fit(name or self.selected).info["noise_sigma"])

    def peak_number_probabilities(self) -> dict[int, float]:
        return {f.info["num_peaks"]: f.probability for f in self.fits}

    def consistency(self, name: str | None = None) -> dict:
        """F_joint, F_indep = Σ_m F_m, ΔF ± err, p(shared | D) and the verdict for one K (default: selected)."""
        f = self.fit(name or self.selected)
        ind = self.independent[f.info["num_peaks"]]
        f_ind = float(sum(i.free_energy for i in ind))
        e_ind = math.sqrt(sum(i.free_energy_err**2 for i in ind))
        delta = f.free_energy - f_ind
        err = math.sqrt(f.free_energy_err**2 + e_ind**2)
        return {
            "num_peaks": f.info["num_peaks"], "shared": list(self.share),
            "free_energy_joint": f.free_energy, "free_energy_joint_err": f.free_energy_err,
            "free_energy_independent": f_ind, "free_energy_independent_err": e_ind,
            "free_energy_per_dataset": [i.free_energy for i in ind],
            "free_energy_per_dataset_err": [i.free_energy_err for i in ind],
            "delta_free_energy": delta, "delta_free_energy_err": err,
            "probability_shared": float(1.0 / (1.0 + math.exp(min(delta, 700.0)))),
            "verdict": "inconsistent" if delta > 0 else "consistent",
            "noise_sigma": self.sigmas(f.name),
        }

    def physical(self, m: int, name: str | None = None, *, joint: bool = True) -> dict:
        """Posterior draws for dataset ``m`` in data units, peaks ordered by centre (joint or alone)."""
        f = self.fit(name or self.selected)
        if not joint:
            f = self.independent[f.info["num_peaks"]][m]
        post = {k: np.asarray(v).reshape(-1, *np.shape(v)[2:]) for k, v in f.result.posterior().items()}
        if joint:
            post = {k: v if k in self.share else v[:, m] for k, v in post.items()}
        return sp.physical_samples(post, self.transform, f.info["shape"], f.info["background"])

    def parameter_summaries(self, name: str | None = None, *, joint: bool = True) -> dict:
        """``{"dataset 1 / peak 1": {"centre": summary, ...}, ..., "dataset 1 / background": {...}}``
        in data units, peaks ordered by centre (``joint=False``: each dataset fitted alone)."""
        out = {}
        for m in range(self.num_datasets):
            phys = self.physical(m, name, joint=joint)
            for k in range(phys["centre"].shape[1]):
                out[f"dataset {m + 1} / peak {k + 1}"] = {
                    q: parameter_summary(phys[q][:, k]) for q in ("centre", "amplitude", "fwhm", "area", "eta", "asymmetry") if q in phys}
            bg = {q: parameter_summary(v) for q, v in phys.items() if q.startswith("background")}
            if bg:
                out[f"dataset {m + 1} / background"] = bg
        return out

    def predictive(self, m: int, grid=None, *, name: str | None = None, num_draws: int = 400, seed: int = 0) -> dict:
        """Posterior predictive of dataset ``m`` under the joint model (as ``SpectrumAnalysis.predictive``)."""
        from physlaw.measure.selection import predictive_bands

        f = self.fit(name or self.selected)
        x = self.datasets[m][0]
        grid = np.linspace(x.min(), x.max(), 400) if grid is None else np.asarray(grid, float)
        return predictive_bands(self.physical(m, f.name), grid, f.info["shape"], f.info["background"],
                                self.transform, float(np.mean(f.info["noise_sigma"][m])), num_draws, seed)


def integrate(
    datasets,
    share,
    *,
    sigma=None,
    kmax: int = 3,
    kmin: int = 1,
    shape: str = "gauss",
    background: str = "none",
    priors="auto",
    prior_overrides: dict | None = None,
    key: jax.Array,
    num_samples: int = 2000,
    num_burnin: int | None = None,
    num_replicas: int = 32,
    num_chains: int = 4,
    checkpoints: CheckpointFactory | None = None,
    progress: Progress | None = None,
) -> IntegrationAnalysis:
    """Joint deconvolution of M spectra sharing ``share`` over K = kmin..kmax, with the consistency test.

    For each K: every dataset alone (its noise estimated there when ``sigma`` is None), then the joint
    model with those noise levels. p(K | D_1..D_M) ∝ exp(−F_joint(K)).

    Args:
        datasets: [(x_m, y_m), ...], M ≥ 2.
        share: shared parameter names (e.g. ``("mu",)`` or ``"mu,log_b"``).
        sigma: None (estimate each), or one noise level per dataset (scalar or [n_m] each).
        key: a ``jax.random`` key.
        checkpoints: ``name -> Checkpoint`` for each run (e.g. ``physlaw.io.checkpoints.CheckpointFolder(dir)``),
            or None; progress: a ``physlaw.sampling.Progress`` or None.

    Returns:
        An ``IntegrationAnalysis``.
    """
    datasets = [(np.asarray(x, float), np.asarray(y, float)) for x, y in datasets]
    if len(datasets) < 2:
        raise InputError("data integration needs at least two datasets; for one, use deconvolve")
    share = check_share(share, shape, background)
    if sigma is not None:
        if len(sigma) != len(datasets):
            raise InputError(f"give one noise level per dataset: {len(datasets)} datasets, {len(sigma)} sigmas")
        for s in sigma:
            if np.any(np.asarray(s, float) <= 0):
                raise InputError(f"the noise sigma must be positive, got {np.min(s)}")
    if not (1 <= kmin <= kmax):
        raise InputError(f"need 1 ≤ kmin ≤ kmax, got kmin={kmin}, kmax={kmax}")
    tr = common_transform(datasets, background) if priors == "auto" else sp.model_transform(None, None, priors, background)
    settings = dict(num_samples=num_samples, num_burnin=num_burnin, num_replicas=num_replicas, num_chains=num_chains,
                    progress=progress)
    fits, independent, warns = [], {}, []
    for k in range(kmin, kmax + 1):
        sp.check_model(k, shape, background)
        base = spectrum_model_name(k, shape, background)
        info = {"num_peaks": k, "shape": shape, "background": background}
        alone, sig = [], []
        for m, (x, y) in enumerate(datasets):
            cand = Candidate(f"{base}-data{m + 1}", dict(info, dataset=m + 1), _single_maker(x, y, k, shape, background,
                                                                                          tr, prior_overrides))
            sel = select([cand], num_points=x.size, sigma=None if sigma is None else sigma[m],
                         sigma0=0.5 * noise_scale_guess(y) if sigma is None else None,
                         key=jax.random.fold_in(key, 1000 * k + m), checkpoints=checkpoints, **settings)
            alone.append(sel.fits[0])
            warns += sel.warnings
            sig.append(sel.fits[0].noise_sigma if sigma is None else sigma[m])
        independent[k] = alone
        name = f"{base}-joint"
        target = joint_target(datasets, sig, k, share, shape=shape, background=background, priors=tr,
                              prior_overrides=prior_overrides)
        res = run(jax.random.fold_in(key, 1000 * k + 999), target,
                  checkpoint=None if checkpoints is None else checkpoints(name), progress_desc=name, **settings)
        sig_json = [float(np.mean(s)) for s in sig]
        fits.append(CandidateFit(name, res, float(np.mean(sig_json)), None,
                                 info=dict(info, shared=list(share), noise_sigma=sig_json)))
        warns += [f"{name}: {w}" for w in res.warnings]
    p, perr = model_probabilities([f.free_energy for f in fits], [f.free_energy_err for f in fits])
    for f, pi, ei in zip(fits, p, perr):
        f.probability, f.probability_err = float(pi), float(ei)
    selected = fits[int(np.argmax(p))].name
    return IntegrationAnalysis(fits, selected, sigma is None, warns, independent=independent, share=share,
                               datasets=datasets, transform=tr)


def _single_maker(x, y, k, shape, background, tr, overrides):
    def make(sigma):
        return sp.spectrum_target(x, y, sigma, k, shape=shape, background=background, priors=tr,
                                  prior_overrides=overrides)

    return make
