"""The Nagata 2012 spectrum benchmark (issue 3, item 8): K = 1..6 selection with noise estimation.

What it answers, on the standard synthetic spectrum of Nagata, Sugita & Okada (2012) (n = 301,
x_i = 0.01 i, three Gaussian peaks, σ = 0.1; ``physlaw.measure.spectrum.nagata_data(seed)`` draws the
noise with ``seed``), analysed with ``physlaw.measure.selection.deconvolve(..., priors="nagata")``:

1. **Noise seeds** (data seeds 0..N−1): one K = 1..6 scan each with the noise estimated over the ladder
   (``estimate_noise=True``). Per seed: F(K) ± err, p(K | D), σ̂ (of the selected model and per K),
   the realised noise rms of the draw, the wall time of the whole scan (the first includes compilation).
   Summaries: how often each K wins; in how many seeds p(K ≥ 3 | D) > 0.99 and K ≤ 2 is never selected;
   σ̂ within 5 % of 0.1 and of the realised rms; the median reported F error per K.
2. **Sampler-seed spread at fixed data** (data seed 0, σ = 0.1 known): K = 1..6 with 5 sampler seeds;
   sd of F(K) per K, and |mean F − F_ref| against one long reference run (4× the samples, L = 48).
   ``--spread-samples`` sets their length apart from the scans' (the sd falls as 1/√samples).
3. **dynesty** on the same data, σ = 0.1 known, the same priors (a ~ Gamma(5, rate 5),
   μ ~ Normal(1.5, var 0.2), b ~ Gamma(5, rate 0.04), via gamma.ppf / norm.ppf prior transforms; a NumPy
   likelihood), K = 3 and 4, static ``NestedSampler`` (bound 'multi', sample 'rwalk'), nlive = 500, 2 seeds:
   log Z ± logzerr, |F − F_ref|, wall time, and the speed ratio dynesty s / physlaw s per K. Each with the
   centres iid (K! label-switched modes) and as their order statistics (one mode, the same Z exactly):
   a gap between the two shows nested sampling losing modes.

Timing: wall clock of each whole call (``deconvolve`` or dynesty's ``run_nested``). float64.
One process, run serially; the machine's load average at start and end is recorded.

Run:  python benchmarks/nagata.py                       (full: 20 seeds, S = 2000, B = 1000, L = 32, C = 4)
      python benchmarks/nagata.py --quick               (2 seeds, smaller runs -> results/nagata_quick.*)
      python benchmarks/nagata.py --seeds 10 --samples 1000 --burnin 500   (a reduced run)
      python benchmarks/nagata.py --seeds 20 --samples 1000 --burnin 500 --spread-samples 4000 --dynesty-seeds 1
                                                        (the run in results/nagata.md)
Output: benchmarks/results/nagata.json and nagata.md (or --tag NAME)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import physlaw  # noqa: E402

physlaw.enable_persistent_cache()  # before the first compilation

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import machine_info, md_table  # noqa: E402

from physlaw.measure.selection import deconvolve  # noqa: E402
from physlaw.measure.spectrum import NAGATA_2012, gaussian_peaks, nagata_data  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SIGMA = NAGATA_2012["sigma"]
KS = list(range(1, 7))


def realised_rms(seed):
    x, y, _ = nagata_data(seed)
    p = NAGATA_2012
    clean = gaussian_peaks(x, np.array(p["a"]), np.array(p["mu"]), np.array(p["b"]))
    return float(np.sqrt(np.mean((y - clean) ** 2)))


def fits_record(a):
    return [dict(name=f.name, K=f.info["num_peaks"], F=f.free_energy, F_err=f.free_energy_err,
                 p=f.probability, p_err=f.probability_err, sigma_hat=f.noise_sigma) for f in a.fits]


# ----------------------------------------------------------------------------------------------
# 1. noise seeds


def noise_seed_scan(seeds, cfg, log):
    out = []
    for seed in seeds:
        x, y, _ = nagata_data(seed)
        t0 = time.perf_counter()
        a = deconvolve(x, y, estimate_noise=True, kmax=6, priors="nagata", backgrounds="none", signs="positive", shapes="gauss",
                       key=jax.random.key(seed), progress=False,
                       **cfg)
        wall = time.perf_counter() - t0
        pk = a.peak_number_probabilities()
        rec = dict(seed=seed, wall_s=wall, fits=fits_record(a), selected_K=a.best.info["num_peaks"],
                   p_K={int(k): v for k, v in pk.items()}, p_K_ge3=a.probability_at_least(3),
                   sigma_hat=a.noise_sigma, realised_rms=realised_rms(seed), warnings=a.warnings)
        out.append(rec)
        log(f"  data seed {seed}: {wall:.1f} s, K̂ = {rec['selected_K']}, p(K≥3) = {rec['p_K_ge3']:.4f}, "
            f"σ̂ = {rec['sigma_hat']:.4f} (rms {rec['realised_rms']:.4f}), "
            + ", ".join(f"F{r['K']} = {r['F']:.2f}±{r['F_err']:.2f}" for r in rec["fits"]))
    return out


def summarise_scan(scan):
    n = len(scan)
    wins = {k: sum(r["selected_K"] == k for r in scan) for k in KS}
    ok_sel = [r["seed"] for r in scan if r["p_K_ge3"] > 0.99 and r["selected_K"] >= 3]
    within_true = [r["seed"] for r in scan if abs(r["sigma_hat"] / SIGMA - 1) <= 0.05]
    within_rms = [r["seed"] for r in scan if abs(r["sigma_hat"] / r["realised_rms"] - 1) <= 0.05]
    med_err = {k: float(np.median([f["F_err"] for r in scan for f in r["fits"] if f["K"] == k])) for k in KS}
    walls = [r["wall_s"] for r in scan]
    return dict(num_seeds=n, wins=wins, seeds_selection_ok=ok_sel, seeds_sigma_within5_true=within_true,
                seeds_sigma_within5_rms=within_rms, median_F_err=med_err, first_wall_s=walls[0],
                median_wall_rest_s=float(np.median(walls[1:])) if n > 1 else None,
                max_wall_rest_s=float(np.max(walls[1:])) if n > 1 else None,
                sigma_hat_rel_err=[r["sigma_hat"] / SIGMA - 1 for r in scan])


# ----------------------------------------------------------------------------------------------
# 2. sampler-seed spread at fixed data, known σ


def one_k(x, y, k, seed, cfg):
    t0 = time.perf_counter()
    a = deconvolve(x, y, sigma=SIGMA, kmin=k, kmax=k, priors="nagata", backgrounds="none", signs="positive", shapes="gauss",
                   key=jax.random.key(seed), progress=False,
                   **cfg)
    f = a.fits[0]
    return dict(K=k, seed=seed, F=f.free_energy, F_err=f.free_energy_err, wall_s=time.perf_counter() - t0,
                warnings=a.warnings)


def spread_study(sampler_seeds, cfg, ref_cfg, log):
    x, y, _ = nagata_data(0)
    runs, ref = [], []
    for k in KS:  # warm the compiled chunk for this K once so that timings are execution-dominated
        for s in sampler_seeds:
            r = one_k(x, y, k, s, cfg)
            runs.append(r)
            log(f"  K = {k}, sampler seed {s}: F = {r['F']:.3f} ± {r['F_err']:.3f}  ({r['wall_s']:.1f} s)")
        r = one_k(x, y, k, 1000, ref_cfg)
        ref.append(r)
        log(f"  K = {k}, reference: F = {r['F']:.3f} ± {r['F_err']:.3f}  ({r['wall_s']:.1f} s)")
    per_k = []
    for k in KS:
        F = np.array([r["F"] for r in runs if r["K"] == k])
        walls = [r["wall_s"] for r in runs if r["K"] == k]
        Fr = next(r for r in ref if r["K"] == k)
        per_k.append(dict(K=k, mean_F=float(F.mean()), sd_F=float(F.std(ddof=1)) if F.size > 1 else float("nan"),
                          median_F_err=float(np.median([r["F_err"] for r in runs if r["K"] == k])),
                          F_ref=Fr["F"], F_ref_err=Fr["F_err"], abs_dev_ref=float(abs(F.mean() - Fr["F"])),
                          first_wall_s=walls[0], median_wall_warm_s=float(np.median(walls[1:] or walls)),
                          ref_wall_s=Fr["wall_s"]))
    return dict(runs=runs, reference=ref, per_k=per_k)


# ----------------------------------------------------------------------------------------------
# 3. dynesty


def ordered_uniforms(u):
    """The order statistics of K iid U(0, 1) from K independent uniforms (a bijection of the cube):
    v_K = u_K^(1/K), v_k = v_(k+1) u_k^(1/k)."""
    k = u.size
    v = np.empty(k)
    top = 1.0
    for j in range(k - 1, -1, -1):
        top = top * u[j] ** (1.0 / (j + 1))
        v[j] = top
    return v


def dynesty_run(k, seed, nlive, ordered=False):
    """dynesty's evidence for K peaks. ``ordered``: the centres drawn as the order statistics of the
    same K iid normals (one labelling of the K! symmetric modes; the same Z exactly, since the
    likelihood does not depend on the labels) — a check on mode loss in the unordered run."""
    import dynesty
    from scipy.stats import gamma, norm

    x, y, _ = nagata_data(0)
    n = y.size
    const = -0.5 * n * np.log(2 * np.pi * SIGMA**2)

    def ptform(u):
        a = gamma.ppf(u[:k], 5.0, scale=1 / 5.0)
        um = ordered_uniforms(u[k:2 * k]) if ordered else u[k:2 * k]
        mu = norm.ppf(um, 1.5, np.sqrt(0.2))
        b = gamma.ppf(u[2 * k:], 5.0, scale=1 / 0.04)
        return np.concatenate([a, mu, b])

    def loglike(t):
        a, mu, b = t[:k], t[k:2 * k], t[2 * k:]
        r = y - gaussian_peaks(x, a, mu, b)
        return const - 0.5 * np.dot(r, r) / SIGMA**2

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = dynesty.NestedSampler(loglike, ptform, 3 * k, nlive=nlive, sample="rwalk",
                                  rstate=np.random.default_rng(seed))
        s.run_nested(print_progress=False)
    res = s.results
    wall = time.perf_counter() - t0
    return dict(K=k, seed=seed, nlive=nlive, ordered=ordered, logZ=float(res.logz[-1]), logZ_err=float(res.logzerr[-1]),
                F=-float(res.logz[-1]), ncall=int(np.sum(res.ncall)), wall_s=wall)


# ----------------------------------------------------------------------------------------------
# 4. BlackJAX adaptive tempered SMC (evidence.py's program: random-walk Metropolis inner kernel)


SMC_AGREES = 0.5  # nat: an SMC setting whose mean F is further from the reference is called biased


class NagataSMCProblem:
    """The K-peak Nagata problem (σ known, the same priors, data seed 0) in the form evidence.py's SMC uses."""

    def __init__(self, k):
        import jax.numpy as jnp
        from jax.scipy.stats import gamma as jgamma
        from jax.scipy.stats import norm as jnorm

        x, y, _ = nagata_data(0)
        self.name, self.dim = f"nagata-K{k}", 3 * k
        xj, yj = jnp.asarray(x), jnp.asarray(y)
        const = -0.5 * y.size * np.log(2 * np.pi * SIGMA**2)

        def loglik(t):
            r = yj - gaussian_peaks(xj, t[:k], t[k:2 * k], t[2 * k:])
            return const - 0.5 * jnp.dot(r, r) / SIGMA**2

        def logprior(t):
            a, mu, b = t[:k], t[k:2 * k], t[2 * k:]
            lp = (jnp.sum(jgamma.logpdf(a, 5.0, scale=1 / 5.0)) + jnp.sum(jnorm.logpdf(mu, 1.5, np.sqrt(0.2)))
                  + jnp.sum(jgamma.logpdf(b, 5.0, scale=1 / 0.04)))
            return jnp.where(jnp.all(a > 0) & jnp.all(b > 0), lp, -jnp.inf)

        def sample(key, n):
            ka, km, kb = jax.random.split(key, 3)
            return jnp.concatenate([jax.random.gamma(ka, 5.0, (n, k)) / 5.0,
                                    1.5 + np.sqrt(0.2) * jax.random.normal(km, (n, k)),
                                    jax.random.gamma(kb, 5.0, (n, k)) / 0.04], axis=1)

        self.jax_loglik, self.jax_logprior, self.jax_sample = loglik, logprior, sample


