"""Writing the results of ``physlaw spectrum`` and ``physlaw relaxation``.

One folder (staged and published whole by the CLI): ``summary.json``, one ArviZ netCDF per model, figures and a
self-contained ``report.html``.
"""

from __future__ import annotations

import datetime
import platform
from pathlib import Path

from physlaw.io.atomic import write_json
from physlaw.io.posteriors import posterior_filename, write_posterior


def model_entry(fit, parameters: dict | None) -> dict:
    """The JSON entry of one candidate: its description, F ± err, p, noise, summaries, diagnostics."""
    entry = {"name": fit.name, **fit.info,
             "free_energy": fit.free_energy, "free_energy_err": fit.free_energy_err,
             "probability": fit.probability, "probability_err": fit.probability_err,
             "noise_sigma": fit.noise_sigma}
    if parameters is not None:
        entry["parameters"] = parameters
    entry.update({
        "free_energy_details": fit.result.free_energy.to_dict(),
        "diagnostics": fit.result.diagnostics.to_dict(),
        "warnings": fit.result.warnings,
        "posterior_file": posterior_filename(fit.name),
    })
    if fit.noise is not None:
        entry["noise_curve"] = {"sigma": fit.noise.sigma.tolist(), "free_energy": fit.noise.free_energy.tolist(),
                                "free_energy_err": fit.noise.free_energy_err.tolist(),
                                "sigma_hat": fit.noise.sigma_hat}
    return entry


def summary_header(*, data, num_points: int, seed: int, noise_estimated: bool) -> dict:
    from physlaw import __version__

    return {
        "physlaw_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "data": data,
        "num_points": num_points,
        "seed": seed,
        "noise": "estimated (minimum of F(sigma) over the ladder, per model)" if noise_estimated else "given",
    }


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform()}


def write_netcdfs(sel, stage: Path) -> None:
    for f in sel.fits:
        write_posterior(f.result, stage / posterior_filename(f.name),
                               {"model": f.name, "noise_sigma": f.noise_sigma})


def model_table(sel) -> tuple[list[str], list[list]]:
    rows = [[f.name, f.free_energy, f.free_energy_err, f.probability, f.noise_sigma] for f in sel.fits]
    return ["model", "F (nat)", "± err", "p(model | D)", "noise σ"], rows


def parameter_rows(params: dict) -> list[list]:
    rows = []
    for group, quantities in params.items():
        for q, s in quantities.items():
            rows.append([f"{group}: {q}", s["median"], f"{s['interval_68'][0]:.4g} .. {s['interval_68'][1]:.4g}",
                         f"{s['interval_95'][0]:.4g} .. {s['interval_95'][1]:.4g}"])
    return rows


# ----------------------------------------------------------------------------------------------
# Spectra


def _selection_fields(res, priors: str, models: list) -> dict:
    """The model-selection fields shared by the spectrum and the integration summaries."""
    return {
        "priors": priors,
        "models": models,
        "peak_number_probabilities": {str(k): v for k, v in res.peak_number_probabilities().items()},
        "selected": res.selected,
        "selected_num_peaks": res.best.info["num_peaks"],
    }


def spectrum_summary(res, *, data, seed: int, priors: str) -> dict:
    """The JSON-ready summary of a ``SpectrumAnalysis``."""
    models = [model_entry(f, res.parameter_summaries(f.name)) for f in res.fits]
    out = summary_header(data=data, num_points=int(res.x.size), seed=seed, noise_estimated=res.noise_estimated)
    out.update(_selection_fields(res, priors, models))
    out.update({
        "noise_sigma": res.noise_sigma,
        "warnings": res.warnings,
        "machine": machine(),
    })
    return out


def write_spectrum(res, out: Path, *, data, seed: int, priors: str) -> dict:
    """Write summary.json, netCDFs, figures and report.html into the folder ``out`` (the CLI stages it: ``io.results``)."""
    from physlaw.plot import spectrum as figs
    from physlaw.report.html import write_report

    summary = spectrum_summary(res, data=data, seed=seed, priors=priors)
    best = res.best
    stage = Path(out)
    stage.mkdir(parents=True, exist_ok=True)
    write_netcdfs(res, stage)
    pred = res.predictive(seed=seed)
    sig = res.sigma
    figs.fit_figure(res.x, res.y, sig, pred, stage / "fit.png",
                    title=f"{best.name}: p = {best.probability:.3g}, σ = {best.noise_sigma:.4g}")
    figs.free_energy_figure(res, stage / "free_energy.png")
    if res.noise_estimated:
        figs.noise_figure(res, stage / "noise.png")
    phys = res.physical()
    marg = {f"{q} {k + 1}": phys[q][:, k] for k in range(phys["centre"].shape[1])
            for q in ("centre", "amplitude", "fwhm", "eta") if q in phys}
    marg.update({q: v for q, v in phys.items() if q.startswith("background")})
    figs.marginals_figure(marg, stage / "marginals.png", title=f"posterior marginals of {best.name}")
    write_json(stage / "summary.json", summary)
    write_report(stage / "report.html", "physlaw spectrum", spectrum_report(res, summary, stage))
    return summary


