"""The build step on a toy assignment: it ships sound bundles and refuses unsound ones; and what
the built dist/ bundles hold: their own topic's grading files only, torch's CPU build, our scripts."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

from autograder.build.pipeline import BUNDLE_SCRIPTS, CPU_TORCH_INDEX, DIST, BuildError, build_assignment
from autograder.build.manifest import REPO_ROOT, discover, load_manifest
from tests.toy_assignment import HIDDEN_TEST, write_toy_repo


def _build(tmp_path, **toy_kwargs):
    folder = write_toy_repo(tmp_path / "repo", **toy_kwargs)
    manifest = load_manifest(folder, repo_root=tmp_path / "repo")
    return build_assignment(manifest, tmp_path / "dist", tmp_path / "work", repo_root=tmp_path / "repo")


def test_sound_assignment_builds_stable_reproducible_bundles(tmp_path):
    bundle = _build(tmp_path)
    assert sorted(p.name for p in (tmp_path / "dist" / "toy").iterdir()) == [
        "autograder.zip", "solution.ipynb", "student.zip"]
    assert bundle.points["double"].public == 1 and bundle.points["double"].hidden == 2
    with zipfile.ZipFile(bundle.autograder_zip) as zf:
        names = set(zf.namelist())
    assert {"run_autograder", "setup.sh", "tests/double.py", "files/solutions/toy.py",
            "files/autograder/checks/toy.py"} <= names
    with zipfile.ZipFile(bundle.student_zip) as zf:
        student_names = zf.namelist()
    assert student_names == ["requirements.txt", "toy.ipynb", "written_answers.py"]  # student_export.py
    first = bundle.autograder_zip.read_bytes(), bundle.student_zip.read_bytes()
    again = build_assignment(load_manifest(tmp_path / "repo" / "assignments" / "toy", tmp_path / "repo"),
                             tmp_path / "dist", tmp_path / "work", repo_root=tmp_path / "repo")
    assert (again.autograder_zip.read_bytes(), again.student_zip.read_bytes()) == first


def test_reference_injected_into_solution_only(tmp_path):
    bundle = _build(tmp_path)
    assert "return 2 * x" in bundle.solution_notebook.read_text()
    with zipfile.ZipFile(bundle.student_zip) as zf:
        assert "return 2 * x" not in zf.read("toy.ipynb").decode()


def test_solution_missing_a_point_fails_the_build(tmp_path):
    wrong = 'def double(x):\n    """Off by one above 20."""\n    return 2 * x + (x > 20)\n'
    with pytest.raises(BuildError, match="solution misses points on double: 1 of 3"):
        _build(tmp_path, reference=wrong)
    assert not (tmp_path / "dist" / "toy").exists()


def test_stub_earning_points_fails_the_build(tmp_path):
    lenient = "def test_double_public(double):\n    assert double(2) in (4, None)"
    with pytest.raises(BuildError, match="untouched stub earns 1 points on double"):
        _build(tmp_path, public_test=lenient)


def test_hidden_test_in_student_zip_fails_the_build(tmp_path):
    prose = "Double a number. For reference, the grader runs:\n\n" + HIDDEN_TEST.split('"""\n', 2)[-1]
    with pytest.raises(BuildError, match=r"leak: tests/double.py:test_double_hidden appears in toy.ipynb"):
        _build(tmp_path, prose=prose)


def test_reference_in_student_zip_fails_the_build(tmp_path):
    reference = ('def double(x):\n    """2x."""\n    doubled_value_of_the_input = x + x  # twice\n'
                 '    return doubled_value_of_the_input\n')
    prose = "Hint:\n\n    doubled_value_of_the_input = x + x  # twice\n    return doubled_value_of_the_input"
    with pytest.raises(BuildError, match=r"leak: solutions/toy.py:double appears in toy.ipynb"):
        _build(tmp_path, reference=reference, prose=prose)


def test_engine_disagreeing_with_otter_fails_the_build(tmp_path):
    """The build grades the solution and the stub with the engine Gradescope runs, too: a hidden
    check that only passes in otter's in-kernel grading (it requires ``env`` to be the notebook's
    own dict) makes the engine give the solution fewer points than otter run, and the build fails."""
    folder = write_toy_repo(tmp_path / "repo")
    checks = tmp_path / "repo" / "autograder" / "checks" / "toy.py"
    checks.write_text(checks.read_text() + "    assert type(env) is dict, 'double: graded outside the kernel'\n")
    with pytest.raises(BuildError, match="the grading engine gives the solution 1 on double, otter run 3"):
        build_assignment(load_manifest(folder, repo_root=tmp_path / "repo"), tmp_path / "dist", tmp_path / "work",
                         repo_root=tmp_path / "repo")


