"""Free-energy (log-evidence) error versus wall time: physlaw vs dynesty vs BlackJAX tempered SMC.

What it answers: how accurate is ``physlaw.sampling.run``'s free energy F = −log Z on problems with a
known answer, is its error bar honest, and how long does it take (compilation included) to reach
0.1 nat compared with nested sampling (dynesty) and adaptive tempered SMC (BlackJAX)?

Targets (the same likelihoods and priors for every method):

* ``linear``   y = a x + b, n = 30, σ = 0.1 (x ~ U(0, 1), a = 1.5, b = 0.3, data seed 0),
               a, b ~ Normal(0, 10²); log Z from the closed form (``physlaw.measure.linear.exact_linear``);
* ``gauss2d``  log L = −|x|²/2 under U(−5, 5)²; log Z = log(2π/100) = −2.7673;
* ``eggbox``   log L = (2 + cos(x/2) cos(y/2))⁵ under U(0, 10π)²; log Z = 235.856 (Feroz et al. 2009).

Methods and settings:

* physlaw  ``run(key, target, num_samples=S, num_burnin=B, num_replicas=L, num_chains=4, moves="both")``;
           reported error = ``free_energy_err`` (batch means over the chains);
* physlaw-precision  the same with ``precision=P`` (``num_samples`` the minimum, ``max_samples`` 40×):
           sampling stops by itself once the reported error is ≤ P (P = 0.05, so that the actual error
           is ≤ 0.1 nat with margin);
* dynesty  static ``NestedSampler`` (default bound/sampler for 2-D, default dlogz), several ``nlive``;
           reported error = ``logzerr``; likelihoods in NumPy;
* BlackJAX ``adaptive_tempered_smc`` (target ESS 0.5, systematic resampling) with a Gaussian
           random-walk Metropolis inner kernel (10 steps per tempering step, per-coordinate scale
           2.38/√d × the particles' standard deviation, re-tuned after every step); log Z = Σ of
           ``info.log_likelihood_increment``; no error estimate from one run.

Timing: each method's whole call (target set-up + sampling + the evidence) from a fresh state; for
the JAX methods ``jax.clear_caches()`` (and physlaw's table of compiled chunks) is emptied before every
timed run, so compilation is included. float64 throughout. Every (target, method, setting) runs
with seeds 0, 1, 2 (more with --seeds); targets and seeds are interleaved across methods so that load
drift on this shared machine hits all methods alike.

Run:  python benchmarks/evidence.py            (full; 24 min on 2 cores at load 6–9)
      python benchmarks/evidence.py --quick    (smoke run: one small setting per method, 1 seed; ~1 min)
Output: benchmarks/results/evidence.json and evidence.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import physlaw  # noqa: E402

physlaw.enable_persistent_cache()  # before the first compilation

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import machine_info, md_table  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TOL = 0.1  # nat: the accuracy at which methods are compared

# ----------------------------------------------------------------------------------------------
# targets: one definition per problem, in JAX (physlaw, BlackJAX) and NumPy (dynesty)
# ----------------------------------------------------------------------------------------------

LIN_N, LIN_SIGMA, LIN_SCALE = 30, 0.1, 10.0


def linear_data():
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(0.0, 1.0, LIN_N))
    y = 1.5 * x + 0.3 + rng.normal(0.0, LIN_SIGMA, LIN_N)
    return x, y


def gauss_loglik(p):
    return -0.5 * jnp.sum(p["x"] ** 2)


def eggbox_loglik(p):
    x = p["x"]
    return (2.0 + jnp.cos(x[0] / 2) * jnp.cos(x[1] / 2)) ** 5


class Problem:
    """A target: its truth, a physlaw Target, a flat JAX form for SMC, a NumPy form for dynesty."""

    def __init__(self, name):
        from physlaw.priors import JointPrior, Uniform

        self.name = name
        if name == "linear":
            from physlaw.measure.linear import exact_linear, linear_target

            x, y = linear_data()
            self.truth = -exact_linear(x, y, LIN_SIGMA, "ax+b", prior_scale=LIN_SCALE).free_energy
            self.lo = self.hi = None
            self._physlaw = lambda: linear_target(x, y, LIN_SIGMA, "ax+b", prior_scale=LIN_SCALE)
            xj, yj = jnp.asarray(x), jnp.asarray(y)
            const = -0.5 * LIN_N * math.log(2 * math.pi * LIN_SIGMA**2)

            def jll(t):
                r = (yj - t[0] * xj - t[1]) / LIN_SIGMA
                return const - 0.5 * jnp.sum(r * r)

            def nll(t):
                r = (y - t[0] * x - t[1]) / LIN_SIGMA
                return const - 0.5 * float(r @ r)

            from scipy.special import ndtri

            self.np_loglik, self.np_transform = nll, lambda u: LIN_SCALE * ndtri(u)
            self.jax_loglik = jll
            self.jax_logprior = lambda t: jnp.sum(-0.5 * (t / LIN_SCALE) ** 2 - math.log(LIN_SCALE * math.sqrt(2 * math.pi)))
            self.jax_sample = lambda k, n: LIN_SCALE * jax.random.normal(k, (n, 2))
        else:
            lo, hi = (-5.0, 5.0) if name == "gauss2d" else (0.0, 10 * math.pi)
            self.truth = math.log(2 * math.pi / 100) if name == "gauss2d" else 235.856
            prior = _prior_cache(name, lo, hi, JointPrior, Uniform)
            fn = gauss_loglik if name == "gauss2d" else eggbox_loglik
            from physlaw.sampling import Target

            self._physlaw = lambda: Target.from_prior(prior, fn)
            self.jax_loglik = lambda t: fn({"x": t})
            width = hi - lo
            self.jax_logprior = lambda t: jnp.where(jnp.all((t >= lo) & (t <= hi)), -2 * math.log(width), -jnp.inf)
            self.jax_sample = lambda k, n: jax.random.uniform(k, (n, 2), minval=lo, maxval=hi, dtype=jnp.float64)
            if name == "gauss2d":
                self.np_loglik = lambda t: -0.5 * float(t @ t)
            else:
                self.np_loglik = lambda t: (2.0 + math.cos(t[0] / 2) * math.cos(t[1] / 2)) ** 5
            self.np_transform = lambda u: lo + width * u

    def physlaw_target(self):
        return self._physlaw()


_PRIORS: dict = {}


def _prior_cache(name, lo, hi, JointPrior, Uniform):
    # one prior object per problem (the engine reuses compiled programs for the same functions)
    if name not in _PRIORS:
        _PRIORS[name] = JointPrior({"x": Uniform(lo, hi, shape=(2,))})
    return _PRIORS[name]


# ----------------------------------------------------------------------------------------------
# methods: each returns (log Z, reported error or None, extra info); timed from a fresh state
# ----------------------------------------------------------------------------------------------

def _fresh_jax():
    from physlaw.sampling import _run, _target

    jax.clear_caches()
    _run._CHUNK_CACHE.clear()
    _target._BATCHED.clear()
    _SMC_FNS.clear()


def run_physlaw(problem, seed, setting):
    from physlaw.sampling import run

    samples, burn, replicas = setting
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(jax.random.key(seed), problem.physlaw_target(), num_samples=samples, num_burnin=burn,
                  num_replicas=replicas, num_chains=4, moves="both", progress=False)
    fe = res.free_energy
    extra = dict(warnings=len(res.warnings), round_trip_rate=res.diagnostics.round_trip_rate,
                 estimators={k: -float(v) for k, v in fe.estimators.items()})
    return -float(fe.free_energy), float(fe.free_energy_err), extra


def run_physlaw_precision(problem, seed, setting):
    """physlaw stopping by itself: sampling goes on past ``S`` sweeps until F's error is ≤ ``prec`` nat."""
    from physlaw.sampling import run

    prec, samples, burn, replicas = setting
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(jax.random.key(seed), problem.physlaw_target(), num_samples=samples, num_burnin=burn,
                  num_replicas=replicas, num_chains=4, moves="both", progress=False, precision=prec,
                  max_samples=40 * samples)
    fe = res.free_energy
    extra = dict(warnings=len(res.warnings), round_trip_rate=res.diagnostics.round_trip_rate,
                 estimators={k: -float(v) for k, v in fe.estimators.items()},
                 sweeps_kept=res.diagnostics.num_sweeps_kept, stop_reason=res.diagnostics.stop_reason)
    return -float(fe.free_energy), float(fe.free_energy_err), extra


