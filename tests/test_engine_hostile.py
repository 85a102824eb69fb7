"""The grading engine against hostile submissions (grading.md's threat model), end to end.

One batch per assignment with a ``hostile/`` folder, graded by ``autograder.grading.batch.grade_folder``
with small limits, holds every hostile fixture of ``assignments/<name>/hostile/`` (materialised
on the solution or the stub notebook); the metalearning batch also holds file-level attacks built
here: a pickled ``.OTTER_LOG`` that would run code when unpickled, invalid JSON, a non-Python
kernel, an unknown Python kernel name, a zip without a notebook. Then, for every batch:

- every submission has a gradebook row and a results.json, and the batch ended in bounded time;
- each question scores what its fixture says (the stub's zero on what an attack touches, or the
  score of the honest mistake an attack tries to hide; full marks on untouched correct answers,
  so one attack costs only what it attacks);
- no output file contains hidden test text, grading-check code or reference code;
- nothing is left running under a sandbox user, nothing outside the sandboxes changed, no
  network connection reached a listener on this machine;

and for the metalearning batch: the pickle never ran, and the kernel's limits were hit for real
(MemoryError, a killed loop), not just configured.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import socket
import threading
import time
import tomllib
import zipfile
from pathlib import Path

import nbformat
import numpy
import pytest

from autograder.engine.jail.confine import SANDBOX_UID_BASE
from autograder.engine.jail.launch import MAX_SLOTS
from autograder.engine.protocol.limits import Limits
from autograder.build.fixtures import load_fixtures, materialize
from autograder.grading.batch import grade_folder
from autograder.build.scores import question_points

ROOT = Path(__file__).resolve().parents[1]
# the metalearning batch's bundle and fixtures (another assignment's: dist/<name>, assignments/<name>/hostile)
DIST = ROOT / "dist" / "metalearning"
HOSTILE = ROOT / "assignments" / "metalearning" / "hostile"
# every assignment with hostile fixtures gets its own batch (metalearning's adds the file attacks)
ASSIGNMENTS = sorted(folder.parent.name for folder in (ROOT / "assignments").glob("*/hostile")
                     if any(folder.glob("*.py")))
FILE_ATTACKS = ["pickled_otter_log", "invalid_json", "r_kernel", "unknown_kernel_name", "zip_without_notebook"]
LISTENER_PORT = 47931
MARKER = Path("/tmp/hostile-pickle-ran")
# small limits, but not so small that an honest call misses one on a loaded 2-core machine
LIMITS = Limits(notebook_seconds=180, cell_seconds=20, call_seconds=10, question_seconds=90,
                memory_bytes=4 * 2**30, processes=16)

# attacks that must hit a wall-clock limit (status "timed out"; their other questions are graded)
TIMED_OUT = {"infinite_loop": "timed out"}
# attacks whose status depends on how their own processes race (the scores may not)
EITHER = {"process_bomb"}

pytestmark = pytest.mark.e2e


class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


def _student_notebook(assignment: str = "metalearning") -> nbformat.NotebookNode:
    with zipfile.ZipFile(ROOT / "dist" / assignment / "student.zip") as zf:
        return nbformat.reads(zf.read(f"{assignment}.ipynb").decode(), as_version=4)


def _topic(assignment: str) -> str:
    """The module name of an assignment's reference (``solutions/<topic>.py``) and checks."""
    config = tomllib.loads((ROOT / "assignments" / assignment / "build.toml").read_text())
    return Path(config["reference"]).stem


def _hostile_names(assignment: str) -> list[str]:
    names = sorted(p.stem for p in (ROOT / "assignments" / assignment / "hostile").glob("*.py"))
    return names + (FILE_ATTACKS if assignment == "metalearning" else [])


