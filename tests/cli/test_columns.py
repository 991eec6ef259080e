"""Choosing columns (--x, --y, --sigma-column) and VAMAS regions (--region) for measurement commands."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from physlaw.cli._columns import add_column_options, is_counts, read_measurement_file
from physlaw.errors import InputError

REAL_VMS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "xps" / "survey_0-150W.vms"
REAL_C1S = REAL_VMS.parent / "C1s_sample.csv"


def read(path, *argv, **kw):
    p = argparse.ArgumentParser()
    add_column_options(p)
    return read_measurement_file(path, p.parse_args(list(argv)), **kw)


@pytest.fixture
def mossbauer(tmp_path):
    f = tmp_path / "moss.csv"
    v = np.linspace(-10, 10, 12)
    f.write_text("channel,velocity_mm_s,counts\n" + "".join(f"{i + 1},{vi:.3f},{60000 - i}\n" for i, vi in enumerate(v)))
    return f


def test_header_that_names_three_non_sigma_columns_is_refused_with_the_options_to_give(mossbauer):
    with pytest.raises(InputError, match=r"1: channel, 2: velocity_mm_s, 3: counts.*--x velocity_mm_s --y counts"):
        read(mossbauer)


def test_columns_by_name_and_number(mossbauer):
    m = read(mossbauer, "--x", "velocity_mm_s", "--y", "counts")
    assert m.x[0] == -10 and m.y[0] == 60000 and m.sigma is None and m.counts
    assert (m.x_name, m.y_name) == ("velocity_mm_s", "counts")
    m2 = read(mossbauer, "--x", "2", "--y", "COUNTS", "--sigma-column", "channel")
    np.testing.assert_array_equal(m2.x, m.x)
    np.testing.assert_array_equal(m2.sigma, np.arange(1, 13))


@pytest.mark.parametrize("argv, match", [
    (["--y", "counts"], "give both --x and --y"),
    (["--x", "speed", "--y", "counts"], "--x 'speed' is not a column.*velocity_mm_s"),
    (["--x", "0", "--y", "counts"], "numbers 1..3"),
    (["--x", "counts", "--y", "3"], "name the same column"),
    (["--sigma-column", "counts"], "--sigma-column needs --x and --y"),
    (["--x", "2", "--y", "3", "--sigma-column", "2"], "name the same column"),
    (["--region", "C 1s"], "VAMAS"),
])
def test_bad_column_choices(mossbauer, argv, match):
    with pytest.raises(InputError, match=match) as info:
        read(mossbauer, *argv)
    assert "\n" not in str(info.value)


def test_defaults_two_and_three_columns_and_sigma_headers(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("3 1\n2 4\n1 9\n")  # x decreasing: kept in file order
    m = read(f)
    np.testing.assert_array_equal(m.x, [3, 2, 1])
    np.testing.assert_array_equal(m.y, [1, 4, 9])
    g = tmp_path / "b.csv"
    g.write_text("1,2,0.5\n2,3,0.5\n3,5,0.5\n")
    assert read(g).sigma.tolist() == [0.5, 0.5, 0.5]
    for name in ("sigma", "err", "counts_err", "dy", "σ"):
        h = tmp_path / f"{name}.csv"
        h.write_text(f"E,I,{name}\n1,2,0.5\n2,3,0.5\n3,5,0.5\n")
        assert read(h).sigma is not None, name
    bad = tmp_path / "neg.csv"
    bad.write_text("x,y,sigma\n1,2,0.5\n2,3,-1\n3,5,0.5\n")
    with pytest.raises(InputError, match="must be positive.*row 2"):
        read(bad)


def test_header_with_spaces_in_names(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("time (s),signal (a.u.)\n0.1,5.5\n0.2,4\n0.3,3\n")
    m = read(f, "--x", "time (s)", "--y", "signal (a.u.)")
    assert m.x_name == "time (s)" and not m.counts


def test_more_than_three_columns_need_options(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("a,b,c,d\n1,2,3,4\n2,3,4,5\n3,4,5,6\n")
    with pytest.raises(InputError, match="it has 4 columns.*give e.g. --x a --y b"):
        read(f)
    assert read(f, "--x", "d", "--y", "a").x.tolist() == [4, 5, 6]


def test_model_file_hints_apply_only_with_a_header(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("t,m,e\n1,5,0.1\n2,4,0.1\n3,3,0.1\n")
    m = read(f, hints={"x_column": "t", "y_column": "m", "sigma_column": "e"})
    assert m.sigma.tolist() == [0.1] * 3
    g = tmp_path / "n.csv"
    g.write_text("1,5\n2,4\n3,3\n")
    assert read(g, hints={"x_column": "t", "y_column": "m"}).y.tolist() == [5, 4, 3]  # names only label
    assert read(f, "--y", "e", "--x", "t", hints={"y_column": "m"}).y.tolist() == [0.1] * 3  # options win


def test_is_counts():
    assert is_counts([0, 1, 5, 60000]) and not is_counts([0, 1.5]) and not is_counts([-1, 2]) and not is_counts([0, 0])


@pytest.mark.skipif(not REAL_VMS.exists(), reason="needs ../shared/data/real")
def test_real_vamas_region_and_real_decreasing_csv():
    m = read(REAL_VMS, "--region", "C 1s")
    assert m.counts and m.region == "C 1s" and m.x[0] > m.x[-1] and "binding energy" in m.source
    with pytest.raises(InputError, match="choose one with --region NAME.*'C 1s'"):
        read(REAL_VMS)
    with pytest.raises(InputError, match="VAMAS file: choose its block with --region"):
        read(REAL_VMS, "--x", "1", "--y", "2")
    c = read(REAL_C1S)
    assert c.x[0] > c.x[-1] and c.counts  # binding energy decreasing, raw counts


def test_choose_noise_defaults(tmp_path, mossbauer):
    from physlaw.cli._columns import choose_noise

    counts = read(mossbauer, "--x", "velocity_mm_s", "--y", "counts")
    assert choose_noise(counts)[:2] == (None, "poisson")
    assert choose_noise(counts, estimate=True)[:2] == (None, "gaussian")
    assert choose_noise(counts, sigma=2.0)[:2] == (2.0, "gaussian")
    with pytest.raises(InputError, match="Poisson likelihood has no sigma"):
        choose_noise(counts, sigma=2.0, likelihood="poisson")
    f = tmp_path / "r.csv"
    f.write_text("t,m\n1,0.5\n2,0.25\n3,0.125\n")
    real = read(f)
    sigma, lik, how = choose_noise(real)
    assert sigma is None and lik == "gaussian" and "estimated" in how
    with pytest.raises(InputError, match="needs counts"):
        choose_noise(real, likelihood="poisson")
    withsig = read(mossbauer, "--x", "velocity_mm_s", "--y", "counts", "--sigma-column", "channel")
    s, lik, how = choose_noise(withsig)
    assert lik == "gaussian" and s.tolist() == list(range(1, 13)) and "channel" in how
