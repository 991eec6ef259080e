"""physlaw: from physical data to physical laws.

Table of contents
-----------------
- ``physlaw.sampling``: exchange Monte Carlo (replica exchange) with free energies.
- ``physlaw.priors``: normalised priors.
- ``physlaw.measure``: Bayesian measurement models (linear response, ...).
- ``physlaw.dynamics``, ``physlaw.nets``, ``physlaw.symmetry``: simulators, networks, conservation laws.
- ``physlaw.io``, ``physlaw.plot``, ``physlaw.report``: reading data, writing results and figures.
- ``enable_persistent_cache``: opt in to JAX's persistent compilation cache in physlaw's folder.

Importing physlaw (or any of its computing packages) leaves JAX's configuration alone; the
``physlaw`` command line enables float64 where it needs it and the compilation cache.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"

__all__ = ["__version__", "enable_persistent_cache"]


def enable_persistent_cache(folder: str | os.PathLike | None = None) -> str | None:
    """Point JAX's persistent compilation cache at physlaw's folder, unless configured otherwise.

    Compiling the sampler is the largest fixed cost of a short run (seconds on a CPU). With the
    persistent cache, a later process that compiles a program of the same structure loads it from
    disk instead. This changes the process-wide JAX configuration, so the library never does it on
    its own: the ``physlaw`` command line calls it, and scripts may.

    Call it **before the first compilation** of the process (before the first ``jit``-ted call):
    JAX opens its cache once, at the first compilation, and a folder set later is not used.

    The folder is, in order: ``folder`` if given; the environment variable ``PHYSLAW_JAX_CACHE``;
    ``~/.cache/physlaw/jax``. ``PHYSLAW_JAX_CACHE=0`` switches the cache off (nothing changes),
    and a cache folder already configured in JAX (``jax_compilation_cache_dir``) is left alone.

    Args:
        folder: the cache folder (default: as above).

    Returns:
        The cache folder in use, or None when there is none (switched off, or the folder cannot be
        created).

    Example:
        >>> import physlaw
        >>> physlaw.enable_persistent_cache()  # doctest: +SKIP
        '/home/me/.cache/physlaw/jax'
    """
    import jax

    setting = os.environ.get("PHYSLAW_JAX_CACHE", "")
    if jax.config.jax_compilation_cache_dir:  # configured elsewhere (e.g. JAX_COMPILATION_CACHE_DIR)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # small programs too
        return jax.config.jax_compilation_cache_dir
    if folder is None:
        if setting == "0":
            return None
        folder = setting or os.path.join(os.path.expanduser("~"), ".cache", "physlaw", "jax")
    folder = os.fspath(folder)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return folder
