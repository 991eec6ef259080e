"""The README's Python example runs as written."""

import re
from pathlib import Path


def test_readme_python_example_runs(capsys, tmp_path, monkeypatch):
    text = (Path(__file__).parents[1] / "README.md").read_text()
    monkeypatch.chdir(tmp_path)   # the example writes its checkpoint into the working folder
    block = re.search(r"## Python API\s+```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    result = namespace["result"]
    exact = namespace["exact_linear"](namespace["x"], namespace["y"], 0.1, "ax+b").free_energy
    assert abs(result.free_energy.free_energy - exact) < 4 * result.free_energy.free_energy_err + 0.01
