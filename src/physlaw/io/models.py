"""The user-model TOML file of ``physlaw fit --model MODEL.toml`` (format: ``MODEL_TOML_HELP``).

Read with ``tomllib`` (at most ``MAX_MODEL_BYTES``), every key checked, the formulas and priors
parsed (``physlaw.measure.formula``: never evaluated as Python) before any data are read; each
problem is one ``InputError`` line naming the file and the key.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from physlaw.errors import InputError

MAX_MODEL_BYTES = 1 << 20
"""Largest model TOML file read (1 MiB)."""

MODEL_TOML_HELP = """\
MODEL.toml (all keys but [component] optional):
  x = "t"                          # x column (header name or 1-based number); formulas may call it x
  y = "m"                          # y column
  order = "T"                      # components ordered by this parameter (default: the first)
  [component]                      # summed K times, each with its own parameters
  formula = "A * exp(-(x / T)**beta)"
  priors = { A = "uniform(0, 2)", T = "loguniform(1e-3, 1e3)", beta = "uniform(0.2, 1)" }
  [background]                     # shared by all components
  formula = "C"
  priors = { C = "normal(0, 1)" }
  [noise]
  sigma = "estimate"               # or a number, or the name of a sigma column
  # likelihood = "poisson"         # counts; "auto" (the default): Poisson for non-negative integers