def spectrum_report(res, summary, stage: Path):
    from physlaw.report.html import Section

    best = res.best
    pk = res.peak_number_probabilities()
    verdict = Section("Result").text(
        f"{best.info['num_peaks']} peak(s) ({best.info['shape']} line shape, background {best.info['background']}), "
        f"p = {best.probability:.3g}; noise σ = {res.noise_sigma:.4g} "
        f"({'estimated' if res.noise_estimated else 'given'}).", cls="verdict")
    verdict.text("p(K | D): " + ", ".join(f"K = {k}: {p:.3g}" for k, p in pk.items()))
    verdict.figure(stage / "fit.png", "data, posterior median, 95 % bands and each peak (ordered by centre)")
    return [verdict, *selection_sections(res, summary, stage)]


def selection_sections(res, summary, stage: Path):
    """The report's model-selection, parameter and warning sections (shared by spectra and relaxation)."""
    from physlaw.report.html import Section

    best = res.best
    models = Section("Model selection").table(*model_table(res))
    models.figure(stage / "free_energy.png", "F(model) − min F with error bars, and p(model | D)")
    if res.noise_estimated:
        models.figure(stage / "noise.png", "F(σ) from the temperature ladder; the dotted line is σ̂ of the selected model")
    params = Section(f"Parameters of {best.name} (median, 68 % and 95 % intervals)")
    params.table(["parameter", "median", "68 %", "95 %"],
                 parameter_rows(summary["models"][res.fits.index(best)]["parameters"]))
    params.figure(stage / "marginals.png", "posterior marginals")
    sections = [models, params]
    if res.warnings:
        w = Section("Warnings")
        for line in res.warnings:
            w.text(line, cls="warn")
        sections.append(w)
    return sections


# ----------------------------------------------------------------------------------------------
# Relaxation curves


def relaxation_summary(res, *, data, seed: int) -> dict:
    """The JSON-ready summary of a ``RelaxationAnalysis``."""
    out = summary_header(data=data, num_points=int(res.t.size), seed=seed, noise_estimated=res.noise_estimated)
    out.update({
        "priors": "A_k, C ~ Normal(0, (range of m)^2); log W_k ~ Uniform over the resolvable rates; beta_k ~ Uniform(0, 1)",
        "models": [model_entry(f, res.parameter_summaries(f.name)) for f in res.fits],
        "selected": res.selected,
        "verdict": res.verdict(),
        "noise_sigma": res.noise_sigma,
        "warnings": res.warnings,
        "machine": machine(),
    })
    return out


def write_relaxation(res, out: Path, *, data, seed: int) -> dict:
    """Write summary.json, netCDFs, figures and report.html into the folder ``out`` (the CLI stages it: ``io.results``)."""
    from physlaw.plot import spectrum as figs
    from physlaw.report.html import Section, write_report

    summary = relaxation_summary(res, data=data, seed=seed)
    best = res.best
    label = lambda f: f.name.replace("-exponential", " exp").replace("-stretched", " str")  # noqa: E731
    stage = Path(out)
    stage.mkdir(parents=True, exist_ok=True)
    write_netcdfs(res, stage)
    figs.fit_figure(res.t, res.y, res.sigma, res.predictive(seed=seed), stage / "fit.png",
                    title=res.verdict(), xlabel="t", ylabel="m(t)", xscale="log", component_label="mode")
    figs.free_energy_figure(res, stage / "free_energy.png", label_fn=label)
    if res.noise_estimated:
        figs.noise_figure(res, stage / "noise.png", label_fn=label)
    phys = res.physical()
    marg = {f"{q} {k + 1}": phys[q][:, k] for k in range(phys["T1"].shape[1])
            for q in ("amplitude", "T1", "beta") if q in phys}
    marg["offset C"] = phys["offset"]
    figs.marginals_figure(marg, stage / "marginals.png", title=f"posterior marginals of {best.name}")
    write_json(stage / "summary.json", summary)
    top = Section("Result").text(res.verdict() + f"; noise σ = {res.noise_sigma:.4g} "
                                 f"({'estimated' if res.noise_estimated else 'given'}).", cls="verdict")
    top.figure(stage / "fit.png", "data, posterior median, 95 % bands and each mode (ordered by rate)")
    write_report(stage / "report.html", "physlaw relaxation", [top, *selection_sections(res, summary, stage)])
    return summary


# ----------------------------------------------------------------------------------------------
# Data integration (several spectra sharing parameters)


