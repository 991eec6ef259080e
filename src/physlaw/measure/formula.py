"""User formulas and prior specifications, parsed without ``eval``.

A formula is a string such as ``"A * exp(-(x / T)**beta)"``. It is read by a tokenizer and a
recursive-descent parser into a small tree, and the tree is turned into nested Python closures
that call ``jax.numpy``; no Python source is ever built or evaluated (no ``eval``, ``exec``,
``compile``, ``sympify`` or ``parse_expr``).

Grammar (usual precedence; ``**`` binds tighter than unary minus and is right-associative,
so ``-x**2 = -(x**2)`` and ``2**-1 = 0.5``)::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("-" | "+") unary | power
    power  := atom ("**" unary)?
    atom   := NUMBER | NAME | FUNCTION "(" expr ")" | "(" expr ")"

Allowed: decimal numbers (``2``, ``0.5``, ``1e-3``; finite), the declared variable (the column,
e.g. ``x``) and parameter names, the constant ``pi``, ``+ - * / **`` (the Unicode minus ``−`` is
read as ``-``), parentheses and the one-argument functions in ``FUNCTIONS``. Anything else (an
attribute dot, a name starting with ``_`` or holding ``__``, an unknown name, a string, brackets, a
comma outside a call, more than ``MAX_FORMULA_CHARS`` characters or nesting deeper than
``MAX_DEPTH``) raises ``InputError`` naming the offending token and its 1-based position.

Prior specifications (``"normal(0, 1)"``, ``"uniform(0, 2)"``, ``"loguniform(1e-3, 1e3)"``,
``"halfnormal(1)"``, ``"gamma(2, 1)"``) use the same tokenizer; see :func:`parse_prior`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import jax.numpy as jnp
import jax.scipy.special as jsp

from physlaw.errors import InputError
from physlaw.priors import LogGamma, LogHalfNormal, LogUniform, Normal, Uniform

MAX_FORMULA_CHARS = 2000
"""Longest formula (or prior specification) read, in characters."""
MAX_DEPTH = 50
"""Deepest nesting of parentheses, calls, signs and powers in a formula."""

FUNCTIONS: dict[str, Callable] = {
    "exp": jnp.exp, "log": jnp.log, "sqrt": jnp.sqrt, "sin": jnp.sin, "cos": jnp.cos, "tan": jnp.tan,
    "tanh": jnp.tanh, "erf": jsp.erf, "abs": jnp.abs,
}
"""The whitelisted one-argument functions, each a ``jax.numpy`` (or ``jax.scipy``) function."""
CONSTANTS = {"pi": math.pi}

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/(),\u2212])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    pos: int  # 0-based character offset


def _show(text: str) -> str:
    return repr(text) if len(text) <= 30 else repr(text[:27] + "...")


def tokenize(text: str, *, what: str = "formula") -> list[Token]:
    """The tokens of ``text``; an ``InputError`` names the first character that is not allowed."""
    if not isinstance(text, str):
        raise InputError(f"the {what} must be a string, got {type(text).__name__}")
    if len(text) > MAX_FORMULA_CHARS:
        raise InputError(f"the {what} is {len(text)} characters long; at most {MAX_FORMULA_CHARS} are read")
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            hint = {".": " (attribute access is not allowed)", "'": " (strings are not allowed)",
                    '"': " (strings are not allowed)", "[": " (brackets are not allowed)",
                    "]": " (brackets are not allowed)", "^": " (write powers as **)"}.get(ch, "")
            raise InputError(f"{what} {_show(text)}: character {ch!r} at position {pos + 1} is not allowed{hint}; "
                             "use numbers, names, + - * / **, parentheses and " + ", ".join(FUNCTIONS))
        kind = m.lastgroup
        if kind != "space":
            tok = m.group()
            if kind == "op" and tok == "\u2212":
                tok = "-"
            if kind == "name" and (tok.startswith("_") or "__" in tok):
                raise InputError(f"{what} {_show(text)}: name {tok!r} at position {pos + 1} is not allowed "
                                 "(names may not start with '_' or contain '__')")
            if kind == "number" and m.end() < len(text) and (text[m.end()].isalpha() or text[m.end()] in "_."):
                bad = re.match(r"[\w.]+", text[pos:]).group()
                raise InputError(f"{what} {_show(text)}: {bad!r} at position {pos + 1} is not a number or a name")
            tokens.append(Token(kind, tok, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# ----------------------------------------------------------------------------------------------
# Parser: a tree of tuples ("num", v) | ("name", s) | ("neg", a) | ("call", f, a) | ("bin", "**", a, b)
# | ("add", ((op, a), ...)) | ("mul", ((op, a), ...))


class _Parser:
    def __init__(self, text: str, names: set[str], what: str):
        self.text, self.names, self.what = text, names, what
        self.tokens = tokenize(text, what=what)
        self.i = 0
        self.depth = 0
        self.used: set[str] = set()

    def error(self, tok: Token, why: str) -> InputError:
        shown = "the end" if tok.kind == "end" else f"{tok.text!r} at position {tok.pos + 1}"
        return InputError(f"{self.what} {_show(self.text)}: {shown}: {why}")

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(self.tok, f"nested more than {MAX_DEPTH} levels deep; simplify the formula")

    def parse(self):
        if self.tok.kind == "end":
            raise InputError(f"the {self.what} is empty; write an expression such as 'A * exp(-x / T)'")
        node = self.expr()
        if self.tok.kind != "end":
            why = ("a comma is only allowed between a function's parentheses" if self.tok.text == ","
                   else "unexpected here; expected an operator (+ - * / **) or the end")
            raise self.error(self.tok, why)
        return node

    # sums and products are n-ary nodes, so a long chain (1+1+...+1) is a flat list, not a deep tree
    def expr(self):
        items = [("+", self.term())]
        while self.tok.text in ("+", "-") and self.tok.kind == "op":
            op = self.take().text
            items.append((op, self.term()))
        return items[0][1] if len(items) == 1 else ("add", tuple(items))

    def term(self):
        items = [("*", self.unary())]
        while self.tok.text in ("*", "/") and self.tok.kind == "op":
            op = self.take().text
            items.append((op, self.unary()))
        return items[0][1] if len(items) == 1 else ("mul", tuple(items))

    def unary(self):
        if self.tok.kind == "op" and self.tok.text in ("-", "+"):
            op = self.take().text
            self.enter()
            inner = self.unary()
            self.depth -= 1
            return ("neg", inner) if op == "-" else inner
        return self.power()

    def power(self):
        base = self.atom()
        if self.tok.kind == "op" and self.tok.text == "**":
            self.take()
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            return ("bin", "**", base, exponent)
        return base

    def atom(self):
        tok = self.take()
        if tok.kind == "number":
            value = float(tok.text)
            if not math.isfinite(value):
                raise self.error(tok, "is not a finite number")
            return ("num", value)
        if tok.kind == "name":
            if tok.text in FUNCTIONS:
                if self.tok.text != "(":
                    raise self.error(tok, f"the function {tok.text} needs its argument in parentheses, "
                                          f"e.g. {tok.text}(x)")
                self.take()
                self.enter()
                arg = self.expr()
                self.depth -= 1
                if self.tok.text == ",":
                    raise self.error(self.tok, f"{tok.text} takes one argument")
                self.close(tok)
                return ("call", tok.text, arg)
            if tok.text in self.names:
                self.used.add(tok.text)
                return ("name", tok.text)
            if tok.text in CONSTANTS:
                return ("num", CONSTANTS[tok.text])
            known = sorted(self.names) + list(FUNCTIONS) + list(CONSTANTS)
            raise self.error(tok, f"unknown name; known names: {', '.join(known)}")
        if tok.text == "(":
            self.enter()
            node = self.expr()
            self.depth -= 1
            self.close(tok)
            return node
        if tok.kind == "end":
            raise self.error(tok, "the formula ends where a number, name or '(' is expected")
        raise self.error(tok, "unexpected here; expected a number, a name, a function or '('")

    def close(self, opener: Token):
        if self.tok.text != ")":
            raise self.error(self.tok, f"expected ')' to close the '(' at position {opener.pos + 1}")
        self.take()


def _compile(node) -> Callable[[dict], object]:
    """Nested closures ``env -> value`` for the tree (``env`` maps names to arrays)."""
    kind = node[0]
    if kind == "num":
        value = node[1]
        return lambda env: value
    if kind == "name":
        name = node[1]
        return lambda env: env[name]
    if kind == "neg":
        inner = _compile(node[1])
        return lambda env: -inner(env)
    if kind == "call":
        fn, arg = FUNCTIONS[node[1]], _compile(node[2])
        return lambda env: fn(arg(env))
    if kind in ("add", "mul"):
        parts = [(op, _compile(n)) for op, n in node[1]]

        def chain(env):
            value = parts[0][1](env)
            for op, part in parts[1:]:
                v = part(env)
                value = value + v if op == "+" else value - v if op == "-" else value * v if op == "*" else value / v
            return value

        return chain
    a, b = _compile(node[2]), _compile(node[3])  # ("bin", "**", base, exponent)
    return lambda env: jnp.power(a(env), b(env))


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its text, the variables and parameters it uses, and its JAX function."""

    text: str
    variables: tuple[str, ...]
    parameters: tuple[str, ...]
    used: frozenset
    _fn: Callable

    def __call__(self, x, params: dict):
        """The formula's value with variable(s) ``x`` (an array, or a dict name -> array when there
        are several variables) and ``params`` (name -> array); broadcasting as in ``jax.numpy``."""
        env = dict(params)
        if isinstance(x, dict):
            env.update(x)
        else:
            env[self.variables[0]] = x
        return self._fn(env)


