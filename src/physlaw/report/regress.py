"""Writing the results of ``physlaw regress``: summary.json, posterior netCDF files, figures."""

from __future__ import annotations

import datetime
import platform
from pathlib import Path

from physlaw.io.atomic import write_json
from physlaw.io.posteriors import posterior_filename, write_posterior


def regression_summary(reg, *, data_path: str, seed: int, prior_scale: float) -> dict:
    """The JSON-ready summary of a ``Regression``."""
    from physlaw import __version__
    from physlaw.measure.regression import parameter_summary

    models = []
    for f in reg.fits:
        flat = f.result.samples.reshape(-1, f.result.samples.shape[-1])
        entry = {
            "name": f.name,
            "free_energy": f.free_energy,
            "free_energy_err": f.free_energy_err,
            "probability": f.probability,
            "probability_err": f.probability_err,
            "noise_sigma": f.noise_sigma,
            "parameters": {n: parameter_summary(flat[:, i]) for i, n in enumerate(f.result.names)},
            "free_energy_details": f.result.free_energy.to_dict(),
            "diagnostics": f.result.diagnostics.to_dict(),
            "warnings": f.result.warnings,
            "posterior_file": posterior_filename(f.name),
        }
        if f.noise is not None:
            entry["noise_curve"] = {
                "sigma": f.noise.sigma.tolist(),
                "free_energy": f.noise.free_energy.tolist(),
                "free_energy_err": f.noise.free_energy_err.tolist(),
            }
        models.append(entry)
    sel = reg.fit(reg.selected)
    return {
        "physlaw_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "data": data_path,
        "num_points": int(reg.x.size),
        "seed": seed,
        "prior": f"independent Normal(0, {prior_scale}^2) on each coefficient",
        "noise": "estimated (minimum of F(sigma) over the ladder)" if sel.noise is not None else "given",
        "models": models,
        "selected": reg.selected,
        "noise_sigma": sel.noise_sigma,
        "warnings": reg.warnings,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }


def write_regression(reg, out: Path, *, data_path: str, seed: int, prior_scale: float) -> None:
    """Write every result file into the folder ``out`` (the CLI stages it: ``io.results``)."""
    from physlaw.plot import regress as figs

    summary = regression_summary(reg, data_path=data_path, seed=seed, prior_scale=prior_scale)
    stage = Path(out)
    stage.mkdir(parents=True, exist_ok=True)
    for f in reg.fits:
        write_posterior(f.result, stage / posterior_filename(f.name),
                               {"model": f.name, "noise_sigma": f.noise_sigma})
    figs.fit_figure(reg, stage / "fit.png", seed=seed)
    figs.free_energy_figure(reg, stage / "free_energy.png")
    if any(f.noise is not None for f in reg.fits):
        figs.noise_figure(reg, stage / "noise.png")
    write_json(stage / "summary.json", summary)
