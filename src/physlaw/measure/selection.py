"""Model selection by the Bayesian free energy, with the noise estimated over the ladder.

``select`` runs the exchange Monte Carlo engine for each candidate model, optionally estimating the
noise level first (Tokuda, Nagata & Okada, JPSJ 86, 024001 (2017): one run at a small reference σ_0
gives F(σ) on the whole ladder; σ̂ minimises it), and returns F(m) ± error and p(m | D) ∝ exp(−F(m)).
With the noise estimated, F(m) = F(m, σ̂_m), the free energy at each model's own noise estimate
(the maximum of p(D | m, σ) over σ), from a second run at σ̂_m.

``deconvolve`` is the spectrum scan over K = 1..Kmax (and line shapes / backgrounds when asked),
with posterior summaries on the labelling ordered by peak centre, the posterior predictive band and
each peak's component.

Example:
    >>> import jax
    >>> from physlaw.measure.spectrum import nagata_data
    >>> from physlaw.measure.selection import deconvolve
    >>> x, y, _ = nagata_data(0)
    >>> res = deconvolve(x, y, kmax=4, estimate_noise=True, key=jax.random.key(0))  # doctest: +SKIP
    >>> res.selected, res.noise_sigma  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import jax
import numpy as np

from physlaw.errors import InputError
from physlaw.measure import spectrum as sp
from physlaw.measure.noise import SETTLED, NoiseCurve, count_scale, noise_curve, stationarity
from physlaw.sampling import (CheckpointFactory, ExchangeResult, Progress, Target, least_squares_point,
                              out_of_the_race, run, split_keys)


@dataclass
class ModelFit:
    """One model's result."""

    name: str
    result: ExchangeResult
    noise_sigma: float
    noise: NoiseCurve | None = None
    probability: float = float("nan")
    probability_err: float = float("nan")

    @property
    def free_energy(self) -> float:
        return self.result.free_energy.free_energy

    @property
    def free_energy_err(self) -> float:
        return self.result.free_energy.free_energy_err


def fit_by_name(fits, name: str):
    """The fit called ``name`` among ``fits``; an ``InputError`` listing the names there are otherwise."""
    for f in fits:
        if f.name == name:
            return f
    raise InputError(f"no model named {name!r}; the models are {', '.join(f.name for f in fits)}")


def evidence_words(best, runner_up, what: str) -> str:
    """How strongly the data prefer ``best`` to ``runner_up`` (two fits), in words for a verdict.

    ΔF is a log Bayes factor; its lower end ΔF − 2 err is read on Jeffreys' scale (in nat): below 1
    the data cannot decide, 1–3 a weak preference, 3–5 strong, above 5 decisive. ``what`` names the
    runner-up, e.g. "K = 6".
    """
    df = runner_up.free_energy - best.free_energy
    low = df - 2.0 * float(np.hypot(best.free_energy_err, runner_up.free_energy_err))
    if low < 1.0:
        return f"the data cannot decide between this and {what} (ΔF = {df:.3g} nat)"
    strength = "a weak preference" if low < 3.0 else ("strong evidence" if low < 5.0 else "decisive evidence")
    return f"{strength} over {what} (ΔF = {df:.3g} nat)"


def parameter_summary(samples: np.ndarray) -> dict:
    """Median, mean, sd, 68 % and 95 % central intervals of 1-D samples."""
    q = np.quantile(samples, [0.025, 0.16, 0.5, 0.84, 0.975])
    return {
        "median": float(q[2]),
        "mean": float(np.mean(samples)),
        "sd": float(np.std(samples)),
        "interval_68": [float(q[1]), float(q[3])],
        "interval_95": [float(q[0]), float(q[4])],
    }


def model_probabilities(free_energies, errors) -> tuple[np.ndarray, np.ndarray]:
    """p(m | D) ∝ exp(−F_m) (equal prior odds) and their standard errors (delta method)."""
    f = np.asarray(free_energies, dtype=np.float64)
    e = np.asarray(errors, dtype=np.float64)
    w = np.exp(-(f - f.min()))
    p = w / w.sum()
    # ∂p_i/∂F_j = −p_i (δ_ij − p_j)
    jac = -(np.diag(p) - np.outer(p, p))
    err = np.sqrt((jac**2) @ (e**2))
    return p, err


@dataclass(frozen=True)
class Candidate:
    """One model of a selection: a name, a JSON-ready description and ``sigma -> Target``.

    ``needs_noise=False`` marks a likelihood without an unknown Gaussian σ (Poisson counts, or a
    per-point σ built into the target): it is run once, with ``make_target(None)``, whatever the
    noise options of the selection. ``finish`` (optional) turns the final run's result into the one
    the model reports, e.g. standardised draws into coefficients (``linear.rescale``).
    """

    name: str
    info: dict
    make_target: Callable[[object], Target]
    needs_noise: bool = True
    finish: Callable[[ExchangeResult], ExchangeResult] | None = None


@dataclass
class CandidateFit(ModelFit):
    """A candidate's run (``ModelFit``) and its description."""

    info: dict = field(default_factory=dict)


@dataclass
class Selection:
    """Every candidate's fit, the selected one and the warnings of all runs."""

    fits: list[CandidateFit]
    selected: str
    noise_estimated: bool
    warnings: list[str] = field(default_factory=list)

    def caveat(self) -> str:
        """What a verdict must add when its selected model's noise estimate has not settled, or when another
        candidate's free energy is too uncertain to rule it out (``unresolved``), else ''."""
        unknown = unresolved(self.fits, self.best)
        why = ([] if noise_settled(self.best) else ["the noise estimate has not settled"]) + (
            [f"the free energy of {', '.join(f.name for f in unknown)} is unknown"] if unknown else [])
        edge = ("; K IS ONLY A LOWER BOUND: the selected K is the largest tried (see the warnings)"
                if any(w.startswith(EDGE_WARNING) for w in self.warnings) else "")
        return (f"; NOT RELIABLE: {' and '.join(why)} (see the warnings)" if why else "") + edge

    def fit(self, name: str) -> CandidateFit:
        """The fit of the candidate called ``name``.

        Raises:
            InputError: no candidate has that name (the message lists the names there are).
        """
        return fit_by_name(self.fits, name)

    @property
    def best(self) -> CandidateFit:
        return self.fit(self.selected)

    @property
    def noise_sigma(self) -> float:
        return self.best.noise_sigma

    def k_probabilities(self) -> dict[int, float]:
        """p(K | D) summed over every other choice (shape, background, sign...); fits without ``info["K"]`` are left out."""
        out: dict[int, float] = {}
        for f in self.fits:
            if "K" in f.info:
                out[f.info["K"]] = out.get(f.info["K"], 0.0) + f.probability
        return dict(sorted(out.items()))


