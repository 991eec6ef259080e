"""Posterior samples on disk: one netCDF file per fitted model, in ArviZ's InferenceData layout.

The layout is ArviZ's (``arviz.from_netcdf`` reads the files back): a group ``posterior`` with one
variable per parameter and a group ``sample_stats`` with ``log_likelihood_total``, each over the
dimensions ``chain`` and ``draw`` (with their integer coordinates); a parameter with more axes (e.g.
one centre per peak) gets dimensions ``<name>_dim_0`` … with integer coordinates, as ArviZ names
them. physlaw adds the model's name, noise level, free energy and ladder as attributes of the
posterior group. The file is written with ``h5netcdf`` directly: importing ArviZ (and SciPy's
statistics through it) only to write two groups cost about 2.4 CPU-s per command.
"""

from __future__ import annotations

import datetime
import os

import numpy as np

from physlaw.io.atomic import atomic_path


def posterior_filename(model: str) -> str:
    """``posterior_<model>.nc`` with ``+`` spelled ``_plus_`` (``ax+b`` → ``posterior_ax_plus_b.nc``)."""
    return f"posterior_{model.replace('+', '_plus_')}.nc"


def _write_group(f, group: str, variables: dict, attrs: dict) -> None:
    first = next(iter(variables.values()))
    chains, draws = first.shape[:2]
    g = f.create_group(group)
    g.dimensions = {"chain": chains, "draw": draws}
    g.create_variable("chain", ("chain",), data=np.arange(chains))
    g.create_variable("draw", ("draw",), data=np.arange(draws))
    for name, value in variables.items():
        dims = ["chain", "draw"]
        for i, size in enumerate(value.shape[2:]):
            dim = f"{name}_dim_{i}"
            g.dimensions[dim] = size
            g.create_variable(dim, (dim,), data=np.arange(size))
            dims.append(dim)
        g.create_variable(name, tuple(dims), data=value)
    g.attrs.update({"created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    "inference_library": "physlaw", **attrs})


def write_posterior(result, path: str | os.PathLike, attrs: dict) -> None:
    """Write an ``ExchangeResult``'s β = 1 draws (and their log-likelihood) as netCDF, atomically.

    ``attrs`` (JSON-like numbers and strings; None is skipped) go to the posterior group.
    """
    import h5netcdf

    post, stats = result.draws()
    info = {"free_energy": float(result.free_energy.free_energy),
            "free_energy_err": float(result.free_energy.free_energy_err),
            "betas": np.asarray(result.betas, dtype=float)}
    info.update({k: v for k, v in attrs.items() if v is not None})
    with atomic_path(path) as tmp:
        with h5netcdf.File(str(tmp), "w") as f:
            _write_group(f, "posterior", post, info)
            _write_group(f, "sample_stats", stats, {})
