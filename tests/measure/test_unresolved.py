"""The unresolved-lines warning: components closer than their widths add up to one maximum.

The claim in the warning is checked numerically: two equal lines flagged as unresolved sum to a
curve with one maximum (Gaussian and Lorentzian), and lines the check leaves alone show two
(negative control); the measured C 1s case of issue 11 is flagged as one group."""

import numpy as np
import pytest

from physlaw.measure.selection import UNRESOLVED_SEPARATION, unresolved_components, unresolved_groups


def maxima(separation: float, fwhm: float, shape: str) -> int:
    x = np.linspace(-10 * fwhm, 10 * fwhm + separation, 200_001)
    if shape == "gauss":
        s = fwhm / (2 * np.sqrt(2 * np.log(2)))
        line = lambda c: np.exp(-0.5 * ((x - c) / s) ** 2)  # noqa: E731
    else:
        line = lambda c: 1 / (1 + ((x - c) / (fwhm / 2)) ** 2)  # noqa: E731
    y = line(0.0) + line(separation)
    return int(np.sum((y[1:-1] > y[:-2]) & (y[1:-1] > y[2:])))


@pytest.mark.parametrize("shape", ["gauss", "lorentz"])
def test_flagged_pairs_have_one_maximum_and_others_two(shape):
    fwhm = 2.0
    inside = 0.95 * UNRESOLVED_SEPARATION * fwhm
    assert unresolved_groups([284.0, 284.0 + inside], [fwhm, fwhm]) == [[0, 1]]
    assert maxima(inside, fwhm, shape) == 1
    apart = 1.2 * fwhm   # resolved for both shapes: not flagged, and two maxima (negative control)
    assert unresolved_groups([284.0, 284.0 + apart], [fwhm, fwhm]) == []
    assert maxima(apart, fwhm, shape) == 2


def test_groups_follow_centre_order_and_the_message_counts_features():
    # the C 1s of issue 11 (Shirley, K = 7, posterior medians): four ~2 eV lines 0.3-0.5 eV apart
    centres = [285.2, 284.0, 290.7, 284.3, 284.7, 285.5, 273.0]
    fwhms = [2.02, 1.82, 5.0, 1.90, 2.07, 4.16, 13.0]
    assert unresolved_groups(centres, fwhms) == [[1, 2, 3, 4, 5]]
    text = unresolved_components(centres, fwhms)
    assert text.startswith("unresolved lines: components 2–6 (centres 284, 284.3, 284.7, 285.2, 285.5")
    assert "of the K = 7 components the spectrum resolves 3 separate features" in text
    # measured 266.5-301.5 eV: the 273 eV component counts (inside), one at 305 eV would not
    text = unresolved_components(centres[:-1] + [305.2], fwhms[:-1] + [2.8], window=(266.5, 301.5))
    assert text.endswith("of the K = 7 components the spectrum resolves 2 separate features inside the measured range")
    assert unresolved_components([107.0, 153.0], [35.0, 30.0]) == ""   # NIST Gauss1-like: two clear peaks
