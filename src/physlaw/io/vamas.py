"""VAMAS (ISO 14976) ``.vms`` files, the exchange format of XPS/AES instruments, read with the ``vamas`` package.

A VAMAS file holds several *blocks* (regions): e.g. a wide survey and the ``C 1s``, ``O 1s`` ... narrow
scans, each with its own regular energy axis (``x_start + i × x_step``) and one or more recorded
variables. physlaw takes one block (``--region NAME``) and its first recorded variable (the counts).

Energy axis: when a block's axis is the *kinetic* energy and its excitation energy hν is recorded
(e.g. 1486.69 eV for Al Kα), x is the **binding energy** ``BE = hν − KE`` (the kinetic energies
written by instruments such as Kratos and read by CasaXPS are already referred to the Fermi level,
so the spectrometer work function in the block is not subtracted again). The points keep the
file's order, so BE decreases along the file; nothing is sorted. Otherwise x is the axis as written.

Every problem (not VAMAS, truncated, a count that does not match the values, non-numeric or
non-finite fields, a non-REGULAR scan) is one ``InputError`` line.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physlaw.errors import InputError
from physlaw.io.tables import read_file

IDENTIFIER = "VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4"
MAX_VAMAS_BYTES = 256 << 20
"""Largest VAMAS file read (256 MiB; the parser keeps every value as a Python float)."""
UNKNOWN = 1e36
"""VAMAS writes 1E+37 for a number that is not known; anything this large is treated as unknown."""


@dataclass(frozen=True)
class VamasRegion:
    """One block of a VAMAS file, ready to fit.

    Attributes:
        index: 1-based position of the block in the file.
        name: the block identifier (e.g. ``"C 1s"``); ``label`` the species and transition.
        x, y: [n] the axis (binding energy when converted, see ``binding_energy``) and the first
            recorded variable, in the file's order.
        x_name, y_name: descriptions with units, e.g. ``"binding energy (eV)"``, ``"Intensity (d)"``.
        binding_energy: True when x was converted from kinetic to binding energy.
        excitation_energy: hν in eV, or None when not recorded.
        note: one sentence on how x was obtained.
    """

    index: int
    name: str
    label: str
    x: np.ndarray
    y: np.ndarray
    x_name: str
    y_name: str
    binding_energy: bool
    excitation_energy: float | None
    note: str


def is_vamas(path) -> bool:
    """True when ``path`` ends in ``.vms`` or its first non-blank line is the VAMAS identifier."""
    path = Path(path)
    if path.suffix.lower() == ".vms":
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf\r\n \t").startswith(IDENTIFIER.encode())


def read_vamas(path) -> list[VamasRegion]:
    """Every block of a VAMAS file as a :class:`VamasRegion` (see the module docstring)."""
    from vamas import Vamas

    path = Path(path)
    try:
        data, text = read_file(path, what="VAMAS (.vms) file", max_bytes=MAX_VAMAS_BYTES)
    except InputError as err:
        if "not UTF-8" not in str(err):
            raise
        text = path.read_bytes().decode("latin-1")  # older instruments write Latin-1 comments
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\n \t")
    if not text.startswith(IDENTIFIER):
        first = text.split("\n", 1)[0][:60]
        raise InputError(f"{path}: not a VAMAS file (its first line is {first!r}, expected {IDENTIFIER!r}); "
                         "give a .vms file written by the instrument, or a table of x, y columns")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the parser prints notes on unsupported entries
            parsed = Vamas(text.encode("utf-8"))
    except StopIteration:
        raise InputError(f"{path}: the VAMAS file ends early: it is truncated, or one of its counts (comment "
                         "lines, blocks, variables, values) is larger than what follows") from None
    except (ValueError, OverflowError) as err:
        raise InputError(f"{path}: a VAMAS field that should be a number is not ({_short(err)}); the file is "
                         "damaged or one of its counts is wrong") from None
    except (KeyError, IndexError, ZeroDivisionError, AssertionError, TypeError, AttributeError) as err:
        raise InputError(f"{path}: cannot read this VAMAS file ({type(err).__name__}: {_short(err)}); it uses "
                         "an unsupported layout (e.g. omitted block fields) or is damaged") from None
    except Exception as err:  # noqa: BLE001 — the package's own errors (identifier, extension)
        raise InputError(f"{path}: not a readable VAMAS file ({_short(err)})") from None
    header = parsed.header
    if header.scan_mode != "REGULAR":
        raise InputError(f"{path}: scan mode {header.scan_mode[:30]!r}; physlaw reads REGULAR VAMAS scans "
                         "(an evenly spaced axis) only")
    if not parsed.blocks:
        raise InputError(f"{path}: the VAMAS file has no blocks (regions)")
    return [_region(path, i, b) for i, b in enumerate(parsed.blocks, start=1)]


def _short(err) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _known(value) -> float | None:
    v = float(value)
    return v if math.isfinite(v) and abs(v) < UNKNOWN else None


def _region(path: Path, index: int, b) -> VamasRegion:
    name = b.block_identifier or f"block {index}"
    label = " ".join(s for s in (b.species_label, b.transition_or_charge_state_label) if s).strip()
    where = f"{path}, block {index} ({name!r})"
    variables = b.corresponding_variables
    if not variables:
        raise InputError(f"{where}: records no variable (no counts)")
    y = np.asarray(variables[0].y_values, dtype=np.float64)
    expected = b.num_y_values / len(variables)
    if y.size == 0 or y.size != expected:
        raise InputError(f"{where}: says {b.num_y_values} values for {len(variables)} variable(s) but holds "
                         f"{y.size} per variable; the file is damaged")
    if not np.all(np.isfinite(y)):
        raise InputError(f"{where}: the values include nan or inf; the file is damaged")
    start, step = _known(b.x_start), _known(b.x_step)
    if start is None or step is None or step == 0:
        raise InputError(f"{where}: the energy axis (start {b.x_start}, step {b.x_step}) is not a finite, "
                         "non-zero step; the file is damaged")
    x = start + step * np.arange(y.size, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise InputError(f"{where}: the energy axis overflows; the file is damaged")
    units = b.x_units or ""
    h_nu = _known(b.analysis_source_characteristic_energy)
    axis = (b.x_label or "x").strip()
    binding = False
    if axis.lower().startswith("kinetic") and h_nu is not None and h_nu > 0:
        x = h_nu - x
        binding = True
        x_name = f"binding energy ({units or 'eV'})"
        note = (f"binding energy = excitation energy {h_nu:g} eV ({b.analysis_source_label or 'source'}) "
                "minus the recorded kinetic energy")
    elif axis.lower().startswith("kinetic"):
        x_name = f"kinetic energy ({units})" if units else "kinetic energy"
        note = "kinetic energy as recorded (the excitation energy is not in the file, so no binding energy)"
    else:
        x_name = f"{axis} ({units})" if units else axis
        note = f"x is the recorded axis, {axis!r}"
    y_name = variables[0].label or "counts"
    if variables[0].unit and variables[0].unit != "d":  # VAMAS writes "d" for dimensionless (counts)
        y_name += f" ({variables[0].unit})"
    return VamasRegion(index, name, label, x, y, x_name, y_name, binding, h_nu, note)


def _key(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def region_names(regions: list[VamasRegion]) -> str:
    """``1: 'wide', 2: 'Ni 2p', ...`` for messages."""
    shown = ", ".join(f"{r.index}: {r.name!r}" for r in regions[:30])
    return shown + (f", ... ({len(regions)} in all)" if len(regions) > 30 else "")


def vamas_region(path, region: str | None) -> VamasRegion:
    """The block of ``path`` called ``region``: its identifier or its species and transition (spaces and
    case ignored, so ``C1s`` finds ``C 1s``), or its 1-based number; the only block when None.

    Raises:
        InputError: no such block, several blocks with that name, or several blocks and no name; the
            message lists the blocks.
    """
    regions = read_vamas(path)
    if region is None:
        if len(regions) == 1:
            return regions[0]
        raise InputError(f"{path} holds {len(regions)} regions; choose one with --region NAME "
                         f"({region_names(regions)})")
    key = _key(str(region))
    found = [r for r in regions if _key(r.name) == key] or [r for r in regions if r.label and _key(r.label) == key]
    if not found and key.isdigit() and 1 <= int(key) <= len(regions):
        found = [regions[int(key) - 1]]
    if not found:
        raise InputError(f"{path}: no region {str(region)[:40]!r}; the regions are {region_names(regions)}")
    if len(found) > 1:
        raise InputError(f"{path}: {len(found)} regions are called {str(region)[:40]!r} "
                         f"({', '.join(str(r.index) for r in found)}); choose one by number, e.g. "
                         f"--region {found[0].index}")
    return found[0]