def parse_formula(text: str, *, variables=("x",), parameters=(), what: str = "formula") -> Formula:
    """Parse ``text`` into a :class:`Formula` over the given variable and parameter names.

    Raises:
        InputError: a token that is not allowed, an unknown name, bad syntax, too long or too deep.
    """
    variables, parameters = tuple(variables), tuple(parameters)
    for name in variables + parameters:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name or "") or "__" in name or name in FUNCTIONS:
            raise InputError(f"{name!r} cannot be a variable or parameter name in a formula: use letters, digits "
                             f"and single underscores, starting with a letter, and not a function name "
                             f"({', '.join(FUNCTIONS)})")
    clash = set(variables) & set(parameters)
    if clash:
        raise InputError(f"{', '.join(sorted(clash))} is both a column and a parameter name; rename the parameter")
    parser = _Parser(text, set(variables) | set(parameters), what)
    tree = parser.parse()
    return Formula(text, variables, parameters, frozenset(parser.used), _compile(tree))


# ----------------------------------------------------------------------------------------------
# Prior specifications

PRIOR_KINDS = {
    "normal": (("mean", "sd"), "normal(mean, sd): a Gaussian on the value"),
    "uniform": (("low", "high"), "uniform(low, high): flat between low and high"),
    "loguniform": (("low", "high"), "loguniform(low, high): flat in log between 0 < low < high (sampled as the log)"),
    "halfnormal": (("sd",), "halfnormal(sd): positive, |Normal(0, sd)| (sampled as the log)"),
    "gamma": (("shape", "rate"), "gamma(shape, rate): positive, mean shape/rate (sampled as the log)"),
}
PRIOR_HELP = "; ".join(v[1] for v in PRIOR_KINDS.values())


