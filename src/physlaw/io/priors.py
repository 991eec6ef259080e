"""The prior-override TOML file of ``physlaw spectrum --prior`` (format: ``PRIOR_TOML_HELP``)."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

from physlaw.errors import InputError
from physlaw.measure.spectrum import PRIOR_TOML_KEYS


def load_prior_toml(path) -> dict:
    """Read a prior-override TOML file: ``{name: (p1, p2)}`` in data units (see ``PRIOR_TOML_HELP``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--prior {path}: no such file; give a TOML file of prior tables")
    try:
        doc = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid TOML ({err})") from None
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
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise InputError(f"{path}: [{name}] {k} must be a finite number, got {v!r}")
            vals.append(float(v))
        if dist in ("gamma",) and min(vals) <= 0 or dist == "normal" and vals[1] <= 0:
            raise InputError(f"{path}: [{name}] {keys[1] if dist == 'normal' else 'shape and rate'} must be positive")
        if dist == "uniform" and vals[1] <= vals[0]:
            raise InputError(f"{path}: [{name}] needs low < high, got {vals[0]} and {vals[1]}")
        out[name] = tuple(vals)
    return out
