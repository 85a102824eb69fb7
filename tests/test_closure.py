"""The import closure that decides which grading files an autograder bundle ships."""

from __future__ import annotations

from pathlib import Path

from autograder.build.closure import import_closure, imported_names

FILES = {
    "solutions/__init__.py": "",
    "solutions/topic.py": "import numpy as np\nfrom . import helper\n",
    "solutions/helper.py": "def f():\n    from solutions.lazy import g\n",
    "solutions/lazy.py": "",
    "solutions/lazy.pt": "weights",
    "solutions/other.py": "import solutions.topic\n",
    "solutions/other.pt": "weights",
    "autograder/checks/__init__.py": "",
    "autograder/checks/topic.py": "from autograder.checks import shared\nfrom ..checks.relative import *\n",
    "autograder/checks/shared.py": "",
    "autograder/checks/relative.py": "",
    "autograder/checks/other.py": "",
}


def _repo(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def _names(repo: Path, paths) -> set[str]:
    return {p.relative_to(repo.resolve()).as_posix() for p in paths}


def test_closure_follows_absolute_relative_and_nested_imports_and_brings_data(tmp_path):
    repo = _repo(tmp_path)
    closure = import_closure(repo, [repo / "solutions" / "topic.py"])
    assert _names(repo, closure) == {"solutions/__init__.py", "solutions/topic.py", "solutions/helper.py",
                                     "solutions/lazy.py", "solutions/lazy.pt"}


def test_closure_of_test_cell_sources_leaves_other_topics_out(tmp_path):
    repo = _repo(tmp_path)
    cell = '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n' \
           "def test_hidden(env):\n    from autograder.checks.topic import check\n    check(env)\n"
    closure = _names(repo, import_closure(repo, [], [cell]))
    assert closure == {"autograder/checks/__init__.py", "autograder/checks/topic.py",
                       "autograder/checks/shared.py", "autograder/checks/relative.py"}
    # the package autograder/ has no __init__.py here: nothing to bring, and nothing invented


def test_from_import_names_both_the_package_and_the_submodule():
    names = list(imported_names("from .. import b\nfrom .c import d\nimport e.f", package="a.pkg"))
    assert names == ["a", "a.b", "a.pkg.c", "a.pkg.c.d", "e.f"]