@dataclass(frozen=True)
class PriorSpec:
    """A parsed prior: its kind and numbers; :meth:`distribution` builds the ``physlaw.priors`` object.

    ``log_scale`` says whether the sampler works on the log of the parameter (loguniform, halfnormal,
    gamma: positive parameters); the formula then receives ``exp`` of the sampled coordinate.
    """

    kind: str
    args: tuple[float, ...]
    text: str

    @property
    def log_scale(self) -> bool:
        return self.kind in ("loguniform", "halfnormal", "gamma")

    def distribution(self, shape: tuple[int, ...] = ()):
        a = self.args
        if self.kind == "normal":
            return Normal(a[0], a[1], shape=shape)
        if self.kind == "uniform":
            return Uniform(a[0], a[1], shape=shape)
        if self.kind == "loguniform":
            return LogUniform(a[0], a[1], shape=shape)
        if self.kind == "halfnormal":
            return LogHalfNormal(a[0], shape=shape)
        return LogGamma(a[0], a[1], shape=shape)

    def support(self) -> tuple[float, float]:
        """The values the parameter can take (for checks and messages)."""
        if self.kind == "uniform":
            return self.args
        if self.kind == "loguniform":
            return self.args
        if self.kind == "normal":
            return (-math.inf, math.inf)
        return (0.0, math.inf)


