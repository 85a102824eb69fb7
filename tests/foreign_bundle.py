"""Otter bundles this project did not build, written by hand: test files, config, support files.

A bundle here is what ``otter assign`` writes into an autograder zip (``tests/*.py``,
``otter_config.json``, ``files/``), so both the engine and ``otter run -a`` grade it; tests use
them to plant one otter feature at a time and compare the two graders.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from autograder.build import otter_cli
from autograder.build.scores import scores_by_question


def write_bundle(path: Path, tests: dict[str, str], config: dict | None = None,
                 files: dict[str, str] | None = None) -> Path:
    """An autograder zip at ``path`` with these test files (name → source) and support files."""
    config = {"assignment_name": "hw", **(config or {})}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("otter_config.json", json.dumps(config))
        for name, source in tests.items():
            zf.writestr(f"tests/{name}.py", source)
        for name, text in (files or {}).items():
            zf.writestr(f"files/{name}", text)
    return path


def write_notebook(path: Path, *cells: str | tuple[str, dict]) -> Path:
    """A Python 3 notebook with these code cells (a source, or a source and its metadata)."""
    notebook = new_notebook(cells=[new_code_cell(c) if isinstance(c, str) else new_code_cell(c[0], metadata=c[1])
                                   for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["otter"] = {"assignment_name": "hw"}
    nbformat.write(notebook, path)
    return path


def otter_run_scores(bundle_zip: Path, notebook: Path) -> dict[str, float]:
    """Question → score as ``otter run -a`` grades the notebook (otter's own command)."""
    return scores_by_question(otter_cli.run(bundle_zip, notebook, timeout=300))
