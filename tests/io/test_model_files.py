"""MODEL.toml files of ``physlaw fit`` and the column-keeping table reader."""

from __future__ import annotations

import pytest

from physlaw.errors import InputError
from physlaw.io import tables
from physlaw.io.models import load_model_toml

GOOD = '''
x = "t"
y = "m"
order = "T"
[component]
formula = "A * exp(-(x / T)**beta)"
priors = { A = "uniform(0, 2)", T = "loguniform(1e-3, 1e3)", beta = "uniform(0.2, 1)" }
[background]
formula = "C"
priors = { C = "normal(0, 1)" }
[noise]
sigma = "estimate"
'''


def test_the_issue_example_loads(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text(GOOD)
    m = load_model_toml(f)
    assert (m.x, m.y, m.order, m.sigma, m.likelihood) == ("t", "m", "T", "estimate", "auto")
    assert m.priors["T"] == "loguniform(1e-3, 1e3)" and m.background == "C"
    f.write_text(GOOD.replace('sigma = "estimate"', 'sigma = "dm"'))
    assert load_model_toml(f).sigma_column == "dm"
    f.write_text(GOOD.replace('sigma = "estimate"', 'likelihood = "poisson"'))
    assert load_model_toml(f).likelihood == "poisson"
    f.write_text(GOOD.replace('sigma = "estimate"', "sigma = 2"))
    assert load_model_toml(f).sigma == 2.0


@pytest.mark.parametrize("text, match", [
    (GOOD.replace("[component]", "[components]"), "unknown key 'components'"),
    ("x = 1\n", "no \\[component\\] table"),
    (GOOD.replace('formula = "C"', "formula = 3"), "needs formula"),
    (GOOD.replace('C = "normal(0, 1)"', "C = 1"), "must be a string"),
    (GOOD.replace('x = "t"', "x = true"), "x must be a column name"),
    (GOOD.replace('x = "t"', "x = 0"), "x must be a column name"),
    (GOOD.replace('sigma = "estimate"', "sigma = nan"), "positive finite"),
    (GOOD.replace('sigma = "estimate"', "sigma = 1e999"), "positive finite"),
    (GOOD.replace('sigma = "estimate"', "sigma = [1]"), "sigma must be"),
    (GOOD.replace("[noise]", "noise = 3\n[other]"), "unknown key 'other'"),
    ("a = " + "[" * 2000 + "]" * 2000, "nested too deeply|not valid TOML"),
    ("x = 1" + "0" * 5000, "not valid TOML"),
    (GOOD.replace("(x / T)", "(x.T)"), "'.' at position"),
    (GOOD.replace('"uniform(0, 2)"', '"uniform(2, 0)"'), "low < high"),
])
def test_bad_model_files_are_one_line(tmp_path, text, match):
    f = tmp_path / "m.toml"
    f.write_text(text)
    with pytest.raises(InputError, match=match) as info:
        load_model_toml(f)
    assert str(info.value).startswith(f"--model {f}") and "\n" not in str(info.value)


def test_read_columns_keeps_named_columns_and_refuses_mismatched_headers(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("time (s),signal,err\n1,2,3\n4,5,6\n")
    table, header = tables.read_columns(f)
    assert header == ["time (s)", "signal", "err"] and table.shape == (2, 3)
    f.write_text("a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(InputError, match="header names 2 column"):
        tables.read_columns(f)
    f.write_text("a,,c\n1,2,3\n")
    with pytest.raises(InputError, match="empty column name"):
        tables.read_columns(f)
