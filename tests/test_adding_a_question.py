"""README "Adding a question", followed step by step on a copy of an assignment (the toy one):
each step left out is named by the build, and with all of them the question is built, graded
and validated like the others."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from autograder.build.manifest import load_manifest
from autograder.build.pipeline import BuildError, build_assignment
from tests.toy_assignment import write_toy_repo

PROMPT = "Implement `triple(x)`, returning 3x."
ANSWER = 'def triple(x):\n    """Return 3x."""\n    # BEGIN SOLUTION\n    # END SOLUTION'
PUBLIC = "def test_triple_public(triple):\n    assert triple(2) == 6, 'triple(2) should be 6'"
HIDDEN = ('""" # BEGIN TEST CONFIG\nhidden: true\npoints: 2\n""" # END TEST CONFIG\n'
          "def test_triple_hidden(env):\n    from autograder.checks.toy import check_triple\n    check_triple(env)")
REFERENCE = '\n\ndef triple(x):\n    """3x."""\n    return 3 * x\n'
CHECK = ('\n\ndef check_triple(env):\n    """Hidden property: triple agrees with 3x."""\n'
         '    for value in range(-20, 20, 3):\n        assert env["triple"](value) == 3 * value, "triple: wrong value"\n')
FIXTURE = '"""Doubles instead of tripling.\n\nbase: solution\nexpect: triple=zero\n"""\n\n\ndef triple(x):\n    return 2 * x\n'


def _gaps(folder, repo) -> str:
    with pytest.raises(BuildError) as failed:
        build_assignment(load_manifest(folder, repo_root=repo), repo.parent / "dist", repo.parent / "work", repo_root=repo)
    return str(failed.value)


def test_adding_a_question_step_by_step(tmp_path):
    repo = tmp_path / "repo"
    folder = write_toy_repo(repo)
    reference, checks = repo / "solutions" / "toy.py", repo / "autograder" / "checks" / "toy.py"

    # 1. The master: the question block, its prompt, the answer cell, public and hidden tests.
    master = nbformat.read(folder / "toy.ipynb", as_version=4)
    master.cells += [new_raw_cell("# BEGIN QUESTION\nname: triple\npoints: 3"), new_markdown_cell(PROMPT),
                     new_raw_cell("# BEGIN SOLUTION"), new_code_cell(ANSWER), new_raw_cell("# END SOLUTION"),
                     new_raw_cell("# BEGIN TESTS"), new_code_cell(PUBLIC), new_code_cell(HIDDEN),
                     new_raw_cell("# END TESTS"), new_raw_cell("# END QUESTION")]
    nbformat.write(master, folder / "toy.ipynb")
    gaps = _gaps(folder, repo)
    assert "triple: define check_triple(env) in autograder/checks/toy.py" in gaps
    assert "triple: no fixture in assignments/toy/fixtures/ expects it to lose points" in gaps

    # 2. The reference function, in __all__ (forgetting __all__ is named).
    reference.write_text(reference.read_text() + REFERENCE)
    assert "triple: add it to __all__ in solutions/toy.py" in _gaps(folder, repo)
    reference.write_text(reference.read_text().replace('__all__ = ["double"]', '__all__ = ["double", "triple"]'))
    assert "__all__" not in _gaps(folder, repo)

    # 3. Its hidden check.
    checks.write_text(checks.read_text() + CHECK)
    assert "check_triple" not in _gaps(folder, repo)

    # 4. A fixture that loses its points; then the build validates and ships the question.
    (folder / "fixtures" / "triple_doubles.py").write_text(FIXTURE)
    bundle = build_assignment(load_manifest(folder, repo_root=repo), tmp_path / "dist", tmp_path / "work", repo_root=repo)
    assert bundle.points["triple"].public == 1 and bundle.points["triple"].hidden == 2


def test_registry_entries_without_a_question_are_named(tmp_path):
    repo = tmp_path / "repo"
    folder = write_toy_repo(repo)
    (repo / "solutions" / "toy.py").write_text('__all__ = ["double", "halve"]\n' + REFERENCE.replace("triple", "double"))
    (repo / "autograder" / "checks" / "toy.py").write_text(
        (repo / "autograder" / "checks" / "toy.py").read_text() + CHECK.replace("check_triple", "check_halve"))
    gaps = _gaps(folder, repo)
    assert "halve is in __all__ of solutions/toy.py but the master has no autograded question 'halve'" in gaps
    assert "autograder/checks/toy.py defines check_halve but the master has no question 'halve'" in gaps
