"""Reading NIST Statistical Reference Datasets (StRD) files: data and certified values.

NIST's StRD (https://www.itl.nist.gov/div898/strd/) publishes regression problems with certified
answers, in a fixed text layout: a header naming the dataset and the line spans of each block, the
certified parameters with their standard deviations, the certified residual sum of squares and
residual standard deviation, and a ``Data:`` block of rows ``y x`` (response first). Two layouts
exist and both are read:

* nonlinear (``nls``) files, e.g. Gauss1, Misra1a, Lanczos1: parameter rows
  ``b1 = start1 start2 certified sd``; ``Residual Sum of Squares:`` and ``Residual Standard
  Deviation:`` lines;
* linear (``lls``) files, e.g. Pontius: parameter rows ``B0 certified sd``; a ``Residual`` /
  ``Standard Deviation`` pair of lines.

``read_nist(path)`` returns ``(x, y, certified)`` with ``certified`` a dict:
``{"name", "parameters": {name: value}, "standard_deviations": {name: sd},
"residual_sd", "residual_sum_of_squares" (None where the file has none), "model"}``.
A file that is not a StRD file is refused with one ``InputError`` line. The test fixtures in
``tests/fixtures/nist/`` are such files (see their README for provenance).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from physlaw.errors import InputError
from physlaw.io.tables import read_text

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][-+]?\d+)?"
_NLS_PARAM = re.compile(rf"^\s*(b\d+)\s*=\s*({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})\s*$")
_LLS_PARAM = re.compile(rf"^\s*(B\d+)\s+({_NUM})\s+({_NUM})\s*$")
_ROW = re.compile(rf"^\s*({_NUM})\s+({_NUM})\s*$")


def _num(text: str) -> float:
    return float(text.replace("D", "E").replace("d", "e"))


def read_nist(path: str | Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(x, y, certified)`` of a NIST StRD regression file (one predictor); see the module docstring."""
    label = str(path)
    text = read_text(path, what="NIST StRD file", max_bytes=1 << 22)
    lines = text.splitlines()
    if not lines or "NIST/ITL StRD" not in lines[0]:
        raise InputError(f"{label}: not a NIST StRD file (its first line is not 'NIST/ITL StRD'); "
                         "give a .dat file from https://www.itl.nist.gov/div898/strd/")
    name = None
    for line in lines[:5]:
        m = re.match(r"\s*Dataset Name:\s*(\S+)", line)
        if m:
            name = m.group(1)
    data_at = next((i for i, line in enumerate(lines) if re.match(r"\s*Data:\s+y\b", line)), None)
    if name is None or data_at is None:
        raise InputError(f"{label}: a NIST StRD file needs a 'Dataset Name:' line and a 'Data:   y   x' "
                         "block; this one lacks it (was it cut or edited?)")
    params: dict[str, float] = {}
    sds: dict[str, float] = {}
    rss = rsd = None
    model = None
    for i, line in enumerate(lines[:data_at]):
        m = _NLS_PARAM.match(line) or _LLS_PARAM.match(line)
        if m:
            key = m.group(1)
            params[key] = _num(m.group(m.lastindex - 1))
            sds[key] = _num(m.group(m.lastindex))
            continue
        m = re.match(rf"\s*Residual Sum of Squares:\s*({_NUM})", line)
        if m:
            rss = _num(m.group(1))
        m = re.match(rf"\s*Residual Standard Deviation:\s*({_NUM})", line)
        if m:
            rsd = _num(m.group(1))
        m = re.match(rf"\s*Standard Deviation\s+({_NUM})\s*$", line)
        if m and i > 0 and lines[i - 1].strip() == "Residual":
            rsd = _num(m.group(1))
        m = re.match(r"\s*y\s*=\s*(.+)$", line)
        if m and model is None:
            model = m.group(1).strip()
            nxt = lines[i + 1].strip() if i + 1 < data_at else ""
            if nxt.startswith("+"):
                model = f"{model} {nxt}"
    if not params or rsd is None:
        raise InputError(f"{label}: no certified parameters or residual standard deviation found before "
                         "the data block; give an unedited NIST StRD file")
    xs, ys = [], []
    for k, line in enumerate(lines[data_at + 1:], start=data_at + 2):
        if not line.strip():
            continue
        m = _ROW.match(line)
        if not m:
            raise InputError(f"{label}, line {k}: expected two numbers 'y x' in the data block, got "
                             f"{line.strip()[:40]!r}; give an unedited one-predictor NIST StRD file")
        ys.append(_num(m.group(1)))
        xs.append(_num(m.group(2)))
    if len(xs) < 2:
        raise InputError(f"{label}: the data block has {len(xs)} rows; a NIST StRD file has at least 2")
    certified = {"name": name, "parameters": params, "standard_deviations": sds, "residual_sd": rsd,
                 "residual_sum_of_squares": rss, "model": model}
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), certified