def parse_prior(text, *, name: str = "parameter") -> PriorSpec:
    """Parse a prior specification such as ``"loguniform(1e-3, 1e3)"`` (see ``PRIOR_KINDS``).

    The arguments are numbers with an optional sign. Checked: the kind is known, the number of
    arguments, finite values, positive scales, low < high and (loguniform) 0 < low.

    Raises:
        InputError: naming the parameter, the specification and how to write it.
    """
    what = f"prior of {name}"
    if not isinstance(text, str):
        raise InputError(f"the {what} must be a string such as \"normal(0, 1)\", got {str(text)[:40]!r}; "
                         f"priors: {PRIOR_HELP}")
    tokens = tokenize(text, what=what)
    i = 0

    def err(tok: Token, why: str) -> InputError:
        shown = "the end" if tok.kind == "end" else f"{tok.text!r} at position {tok.pos + 1}"
        return InputError(f"{what} {_show(text)}: {shown}: {why}; priors: {PRIOR_HELP}")

    head = tokens[0]
    if head.kind != "name" or head.text not in PRIOR_KINDS:
        raise err(head, "unknown distribution" if head.kind == "name" else "expected a distribution name")
    keys, usage = PRIOR_KINDS[head.text]
    if tokens[1].text != "(":
        raise err(tokens[1], "expected '(' after the distribution name")
    i, args = 2, []
    while True:
        sign = 1.0
        while tokens[i].kind == "op" and tokens[i].text in "+-":
            sign = -sign if tokens[i].text == "-" else sign
            i += 1
        tok = tokens[i]
        if tok.kind != "number":
            raise err(tok, "expected a number")
        value = sign * float(tok.text)
        if not math.isfinite(value):
            raise err(tok, "is not a finite number")
        args.append(value)
        i += 1
        if tokens[i].text == ",":
            i += 1
            continue
        if tokens[i].text == ")":
            i += 1
            break
        raise err(tokens[i], "expected ',' or ')'")
    if tokens[i].kind != "end":
        raise err(tokens[i], "unexpected after the closing ')'")
    if len(args) != len(keys):
        raise InputError(f"{what} {_show(text)}: {head.text} takes {len(keys)} number(s) ({', '.join(keys)}), "
                         f"got {len(args)}; {usage}")
    kind = head.text
    if kind in ("uniform", "loguniform") and not args[0] < args[1]:
        raise InputError(f"{what} {_show(text)}: needs low < high; {usage}")
    if kind == "loguniform" and args[0] <= 0:
        raise InputError(f"{what} {_show(text)}: loguniform needs 0 < low; {usage}")
    if kind == "normal" and args[1] <= 0 or kind == "halfnormal" and args[0] <= 0:
        raise InputError(f"{what} {_show(text)}: the sd must be positive; {usage}")
    if kind == "gamma" and min(args) <= 0:
        raise InputError(f"{what} {_show(text)}: shape and rate must be positive; {usage}")
    if kind == "loguniform" and not math.isfinite(math.log(args[1]) - math.log(args[0])):
        raise InputError(f"{what} {_show(text)}: the range is too wide; {usage}")
    if kind == "uniform" and not math.isfinite(args[1] - args[0]):
        raise InputError(f"{what} {_show(text)}: the range is too wide to normalise; {usage}")
    return PriorSpec(kind, tuple(args), text)
