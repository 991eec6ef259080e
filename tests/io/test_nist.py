"""The NIST StRD fixtures and their reader: every file reproduces its certified residual sum of
squares at the certified parameters (a mistyped digit in the data would not), and a file that is not
a StRD file is refused with one line."""

from pathlib import Path

import numpy as np
import pytest

from physlaw.errors import InputError
from physlaw.io.nist import read_nist

NIST = Path(__file__).parents[1] / "fixtures" / "nist"


def gauss(x, b):
    return b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-(x - b[3]) ** 2 / b[4] ** 2) + b[5] * np.exp(-(x - b[6]) ** 2 / b[7] ** 2)


MODELS = {
    "Gauss1": gauss, "Gauss2": gauss, "Gauss3": gauss,
    "Misra1a": lambda x, b: b[0] * (1 - np.exp(-b[1] * x)),
    "Lanczos2": lambda x, b: b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-b[3] * x) + b[4] * np.exp(-b[5] * x),
    "Lanczos3": lambda x, b: b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-b[3] * x) + b[4] * np.exp(-b[5] * x),
    "Pontius": lambda x, b: b[0] + b[1] * x + b[2] * x**2,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_certified_residuals_reproduced(name):
    x, y, c = read_nist(NIST / f"{name}.dat")
    b = list(c["parameters"].values())
    rss = float(np.sum((y - MODELS[name](x, b)) ** 2))
    sd = np.sqrt(rss / (x.size - len(b)))
    assert abs(sd / c["residual_sd"] - 1) < 1e-8
    if c["residual_sum_of_squares"] is not None:
        assert abs(rss / c["residual_sum_of_squares"] - 1) < 1e-8
    # negative control: one data value changed in its last printed digit breaks the check
    y2 = y.copy()
    y2[y.size // 2] += 1e-5 * max(abs(y2[y.size // 2]), 1.0)
    rss2 = float(np.sum((y2 - MODELS[name](x, b)) ** 2))
    assert abs(np.sqrt(rss2 / (x.size - len(b))) / c["residual_sd"] - 1) > 1e-8


def test_lanczos1_is_its_generating_function():
    x, y, c = read_nist(NIST / "Lanczos1.dat")
    assert c["name"] == "Lanczos1" and x.size == 24
    assert np.max(np.abs(y - (0.0951 * np.exp(-x) + 0.8607 * np.exp(-3 * x) + 1.5576 * np.exp(-5 * x)))) < 1e-12


def test_not_a_nist_file_is_refused(tmp_path):
    p = tmp_path / "plain.csv"
    p.write_text("x,y\n1,2\n2,3\n")
    with pytest.raises(InputError, match="not a NIST StRD file"):
        read_nist(p)
    q = tmp_path / "cut.dat"
    text = (NIST / "Misra1a.dat").read_text().replace("      44.82E0     378.4E0", "      44.82E0     abc")
    q.write_text(text)
    with pytest.raises(InputError, match="expected two numbers"):
        read_nist(q)
