"""Bayesian measurement: spectra, relaxation curves, regression and user models (``fit``)."""


def __getattr__(name: str):
    # ``physlaw.measure.fit``: the user-model fit, imported on first use (it loads JAX)
    if name == "fit":
        from physlaw.measure.usermodel import fit

        return fit
    raise AttributeError(f"module 'physlaw.measure' has no attribute {name!r}")
