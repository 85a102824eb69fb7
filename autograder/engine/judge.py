"""TRUSTED SIDE. Grade one submission: run its notebook in a sandbox, run the tests here.

The notebook's code cells run in a sandbox (:mod:`sandbox`); every test case of the bundle runs in
this process against a :class:`remote.RemoteNamespace` of that sandbox, which shows the notebook
as of the question's last ``grader.check`` (as otter grades it). All public test cases
run first, then all hidden ones: the hidden checks' isolation sends reference code of the
questions a question depends on into the sandbox, and by then no test whose message echoes
student data is left; hidden checks run in dependency order (``Bundle.hidden_order``), so the
reference code a check exposes belongs to questions already graded.

Robustness: a cell, a call or a question that exceeds its time limit, a process that exits or
crashes, a protocol violation: the sandbox is killed with everything it started, the case at hand
fails with a short message, the question's remaining public (or hidden) cases fail without
running (an attack costs at most one restart per pass), and a fresh sandbox re-runs the notebook (skipping a cell that ended the
process) for what is left, at most ``MAX_RESTARTS`` times and while the submission's time
budget lasts. Every submission ends with a :class:`Graded` record; nothing a submission does can
raise out of :func:`grade_notebook`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.checks.compare import first_check_failure
from autograder.engine.bundle import Bundle, Question
from autograder.engine.cells import graded_code_cells
from autograder.engine.confine import Limits
from autograder.engine.outcome import CaseResult, Graded
from autograder.engine.remote import RemoteNamespace, StudentException
from autograder.engine.sandbox import ForkServer, Sandbox, SandboxGone
from autograder.engine.torch_mode import reset_torch_state

MAX_RESTARTS = 16
TIME_LIMIT_MARKERS = ("no answer within", "ran out of time", "time limit")


class Session:
    """The sandbox of one submission, re-created (notebook re-run) when it dies."""

    def __init__(self, server: ForkServer, bundle: Bundle, slot: int, limits: Limits,
                 cells: list[str], graded: Graded):
        self.server, self.bundle, self.slot, self.limits = server, bundle, slot, limits
        self.cells, self.graded = cells, graded
        self.skipped: set[int] = set()
        self.restarts = 0
        self.budget_ends = time.monotonic() + limits.submission_seconds
        self.sandbox: Sandbox | None = None
        self.staging: Path | None = None
        self.cell_errors: dict[int, str] = {}

    def start(self) -> Sandbox:
        """A live sandbox that has executed the notebook (re-run after a crash)."""
        while True:
            self._open()
            deadline = time.monotonic() + self.limits.notebook_seconds
            failed_at = None
            for index, source in enumerate(self.cells):
                if index in self.skipped:
                    continue
                left = deadline - time.monotonic()
                try:
                    if left <= 0:
                        raise SandboxGone("the notebook ran out of time")
                    reply, _ = self.sandbox.request({"op": "cell", "source": source, "index": index},
                                                    timeout=min(self.limits.cell_seconds, left))
                except SandboxGone as gone:
                    failed_at = (index, gone.reason)
                    break
                error = reply.get("error")
                if error:
                    self.cell_errors[index] = str(error)[:40]
            if failed_at is None:
                return self.sandbox
            index, reason = failed_at
            self.skipped.add(index)
            self.graded.notes.append(f"code cell {index + 1}: {reason}; it is skipped")
            self._retire()

    def _open(self) -> None:
        if self.restarts > MAX_RESTARTS or time.monotonic() > self.budget_ends:
            raise SandboxGone("the notebook failed too many times")
        self.restarts += 1
        self.staging = Path(tempfile.mkdtemp(prefix="submission-"))
        self.bundle.copy_support(self.staging)
        self.staging.chmod(0o755)
        self.sandbox = self.server.open(self.slot, self.staging, self.bundle.hidden_paths(), self.limits,
                                        self.bundle.given_modules, self.bundle.model_class_paths)
        for note in self.sandbox.degraded:
            if note not in self.graded.staff_notes:
                self.graded.staff_notes.append(note)

    def _retire(self) -> None:
        if self.sandbox is not None:
            self.sandbox.kill("retired")
            self.graded.staff_notes.append(f"sandbox exit: {self.sandbox.exit_status}")
            self.sandbox = None
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None

    def live(self) -> Sandbox:
        if self.sandbox is None or self.sandbox.dead:
            if self.sandbox is not None:
                self.graded.notes.append(f"the notebook's process was restarted ({self.sandbox.dead})")
            self._retire()
            return self.start()
        return self.sandbox

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
        self._retire()


def _public_message(question: Question, case, exc: BaseException) -> str:
    """What a student sees for a failed public case: otter's shape, without student text."""
    if isinstance(exc, SandboxGone):
        return f"{question.name} ({case.name}): the notebook's process stopped: {exc.reason}"
    if isinstance(exc, StudentException):
        return f"{question.name} ({case.name}): your code raised {type(exc).__name__}"
    text = str(exc).strip()[:300]
    return f"{question.name} ({case.name}): {type(exc).__name__}{': ' + text if text else ''}"