def smc_runs(ks, settings, seeds, log):
    """Per K and (particles, Metropolis steps per tempering step): log Z over sampler seeds."""
    from evidence import _smc_program

    out = []
    for k in ks:
        problem = NagataSMCProblem(k)
        for n, m in settings:
            whole = _smc_program(problem, n, m)
            t0 = time.perf_counter()
            jax.block_until_ready(whole(jax.random.key(10_000)))  # compile + one run, not timed
            compile_s = time.perf_counter() - t0
            for s in seeds:
                t0 = time.perf_counter()
                log_z, steps, lam = whole(jax.random.key(s))
                log_z = float(log_z)
                wall = time.perf_counter() - t0
                out.append(dict(K=k, particles=n, mcmc_steps=m, seed=s, logZ=log_z, F=-log_z, steps=int(steps), final_lambda=float(lam),
                                wall_s=wall, compile_s=compile_s))
                log(f"  SMC K = {k}, N = {n}, {m} steps, seed {s}: log Z = {log_z:.3f}, {int(steps)} steps, {wall:.1f} s")
    return out


def smc_summary(runs, rep):
    ref = {r["K"]: r for r in rep["spread"]["per_k"]} if "spread" in rep else {}
    out = []
    for key in sorted({(r["K"], r["particles"], r["mcmc_steps"]) for r in runs}):
        rs = [r for r in runs if (r["K"], r["particles"], r["mcmc_steps"]) == key]
        F = np.array([r["F"] for r in rs])
        k = key[0]
        row = dict(K=k, particles=key[1], mcmc_steps=key[2], mean_F=float(F.mean()), sd_F=float(F.std(ddof=1)) if F.size > 1 else None,
                   median_wall_s=float(np.median([r["wall_s"] for r in rs])), seeds=len(rs))
        if k in ref:
            row["abs_dev_ref"] = abs(row["mean_F"] - ref[k]["F_ref"])
            row["physlaw_s"], row["physlaw_sd"] = ref[k]["median_wall_warm_s"], ref[k]["sd_F"]
            if row["sd_F"]:
                # the time SMC would need for physlaw's precision (sd ∝ 1/√N), over physlaw's time
                row["ratio_equal_precision"] = row["median_wall_s"] * (row["sd_F"] / row["physlaw_sd"]) ** 2 / row["physlaw_s"]
        out.append(row)
    return out


