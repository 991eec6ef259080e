"""A persistent JAX compilation cache for physlaw, set up once at import.

Compiling the sampler is the largest fixed cost of a short run (seconds on a CPU). With the
persistent cache, a later process that runs a model of the same structure loads the compiled
program from disk instead. The cache lives in ``~/.cache/physlaw/jax``; set the environment variable
``PHYSLAW_JAX_CACHE`` to another folder, or to ``0`` to switch it off. A cache folder the user
configured in JAX already is left alone.
"""

from __future__ import annotations

import os


def enable_persistent_cache() -> str | None:
    """Point JAX's persistent compilation cache at physlaw's folder unless configured otherwise."""
    import jax

    setting = os.environ.get("PHYSLAW_JAX_CACHE", "")
    if setting == "0" or jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    folder = setting or os.path.join(os.path.expanduser("~"), ".cache", "physlaw", "jax")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    try:  # a cache opened by an earlier compilation in this process must be re-opened on the new folder
        from jax._src import compilation_cache

        if compilation_cache.is_initialized():
            compilation_cache.reset_cache()
    except (ImportError, AttributeError):
        pass
    return folder
