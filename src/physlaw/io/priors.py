"""The prior-override TOML file of ``physlaw spectrum --prior`` (format: ``PRIOR_TOML_HELP``)."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

from physlaw.errors import InputError
from physlaw.io.tables import read_text
from physlaw.measure.spectrum_options import PRIOR_TOML_BOUNDS, PRIOR_TOML_KEYS

MAX_PRIOR_BYTES = 1 << 20
"""Largest prior TOML file read (1 MiB; a prior file is a few lines)."""


def load_prior_toml(path) -> dict:
    """Read a prior-override TOML file: ``{name: (p1, p2)}`` in data units (see ``PRIOR_TOML_HELP``)."""
    path = Path(path)
    text = read_text(path, what="TOML file of prior tables", label=f"--prior {path}", max_bytes=MAX_PRIOR_BYTES)
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        raise InputError(f"--prior {path}: nested too deeply to read; a prior file holds one level of "
                         "[name] tables") from None
    except ValueError as err:  # TOMLDecodeError, or an integer too long to convert
        raise InputError(f"--prior {path}: not valid TOML ({str(err)[:160]})") from None
    out = {}
    for name, table in doc.items():
        if name not in PRIOR_TOML_KEYS:
            raise InputError(f"{path}: unknown prior [{name}]; known: {', '.join(PRIOR_TOML_KEYS)}")
        _, dist, keys = PRIOR_TOML_KEYS[name]
        if not isinstance(table, dict) or set(table) != set(keys):
            raise InputError(f"{path}: [{name}] needs exactly {' and '.join(keys)} ({dist} distribution)")
        vals = []
        for k in keys:
            v = table[k]
            try:
                x = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
            except OverflowError:
                x = math.inf
            if not math.isfinite(x):
                shown = repr(v) if len(repr(v)) <= 40 else f"{repr(v)[:20]}… ({len(repr(v))} characters)"
                raise InputError(f"{path}: [{name}] {k} must be a finite number, got {shown}")
            vals.append(x)
        if dist in ("gamma",) and min(vals) <= 0 or dist == "normal" and vals[1] <= 0:
            raise InputError(f"{path}: [{name}] {keys[1] if dist == 'normal' else 'shape and rate'} must be positive")
        if dist == "uniform" and vals[1] <= vals[0]:
            raise InputError(f"{path}: [{name}] needs low < high, got {vals[0]} and {vals[1]}")
        lo, hi = PRIOR_TOML_BOUNDS.get(name, (-math.inf, math.inf))
        if vals[0] < lo or vals[1] > hi:
            raise InputError(f"{path}: [{name}] must stay within {lo:g} .. {hi:g}, got {vals[0]:g} .. {vals[1]:g}")
        out[name] = tuple(vals)
    return out
