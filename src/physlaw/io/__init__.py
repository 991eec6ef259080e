"""File formats: every byte physlaw reads from or writes to disk passes through here.

Table of contents
-----------------
- ``tables``: ``read_table``, ``read_xy`` — a user's numeric table (CSV or whitespace-separated).
- ``trajectories``: ``load_dataset``, ``save_dataset``, ``save_csv`` — trajectory ``.npz``/CSV files.
- ``networks``: ``save_model``, ``load_model`` — trained networks (Equinox leaves + JSON config).
- ``priors``: ``load_prior_toml`` — prior overrides for spectra.
- ``vamas``: ``read_vamas``, ``vamas_region`` — XPS VAMAS (ISO 14976) ``.vms`` files, one region at a time.
- ``models``: ``load_model_toml`` — the user model of ``physlaw fit`` (formulas, priors, columns, noise).
- ``checkpoints``: ``CheckpointFile``, ``CheckpointFolder`` — the exchange Monte Carlo run state on disk.
- ``posteriors``: ``write_posterior`` — posterior samples as ArviZ netCDF.
- ``atomic``, ``results``: atomic file writes and result folders published all at once.
- ``datasets``: ``expand_datasets``, ``NamedDataset`` — many datasets from files, folders, globs, wide tables.

``io`` sits above the core (``sampling``, ``measure``, ``dynamics``, ``nets``, ``symmetry``); the
core never imports it. Import the submodules you need (``from physlaw.io.trajectories import
load_dataset``) or the names below, which load their submodule on first use.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "read_table": "tables", "read_xy": "tables", "read_columns": "tables",
    "read_vamas": "vamas", "vamas_region": "vamas",
    "load_model_toml": "models",
    "load_dataset": "trajectories", "save_dataset": "trajectories", "save_csv": "trajectories",
    "load_agents": "trajectories",
    "save_model": "networks", "load_model": "networks",
    "load_prior_toml": "priors",
    "CheckpointFile": "checkpoints",
    "CheckpointFolder": "checkpoints",
    "write_posterior": "posteriors",
    "expand_datasets": "datasets", "NamedDataset": "datasets",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(f"physlaw.io.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'physlaw.io' has no attribute {name!r}")