# ----------------------------------------------------------------------------------------------


def fmt(v, p=3):
    return "—" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{p}f}"


def markdown(rep) -> str:
    m, s = rep["machine"], rep["settings"]
    L = [f"# Nagata 2012 spectrum benchmark{' (quick)' if s['quick'] else ''}", "",
         f"Machine: {m['cpu']}, nproc = {m['nproc']}; `{m['uname']}`; load average at start "
         f"{m['load_start'][0]:.2f}, at end {m['load_end'][0]:.2f}. Total wall time {m['wall_s']:.0f} s.",
         f"Versions: {', '.join(f'{k} {v}' for k, v in m['versions'].items())}; Python {m['python']}. float64.",
         f"Command: `{s['command']}`", ""]
    if "earlier_run" in s:
        e = s["earlier_run"]
        L += [f"Parts kept (`--keep`) from an earlier run: `{e['settings']['command']}` (load average at start "
              f"{e['machine']['load_start'][0]:.2f}, at end {e['machine']['load_end'][0]:.2f}).", ""]
    L += [
         f"Scan settings (part 1): {s['scan']}; spread runs (part 2): {s['spread']}, sampler seeds "
         f"{s['sampler_seeds']}; reference: {s['reference']}; dynesty nlive = {s['nlive']}, seeds "
         f"{s['dynesty_seeds']}.", ""]
    if "scan" in rep:
        sm = rep["scan_summary"]
        n = sm["num_seeds"]
        L += [f"## 1. K = 1..6 scans with noise estimation, data seeds {s['data_seeds'][0]}..{s['data_seeds'][-1]}",
              ""]
        L += md_table(["data seed", "K̂", "p(K=2)", "p(K=3)", "p(K=4)", "p(K=5)", "p(K=6)", "p(K≥3)",
                       "σ̂", "rms of draw", "scan s"],
                      [[str(r["seed"]), str(r["selected_K"])] + [f"{r['p_K'].get(k, r['p_K'].get(str(k), 0)):.3f}" for k in (2, 3, 4, 5, 6)]
                       + [f"{r['p_K_ge3']:.6f}", f"{r['sigma_hat']:.4f}", f"{r['realised_rms']:.4f}",
                          f"{r['wall_s']:.1f}"] for r in rep["scan"]])
        L += ["", "F(K) ± reported error per seed:", ""]
        L += md_table(["data seed"] + [f"F({k})" for k in KS],
                      [[str(r["seed"])] + [f"{f['F']:.2f} ± {f['F_err']:.2f}" for f in r["fits"]] for r in rep["scan"]])
        L += ["", "- wins: " + ", ".join(f"K = {k}: {v}/{n}" for k, v in sm["wins"].items()),
              f"- p(K ≥ 3 | D) > 0.99 and K̂ ≥ 3: {len(sm['seeds_selection_ok'])}/{n}",
              f"- σ̂ within 5 % of 0.1: {len(sm['seeds_sigma_within5_true'])}/{n}; within 5 % of the draw's rms: "
              f"{len(sm['seeds_sigma_within5_rms'])}/{n}",
              "- median reported F error per K: " + ", ".join(f"K={k}: {v:.3f}" for k, v in sm["median_F_err"].items()),
              f"- scan wall time: first (with compilation) {sm['first_wall_s']:.1f} s; median of the rest "
              f"{fmt(sm['median_wall_rest_s'], 1)} s (max {fmt(sm['max_wall_rest_s'], 1)} s)", ""]
    if "spread" in rep:
        L += ["## 2. Sampler-seed spread of F(K), data seed 0, σ = 0.1 known", ""]
        L += md_table(["K", "mean F", "sd F (sampler seeds)", "median reported err", "F_ref ± err",
                       "abs(mean − ref)", "s per K (warm median)", "ref s"],
                      [[str(r["K"]), f"{r['mean_F']:.3f}", f"{r['sd_F']:.3f}", f"{r['median_F_err']:.3f}",
                        f"{r['F_ref']:.3f} ± {r['F_ref_err']:.3f}", f"{r['abs_dev_ref']:.3f}",
                        f"{r['median_wall_warm_s']:.1f}", f"{r['ref_wall_s']:.1f}"] for r in rep["spread"]["per_k"]])
        L += [""]
    if "dynesty" in rep:
        L += ["## 3. dynesty, data seed 0, σ = 0.1 known, same priors", ""]
        L += ["Centre prior: *unordered* — K iid normals (the posterior has K! label-switched modes); *ordered* — "
              "their order statistics (one mode; the same evidence exactly, the likelihood being label-symmetric). "
              "A gap between the two shows dynesty losing modes.", ""]
        L += md_table(["K", "centres", "seed", "log Z ± logzerr", "F = −log Z", "abs(F − F_ref)", "ncall", "wall s"],
                      [[str(r["K"]), "ordered" if r.get("ordered") else "unordered", str(r["seed"]), f"{r['logZ']:.3f} ± {r['logZ_err']:.3f}", f"{r['F']:.3f}",
                        fmt(r.get("abs_dev_ref")), str(r["ncall"]), f"{r['wall_s']:.1f}"] for r in rep["dynesty"]])
        if "speed" in rep:
            L += ["", "Speed ratio (dynesty median wall s per K / physlaw warm median wall s per K, physlaw at its "
                  "sampler-seed sd and reported error vs dynesty's logzerr):", ""]
            L += md_table(["K", "dynesty s", "dynesty logzerr", "physlaw s", "physlaw sd / reported err", "ratio",
                           "ratio at equal precision"],
                          [[str(r["K"]), f"{r['dynesty_s']:.1f}", f"{r['dynesty_err']:.3f}", f"{r['physlaw_s']:.1f}",
                            f"{r['physlaw_sd']:.3f} / {r['physlaw_err']:.3f}", f"{r['ratio']:.1f}×",
                            f"{equal_precision_ratio(r):.0f}×"] for r in rep["speed"]])
            L += ["", "Ratio at equal precision: the wall-time ratio × (dynesty's logzerr / physlaw's larger of sd and "
                  "reported error)², both errors falling as 1/√time (nested sampling: as 1/√nlive).", ""]
        L += [""]
    if "smc" in rep:
        L += ["## 4. BlackJAX adaptive tempered SMC, data seed 0, σ = 0.1 known, same priors", "",
              "evidence.py's program (one jitted while loop; target ESS 0.5, systematic resampling, 10 random-walk "
              "Metropolis steps per tempering step, scale 2.38/√d × the particles' spread); wall time of warm runs "
              "(compilation excluded, which favours SMC). Ratio at equal precision: SMC's time scaled to physlaw's "
              "sampler-seed sd (sd ∝ 1/√N) over physlaw's warm time per K (part 2) — meaningful only where SMC's "
              "mean agrees with the reference.", ""]
        L += md_table(["K", "particles", "RW steps", "seeds", "mean F", "sd F", "abs(mean − F_ref)", "s per run", "physlaw s / sd",
                       "ratio at equal precision"],
                      [[str(r["K"]), str(r["particles"]), str(r["mcmc_steps"]), str(r["seeds"]), f"{r['mean_F']:.3f}", fmt(r["sd_F"]),
                        fmt(r.get("abs_dev_ref")), f"{r['median_wall_s']:.1f}",
                        f"{r['physlaw_s']:.1f} / {r['physlaw_sd']:.3f}" if "physlaw_s" in r else "—",
                        "— (biased)" if r.get("abs_dev_ref", 0) >= SMC_AGREES else
                        (f"{r['ratio_equal_precision']:.1f}×" if r.get("ratio_equal_precision") else "—")]
                       for r in rep["smc_summary"]])
        L += [""]
    if "targets" in rep:
        L += ["## Targets (issue 3)", ""]
        L += md_table(["target", "measured", "met"], [[t["target"], t["measured"], t["met"]] for t in rep["targets"]])
    return "\n".join(L) + "\n"


