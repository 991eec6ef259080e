"""The options of the spectrum models as plain names: line shapes, components, backgrounds, likelihoods,
signs and the prior-file format.

They live apart from ``physlaw.measure.spectrum`` (which needs JAX) so that the command line can build
its argument parser, and answer ``--help``, without importing JAX. ``physlaw.measure.spectrum``
re-exports every name here.
"""

SHAPES = ("gauss", "lorentz", "voigt", "doniach")
#: What one of the K components is: one line (``peak``), an XPS spin–orbit pair (``spin-orbit-p|d|f``,
#: area ratio 1:2, 2:3, 3:4), a ⁵⁷Fe Mössbauer magnetic ``sextet`` or quadrupole ``doublet``.
COMPONENTS = ("peak", "spin-orbit-p", "spin-orbit-d", "spin-orbit-f", "sextet", "doublet")
BACKGROUNDS = ("none", "constant", "linear", "poly2", "poly3", "exponential", "shirley")
#: The backgrounds ``auto`` compares by the free energy.
AUTO_BACKGROUNDS = ("none", "constant", "linear", "poly2", "exponential", "shirley")
LIKELIHOODS = ("gaussian", "poisson")
SIGNS = ("positive", "negative")

PRIOR_TOML_KEYS = {
    # name: (SpectrumPriors field, distribution, parameter names in the TOML table)
    "amplitude": ("amplitude", "gamma", ("shape", "rate")),
    "centre": ("centre", "normal", ("mean", "sd")),
    "width": ("width", "gamma", ("shape", "rate")),
    "eta": ("eta", "uniform", ("low", "high")),
    "asymmetry": ("asymmetry", "uniform", ("low", "high")),
    "background_level": ("bg_c", "normal", ("mean", "sd")),
    "background_slope": ("bg_slope", "normal", ("mean", "sd")),
    "background_amplitude": ("bg_amp", "normal", ("mean", "sd")),
    "background_log_decay": ("bg_log_tau", "uniform", ("low", "high")),
    "splitting": ("splitting", "uniform", ("low", "high")),
    "hyperfine_field": ("field", "uniform", ("low", "high")),
}

#: The range a uniform prior must stay in, for the parameters whose meaning ends at a bound: the
#: pseudo-Voigt mixing is a fraction, and the Doniach–Šunjić line has a maximum only for |α| < 1.
PRIOR_TOML_BOUNDS = {"eta": (0.0, 1.0), "asymmetry": (-0.9, 0.9), "hyperfine_field": (0.0, 200.0)}

PRIOR_TOML_HELP = """Prior file (TOML), every value in the data's own units; any table may be left out:
  [amplitude]  shape = 5, rate = 5       # peak height a ~ Gamma(shape, rate)
  [centre]     mean = 1.5, sd = 0.447    # peak centre mu ~ Normal(mean, sd^2)
  [width]      shape = 5, rate = 0.04    # b = 1/variance of the Gaussian (1/x^2) ~ Gamma(shape, rate)
  [eta]        low = 0, high = 1         # pseudo-Voigt mixing ~ Uniform
  [asymmetry]  low = -0.4, high = 0.4    # doniach lines: Doniach-Sunjic asymmetry alpha ~ Uniform (tail to +x if > 0)
  [background_level]     mean = 0, sd = 1   # background constant ~ Normal
  [background_slope]     mean = 0, sd = 1   # linear background: change from the middle to the right end
  [background_amplitude] mean = 0, sd = 1   # exponential background: amplitude at the left end
  [background_log_decay] low = -5, high = 2 # exponential background: log of the decay length (x units)
  [splitting]  low = 0.5, high = 0.7     # spin-orbit splitting (x units), or the doublet's quadrupole splitting
  [hyperfine_field] low = 30, high = 35  # sextet: hyperfine field in tesla (x in mm/s)"""
