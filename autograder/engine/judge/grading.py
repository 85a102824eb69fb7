"""TRUSTED SIDE. Grade one submission: run its notebook in a sandbox, run the tests here.

The notebook's code cells run in a sandbox (reached through :mod:`autograder.engine.jail.client`);
every test case of the bundle runs in this process against a :class:`remote.RemoteNamespace` of
that sandbox, which shows the notebook as of the question's last ``grader.check`` (as otter
grades it). All public test cases
run first, then all hidden ones: the hidden checks' isolation sends reference code of the
questions a question depends on into the sandbox, and by then no test whose message echoes
student data is left; hidden checks run in dependency order (``Bundle.hidden_order``), so the
reference code a check exposes belongs to questions already graded.

Robustness: a cell, a call or a question that exceeds its time limit, a process that exits or
crashes, a protocol violation: the sandbox is killed with everything it started, the case at hand
fails with a short message, the question's remaining public (or hidden) cases fail without
running (an attack costs at most one restart per pass), and a fresh sandbox re-runs the notebook (skipping a cell that ended the
process) for what is left, at most ``MAX_RESTARTS`` times and while the submission's time
budget lasts (no notebook or question deadline outlasts that budget). Every submission ends with a :class:`Graded` record; nothing a submission does can
raise out of :func:`grade_notebook`.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from autograder.checks.compare import first_check_failure
from autograder.engine.jail.client import TIME, ForkServer, Sandbox, SandboxGone
from autograder.engine.judge.bundle import Bundle, Question
from autograder.engine.judge.cells import graded_code_cells, seeded
from autograder.engine.judge.otter_delegate import grade_with_otter
from autograder.engine.judge.outcome import CaseResult, Graded, author_message
from autograder.engine.judge.remote import RemoteNamespace, StudentException
from autograder.engine.protocol import messages
from autograder.engine.protocol.limits import Limits
from autograder.engine.shared.torch_mode import reset_torch_state

MAX_RESTARTS = 16


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
        self.timed_out = False  # a time limit ended a sandbox (the submission's status says so)
        self.unfaithful: list[str] = []  # what a test received that the engine could not carry

    def stopped(self, gone: SandboxGone) -> SandboxGone:
        """Take note of why a sandbox is gone; return it (to be raised or reported)."""
        self.timed_out = self.timed_out or gone.cause == TIME
        return gone

    def start(self) -> Sandbox:
        """A live sandbox that has executed the notebook (re-run after a crash)."""
        while True:
            self._open()
            deadline = min(time.monotonic() + self.limits.notebook_seconds, self.budget_ends)
            failed_at = None
            for index, source in enumerate(self.cells):
                if index in self.skipped:
                    continue
                left = deadline - time.monotonic()
                try:
                    if left <= 0:
                        raise SandboxGone("the notebook ran out of time", TIME)
                    reply, _ = self.sandbox.request(messages.Cell(source, index),
                                                    timeout=min(self.limits.cell_seconds, left))
                except SandboxGone as gone:
                    failed_at = (index, self.stopped(gone).reason)
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
            self.sandbox.kill("grading of this submission ended")
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
        result.message = f"{question.name}: not graded: {session.stopped(gone).reason}"
        return result
    namespace = RemoteNamespace(sandbox, session.bundle.model_classes, session.bundle.given_modules, question.name)
    sandbox.deadline = deadline
    try:
        namespace.begin_test()
        seed_global_generators(session.bundle.config)
        case.body.call_func(namespace)
        result.passed = True
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure is a failed case
        if isinstance(exc, SandboxGone):
            session.stopped(exc)
        result.message = _hidden_message(question, exc) if case.hidden else _public_message(question, case, exc)
        result.message += author_message(case)
    finally:
        try:
            namespace.release()
        except SandboxGone:
            pass
        sandbox.deadline = None
    session.unfaithful.extend(f"{question.path}: a test received a {kind} the engine cannot carry as data"
                              for kind in dict.fromkeys(namespace.opaque_seen))
    return result


def seed_global_generators(config: dict) -> None:
    """With a ``seed`` in the bundle's config (and no ``seed_variable``), otter's tests run right
    after a ``grader.check`` cell that seeded numpy's and Python's global generators: a test
    drawing from them (through a library it takes as a parameter) draws the same here."""
    if config.get("seed") is not None and config.get("seed_variable") is None:
        np.random.seed(int(config["seed"]))
        random.seed(int(config["seed"]))


def grade_notebook(server: ForkServer, bundle: Bundle, notebook: nbformat.NotebookNode,
                   slot: int = 0, limits: Limits = Limits()) -> Graded:
    """Grade one parsed notebook with the bundle's tests: by the engine, or by otter's own
    grading in a sandbox (:mod:`otter_delegate`) where the bundle's plan says so, or where a test
    of a bundle without secrets received a value the engine could not carry faithfully (the
    judge's later submissions of that bundle then go to otter directly)."""
    plan = bundle.plan
    if plan.by_otter:
        return grade_with_otter(server, bundle, notebook, slot, limits, plan.delegate)
    graded, unfaithful = _grade_with_engine(server, bundle, notebook, slot, limits)
    if unfaithful and not bundle.holds_secrets:
        plan.delegate.extend(dict.fromkeys(unfaithful))
        return grade_with_otter(server, bundle, notebook, slot, limits, plan.delegate)
    return graded


def _grade_with_engine(server: ForkServer, bundle: Bundle, notebook: nbformat.NotebookNode,
                       slot: int, limits: Limits) -> tuple[Graded, list[str]]:
    """The engine's grading, and what it could not see faithfully (see :func:`grade_notebook`)."""
    started = time.monotonic()
    graded = Graded(all_or_nothing=bundle.all_or_nothing)
    session = Session(server, bundle, slot, limits, seeded(graded_code_cells(notebook), bundle.config), graded)
    try:
        try:
            session.start()
        except SandboxGone as gone:
            graded.notes.append(f"the notebook could not be run: {session.stopped(gone).reason}")
        graded.cell_errors = dict(session.cell_errors)
        for index, error in sorted(session.cell_errors.items()):
            graded.notes.append(f"code cell {index + 1} raised {error}")
        for hidden in (False, True):
            broken: dict[str, str] = {}  # question -> why its remaining cases of this pass are not run
            results: dict[str, list[CaseResult]] = {}
            for question in bundle.hidden_order if hidden else bundle.questions:
                deadline = min(time.monotonic() + limits.question_seconds, session.budget_ends)
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
    if session.timed_out:
        graded.status = "timed out"
    return graded, session.unfaithful
