"""Grade a folder of submissions with the grading engine (``autograder grade``, :mod:`autograder.cli`).

The folder holds notebooks, ``grader.export()`` zips or a Gradescope bulk export (see
:mod:`autograder.engine.judge.intake` and :mod:`inputs`); the output folder receives what
:mod:`outputs` lists: results.json and feedback per submission, the gradebooks, ``graded.json``
and the HTML report.

Each of the N jobs is a judge process with its own sandbox user (a slot leased machine-wide, so
concurrent grading runs never share one); student code runs only in sandboxes
(:mod:`autograder.engine.judge.grading`), forked by one warm worker all jobs share
(:class:`autograder.engine.jail.launch.ForkServerProcess`). The judges are forks of one process that
imported torch, hypothesis and the checks once (:mod:`autograder.engine.judge.warm_judge`), so a run
starts in the time of two imports that overlap, not one pair per job. The fork server starts
first (its start is the longest), then the judges' parent; this process reads the bundle
meanwhile and never imports torch or the checks itself. (A script that calls
:func:`grade_folder` needs the usual ``if __name__ == "__main__":`` guard: judge processes
re-import the main module.) Every submission yields a row, also
when a judge process itself dies: the row then says so and the batch goes on.
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import multiprocessing.forkserver
import shutil
import signal
import sys
import time
from pathlib import Path

from autograder.engine.protocol.limits import Limits
from autograder.grading import identities, outputs
from autograder.grading.identities import Roster
from autograder.grading.inputs import InputError
from autograder.grading.progress import Progress
from autograder.grading.records import GradedSubmission

REPO_ROOT = Path(__file__).resolve().parents[2]

_worker: dict = {}


def _start_worker(bundle_folder: str, limits: Limits, server_address: str) -> None:
    """Set up one judge process (forked from a parent that preloaded :mod:`judges_parent`)."""
    from multiprocessing.util import Finalize

    from autograder.engine.judge import warm_judge  # noqa: F401 - torch, the checks; in memory when preloaded
    from autograder.engine.judge.bundle import load_bundle_folder
    from autograder.engine.jail.launch import lease_slot
    from autograder.engine.jail.client import ForkServer

    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends a judge at once; the coordinator reports it
    _worker["slot"], _worker["slot_lock"] = lease_slot()
    _worker["server"] = ForkServer(address=server_address)
    Finalize(None, _worker["server"].close, exitpriority=10)  # forked workers skip atexit
    _worker["bundle"] = load_bundle_folder(Path(bundle_folder))
    _worker["bundle"].resolve_shipped_grading_code()
    _worker["bundle"].load_recorded_examples()
    _worker["limits"] = limits
    _worker["server"].wait_ready()


def _grade_one(identifier: str, path: str, out_dir: str):
    from autograder.engine.judge import intake, report
    from autograder.engine.judge.submission import grade_submission

    bundle = _worker["bundle"]
    graded = grade_submission(_worker["server"], bundle, intake.Submission(identifier, Path(path)),
                              _worker["slot"], _worker["limits"])
    report.write_submission(Path(out_dir), identifier, graded, bundle)
    return graded


def resolve_zip(assignment: str) -> Path:
    """An assignment name (its built ``dist/<name>/autograder.zip``) or an autograder zip's path."""
    path = Path(assignment)
    if path.suffix == ".zip" and path.is_file():
        return path.resolve()
    built = REPO_ROOT / "dist" / assignment / "autograder.zip"
    if built.is_file():
        return built
    raise InputError(f"no autograder zip for {assignment!r}: run `autograder build {assignment}` or pass a zip's path")


def _identities(submissions_dir: Path, submissions: list) -> dict[str, tuple]:
    """Submission → its submitters: Gradescope's metadata for a ``submission_<id>`` folder it
    lists, else the file (or folder) name."""
    from_metadata = identities.gradescope_submitters(submissions_dir)
    return {s.identifier: from_metadata.get(s.identifier) or identities.file_name_identity(s.identifier)
            for s in submissions}


def grade_folder(zip_path: Path, submissions_dir: Path, out_dir: Path, jobs: int = 2,
                 limits: Limits = Limits(), progress=sys.stderr, roster: Roster | None = None) -> list[GradedSubmission]:
    """Grade every submission in ``submissions_dir``; write what :func:`write_outputs` writes
    (``out_dir`` holds only this run's files: :func:`outputs.clear`); return the records."""
    from autograder.engine.judge import intake, report
    from autograder.engine.judge.bundle import extract_bundle, load_bundle_folder, sandbox_preload
    from autograder.engine.jail.launch import ForkServerProcess
    from autograder.engine.judge.outcome import Graded

    records, started = [], time.monotonic()
    folder = extract_bundle(zip_path)
    server = None
    try:
        server = ForkServerProcess(sandbox_preload(folder))  # one warm sandbox worker for all jobs
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["autograder.engine.judge.judges_parent"])
        multiprocessing.forkserver.ensure_running()  # the judges' parent warms up while the bundle loads
        bundle = load_bundle_folder(folder)
        submissions = intake.collect(submissions_dir)
        who = _identities(Path(submissions_dir), submissions)
        outputs.clear(out_dir)
        bar = Progress(len(submissions), progress)
        with futures.ProcessPoolExecutor(max(1, jobs), mp_context=context, initializer=_start_worker,
                                         initargs=(str(bundle.folder), limits, server.address)) as pool:
            pending = {pool.submit(_grade_one, s.identifier, str(s.path), str(out_dir)): s for s in submissions}
            try:
                for future in futures.as_completed(pending):
                    submission = pending[future]
                    try:
                        graded = future.result()
                    except Exception as exc:  # noqa: BLE001 - a judge process died: still a row
                        graded = Graded(status="failed", message="the grader stopped while grading this "
                                        "submission; ask the course staff to grade it again")
                        graded.staff_notes.append(f"the judge process failed: {type(exc).__name__}: {str(exc)[:300]}")
                        report.write_submission(out_dir, submission.identifier, graded, bundle)
                    records.append(GradedSubmission(submission.identifier, who[submission.identifier], graded))
                    total = bundle.total_score(bundle.scores(graded))
                    bar.step(f"{submission.identifier}: {graded.status}, {total:g}/{bundle.total_possible:g} "
                             f"({graded.seconds:.1f} s)")
            except BaseException:
                # Interrupted (Ctrl-C, SIGTERM) or failed: end every sandbox now, so each judge's
                # submission ends at once instead of running to its time limit, and grade no more.
                server.close()
                pool.shutdown(cancel_futures=True)
                bar.say(f"stopped after {len(records)} of {len(submissions)} submissions: no gradebook written; "
                        f"results/ in {out_dir} holds the submissions graded so far")
                raise
        written = outputs.write(out_dir, records, bundle, submissions, str(bundle.config.get("assignment_name") or Path(zip_path).stem),
                                roster)
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(folder, ignore_errors=True)
    counts = {status: sum(1 for r in records if r.graded.status == status) for status in ("graded", "failed", "timed out")}
    bar.say(f"graded {counts['graded']}, failed {counts['failed']}, timed out {counts['timed out']} "
            f"in {time.monotonic() - started:.1f} s -> {', '.join(p.name for p in written)} in {out_dir}")
    return records