def run_dynesty(problem, seed, setting):
    import dynesty

    (nlive,) = setting
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sampler = dynesty.NestedSampler(problem.np_loglik, problem.np_transform, 2, nlive=nlive,
                                        rstate=np.random.default_rng(seed))
        sampler.run_nested(print_progress=False)
    r = sampler.results
    return float(r.logz[-1]), float(r.logzerr[-1]), dict(ncall=int(np.sum(r.ncall)), niter=int(r.niter),
                                                         warnings=len(caught))


_SMC_FNS: dict = {}


def _smc_program(problem, num_particles, num_mcmc_steps):
    """One jitted function: the whole adaptive tempered SMC run (a while loop over tempering steps)."""
    cache_key = (problem.name, num_particles, num_mcmc_steps)
    if cache_key not in _SMC_FNS:
        _SMC_FNS[cache_key] = _build_smc(problem, num_particles, num_mcmc_steps)
    return _SMC_FNS[cache_key]


def _build_smc(problem, num_particles, num_mcmc_steps):
    import blackjax
    from blackjax.mcmc.random_walk import build_additive_step

    rw_kernel = build_additive_step()
    d = getattr(problem, "dim", 2)

    def mcmc_step(key, state, logdensity_fn, scale):
        return rw_kernel(key, state, logdensity_fn, lambda k, x: scale * jax.random.normal(k, x.shape, x.dtype))

    def smc_step(key, state, scale):
        alg = blackjax.adaptive_tempered_smc(
            problem.jax_logprior, problem.jax_loglik, mcmc_step, blackjax.rmh.init,
            {"scale": scale[None, :]}, blackjax.smc.resampling.systematic, target_ess=0.5,
            num_mcmc_steps=num_mcmc_steps)
        return alg.step(key, state)

    @jax.jit
    def whole(key):
        k0, k1 = jax.random.split(key)
        x0 = problem.jax_sample(k0, num_particles)
        state = blackjax.adaptive_tempered_smc(
            problem.jax_logprior, problem.jax_loglik, mcmc_step, blackjax.rmh.init,
            {"scale": jnp.ones((1, d))}, blackjax.smc.resampling.systematic, target_ess=0.5).init(x0)

        def cond(c):
            return (c[0].tempering_param < 1.0) & (c[4] < 500)

        def body(c):
            state, log_z, scale, k, n = c
            k, ks = jax.random.split(k)
            state, info = smc_step(ks, state, scale)
            scale = 2.38 / math.sqrt(d) * jnp.std(state.particles, axis=0) + 1e-12
            return state, log_z + info.log_likelihood_increment, scale, k, n + 1

        scale0 = 2.38 / math.sqrt(d) * jnp.std(x0, axis=0)
        state, log_z, _, _, n = jax.lax.while_loop(cond, body, (state, jnp.zeros(()), scale0, k1, 0))
        return log_z, n, state.tempering_param

    return whole


