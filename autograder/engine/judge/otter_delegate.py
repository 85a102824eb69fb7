"""TRUSTED SIDE. Grade one submission with otter's own grading, inside a sandbox.

For what the engine cannot grade exactly as ``otter run`` does (:mod:`otter_features`), the
judge lays out Gradescope's folders in a staging folder (the bundle as ``autograder/source``, the
notebook in ``autograder/submission``), opens a sandbox with the otter runtime
(:mod:`autograder.engine.sandbox.otter_runtime`: same user, namespaces, cgroups and limits as any sandbox, its loopback
up for the Jupyter kernel), and asks it to grade. The sandbox reports only which case of which
test file passed; the points come from the judge's own reading of the test files
(:meth:`outcome.Graded.score`, otter's rule), so the per-question scores are otter's.

otter runs every test in the student's process, so this path has otter's trust model (a
submission can tamper with its own tests) inside our confinement (no network, no other
submission's files, limits, a result in bounded time). Staff see which grader graded each
submission and why; students see the pass/fail of each case, never test source or output.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.engine.jail.client import TIME, ForkServer, SandboxGone
from autograder.engine.judge.bundle import Bundle
from autograder.engine.judge.outcome import CaseResult, Graded, author_message
from autograder.engine.protocol import messages
from autograder.engine.protocol.limits import Limits


def _stage(bundle: Bundle, notebook: nbformat.NotebookNode) -> Path:
    """A staging folder laid out like ``otter run``'s: source, submission (the sandbox adds
    results)."""
    staging = Path(tempfile.mkdtemp(prefix="otter-submission-"))
    root = staging / messages.OTTER_AUTOGRADER_DIR
    shutil.copytree(bundle.folder, root / "source", symlinks=False,
                    ignore=shutil.ignore_patterns("*.zip"))
    (root / "submission").mkdir()
    (root / "submission_metadata.json").write_text("{}")
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))
    notebook.metadata.setdefault("kernelspec", {})["name"] = "python3"  # intake decided: Python 3
    nbformat.write(notebook, root / "submission" / (bundle.notebook_name if bundle.notebook_name != ".ipynb"
                                                     else "submission.ipynb"))
    staging.chmod(0o755)
    return staging


def _outcomes(reply: dict, bundle: Bundle) -> dict[tuple[str, int], bool]:
    """The reported case outcomes, kept only where they name a case of the bundle."""
    known = {q.name: len(q.cases) for q in bundle.questions}
    outcomes = {}
    for entry in reply.get("cases", [])[:10_000] if isinstance(reply.get("cases"), list) else []:
        if (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)
                and type(entry[1]) is int and type(entry[2]) is bool
                and 0 <= entry[1] < known.get(entry[0], 0)):
            outcomes[(entry[0], entry[1])] = entry[2]
    return outcomes


def grade_with_otter(server: ForkServer, bundle: Bundle, notebook: nbformat.NotebookNode,
                     slot: int, limits: Limits, reasons: list[str]) -> Graded:
    """Grade ``notebook`` with otter's grading in a sandbox; every case otter did not report as
    passed fails."""
    started = time.monotonic()
    graded = Graded(grader="otter", all_or_nothing=bundle.all_or_nothing)
    graded.staff_notes.append("graded by otter's own grading inside the sandbox (tests ran in the "
                              f"student's process): {'; '.join(reasons)[:500]}")
    staging = _stage(bundle, notebook)
    sandbox = None
    reply: dict = {}
    try:
        sandbox = server.open(slot, staging, bundle.hidden_paths(), limits, runtime="otter")
        graded.staff_notes.extend(n for n in sandbox.degraded if n not in graded.staff_notes)
        reply, _ = sandbox.request(messages.Grade(), timeout=limits.submission_seconds)
    except SandboxGone as gone:
        graded.status, graded.message = ("timed out" if gone.cause == TIME else "failed"), gone.reason
    finally:
        if sandbox is not None:
            sandbox.close()
            graded.staff_notes.append(f"sandbox exit: {sandbox.exit_status}")
        shutil.rmtree(staging, ignore_errors=True)
    if reply.get("error"):
        graded.status, graded.message = "failed", "otter's grading failed on this submission"
        graded.staff_notes.append(f"otter raised {str(reply['error'])[:80]}")
    outcomes = _outcomes(reply, bundle)
    for question in bundle.questions:
        for index, case in enumerate(question.cases):
            passed = outcomes.get((question.name, index), False)
            message = "" if passed else f"{question.name} ({case.name}): failed{author_message(case)}"
            graded.cases.append(CaseResult(question.name, case.name, case.hidden, float(case.points), passed, message))
    graded.seconds = time.monotonic() - started
    return graded

