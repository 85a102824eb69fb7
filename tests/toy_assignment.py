"""A two-question toy assignment in a throw-away repository layout, for testing the build.

Everything the build reads is written here from parameters, so each test states the one defect
it plants (a wrong reference, a stub that scores, a hidden test pasted into the prose).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

REFERENCE = '''
__all__ = ["double"]


def double(x):
    """2x."""
    return 2 * x
'''

CHECKS = '''
def check_double(env):
    """Hidden property: double agrees with 2x on a range of integers."""
    double = env["double"]
    for value in range(-50, 50, 7):
        assert double(value) == 2 * value, "double: wrong value on an integer input"
'''

FIXTURE = '''"""Adds one instead of doubling.

base: solution
expect: double=zero
"""


def double(x):
    return x + 1
'''

PUBLIC_TEST = "def test_double_public(double):\n    assert double(2) == 4"
HIDDEN_TEST = (
    '""" # BEGIN TEST CONFIG\nhidden: true\npoints: 2\n""" # END TEST CONFIG\n'
    "def test_double_hidden(env):\n"
    "    from autograder.checks.toy import check_double\n"
    "    check_double(env)"
)


def master_notebook(public_test: str = PUBLIC_TEST, prose: str = "Double a number.") -> nbformat.NotebookNode:
    cells = [
        new_raw_cell("# ASSIGNMENT CONFIG\nname: toy\nexport_cell: false\ngenerate:\n  pdf: false"),
        new_markdown_cell("# Toy assignment"),
        new_raw_cell("# BEGIN QUESTION\nname: double\npoints: 3"),
        new_markdown_cell(prose),
        new_raw_cell("# BEGIN SOLUTION"),
        new_code_cell('def double(x):\n    """Return 2x."""\n    # BEGIN SOLUTION\n    # END SOLUTION'),
        new_raw_cell("# END SOLUTION"),
        new_raw_cell("# BEGIN TESTS"),
        new_code_cell(public_test),
        new_code_cell(HIDDEN_TEST),
        new_raw_cell("# END TESTS"),
        new_raw_cell("# END QUESTION"),
    ]
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def write_toy_repo(root: Path, reference: str = REFERENCE, **master_kwargs) -> Path:
    """Lay out a repository with one assignment ``toy``; return the assignment folder."""
    (root / "solutions").mkdir(parents=True)
    (root / "solutions" / "__init__.py").write_text("")
    if "__all__" not in reference:  # a test's own reference: still one question, double
        reference = '__all__ = ["double"]\n' + reference
    (root / "solutions" / "toy.py").write_text(reference)
    (root / "autograder" / "checks").mkdir(parents=True)
    (root / "autograder" / "checks" / "__init__.py").write_text("")
    (root / "autograder" / "checks" / "toy.py").write_text(CHECKS)
    folder = root / "assignments" / "toy"
    folder.mkdir(parents=True)
    (folder / "fixtures").mkdir()
    (folder / "fixtures" / "double_adds_one.py").write_text(FIXTURE)
    (folder / "build.toml").write_text('master = "toy.ipynb"\nreference = "solutions/toy.py"\n')
    nbformat.write(master_notebook(**master_kwargs), folder / "toy.ipynb")
    return folder
