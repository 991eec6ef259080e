"""Statistical checks shared by the sampler tests."""

import numpy as np

#: Tolerance multiplier: an estimate agrees with the truth when |est − truth| ≤ K_SIGMA × its error.
K_SIGMA = 4.0


def agrees(estimate: float, error: float, truth: float, k: float = K_SIGMA) -> bool:
    """|estimate − truth| ≤ k × error, where ``error`` is the run's own standard error."""
    assert np.isfinite(error) and error > 0, f"the run reported no usable error bar ({error})"
    return abs(estimate - truth) <= k * error


def mean_agrees(samples: np.ndarray, ess: float, truth: float, k: float = K_SIGMA) -> bool:
    """The sample mean agrees with ``truth`` within k Monte Carlo standard errors (sd / √ESS)."""
    se = np.std(samples) / np.sqrt(ess)
    return agrees(float(np.mean(samples)), float(se), truth, k)
