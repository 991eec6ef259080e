"""Readers of user files: size limits, the vectorised table reader, network configs, names in the API."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from physlaw.dynamics import Dataset, check_coordinate_names
from physlaw.errors import InputError
from physlaw.io import tables
from physlaw.symmetry import FunctionLibrary, Law, polynomial_law


def test_fast_and_line_by_line_readers_agree(tmp_path):
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(500, 3))
    xy[:, 2] = np.abs(xy[:, 2]) + 0.1
    f = tmp_path / "t.csv"
    np.savetxt(f, xy, delimiter=",", header="x,y,s", comments="")
    fast, header = tables.read_table(f, min_columns=2, max_columns=3, what="table")
    slow = tables._scan(f, f.read_text(), header, min_columns=2, max_columns=3, what="table")
    assert header == ["x", "y", "s"]
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_allclose(fast, xy, rtol=1e-15)


def test_mixed_separators_and_comments_still_read(tmp_path):
    f = tmp_path / "m.txt"
    f.write_text("% comment\nx y\n1, 2\n# another\n2;3\n\n3\t4\n")
    table, header = tables.read_table(f, min_columns=2, max_columns=3, what="table")
    assert header == ["x", "y"] and table.tolist() == [[1, 2], [2, 3], [3, 4]]


def test_size_limits_are_refused_with_a_message(tmp_path, monkeypatch):
    f = tmp_path / "t.csv"
    f.write_text("".join(f"{i},{2 * i}\n" for i in range(100)))
    monkeypatch.setattr(tables, "MAX_FILE_BYTES", 100)
    with pytest.raises(InputError, match="at most 100 B|at most 0.0977 KiB"):
        tables.read_xy(f)
    monkeypatch.setattr(tables, "MAX_FILE_BYTES", 1 << 30)
    monkeypatch.setattr(tables, "MAX_ROWS", 50)
    with pytest.raises(InputError, match="at most 50 rows"):
        tables.read_xy(f)


def test_non_regular_files_are_refused(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        tables.read_xy(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        tables.read_xy(tmp_path / "missing.csv")


def test_dataset_checks_names_and_shapes_in_the_api():
    q = np.zeros((2, 3, 1))
    with pytest.raises(InputError, match="is not a plain name"):
        Dataset(q, q, np.zeros((2, 3)), ("q1", "__import__('os').system('x')"))
    with pytest.raises(InputError, match="'I' already means something"):
        Dataset(q, q, np.zeros((2, 3)), ("q1", "I"))
    with pytest.raises(InputError, match="matching trajectory and time sizes"):
        Dataset(q, q[:, :2], np.zeros((2, 3)), ("q1", "p1"))
    with pytest.raises(InputError, match="2 coordinate names for 1"):
        Dataset(q, q[..., :0], np.zeros((2, 3)), ("q1", "p1"))
    assert check_coordinate_names(["theta", "omega"]) == ("theta", "omega")


def test_laws_are_built_from_symbols_never_parsed():
    q, p = sympy.symbols("q p")
    law = polynomial_law({q**2: (1.0, 0.1), p**2: (2.0, 0.1)}, residual=0.0, labels={q**2: "q**2"})
    assert sympy.simplify(law.sympy() - (q**2 / 2 + p**2)) == 0 and law.expression == "p**2 + 0.5*q**2"
    assert set(law.coefficients) == {"q**2", "p**2"}
    with pytest.raises(InputError, match="SymPy monomials"):
        polynomial_law({"__import__('os').system('x')": (1.0, 0.0)}, residual=0.0)
    with pytest.raises(InputError, match="text is never parsed"):
        Law("q**2", {}, 0.0)
    lib = FunctionLibrary(["q", "p"])
    with pytest.raises(InputError, match="text is never parsed"):
        lib.coefficients("q**2 + p**2")
    c, res = lib.coefficients(law.sympy())
    assert res < 1e-10 and np.allclose(c, [0, 0, 0.5, 0, 1])


def _model_dir(tmp_path, config, leaves=b"\0" * 64):
    d = tmp_path / "net"
    d.mkdir(exist_ok=True)
    (d / "model.eqx").write_bytes(leaves)
    (d / "config.json").write_text(json.dumps(config) if not isinstance(config, str) else config)
    return d


@pytest.mark.parametrize("config, match", [
    ([1, 2], "JSON object"),
    ({"model": "hnn"}, "JSON object"),
    ({"model": {"model": "hnn", "dim": 2, "width": [1]}}, "plain numbers"),
    ({"model": {"model": "hnn", "dim": 10**9}}, "between 1 and 10000"),
    ({"model": {"model": "hnn", "dim": 2, "width": 10**6}}, "do not belong together"),
    ({"model": {"model": "hnn", "dim": 2}, "coordinate_names": ["q1", "E"]}, "coordinate_names"),
    ("{" * 100_000, "not valid JSON"),
])
def test_bad_network_configs_are_refused_before_building(tmp_path, config, match):
    from physlaw.io.networks import load_model

    with pytest.raises(InputError, match=match):
        load_model(_model_dir(tmp_path, config))
