"""UNTRUSTED SIDE. otter's own grading, run inside a sandbox for a bundle the engine hands over.

The fork server starts this instead of :mod:`autograder.engine.sandbox.runtime` when the judge asks for otter's
grading (:mod:`autograder.engine.judge.otter_delegate`). The scratch folder holds Gradescope's layout as ``otter run``
builds it: ``autograder/source`` (the bundle), ``autograder/submission`` (the notebook) and
``autograder/results``. On the judge's ``grade`` request this runs otter's autograder there, as
``otter run`` does (a Jupyter kernel executes the notebook, every test runs in that kernel), then
reports which case of which test file passed:

``Grade``  → ``{"cases": [[test file name, case index, passed], ...]}`` or ``{"error": type}``
``Bye``    exit

Everything here, and the kernel, runs as the sandbox user with the sandbox's limits; the judge
scores the reported outcomes with its own reading of the test files (points, all-or-nothing),
and takes nothing else from here.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
from pathlib import Path

from autograder.engine.protocol import messages, wire
from autograder.engine.protocol.codec import type_name



def _case_outcomes(results_pickle: Path) -> list[list]:
    """``[name, index, passed]`` for every case otter ran (from its ``results.pkl``)."""
    import dill

    with open(results_pickle, "rb") as handle:
        results = dill.load(handle)
    outcomes = []
    for name, test_file in results.results.items():
        for index, result in enumerate(test_file.test_case_results):
            outcomes.append([str(name), index, bool(result.passed)])
    return outcomes


def grade(scratch: Path) -> dict:
    from otter.run.run_autograder import main as run_autograder

    root = scratch / messages.OTTER_AUTOGRADER_DIR
    (root / "results").mkdir(exist_ok=True)  # the scratch copy holds files, not empty folders
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            run_autograder(str(root), otter_run=True, logo=False)
        return {"cases": _case_outcomes(root / "results" / "results.pkl")}
    except BaseException as exc:  # noqa: BLE001 - otter failed on this submission: report, not die
        return {"error": type_name(exc)}


def main(fd: int, scratch: Path) -> None:
    sock = socket.socket(fileno=fd)
    try:
        while True:
            header, _ = wire.receive(sock, timeout=None, limit=None)
            if not isinstance(messages.request(header), messages.Grade):
                return
            wire.send(sock, grade(scratch))
    finally:
        os._exit(0)