def _file_attacks(folder: Path, solution, stub) -> dict[str, tuple[str, str]]:
    """name → (expected status, expected outcome for every question)."""
    with zipfile.ZipFile(folder / "pickled_otter_log.zip", "w") as zf:
        zf.writestr("metalearning.ipynb", nbformat.writes(solution))
        zf.writestr(".OTTER_LOG", pickle.dumps(_Evil()))
    (folder / "invalid_json.ipynb").write_text(nbformat.writes(stub)[:-200])
    r_kernel = nbformat.from_dict(json.loads(nbformat.writes(solution)))
    r_kernel.metadata["kernelspec"] = {"name": "ir", "language": "R", "display_name": "R"}
    nbformat.write(r_kernel, folder / "r_kernel.ipynb")
    renamed = nbformat.from_dict(json.loads(nbformat.writes(stub)))
    renamed.metadata["kernelspec"] = {"name": "conda-env-nonexistent-py", "language": "python"}
    nbformat.write(renamed, folder / "unknown_kernel_name.ipynb")
    with zipfile.ZipFile(folder / "zip_without_notebook.zip", "w") as zf:
        zf.writestr("answers.txt", "I did it all")
    return {"pickled_otter_log": ("graded", "full"), "invalid_json": ("failed", "zero"),
            "r_kernel": ("failed", "zero"), "unknown_kernel_name": ("graded", "zero"),
            "zip_without_notebook": ("failed", "zero")}


class _Listener:
    """A TCP listener on the loopback that records whatever connects."""

    def __init__(self, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def _sandbox_processes() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if SANDBOX_UID_BASE <= os.stat(f"/proc/{entry}").st_uid < SANDBOX_UID_BASE + MAX_SLOTS \
                        and Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z":
                    found.append(int(entry))  # zombies have exited: only init's wait is missing
            except OSError:
                pass
    return found


def _secret_snippets(assignment: str = "metalearning") -> set[str]:
    """Lines of the assignment's hidden checks, its reference and the hidden test cells (long
    enough to be unambiguous; a quoted name alone, an ``__all__`` entry, is a public question
    name)."""
    snippets = set()
    topic = _topic(assignment)
    for path in (ROOT / f"autograder/checks/{topic}.py", ROOT / f"solutions/{topic}.py"):
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) >= 30 and not line.startswith(("#", '"""', "from ", "import ")) \
                    and not re.fullmatch(r'"\w+",?', line):
                snippets.add(line)
    snippets.add("test_hidden_properties")
    return snippets


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _grade(assignment: str, tmp_path_factory) -> dict:
    """Grade the assignment's hostile batch (two jobs, small limits); what the tests look at."""
    dist = ROOT / "dist" / assignment
    solution = nbformat.read(dist / "solution.ipynb", as_version=4)
    stub = _student_notebook(assignment)
    folder = tmp_path_factory.mktemp(f"hostile-submissions-{assignment}")
    expected = {}
    for fixture in load_fixtures(ROOT / "assignments" / assignment / "hostile"):
        base = solution if fixture.base == "solution" else stub
        nbformat.write(materialize(fixture, base), folder / f"{fixture.name}.ipynb")
        expected[fixture.name] = (TIMED_OUT.get(fixture.name, "graded"), fixture)
    if assignment == "metalearning":
        for name, (status, outcome) in _file_attacks(folder, solution, stub).items():
            expected[name] = (status, outcome)
    watched = [Path(numpy.__file__), ROOT / "autograder/checks/compare.py",
               ROOT / f"solutions/{_topic(assignment)}.py"]
    before = {p: _digest(p) for p in watched}
    listener = _Listener(LISTENER_PORT)
    out = tmp_path_factory.mktemp(f"hostile-graded-{assignment}")
    started = time.monotonic()
    try:
        rows = grade_folder(dist / "autograder.zip", folder, out, jobs=2, limits=LIMITS)
    finally:
        listener.close()
    seconds = time.monotonic() - started
    if assignment == "metalearning":
        time.sleep(5)  # the forged-results fixture's detached writer would fire after 4 s
    return dict(rows={r[0]: r[2] for r in rows}, expected=expected, out=out, seconds=seconds,
                listener=listener, before=before, points=question_points(dist / "autograder.zip"))


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """assignment -> its graded batch; each assignment is graded once, when first asked for."""
    if os.geteuid() != 0:
        pytest.fail("the hostile-submission tests need root (the sandbox switches users)")
    MARKER.unlink(missing_ok=True)  # once for all batches: a later batch must not hide a trace
    Path("/tmp/hostile-tampered").unlink(missing_ok=True)
    graded: dict[str, dict] = {}

    def get(assignment: str) -> dict:
        if assignment not in graded:
            graded[assignment] = _grade(assignment, tmp_path_factory)
        return graded[assignment]

    return get


