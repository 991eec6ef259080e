"""Layering: the core computes and returns; only io, plot, report and cli touch disk or the terminal.

The core packages (``sampling``, ``measure``, ``dynamics``, ``nets``, ``symmetry`` and ``priors``)
must not import the edge packages, must not do file or terminal I/O, and importing them must leave
the user's JAX configuration alone.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "physlaw"
CORE_PACKAGES = ("sampling", "measure", "dynamics", "nets", "symmetry")
EDGE = ("physlaw.io", "physlaw.plot", "physlaw.report", "physlaw.cli")


def core_files() -> list[Path]:
    files = [p for pkg in CORE_PACKAGES for p in sorted((SRC / pkg).rglob("*.py"))]
    return files + [SRC / "priors.py"]


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_core_modules_import_no_edge_package_and_leave_jax_config_alone():
    modules = [module_name(p) for p in core_files()]
    script = f"""
import importlib, json, sys
import jax
before = (jax.config.jax_compilation_cache_dir, jax.config.jax_enable_x64)
importlib.import_module("physlaw.sampling")
after = (jax.config.jax_compilation_cache_dir, jax.config.jax_enable_x64)
for name in {modules!r}:
    importlib.import_module(name)
edge = sorted(m for m in sys.modules if m.split(".")[:2] in [e.split(".") for e in {EDGE!r}])
print(json.dumps({{"edge": edge, "before": before, "after": after}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env={"PHYSLAW_JAX_CACHE": "", "JAX_PLATFORMS": "cpu", "PATH": ""})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["edge"] == [], f"core modules import edge packages: {report['edge']}"
    assert report["after"] == report["before"], "importing physlaw.sampling changed the JAX configuration"


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "open"):
            found.append(f"{node.func.id}() at line {node.lineno}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tqdm" or alias.name.startswith(EDGE):
                    found.append(f"import {alias.name} at line {node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "tqdm" or node.module.startswith(EDGE):
                found.append(f"from {node.module} import at line {node.lineno}")
        elif (isinstance(node, ast.Attribute) and node.attr in ("stderr", "stdout")
              and isinstance(node.value, ast.Name) and node.value.id == "sys"):
            found.append(f"sys.{node.attr} at line {node.lineno}")
    return found


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_file_does_no_terminal_or_file_io(path):
    assert not _offences(path), f"{path.relative_to(SRC)}: {_offences(path)}"


def test_the_static_check_can_fail(tmp_path):
    """Negative control: a file that prints, opens, draws a bar and imports io is caught four times over."""
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nfrom tqdm import tqdm\nfrom physlaw.io.atomic import write_json\n"
                   "print(open('x').read(), file=sys.stderr)\n")
    assert len(_offences(bad)) == 5