def integration_summary(res, *, data: list, seed: int, priors: str) -> dict:
    """The JSON-ready summary of an ``IntegrationAnalysis``: ``physlaw spectrum`` fields plus ``"integration"``."""
    models = []
    for f in res.fits:
        entry = model_entry(f, res.parameter_summaries(f.name))
        entry["noise_sigma"] = res.sigmas(f.name)
        entry["integration"] = res.consistency(f.name)
        models.append(entry)
    out = summary_header(data=list(data), num_points=[int(x.size) for x, _ in res.datasets], seed=seed,
                         noise_estimated=res.noise_estimated)
    if res.noise_estimated:
        out["noise"] = "estimated per file (minimum of F(sigma) over the ladder, each file alone, same model)"
    c = res.consistency()
    out.update(_selection_fields(res, priors, models))
    out.update({
        "noise_sigma": res.sigmas(),
        "integration": {
            "files": list(data),
            "shared": list(res.share),
            "num_peaks": c["num_peaks"],
            "free_energy_joint": c["free_energy_joint"],
            "free_energy_joint_err": c["free_energy_joint_err"],
            "free_energy_independent": c["free_energy_independent"],
            "free_energy_independent_err": c["free_energy_independent_err"],
            "free_energy_per_file": c["free_energy_per_dataset"],
            "free_energy_per_file_err": c["free_energy_per_dataset_err"],
            "delta_free_energy": c["delta_free_energy"],
            "delta_free_energy_err": c["delta_free_energy_err"],
            "probability_shared": c["probability_shared"],
            "verdict": c["verdict"],
            "noise_sigma": c["noise_sigma"],
            "definition": "delta_free_energy = F_joint - F_independent, F_independent = sum of each file's F alone "
                          "(same K, priors, noise); > 0 flags the files as inconsistent with shared parameters",
        },
        "warnings": res.warnings,
        "machine": machine(),
    })
    return out


def integration_sentence(c: dict) -> str:
    return (f"{c['verdict']}: sharing {', '.join(c['shared'])} at K = {c['num_peaks']} gives "
            f"ΔF = F_joint − Σ F_file = {c['delta_free_energy']:.3f} ± {c['delta_free_energy_err']:.3f} nat, "
            f"p(shared | D) = {c['probability_shared']:.3g}")


def write_integration(res, out: Path, *, data: list, seed: int, priors: str) -> dict:
    """Write summary.json, netCDFs (joint models), figures (one fit per file) and report.html into the folder ``out``."""
    from types import SimpleNamespace

    from physlaw.plot import spectrum as figs
    from physlaw.report.html import Section, write_report

    summary = integration_summary(res, data=data, seed=seed, priors=priors)
    best = res.best
    c = res.consistency()
    k = best.info["num_peaks"]
    stage = Path(out)
    stage.mkdir(parents=True, exist_ok=True)
    write_netcdfs(res, stage)
    top = Section("Result").text(
        f"{k} peak(s) ({best.info['shape']} line shape, background {best.info['background']}) fitted jointly to "
        f"{res.num_datasets} files sharing {', '.join(res.share)}, p = {best.probability:.3g}.", cls="verdict")
    top.text(integration_sentence(c) + ".", cls="verdict")
    top.text("p(K | D): " + ", ".join(f"K = {kk}: {p:.3g}" for kk, p in res.peak_number_probabilities().items()))
    for m, ((x, y), name, sig) in enumerate(zip(res.datasets, data, res.sigmas())):
        png = stage / f"fit_{m + 1}.png"
        figs.fit_figure(x, y, None, res.predictive(m, seed=seed), png,
                        title=f"file {m + 1} ({Path(name).name}), joint {best.name}: σ = {sig:.4g}")
        top.figure(png, f"file {m + 1}: data, joint posterior median, 95 % bands and each peak")
    table = Section("Data integration: shared versus independent parameters")
    rows = [[f"file {m + 1}: {Path(n).name} alone", F, e, s] for m, (n, F, e, s) in enumerate(
        zip(data, c["free_energy_per_dataset"], c["free_energy_per_dataset_err"], c["noise_sigma"]))]
    rows.append(["independent (sum)", c["free_energy_independent"], c["free_energy_independent_err"], ""])
    rows.append([f"joint, sharing {', '.join(res.share)}", c["free_energy_joint"], c["free_energy_joint_err"], ""])
    rows.append(["ΔF = joint − independent", c["delta_free_energy"], c["delta_free_energy_err"], ""])
    table.table(["model", "F (nat)", "± err", "noise σ"], rows)
    figs.free_energy_figure(res, stage / "free_energy.png")
    if res.noise_estimated:
        figs.noise_figure(SimpleNamespace(fits=res.independent[k], noise_sigma=None), stage / "noise.png")
    phys = res.physical(0)
    marg = {f"{q} {kk + 1}": phys[q][:, kk] for kk in range(phys["centre"].shape[1])
            for q in ("centre", "amplitude", "fwhm", "eta") if q in phys}
    figs.marginals_figure(marg, stage / "marginals.png", title=f"posterior marginals of {best.name} (file 1)")
    write_json(stage / "summary.json", summary)
    write_report(stage / "report.html", "physlaw spectrum (data integration)",
                 [top, table, *selection_sections(res, summary, stage)])
    return summary
