"""The least-squares point of a target whose Gaussian likelihood is linear in some parameters.

Very precise data (noise ~10⁻⁶ of the range: NIST Lanczos2) make the β = 1 posterior of a sum of
exponentials a valley so narrow (condition 10¹⁰) that chains started from prior draws do not find it
in a few hundred sweeps, and an unsettled cold rung biases log Z and the noise estimate. Its bottom is
cheap to find by *variable projection* (Golub & Pereyra): for given nonlinear coordinates (rates,
stretch exponents) the linear ones (amplitudes, offsets) are the linear least-squares solution, so the
search runs over the few nonlinear coordinates only, with SciPy's trust-region least squares from the
best prior draws. ``run(..., init=point)`` then starts the replicas there; burn-in still relaxes every
rung to its own tempered posterior, so the start changes nothing but how soon the chains settle.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from physlaw.sampling._kernel import linear_conditional
from physlaw.sampling._target import Target, batched, flatten_target


class LeastSquaresPoint(NamedTuple):
    """``position``: [d] flat coordinates; ``chi2``: Σ ((y − mean)/σ)² there (σ of the target's likelihood)."""

    position: np.ndarray
    chi2: float


def least_squares_point(target: Target, key: jax.Array, *, num_starts: int = 8,
                        num_draws: int = 2048) -> LeastSquaresPoint | None:
    """The smallest χ² over the target's parameters by variable projection, or None.

    None when the target has no ``linear`` part, or when no start reaches a point of finite prior
    density and likelihood. Starts: the ``num_starts`` prior draws (of ``num_draws``) with the largest
    likelihood. Runs in float64 (the target's working precision is irrelevant here).
    """
    from scipy.optimize import least_squares

    if target.linear is None:
        return None
    flat = flatten_target(target, key)
    part = flat.linear
    lin = np.asarray(part.index, int)
    nonlin = np.setdiff1d(np.arange(flat.dim), lin)
    draws = np.asarray(batched(flat).sample_prior(key, num_draws), np.float64)
    ll = np.asarray(batched(flat).log_likelihood(jnp.asarray(draws), flat.data), np.float64)
    order = np.argsort(np.where(np.isfinite(ll), -ll, np.inf))[:num_starts]
    y, sigma = part.observed_fn(flat.data)

    @jax.jit
    def projected(z, template):
        """The whitened residual [n] at nonlinear coordinates z with the linear ones at their least squares."""
        x = template.at[nonlin].set(z)
        x = x.at[lin].set(linear_conditional(flat, x, flat.data)[0])
        return (y - part.mean_fn(x, flat.data)) / sigma, x

    best = None
    for i in order:
        template = jnp.asarray(draws[i])
        try:
            fit = least_squares(lambda z: np.asarray(projected(jnp.asarray(z), template)[0]), draws[i, nonlin],
                                method="trf", x_scale="jac", max_nfev=200 * (nonlin.size + 1))
        except (ValueError, np.linalg.LinAlgError):   # a start where the model is not finite
            continue
        _, x = projected(jnp.asarray(fit.x), template)
        x = np.asarray(x)
        chi2 = float(2.0 * fit.cost)
        finite = np.isfinite(chi2) and np.isfinite(float(flat.log_prior(jnp.asarray(x)))) and np.isfinite(
            float(flat.log_likelihood(jnp.asarray(x), flat.data)))
        if finite and (best is None or chi2 < best.chi2):
            best = LeastSquaresPoint(x, chi2)
    return best
