"""Grade a folder of submissions with the grading engine.

    .venv/bin/python -m autograder.grade ASSIGNMENT SUBMISSIONS [-o OUT] [--jobs N]

ASSIGNMENT is an assignment name (its built ``dist/<name>/autograder.zip``) or the path of an
autograder zip. SUBMISSIONS is a folder of notebooks, ``grader.export()`` zips or a Gradescope
bulk export (see :mod:`autograder.engine.judge.intake`). OUT (default ``graded/<assignment>``) receives
``gradebook.csv``, ``results/<id>/results.json`` and ``feedback/<id>.txt``
(:mod:`autograder.engine.judge.report`).

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

import argparse
import concurrent.futures as futures
import multiprocessing
import multiprocessing.forkserver
import shutil
import signal
import sys
import time
from pathlib import Path

from autograder.engine.protocol.limits import Limits

REPO_ROOT = Path(__file__).resolve().parents[1]

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


def _grade_one(identifier: str, path: str, submitters: tuple, out_dir: str):
    from autograder.engine.judge import intake, report
    from autograder.engine.judge.submission import grade_submission

    bundle = _worker["bundle"]
    submission = intake.Submission(identifier, Path(path), submitters)
    graded = grade_submission(_worker["server"], bundle, submission, _worker["slot"], _worker["limits"])
    report.write_submission(Path(out_dir), identifier, graded, bundle)
    return graded


def resolve_zip(assignment: str) -> Path:
    path = Path(assignment)
    if path.suffix == ".zip" and path.is_file():
        return path.resolve()
    built = REPO_ROOT / "dist" / assignment / "autograder.zip"
    if built.is_file():
        return built
    raise SystemExit(f"no autograder zip for {assignment!r}: run `make dist` or pass a zip path")


def grade_folder(zip_path: Path, submissions_dir: Path, out_dir: Path, jobs: int = 2,
                 limits: Limits = Limits(), progress=sys.stderr) -> list:
    """Grade every submission; write the reports; return [(identifier, submitters, Graded)]."""
    from autograder.engine.judge import intake, report
    from autograder.engine.judge.bundle import extract_bundle, load_bundle_folder, sandbox_preload
    from autograder.engine.jail.launch import ForkServerProcess
    from autograder.engine.judge.outcome import Graded

    rows, started = [], time.monotonic()
    folder = extract_bundle(zip_path)
    server = None
    try:
        server = ForkServerProcess(sandbox_preload(folder))  # one warm sandbox worker for all jobs
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["autograder.engine.judge.judges_parent"])
        multiprocessing.forkserver.ensure_running()  # the judges' parent warms up while the bundle loads
        bundle = load_bundle_folder(folder)
        submissions = intake.collect(submissions_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        with futures.ProcessPoolExecutor(max(1, jobs), mp_context=context, initializer=_start_worker,
                                         initargs=(str(bundle.folder), limits, server.address)) as pool:
            pending = {pool.submit(_grade_one, s.identifier, str(s.path), s.submitters, str(out_dir)): s
                       for s in submissions}
            try:
                for done, future in enumerate(futures.as_completed(pending), 1):
                    submission = pending[future]
                    try:
                        graded = future.result()
                    except Exception as exc:  # noqa: BLE001 - a judge process died: still a row
                        graded = Graded(status="failed", message=f"the grader failed on this submission ({type(exc).__name__})")
                        report.write_submission(out_dir, submission.identifier, graded, bundle)
                    rows.append((submission.identifier, submission.submitters, graded))
                    total = bundle.total_score({q.name: graded.score(q.name) for q in bundle.questions})
                    print(f"[{done}/{len(submissions)}] {submission.identifier}: {graded.status}, "
                          f"{total:g}/{bundle.total_possible:g} ({graded.seconds:.1f} s)",
                          file=progress, flush=True)
            except BaseException:
                # Interrupted (Ctrl-C, SIGTERM) or failed: end every sandbox now, so each judge's
                # submission ends at once instead of running to its time limit, and grade no more.
                server.close()
                pool.shutdown(cancel_futures=True)
                print(f"stopped after {len(rows)} of {len(submissions)} submissions: no gradebook written; "
                      f"results/ in {out_dir} holds the submissions graded so far", file=progress, flush=True)
                raise
        (out_dir / "gradebook.csv").write_text(report.gradebook_csv(rows, bundle))
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(folder, ignore_errors=True)
    counts = {status: sum(1 for _, _, g in rows if g.status == status) for status in ("graded", "failed", "timed out")}
    print(f"graded {counts['graded']}, failed {counts['failed']}, timed out {counts['timed out']} "
          f"in {time.monotonic() - started:.1f} s -> {out_dir / 'gradebook.csv'}", file=progress, flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help="assignment name (dist/<name>/autograder.zip) or an autograder zip")
    parser.add_argument("submissions", type=Path, help="folder of notebooks, zips or a Gradescope export")
    parser.add_argument("-o", "--out", type=Path, help="output folder (default graded/<assignment>)")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default 2)")
    args = parser.parse_args(argv)
    zip_path = resolve_zip(args.assignment)
    out = args.out or Path("graded") / Path(args.assignment).stem
    from autograder.engine.judge.bundle import BundleRefused

    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops grading as Ctrl-C does
    try:
        grade_folder(zip_path, args.submissions, out, args.jobs)
    except BundleRefused as refused:
        raise SystemExit(f"refused: {zip_path.name}: {refused}") from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
