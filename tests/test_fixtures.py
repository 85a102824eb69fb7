"""Every fixture submission of every assignment earns exactly its expected score per question.

Two routes, both through the built ``dist/<name>/autograder.zip``:

- every fixture, in process: the fixture's namespace is graded by the zip's own test files,
  public and hidden (what ``otter run`` does after executing a notebook); a hidden case is not
  re-run for an answer whose code is the reference's own (``FIXTURES_FULL=1`` runs them all);
- a sample, end to end: the fixture is materialised as a notebook and graded by ``otter run``
  (≈20 s each, so the solution, the stub and one fixture of each kind of expectation).

Expected scores come from the fixture's declared outcomes and the points in the built tests.
"""

from __future__ import annotations

import functools
import importlib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from autograder.build import otter_cli
from autograder.build.pipeline import DIST, build_assignment
from autograder.build.fixtures import Fixture, fixture_namespace, load_fixtures, materialize
from autograder.build.manifest import Manifest, discover
from autograder.build.scores import question_points, score_namespace, scores_by_question
from tests.check_matrix import CheckMatrix
from tests.memory_limit import MEMORY_BOUND_FIXTURES, call_with_memory_limit
from tests.sampling import per_assignment

MANIFESTS = [m for m in discover() if m.fixtures_dir.is_dir()]
CASES = [(m, f) for m in MANIFESTS for f in load_fixtures(m.fixtures_dir)]

# fixtures with deliberate mistakes divide by zero or overflow; that is their point
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _bundle(manifest: Manifest) -> Path:
    """The built autograder zip, building the assignment first if dist/ lacks it."""
    autograder_zip = DIST / manifest.name / "autograder.zip"
    if not autograder_zip.is_file():
        build_assignment(manifest)
    return autograder_zip


def _expected(fixture: Fixture, points) -> dict[str, float]:
    return {q: p.expected(fixture.outcome(q)) for q, p in points.items()}


def _answers(points) -> list[str]:
    return sorted(points)


@pytest.mark.parametrize("manifest,fixture", CASES, ids=[f"{m.name}-{f.name}" for m, f in CASES])
def test_fixture_scores_in_process(manifest, fixture):
    autograder_zip = _bundle(manifest)
    points = question_points(autograder_zip)
    unknown = set(fixture.expect) - set(points)
    assert not unknown, f"{fixture.name} names questions the bundle lacks: {sorted(unknown)}"
    namespace = fixture_namespace(fixture, manifest.reference.read_text(), _answers(points))
    matrix = _matrix(manifest)
    unchanged = set() if matrix.full else {q for q in points if matrix.unchanged_from_reference(namespace, q)}
    if (manifest.name, fixture.name) in MEMORY_BOUND_FIXTURES:  # it allocates what a sandbox refuses
        assert call_with_memory_limit(score_namespace, autograder_zip, namespace, unchanged) == _expected(fixture, points)
    else:
        assert score_namespace(autograder_zip, namespace, unchanged) == _expected(fixture, points)


@functools.cache
def _matrix(manifest: Manifest) -> CheckMatrix:
    """The assignment's check matrix: tells which answers of a fixture are the reference's own
    code (their hidden checks are known to pass; tests/check_matrix.py)."""
    checks = importlib.import_module(f"autograder.checks.{manifest.reference.stem}")
    reference = importlib.import_module(f"solutions.{manifest.reference.stem}")
    return CheckMatrix(checks, reference, manifest.fixtures_dir, full_env="FIXTURES_FULL")


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[m.name for m in MANIFESTS])
def test_every_question_has_a_fixture_it_must_fail(manifest):
    points = question_points(_bundle(manifest))
    fixtures = load_fixtures(manifest.fixtures_dir)
    uncovered = [q for q in points if all(f.passes_hidden(q) for f in fixtures if f.base == "solution")]
    assert not uncovered, f"no fixture shows the hidden tests of {uncovered} failing"


def _student_notebook(manifest: Manifest, folder: Path) -> nbformat.NotebookNode:
    with zipfile.ZipFile(DIST / manifest.name / "student.zip") as zf:
        return nbformat.reads(zf.read(manifest.master.name).decode(), as_version=4)


def _sample(manifest: Manifest) -> list[Fixture]:
    """The first fixture (by name) of each kind: all full, some question hidden, public, zero."""
    kinds = {}
    for fixture in load_fixtures(manifest.fixtures_dir):
        outcomes = set(fixture.expect.values()) | {fixture.default}
        kind = next((k for k in ("zero", "public", "hidden") if k in outcomes), "full")
        kinds.setdefault(kind, fixture)
    return [kinds[k] for k in sorted(kinds)]


def _grade(autograder_zip: Path, notebook: nbformat.NotebookNode, folder: Path, name: str) -> dict[str, float]:
    folder.mkdir(parents=True)
    path = folder / name
    nbformat.write(notebook, path)
    return scores_by_question(otter_cli.run(autograder_zip, path))


@pytest.mark.e2e
@pytest.mark.parametrize("manifest", per_assignment(MANIFESTS))
def test_otter_run_grades_sample_fixtures(manifest, tmp_path):
    autograder_zip = _bundle(manifest)
    points = question_points(autograder_zip)
    solution = nbformat.read(DIST / manifest.name / "solution.ipynb", as_version=4)
    stub = _student_notebook(manifest, tmp_path)
    jobs = {
        "solution": (solution, {q: p.total for q, p in points.items()}),
        "solution (graded again)": (solution, {q: p.total for q, p in points.items()}),
        "stub": (stub, {q: 0.0 for q in points}),
    }
    for fixture in _sample(manifest):
        base = solution if fixture.base == "solution" else stub
        jobs[fixture.name] = (materialize(fixture, base), _expected(fixture, points))
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            label: pool.submit(_grade, autograder_zip, notebook, tmp_path / f"job{i}", manifest.master.name)
            for i, (label, (notebook, _)) in enumerate(jobs.items())
        }
        got = {label: future.result() for label, future in futures.items()}
    assert {label: got[label] for label in jobs} == {label: expected for label, (_, expected) in jobs.items()}
