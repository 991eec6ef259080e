"""VAMAS (ISO 14976) files: the real Kratos file in ../shared, a tiny hand-written file, hostile variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from physlaw.errors import InputError
from physlaw.io.vamas import read_vamas, vamas_region

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "xps" / "survey_0-150W.vms"


def vamas_text(blocks, *, scan_mode="REGULAR", num_blocks=None, lead="") -> str:
    """A minimal NORM-mode VAMAS file; ``blocks`` are (name, species, transition, ke_start, step, counts)."""
    lines = [lead + "VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4",
             "Test lab", "Hand-written", "pytest", "synthetic", "1", "a comment line", "NORM", scan_mode, "1",
             "0", "0", "0", "0", "0", str(len(blocks) if num_blocks is None else num_blocks)]
    for name, species, transition, start, step, counts in blocks:
        lines += [name, "sample", "2026", "11", "29", "12", "0", "0", "0", "0", "XPS", "Al", "1486.6", "100",
                  "1E+37", "1E+37", "0", "0", "FAT", "20", "1E+37", "4.5", "0", "1E+37", "1E+37", "0", "0",
                  species, transition, "-1", "Kinetic energy", "eV", str(start), str(step), "1", "Intensity", "d",
                  "pulse counting", "0.1", "1", "0", "0", "0", "0", "0", str(len(counts)),
                  str(min(counts)), str(max(counts)), *[str(c) for c in counts]]
    return "\n".join(lines) + "\nend of experiment\n"


@pytest.fixture
def tiny(tmp_path):
    counts_c = [10, 12, 30, 80, 31, 12, 11]
    counts_o = [5, 6, 7, 9, 7, 6, 5, 4]
    f = tmp_path / "tiny.vms"
    f.write_text(vamas_text([("C 1s", "C", "1s", 1196.6, 0.5, counts_c), ("O 1s", "O", "1s", 950.0, 1.0, counts_o)]))
    return f, counts_c, counts_o


def test_tiny_file_reads_both_regions_with_binding_energy(tiny):
    f, counts_c, counts_o = tiny
    regions = read_vamas(f)
    assert [r.name for r in regions] == ["C 1s", "O 1s"]
    c = vamas_region(f, "c1s")  # spaces and case ignored
    np.testing.assert_allclose(c.x, 1486.6 - (1196.6 + 0.5 * np.arange(7)))  # BE = hν − KE, decreasing
    assert np.all(np.diff(c.x) < 0) and c.binding_energy
    np.testing.assert_array_equal(c.y, counts_c)
    assert vamas_region(f, "2").name == "O 1s"
    np.testing.assert_array_equal(vamas_region(f, "O 1s").y, counts_o)


def test_region_missing_or_not_chosen_lists_the_regions(tiny):
    f, *_ = tiny
    with pytest.raises(InputError, match=r"holds 2 regions.*1: 'C 1s', 2: 'O 1s'"):
        vamas_region(f, None)
    with pytest.raises(InputError, match=r"no region 'N 1s'.*'C 1s'.*'O 1s'"):
        vamas_region(f, "N 1s")


def test_duplicate_region_names_are_ambiguous(tmp_path):
    f = tmp_path / "dup.vms"
    f.write_text(vamas_text([("C 1s", "C", "1s", 1196.6, 0.5, [1, 2, 3]), ("C 1s", "C", "1s", 1196.6, 0.5, [4, 5, 6])]))
    with pytest.raises(InputError, match="2 regions are called 'C 1s'.*--region 1"):
        vamas_region(f, "C 1s")


@pytest.mark.parametrize("mutate, match", [
    (lambda t: t[: len(t) // 2], "ends early"),                                    # truncated
    (lambda t: t.replace("\n7\n10\n80\n", "\n9\n10\n80\n", 1), "ends early|damaged|number"),  # wrong count
    (lambda t: t.replace("\n7\n10\n80\n", "\n" + "9" * 5000 + "\n10\n80\n", 1), "number"),  # huge count
    (lambda t: t.replace("1196.6", "1e999", 1), "axis|damaged"),                   # inf axis start
    (lambda t: t.replace("\n30\n", "\nnan\n", 1), "nan or inf"),                   # nan value
    (lambda t: t.replace("REGULAR", "IRREGULAR", 1), "REGULAR"),                   # unsupported scan
    (lambda t: t.replace("VAMAS Surface", "VAMAS Surfaces", 1), "not a VAMAS file"),
    (lambda t: t.replace("\n2\nC 1s", "\n3\nC 1s", 1), "ends early"),            # more blocks than written
])
def test_hostile_vamas_content_is_one_input_error(tiny, mutate, match):
    f, *_ = tiny
    f.write_text(mutate(f.read_text()))
    with pytest.raises(InputError, match=match) as info:
        read_vamas(f)
    assert "\n" not in str(info.value)


def test_binary_file_with_vms_suffix_is_refused(tmp_path):
    f = tmp_path / "b.vms"
    f.write_bytes(b"\x00\x01\x02" * 10)
    with pytest.raises(InputError, match="binary"):
        read_vamas(f)


@pytest.mark.skipif(not REAL.exists(), reason="needs ../shared/data/real (the real XPS file)")
def test_real_kratos_file_c1s_region():
    regions = read_vamas(REAL)
    assert [r.name for r in regions] == ["wide", "Ni 2p", "O 1s", "C 1s", "W 4f"]
    c = vamas_region(REAL, "C 1s")
    assert c.x.size == 301 and c.binding_energy and c.excitation_energy == pytest.approx(1486.69)
    assert c.x[0] == pytest.approx(300.0) and c.x[-1] == pytest.approx(270.0)  # decreasing binding energy
    assert np.all(c.y >= 0) and np.all(c.y == np.round(c.y))  # raw counts
    assert 280 < c.x[np.argmax(c.y)] < 290  # the C 1s line
    o = vamas_region(REAL, "O1s")
    assert 525 < o.x[np.argmax(o.y)] < 535


def test_omitted_block_fields_are_refused_in_one_line(tiny):
    """A file that leaves out fields of later blocks (inclusion list) trips the package; one line, not a KeyError."""
    f, *_ = tiny
    text = f.read_text().replace("REGULAR\n1\n0\n0\n", "REGULAR\n1\n0\n-1\n2\n", 1)
    text = text.replace("O 1s\nsample\n2026\n11\n29\n12\n", "O 1s\nsample\n2026\n11\n29\n", 1)
    f.write_text(text)
    try:
        regions = read_vamas(f)
    except InputError as err:
        assert "\n" not in str(err) and "VAMAS" in str(err)
    else:  # a package version that handles the inclusion list reads the hour from block 1
        assert [r.name for r in regions] == ["C 1s", "O 1s"]