def equal_precision_ratio(r):
    return r["ratio"] * (r["dynesty_err"] / max(r["physlaw_sd"], r["physlaw_err"])) ** 2


def targets(rep):
    out = []
    if "spread" in rep:
        pk = rep["spread"]["per_k"]
        sd = max(r["sd_F"] for r in pk)
        dev = max(r["abs_dev_ref"] for r in pk)
        out.append(dict(target="F(K) sampler-seed spread ≤ 0.05 nat, K = 1..6",
                        measured="sd per K: " + ", ".join(f"{r['sd_F']:.3f}" for r in pk), met="yes" if sd <= 0.05 else "no"))
        out.append(dict(target="mean F(K) within 0.05 nat of the reference",
                        measured="abs(Δ) per K: " + ", ".join(f"{r['abs_dev_ref']:.3f}" for r in pk),
                        met="yes" if dev <= 0.05 else "no"))
    if "scan" in rep:
        sm = rep["scan_summary"]
        n = sm["num_seeds"]
        w = sm["median_wall_rest_s"] if sm["median_wall_rest_s"] is not None else sm["first_wall_s"]
        out.append(dict(target="K = 1..6 scan with noise estimation ≤ 60 s",
                        measured=f"median {w:.1f} s (first, compiling: {sm['first_wall_s']:.1f} s)",
                        met="yes" if w <= 60 else "no"))
        need = int(np.ceil(0.95 * n))
        k = len(sm["seeds_sigma_within5_true"])
        # no estimator from n points does better than the Cramér-Rao bound sd(σ̂)/σ ≥ 1/√(2(n − 3K)):
        # the chance that it falls within 5 % of the truth is at most P(|z| < 0.05/bound)
        from scipy.stats import norm
        bound = 1 / np.sqrt(2 * (301 - 9))
        best = 2 * norm.cdf(0.05 / bound) - 1
        k_rms = len(sm["seeds_sigma_within5_rms"])
        out.append(dict(target="σ̂ within 5 % of the truth in ≥ 19/20 seeds",
                        measured=f"{k}/{n} (within 5 % of the draw's own rms: {k_rms}/{n}; an efficient estimator has sd(σ̂)/σ ≈ "
                                 f"1/√(2(n − 3K)) = {100 * bound:.1f} % (Cramér-Rao), so only about {100 * best:.0f} % of seeds, "
                                 f"≈ {best * n:.1f}/{n}, fall within 5 %)",
                        met=("yes" if k >= need else "no — not reachable at n = 301") + ("" if n >= 20 else f" (only {n} seeds)")))
        k = len(sm["seeds_selection_ok"])
        out.append(dict(target="K ≤ 2 never selected and p(K ≥ 3 \\| D) > 0.99 in every seed",
                        measured=f"{k}/{n}", met=("yes" if k == n else "no") + ("" if n >= 20 else f" (only {n} seeds)")))
    if "smc_summary" in rep:
        best = {}
        for r in rep["smc_summary"]:
            if r.get("ratio_equal_precision") and r.get("abs_dev_ref", np.inf) < SMC_AGREES:
                best[r["K"]] = min(best.get(r["K"], np.inf), r["ratio_equal_precision"])
        unbiased = bool(best)
        if not unbiased:
            worst = min(r.get("abs_dev_ref", np.inf) for r in rep["smc_summary"])
            out.append(dict(target="same precision ≥ 10× faster than BlackJAX adaptive tempered SMC",
                            measured=f"no SMC setting reached the reference: the closest mean is {worst:.1f} nat off "
                                     "(see part 4); physlaw reaches ±0.05 nat in the times of part 2",
                            met="not measurable (SMC biased at every setting tried)"))
        if best:
            out.append(dict(target="same precision ≥ 10× faster than BlackJAX adaptive tempered SMC",
                            measured="ratio per K (SMC's best particle number): "
                                     + ", ".join(f"K={k}: {v:.1f}×" for k, v in best.items()),
                            met="yes" if min(best.values()) >= 10 else "no"))
    if "speed" in rep:
        rmin = min(r["ratio"] for r in rep["speed"])
        out.append(dict(target="same precision ≥ 10× faster than dynesty",
                        measured="ratio per K: " + ", ".join(f"K={r['K']}: {r['ratio']:.1f}× (at equal precision "
                                                             f"{equal_precision_ratio(r):.0f}×)" for r in rep["speed"]),
                        met="yes" if rmin >= 10 else "no"))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="2 data seeds, small runs; writes nagata_quick.*")
    p.add_argument("--seeds", type=int, default=None, help="number of noise (data) seeds (default 20; quick 2)")
    p.add_argument("--samples", type=int, default=None, help="num_samples of the scans and spread runs (2000)")
    p.add_argument("--burnin", type=int, default=None, help="num_burnin (1000)")
    p.add_argument("--spread-samples", type=int, default=None,
                   help="num_samples of the spread runs (default: --samples); the reference runs 4× this")
    p.add_argument("--reference-samples", type=int, default=None,
                   help="num_samples of the reference run (default 4 × the spread runs')")
    p.add_argument("--replicas", type=int, default=32)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--sampler-seeds", type=int, default=5)
    p.add_argument("--nlive", type=int, default=500)
    p.add_argument("--dynesty-seeds", type=int, default=2)
    p.add_argument("--dynesty-prior", default="unordered,ordered",
                   help="dynesty's centre prior: unordered (iid, K! label modes), ordered (order statistics), or both")
    p.add_argument("--parts", default="scan,spread,dynesty,smc")
    p.add_argument("--tag", default=None)
    p.add_argument("--keep", action="store_true",
                   help="keep the parts not in --parts from an existing results file of the same tag")
    a = p.parse_args()
    S = a.samples or (500 if a.quick else 2000)
    B = a.burnin or (250 if a.quick else 1000)
    nseeds = a.seeds or (2 if a.quick else 20)
    cfg = dict(num_samples=S, num_burnin=B, num_replicas=a.replicas, num_chains=a.chains)
    spread_cfg = dict(cfg, num_samples=a.spread_samples or S)
    ref_cfg = dict(num_samples=a.reference_samples or 4 * spread_cfg["num_samples"], num_burnin=2 * B, num_replicas=48,
                   num_chains=a.chains)
    nlive = 100 if a.quick else a.nlive
    tag = a.tag or ("nagata_quick" if a.quick else "nagata")
    parts = a.parts.split(",")
    sampler_seeds = list(range(2 if a.quick else a.sampler_seeds))
    dyn_seeds = list(range(1 if a.quick else a.dynesty_seeds))
    dyn_priors = [{"unordered": False, "ordered": True}[v] for v in a.dynesty_prior.split(",") if v]
    RESULTS.mkdir(exist_ok=True)

    def log(msg):
        print(msg, flush=True)

    t_start = time.perf_counter()
    rep = dict(machine=machine_info() | dict(load_start=list(os.getloadavg())),
               settings=dict(quick=a.quick, command="python " + " ".join(sys.argv), scan=cfg, spread=spread_cfg,
                             reference=ref_cfg, data_seeds=list(range(nseeds)), sampler_seeds=sampler_seeds,
                             reference_seed=1000, nlive=nlive, dynesty_seeds=dyn_seeds, dtype="float64",
                             priors="nagata", sigma_true=SIGMA))

    old = RESULTS / f"{tag}.json"
    if a.keep and old.exists():
        prev = json.loads(old.read_text())
        for part, keys in (("spread", ("spread",)), ("dynesty", ("dynesty", "speed")), ("scan", ("scan", "scan_summary")),
                           ("smc", ("smc", "smc_summary"))):
            if part not in parts:
                rep.update({k: prev[k] for k in keys if k in prev})
        rep["settings"]["earlier_run"] = dict(settings=prev["settings"], machine=prev["machine"])

    def save():
        rep["machine"]["load_end"] = list(os.getloadavg())
        rep["machine"]["wall_s"] = time.perf_counter() - t_start
        rep["targets"] = targets(rep)
        (RESULTS / f"{tag}.json").write_text(json.dumps(rep, indent=1, default=float))
        (RESULTS / f"{tag}.md").write_text(markdown(rep))

    if "spread" in parts:
        log(f"[2] sampler-seed spread, data seed 0, σ known: {spread_cfg}, reference {ref_cfg}")
        rep["spread"] = spread_study(sampler_seeds, spread_cfg, ref_cfg, log)
        save()
    if "scan" in parts:
        log(f"[1] noise-seed scans: {nseeds} seeds, {cfg}")
        rep["scan"] = []
        for seed in range(nseeds):
            rep["scan"] += noise_seed_scan([seed], cfg, log)
            rep["scan_summary"] = summarise_scan(rep["scan"])
            save()
    if "dynesty" in parts:
        log(f"[3] dynesty nlive = {nlive}")
        Fref = {r["K"]: r["F_ref"] for r in rep["spread"]["per_k"]} if "spread" in rep else {}
        rep["dynesty"] = []
        for k in (3, 4):
            for ordered in dyn_priors:
                for s in dyn_seeds:
                    r = dynesty_run(k, s, nlive, ordered=ordered)
                    r["abs_dev_ref"] = abs(r["F"] - Fref[k]) if k in Fref else None
                    rep["dynesty"].append(r)
                    save()
                    log(f"  K = {k}, {'ordered' if ordered else 'unordered'} centres, seed {s}: "
                        f"log Z = {r['logZ']:.3f} ± {r['logZ_err']:.3f}, {r['wall_s']:.1f} s")
        if "spread" in rep:
            rep["speed"] = []
            for k in (3, 4):
                d = [r for r in rep["dynesty"] if r["K"] == k]
                pk = next(r for r in rep["spread"]["per_k"] if r["K"] == k)
                ds = float(np.median([r["wall_s"] for r in d]))
                rep["speed"].append(dict(K=k, dynesty_s=ds, dynesty_err=float(np.median([r["logZ_err"] for r in d])),
                                         physlaw_s=pk["median_wall_warm_s"], physlaw_sd=pk["sd_F"],
                                         physlaw_err=pk["median_F_err"], ratio=ds / pk["median_wall_warm_s"]))
        save()
    if "smc" in parts:
        log("[4] BlackJAX adaptive tempered SMC")
        rep["smc"] = smc_runs((3, 4), [(500, 10)] if a.quick else [(1000, 10), (4000, 10), (1000, 100)],
                              list(range(2 if a.quick else 3)), log)
        rep["smc_summary"] = smc_summary(rep["smc"], rep)
        save()
    save()
    log(f"done in {time.perf_counter() - t_start:.0f} s -> {RESULTS / tag}.md")


if __name__ == "__main__":
    main()
