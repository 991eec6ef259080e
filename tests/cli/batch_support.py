"""A cheap but real measurement for the batch tests: the closed-form Bayesian linear fit.

``run_linear`` is a ``run_one`` for :func:`physlaw.cli._batch.run_batch`: it fits y = a x and
y = a x + b exactly (:func:`closed_form`, checked against :func:`physlaw.measure.linear.exact_linear`),
selects the model by the free energy, summarises the posterior by ``options["draws"]`` draws from
the dataset's seed (so the table shows whether seeds are derived the same way everywhere), writes
``summary.json`` and returns the table row. ``main`` is a small command line around it, shaped like
a measurement command.

Test hooks (environment variables, so that they do not change the options' fingerprint):
``PHYSLAW_TEST_CRASH_ON=NAME`` raises after writing part of NAME's folder (a crash mid-dataset);
``PHYSLAW_TEST_DIE_FLAG=FOLDER``: while ``FOLDER/armed`` exists, the first task to rename it to
``FOLDER/fired`` kills its worker process (a worker lost mid-run).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np


def closed_form(x, y, sigma, model: str, prior_scale: float):
    """Exact free energy, posterior mean and covariance of y = a x (+ b) with Normal(0, S²) priors.

    The same answers as :func:`physlaw.measure.linear.exact_linear` (the tests check it), computed
    with correctly rounded sums (``math.fsum``) and the 2×2 algebra written out, so that the result
    does not depend on the BLAS kernel, thread count or memory alignment of the worker process that
    runs it — the batch tests compare tables bit for bit. With b = Φᵀ Σ⁻¹ y and
    P = S0⁻¹ + Φᵀ Σ⁻¹ Φ:
    ``F = ½[n log 2π + Σ log σ_i² + k log S² + log det P + Σ y_i²/σ_i² − bᵀ P⁻¹ b]``.
    """
    x, y = [float(v) for v in x], [float(v) for v in y]
    var = [float(s) ** 2 for s in np.broadcast_to(np.asarray(sigma, float), (len(x),))]
    cols = [x] if model == "ax" else [x, [1.0] * len(x)]
    k = len(cols)
    prec = [[math.fsum(ci[i] * cj[i] / var[i] for i in range(len(x))) + (1.0 / prior_scale**2 if a == b else 0.0)
             for b, cj in enumerate(cols)] for a, ci in enumerate(cols)]
    rhs = [math.fsum(c[i] * y[i] / var[i] for i in range(len(x))) for c in cols]
    if k == 1:
        det, cov = prec[0][0], [[1.0 / prec[0][0]]]
    else:
        det = prec[0][0] * prec[1][1] - prec[0][1] * prec[1][0]
        cov = [[prec[1][1] / det, -prec[0][1] / det], [-prec[1][0] / det, prec[0][0] / det]]
    mean = [math.fsum(cov[a][b] * rhs[b] for b in range(k)) for a in range(k)]
    quad = math.fsum(yi * yi / vi for yi, vi in zip(y, var)) - math.fsum(rhs[a] * mean[a] for a in range(k))
    f = 0.5 * (len(x) * math.log(2 * math.pi) + math.fsum(math.log(v) for v in var) + k * math.log(prior_scale**2)
               + math.log(det) + quad)
    return f, np.array(mean), np.array(cov), ("a",) if k == 1 else ("a", "b")


def run_linear(dataset, stage_dir: Path, seed: int, options) -> dict:
    from physlaw.errors import InputError
    from physlaw.io.atomic import write_json
    from physlaw.report.batch import summary_row

    flags = os.environ.get("PHYSLAW_TEST_DIE_FLAG")
    if flags:
        try:  # only one task wins the rename, and only while the test has armed it
            os.replace(Path(flags) / "armed", Path(flags) / "fired")
        except FileNotFoundError:
            pass
        else:
            os._exit(1)  # the worker process dies mid-task
    sigma = dataset.sigma if dataset.sigma is not None else options["sigma"]
    if np.ptp(dataset.y) == 0:
        raise InputError("all y values are equal; nothing to fit")
    models = ("ax", "ax+b")
    fits = [closed_form(dataset.x, dataset.y, sigma, m, options["prior_scale"]) for m in models]
    f = np.array([e[0] for e in fits])
    p = np.exp(-(f - f.min()))
    p /= p.sum()
    rng = np.random.default_rng(seed)
    entries = []
    for m, (fm, mean, cov, names), pm in zip(models, fits, p):
        # draws = mean + L z with the Cholesky factor L of cov written out (elementwise: no BLAS)
        z = rng.standard_normal((options["draws"], len(names)))
        l00 = math.sqrt(cov[0, 0])
        draws = [mean[0] + l00 * z[:, 0]]
        if len(names) == 2:
            l10 = cov[1, 0] / l00
            draws.append(mean[1] + l10 * z[:, 0] + math.sqrt(cov[1, 1] - l10 * l10) * z[:, 1])
        params = {}
        for n, d in zip(names, draws):
            q = np.quantile(d, [0.025, 0.16, 0.5, 0.84, 0.975])
            params[n] = {"median": float(q[2]), "interval_68": [float(q[1]), float(q[3])],
                         "interval_95": [float(q[0]), float(q[4])]}
        entries.append({"name": m, "num_components": len(names), "free_energy": float(fm),
                        "free_energy_err": 0.0, "probability": float(pm), "probability_err": 0.0,
                        "noise_sigma": float(np.mean(sigma)), "parameters": params})
    summary = {"data": dataset.source, "seed": seed, "selected": models[int(np.argmin(f))], "models": entries}
    write_json(Path(stage_dir) / "summary.json", summary)
    if os.environ.get("PHYSLAW_TEST_CRASH_ON") == dataset.name:
        raise RuntimeError(f"simulated crash in {dataset.name}")
    return summary_row(summary)


def build_parser():
    from physlaw.cli import OneLineParser
    from physlaw.cli._batch import add_batch_options
    from physlaw.cli._common import seed
    from physlaw.cli._output import add_output_folder

    p = OneLineParser(prog="physlaw linear-batch")
    p.add_argument("data", nargs="+")
    p.add_argument("--sigma", type=float, default=0.1)
    p.add_argument("--draws", type=int, default=400)
    add_output_folder(p)
    add_batch_options(p)
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv) -> int:
    """``physlaw``-style entry: 0 on success; an ``InputError`` is one stderr line and exit code 2."""
    from physlaw.cli import _fail
    from physlaw.cli._batch import run_batch
    from physlaw.errors import InputError
    from physlaw.io.datasets import expand_datasets

    args = build_parser().parse_args([str(a) for a in argv])
    try:
        datasets = expand_datasets(args.data, wide=True if args.wide else "auto")
        options = {"sigma": args.sigma, "draws": args.draws, "prior_scale": 10.0}
        run_batch(datasets, run_linear, options=options, out_folder_args=args, command="linear-batch",
                  seed=args.seed, workers=args.workers, scheduler=args.scheduler, quiet=args.quiet)
    except InputError as err:
        return _fail("linear-batch", str(err))
    return 0


def write_series(folder: Path, temperatures=(100, 200, 300, 400), *, n: int = 20, sigma: float = 0.1) -> list[Path]:
    """One file per temperature (``T_<T>K.csv``: x, y with y = a(T) x + b + noise), fixed seeds."""
    folder.mkdir(parents=True, exist_ok=True)
    x = np.linspace(0.0, 1.0, n)
    paths = []
    for i, t in enumerate(temperatures):
        rng = np.random.default_rng(1000 + i)
        y = (1.0 + t / 100.0) * x + (0.5 if i % 2 else 0.0) + rng.normal(0.0, sigma, n)
        path = folder / f"T_{t}K.csv"
        path.write_text("x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y)))
        paths.append(path)
    return paths


def write_wide(path: Path, temperatures=(100, 200, 300), *, n: int = 20, sigma: float = 0.1) -> Path:
    """A wide table: x, then one column per temperature named ``T_<T>K``."""
    x = np.linspace(0.0, 1.0, n)
    cols = [x]
    for i, t in enumerate(temperatures):
        cols.append((1.0 + t / 100.0) * x + np.random.default_rng(2000 + i).normal(0.0, sigma, n))
    table = np.stack(cols, 1)
    path.write_text(",".join(["x", *(f"T_{t}K" for t in temperatures)]) + "\n"
                    + "".join(",".join(repr(float(v)) for v in row) + "\n" for row in table))
    return path
