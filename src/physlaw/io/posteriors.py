"""Posterior samples on disk: one ArviZ InferenceData netCDF file per fitted model.

ArviZ owns the format (groups ``posterior`` and ``sample_stats``, ``chain``/``draw`` coordinates);
physlaw adds the model's name and noise level as attributes of the posterior group.
"""

from __future__ import annotations

import os

from physlaw.io.atomic import atomic_path


def posterior_filename(model: str) -> str:
    """``posterior_<model>.nc`` with ``+`` spelled ``_plus_`` (``ax+b`` → ``posterior_ax_plus_b.nc``)."""
    return f"posterior_{model.replace('+', '_plus_')}.nc"


def write_posterior(result, path: str | os.PathLike, attrs: dict) -> None:
    """Write an ``ExchangeResult``'s β = 1 samples as ArviZ netCDF (h5netcdf engine), atomically."""
    idata = result.to_inference_data()  # imports ArviZ only now, when results are written
    idata.posterior.attrs.update(attrs)
    with atomic_path(path) as tmp:
        idata.to_netcdf(str(tmp), engine="h5netcdf")