def _hidden_message(question: Question, exc: BaseException) -> str:
    """A failed hidden case: the check's own short message, or a generic line; never source."""
    if isinstance(exc, SandboxGone):
        return f"{question.name}: hidden tests stopped: {exc.reason}"
    checked = first_check_failure(exc)
    if checked:
        return checked[:300]
    if isinstance(exc, AssertionError) and str(exc).startswith(f"{question.name}: "):
        return str(exc)[:300]
    return f"{question.name}: a hidden test failed"


def _run_case(session: Session, question: Question, case, deadline: float) -> CaseResult:
    result = CaseResult(question.name, case.name, case.hidden, float(case.points), False)
    try:
        sandbox = session.live()
    except SandboxGone as gone:
        result.message = f"{question.name}: not graded: {gone.reason}"
        return result
    namespace = RemoteNamespace(sandbox, session.bundle.model_classes, session.bundle.given_modules, question.name)
    sandbox.deadline = deadline
    try:
        namespace.begin_test()
        case.body.call_func(namespace)
        result.passed = True
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure is a failed case
        result.message = _hidden_message(question, exc) if case.hidden else _public_message(question, case, exc)
    finally:
        try:
            namespace.release()
        except SandboxGone:
            pass
        sandbox.deadline = None
    return result


def grade_notebook(server: ForkServer, bundle: Bundle, notebook: nbformat.NotebookNode,
                   slot: int = 0, limits: Limits = Limits()) -> Graded:
    """Grade one parsed notebook with the bundle's tests."""
    started = time.monotonic()
    graded = Graded()
    session = Session(server, bundle, slot, limits, graded_code_cells(notebook), graded)
    try:
        try:
            session.start()
        except SandboxGone as gone:
            graded.notes.append(f"the notebook could not be run: {gone.reason}")
        for index, error in sorted(session.cell_errors.items()):
            graded.notes.append(f"code cell {index + 1} raised {error}")
        for hidden in (False, True):
            broken: dict[str, str] = {}  # question -> why its remaining cases of this pass are not run
            results: dict[str, list[CaseResult]] = {}
            for question in bundle.hidden_order if hidden else bundle.questions:
                deadline = time.monotonic() + limits.question_seconds
                for case in question.cases:
                    if case.hidden != hidden:
                        continue
                    if question.name in broken:
                        results.setdefault(question.name, []).append(CaseResult(
                            question.name, case.name, case.hidden, float(case.points), False, broken[question.name]))
                        continue
                    results.setdefault(question.name, []).append(_run_case(session, question, case, deadline))
                    if session.sandbox is None or session.sandbox.dead:
                        broken[question.name] = f"{question.name}: not run: an earlier test of it stopped the notebook's process"
            for question in bundle.questions:  # reported in the bundle's order
                graded.cases.extend(results.get(question.name, []))
    finally:
        session.close()
        reset_torch_state()
        graded.seconds = time.monotonic() - started
    texts = graded.notes + [c.message for c in graded.cases]
    if any(marker in text for text in texts for marker in TIME_LIMIT_MARKERS):
        graded.status = "timed out"
    return graded
