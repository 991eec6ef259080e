"""Test configuration: float64, quiet ArviZ, fixed seeds by convention (every test passes its own key)."""

import os
import warnings

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import physlaw  # noqa: E402

physlaw.enable_persistent_cache()  # compiled programs reused across test runs (PHYSLAW_JAX_CACHE=0: off)
warnings.filterwarnings("ignore", category=FutureWarning, module="arviz")