def noise_scale_guess(y) -> float:
    """A rough noise scale from second differences (1.4826 MAD / √6), robust to smooth signals."""
    d2 = np.diff(np.asarray(y, float), 2)
    if d2.size < 3:
        return float(np.std(y)) or 1.0
    s = 1.4826 * np.median(np.abs(d2 - np.median(d2))) / np.sqrt(6.0)
    return float(s) if s > 0 else float(np.std(y)) or 1.0


#: float32 is used only where the noise is at least this fraction of the data's range: its rounding
#: (~6e-8 of the range) then moves χ² by ≲ 0.02 nat even over 1000 points.
SINGLE_PRECISION_NOISE = 1e-4


#: Below this fraction of the data's range, the noise makes a sum of exponentials' posterior too narrow a
#: valley for coordinate moves (NIST Lanczos3, noise 1.2e-5 of its range: σ̂ stalled at 5.6e-4 of it).
CORRELATED_NOISE = 1e-3


def correlated_noise_floor(y) -> float:
    """The noise (data units) below which relaxation candidates sample with ``moves="correlated"``:
    ``CORRELATED_NOISE`` × the data's range."""
    return CORRELATED_NOISE * _data_range(y)


def _data_range(y) -> float:
    y = np.asarray(y, float)
    return float(np.ptp(y)) or float(np.max(np.abs(y))) or 1.0


def single_precision_floor(y) -> float:
    """The smallest noise (data units) that single-precision sampling resolves: ``SINGLE_PRECISION_NOISE`` ×
    the data's range. Certified data with noise at 1e-13 (NIST Lanczos1) or 1e-6 (Lanczos2) of their
    range sample in float64."""
    return SINGLE_PRECISION_NOISE * _data_range(y)


def select(
    candidates: list[Candidate],
    *,
    num_points: int,
    sigma=None,
    sigma0: float | None = None,
    key: jax.Array,
    num_samples: int = 2000,
    num_burnin: int | None = None,
    num_replicas: int = 32,
    num_chains: int = 4,
    checkpoints: CheckpointFactory | None = None,
    progress: Progress | None = None,
    precision: float | None = None,
    dtype=None,
    noise_floor: float = 0.0,
    correlated_floor: float = 0.0,
) -> Selection:
    """Run every candidate and select by the free energy.

    Args:
        candidates: the models.
        num_points: n, the number of data points (for F(σ)).
        sigma: the known noise (scalar or [n]); None estimates it over the ladder from a pilot run
            at the reference noise ``sigma0`` (default: half the second-difference noise scale).
            Candidates with ``needs_noise=False`` (Poisson counts) ignore both.
        key: a ``jax.random`` key; candidate ``i`` uses ``fold_in(key, i)``.
        checkpoints: ``name -> Checkpoint`` for each run (e.g. ``physlaw.io.checkpoints.CheckpointFolder(dir)``;
            runs named ``<candidate>`` and ``<candidate>-noise<i>``), resumed when present; None for none.
        progress: receives each run's progress (``physlaw.sampling.Progress``), or None.
        precision: sample until each free energy's error is below this many nat (the engine's
            ``precision``); None runs ``num_samples`` sweeps.
        dtype: the sampler's working precision (the engine's ``dtype``; e.g. ``jnp.float32``, about twice
            the sweeps per second of float64; free energies are summed in float64 either way). None:
            float64. Candidates with a Poisson likelihood (``info["likelihood"] == "poisson"``) always
            sample in float64: their log-likelihood is a sum of terms ~ counts · log(counts), too large
            for single precision.
        noise_floor: with a single-precision ``dtype``, a candidate whose noise (given, or the pilot's
            estimate) is below this samples in float64: single precision cannot resolve the data
            (``single_precision_floor``).
        correlated_floor: a candidate whose noise (given, the pilot's reference σ0, or its estimate σ̂) is
            below this samples with ``moves="correlated"`` (``run``): at a high signal-to-noise ratio the
            posterior of a sum of exponentials is a valley far narrower than it is long, which coordinate
            moves cannot walk (``correlated_noise_floor``).

    Returns:
        A ``Selection`` (probabilities with equal prior odds on the candidates).
    """
    if not candidates:
        raise InputError("no candidate models to select from")
    runner = _Runner(num_points, sigma, sigma0, checkpoints, dict(
        num_samples=num_samples, num_burnin=num_burnin, num_replicas=num_replicas, num_chains=num_chains,
        progress=progress, **({} if precision is None else {"precision": precision}),
        **({} if dtype is None else {"dtype": dtype})), noise_floor, correlated_floor)
    fits = [runner.fit(cand, jax.random.fold_in(key, i)) for i, cand in enumerate(candidates)]
    return _selection(fits, runner.noise_estimated(candidates))


