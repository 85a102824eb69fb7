"""Gradescope's entry point: ``run_autograder`` runs ``python -m autograder.engine.gradescope /autograder``.

Gradescope extracts the bundle into ``/autograder/source``, puts the upload in
``/autograder/submission`` and reads ``/autograder/results/results.json``; student code would
otherwise run as root with the network open. Here:

1. the bundle and the results folder are made private to root (mode 0700), so a sandbox that
   cannot get mount namespaces in the container still cannot read tests or write results; the
   folders above the Python installation (``/root/miniforge3``) get the traverse bit, so the
   sandbox user can import the standard library it has not imported yet;
2. the one submission (a notebook or a ``grader.export()`` zip) is read as data
   (:mod:`judge.intake`), graded by the engine (:mod:`judge.submission`) with the fork server of this process,
   which starts first (its imports are the longest step of a cold start) and warms up while this
   process imports the judge's side (torch, otter's test-file loader) and loads the bundle;
3. results.json is written (:mod:`judge.report`), including what could not be confined in this
   container (a staff-only row) and why grading degraded; the same summary goes to stdout.

A submission that cannot be read still gets a results.json (score 0 and the reason).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import threading
from pathlib import Path

from autograder.engine.jail.launch import ForkServerProcess, lease_slot
from autograder.engine.judge.bundle import single_sandbox_preload
from autograder.engine.protocol.limits import Limits

# The autograder timeout the README tells staff to set (Gradescope's default, 10 minutes) covers
# the whole run: starting Python and the fork server, grading, writing results.json. Grading
# gets all of it but START_AND_REPORT_SECONDS (measured: well under 30 s on a 2-core machine;
# tests/test_gradescope_rehearsal.py checks it); no deadline of the engine outlasts its budget.
GRADESCOPE_TIMEOUT_SECONDS = 600
START_AND_REPORT_SECONDS = 120
GRADESCOPE_LIMITS = Limits(submission_seconds=GRADESCOPE_TIMEOUT_SECONDS - START_AND_REPORT_SECONDS,
                           notebook_seconds=300, question_seconds=120)


def _make_private(path: Path) -> None:
    if os.geteuid() == 0 and path.exists():
        os.chmod(path, 0o700)


def _open_python_path() -> None:
    """o+x (traverse, not read) on each folder above the interpreter that others cannot enter."""
    if os.geteuid() != 0:
        return
    for prefix in {sys.base_prefix, sys.prefix}:
        parts = Path(prefix).resolve().parts
        for depth in range(2, len(parts) + 1):
            folder = Path(*parts[:depth])
            mode = folder.stat().st_mode
            if not mode & 0o001:
                os.chmod(folder, mode | 0o001)


def main(autograder_dir: str = "/autograder", limits: Limits = GRADESCOPE_LIMITS) -> dict:
    """Grade ``<autograder_dir>/submission``. Folder permissions outside it are only changed in a
    real Gradescope container (``/autograder``), never on a machine that merely simulates one."""
    root = Path(autograder_dir)
    source, results = root / "source", root / "results"
    results.mkdir(parents=True, exist_ok=True)
    for private in (source, results):
        _make_private(private)
    if root == Path("/autograder"):
        _open_python_path()
    warm_worker = ForkServerProcess(single_sandbox_preload(source))  # before the imports below: they overlap
    try:
        payload = _grade(root, warm_worker.address, limits)
    finally:
        warm_worker.close()
    return payload


def _grade(root: Path, server_address: str, limits: Limits) -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread, as every judge (warm_judge) and sandbox
    gc.disable()  # the imports below make a large graph that needs no collecting: freeze it after
    import torch

    torch.set_num_threads(1)
    from autograder.engine.jail.client import ForkServer
    from autograder.engine.judge import intake, report
    from autograder.engine.judge.bundle import BundleRefused, load_bundle_folder
    from autograder.engine.judge.outcome import Graded
    from autograder.engine.judge.submission import grade_submission

    gc.freeze()
    gc.enable()

    source, results = root / "source", root / "results"
    try:
        bundle = load_bundle_folder(source)
    except BundleRefused as refused:
        return _write(results, report.refusal_json(str(refused)))
    bundle.load_recorded_examples()
    threading.Thread(target=_import_quietly, args=(bundle.judge_preload,), daemon=True).start()
    submissions = intake.collect(root / "submission")
    if len(submissions) == 1:
        slot, _lock = lease_slot()
        with ForkServer(address=server_address) as server:
            graded = grade_submission(server, bundle, submissions[0], slot, limits)
    else:
        graded = Graded(status="failed",
                        message=f"expected one notebook or zip in the submission, found {len(submissions)}")
    payload = _write(results, report.results_json(graded, bundle))
    for note in graded.staff_notes:
        print(f"[grading engine] {note}")
    return payload


def _import_quietly(modules: list[str]) -> None:
    """Import what the tests will (:attr:`Bundle.judge_preload`) while this process waits for
    the fork server and the notebook; a name that is not a module is skipped."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the test that imports it reports it
            continue


def _write(results: Path, payload: dict) -> dict:
    (results / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(payload["output"])
    return payload


def _leave() -> None:
    """End the process without the interpreter's teardown of torch, hypothesis and otter (0.3 to
    1 s of a cold start, measured): results.json is written and closed, the fork server (and so
    every sandbox) is gone, nothing else is buffered but standard output."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _arguments(argv: list[str]) -> str:
    """The Gradescope root folder (``run_autograder`` passes ``/autograder``); ``--help`` explains."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder.engine.gradescope",
                                     description="Grade the one submission of a Gradescope layout "
                                     "(ROOT/source, ROOT/submission) into ROOT/results/results.json.")
    parser.add_argument("root", nargs="?", default="/autograder", help="the layout's root (default /autograder)")
    return parser.parse_args(argv).root


if __name__ == "__main__":
    main(_arguments(sys.argv[1:]))
    _leave()