def run_smc(problem, seed, setting):
    num_particles, num_mcmc_steps = setting
    whole = _smc_program(problem, num_particles, num_mcmc_steps)
    log_z, n, lam = whole(jax.random.key(seed))
    return float(log_z), None, dict(tempering_steps=int(n), final_lambda=float(lam))


METHODS = {"physlaw": run_physlaw, "physlaw-precision": run_physlaw_precision, "dynesty": run_dynesty,
           "blackjax-smc": run_smc}


def settings(quick):
    if quick:
        return {"physlaw": [(500, 500, 8)], "physlaw-precision": [(0.05, 250, 500, 8)], "dynesty": [(250,)],
                "blackjax-smc": [(500, 10)]}
    return {
        "physlaw": [(500, 500, 8), (2000, 1000, 16), (4000, 2000, 32)],
        "physlaw-precision": [(0.05, 250, 500, 8), (0.05, 500, 1000, 16)],
        "dynesty": [(250,), (1000,)],
        "blackjax-smc": [(1000, 10), (4000, 10)],
    }


def setting_label(method, s):
    if method == "physlaw":
        return f"S={s[0]} burn={s[1]} L={s[2]} C=4"
    if method == "physlaw-precision":
        return f"prec={s[0]} S>={s[1]} burn={s[2]} L={s[3]} C=4"
    if method == "dynesty":
        return f"nlive={s[0]}"
    return f"N={s[0]} mcmc={s[1]}"


# ----------------------------------------------------------------------------------------------
# driver and summary
# ----------------------------------------------------------------------------------------------

