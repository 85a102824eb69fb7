"""A rehearsed Gradescope run: every built bundle, unpacked as Gradescope lays it out, grades
submissions with its own ``run_autograder``, and results.json is what Gradescope expects.

The layout is Gradescope's (``source/`` = the unpacked autograder.zip, ``submission/``,
``results/``) under a root of the test's own (``AUTOGRADER_ROOT``; ``/autograder`` on Gradescope),
so it runs unprivileged; the bundle's script runs with this interpreter's ``python`` on PATH
(no mamba here), and grades with the engine the bundle ships (``source/files``), not this
checkout's. On every assignment the solution earns every point, the stub none, a
``grader.export()`` zip of the solution every point, and a hostile submission (on metalearning
one that prints every hidden test it can find) what its fixture expects. No line of a hidden
test shows in any field students may see, the engine's start and report fit the margin its
budget leaves to Gradescope's timeout, the bundle and results folders end up root's alone (when run as root, as there), and a
run cut off before Python reports leaves the script's provisional row.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.build.pipeline import BUNDLE_SCRIPTS, DIST, build_assignment
from autograder.engine.gradescope import START_AND_REPORT_SECONDS
from autograder.build.fixtures import load_fixtures, materialize
from autograder.build.leaks import hidden_test_secrets
from autograder.build.manifest import discover
from autograder.build.scores import question_points
from autograder.build.zips import read_texts
from tests.test_fixtures import _expected
from tests.sampling import per_assignment

MANIFESTS = discover()
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


class Rehearsal:
    """One assignment's bundle unpacked in a Gradescope layout, ready to grade submissions."""

    def __init__(self, name: str, root: Path):
        self.name, self.root = name, root
        self.autograder_zip = DIST / name / "autograder.zip"
        with zipfile.ZipFile(self.autograder_zip) as zf:
            zf.extractall(root / "source")
        self.total = sum(p.total for p in question_points(self.autograder_zip).values())

    def grade(self, submission: Path) -> tuple[dict, str, float]:
        """Run the bundle's run_autograder on one upload: (results.json, stdout, seconds)."""
        for folder in ("submission", "results"):
            shutil.rmtree(self.root / folder, ignore_errors=True)
            (self.root / folder).mkdir()
        shutil.copy2(submission, self.root / "submission" / submission.name)
        run = run_autograder(self.root / "source" / "run_autograder", self.root, Path(sys.executable).parent)
        results = json.loads((self.root / "results" / "results.json").read_text())
        return results, run.stdout, run.seconds

    def hidden_lines(self) -> set[str]:
        """Every line of every hidden test case of the bundle (its name's line included)."""
        lines = set()
        for name, text in read_texts(self.autograder_zip).items():
            if name.startswith("tests/") and name.endswith(".py"):
                for secret in hidden_test_secrets(name, text):
                    lines |= {line.strip() for line in secret.text.splitlines() if len(line.strip()) > 12}
        return lines


class Run(subprocess.CompletedProcess):
    seconds: float


def run_autograder(script: Path, root: Path, python_bin: Path) -> Run:
    """Run ``script`` as Gradescope would, with ``root`` for ``/autograder`` and ``python_bin``
    first on PATH."""
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PATH=f"{python_bin}{os.pathsep}{os.environ['PATH']}")
    started = time.monotonic()
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=600)
    run = Run(done.args, done.returncode, done.stdout, done.stderr)
    run.seconds = time.monotonic() - started
    return run


def check_gradescope_format(results: dict) -> None:
    """Gradescope's results.json: a numeric score, tests with name/visibility/output, a known
    stdout visibility, and a score that is the sum of the scored rows. Rows without a score are
    the "Public tests" summary and run_autograder's provisional "Grading did not finish" (visible
    at once), and staff notes (hidden); no 0/0 row. The scored rows, one
    per question, are shown once grades are published (before that, a row's hidden results
    would tell a student what the hidden tests check)."""
    assert isinstance(results["score"], (int, float)) and isinstance(results["output"], str)
    assert results.get("stdout_visibility", "hidden") in VISIBILITIES
    scored = 0.0
    unscored = []
    for test in results["tests"]:
        assert isinstance(test["name"], str) and isinstance(test["output"], str), test
        assert test["visibility"] in VISIBILITIES, test
        if "max_score" in test:
            assert 0 <= test["score"] <= test["max_score"], test
            assert test["visibility"] == "after_published", test
            scored += test["score"]
        else:
            assert "score" not in test, test
            unscored.append((test["name"], test["visibility"]))
    assert abs(results["score"] - scored) < 1e-6, "the score is not the sum of the rows' scores"
    assert all(v == "visible" for n, v in unscored if n in ("Public tests", "Grading did not finish")), unscored
    assert all(v == "hidden" for n, v in unscored if n not in ("Public tests", "Grading did not finish")), unscored