def scan(
    make_candidates: Callable[[int], list[Candidate]],
    *,
    kmin: int = 1,
    kmax: int | None = None,
    limit: int = 8,
    margin: float = 2.0,
    prune: float = 30.0,
    num_points: int,
    sigma=None,
    sigma0: float | None = None,
    key: jax.Array,
    num_samples: int = 2000,
    num_burnin: int | None = None,
    num_replicas: int = 32,
    num_chains: int = 4,
    checkpoints: CheckpointFactory | None = None,
    progress: Progress | None = None,
    precision: float | None = None,
    dtype=None,
    noise_floor: float = 0.0,
    what: str = "components",
    correlated_floor: float = 0.0,
) -> Selection:
    """Select the number of components K (and the other choices) without an arbitrary edge.

    ``make_candidates(k)`` gives the models with K = k (one per *family*: line shape, background,
    sign...; ``info["family"]``, default the name). A family is dropped when, after at least two K,
    its best F is more than ``prune`` nat above the best of all families (p < e^-30), unless at its
    second K that component gained more than the gap (then it gets a third K). A family far behind
    at its first K is kept: two exponential modes lose to one stretched exponential by 1360 nat at
    K = 1 and win at K = 2. With ``kmax`` given, K = kmin..kmax
    are run for every family not dropped (each candidate with the key :func:`select` would give it
    on the whole list). Otherwise K grows from ``kmin``; a family also stops growing once its free
    energy has stayed above its own minimum by more than ``margin`` nat plus two standard errors for
    two consecutive K, or at K = ``limit``.
    A selected model at the largest K tried is reported in ``warnings``: the data may hold more
    components than were tried.

    A family may name a *parent* (``info["joins_after"]``: the family it extends, e.g. the asymmetric
    line of the symmetric one): it runs after the others at its first K, and only if its parent is then
    within ``prune`` nat of the best; otherwise it is not tried at all (listed in ``info`` of no fit;
    the caller can say so). It never changes the runs that happen (keys follow the candidate's position).

    Every fit's ``info`` gets ``"K"``. Other arguments as in :func:`select`.
    """
    if not (1 <= kmin and (kmax is None or kmin <= kmax) and kmin <= limit):
        raise InputError(f"need 1 ≤ kmin ≤ kmax ≤ limit, got kmin={kmin}, kmax={kmax}, limit={limit}")
    grow = kmax is None
    runner = _Runner(num_points, sigma, sigma0, checkpoints, dict(
        num_samples=num_samples, num_burnin=num_burnin, num_replicas=num_replicas, num_chains=num_chains,
        progress=progress, **({} if precision is None else {"precision": precision}),
        **({} if dtype is None else {"dtype": dtype})), noise_floor, correlated_floor)
    history: dict[str, list[CandidateFit]] = {}   # family -> its fits in order of K
    active: set[str] | None = None
    fits, seen, k, offset = [], [], kmin, 0
    while k <= (limit if grow else kmax):
        cands = make_candidates(k)
        families = [c.info.get("family", c.name) for c in cands]
        if active is None:
            active = set(families)
        todo = [(i, c, fam) for i, (c, fam) in enumerate(zip(cands, families)) if fam in active]
        # parents before the families that extend them; then the family that led at the last K first, so
        # that a candidate far behind stops at its minimum length (``_Runner._race``) instead of running
        # to the precision while the leader is still to come. Keys follow the position, not this order.
        todo.sort(key=lambda t: ("joins_after" in t[1].info,
                                 history[t[2]][-1].free_energy if t[2] in history else -np.inf))
        if not todo:
            break
        kkey = jax.random.fold_in(key, 1000 + k)
        done: dict[int, tuple] = {}
        for i, c, fam in todo:
            parent = c.info.get("joins_after")
            if parent is not None and fam not in history:   # its first K: only beside a parent in the race
                now = {families[j]: f for j, (_, f) in done.items()}   # the parent's run at this K
                lead = now.get(parent, history.get(parent, [None])[-1])
                so_far = [f.free_energy for f in fits] + [f.free_energy for f in now.values()]
                if lead is None or lead.free_energy - min(so_far) > prune:
                    active.discard(fam)
                    continue
            # with kmax, candidate i of the whole list K = kmin..kmax uses fold_in(key, i), as ``select``
            ckey = jax.random.fold_in(kkey, i) if grow else jax.random.fold_in(key, offset + i)
            done[i] = (c, runner.fit(_with_k(c, k), ckey))
        for i in sorted(done):   # results in the candidates' order, whatever order they ran in
            c, f = done[i]
            fits.append(f)
            seen.append(c)
            history.setdefault(families[i], []).append(f)
        offset += len(cands)
        best = min(f.free_energy for f in fits)
        for fam in list(active):
            h = history.get(fam, [])
            f_min = min(h, key=lambda f: f.free_energy) if h else None
            if f_min is None:
                continue
            risen = [f.free_energy > f_min.free_energy + margin
                     + 2.0 * float(np.hypot(f.free_energy_err, f_min.free_energy_err)) for f in h[-2:]]
            gap = f_min.free_energy - best
            # far behind after two K: dropped, unless its second component gained more than the gap (one
            # more K to catch up, once: dips imitated by broad peaks between them keep gaining at every K)
            hopeless = len(h) >= 2 and gap > prune and (len(h) > 2 or h[-2].free_energy - h[-1].free_energy < gap)
            if (grow and len(h) >= 2 and all(risen)) or hopeless:
                active.discard(fam)
        if not active:
            break
        k += 1
    sel = _selection(fits, runner.noise_estimated(seen))
    k_best = sel.best.info["K"]
    if not grow:
        if kmax > kmin and k_best == kmax:
            sel.warnings.append(_edge_warning(kmax, what, f"the largest K asked for (--kmax {kmax})"))
    elif k_best == max(f.info["K"] for f in fits) and k_best > kmin:
        sel.warnings.append(_edge_warning(k_best, what, f"the limit of the scan ({limit})"))
    return sel


#: How the warning of a selected K at the edge of the range tried begins (``Selection.caveat`` looks for it).
EDGE_WARNING = "the selected model has K = "


def _edge_warning(k: int, what: str, edge: str) -> str:
    return (f"{EDGE_WARNING}{k} {what}, {edge}: the data may hold more; this K is a lower bound, "
            "not an answer — raise the limit or simplify the model")


def _with_k(c: Candidate, k: int) -> Candidate:
    return replace(c, info={**c.info, "K": k})


