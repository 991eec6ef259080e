"""Many datasets from one command line (physlaw.io.datasets): files, folders, globs, wide tables, names."""

import numpy as np
import pytest

from physlaw.errors import InputError
from physlaw.io.datasets import (
    expand_datasets, parse_label, read_table_csv, safe_name, write_table_csv,
)


def _xy(path, slope=1.0, n=6, sigma=False):
    x = np.arange(n, dtype=float)
    rows = [f"{a},{slope * a}" + (",0.1" if sigma else "") for a in x]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_files_keep_their_order_names_labels_and_arrays(tmp_path):
    b = _xy(tmp_path / "T_300K.csv", 3.0, sigma=True)
    a = _xy(tmp_path / "T_77K.txt", 2.0)
    ds = expand_datasets([b, a])
    assert [d.name for d in ds] == ["T_300K", "T_77K"]
    assert [d.label for d in ds] == [300.0, 77.0]
    np.testing.assert_allclose(ds[0].y, 3.0 * ds[0].x)
    assert ds[0].sigma is not None and ds[1].sigma is None
    assert ds[0].source == str(b)
    assert ds[0].digest() != ds[1].digest() and ds[0].digest() == expand_datasets([b])[0].digest()


def test_a_folder_gives_its_tables_sorted_and_skips_other_files(tmp_path):
    for name in ("s2.csv", "s10.dat", "s1.txt"):
        _xy(tmp_path / name)
    (tmp_path / "notes.md").write_text("not a table")
    _xy(tmp_path / ".hidden.csv")
    (tmp_path / "sub.csv").mkdir()  # a folder with a table's suffix is not a file
    ds = expand_datasets([tmp_path])
    assert [d.name for d in ds] == ["s1", "s10", "s2"]
    assert [d.label for d in ds] == [1.0, 10.0, 2.0]


def test_a_glob_is_expanded_without_a_shell(tmp_path):
    for name in ("run_a.csv", "run_b.csv", "other.csv"):
        _xy(tmp_path / name)
    ds = expand_datasets([str(tmp_path / "run_*.csv")])
    assert [d.name for d in ds] == ["run_a", "run_b"]
    assert all(d.label is None for d in ds)
    # a shell command in a pattern is only a pattern: it matches nothing and runs nothing
    evil = str(tmp_path / "$(touch pwned)*.csv")
    with pytest.raises(InputError, match="matches no file"):
        expand_datasets([evil])
    assert not (tmp_path / "pwned").exists()


def test_a_wide_table_gives_one_dataset_per_column(tmp_path):
    x = np.linspace(0, 1, 8)
    cols = {"T_100K": 2 * x, "T_200K": 3 * x, "T 300 K": 4 * x}
    text = "x," + ",".join(cols) + "\n" + "".join(
        f"{x[i]}," + ",".join(str(c[i]) for c in cols.values()) + "\n" for i in range(x.size))
    path = tmp_path / "series.csv"
    path.write_text(text)
    ds = expand_datasets([path])  # 4 columns: wide by default
    assert [d.name for d in ds] == ["T_100K", "T_200K", "T_300_K"]
    assert [d.label for d in ds] == [100.0, 200.0, 300.0]
    np.testing.assert_allclose(ds[1].y, 3 * x)
    assert "column 3" in ds[1].source and ds[1].header == ("x", "T_200K")
    # three columns are x, y, sigma unless wide=True
    path3 = tmp_path / "pair.csv"
    path3.write_text("x,a1,a2\n" + "".join(f"{v},{2 * v + 1},{3 * v + 1}\n" for v in x))
    assert len(expand_datasets([path3])) == 1
    assert [d.name for d in expand_datasets([path3], wide=True)] == ["a1", "a2"]
    # no header: the columns are named after the file
    bare = tmp_path / "bare.csv"
    bare.write_text("".join(f"{v},{v},{2 * v},{3 * v}\n" for v in x))
    assert [d.name for d in expand_datasets([bare])] == ["bare_y1", "bare_y2", "bare_y3"]


@pytest.mark.parametrize("text,match", [
    ("x,a,b,c\n0,1,2,3\n1,2,oops,4\n2,3,4,5\n3,4,5,6\n", "line 3, column 3"),   # a non-numeric cell
    ("x,a,b\n0,1,2,3\n1,2,3,4\n2,3,4,5\n", "header has 3 names"),               # header and rows disagree
    ("x,a,b,c\n1,1,2,3\n1,2,3,4\n1,3,4,5\n", "all x values"),                 # no spread in x
    ("x,a,b,c\n0,1,2,3\n", "at least 3 points"),                               # too few rows
])
def test_a_hostile_wide_table_is_one_line(tmp_path, text, match):
    path = tmp_path / "w.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=match) as err:
        expand_datasets([path], wide=True)
    assert "\n" not in str(err.value)


def test_collisions_empty_inputs_and_bad_names_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _xy(tmp_path / "a" / "s1.csv")
    _xy(tmp_path / "b" / "s1.csv")
    with pytest.raises(InputError, match="both be written to the folder 's1'"):
        expand_datasets([tmp_path / "a", tmp_path / "b"])
    _xy(tmp_path / "T 300.csv")
    _xy(tmp_path / "t_300.csv")
    with pytest.raises(InputError, match="differ in more than case"):
        expand_datasets([tmp_path / "T 300.csv", tmp_path / "t_300.csv"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="folder without data tables"):
        expand_datasets([tmp_path / "empty"])
    with pytest.raises(InputError, match="matches no file"):
        expand_datasets([str(tmp_path / "nothing*.csv")])
    with pytest.raises(InputError, match="no such file"):
        expand_datasets([tmp_path / "missing.csv"])
    with pytest.raises(InputError, match="no FILE"):
        expand_datasets([])
    _xy(tmp_path / "table.csv.csv")
    with pytest.raises(InputError, match="may not be called"):
        expand_datasets([tmp_path / "table.csv.csv"])
    _xy(tmp_path / "###.csv")
    with pytest.raises(InputError, match="no letters or digits"):
        expand_datasets([tmp_path / "###.csv"])


def test_names_are_safe_folder_names_and_labels_are_numbers():
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name(".hidden") == "hidden"
    assert safe_name("Température 300") == "Temp_rature_300"
    assert len(safe_name("x" * 500)) <= 100
    assert parse_label("T_300K") == 300.0
    assert parse_label("T300p5") == 300.5
    assert parse_label("B_-0.5T") == -0.5
    assert parse_label("sample-3") == 3.0
    assert parse_label("2024-05-01_T77") == 77.0
    assert parse_label("dose_1e-3") == 0.001
    assert parse_label("blank") is None


def test_the_table_has_the_union_of_columns_in_a_stable_order(tmp_path):
    rows = [{"name": "a", "p": 0.5, "K": 1}, {"name": "b", "p": 1 / 3, "extra": "x", "K": 2, "nan": float("nan")}]
    cols = write_table_csv(tmp_path / "t.csv", rows, first=("name", "label"))
    assert cols == ["name", "label", "p", "K", "extra", "nan"]
    columns, back = read_table_csv(tmp_path / "t.csv")
    assert columns == cols
    assert back[1]["p"] == 1 / 3  # all digits are kept
    assert back[0]["extra"] is None and back[1]["nan"] is None and back[0]["label"] is None
