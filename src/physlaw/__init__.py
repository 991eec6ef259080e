"""physlaw: from physical data to physical laws.

Table of contents
-----------------
- ``physlaw.sampling``: exchange Monte Carlo (replica exchange) with free energies.
- ``physlaw.priors``: normalised priors.
- ``physlaw.measure``: Bayesian measurement models (linear response, ...).
- ``physlaw.io``, ``physlaw.plot``: reading data, writing results and figures.
"""

__version__ = "0.1.0"