class _Runner:
    """Runs one candidate: a noise pilot on the ladder when σ is unknown, then the final run."""

    def __init__(self, num_points, sigma, sigma0, checkpoints, settings, noise_floor: float = 0.0,
                 correlated_floor: float = 0.0):
        if sigma is not None and np.any(np.asarray(sigma) <= 0):
            raise InputError(f"the noise sigma must be positive, got {np.min(sigma)}")
        self.num_points, self.sigma, self.sigma0 = num_points, sigma, sigma0
        self.checkpoints, self.settings, self.noise_floor = checkpoints, settings, noise_floor
        self.correlated_floor = correlated_floor
        self.best: tuple[float, float] | None = None   # (F, err) of the best final run so far

    def _race(self, burn: int) -> dict:
        """A candidate many errors worse than the best so far (``out_of_the_race``) stops at the minimum
        length: with a precision, ``num_samples``; without one, a quarter of it (at least 500 sweeps),
        while every other candidate runs exactly the ``num_samples`` sweeps (after ``burn`` sweeps of
        burn-in) of a fixed-length run (the same draws: chunk keys do not depend on the checks)."""
        if self.best is None:
            return {}
        race = {"stop_early": out_of_the_race(*self.best)}
        if "precision" in self.settings:
            return race
        n = int(self.settings.get("num_samples", 2000))
        if n < 1000:
            return {}
        return {**race, "num_samples": max(500, n // 4), "max_samples": n, "num_burnin": burn}

    def _burnin(self, warm: bool) -> int:
        """The final run's burn-in: the run's default (``max(1000, num_samples // 2)``) or the one given;
        a quarter of it (at least 300 sweeps) when it starts from the noise pilot's replicas, whose
        ladder, states and step sizes are already tuned (``RunStart.rescaled``)."""
        burn = self.settings.get("num_burnin")
        burn = max(1000, int(self.settings.get("num_samples", 2000)) // 2) if burn is None else int(burn)
        return max(300, burn // 4) if warm else burn

    def _pilot_settings(self, settings: dict) -> dict:
        """The noise pilot is a quarter of the final run (at least 250 sweeps, burn-in at least 500) at a
        fixed length: F is stationary in σ at its minimum, so σ̂'s error enters the final F only to
        second order."""
        out = {k: v for k, v in settings.items() if k != "precision"}
        n = int(out.get("num_samples", 2000))
        out["num_samples"] = max(250, n // 4)
        burn = out.get("num_burnin")
        out["num_burnin"] = max(500, (max(1000, n // 2) if burn is None else int(burn)) // 2)
        return out

    def noise_estimated(self, candidates) -> bool:
        return self.sigma is None and any(c.needs_noise for c in candidates)

    def _ckpt(self, name):
        return None if self.checkpoints is None else self.checkpoints(name)

    def _settings(self, cand: Candidate, noise=None) -> dict:
        """The run settings of a candidate: float64 (no ``dtype``) for a Poisson likelihood, and for a noise
        below ``noise_floor`` (float32 cannot resolve the data), whatever the selection's ``dtype``;
        ``moves="correlated"`` for a noise below ``correlated_floor``."""
        poisson = cand.info.get("likelihood") == "poisson"
        below = (lambda floor: noise is not None and np.min(noise) < floor)  # noqa: E731
        out = dict(self.settings)
        if "dtype" in out and (poisson or below(self.noise_floor)):
            del out["dtype"]
        if below(self.correlated_floor):
            out["moves"] = "correlated"
        return out

    def _pilot(self, cand: Candidate, key, settings: dict, tag: str = ""):
        """The noise pilot on the ladder at σ0 (σ0 / 4 again while σ̂ is at the grid's edge, up to σ0 / 16; with
        correlated moves, which reach the narrow posteriors of nearly noise-free data such as the NIST
        Lanczos sets, up to σ0 / 4⁷): (pilot, curve, σ0)."""
        if not (self.sigma0 is not None and self.sigma0 > 0):
            raise InputError("estimating the noise needs a positive reference noise sigma0")
        s0, init = float(self.sigma0), None
        if settings.get("moves") == "correlated":
            s0, init = self._least_squares_start(cand, key, s0)
        for attempt in range(8 if settings.get("moves") == "correlated" else 3):
            pilot = run(jax.random.fold_in(key, attempt), cand.make_target(s0), init=init,
                        checkpoint=self._ckpt(f"{cand.name}-noise{attempt}{tag}"),
                        progress_desc=f"{cand.name}: noise", **self._pilot_settings(settings))
            curve = noise_curve(pilot.free_energy, s0, self.num_points)
            if curve.sigma_hat > 1.05 * s0:  # the minimum lies inside the ladder's σ grid
                break
            s0 /= 4.0
        return pilot, curve, s0

    def _least_squares_start(self, cand: Candidate, key, s0: float):
        """(σ0, init) of a pilot with correlated moves: a candidate with a linear part starts its replicas at
        its least-squares point (``sampling.least_squares_point``), and its σ0 is lowered to half the
        least-squares residual σ_LS = √(RSS / (n − d)) where that lies below σ0, so that σ̂ is inside the
        pilot's grid at once (NIST Lanczos2: σ_LS = 1.106e-6, certified 1.113e-6). Otherwise (σ0, None)."""
        target = cand.make_target(s0)
        point = least_squares_point(target, jax.random.fold_in(key, 99))
        if point is None:
            return s0, None
        dof = self.num_points - point.position.size
        if dof > 0 and point.chi2 > 0:
            s0 = min(s0, 0.5 * s0 * float(np.sqrt(point.chi2 / dof)))
        return s0, point.position

    def fit(self, cand: Candidate, key) -> CandidateFit:
        k_pilot, k_final = split_keys(key, 2)
        curve = start = None
        settings = self._settings(cand, self.sigma)
        if not cand.needs_noise:
            noise = None
        elif self.sigma is None:
            settings = self._settings(cand, self.sigma0)
            pilot, curve, s0 = self._pilot(cand, k_pilot, settings)
            narrowed = self._settings(cand, curve.sigma_hat)
            if _weaker(settings, narrowed):   # σ̂ needs float64 or correlated moves: the pilot again with them
                settings = narrowed
                pilot, curve, s0 = self._pilot(cand, k_pilot, settings,
                                               "-float64" if "moves" not in settings else "-correlated")
            noise = curve.sigma_hat
            if noise > s0:   # the final run at σ̂ starts where the pilot's rung β = (σ0/σ̂)² ended
                start = pilot.final.rescaled((s0 / noise) ** 2)
        else:
            noise = self.sigma
        burn = self._burnin(start is not None)
        res = run(k_final, cand.make_target(noise), start=start, checkpoint=self._ckpt(cand.name),
                  progress_desc=cand.name, **{**settings, "num_burnin": burn, **self._race(burn)})
        if cand.finish is not None:
            res = cand.finish(res)
        if curve is not None:
            ll1 = float(np.mean(np.asarray(res.log_likelihood, np.float64)[:, :, -1]))
            curve = curve._replace(stationarity=stationarity(ll1, float(noise), self.num_points))
        fe = res.free_energy
        if np.isfinite(fe.free_energy) and (self.best is None or fe.free_energy < self.best[0]):
            self.best = (float(fe.free_energy), float(fe.free_energy_err))
        sigma_mean = float("nan") if noise is None else float(np.mean(noise))
        return CandidateFit(cand.name, res, sigma_mean, curve, info=dict(cand.info))


def _weaker(settings: dict, needs: dict) -> bool:
    """Whether run ``settings`` sample less capably than ``needs``: float32 where float64 is needed, or
    coordinate moves where correlated ones are."""
    return ("dtype" in settings and "dtype" not in needs) or ("moves" in needs and "moves" not in settings)


def _selection(fits: list[CandidateFit], noise_estimated: bool) -> Selection:
    p, perr = model_probabilities([f.free_energy for f in fits], [f.free_energy_err for f in fits])
    for f, pi, ei in zip(fits, p, perr):
        f.probability, f.probability_err = float(pi), float(ei)
    selected = fits[int(np.argmax(p))].name
    chosen = next(f for f in fits if f.name == selected)
    # what makes the answer itself unreliable comes first, then the runs' own sampler warnings
    warnings = [unsettled_noise_warning(f) for f in fits if f.name == selected and not noise_settled(f)]
    warnings += [f"{f.name}: its free energy is unknown (F = {f.free_energy:.4g} ± {f.free_energy_err:.3g} nat; see its "
                 f"sampler warnings), so it cannot be ruled out against {selected}: the selection is not reliable"
                 for f in unresolved(fits, chosen)]
    others = [f for f in fits if f.name != selected and not noise_settled(f)]
    if others:
        warnings.append("the noise estimate has not settled for " + ", ".join(
            f"{f.name} (r = {f.noise.stationarity:.2f})" for f in others) + ": their free energies are not reliable "
            "(where r < 1, only upper bounds: F(σ) falls towards smaller σ), so neither is the margin to them")
    warnings += [f"{f.name}: {w}" for f in fits for w in f.result.warnings]
    warnings += [f"{f.name}: the noise estimate {f.noise_sigma:.4g} lies at the edge of the ladder's σ grid; "
                 "it is a bound, not a minimum" for f in fits if f.noise is not None and f.noise.at_edge
                 and f.name == selected]
    return Selection(fits, selected, noise_estimated, warnings)


#: A candidate whose free energy error exceeds this (nat) and that lies within three errors of the selected
#: model's F (or whose F is not finite) could be the better model: its F is unknown (NIST Lanczos1's K = 3 at
#: σ = 9e-14: F = 1.5e12 ± 4.3e12, the ladder's lowest rungs did not exchange).
UNKNOWN_FREE_ENERGY = 3.0


def unresolved(fits, best) -> list:
    """The candidates other than ``best`` whose free energy is too uncertain to rule them out."""
    def rules_out(f):
        err = f.free_energy_err
        return bool(np.isfinite(f.free_energy) and np.isfinite(err)
                    and (err <= UNKNOWN_FREE_ENERGY or f.free_energy - 3.0 * err > best.free_energy))
    return [f for f in fits if f.name != best.name and not rules_out(f)]


def noise_settled(fit: ModelFit) -> bool:
    """False when the fit's noise was estimated and its final run says σ̂ is not F's stationary point
    (``noise.stationarity`` outside ``noise.SETTLED``); True otherwise."""
    r = np.nan if fit.noise is None else fit.noise.stationarity
    return not np.isfinite(r) or SETTLED[0] <= r <= SETTLED[1]


def unsettled_noise_warning(fit: ModelFit) -> str:
    r = fit.noise.stationarity
    rms = fit.noise_sigma * np.sqrt(r)
    why = ("F(σ) still falls towards smaller σ, so the noise pilot's colder rungs had not settled (on very precise "
           "data the posterior is a valley too narrow to walk; relaxation: --moves correlated walks narrower ones)"
           if r < 1 else "the draws fit worse than that noise: the run at σ̂ has not settled (run longer)")
    return (f"{fit.name}: the noise estimate σ̂ = {fit.noise_sigma:.4g} has not settled: the draws at σ̂ leave a "
            f"residual RMS of {rms:.3g} ({r:.2f} σ̂², where F is smallest it equals σ̂²); {why}. The noise, the "
            "free energies and the selected model are not reliable")


# ----------------------------------------------------------------------------------------------
# Spectra


def spectrum_model_name(num_peaks: int, shape: str, background: str, component: str = "peak",
                        sign: str = "positive") -> str:
    """E.g. ``K2-gauss-linear``, ``K1-sextet-lorentz-linear-dips``."""
    kind = "" if component == "peak" else f"{component}-"
    return f"K{num_peaks}-{kind}{shape}-{background}" + ("-dips" if sign == "negative" else "")


def is_counts(y) -> bool:
    """True for counts (possibly multiplied by one constant): a Poisson likelihood applies."""
    return count_scale(y) is not None


@dataclass
class SpectrumAnalysis(Selection):
    """``deconvolve``'s result: a ``Selection`` plus the data and their transform to sampler units."""

    x: np.ndarray = None
    y: np.ndarray = None
    sigma: np.ndarray | None = None
    transforms: dict = field(default_factory=dict)
    likelihood: str = "gaussian"
    notes: list = field(default_factory=list)

    plot_style = {"xlabel": "x", "ylabel": "y", "component_label": "peak"}

    def physical(self, name: str | None = None) -> dict:
        """Posterior draws of a model (default: the selected one) in data units, ordered by centre."""
        f = self.fit(name or self.selected)
        post = {k: np.asarray(v).reshape(-1, *np.shape(v)[2:]) for k, v in f.result.posterior().items()}
        return sp.physical_samples(post, self.transforms[f.name], f.info["shape"], f.info["background"],
                                   f.info.get("component", "peak"))

    def parameter_summaries(self, name: str | None = None) -> dict:
        """``{"peak 1": {"centre": summary, ...}, ..., "background": {...}}``; components ordered by centre."""
        phys = self.physical(name)
        f = self.fit(name or self.selected)
        label = "peak" if f.info.get("component", "peak") == "peak" else "site"
        out = {}
        for k in range(phys["centre"].shape[1]):
            out[f"{label} {k + 1}"] = {q: parameter_summary(phys[q][:, k]) for q in COMPONENT_QUANTITIES if q in phys}
        bg = {q: parameter_summary(v) for q, v in phys.items() if q.startswith("background")}
        if bg:
            out["background"] = bg
        return out

    def marginals(self, name: str | None = None) -> dict:
        phys = self.physical(name)
        out = {f"{q} {k + 1}": phys[q][:, k] for k in range(phys["centre"].shape[1])
               for q in ("centre", "amplitude", "fwhm", "eta", "asymmetry", "field", "splitting") if q in phys}
        out.update({q: v for q, v in phys.items() if q.startswith("background")})
        return out

    def predictive(self, grid=None, *, name: str | None = None, num_draws: int = 400, seed: int = 0) -> dict:
        """Posterior predictive on ``grid`` (default 400 points over the data's range).

        Returns:
            ``{"x", "median", "mean_95": [2, m], "mean_68", "predictive_95": [2, m],
            "components": [K, m] (median of each ordered component, signed), "background": [m]}``.
        """
        f = self.fit(name or self.selected)
        grid = np.linspace(self.x.min(), self.x.max(), 400) if grid is None else np.asarray(grid, float)
        return predictive_bands(self.physical(f.name), grid, f.info["shape"], f.info["background"],
                                self.transforms[f.name], f.noise_sigma, num_draws, seed,
                                component=f.info.get("component", "peak"), sign=f.info.get("sign", "positive"),
                                likelihood=self.likelihood, count_scale=f.info.get("count_scale", 1.0))

    def probability_at_least(self, num_peaks: int) -> float:
        """p(K ≥ num_peaks | D), summed over shapes and backgrounds."""
        return float(sum(f.probability for f in self.fits if f.info["num_peaks"] >= num_peaks))

    def peak_number_probabilities(self) -> dict[int, float]:
        """p(K | D) summed over the line shapes and backgrounds of the scan."""
        out: dict[int, float] = {}
        for f in self.fits:
            out[f.info["num_peaks"]] = out.get(f.info["num_peaks"], 0.0) + f.probability
        return dict(sorted(out.items()))

    def choice_probabilities(self, key: str) -> dict[str, float]:
        """p(choice | D) of one axis of the model (``background``, ``shape``, ``component``, ``sign``), summed over K."""
        out: dict[str, float] = {}
        for f in self.fits:
            out[str(f.info.get(key))] = out.get(str(f.info.get(key)), 0.0) + f.probability
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def verdict(self) -> str:
        """One sentence: what was selected, how strongly, and on what likelihood."""
        best = self.best
        k = best.info["num_peaks"]
        comp = best.info.get("component", "peak")
        noun = "peak" if comp == "peak" else f"{comp} site"
        pk = self.peak_number_probabilities()
        text = (f"{k} {noun}{'s' if k > 1 else ''} ({best.info['shape']} lines, {best.info['background']} background"
                f"{', absorption dips' if best.info.get('sign') == 'negative' else ''}), p(K = {k} | D) = {pk[k]:.3g}")
        others = [f for f in self.fits if f.info["num_peaks"] != k]
        if others:
            nxt = min(others, key=lambda f: f.free_energy)
            text += "; " + evidence_words(best, nxt, f"K = {nxt.info['num_peaks']}")
        lik = "Poisson counts" if self.likelihood == "poisson" else (
            f"Gaussian noise σ = {self.noise_sigma:.4g} ({'estimated' if self.noise_estimated else 'given'})")
        return f"{text}; {lik}{self.caveat()}"


#: Per-component quantities reported, in this order.
COMPONENT_QUANTITIES = ("centre", "amplitude", "fwhm", "area", "eta", "asymmetry", "field", "quadrupole_shift", "line_ratio",
                        "splitting")


def predictive_bands(phys: dict, grid, shape: str, background: str, tr, noise_sigma: float,
                     num_draws: int = 400, seed: int = 0, *, component: str = "peak", sign: str = "positive",
                     likelihood: str = "gaussian", count_scale: float = 1.0) -> dict:
    """Median, 68/95 % bands of the mean, 95 % predictive band and median components on ``grid``
    from posterior draws in data units (``spectrum.physical_samples``)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(phys["centre"].shape[0], size=min(num_draws, phys["centre"].shape[0]), replace=False)
    sub = {k: v[idx] for k, v in phys.items()}
    comps, bg = sp.model_curves(sub, grid, shape, background, tr, component, sign)
    total = comps.sum(1) + bg
    if likelihood == "poisson":
        noisy = count_scale * rng.poisson(np.clip(total / count_scale, 0.0, None)).astype(float)
    else:
        noisy = total + rng.normal(0.0, noise_sigma, total.shape)
    return {
        "x": grid,
        "median": np.median(total, 0),
        "mean_68": np.quantile(total, [0.16, 0.84], axis=0),
        "mean_95": np.quantile(total, [0.025, 0.975], axis=0),
        "predictive_95": np.quantile(noisy, [0.025, 0.975], axis=0),
        "components": np.median(comps, 0),
        "background": np.median(bg, 0),
    }


def auto_shapes(components, likelihood: str = "gaussian") -> tuple[str, ...]:
    """The line shapes ``auto`` fits: Lorentzian for Mössbauer sextets and doublets (their natural line
    shape), else the pseudo-Voigt — its per-line mixing η spans Gaussian (η = 0, e.g. instrumental
    broadening) to Lorentzian (η = 1, lifetime broadening), so measured lines (XPS, Mössbauer,
    optical) are not split into extra components to mimic their tails; the report gives η. On counts
    (XPS, gamma-ray, diffraction detectors) the asymmetric Doniach–Šunjić pseudo-Voigt competes too
    (for peaks, not dips): a metal's or graphite's core line has a tail that symmetric lines can only
    tile with extra components (the real C 1s: eight Voigt lines)."""
    if all(c in ("sextet", "doublet") for c in components):
        return ("lorentz",)
    return ("voigt", "doniach") if likelihood == "poisson" else ("voigt",)


def _choices(value, options, auto, what):
    """A tuple of choices from a name, ``"auto"``/``"all"`` or a sequence, each checked."""
    if isinstance(value, str):
        value = auto if value == "auto" else (options if value == "all" else (value,))
    value = tuple(value)
    for v in value:
        if v not in options:
            raise InputError(f"unknown {what} {v!r}; choose from {', '.join(options)}, auto or all")
    return value


def deconvolve(
    x,
    y,
    *,
    sigma=None,
    estimate_noise: bool = False,
    kmax: int | None = None,
    kmin: int = 1,
    limit: int = 8,
    shapes="auto",
    backgrounds="auto",
    components="peak",
    likelihood: str = "auto",
    signs="auto",
    priors="auto",
    prior_overrides: dict | None = None,
    key: jax.Array,
    num_samples: int = 2000,
    num_burnin: int | None = None,
    num_replicas: int = 32,
    num_chains: int = 4,
    checkpoints: CheckpointFactory | None = None,
    progress: Progress | None = None,
    precision: float | None = None,
    dtype=None,
) -> SpectrumAnalysis:
    """Spectral deconvolution with model selection over K × line shapes × components × backgrounds × signs.

    Args:
        x, y: [n] the spectrum (x in any order, e.g. decreasing binding energy).
        sigma: known noise (scalar or [n]); None estimates it over the ladder (Gaussian likelihood).
        estimate_noise: kept for compatibility: the noise is estimated whenever ``sigma`` is None.
        kmax: the largest K; None grows K until the free energy has clearly passed its minimum
            (``scan``, at most ``limit``).
        shapes, backgrounds, components, signs: a name, a sequence of names, ``"all"`` or ``"auto"``
            (shapes: ``auto_shapes``; backgrounds: ``AUTO_BACKGROUNDS``; signs: both). Every
            combination is a model *family*.
        likelihood: ``gaussian``, ``poisson`` or ``auto`` (Poisson for non-negative integer data
            without a given ``sigma``).
        priors: ``"auto"`` (the reference priors rescaled to the data's ranges) or ``"nagata"``.
        prior_overrides: from ``physlaw.io.priors.load_prior_toml`` (data units).
        key: a ``jax.random`` key.
        checkpoints, progress, precision, dtype: as in :func:`select` (float64 for a Poisson likelihood,
            and for noise below float32's resolution of the data: ``single_precision_floor``).

    Returns:
        A ``SpectrumAnalysis``; its ``notes`` say in words what ``auto`` chose and why.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if estimate_noise and sigma is not None:
        raise InputError("give either a noise level (sigma) or estimate_noise, not both")
    notes = []
    scale = count_scale(y) if sigma is None else None
    if likelihood == "auto":
        likelihood = "poisson" if scale is not None else "gaussian"
        if likelihood == "gaussian":
            notes.append("Gaussian likelihood (" + ("σ given" if sigma is not None else
                                                    "the data are not counts; σ estimated") + ")")
        elif scale == 1.0:
            notes.append("the data are non-negative integers (counts): Poisson likelihood")
        else:
            notes.append(f"the data are counts times {scale:.6g} (they lie on a lattice of that step): Poisson "
                         f"likelihood of y / {scale:.6g}")
    if likelihood == "poisson" and scale is None:
        scale = 1.0
    if likelihood not in sp.LIKELIHOODS:
        raise InputError(f"unknown likelihood {likelihood!r}; choose gaussian, poisson or auto")
    if likelihood == "poisson" and (sigma is not None or not np.all(y >= 0)):
        raise InputError("a Poisson likelihood needs non-negative counts and no sigma")
    components = _choices(components, sp.COMPONENTS, ("peak",), "component")
    auto_shape = shapes == "auto"
    shapes = _choices(shapes, sp.SHAPES, auto_shapes(components, likelihood), "line shape")
    backgrounds = _choices(backgrounds, sp.BACKGROUNDS, sp.AUTO_BACKGROUNDS, "background")
    signs = _choices(signs, sp.SIGNS, sp.SIGNS, "sign")
    settings = dict(num_points=x.size, sigma=sigma, sigma0=0.5 * noise_scale_guess(y) if sigma is None else None,
                    num_samples=num_samples, num_burnin=num_burnin, num_replicas=num_replicas,
                    num_chains=num_chains, checkpoints=checkpoints, progress=progress, precision=precision,
                    dtype=dtype, noise_floor=single_precision_floor(y))
    transforms = {}
    pad = kmax or limit   # every K of a family runs in one compiled program of this many components
    # Peaks and dips are both scanned (families of their own; the scan drops a hopeless one). A sign
    # decided before the scan from one component is unreliable both ways: on a constant background a
    # decaying baseline looks like one broad dip (NIST Gauss2, dips by 33 nat), on a smooth one two
    # peaks look like a broad hump with a dip between them (Gauss1, dips by 17 nat).
    # (``auto`` pairs the asymmetric line with peaks only: absorption dips are symmetric lines)
    families = [(c, s, b, g) for c in components for s in shapes for b in backgrounds for g in signs
                if not (g == "negative" and b == "none")
                and not (auto_shape and s == "doniach" and (g == "negative" or c != "peak"))]
    if not families:
        raise InputError("absorption dips (sign negative) need a background: choose one other than none")

    def make_candidates(k):
        out = []
        for comp, shape, bg, sign in families:
            sp.check_model(k, shape, bg, comp, likelihood, sign)
            name = spectrum_model_name(k, shape, bg, comp, sign)
            transforms[name] = sp.model_transform(x, y, priors, bg, sign)
            info = {"num_peaks": k, "shape": shape, "background": bg, "component": comp, "sign": sign,
                    "likelihood": likelihood, "family": name.split("-", 1)[1],
                    **({"count_scale": scale} if likelihood == "poisson" else {})}
            if auto_shape and shape == "doniach":   # the asymmetric line extends the symmetric one
                info["joins_after"] = spectrum_model_name(k, "voigt", bg, comp, sign).split("-", 1)[1]
            out.append(Candidate(name, info, _spectrum_maker(x, y, k, info, transforms[name], prior_overrides, pad,
                                                             any_background=len(backgrounds) > 1),
                                 needs_noise=likelihood == "gaussian"))
        return out

    sel = scan(make_candidates, kmin=kmin, kmax=kmax, limit=limit, key=key, what="peaks", **settings)
    res = SpectrumAnalysis(sel.fits, sel.selected, sel.noise_estimated, sel.warnings, x=x, y=y,
                           sigma=None if sigma is None else np.broadcast_to(np.asarray(sigma, float), x.shape),
                           transforms=transforms, likelihood=likelihood, notes=notes)
    if auto_shape and "doniach" in shapes and not any(f.info["shape"] == "doniach" for f in res.fits):
        res.notes.append("the asymmetric (doniach) line was not tried: symmetric peaks were more than 30 nat "
                         "behind the best model at K = 1")
    for axis, options in (("background", backgrounds), ("shape", shapes), ("component", components), ("sign", signs)):
        if len(options) > 1:
            p = res.choice_probabilities(axis)
            top = next(iter(p))
            res.notes.append(f"{axis}: {top} (p = {p[top]:.3g}; compared " + ", ".join(
                f"{k} {v:.2g}" for k, v in p.items()) + ")")
    phys = res.physical()
    beyond = outside_window(np.median(phys["centre"], axis=0), x)
    if beyond:
        res.warnings.append(beyond)
    if res.best.info.get("component", "peak") == "peak":
        overlap = unresolved_components(np.median(phys["centre"], axis=0), np.median(phys["fwhm"], axis=0),
                                        window=(float(np.min(x)), float(np.max(x))))
        if overlap:
            res.warnings.append(overlap)
    return res


#: Two lines closer than this many times their mean FWHM add up to a single maximum (two equal
#: Lorentzians: 1/√3 ≈ 0.577; equal Gaussians: 2/2.3548 ≈ 0.849, so this flags only lines that are
#: unresolved for any symmetric shape between them).
UNRESOLVED_SEPARATION = 1 / np.sqrt(3)


def unresolved_groups(centres, fwhms) -> list[list[int]]:
    """Groups (indices in centre order, as the components are numbered) of two or more components
    whose neighbouring centres lie closer than ``UNRESOLVED_SEPARATION`` × their mean FWHM."""
    c, w = np.asarray(centres, float), np.asarray(fwhms, float)
    order = np.argsort(c)
    c, w = c[order], w[order]
    groups, current = [], [0]
    for i in range(1, c.size):
        if c[i] - c[i - 1] < UNRESOLVED_SEPARATION * 0.5 * (w[i] + w[i - 1]):
            current.append(i)
        else:
            groups.append(current)
            current = [i]
    groups.append(current)
    return [g for g in groups if len(g) > 1]


def unresolved_components(centres, fwhms, window: tuple[float, float] | None = None) -> str:
    """A warning in words when components of the selected model are not resolved from each other
    (their sum has one maximum): the data need the shape they make together, but not that they are
    distinct lines; else ''. With ``window`` (the measured x range) the separate features are counted
    inside it only (a component outside has its own warning)."""
    groups = unresolved_groups(centres, fwhms)
    if not groups:
        return ""
    c = np.sort(np.asarray(centres, float))
    w = np.asarray(fwhms, float)[np.argsort(np.asarray(centres, float))]
    parts = [f"components {g[0] + 1}–{g[-1] + 1} (centres {', '.join(f'{c[i]:.5g}' for i in g)}; FWHM "
             + (f"{min(w[g]):.3g}–{max(w[g]):.3g})" if f"{min(w[g]):.3g}" != f"{max(w[g]):.3g}" else f"{w[g[0]]:.3g})")
             for g in groups]
    inside = np.ones(c.size, bool) if window is None else (c >= window[0]) & (c <= window[1])
    grouped = {i for g in groups for i in g[1:]}   # every member of a group but its first
    distinct = int(sum(1 for i in range(c.size) if inside[i] and i not in grouped))
    where = "" if window is None else " inside the measured range"
    return ("unresolved lines: " + "; ".join(parts) + " lie closer together than their widths, so each group adds "
            "up to one maximum: the data need the line shape the group makes, not that its members are distinct "
            f"lines (e.g. chemical states); of the K = {c.size} components the spectrum resolves {distinct} "
            f"separate feature{'s' if distinct != 1 else ''}{where}")


def outside_window(centres, x) -> str:
    """A warning in words when components of the selected model are centred outside the measured x
    range (they model background or a line beyond the window, not a line the data resolve), else ''."""
    centres = np.asarray(centres, float)
    lo, hi = float(np.min(x)), float(np.max(x))
    out = centres[(centres < lo) | (centres > hi)]
    if out.size == 0:
        return ""
    return (f"{out.size} of the {centres.size} components of the selected model {'is' if out.size == 1 else 'are'} "
            f"centred outside the measured range {lo:.6g} .. {hi:.6g} (at {', '.join(f'{c:.6g}' for c in out)}): "
            f"{'it models' if out.size == 1 else 'they model'} background or a line beyond the window, not a line "
            "the data resolve; K counts "
            f"{'it' if out.size == 1 else 'them'}")


def _spectrum_maker(x, y, k, info, tr, overrides, pad=None, any_background=True):
    """``make(sigma)``: the target of one candidate, compiled for ``pad`` components (every K of a scan
    shares one program) and, when the scan compares backgrounds, with every background's parameters
    (``any_background``: one program for all of them). A scan of one background compiles that
    background alone: the all-backgrounds program costs about twice as much per sweep."""

    def make(sigma):
        return sp.spectrum_target(x, y, sigma, k, shape=info["shape"], background=info["background"], priors=tr,
                                  prior_overrides=overrides, component=info["component"],
                                  likelihood=info["likelihood"], sign=info["sign"],
                                  count_scale=info.get("count_scale", 1.0), pad_to=pad,
                                  any_background=pad is not None and any_background)

    return make


def _check_noise_args(sigma, estimate_noise):
    """The old rule (a σ or ``estimate_noise``), kept for callers not yet on the estimate-by-default rule."""
    if estimate_noise and sigma is not None:
        raise InputError("give either a noise level (sigma) or estimate_noise, not both")
    if not estimate_noise and sigma is None:
        raise InputError("no noise level: give sigma (a number or a per-point column) or ask to estimate it")
