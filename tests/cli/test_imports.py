"""The command line imports only what a command needs: no NumPy, JAX, ArviZ, xarray or matplotlib to build
the argument parser, print ``--help`` or refuse an argument; no scipy.interpolate for the noise estimate; the
result writers in the background while the computation runs (issue 12, latency)."""

import subprocess
import sys

import pytest

HEAVY = "{'numpy', 'jax', 'arviz', 'xarray', 'matplotlib'}"
LOADED = f"sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY})"


def _last_line(code: str, timeout: float = 120) -> str:
    """Run ``code`` in a fresh interpreter; the last line it printed."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def _heavy_modules(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; the heavy modules it imported (printed last)."""
    return eval(_last_line(code))  # a list literal of module names


def test_building_the_parser_imports_no_heavy_module():
    code = f"import sys; from physlaw.cli import build_parser; build_parser(); print({LOADED})"
    assert _heavy_modules(code) == []


@pytest.mark.parametrize("argv", [
    ["--help"],
    ["regress", "--help"],
    ["spectrum", "--help"],
    ["regress", "data.csv", "--samples", "0"],  # an argument error: one line, exit code 2
])
def test_help_and_argument_errors_import_no_heavy_module(argv):
    code = (
        "import contextlib, io, sys\n"
        "from physlaw.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print({LOADED})\n"
    )
    assert _heavy_modules(code) == []


def test_the_check_detects_an_import():
    """Negative control: the same check sees JAX once something imports it."""
    code = f"import sys; from physlaw.cli import build_parser; build_parser(); import jax; print({LOADED})"
    assert "jax" in _heavy_modules(code)


def test_prefetch_imports_the_writers_in_the_background_and_tolerates_failures():
    """``prefetch`` imports the result writers in a thread while the computation runs; a module that
    cannot be imported is skipped (the command's own import reports it later)."""
    code = ("import sys; from physlaw.cli._common import prefetch; "
            "assert 'matplotlib.figure' not in sys.modules; "
            "t = prefetch(('no_such_module_for_physlaw', 'physlaw.plot.spectrum')); t.join(120); "
            "print(not t.is_alive(), 'matplotlib.figure' in sys.modules, 'no_such_module_for_physlaw' in sys.modules)")
    assert _last_line(code, timeout=180).split() == ["True", "True", "False"]


def test_no_scipy_interpolate_in_the_noise_estimate():
    """The noise curve (every spectrum run that estimates the noise) no longer imports scipy.interpolate
    (0.4-0.6 s); its cubic Hermite interpolant is checked against SciPy's in tests/measure/test_noise_curve.py."""
    code = ("import sys, numpy as np; from physlaw.measure.noise import noise_curve; "
            "from types import SimpleNamespace as S; b = np.array([0, .01, .1, .5, 1.]); "
            "fe = S(betas=b, log_z=-np.array([0, 1, 5, 9, 10.]), mean_log_likelihood=-np.array([200, 80, 30, 12, 9.]), "
            "log_z_err=np.zeros(5)); noise_curve(fe, 0.1, 50); print('scipy.interpolate' in sys.modules)")
    assert _last_line(code) == "False"