def student_visible(results: dict, stdout: str) -> str:
    """Every text of results.json a student may see (any visibility but hidden), with stdout
    where its visibility shows it."""
    texts = [results["output"]] if results.get("visibility", "visible") != "hidden" else []
    texts += [f"{t['name']}\n{t['output']}" for t in results["tests"] if t["visibility"] != "hidden"]
    if results.get("stdout_visibility", "hidden") != "hidden":
        texts.append(stdout)
    return "\n".join(texts)


@pytest.fixture(scope="module")
def rehearsals(tmp_path_factory):
    """One unpacked Gradescope root per assignment (built first if dist/ lacks it)."""
    found = {}
    for manifest in MANIFESTS:
        if not (DIST / manifest.name / "autograder.zip").is_file():
            build_assignment(manifest)
        found[manifest.name] = Rehearsal(manifest.name, tmp_path_factory.mktemp(f"gradescope-{manifest.name}"))
    return found


def _graded(rehearsal: Rehearsal, submission: Path) -> dict:
    results, stdout, seconds = rehearsal.grade(submission)
    check_gradescope_format(results)
    leaked = [line for line in rehearsal.hidden_lines() if line in student_visible(results, stdout)]
    assert leaked == [], f"hidden test lines students can see: {leaked}"
    assert seconds - results["execution_time"] < START_AND_REPORT_SECONDS, "starting and reporting took too long"
    if os.geteuid() == 0:  # as on Gradescope: the bundle and the results are root's alone
        assert {oct((rehearsal.root / f).stat().st_mode & 0o777) for f in ("source", "results")} == {"0o700"}
    return results


@pytest.mark.e2e
@pytest.mark.parametrize("manifest", per_assignment(MANIFESTS))
def test_solution_earns_every_point(rehearsals, manifest):
    name = manifest.name
    rehearsal = rehearsals[name]
    results = _graded(rehearsal, DIST / name / "solution.ipynb")
    assert results["score"] == rehearsal.total, results["output"]


# A hostile fixture each: metalearning's prints every hidden test it can read (no line of one may
# reach the student); the others' smuggle the reference solution out through the checks' isolation.
HOSTILE = {"metalearning": "read_hidden_tests"}
HOSTILE_ELSEWHERE = "steal_reference_via_isolation"


@pytest.mark.e2e
@pytest.mark.parametrize("manifest", per_assignment(MANIFESTS))
def test_stub_export_and_hostile_submission(rehearsals, manifest, tmp_path):
    """The untouched stub earns nothing, a grader.export() zip of the solution (the notebook
    inside a zip) every point, and a hostile fixture the score its fixture file expects."""
    rehearsal, notebook = rehearsals[manifest.name], manifest.master.name
    with zipfile.ZipFile(DIST / manifest.name / "student.zip") as zf:
        zf.extract(notebook, tmp_path / "stub")
    stub = tmp_path / "stub" / notebook
    assert _graded(rehearsal, stub)["score"] == 0

    export = tmp_path / f"{manifest.name}_2024_01_01T00_00_00_000000.zip"
    with zipfile.ZipFile(export, "w") as zf:
        zf.write(DIST / manifest.name / "solution.ipynb", notebook)
    assert _graded(rehearsal, export)["score"] == rehearsal.total

    wanted = HOSTILE.get(manifest.name, HOSTILE_ELSEWHERE)
    hostile = next(f for f in load_fixtures(manifest.folder / "hostile") if f.name == wanted)
    base = stub if hostile.base == "stub" else DIST / manifest.name / "solution.ipynb"
    attack = tmp_path / "hostile" / notebook
    attack.parent.mkdir()
    nbformat.write(materialize(hostile, nbformat.read(base, as_version=4)), attack)
    expected = sum(_expected(hostile, question_points(rehearsal.autograder_zip)).values())
    assert _graded(rehearsal, attack)["score"] == expected


def test_a_run_cut_off_before_python_reports_leaves_the_provisional_row(tmp_path):
    """run_autograder writes results.json before Python starts: a run that never reports (here a
    ``python`` that dies at once, as one killed by Gradescope's timeout) leaves a visible row
    saying grading did not finish, score 0, in Gradescope's format."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "python").write_text("#!/bin/sh\nexit 137\n")
    (fake_bin / "python").chmod(0o755)
    (tmp_path / "root" / "source" / "files").mkdir(parents=True)
    run = run_autograder(BUNDLE_SCRIPTS / "run_autograder", tmp_path / "root", fake_bin)
    assert run.returncode == 137
    results = json.loads((tmp_path / "root" / "results" / "results.json").read_text())
    check_gradescope_format(results)
    assert results["score"] == 0
    assert "did not finish" in student_visible(results, run.stdout)
