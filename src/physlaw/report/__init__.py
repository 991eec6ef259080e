"""Presenters: turn results into summary.json, figures and one self-contained report.html per run.

``report`` sits above ``io`` (it writes through ``physlaw.io``) and ``plot`` (it draws through
``physlaw.plot``); the core never imports it.

- ``physlaw.report.html``: ``Section``, ``write_report`` (the HTML page).
- ``physlaw.report.regress``: ``write_regression`` (``physlaw regress``).
- ``physlaw.report.measurement``: ``write_measurement`` (every measurement preset), ``write_spectrum``, ``write_integration``.
- ``physlaw.report.conserve``: ``write_conservation`` (``physlaw conserve``).
- ``physlaw.report.progress``: ``ProgressBar`` (a tqdm bar on stderr for ``progress=`` arguments).
"""