def summarise(runs, problems):
    rows = []
    keys = sorted({(r["problem"], r["method"], r["setting"]) for r in runs},
                  key=lambda k: (list(problems).index(k[0]), list(METHODS).index(k[1]), k[2]))
    for p, m, s in keys:
        rr = [r for r in runs if (r["problem"], r["method"], r["setting"]) == (p, m, s)]
        errs = np.array([abs(r["error"]) for r in rr])
        rep = [r["reported_err"] for r in rr]
        has_rep = all(v is not None for v in rep)
        covered = [abs(r["error"]) <= 2 * r["reported_err"] for r in rr] if has_rep else None
        rows.append(dict(problem=p, method=m, setting=s, label=rr[0]["label"], seeds=[r["seed"] for r in rr],
                         median_abs_err=float(np.median(errs)), max_abs_err=float(np.max(errs)),
                         mean_err=float(np.mean([r["error"] for r in rr])),
                         median_reported_err=float(np.median(rep)) if has_rep else None,
                         coverage_2sigma=float(np.mean(covered)) if has_rep else None,
                         median_wall_s=float(np.median([r["wall_s"] for r in rr])),
                         median_warm_s=(float(np.median([r["warm_s"] for r in rr]))
                                        if rr[0]["warm_s"] is not None else None)))
    best = {}
    for p in problems:
        for m in METHODS:
            ok = [r for r in rows if r["problem"] == p and r["method"] == m and r["median_abs_err"] <= TOL
                  and (r["coverage_2sigma"] is None or r["coverage_2sigma"] >= 2 / 3)]
            tried = [r for r in rows if r["problem"] == p and r["method"] == m]
            if ok:
                b = min(ok, key=lambda r: r["median_wall_s"])
                best[(p, m)] = dict(reached=True, wall_s=b["median_wall_s"], label=b["label"])
            elif tried:
                best[(p, m)] = dict(reached=False, wall_s=max(r["median_wall_s"] for r in tried), label=None)
    speed = []
    for p in problems:
        mine = [best[(p, m)] for m in ("physlaw", "physlaw-precision") if (p, m) in best]
        me = min(mine, key=lambda b: (not b["reached"], b["wall_s"])) if mine else None
        for peer in ("dynesty", "blackjax-smc"):
            other = best.get((p, peer))
            if not me or not other:
                continue
            if me["reached"] and other["reached"]:
                txt, val = f"{other['wall_s'] / me['wall_s']:.2f}", other["wall_s"] / me["wall_s"]
            elif me["reached"]:
                txt, val = f"> {other['wall_s'] / me['wall_s']:.2f} (peer never reached {TOL} nat)", None
            elif other["reached"]:
                txt, val = f"< {other['wall_s'] / me['wall_s']:.2f} (physlaw never reached {TOL} nat)", None
            else:
                txt, val = "neither reached", None
            speed.append(dict(problem=p, peer=peer, physlaw=me, peer_best=other, ratio=val, ratio_text=txt))
    return rows, [dict(problem=k[0], method=k[1], **v) for k, v in best.items()], speed


