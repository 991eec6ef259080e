"""Oracle for issue 13's NODE+SO spring target: can ANY estimator without a conservation prior meet it?

Issue 13 asks for a NODE+SO (``node2``) energy MSE on the Greydanus spring at or below the published HNN
figure 3.8e-4 (median over seeds 0, 1, 2). The NODE2's remaining error is a small spurious damping γ in
its learned field (``benchmarks/results/nets_family.md``). This benchmark asks how well γ can be pinned
down by the training data at all, by giving an estimator far MORE structure than the NODE2 has:

* the correctly specified linear model ``q̈ = −a q − γ q̇`` (the spring ``H = p²/(2m) + k q²/2`` of
  ``physlaw.dynamics`` "spring" has ``k = 2``, ``m = 1/2``, so the truth is ``a = k/m = 4``, ``γ = 0``),
  solved exactly, ``y(t) = exp(A t) y0`` with ``y = (q, q̇)``, ``A = [[0, 1], [−a, −γ]]``;
* fitted by maximum likelihood (``scipy.optimize.least_squares``) to the whole noisy training
  trajectories with the right noise model: Gaussian σ = 0.1 on the recorded q and p, i.e. residuals
  ``(q_obs − q(t))/σ`` and ``(p_obs − m q̇(t))/σ``; parameters ``a``, ``γ`` and each trajectory's
  initial state ``(q0, q̇0)`` (2 + 2 × 25 = 52), the Jacobian exact (Fréchet derivatives of ``exp(A t)``);
* standard errors from the Jacobian at the optimum, ``cov = (JᵀJ)⁻¹`` with the known σ (the
  Cramér–Rao bound, attained asymptotically by the ML estimate);
* the same with γ fixed to 0 (the conservative linear model: a conservation prior) as the reference,
  and the true field (``a = 4``, ``γ = 0``) as the evaluation's floor.

Data and evaluation are exactly the benchmark's (``benchmarks/nets_family.py``): ``simulate("spring",
key(1000 + seed), **TASKS["spring"]["sim"])`` (50 trajectories of 30 points, t ∈ [0, 2.9], noise 0.1),
the first half for training (its ``_half``), ``velocity_dataset`` for (q, q̇), and
``physlaw.nets.evaluate_on_system(model, get_system("spring"), key(2000 + seed), t_max=20)``: 15 fresh
initial conditions, RK4 rollouts of the model in (q, q̇) (float32, 10 substeps), converted to (q, p), energy
MSE with the true energy. Seeds 0..19; the NODE2's own energy MSE is read from
``benchmarks/results/nets_family.json`` (seeds 0–2; seeds 3–8 quoted from the notes of nets_family.md),
not retrained.

Run:  .venv/bin/python benchmarks/node2_oracle.py            (≈ 2 min on 2 shared cores; ≈ 5 CPU-s per seed)
      .venv/bin/python benchmarks/node2_oracle.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

# the fits are 1500 × 52 least-squares problems: BLAS threads only contend on a shared 2-core machine
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# the benchmark's data settings, train/test split and target
from nets_family import PUBLISHED_HNN, TASKS, _half

from physlaw.dynamics import get_system, simulate
from physlaw.io.atomic import atomic_path, write_json
from physlaw.nets import evaluate_on_system, velocity_dataset

TASK = "spring"
TARGET = PUBLISHED_HNN[TASK]  # 3.8e-4, Greydanus et al. 2019 Table 1 (HNN energy MSE)
# NODE2 spring energy MSE with the benchmark's current setting (peak step 3e-3) on seeds 3-8, from the notes of
# benchmarks/results/nets_family.md (an exploration script; not in nets_family.json, which holds seeds 0-2)
NODE2_NOTES_SEEDS_3_8 = {3: 1.4e-2, 4: 3.3e-4, 5: 3.5e-4, 6: 5.9e-4, 7: 6.5e-5, 8: 1.2e-2}
_DA = np.array([[0.0, 0.0], [-1.0, 0.0]])  # ∂A/∂a
_DG = np.array([[0.0, 0.0], [0.0, -1.0]])  # ∂A/∂γ


class LinearOscillator:
    """The field ``(q̇, q̈) = (v, −a q − γ v)`` in the benchmark's model interface: a ``"qv"`` model rolled
    out with RK4 (``physlaw.nets.evaluate_on_system`` converts its states to (q, p) for the energy)."""

    state = "qv"
    integrator = "rk4"

    def __init__(self, a: float, gamma: float):
        self.a, self.gamma = float(a), float(gamma)

    def vector_field(self, t, y):
        del t
        return jnp.stack([y[1], -self.a * y[0] - self.gamma * y[1]])


def training_data(seed: int):
    """The benchmark's spring training half: times ``[T]``, recorded (noisy) ``(q, p)`` ``[N, T, 2]``,
    ``(q, q̇)`` from ``velocity_dataset`` (for the starting guess), mass ``m`` and noise σ."""
    sim = TASKS[TASK]["sim"]
    data = simulate(TASK, jax.random.key(1000 + seed), **sim)
    train = _half(data, True)
    t = np.asarray(train.t, np.float64)
    if not np.all(t == t[:1]):
        raise RuntimeError("the oracle assumes one time grid shared by every training trajectory")
    m = float(train.metadata["parameters"]["m"])
    x = np.asarray(train.x, np.float64)  # (q, p)
    y = np.asarray(velocity_dataset(train).x, np.float64)  # (q, q̇ = p/m)
    return t[0], x, y, m, float(sim["noise"])


def _propagators(a: float, gamma: float, t):
    """``Φ(t_k) = exp(A t_k)`` and its exact derivatives in ``a`` and ``γ``, ``[T, 2, 2]`` each.

    One batched ``scipy.linalg.expm`` of the block matrix ``[[A, ∂A/∂a, ∂A/∂γ], [0, A, 0], [0, 0, A]] t``: its
    upper-right blocks are the Fréchet derivatives ``∫₀ᵗ e^{A(t−s)} (∂A/∂θ) e^{As} ds = ∂Φ(t)/∂θ``.
    """
    A = np.array([[0.0, 1.0], [-a, -gamma]])
    M = np.zeros((6, 6))
    M[0:2, 0:2] = M[2:4, 2:4] = M[4:6, 4:6] = A
    M[0:2, 2:4], M[0:2, 4:6] = _DA, _DG
    E = scipy.linalg.expm(M[None] * np.asarray(t, float)[:, None, None])
    return E[:, 0:2, 0:2], E[:, 0:2, 2:4], E[:, 0:2, 4:6]


def fit(t, x, y, m: float, sigma: float, *, free_gamma: bool = True, start=None) -> dict:
    """Maximum-likelihood fit of ``q̈ = −a q − γ q̇`` (or γ ≡ 0) to whole noisy trajectories.

    Residuals ``(x_obs − S Φ(t) y0_i) / σ`` with ``S = diag(1, m)`` (model state (q, q̇) → recorded (q, p)).
    Starting guess: ``a, γ`` from a linear regression of finite-difference accelerations on the noisy
    (q, q̇) (data only, not the truth), or ``start = (a, γ)``; ``y0_i`` the first recorded state. Returns the estimates, their
    standard errors ``sqrt(diag (JᵀJ)⁻¹)`` (known σ), the whitened residual RMS (≈ 1 for a correct model)
    and the optimiser's report.
    """
    n = x.shape[0]
    S = np.diag([1.0, m])
    acc = np.gradient(y[..., 1], t, axis=1)
    design = np.stack([-y[..., 0], -y[..., 1]], -1).reshape(-1, 2)
    (a0, g0), *_ = np.linalg.lstsq(design, acc.reshape(-1), rcond=None)
    if start is not None:
        a0, g0 = start
    k = 2 if free_gamma else 1
    theta0 = np.concatenate([[a0, g0][:k], y[:, 0].reshape(-1)])

    def unpack(theta):
        return theta[0], (theta[1] if free_gamma else 0.0), theta[k:].reshape(n, 2)

    def residuals(theta):
        a, g, y0 = unpack(theta)
        phi, _, _ = _propagators(a, g, t)
        pred = np.einsum("ij,tjk,nk->nti", S, phi, y0)
        return ((x - pred) / sigma).reshape(-1)

    def jacobian(theta):
        a, g, y0 = unpack(theta)
        phi, dphi_a, dphi_g = _propagators(a, g, t)
        T = len(t)
        J = np.zeros((n, T, 2, k + 2 * n))
        J[..., 0] = -np.einsum("ij,tjk,nk->nti", S, dphi_a, y0) / sigma
        if free_gamma:
            J[..., 1] = -np.einsum("ij,tjk,nk->nti", S, dphi_g, y0) / sigma
        block = -np.einsum("ij,tjk->tik", S, phi) / sigma  # ∂ residual(t) / ∂ y0, [T, 2, 2]
        for i in range(n):
            J[i, :, :, k + 2 * i:k + 2 * i + 2] = block
        return J.reshape(n * T * 2, -1)

    res = scipy.optimize.least_squares(residuals, theta0, jac=jacobian, method="trf", x_scale="jac",
                                       xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=500)
    J = jacobian(res.x)
    cov = np.linalg.inv(J.T @ J)
    a, g, _ = unpack(res.x)
    r = residuals(res.x)
    return {"a": float(a), "gamma": float(g), "se_a": float(math.sqrt(cov[0, 0])),
            "se_gamma": float(math.sqrt(cov[1, 1])) if free_gamma else 0.0,
            "corr_a_gamma": float(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1])) if free_gamma else None,
            "whitened_residual_rms": float(np.sqrt(np.mean(r**2))), "neg_log_lik": float(0.5 * np.sum(r**2)),
            "start": {"a": float(a0), "gamma": float(g0) if free_gamma else 0.0},
            "nfev": int(res.nfev), "status": int(res.status), "num_parameters": int(res.x.size),
            "num_residuals": int(r.size)}


def energy_mse(a: float, gamma: float, seed: int) -> float:
    """The benchmark's energy MSE of the field ``q̈ = −a q − γ q̇`` (nets_family.py's evaluation, key 2000 + seed)."""
    metrics = evaluate_on_system(LinearOscillator(a, gamma), get_system(TASK), jax.random.key(2000 + seed),
                                 t_max=TASKS[TASK]["t_max"])
    return float(metrics["energy_mse"])


def node2_recorded() -> dict:
    """NODE2 spring energy MSE per seed: nets_family.json (seeds 0-2), else the notes of nets_family.md (3-8)."""
    out = {s: {"energy_mse": v, "source": "nets_family.md notes"} for s, v in NODE2_NOTES_SEEDS_3_8.items()}
    path = HERE / "results" / "nets_family.json"
    if path.is_file():
        for r in json.loads(path.read_text())["runs"]:
            if r["task"] == TASK and r["model"] == "node2":
                out[int(r["seed"])] = {"energy_mse": float(r["energy_mse"]), "source": "nets_family.json"}
    return out


def run_seed(seed: int, *, floor: bool = False) -> dict:
    c0, w0 = time.process_time(), time.perf_counter()
    t, x, y, m, sigma = training_data(seed)
    free = fit(t, x, y, m, sigma, free_gamma=True)
    fixed = fit(t, x, y, m, sigma, free_gamma=False)
    # the optimum must not depend on the start: refit from the truth (a = k/m, γ = 0) and from (3, 0.05)
    system = get_system(TASK)
    k, m_sys = float(system.parameters["k"][0]), float(system.parameters["m"])
    others = [fit(t, x, y, m, sigma, start=st) for st in ((k / m_sys, 0.0), (3.0, 0.05))]
    free["max_gamma_change_other_starts"] = max(abs(o["gamma"] - free["gamma"]) for o in others)
    free["max_nll_change_other_starts"] = max(abs(o["neg_log_lik"] - free["neg_log_lik"]) for o in others)
    free["energy_mse"] = energy_mse(free["a"], free["gamma"], seed)
    fixed["energy_mse"] = energy_mse(fixed["a"], 0.0, seed)
    return {"seed": seed, "free_gamma": free, "gamma_zero": fixed,
            "true_field_energy_mse": energy_mse(k / m_sys, 0.0, seed) if floor else None,
            "num_trajectories": int(x.shape[0]), "num_times": int(x.shape[1]), "t_last": float(t[-1]),
            "noise": sigma, "m": m, "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0}


def _q(values, p):
    return float(np.quantile(np.asarray(values, float), p))


def _median_of_3_meets(p: float) -> float:
    """Probability that at least 2 of 3 independent seeds, each under the target with probability ``p``, are under it."""
    return 3 * p**2 * (1 - p) + p**3


def _binom_sf(k: int, n: int, p: float) -> float:
    """``P(X ≥ k)`` for ``X ~ Binomial(n, p)``."""
    from scipy.stats import binom

    return float(binom.sf(k - 1, n, p))


def _spearman(x, y) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def _expected(c: float, se: float) -> dict:
    from scipy.stats import norm

    g_star = math.sqrt(TARGET / c)
    p = float(2 * norm.cdf(g_star / se) - 1)
    # SE ∝ N^(-1/2) for N times as many trajectories of the same length: the factor N for which the median seed, or
    # 90 % of seeds, would meet the target
    more = {"median": (norm.ppf(0.75) * se / g_star) ** 2, "90 percent": (norm.ppf(0.95) * se / g_star) ** 2}
    return {"se_gamma": se, "fraction_under_target": p, "median_energy_mse": float(c * (norm.ppf(0.75) * se) ** 2),
            "p_median_of_3_seeds_meets_target": _median_of_3_meets(p), "more_trajectories_factor_needed": more}


def summary(runs: list, node2: dict) -> dict:
    free = [r["free_gamma"] for r in runs]
    by_seed = {r["seed"]: r for r in runs}
    e_free = [f["energy_mse"] for f in free]
    e_zero = [r["gamma_zero"]["energy_mse"] for r in runs]
    g = np.array([f["gamma"] for f in free])
    se = np.array([f["se_gamma"] for f in free])
    first3 = [s for s in (0, 1, 2) if s in by_seed]
    # energy MSE ≈ c γ² (the damping dominates): least squares through the origin in γ²
    c = float(np.sum(np.array(e_free) * g**2) / np.sum(g**4))
    return {
        "num_seeds": len(runs),
        "target": TARGET,
        "gamma": {"median": float(np.median(g)), "median_abs": float(np.median(np.abs(g))),
                  "sd_over_seeds": float(np.std(g, ddof=1)) if len(g) > 1 else None,
                  "min": float(g.min()), "max": float(g.max()), "mean": float(g.mean())},
        "se_gamma": {"median": float(np.median(se)), "min": float(se.min()), "max": float(se.max())},
        "a": {"median": float(np.median([f["a"] for f in free])), "se_median": float(np.median([f["se_a"] for f in free]))},
        "fraction_abs_gamma_below_0.004": float(np.mean(np.abs(g) < 0.004)),
        "fraction_abs_gamma_below_2_se": float(np.mean(np.abs(g) < 2 * se)),
        "energy_mse_free_gamma": {"median": float(np.median(e_free)), "q25": _q(e_free, 0.25), "q75": _q(e_free, 0.75),
                                  "min": float(min(e_free)), "max": float(max(e_free)),
                                  "geomean": float(np.exp(np.mean(np.log(e_free)))),
                                  "fraction_under_target": float(np.mean(np.array(e_free) <= TARGET)),
                                  "p_median_of_3_seeds_meets_target": _median_of_3_meets(float(np.mean(np.array(e_free) <= TARGET))),
                                  "median_seeds_0_1_2": float(np.median([by_seed[s]["free_gamma"]["energy_mse"] for s in first3]))
                                  if first3 else None},
        "energy_mse_gamma_zero": {"median": float(np.median(e_zero)), "min": float(min(e_zero)), "max": float(max(e_zero)),
                                  "fraction_under_target": float(np.mean(np.array(e_zero) <= TARGET)),
                                  "median_seeds_0_1_2": float(np.median([by_seed[s]["gamma_zero"]["energy_mse"] for s in first3]))
                                  if first3 else None},
        "max_gamma_change_other_starts": float(max(f["max_gamma_change_other_starts"] for f in free)),
        "max_nll_change_other_starts": float(max(f["max_nll_change_other_starts"] for f in free)),
        "whitened_residual_rms_range": [float(min(f["whitened_residual_rms"] for f in free)),
                                        float(max(f["whitened_residual_rms"] for f in free))],
        "true_field_energy_mse": [{"seed": r["seed"], "energy_mse": r["true_field_energy_mse"]} for r in runs
                                  if r["true_field_energy_mse"] is not None],
        "energy_mse_per_gamma_squared": c,
        "gamma_needed_for_target": math.sqrt(TARGET / c),
        # if γ̂ ~ N(0, SE²) (unbiased, efficient) and energy MSE = c γ̂²: the expected fraction of data draws under the
        # target, the expected median energy MSE, and the chance that the median of 3 seeds meets the target
        "expected_if_gamma_hat_normal": _expected(c, float(np.median(se))),
        "node2_recorded": _node2_vs_oracle(node2, by_seed, float(np.mean(np.array(e_free) <= TARGET))),
    }


def _node2_vs_oracle(node2: dict, by_seed: dict, oracle_rate: float) -> dict:
    """The recorded NODE2 energy MSE next to the free-γ oracle's on the seeds both have: medians, the fraction under
    the target, paired ratios, Spearman ρ, and the binomial chance ``P(X ≥ k)`` that an estimator with the oracle's
    per-seed rate ``oracle_rate`` puts at least as many of these seeds under the target as the NODE2 does."""
    paired = [s for s in sorted(node2) if s in by_seed]
    if not paired:
        return {"seeds": [], "energy_mse": [], "median": None, "fraction_under_target": None,
                "p_median_of_3_seeds_meets_target": None, "oracle_median_same_seeds": None}
    n2 = np.array([node2[s]["energy_mse"] for s in paired])
    orc = np.array([by_seed[s]["free_gamma"]["energy_mse"] for s in paired])
    under = int(np.sum(n2 <= TARGET))
    ratio = n2 / orc
    return {"seeds": paired, "energy_mse": n2.tolist(), "median": float(np.median(n2)),
            "fraction_under_target": under / len(paired),
            "p_median_of_3_seeds_meets_target": _median_of_3_meets(under / len(paired)),
            "oracle_median_same_seeds": float(np.median(orc)),
            "seeds_node2_below_oracle": int(np.sum(n2 < orc)),
            "ratio_node2_to_oracle_range": [float(ratio.min()), float(ratio.max())],
            "geomean_ratio_node2_to_oracle": float(np.exp(np.mean(np.log(ratio)))),
            "spearman_with_oracle": _spearman(n2, orc) if len(paired) > 2 else None,
            "p_as_many_under_target_at_oracle_rate": _binom_sf(under, len(paired), oracle_rate)}


def _fmt(v):
    return "—" if v is None else f"{v:.2e}"


def markdown(record: dict) -> str:
    runs, s, node2, m = record["runs"], record["summary"], record["node2_recorded"], record["machine"]
    g, se, ef, ez, nn, ex = (s["gamma"], s["se_gamma"], s["energy_mse_free_gamma"], s["energy_mse_gamma_zero"],
                             s["node2_recorded"], s["expected_if_gamma_hat_normal"])
    bold = lambda e: f"**{_fmt(e)}**" if e <= TARGET else _fmt(e)
    lines = ["# Oracle for the NODE+SO spring target (issue 13): the correctly specified linear model, fitted by ML\n"]
    lines.append(f"Command: `{record['command']}`. {record['date']}. Machine: {m['cpu_count']} shared cores, load average "
                 f"{m['load_average_1min_start']:.1f} at the start, {m['load_average_1min_end']:.1f} at the end; total "
                 f"{record['cpu_s']:.0f} CPU-s, {record['wall_s']:.0f} wall-s ({record['cpu_s'] / len(runs):.1f} CPU-s per "
                 f"seed, most of it JAX compiling the rollouts); jax {m['jax']}, scipy {m['scipy']}.\n")
    lines.append("Data and evaluation: exactly `benchmarks/nets_family.py`'s spring (simulate key 1000 + seed; 25 training "
                 "trajectories of 30 points, t ∈ [0, 2.9], noise σ = 0.1 on q and p; energy MSE over 15 fresh initial "
                 "conditions, t ∈ [0, 20], evaluation key 2000 + seed, `physlaw.nets.evaluate_on_system`). Model "
                 "q̈ = −a q − γ q̇ (truth a = k/m = 2/0.5 = 4, γ = 0), solved exactly, fitted by maximum likelihood to the "
                 "whole trajectories (52 parameters: a, γ and 25 initial states); SE from the exact Jacobian with the known "
                 "σ (Cramér–Rao). \"γ = 0\": the same fit with γ fixed to 0 (a conservation prior). Target: the published "
                 f"HNN energy MSE {TARGET:.1e}.\n")
    lines += ["## Per seed\n",
              ("| seed | â | SE(â) | γ̂ | SE(γ̂) | γ̂/SE | resid. RMS/σ | energy MSE (free γ) | energy MSE (γ = 0) "
               "| NODE2 recorded |"),
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        f, z = r["free_gamma"], r["gamma_zero"]
        n2 = node2.get(str(r["seed"]))
        lines.append(f"| {r['seed']} | {f['a']:.4f} | {f['se_a']:.4f} | {f['gamma']:+.4f} | {f['se_gamma']:.4f} | "
                     f"{f['gamma'] / f['se_gamma']:+.2f} | {f['whitened_residual_rms']:.3f} | {bold(f['energy_mse'])} | "
                     f"{bold(z['energy_mse'])} | {bold(n2['energy_mse']) if n2 else '—'} |")
    lines.append("\nBold: at or under the target. NODE2 recorded: seeds 0–2 from `nets_family.json`, 3–8 from the notes of "
                 "`nets_family.md` (same setting, an exploration script); not retrained here.\n")
    n2_first3 = [node2[str(k)]["energy_mse"] for k in (0, 1, 2) if str(k) in node2]
    n2_range = f"{_fmt(min(nn['energy_mse']))} – {_fmt(max(nn['energy_mse']))} (range)" if nn["energy_mse"] else "—"
    n2_frac = "—" if nn["fraction_under_target"] is None else f"{nn['fraction_under_target']:.2f}"
    lines += ["## Summary over the seeds\n",
              "| quantity | free γ (no conservation prior) | γ = 0 (conservation prior) | NODE2 (recorded seeds) |",
              "|---|---|---|---|",
              f"| seeds | {s['num_seeds']} | {s['num_seeds']} | {len(nn['seeds'])} ({', '.join(map(str, nn['seeds']))}) |",
              (f"| γ̂: median / median abs / SD over seeds / range | {g['median']:+.4f} / {g['median_abs']:.4f} / "
               f"{g['sd_over_seeds']:.4f} / [{g['min']:+.4f}, {g['max']:+.4f}] | 0 | — |"),
              f"| SE(γ̂) (Cramér–Rao): median / range | {se['median']:.4f} / [{se['min']:.4f}, {se['max']:.4f}] | — | — |",
              (f"| fraction of seeds with abs γ̂ < 0.004 / < {s['gamma_needed_for_target']:.4f} (needed) / < 2 SE | "
               f"{s['fraction_abs_gamma_below_0.004']:.2f} / {ef['fraction_under_target']:.2f} / "
               f"{s['fraction_abs_gamma_below_2_se']:.2f} | — | — |"),
              f"| energy MSE: median | {_fmt(ef['median'])} | {_fmt(ez['median'])} | {_fmt(nn['median'])} |",
              (f"| energy MSE: quartiles / range | {_fmt(ef['q25'])} – {_fmt(ef['q75'])} / {_fmt(ef['min'])} – "
               f"{_fmt(ef['max'])} | {_fmt(ez['min'])} – {_fmt(ez['max'])} (range) | {n2_range} |"),
              (f"| energy MSE: median over seeds 0, 1, 2 (the issue's protocol) | {_fmt(ef['median_seeds_0_1_2'])} | "
               f"{_fmt(ez['median_seeds_0_1_2'])} | {_fmt(float(np.median(n2_first3)) if n2_first3 else None)} |"),
              (f"| fraction of seeds ≤ {TARGET:.1e} | {ef['fraction_under_target']:.2f} | "
               f"{ez['fraction_under_target']:.2f} | {n2_frac} |"),
              (f"| P(median of 3 seeds ≤ target), from the per-seed fraction | "
               f"{ef['p_median_of_3_seeds_meets_target']:.2f} | {_median_of_3_meets(ez['fraction_under_target']):.2f} | "
               f"{'—' if nn['p_median_of_3_seeds_meets_target'] is None else format(nn['p_median_of_3_seeds_meets_target'], '.2f')} |"),
              f"| oracle (free γ) median on the NODE2's seeds | {_fmt(nn['oracle_median_same_seeds'])} | — | {_fmt(nn['median'])} |"]
    floor = ", ".join(f"{_fmt(e['energy_mse'])} (seed {e['seed']})" for e in s["true_field_energy_mse"])
    lines.append(f"\nIf γ̂ ~ N(0, SE²) with SE = {ex['se_gamma']:.4f} (the median SE): {ex['fraction_under_target']:.0%} of data "
                 f"draws under the target, median energy MSE {ex['median_energy_mse']:.1e}, P(median of 3 seeds ≤ target) = "
                 f"{ex['p_median_of_3_seeds_meets_target']:.2f}; with SE ∝ N^(-1/2), "
                 f"{ex['more_trajectories_factor_needed']['median']:.0f}× as many training trajectories (same length) would "
                 f"put the median seed at the target, {ex['more_trajectories_factor_needed']['90 percent']:.0f}× would put "
                 "90 % of seeds under it.\n")
    lines.append(f"Checks: evaluation floor (the true field a = 4, γ = 0, same rollouts, float32) {floor}. Every fit converged "
                 "to the same optimum from the regression start, from the truth and from (a, γ) = (3, 0.05) (largest change "
                 f"of γ̂ {s['max_gamma_change_other_starts']:.1e}); whitened residual RMS "
                 f"{s['whitened_residual_rms_range'][0]:.3f}–{s['whitened_residual_rms_range'][1]:.3f} (1 for the right "
                 f"noise model). Across seeds the free-γ energy MSE ≈ {s['energy_mse_per_gamma_squared']:.1f} γ̂² (least "
                 f"squares through the origin; the γ = 0 column shows the error of â alone is negligible), so the target "
                 f"needs abs γ ≲ {s['gamma_needed_for_target']:.4f}.\n")
    lines += ["## Conclusion\n", record["conclusion"], ""]
    return "\n".join(lines)


def conclusion(s: dict) -> str:
    ef, ez, g, se, ex, nn = (s["energy_mse_free_gamma"], s["energy_mse_gamma_zero"], s["gamma"], s["se_gamma"],
                             s["expected_if_gamma_hat_normal"], s["node2_recorded"])
    reachable = ef["median"] <= TARGET and ef["fraction_under_target"] > 0.5
    text = (f"An estimator with the right linear structure, the right noise model and NO conservation prior (the ML fit "
            f"of q̈ = −a q − γ q̇ to the whole trajectories) pins the damping only to SE(γ̂) = {se['median']:.4f} (Cramér–Rao, "
            f"median over {s['num_seeds']} seeds; the SD of γ̂ over the seeds is {g['sd_over_seeds']:.4f}, its mean "
            f"{g['mean']:+.4f}: unbiased and efficient as expected), while the target needs abs γ ≲ "
            f"{s['gamma_needed_for_target']:.4f} (energy MSE ≈ {s['energy_mse_per_gamma_squared']:.0f} γ² here), about "
            f"{s['gamma_needed_for_target'] / se['median']:.2f} SE. ")
    if not reachable:
        text += (f"Its energy MSE has median {ef['median']:.2e} over the {s['num_seeds']} seeds, {ef['median'] / TARGET:.1f}× the "
                 f"target {TARGET:.1e}; {ef['fraction_under_target']:.0%} of the seeds meet it (expected for γ̂ ~ N(0, SE²): "
                 f"{ex['fraction_under_target']:.0%}, median {ex['median_energy_mse']:.1e}); the issue's protocol (median over "
                 f"seeds 0, 1, 2) gives {ef['median_seeds_0_1_2']:.2e}, and a median of three seeds meets the target with "
                 f"probability ≈ {ex['p_median_of_3_seeds_meets_target']:.0%}. The same fit with γ fixed to 0 (a conservation "
                 f"prior) gives median {ez['median']:.1e} and meets the target on {ez['fraction_under_target']:.0%} of seeds. "
                 "So with this data (25 trajectories of 30 points, about one period, noise 0.1) the target is unreachable "
                 "for NODE+SO except by a bias towards γ = 0: no unbiased estimator can do better than this bound, and "
                 "NODE+SO has strictly less structure (Cramér–Rao bounds every unbiased estimator; the ML fit attains it). ")
        if nn["median"] is not None:
            text += (f"The NODE2 the benchmark records (seeds {', '.join(map(str, nn['seeds']))}) has median {nn['median']:.1e} "
                     f"and {nn['fraction_under_target']:.0%} of those seeds under the target, against the oracle's "
                     f"{nn['oracle_median_same_seeds']:.1e} on the same seeds; but seed by seed it is below the oracle on only "
                     f"{nn['seeds_node2_below_oracle']} of {len(nn['seeds'])} (geometric mean of the paired ratios "
                     f"{nn['geomean_ratio_node2_to_oracle']:.2f}, ratios from {nn['ratio_node2_to_oracle_range'][0]:.1e} to "
                     f"{nn['ratio_node2_to_oracle_range'][1]:.1e}; Spearman ρ between the two "
                     f"{nn['spearman_with_oracle']:+.2f}), and an estimator at the oracle's per-seed rate would put as many of "
                     f"{len(nn['seeds'])} seeds under the target with probability {nn['p_as_many_under_target_at_oracle_rate']:.2f}. "
                     "So on these seeds the NODE2 is not clearly better than the unbiased bound; if it is, that can "
                     "only come from an implicit shrinkage of the learned damping (weight decay, the network's smoothness; "
                     "not isolated here), not from the data pinning γ. At its recorded per-seed rate a median of three "
                     f"seeds meets the target with probability ≈ {nn['p_median_of_3_seeds_meets_target']:.0%}, at the "
                     f"oracle's ≈ {ex['p_median_of_3_seeds_meets_target']:.0%}. Meeting the target reliably needs an explicit "
                     "bias towards γ = 0 (a conservation or time-reversal prior: the HNN/LNN's structure, which NODE+SO "
                     "deliberately lacks) or more data (SE(γ̂) ∝ N^(-1/2): about "
                     f"{ex['more_trajectories_factor_needed']['median']:.0f}× as many training trajectories of the same "
                     f"length for the median seed to meet it, {ex['more_trajectories_factor_needed']['90 percent']:.0f}× for "
                     "90 % of seeds); more tuning of NODE2 can at best move which seeds happen to pass.")
        return text
    return text + (f"The free-γ oracle meets the target: median {ef['median']:.2e} over {s['num_seeds']} seeds "
                   f"({TARGET / ef['median']:.1f}× under {TARGET:.1e}), {ef['fraction_under_target']:.0%} of seeds under it, median "
                   f"over seeds 0, 1, 2 {ef['median_seeds_0_1_2']:.2e}. The data therefore pin the damping well enough: the gap "
                   f"to NODE2 (recorded median {nn['median']:.2e} on seeds {nn['seeds']}, oracle "
                   f"{nn['oracle_median_same_seeds']:.2e} on the same seeds) is in NODE2's training or its lack of structure, "
                   "not in the data.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(20)))
    parser.add_argument("--out", default=str(HERE / "results" / "node2_oracle"))
    args = parser.parse_args(argv)
    load0, c0, w0 = os.getloadavg()[0], time.process_time(), time.perf_counter()
    runs = []
    for seed in args.seeds:
        r = run_seed(seed, floor=seed == args.seeds[0])
        runs.append(r)
        f, z = r["free_gamma"], r["gamma_zero"]
        print(f"seed {seed:2d}: a = {f['a']:.4f} ± {f['se_a']:.4f}, γ = {f['gamma']:+.4f} ± {f['se_gamma']:.4f}, "
              f"energy MSE free γ {f['energy_mse']:.2e}, γ = 0 {z['energy_mse']:.2e}, true field "
              f"{_fmt(r['true_field_energy_mse'])} ({r['cpu_s']:.1f} CPU-s)", flush=True)
    node2 = node2_recorded()
    s = summary(runs, node2)
    record = {"benchmark": "node2_oracle: ML fit of the correctly specified linear model on the nets_family spring data",
              "command": ".venv/bin/python " + " ".join(["benchmarks/node2_oracle.py", *(sys.argv[1:] if argv is None else argv)]),
              "seeds": args.seeds, "target": TARGET, "data": {"task": TASK, **TASKS[TASK]["sim"], "train": "first half",
                                                             "data_key": "1000 + seed", "eval_key": "2000 + seed",
                                                             "t_max": TASKS[TASK]["t_max"]},
              "runs": runs, "node2_recorded": {str(k): v for k, v in sorted(node2.items())}, "summary": s,
              "cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - w0,
              "machine": {"cpu_count": os.cpu_count(), "load_average_1min_start": load0,
                          "load_average_1min_end": os.getloadavg()[0], "jax": jax.__version__,
                          "scipy": scipy.__version__, "numpy": np.__version__, "python": sys.version.split()[0]},
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    record["conclusion"] = conclusion(s)
    out = Path(args.out)
    write_json(out.with_suffix(".json"), record)
    with atomic_path(out.with_suffix(".md")) as tmp:
        Path(tmp).write_text(markdown(record))
    print("\n" + record["conclusion"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