Formulas: numbers, x, the parameter names, + - * / **, parentheses, exp log sqrt sin cos tan tanh erf abs, pi.
Priors: normal(mean, sd), uniform(low, high), loguniform(low, high), halfnormal(sd), gamma(shape, rate);
loguniform, halfnormal and gamma are sampled as the log of the (positive) parameter."""

_TOP = ("x", "y", "order", "component", "background", "noise")
_PART = ("formula", "priors")
_NOISE = ("sigma", "likelihood")


@dataclass(frozen=True)
class ModelFile:
    """A checked MODEL.toml.

    Attributes:
        x, y: the columns named (strings; numbers as their text) or None.
        component, background: formula strings (background None when absent).
        priors, background_priors: parameter -> prior specification string.
        order: the component parameter that labels the components, or None (the first).
        sigma: ``None`` (not given), ``"estimate"``, a positive number, or ``("column", NAME)``.
        likelihood: ``"auto"``, ``"gaussian"`` or ``"poisson"``.
        path: the file.
    """

    x: str | None
    y: str | None
    component: str
    priors: dict
    background: str | None = None
    background_priors: dict = field(default_factory=dict)
    order: str | None = None
    sigma: object = None
    likelihood: str = "auto"
    path: str = ""

    @property
    def sigma_column(self) -> str | None:
        return self.sigma[1] if isinstance(self.sigma, tuple) else None


def _shown(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else f"{text[:30]}… ({len(text)} characters)"


def _keys(table: dict, allowed, where: str, label: str):
    extra = [k for k in table if k not in allowed]
    if extra:
        raise InputError(f"{label}: unknown key {extra[0][:40]!r} in {where}; allowed: {', '.join(allowed)}")


def _column(v, key: str, label: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (str, int)) or isinstance(v, int) and not 1 <= v <= 10**9:
        raise InputError(f"{label}: {key} must be a column name (a string) or a 1-based column number, got {_shown(v)}")
    text = str(v).strip()
    if not text or len(text) > 200:
        raise InputError(f"{label}: {key} must be a non-empty column name of at most 200 characters")
    return text


def _part(doc: dict, name: str, label: str, required: bool):
    table = doc.get(name)
    if table is None:
        if required:
            raise InputError(f"{label}: no [{name}] table; it needs formula = \"...\" and priors = {{ ... }} "
                             "(see 'physlaw fit --help')")
        return None, {}
    if not isinstance(table, dict):
        raise InputError(f"{label}: {name} must be a table [{name}] with formula and priors, got {_shown(table)}")
    _keys(table, _PART, f"[{name}]", label)
    formula = table.get("formula")
    if not isinstance(formula, str):
        raise InputError(f"{label}: [{name}] needs formula = \"...\" (a string), got {_shown(formula)}")
    priors = table.get("priors", {})
    if not isinstance(priors, dict):
        raise InputError(f"{label}: [{name}] priors must be a table {{ NAME = \"normal(0, 1)\", ... }}, got {_shown(priors)}")
    for k, v in priors.items():
        if not isinstance(v, str):
            raise InputError(f"{label}: [{name}] prior of {k[:40]!r} must be a string such as \"normal(0, 1)\", "
                             f"got {_shown(v)}")
    if name == "component" and not priors:
        raise InputError(f"{label}: [component] needs priors for its parameters, e.g. "
                         "priors = { A = \"uniform(0, 2)\" }")
    return formula, dict(priors)


def load_model_toml(path) -> ModelFile:
    """Read and check a MODEL.toml (``MODEL_TOML_HELP``); the formulas and priors are parsed here.

    Raises:
        InputError: one line naming the file and the key at fault.
    """
    path = Path(path)
    label = f"--model {path}"
    from physlaw.io.tables import read_text   # NumPy: not needed for the --help text above

    text = read_text(path, what="model TOML file", label=label, max_bytes=MAX_MODEL_BYTES)
    try:
        doc = tomllib.loads(text)
    except RecursionError:
        raise InputError(f"{label}: nested too deeply to read") from None
    except ValueError as err:  # TOMLDecodeError, or an integer too long to convert
        raise InputError(f"{label}: not valid TOML ({' '.join(str(err).split())[:160]})") from None
    _keys(doc, _TOP, "the top level", label)
    x = _column(doc.get("x"), "x", label)
    y = _column(doc.get("y"), "y", label)
    order = doc.get("order")
    if order is not None and not isinstance(order, str):
        raise InputError(f"{label}: order must be the name of a component parameter, got {_shown(order)}")
    component, priors = _part(doc, "component", label, True)
    background, background_priors = _part(doc, "background", label, False)
    noise = doc.get("noise", {})
    if not isinstance(noise, dict):
        raise InputError(f"{label}: noise must be a table [noise] with sigma or likelihood, got {_shown(noise)}")
    _keys(noise, _NOISE, "[noise]", label)
    likelihood = noise.get("likelihood", "auto")
    if likelihood not in ("auto", "gaussian", "poisson"):
        raise InputError(f"{label}: [noise] likelihood must be \"auto\", \"gaussian\" or \"poisson\", got {_shown(likelihood)}")
    sigma = noise.get("sigma")
    if sigma is not None:
        if isinstance(sigma, bool):
            raise InputError(f"{label}: [noise] sigma must be \"estimate\", a positive number or a column name")
        if isinstance(sigma, (int, float)):
            try:
                s = float(sigma)
            except OverflowError:
                s = math.inf
            if not (math.isfinite(s) and 0 < s <= 1e100):
                raise InputError(f"{label}: [noise] sigma must be a positive finite number, got {_shown(sigma)}")
            sigma = s
        elif isinstance(sigma, str):
            sigma = "estimate" if sigma.strip() == "estimate" else ("column", _column(sigma, "[noise] sigma", label))
        else:
            raise InputError(f"{label}: [noise] sigma must be \"estimate\", a positive number or a column name, "
                             f"got {_shown(sigma)}")
        if likelihood == "poisson":
            raise InputError(f"{label}: [noise] gives both sigma and likelihood = \"poisson\"; a Poisson likelihood "
                             "has no sigma: keep one")
    model = ModelFile(x, y, component, priors, background, background_priors, order, sigma, likelihood, str(path))
    check_model(model, label)
    return model


def check_model(model: ModelFile, label: str = "the model") -> None:
    """Parse the formulas and priors (``measure.usermodel.build_model``), naming the file in the error."""
    from physlaw.measure.usermodel import build_model

    try:
        build_model(model.component, model.priors, background=model.background,
                    background_priors=model.background_priors, order=model.order, x_name=model.x or "x")
    except InputError as err:
        raise InputError(f"{label}: {err}") from None