def test_bundle_ships_only_what_its_assignment_imports(tmp_path):
    """Another topic's reference, checks and checkpoint stay out; the own topic's checkpoint
    (next to its reference module) and a helper the reference imports go in."""
    repo = tmp_path / "repo"
    folder = write_toy_repo(repo)
    reference = repo / "solutions" / "toy.py"
    reference.write_text("from . import toy_helper  # noqa: F401\n" + reference.read_text())
    (repo / "solutions" / "toy_helper.py").write_text("def twice(x):\n    return x + x\n")
    for name in ("solutions/toy.pt", "solutions/other.pt", "solutions/other.py", "autograder/checks/other.py"):
        (repo / name).write_text("def other_topic():\n    return 'secret'\n")
    bundle = build_assignment(load_manifest(folder, repo_root=repo), tmp_path / "dist", tmp_path / "work",
                              repo_root=repo)
    with zipfile.ZipFile(bundle.autograder_zip) as zf:
        grading = sorted(n for n in zf.namelist() if n.startswith(("files/solutions/", "files/autograder/")))
    assert grading == ["files/autograder/checks/__init__.py", "files/autograder/checks/toy.py",
                       "files/solutions/__init__.py", "files/solutions/toy.pt", "files/solutions/toy.py",
                       "files/solutions/toy_helper.py"]


MANIFESTS = discover()
TOPICS = {m.reference.stem for m in MANIFESTS}


def _built(manifest):
    """The built zips of dist/ (an assignment is built first if dist/ lacks it)."""
    if not (DIST / manifest.name / "autograder.zip").is_file():
        build_assignment(manifest)
    return DIST / manifest.name / "autograder.zip", DIST / manifest.name / "student.zip"


def _foreign(name: str, manifest) -> bool:
    """Whether a bundle entry belongs to another topic: its module is another topic's (reference,
    experiments, checks), or it is a solutions/ file neither the reference nor given code."""
    stem = Path(name).stem.removesuffix("_experiments")
    own = {manifest.reference.stem, *(p.stem for p in manifest.ship), "__init__"}
    return (stem in TOPICS - {manifest.reference.stem}
            or (name.startswith("files/solutions/") and Path(name).stem not in own))


@pytest.mark.e2e
@pytest.mark.parametrize("manifest", MANIFESTS, ids=[m.name for m in MANIFESTS])
def test_built_zips_hold_no_other_topics_file(manifest):
    autograder_zip, student_zip = _built(manifest)
    with zipfile.ZipFile(autograder_zip) as zf:
        names = zf.namelist()
    assert [n for n in names if _foreign(n, manifest)] == []
    assert f"files/autograder/checks/{manifest.reference.stem}.py" in names
    engine = {f"files/{p.relative_to(REPO_ROOT).as_posix()}" for p in (REPO_ROOT / "autograder" / "engine").rglob("*.py")}
    assert engine <= set(names), "the bundle lacks part of the grading engine"
    with zipfile.ZipFile(student_zip) as zf:
        assert sorted(zf.namelist()) == sorted({manifest.master.name, *(p.name for p in manifest.ship),
                                                "written_answers.py", "requirements.txt"})


@pytest.mark.e2e
@pytest.mark.parametrize("manifest", MANIFESTS, ids=[m.name for m in MANIFESTS])
def test_built_bundle_installs_cpu_torch_with_our_scripts(manifest):
    """Gradescope's environment: torch's CPU build from its CPU index, otter's grading extra, no
    nvidia-* pin; setup.sh and run_autograder are the repository's (bundle_scripts/)."""
    autograder_zip, _ = _built(manifest)
    with zipfile.ZipFile(autograder_zip) as zf:
        environment = yaml.safe_load(zf.read("environment.yml"))
        scripts = {name: zf.read(name) for name in ("setup.sh", "run_autograder")}
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert {f"--extra-index-url {CPU_TORCH_INDEX}", "torch==2.13.0+cpu", "otter-grader[grading]==7.0.0"} <= set(pip)
    assert not [p for p in pip if p.startswith("nvidia")]
    assert scripts == {name: (BUNDLE_SCRIPTS / name).read_bytes() for name in scripts}


def test_a_failing_cell_is_named_with_its_exception(tmp_path):
    """"The solution misses points" comes with its cause: the first cell that raised, and how (cell 1
    of the solution notebook is otter's `grader = otter.Notebook(...)`)."""
    from tests.toy_assignment import master_notebook

    folder = write_toy_repo(tmp_path / "repo", reference='def double(x):\n    """2x."""\n    return FACTOR * x\n')
    notebook = master_notebook()
    notebook.cells.insert(1, nbformat.v4.new_code_cell("import package_the_course_forgot_to_pin\nFACTOR = 2"))
    nbformat.write(notebook, folder / "toy.ipynb")
    (tmp_path / "dist" / "toy").mkdir(parents=True)
    (tmp_path / "dist" / "toy" / "student.zip").write_text("the last good build")
    with pytest.raises(BuildError) as failed:
        build_assignment(load_manifest(folder, repo_root=tmp_path / "repo"), tmp_path / "dist", tmp_path / "work",
                         repo_root=tmp_path / "repo")
    assert "the solution misses points on double" in str(failed.value)
    assert ("fails first at code cell 2 ('import package_the_course_forgot_to_pin') raised ModuleNotFoundError: "
            "No module named 'package_the_course_forgot_to_pin'") in str(failed.value)
    assert (tmp_path / "dist" / "toy" / "student.zip").read_text() == "the last good build"
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == ["toy"]  # no partial folder left
