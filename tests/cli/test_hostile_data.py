"""Hostile data files: a file never runs code, and every problem is one clear line (exit 2).

Each case writes a small valid trajectory file (a simulated spring), corrupts it, and runs the
command that reads it; :func:`tests.cli.hostile.assert_refused` checks exit 2, one stderr line, no
traceback, no marker file and an untouched output folder.
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from physlaw.dynamics import simulate
from physlaw.io.trajectories import save_csv, save_dataset
from tests.cli.hostile import assert_refused

# Payloads without spaces, so a header split on whitespace keeps them in one cell.
PAYLOADS = [
    "p2+0*__import__('os').system('touch${IFS}PWNED')",
    "p2+0*__import__('pathlib').Path('PWNED').touch()",
]


@pytest.fixture(scope="module")
def spring():
    return simulate("spring", jax.random.key(0), num_trajectories=4, num_times=20)


@pytest.fixture
def files(spring, tmp_path, monkeypatch):
    """A valid spring ``.npz`` and CSV in ``tmp_path`` (the working folder, so a payload would write there)."""
    monkeypatch.chdir(tmp_path)
    save_dataset(tmp_path / "ok.npz", spring)
    save_csv(tmp_path / "ok.csv", spring)
    return tmp_path


def npz_with(path, src, **changes):
    arrays = dict(np.load(src))
    arrays.update(changes)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def csv_lines(root):
    return (root / "ok.csv").read_text().splitlines()


def conserve(data, out, method="library", *extra):
    return ["conserve", str(data), "--method", method, "--out", str(out), "--quiet", *extra]


# --------------------------------------------------------------------------------------------
# 1. no code execution


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_payloads_are_live_when_parsed(tmp_path, monkeypatch, payload):
    """Negative control: handed to ``sympy.sympify`` (what the law code did before), each payload does create
    the marker, so the marker checks below can fail."""
    import sympy

    monkeypatch.chdir(tmp_path)
    try:
        sympy.sympify(payload)
    except (TypeError, sympy.SympifyError):  # the payload's side effect happens before SymPy gives up
        pass
    assert (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_malicious_csv_header_runs_nothing(files, capsys, payload):
    lines = csv_lines(files)
    bad = files / "evil.csv"
    bad.write_text("\n".join([f"trajectory,t,q1,{payload}"] + lines[1:]) + "\n")
    out = files / "out"
    line = assert_refused(conserve(bad, out, "lie"), capsys, out=out, marker=files / "PWNED",
                          match="is not a plain name")
    assert "evil.csv" in line and "--names" in line


@pytest.mark.parametrize("payload", PAYLOADS)
def test_malicious_npz_names_run_nothing(files, capsys, payload):
    bad = npz_with(files / "evil.npz", files / "ok.npz", coordinate_names=np.array(["q1", payload]))
    out = files / "out"
    assert_refused(conserve(bad, out, "lie"), capsys, out=out, marker=files / "PWNED", match="is not a plain name")


def test_a_bad_name_can_be_replaced_with_names(files, capsys):
    bad = npz_with(files / "evil.npz", files / "ok.npz", coordinate_names=np.array(["q1", PAYLOADS[1]]))
    out = files / "out"
    from tests.cli.hostile import run_cli

    code, _, err = run_cli(conserve(bad, out, "library", "--names", "x", "v"), capsys)
    assert code == 0, err
    assert not (files / "PWNED").exists()
    assert json.loads((out / "summary.json").read_text())["coordinate_names"] == ["x", "v"]


@pytest.mark.parametrize("name, why", [
    ("<script>alert(1)</script>", "is not a plain name"),
    ("E", "means something to SymPy"),
    ("gamma", "means something to SymPy"),
    ("open", "means something to SymPy"),
    ("lambda", "Python keyword"),
    ("θ", "is not a plain name"),
    ("q" * 65, "characters long"),
])
def test_unusable_names_are_refused(files, capsys, name, why):
    bad = npz_with(files / "bad.npz", files / "ok.npz", coordinate_names=np.array(["q1", name]))
    out = files / "out"
    assert_refused(conserve(bad, out), capsys, out=out, match=why)


def test_names_option_is_checked_too(files, capsys):
    out = files / "out"
    assert_refused(conserve(files / "ok.npz", out, "library", "--names", "q", "__import__"), capsys, out=out,
                   match="--names")
    assert_refused(conserve(files / "ok.npz", out, "library", "--names", "x", "x"), capsys, out=out,
                   match="appears twice")


def test_model_config_with_bad_names_is_refused(files, capsys):
    model = files / "net"
    model.mkdir()
    (model / "model.eqx").write_bytes(b"\0" * 64)
    (model / "config.json").write_text(json.dumps({
        "model": {"model": "dae", "dim": 4}, "data_metadata": {"q_columns": ["q1"], "p_columns": [PAYLOADS[0]]}}))
    out = files / "out"
    assert_refused(conserve(files / "ok.npz", out, "lie", "--model", model), capsys, out=out,
                   marker=files / "PWNED", match="p_columns")
    (model / "config.json").write_text("[" * 100_000)
    assert_refused(conserve(files / "ok.npz", out, "lie", "--model", model), capsys, out=out, match="not valid JSON")


# --------------------------------------------------------------------------------------------
# 2. trajectory files


def _q(root):
    return np.load(root / "ok.npz")["q"]


NPZ_CASES = {
    "p shape": (lambda r: dict(p=_q(r)[:, :10]), "shapes do not match"),
    "t shape": (lambda r: dict(t=np.zeros((2, 20))), "shapes do not match"),
    "q rank": (lambda r: dict(q=_q(r)[..., 0]), "must be [trajectory, time, coordinate]"),
    "dq shape": (lambda r: dict(dq=_q(r)[:, :5]), "array 'dq' has shape"),
    "metadata not JSON": (lambda r: dict(metadata=np.array("{oops")), "metadata is not valid JSON"),
    "metadata list": (lambda r: dict(metadata=np.array("[1, 2]")), "must be a JSON object"),
    "metadata deep": (lambda r: dict(metadata=np.array("[" * 100_000 + "]" * 100_000)), "not valid JSON"),
    "NaN": (lambda r: dict(q=np.where(np.arange(20)[None, :, None] == 3, np.nan, _q(r))), "non-finite"),
    "inf": (lambda r: dict(t=np.full((4, 20), np.inf)), "non-finite"),
    "too many names": (lambda r: dict(coordinate_names=np.array(["q1", "p1", "r1"])), "3 coordinate names for 2"),
    "too few names": (lambda r: dict(coordinate_names=np.array(["q1"])), "1 coordinate names for 2"),
    "numeric names": (lambda r: dict(coordinate_names=np.array([1, 2])), "array of strings"),
    "object names": (lambda r: dict(coordinate_names=np.array(["q1", "p1"], dtype=object)), "Python objects"),
    "string q": (lambda r: dict(q=np.array([[["a"]]])), "expected real numbers"),
    "duplicate names": (lambda r: dict(coordinate_names=np.array(["q1", "q1"])), "appears twice"),
    "missing q": (lambda r: dict(q=None), "lacks the arrays ['q']"),
}


@pytest.mark.parametrize("case", list(NPZ_CASES))
def test_bad_npz_is_refused(files, capsys, case):
    change, match = NPZ_CASES[case]
    arrays = dict(np.load(files / "ok.npz"))
    arrays.update(change(files))
    bad = files / "bad.npz"
    np.savez(bad, **{k: v for k, v in arrays.items() if v is not None})
    out = files / "out"
    line = assert_refused(conserve(bad, out), capsys, out=out, match=match)
    assert "bad.npz" in line


def test_not_a_zip_is_refused(files, capsys):
    bad = files / "bad.npz"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert_refused(conserve(bad, files / "out"), capsys, out=files / "out", match="cannot read")


def _edit(lines, row, col, value):
    cells = lines[row].split(",")
    cells[col] = value
    return lines[:row] + [",".join(cells)] + lines[row + 1:]


CSV_CASES = {
    "header only": (lambda ls: ls[:1], "header but no data rows"),
    "empty": (lambda ls: [], "is empty"),
    "no header": (lambda ls: ls[1:], "no header line"),
    "non-numeric": (lambda ls: _edit(ls, 5, 2, "abc"), "line 6, column 3: non-numeric cell 'abc'"),
    "NaN": (lambda ls: _edit(ls, 7, 3, "nan"), "the first on line 8 (data row 7, column 4)"),
    "ragged": (lambda ls: ls[:5] + [ls[5] + ",1"] + ls[6:], "line 6: 5 columns"),
    "duplicate time": (lambda ls: ls[:-1] + [ls[-2]], "duplicate times at t="),
    "extra header name": (lambda ls: [ls[0] + ",z"] + ls[1:], "header names 5 columns"),
    "bad name": (lambda ls: ["trajectory,t,q1,print"] + ls[1:], "means something"),
    "script name": (lambda ls: ["trajectory,t,q1,p<script>alert(1)</script>"] + ls[1:], "not a plain name"),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_bad_csv_is_refused(files, capsys, case):
    change, match = CSV_CASES[case]
    bad = files / "bad.csv"
    bad.write_text("\n".join(change(csv_lines(files))) + "\n")
    out = files / "out"
    line = assert_refused(conserve(bad, out), capsys, out=out, match=match)
    assert "bad.csv" in line


def test_binary_csv_is_refused(files, capsys):
    bad = files / "bad.csv"
    bad.write_bytes(b"trajectory,t,q1,p1\n\xff\xfe\xfd,1,2,3\n")
    assert_refused(conserve(bad, files / "out"), capsys, out=files / "out", match="not UTF-8 text")
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert_refused(conserve(bad, files / "out"), capsys, out=files / "out", match="binary file")


def test_csv_with_a_byte_order_mark_is_read(files, capsys):
    from physlaw.io.trajectories import load_dataset

    bom = files / "bom.csv"
    bom.write_text("\ufeff" + (files / "ok.csv").read_text(), encoding="utf-8")
    ds = load_dataset(bom)
    assert ds.coordinate_names == ("q1", "p1") and ds.q.shape == (4, 20, 1)


def test_train_refuses_a_bad_file(files, capsys):
    bad = npz_with(files / "bad.npz", files / "ok.npz", coordinate_names=np.array(["q1", PAYLOADS[0]]))
    out = files / "net"
    assert_refused(["train", "hnn", str(bad), "--out", str(out), "--steps", "2"], capsys, out=out,
                   marker=files / "PWNED", match="is not a plain name")


# --------------------------------------------------------------------------------------------
# 3. tables and 4. prior TOML


def test_headerless_table_with_bom_keeps_every_row(tmp_path):
    from physlaw.io.tables import read_xy

    f = tmp_path / "bom.csv"
    f.write_text("\ufeff1,2.1\n2,3.9\n3,6.2\n4,8.1\n", encoding="utf-8")
    x, y, sigma = read_xy(f)
    np.testing.assert_array_equal(x, [1, 2, 3, 4])
    assert sigma is None


SPECTRUM = "".join(f"{x:.2f} {np.exp(-(x - 5) ** 2):.5f}\n" for x in np.linspace(0, 10, 30))

TOML_CASES = {
    "400-digit integer": ("[amplitude]\nshape = " + "9" * 400 + "\nrate = 1\n", "must be a finite number"),
    "5000-digit integer": ("[amplitude]\nshape = " + "9" * 5000 + "\nrate = 1\n", "not valid TOML"),
    "deep nesting": ("x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    "binary": (b"\x89PNG\r\n\x1a\n\xff\xfe", "not UTF-8 text"),
    "NUL bytes": (b"[amplitude]\x00\x00", "binary file"),
    "huge": (None, "is 1.14 MiB; physlaw reads a TOML file of prior tables of at most 1 MiB"),
}


@pytest.mark.parametrize("case", list(TOML_CASES))
def test_bad_prior_toml_is_refused(tmp_path, capsys, case):
    text, match = TOML_CASES[case]
    data = tmp_path / "spectrum.txt"
    data.write_text(SPECTRUM)
    prior = tmp_path / "bad.toml"
    if text is None:
        with open(prior, "w") as fh:
            fh.write("# padding\n" * 120_000)
    elif isinstance(text, bytes):
        prior.write_bytes(text)
    else:
        prior.write_text(text)
    out = tmp_path / "out"
    line = assert_refused(["spectrum", str(data), "--prior", str(prior), "--sigma", "0.1", "--out", str(out)],
                          capsys, out=out, match=match)
    assert "bad.toml" in line
