"""Writing the results of ``physlaw spectrum`` and ``physlaw relaxation``.

One folder (staged and published whole by the CLI): ``summary.json``, one ArviZ netCDF per model with p ≥ 10⁻³, figures and a
self-contained ``report.html``.
"""

from __future__ import annotations

import datetime
import platform
from pathlib import Path

import numpy as np

from physlaw.io.atomic import write_json
from physlaw.io.posteriors import posterior_filename, write_posterior


#: A model's posterior draws are written (netCDF) when its probability is at least this (or it is the
#: selected one): a model the data reject (p < 10⁻³) keeps its summary entry, not a file of draws.
POSTERIOR_MIN_P = 1e-3


def keeps_posterior(fit, selected: str) -> bool:
    return fit.name == selected or not fit.probability < POSTERIOR_MIN_P


def model_entry(fit, parameters: dict | None, *, posterior: bool = True) -> dict:
    """The JSON entry of one candidate: its description, F ± err, p, noise, summaries, diagnostics.

    ``posterior``: its draws are written (``posterior_file``), else ``posterior_file`` is None.
    """
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
        "posterior_file": posterior_filename(fit.name) if posterior else None,
    })
    if fit.noise is not None:
        entry["noise_curve"] = {"sigma": fit.noise.sigma.tolist(), "free_energy": fit.noise.free_energy.tolist(),
                                "free_energy_err": fit.noise.free_energy_err.tolist(),
                                "sigma_hat": fit.noise.sigma_hat,
                                "stationarity": None if not np.isfinite(fit.noise.stationarity)
                                else fit.noise.stationarity}
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
    """One netCDF of posterior draws per model that ``keeps_posterior``."""
    for f in sel.fits:
        if keeps_posterior(f, sel.selected):
            write_posterior(f.result, stage / posterior_filename(f.name),
                            {"model": f.name, "noise_sigma": f.noise_sigma})


def model_table(sel) -> tuple[list[str], list[list]]:
    rows = [[f.name, f.free_energy, f.free_energy_err, f.probability,
             "Poisson" if f.noise_sigma != f.noise_sigma else f.noise_sigma] for f in sel.fits]
    return ["model", "F (nat)", "± err", "p(model | D)", "noise σ"], rows


def parameter_rows(params: dict) -> list[list]:
    rows = []
    for group, quantities in params.items():
        for q, s in quantities.items():
            rows.append([f"{group}: {q}", s["median"], f"{s['interval_68'][0]:.4g} .. {s['interval_68'][1]:.4g}",
                         f"{s['interval_95'][0]:.4g} .. {s['interval_95'][1]:.4g}"])
    return rows


# ----------------------------------------------------------------------------------------------
# One writer for every measurement preset (spectrum, relaxation, regress, fit)

#: At most this many models in the free-energy figure and noise curves (the best ones, by F).
MAX_MODELS_SHOWN = 16


def measurement_summary(res, *, command: str, data, seed: int, extra: dict | None = None) -> dict:
    """The JSON-ready summary of any measurement result (a ``Selection`` with the preset protocol)."""
    models = [model_entry(f, res.parameter_summaries(f.name), posterior=keeps_posterior(f, res.selected))
              for f in res.fits]
    out = summary_header(data=data, num_points=int(np.size(res.x)), seed=seed, noise_estimated=res.noise_estimated)
    likelihood = getattr(res, "likelihood", "gaussian")
    if likelihood == "poisson":
        out["noise"] = "Poisson counts (no noise level to estimate)"
    out.update({
        "command": command,
        "likelihood": likelihood,
        "models": models,
        "selected": res.selected,
        "verdict": res.verdict(),
        "notes": list(getattr(res, "notes", [])),
        "k_probabilities": {str(k): v for k, v in res.k_probabilities().items()},
        "noise_sigma": None if likelihood == "poisson" else res.noise_sigma,
        "warnings": res.warnings,
        "machine": machine(),
    })
    out.update(extra or {})
    return out


def shown_fits(res, limit: int = MAX_MODELS_SHOWN):
    """The models worth drawing: the ``limit`` lowest free energies, in the result's order."""
    keep = set(sorted(range(len(res.fits)), key=lambda i: res.fits[i].free_energy)[:limit])
    return [f for i, f in enumerate(res.fits) if i in keep]