def markdown(rep):
    m = rep["machine"]
    lines = [
        "# Free-energy error versus wall time (compilation included)",
        "",
        f"Machine: {m['cpu']}, nproc = {m['nproc']}; `{m['uname']}`; shared with other work "
        f"(load average at start {m['load_start'][0]:.2f}, at end {m['load_end'][0]:.2f}).",
        f"Versions: {', '.join(f'{k} {v}' for k, v in m['versions'].items())}; Python {m['python']}. "
        f"float64. Seeds {rep['seeds']}; medians over the seeds. Total wall time {m['wall_s']:.0f} s.",
        "",
        "Persistent JAX compilation cache: "
        + (f"on (`{m['persistent_compilation_cache']}`): compiled programs from earlier processes are "
           "loaded from disk, so *median wall s* measures a new process on a machine that has run "
           "the same model structure before." if m.get("persistent_compilation_cache") else
           "off (`PHYSLAW_JAX_CACHE=0`): every timed call compiles from scratch (a first-ever run)."),
        "",
        "Truth: " + ", ".join(f"{p} log Z = {t:.4f}" for p, t in rep["truth"].items()) + ".",
        "",
        "| target | method | setting | median \\|err\\| (nat) | max \\|err\\| | median reported err | "
        "seeds with \\|err\\| ≤ 2×reported | median wall s | warm s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rep["summary"]:
        rep_err = f"{r['median_reported_err']:.3f}" if r["median_reported_err"] is not None else "n/a"
        cov = f"{r['coverage_2sigma']:.2f}" if r["coverage_2sigma"] is not None else "n/a"
        warm = f"{r['median_warm_s']:.2f}" if r["median_warm_s"] is not None else "—"
        lines.append(f"| {r['problem']} | {r['method']} | {r['label']} | {r['median_abs_err']:.3f} | "
                     f"{r['max_abs_err']:.3f} | {rep_err} | {cov} | {r['median_wall_s']:.2f} | {warm} |")
    lines += ["", "*median wall s*: the whole call from a fresh state (for JAX: caches cleared, compilation "
              "included). *warm s*: the same call repeated in the same process (compiled programs reused; "
              "not used for the comparison).", "",
              f"Fastest setting reaching median |err| ≤ {TOL} nat (and, where the method reports an error, "
              "|err| ≤ 2×reported on at least 2/3 of the seeds):", ""]
    lines += md_table(["target", "method", "reached", "median wall s", "setting"],
                      [[b["problem"], b["method"], "yes" if b["reached"] else "no",
                        f"{b['wall_s']:.2f}" + ("" if b["reached"] else " (slowest tried)"), b["label"] or "—"]
                       for b in rep["best"]])
    lines += ["", "Speed ratio to 0.1 nat (peer wall time / physlaw wall time; target ≥ 10):", ""]
    lines += md_table(["target", "peer", "ratio"], [[s["problem"], s["peer"], s["ratio_text"]] for s in rep["speed"]])
    lines.append("")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds (default 3; 1 with --quick)")
    p.add_argument("--problems", default="linear,gauss2d,eggbox")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--tag", default=None, help="results file stem (default evidence[_quick])")
    a = p.parse_args()
    seeds = list(range(a.seeds or (1 if a.quick else 3)))
    problems = {name: Problem(name) for name in a.problems.split(",")}
    methods = a.methods.split(",")
    grid = settings(a.quick)

    info = machine_info()
    info["load_start"] = os.getloadavg()
    # JAX's persistent compilation cache (physlaw enables one unless PHYSLAW_JAX_CACHE=0): with it, a
    # "fresh state" still finds compiled programs on disk from earlier runs of the same structure
    import physlaw.sampling  # noqa: F401  (sets up the persistent cache unless PHYSLAW_JAX_CACHE=0)

    info["persistent_compilation_cache"] = jax.config.jax_compilation_cache_dir
    t_all = time.perf_counter()
    runs = []
    for pname, prob in problems.items():
        for seed in seeds:
            for method in methods:
                for s in grid[method]:
                    _fresh_jax()
                    t0 = time.perf_counter()
                    log_z, rep_err, extra = METHODS[method](prob, seed, s)
                    wall = time.perf_counter() - t0
                    err = log_z - prob.truth
                    warm = None
                    if method != "dynesty":  # the same call again, compiled programs now cached
                        t0 = time.perf_counter()
                        METHODS[method](prob, seed, s)
                        warm = time.perf_counter() - t0
                    runs.append(dict(problem=pname, method=method, setting=list(s), label=setting_label(method, s),
                                     seed=seed, log_z=log_z, error=err, reported_err=rep_err, wall_s=wall, warm_s=warm,
                                     load=os.getloadavg()[0], **extra))
                    print(f"{pname:8s} {method:13s} {setting_label(method, s):28s} seed {seed}: "
                          f"log Z {log_z:10.4f} err {err:+.4f} rep {rep_err if rep_err is None else round(rep_err, 4)}"
                          f"  {wall:6.2f} s", file=sys.stderr, flush=True)
    for r in runs:
        r["setting"] = tuple(r["setting"])
    summary, best, speed = summarise(runs, problems)
    info["load_end"] = os.getloadavg()
    info["wall_s"] = time.perf_counter() - t_all
    report = dict(machine=info, seeds=seeds, quick=a.quick, tolerance_nat=TOL,
                  truth={k: v.truth for k, v in problems.items()}, summary=summary, best=best, speed=speed,
                  runs=runs)
    a.out.mkdir(parents=True, exist_ok=True)
    stem = a.tag or ("evidence_quick" if a.quick else "evidence")
    (a.out / f"{stem}.json").write_text(json.dumps(report, indent=1, default=list))
    (a.out / f"{stem}.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