@pytest.fixture(scope="module")
def batch(batches):
    """The metalearning batch (file-level attacks and the kernel's limits are tested there)."""
    return batches("metalearning")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_submission_has_a_row_and_results(batches, assignment):
    batch = batches(assignment)
    assert set(batch["rows"]) == set(batch["expected"]) == set(_hostile_names(assignment))
    gradebook = (batch["out"] / "gradebook.csv").read_text().splitlines()
    assert len(gradebook) == 1 + len(batch["expected"])
    for name in batch["expected"]:
        results = json.loads((batch["out"] / "results" / name / "results.json").read_text())
        assert "tests" in results


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_batch_ends_in_bounded_time(batches, assignment):
    assert batches(assignment)["seconds"] < 900


@pytest.mark.parametrize("assignment,name", [(assignment, name) for assignment in ASSIGNMENTS
                                              for name in _hostile_names(assignment)])
def test_scores_are_what_the_attack_deserves(batches, assignment, name):
    batch = batches(assignment)
    status, expectation = batch["expected"][name]
    graded = batch["rows"][name]
    if name in EITHER:
        assert graded.status in ("graded", "timed out")
    else:
        assert graded.status == status, (graded.status, graded.message)
    for question, points in batch["points"].items():
        outcome = expectation if isinstance(expectation, str) else expectation.outcome(question)
        assert graded.score(question) == points.expected(outcome), (question, graded.notes,
                                                                    [c.message for c in graded.cases if c.question == question])
    if status == "failed":
        assert graded.message


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_output_contains_secrets(batches, assignment):
    batch = batches(assignment)
    snippets = _secret_snippets(assignment)
    for path in batch["out"].rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "LEAK" not in text, path
            for snippet in snippets:
                assert snippet not in text, (path, snippet)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_nothing_left_running_or_changed(batches, assignment):
    batch = batches(assignment)
    assert _sandbox_processes() == []
    for path, digest in batch["before"].items():
        assert _digest(path) == digest, path
    assert not Path("/tmp/hostile-tampered").exists()
    assert not Path("/autograder/results/results.json").exists()
    assert batch["listener"].connections == 0
    for name, graded in batch["rows"].items():
        results = json.loads((batch["out"] / "results" / name / "results.json").read_text())
        assert results["score"] == pytest.approx(sum(graded.score(q) for q in batch["points"]))


def test_the_pickled_log_was_never_loaded(batch):
    assert not MARKER.exists()


def test_limits_were_hit_for_real(batch):
    def messages(name):
        graded = batch["rows"][name]
        return " ".join([c.message for c in graded.cases] + graded.notes)

    assert "MemoryError" in messages("memory_bomb")
    assert "no answer within" in messages("infinite_loop")
    assert "process ended" in messages("exit_in_graded_function")
    assert "code cell" in messages("exit_while_running")
    assert "unknown here" in messages("unknown_kernel_name")


def test_a_walk_of_the_file_system_ends_in_seconds(batch):
    """In the private file view a notebook walking ``/`` for tests, grading code and other
    notebooks finds system and library files only, and is done in seconds (when sandboxes saw
    the machine's files, such a walk ran until the batch's time budget ran out)."""
    graded = batch["rows"]["walk_file_system"]
    assert not [note for note in graded.staff_notes if "private file view" in note], graded.staff_notes
    assert graded.seconds < 30, f"walking / took {graded.seconds:.0f} s"
