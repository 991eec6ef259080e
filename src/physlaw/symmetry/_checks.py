"""Checks that make a found law trustworthy: its drift along held-out trajectories, with an interval,
and a time-shuffled surrogate that exposes laws which are properties of the state distribution only.

A route proposes a law ``G(x)`` (a SymPy expression in the coordinates). Here it is evaluated along
trajectories the route did not see, and three numbers decide its verdict:

* **drift** — the relative rate ``γ = (dG/dt)/⟨|G|⟩`` (units 1/time). Per trajectory ``i`` it is the
  least-squares slope of ``ln|G_i(t)|`` when ``G_i`` keeps its sign (``|G|`` stays above a tenth of its
  largest value: then the estimate is exact for an exponential ``G ∝ e^{γ t}``), else the slope of
  ``G_i(t)`` divided by the mean of ``|G_i|``. Over the ``n`` trajectories: the mean of the ``γ_i`` and
  its 95 % Student-t interval ``γ̄ ± t_{0.975, n−1} s/√n`` (trajectories are independent; the times
  within one are not, so the trajectory is the unit of replication). With fewer than
  ``MIN_UNITS`` (8) trajectories (a real pendulum filmed twice) each trajectory is cut into consecutive
  blocks of at least ``MIN_BLOCK`` (30) samples until there are ``MIN_UNITS`` units, and the blocks are
  the units (batch means: blocks much longer than the motion's correlation time, e.g. a few swings,
  are nearly independent; the report names the blocks). A damped oscillator's energy
  ``E = p²/2 + ω² q²/2`` gives ``γ ≈ −2 ζ ω``.
* **fluctuation** — ``f = median_i RMS_t(G_i − trend_i) / s_G``: how much ``G`` moves along a
  trajectory beyond its trend, against the scale ``s_G`` by which ``G`` changes when the state moves by
  one standard deviation of the data (``s_G² = mean_x Σ_k (∂G/∂x_k)² σ_k²``; independent of the additive
  constant and the normalisation of ``G``). A conserved law has ``f ≈ 0`` (round-off, noise, coefficient
  errors); a quantity that is not conserved has ``f`` of order one.
* **surrogate fluctuation** — the same ``f`` after the states of all held-out trajectories were
  shuffled (across trajectories and times) into surrogate trajectories of the same shape. The
  surrogate destroys the dynamics and keeps the distribution of states: a ``G`` that stays (nearly) as
  constant along surrogate trajectories as along the real ones takes (nearly) one value on all the data
  (below), so the data cannot tell
  whether the dynamics conserve it (e.g. data on one energy shell and their energy, or a centroid
  frame and its total position). Such a law is dropped with a note.

Verdicts: ``"conserved"`` (``f < tol`` and the drift interval contains 0, or the steady change over one
record, ``|γ| T ⟨|G|⟩ / s_G``, is below ``tol`` too — and so is the relative change ``|γ| T`` where ``G``
keeps away from 0 on every trajectory: resolved but negligible), ``"approximately
conserved"`` (``f < tol`` but the interval excludes 0: a slow, steady trend, e.g. friction; the rate
``γ`` is reported), ``"not conserved"`` (``f ≥ tol``). ``tol`` defaults to 0.03 (``FLUCTUATION_TOL``).
A law is dropped as a property of the state distribution when its surrogate fluctuation stays below
``tol`` and below ``SURROGATE_RATIO`` (5) times its real fluctuation: the data's states then share (nearly)
one value of ``G`` and its constancy along the real trajectories is no better than along random
sequences of states.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.stats
import sympy

from physlaw.errors import InputError

FLUCTUATION_TOL = 0.03
"""Largest fluctuation ``f`` (fraction of the data's scale of ``G``) of a conserved law: above round-off,
coefficient errors of learned laws (~1e-3) and observation noise of a few per cent of each coordinate's
spread, below a polynomial that only approximates a law (Lotka–Volterra's ``V`` by a quadratic: 0.08)."""
SURROGATE_RATIO = 5.0
"""A law is a property of the state distribution when shuffling the states raises its fluctuation by
less than this factor (and leaves it below the tolerance)."""
LEVEL = 0.95
MIN_UNITS = 8
"""Fewest units of replication (trajectories, else blocks of them) for the drift's interval."""
MIN_BLOCK = 30
"""Fewest samples in a block when trajectories are cut into blocks."""


@dataclasses.dataclass(frozen=True)
class Drift:
    """The drift of a quantity along trajectories (see the module docstring).

    Attributes:
        rate: mean relative rate ``γ = (dG/dt)/⟨|G|⟩`` (1/time; negative: ``|G|`` decays).
        low, high: its 95 % interval (Student t over trajectories).
        fluctuation: ``f``, the median detrended RMS of ``G`` along a trajectory over ``s_G``.
        surrogate_fluctuation: ``f`` on the time-shuffled surrogate (None when not computed).
        num_trajectories: trajectories that entered the rate.
        duration: median record length (time units).
        num_blocks: the units of the interval when the trajectories were cut into blocks (fewer than
            ``MIN_UNITS`` trajectories), else 0.
        balance: for the energy of a conservative part with its dissipation ``dG/dt = D``, the energy
            balance's fluctuation ``median RMS_t(G(t) − G(t0) − ∫ D dt) / s_G`` (:func:`balance_fluctuation`),
            else None. Below the tolerance it makes a decaying energy "approximately conserved" even where
            ``f`` is not small (friction ∝ ω² removes energy in steps, not as one exponential).
        verdict: ``"conserved"``, ``"approximately conserved"`` or ``"not conserved"``.
        distribution_only: True when ``G`` is constant on the surrogate as well (a property of the
            state distribution, not of the dynamics).
    """

    rate: float
    low: float
    high: float
    fluctuation: float
    surrogate_fluctuation: float | None
    num_trajectories: int
    duration: float
    verdict: str
    distribution_only: bool = False
    num_blocks: int = 0
    balance: float | None = None

    @property
    def sentence(self) -> str:
        """The verdict in words, with the rate and its interval."""
        if self.distribution_only:
            return ("constant on time-shuffled data too: a property of the state distribution, not evidence "
                    "about the dynamics")
        interval = f"[{self.low:.3g}, {self.high:.3g}]"
        if self.num_blocks:
            interval += f" over {self.num_blocks} blocks of {self.num_trajectories} trajectories"
        if self.verdict == "conserved":
            if self.low <= 0.0 <= self.high:
                return f"conserved (relative drift {self.rate:.2g}/time, 95 % interval {interval} contains 0)"
            return (f"conserved (a relative drift {self.rate:.2g}/time, 95 % interval {interval}, is resolved "
                    "but changes it by less than the tolerance over one record)")
        if self.verdict == "approximately conserved":
            how = "decaying" if self.rate < 0 else "growing"
            balance = ("" if self.balance is None else
                       f"; its energy balance with the dissipation closes to {self.balance:.2g} of its spread")
            return (f"approximately conserved, {how} at rate γ = {abs(self.rate):.3g}/time "
                    f"(95 % interval of dG/dt/<|G|>: {interval}{balance})")
        return f"not conserved (it moves along trajectories by {self.fluctuation:.2g} of its spread over the data)"

    def to_dict(self) -> dict:
        return {"rate": float(self.rate), "interval": [float(self.low), float(self.high)], "level": LEVEL,
                "fluctuation": float(self.fluctuation),
                "surrogate_fluctuation": None if self.surrogate_fluctuation is None else float(self.surrogate_fluctuation),
                "num_trajectories": int(self.num_trajectories), "duration": float(self.duration),
                "verdict": self.verdict, "distribution_only": bool(self.distribution_only),
                "num_blocks": int(self.num_blocks),
                "balance": None if self.balance is None else float(self.balance),
                "sentence": self.sentence}


def law_function(expr, coordinate_names):
    """``(values, gradients)`` callables on ``[N, n]`` points for a SymPy expression in the coordinates.

    Symbols are matched by name (a law's :attr:`Law.expr` is built from ``sympy.Symbol`` objects);
    nothing is parsed. ``values(x) -> [N]``, ``gradients(x) -> [N, n]``.
    """
    if not isinstance(expr, sympy.Basic):
        raise InputError(f"a law must be a SymPy expression, got {type(expr).__name__}; text is never parsed")
    syms = [sympy.Symbol(c) for c in coordinate_names]
    by_name = {s.name: s for s in syms}
    unknown = sorted(s.name for s in expr.free_symbols if s.name not in by_name)
    if unknown:
        raise InputError(f"the law uses {unknown}, not among the coordinates {list(coordinate_names)}")
    expr = expr.xreplace({s: by_name[s.name] for s in expr.free_symbols})
    f = sympy.lambdify(syms, expr, "numpy")
    g = sympy.lambdify(syms, [sympy.diff(expr, s) for s in syms], "numpy")

    def values(x):
        x = np.asarray(x, float)
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(f(*x.T), float), x.shape[:1]).copy()

    def gradients(x):
        x = np.asarray(x, float)
        with np.errstate(all="ignore"):
            out = g(*x.T)
        return np.stack([np.broadcast_to(np.asarray(v, float), x.shape[:1]) for v in out], axis=-1)

    return values, gradients


def _trend(g, t):
    """Per trajectory: relative rate, detrended RMS, mean |G|, whether the rate is the slope of ``ln|G|``
    (``g``, ``t`` ``[traj, time]``)."""
    rates, rms, means, logs = [], [], [], []
    for gi, ti in zip(g, t):
        ok = np.isfinite(gi) & np.isfinite(ti)
        gi, ti = gi[ok], ti[ok]
        if gi.size < 3 or np.ptp(ti) <= 0:
            continue
        a = np.abs(gi)
        m = float(np.mean(a))
        tc = ti - ti.mean()
        if (np.all(gi > 0) or np.all(gi < 0)) and a.min() > 0.1 * a.max():
            la = np.log(a)
            b = float(tc @ (la - la.mean()) / (tc @ tc))
            fit = np.sign(gi[0]) * np.exp(la.mean() + b * tc)
            rate = b
            logs.append(True)
        else:
            logs.append(False)
            b = float(tc @ (gi - gi.mean()) / (tc @ tc))
            fit = gi.mean() + b * tc
            rate = b / max(m, 1e-300)
        rates.append(rate)
        rms.append(float(np.sqrt(np.mean((gi - fit) ** 2))))
        means.append(m)
    return np.array(rates), np.array(rms), np.array(means), np.array(logs, bool)


def _blocked(g, t, per: int):
    """Few long trajectories: each one's relative rate (as :func:`_trend`) with its variance from ``per``
    consecutive blocks: the least-squares slope is ``b = b_true + Σ_B u_B / Σ_t τ_t²`` with block scores
    ``u_B = Σ_{t∈B} τ_t e_t`` (``τ`` centred time, ``e`` residuals), nearly independent for blocks longer
    than the residuals' correlation time, so ``Var b ≈ per/(per − 1) Σ_B u_B² / (Σ τ²)²`` (the
    batch-means, or block-kernel HAC, error of a regression slope). Returns ``(rates, variances,
    number of blocks)``."""
    rates, variances, blocks = [], [], 0
    for gi, ti in zip(g, t):
        ok = np.isfinite(gi) & np.isfinite(ti)
        gi, ti = gi[ok], ti[ok]
        if gi.size < 2 * MIN_BLOCK or np.ptp(ti) <= 0:
            continue
        a = np.abs(gi)
        m = float(np.mean(a))
        if (np.all(gi > 0) or np.all(gi < 0)) and a.min() > 0.1 * a.max():
            y, norm = np.log(a), 1.0
        else:
            y, norm = gi, max(m, 1e-300)
        tc = ti - ti.mean()
        b = float(tc @ (y - y.mean()) / (tc @ tc))
        e = y - y.mean() - b * tc
        k = min(per, gi.size // MIN_BLOCK)
        scores = np.array([float(u @ v) for u, v in zip(np.array_split(tc, k), np.array_split(e, k))])
        rates.append(b / norm)
        variances.append(k / (k - 1) * float(scores @ scores) / float(tc @ tc) ** 2 / norm**2)
        blocks += k
    return np.array(rates), np.array(variances), blocks


def scale_of(gradients: np.ndarray, x: np.ndarray) -> float:
    """``s_G = sqrt(mean_x Σ_k (∂G/∂x_k)² σ_k²)``: the change of ``G`` for a one-standard-deviation move."""
    sigma = np.nanstd(x.reshape(-1, x.shape[-1]), axis=0)
    val = np.sqrt(np.nanmean(np.sum((gradients * sigma) ** 2, axis=-1)))
    return float(val) if np.isfinite(val) else float("nan")


def drift(values, t, *, scale: float, surrogate_values=None, tol: float = FLUCTUATION_TOL) -> Drift:
    """The drift, fluctuation and verdict of ``G`` sampled along trajectories.

    Args:
        values: ``G(x_i(t))`` ``[trajectory, time]``.
        t: times ``[trajectory, time]``.
        scale: ``s_G`` (:func:`scale_of`), the size of ``G``'s changes over the data.
        surrogate_values: ``G`` on time-shuffled surrogate trajectories (same layout), or None.
        tol: the fluctuation ``f`` below which ``G`` counts as constant along a trajectory.
    """
    values, t = np.asarray(values, float), np.asarray(t, float)
    rates, rms, means, log_mode = _trend(values, t)
    if rates.size == 0:
        raise InputError("the drift needs trajectories with at least 3 finite samples over a positive time span")
    num_blocks, dof = 0, None
    if rates.size < MIN_UNITS:  # too few trajectories: one slope per trajectory, its error from blocks (batch means)
        per = min(values.shape[1] // MIN_BLOCK, max(4, -(-MIN_UNITS // rates.size)))
        if per >= 2:
            rates_b, var_b, num_blocks = _blocked(values, t, per)
            if rates_b.size and num_blocks > rates_b.size:
                mean = float(np.mean(rates_b))
                dof = num_blocks - rates_b.size
                half = float(scipy.stats.t.ppf(0.5 + LEVEL / 2, dof) * np.sqrt(np.sum(var_b)) / rates_b.size)
            else:
                num_blocks = 0
    keep = means > 0.05 * np.median(means)  # a trajectory on which G ≈ 0 gives no relative rate
    r = rates[keep] if keep.sum() >= 2 else rates
    n = r.size
    if dof is None:
        mean = float(np.mean(r))
        if n >= 2:
            half = float(scipy.stats.t.ppf(0.5 + LEVEL / 2, n - 1) * np.std(r, ddof=1) / np.sqrt(n))
        else:
            half = float("inf")
    s = scale if scale > 0 and np.isfinite(scale) else float("nan")
    f = float(np.median(rms) / s) if np.isfinite(s) else float("inf")
    f_sur = None
    if surrogate_values is not None:
        _, rms_s, _, _ = _trend(np.asarray(surrogate_values, float), t)
        f_sur = float(np.median(rms_s) / s) if rms_s.size and np.isfinite(s) else None
    duration = float(np.median(np.ptp(t, axis=1)))
    # the steady change over one record, in the units of f: below tol it is unresolved (e.g. an integrator's drift)
    change = abs(mean) * duration * float(np.median(means)) / s if np.isfinite(s) else float("inf")
    # where G stays away from 0 on every trajectory its relative change |γ| T is meaningful: a resolved
    # decay by more than tol of G over one record (a real pendulum's energy) is not negligible
    relative = abs(mean) * duration if log_mode.size and log_mode.all() else 0.0
    if not np.isfinite(f) or f >= tol:
        verdict = "not conserved"
    elif mean - half <= 0.0 <= mean + half or (change < tol and relative < tol):
        verdict = "conserved"
    else:
        verdict = "approximately conserved"
    return Drift(mean, mean - half, mean + half, f, f_sur, int(rates.size), duration, verdict,
                 distribution_only=bool(f_sur is not None and f_sur < tol and f_sur < SURROGATE_RATIO * f),
                 num_blocks=num_blocks)


def balance_fluctuation(expr, dissipation, dataset) -> float:
    """How well ``dG/dt = D`` holds along a dataset's trajectories: ``median_i RMS_t(r_i) / s_G`` with
    ``r_i(t) = G(t) − G(t0) − ∫_{t0}^t D dt`` (trapezoid rule on the records; each ``r_i`` centred), ``s_G``
    as for the fluctuation (:func:`scale_of`). SymPy expressions in the coordinates; nothing parsed."""
    values_fn, grad_fn = law_function(expr, dataset.coordinate_names)
    dis_fn, _ = law_function(dissipation, dataset.coordinate_names)
    x = np.asarray(dataset.x, float)
    flat = x.reshape(-1, x.shape[-1])
    g = values_fn(flat).reshape(x.shape[:2])
    rate = dis_fn(flat).reshape(x.shape[:2])
    t = np.asarray(dataset.t, float)
    integral = np.concatenate([np.zeros((t.shape[0], 1)),
                               np.cumsum(0.5 * (rate[:, 1:] + rate[:, :-1]) * np.diff(t, axis=1), axis=1)], axis=1)
    r = g - g[:, :1] - integral
    r = r - np.nanmean(r, axis=1, keepdims=True)
    s = scale_of(grad_fn(flat), x)
    if not (s > 0 and np.isfinite(s)):
        return float("inf")
    return float(np.nanmedian(np.sqrt(np.nanmean(r**2, axis=1))) / s)


def surrogate(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """Time-shuffled surrogate ``[trajectory, time, n]``: all states permuted across trajectories and times."""
    flat = x.reshape(-1, x.shape[-1])
    perm = np.random.default_rng(seed).permutation(flat.shape[0])
    return flat[perm].reshape(x.shape)


def check_expression(expr, dataset, *, seed: int = 0, tol: float = FLUCTUATION_TOL) -> Drift:
    """:func:`drift` of a SymPy expression along a dataset's trajectories, with its time-shuffled surrogate."""
    values_fn, grad_fn = law_function(expr, dataset.coordinate_names)
    x = np.asarray(dataset.x, float)
    flat = x.reshape(-1, x.shape[-1])
    g = values_fn(flat).reshape(x.shape[:2])
    scale = scale_of(grad_fn(flat), x)
    sur = values_fn(surrogate(x, seed).reshape(flat.shape)).reshape(x.shape[:2])
    return drift(g, dataset.t, scale=scale, surrogate_values=sur, tol=tol)


def split_trajectories(dataset, *, fraction: float = 0.25, min_trajectories: int = 8):
    """``(fit, held_out)`` datasets: every ``round(1/fraction)``-th trajectory held out (at least 2).

    With fewer than ``min_trajectories`` trajectories nothing is held out: ``(dataset, None)``.
    """
    n = dataset.num_trajectories
    if dataset.num_times < 3 or n < min_trajectories or not 0 < fraction < 1:
        return dataset, None
    step = max(2, int(round(1 / fraction)))
    held = np.arange(step - 1, n, step)
    if held.size < 2:
        return dataset, None
    fit = np.setdiff1d(np.arange(n), held)
    return _subset(dataset, fit), _subset(dataset, held)


def _subset(ds, idx):
    pick = lambda a: None if a is None else np.asarray(a)[idx]  # noqa: E731
    return dataclasses.replace(ds, q=pick(ds.q), p=pick(ds.p), t=pick(ds.t), dq=pick(ds.dq), dp=pick(ds.dp))


def check_discovery(discovery, data, *, held_out: bool, seed: int = 0, tol: float = FLUCTUATION_TOL,
                    approximate=None, dissipation=None) -> None:
    """Check every law of ``discovery`` on ``data`` (in place): drift, verdict, surrogate.

    Each law gets ``law.drift`` (:class:`Drift`); laws that are not conserved on these trajectories, and
    laws that are constant on the surrogate too, are moved to ``details["dropped_laws"]`` with the
    reason; approximately conserved laws are kept with their rate. A symmetry generator's charge
    (``law.generator`` set) that is not conserved is kept with that verdict and a note: the symmetry
    stands (Couzin's milling swarm: rotation symmetry, agents' angular momentum not conserved). ``approximate``: an optional SymPy expression, the
    route's best approximate law (used when no law is left), checked and stored as
    ``details["approximate_law"]``; ``dissipation``: its ``dG/dt = D`` when it is the energy of a
    conservative part (:func:`physlaw.symmetry._baseline.conservative_part`): a closed energy balance
    (:func:`balance_fluctuation` below ``tol``) with a resolved decay makes it "approximately conserved". The message gets one sentence on how sure the result is.
    """
    kept, dropped = [], []
    for law in discovery.laws:
        try:
            d = check_expression(law.expr, data, seed=seed, tol=tol)
        except InputError as err:
            law.notes.append(f"not checked: {err}")
            kept.append(law)
            continue
        law.drift = d
        if d.verdict == "not conserved" and law.generator is not None and not d.distribution_only:
            # a symmetry route's generator: the symmetry stands (it maps the data's manifold to itself), its
            # Noether charge is no conservation law here (e.g. a non-Hamiltonian swarm): kept, said so
            law.notes.append("the symmetry holds, but its Noether charge is not conserved along held-out "
                             f"trajectories ({d.sentence}): the dynamics are not Hamiltonian in these coordinates, "
                             "so the symmetry gives no conservation law")
            kept.append(law)
            continue
        if d.verdict == "not conserved":
            dropped.append({"expression": law.expression, "reason": "not_conserved", "drift": d.to_dict(),
                            "note": d.sentence + " on trajectories the fit did not see; dropped"})
            continue
        if d.distribution_only:
            dropped.append({"expression": law.expression, "reason": "distribution_only", "drift": d.to_dict(),
                            "note": "constant on time-shuffled data too: all the states share (nearly) one value "
                                    "of it, so the data cannot tell whether the dynamics conserve it (data on one "
                                    "level set, e.g. one energy shell?); dropped"})
            continue
        law.notes.append(d.sentence)
        kept.append(law)
    where = "held-out trajectories" if held_out else "the fitted trajectories (too few to hold some out)"
    raw = len(discovery.laws)
    discovery.laws = kept
    discovery.count = len(kept)
    details = discovery.details
    details["checks"] = {"data": where, "num_trajectories": int(data.num_trajectories),
                         "fluctuation_tol": tol, "level": LEVEL, "raw_count": raw}
    if dropped:
        details["dropped_laws"] = dropped
    verdicts = [law.drift.verdict for law in kept if getattr(law, "drift", None) is not None]
    n_cons = verdicts.count("conserved")
    n_approx = verdicts.count("approximately conserved")
    parts = [f"Checked on {data.num_trajectories} {where}:"]
    n_sym = verdicts.count("not conserved")
    if kept:
        parts.append(f"{n_cons} conserved" + (f", {n_approx} approximately conserved (a steady drift)" if n_approx else "")
                     + (f", {n_sym} symmetr{'ies' if n_sym > 1 else 'y'} whose Noether charge is not conserved "
                        "along them (no conservation law from it)" if n_sym else "") + ".")
    else:
        parts.append("no law is left.")
    n_not = sum(d["reason"] == "not_conserved" for d in dropped)
    n_dist = len(dropped) - n_not
    if n_not:
        parts.append(f"{n_not} proposed law{'s' if n_not > 1 else ''} dropped: not conserved along them.")
    if n_dist:
        parts.append(f"{n_dist} law{'s' if n_dist > 1 else ''} dropped: constant on time-shuffled data "
                     "too (a property of the state distribution, not of the dynamics).")
    if approximate is not None and n_cons == 0:
        try:
            d = check_expression(approximate, data, seed=seed, tol=tol)
            if dissipation is not None and not d.distribution_only:
                bal = balance_fluctuation(approximate, dissipation, data)
                resolved = not (d.low <= 0.0 <= d.high)
                verdict = "approximately conserved" if bal < tol and resolved else d.verdict
                d = dataclasses.replace(d, balance=bal, verdict=verdict)
            details["approximate_law"] = {"expression": str(approximate), "drift": d.to_dict()}
            if dissipation is not None:
                details["approximate_law"]["dissipation"] = f"dG/dt = {dissipation}"
            if not d.distribution_only and d.verdict != "not conserved":
                parts.append(f"Best approximate law {_short(approximate)}: {d.sentence}.")
        except InputError:
            pass
    sure = _confidence(discovery, n_cons, n_approx)
    discovery.message = discovery.message.rstrip() + " " + " ".join(parts) + " " + sure


def _short(expr, n: int = 60) -> str:
    s = str(expr)
    return s if len(s) <= n else s[: n - 3] + "..."


def _confidence(discovery, n_cons: int, n_approx: int) -> str:
    if discovery.count == 0:
        return "Confidence: no exact law in this family or library is supported by the data."
    if not n_cons and not n_approx:
        return "Confidence: the symmetry is supported by the data, but no conserved quantity follows from it."
    if discovery.weak:
        return "Confidence: moderate (the count's singular-value gap is small)."
    return "Confidence: high (clear gap; the laws hold on trajectories the fit did not see)." if n_cons else \
        "Confidence: the laws are approximate."
