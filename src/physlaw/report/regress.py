"""Writing the results of ``physlaw regress``: the one measurement writer with the regression's prior in words."""

from __future__ import annotations

from pathlib import Path


def write_regression(reg, out: Path, *, data_path: str, seed: int, prior_scale: float, prior_absolute=None) -> dict:
    """Write every result file into the folder ``out`` through the one measurement writer
    (``report.measurement.write_measurement``: summary.json, netCDFs, figures, report.html)."""
    from physlaw.report.measurement import write_measurement

    prior = (f"independent Normal(0, {prior_absolute}^2) on each coefficient (in its model's basis)"
             if prior_absolute is not None else
             f"data-scaled (S = {prior_scale}, Y = max|y|, X = max|x|): a ~ Normal(0, (S Y/X)^2), "
             "b ~ Normal(0, (S Y)^2); polynomial Legendre coefficients ~ Normal(0, (S Y)^2)")
    return write_measurement(reg, out, command="regress", data=data_path, seed=seed,
                             extra={"prior": prior, "coefficients": "a, b of y = a x + b; c_k of y = sum_k c_k x^k"})