def write_measurement(res, out: Path, *, command: str, data, seed: int, extra: dict | None = None) -> dict:
    """Write summary.json, one netCDF per model with p ≥ 10⁻³, figures and report.html into the folder ``out``.

    ``res`` is a measurement result (``SpectrumAnalysis``, ``RelaxationAnalysis``, a regression or a
    user model fit): a ``Selection`` with ``x``, ``y``, ``sigma``, ``parameter_summaries``,
    ``marginals``, ``predictive``, ``verdict`` and ``plot_style``. The CLI stages the folder
    (``physlaw.io.results``), so a failure leaves nothing half-written.
    """
    from types import SimpleNamespace

    from physlaw.plot import spectrum as figs
    from physlaw.report.html import Section, write_report

    summary = measurement_summary(res, command=command, data=data, seed=seed, extra=extra)
    best = res.best
    style = dict(getattr(res, "plot_style", {}))
    stage = Path(out)
    stage.mkdir(parents=True, exist_ok=True)
    write_netcdfs(res, stage)
    figs.fit_figure(res.x, res.y, res.sigma, res.predictive(seed=seed), stage / "fit.png",
                    title=_short(res.verdict()), **style)
    shown = SimpleNamespace(fits=shown_fits(res), noise_sigma=res.noise_sigma)
    figs.free_energy_figure(shown, stage / "free_energy.png")
    if res.noise_estimated:
        figs.noise_figure(SimpleNamespace(fits=shown_fits(res, 6), noise_sigma=res.noise_sigma), stage / "noise.png")
    figs.marginals_figure(res.marginals(), stage / "marginals.png", title=f"posterior marginals of {best.name}")
    write_json(stage / "summary.json", summary)
    top = Section("Result").text(res.verdict() + ".", cls="verdict")
    for note in summary["notes"]:
        top.text(note)
    kp = res.k_probabilities()
    if len(kp) > 1:
        top.text("p(K | D): " + ", ".join(f"K = {k}: {p:.3g}" for k, p in kp.items()))
    top.figure(stage / "fit.png", "data, posterior median, 95 % bands and each component")
    write_report(stage / "report.html", f"physlaw {command}", [top, *selection_sections(res, summary, stage)])
    return summary


def _short(text: str, width: int = 170) -> str:   # two title lines of the fit figure
    return text if len(text) <= width else text[: width - 1] + "…"


def spectrum_summary(res, *, data, seed: int, priors: str) -> dict:
    """The JSON-ready summary of a ``SpectrumAnalysis`` (``write_measurement``'s, plus the spectrum fields)."""
    return measurement_summary(res, command="spectrum", data=data, seed=seed, extra=_spectrum_extra(res, priors))


def _spectrum_extra(res, priors: str) -> dict:
    return {"priors": priors,
            "peak_number_probabilities": {str(k): v for k, v in res.peak_number_probabilities().items()},
            "selected_num_peaks": res.best.info["num_peaks"],
            "choices": {axis: res.choice_probabilities(axis) for axis in ("background", "shape", "component", "sign")}}


def write_spectrum(res, out: Path, *, data, seed: int, priors: str) -> dict:
    """``write_measurement`` for ``physlaw spectrum``."""
    return write_measurement(res, out, command="spectrum", data=data, seed=seed, extra=_spectrum_extra(res, priors))


def _selection_fields(res, priors: str, models: list) -> dict:
    """The model-selection fields of the integration summary."""
    return {
        "priors": priors,
        "models": models,
        "peak_number_probabilities": {str(k): v for k, v in res.peak_number_probabilities().items()},
        "selected": res.selected,
        "selected_num_peaks": res.best.info["num_peaks"],
    }


def selection_sections(res, summary, stage: Path):
    """The report's model-selection, parameter and warning sections (shared by every preset)."""
    from physlaw.report.html import Section

    best = res.best
    models = Section("Model selection").table(*model_table(res))
    models.figure(stage / "free_energy.png", "F(model) − min F with error bars, and p(model | D) (the best models)")
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
# Data integration (several spectra sharing parameters)


def integration_summary(res, *, data: list, seed: int, priors: str) -> dict:
    """The JSON-ready summary of an ``IntegrationAnalysis``: ``physlaw spectrum`` fields plus ``"integration"``."""
    models = []
    for f in res.fits:
        entry = model_entry(f, res.parameter_summaries(f.name), posterior=keeps_posterior(f, res.selected))
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
            for q in ("centre", "amplitude", "fwhm", "eta", "asymmetry") if q in phys}
    figs.marginals_figure(marg, stage / "marginals.png", title=f"posterior marginals of {best.name} (file 1)")
    write_json(stage / "summary.json", summary)
    write_report(stage / "report.html", "physlaw spectrum (data integration)",
                 [top, table, *selection_sections(res, summary, stage)])
    return summary
