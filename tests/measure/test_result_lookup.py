"""Looking a model up by name in a selection: an unknown name is one clear error listing the names."""

from types import SimpleNamespace

import numpy as np
import pytest

from physlaw.errors import InputError
from physlaw.measure.regression import Regression
from physlaw.measure.selection import Selection


def test_unknown_model_names_the_known_ones():
    fits = [SimpleNamespace(name="K1-gauss-none"), SimpleNamespace(name="K2-gauss-none")]
    sel = Selection(fits, "K2-gauss-none", False)
    assert sel.fit("K1-gauss-none") is fits[0] and sel.best is fits[1]
    with pytest.raises(InputError, match="no model named 'K3'; the models are K1-gauss-none, K2-gauss-none"):
        sel.fit("K3")
    reg = Regression(np.zeros(3), np.zeros(3), None, [SimpleNamespace(name="ax")], "ax")
    assert reg.fit("ax") is reg.fits[0]
    with pytest.raises(InputError, match="the models are ax"):
        reg.fit("ax+b")


def test_the_key_is_required():
    from physlaw.measure.regression import regress

    with pytest.raises(TypeError, match="key"):
        regress(np.arange(5.0), np.arange(5.0), sigma=0.1)
