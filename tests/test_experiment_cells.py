"""Experiment cells (tagged otter_ignore): skipped by both graders, announced to students, and
refused by the build when a graded cell needs something only they define."""

from __future__ import annotations

import zipfile

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.build.pipeline import BuildError, build_assignment
from autograder.engine.judge.cells import graded_code_cells, skipped_when_grading
from autograder.build.experiment_cells import NOTICE, announce, dependency_problems
from autograder.build.manifest import REPO_ROOT, discover, load_manifest
from tests.toy_assignment import write_toy_repo


def _skipped(source: str, how: str = "tag") -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    if how == "tag":
        cell.metadata["tags"] = ["otter_ignore"]
    else:
        cell.metadata["otter"] = {"ignore": True}
    return cell


def test_both_spellings_of_otters_rule_are_skipped():
    notebook = new_notebook(cells=[new_code_cell("a = 1"), _skipped("b = 2"), _skipped("c = 3", "metadata"),
                                   new_markdown_cell("text"), new_code_cell("d = a")])
    assert [skipped_when_grading(c) for c in notebook.cells] == [False, True, True, False, False]
    assert graded_code_cells(notebook) == ["a = 1", "d = a"]


@pytest.mark.parametrize("graded_source", [
    "print(results)",                                  # read at top level
    "def answer(x):\n    return x * results",         # read inside a function: fails when called
    "%time total = results + 1",                       # read through a magic
])
def test_a_graded_cell_reading_a_name_only_an_experiment_defines_is_reported(graded_source):
    notebook = new_notebook(cells=[new_code_cell("import numpy as np"), _skipped("results = np.ones(3)"),
                                   new_code_cell(graded_source)])
    problems = dependency_problems(notebook)
    assert len(problems) == 1 and "code cell 3" in problems[0] and "'results'" in problems[0]


@pytest.mark.parametrize("graded_source", [
    "results = 1\nprint(results)",                    # defines it itself
    "def answer(results):\n    return results",       # a parameter of the same name
    "def answer(x):\n    return [results for results in x]",  # a comprehension variable
    "print(np.pi)",                                    # np comes from a graded cell
])
def test_names_a_graded_cell_binds_itself_are_not_reported(graded_source):
    notebook = new_notebook(cells=[new_code_cell("import numpy as np"),
                                   _skipped("results = np.ones(3)\nnp = None"),
                                   new_code_cell("import numpy as np"), new_code_cell(graded_source)])
    assert dependency_problems(notebook) == []


def test_a_name_redefined_by_a_graded_cell_is_no_longer_only_experimental():
    notebook = new_notebook(cells=[_skipped("size = 100"), new_code_cell("size = 10"), new_code_cell("print(size)")])
    assert dependency_problems(notebook) == []


def test_announce_marks_each_skipped_cell_once():
    notebook = new_notebook(cells=[new_code_cell("a = 1"), _skipped("plot()")])
    assert announce(notebook) == 1 and announce(notebook) == 1
    assert notebook.cells[0].source == "a = 1"
    assert notebook.cells[1].source == NOTICE + "\nplot()"


def test_the_build_refuses_a_master_whose_answers_need_an_experiment(tmp_path):
    folder = write_toy_repo(tmp_path / "repo")
    master = nbformat.read(folder / "toy.ipynb", as_version=4)
    answer = next(i for i, c in enumerate(master.cells) if c.cell_type == "code" and "def double" in c.source)
    master.cells.insert(answer, _skipped("FACTOR = 2"))
    master.cells[answer + 1].source = master.cells[answer + 1].source.replace(
        "# BEGIN SOLUTION", "# BEGIN SOLUTION\n    return FACTOR * x")
    nbformat.write(master, folder / "toy.ipynb")
    manifest = load_manifest(folder, repo_root=tmp_path / "repo")
    with pytest.raises(BuildError, match="reads 'FACTOR', defined only in code cell 1"):
        build_assignment(manifest, tmp_path / "dist", tmp_path / "work", repo_root=tmp_path / "repo")


@pytest.mark.parametrize("manifest", discover(), ids=lambda m: m.name)
def test_built_student_notebooks_announce_every_skipped_cell(manifest):
    """The shipped notebooks tag their experiments (what makes grading cheap) and say so."""
    with zipfile.ZipFile(REPO_ROOT / "dist" / manifest.name / "student.zip") as zf:
        notebook = nbformat.reads(zf.read(manifest.master.name).decode(), as_version=4)
    skipped = [c for c in notebook.cells if c.cell_type == "code" and skipped_when_grading(c)]
    assert skipped, f"{manifest.name}: no experiment cell is tagged otter_ignore"
    assert all(c.source.startswith(NOTICE) for c in skipped)
