"""``autograder``: the one command staff use (``autograder <command> --help`` for each).

    autograder build [NAME ...]                  build and validate assignments into dist/
    autograder check NAME|FOLDER                 validate one master without touching dist/
    autograder grade ASSIGNMENT SUBMISSIONS      grade notebooks, zips or a Gradescope export
    autograder report OUT                        redraw OUT/report.html from OUT/graded.json

A thin layer: the work is done by :mod:`autograder.build`, :mod:`autograder.grading` and
:mod:`autograder.reporting`. A bad input ends with one line on stderr and a non-zero status
(2 for bad input, 1 for a failed build or a refused bundle, 130 when interrupted).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path


def _build(args) -> int:
    from autograder.build.pipeline import build_named

    return build_named(args.names)


def _check(args) -> int:
    from autograder.build.manifest import ASSIGNMENTS_DIR, load_manifest
    from autograder.build.pipeline import build_manifests

    folder = Path(args.assignment)
    if not folder.is_dir():
        folder = ASSIGNMENTS_DIR / args.assignment
    try:
        manifest = load_manifest(folder)
    except (ValueError, OSError) as exc:
        return _fail(f"{args.assignment}: not an assignment ({exc})")
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
        status = build_manifests([manifest], Path(tmp) / "dist", Path(tmp) / "work")
    if status == 0:
        print(f"{manifest.name}: the master builds and validates (dist/ untouched)")
    return status


def _grade(args) -> int:
    from autograder.engine.judge.bundle import BundleRefused
    from autograder.grading.batch import grade_folder, resolve_zip
    from autograder.grading.identities import Roster, read_roster
    from autograder.grading.inputs import InputError, submissions_folder

    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops grading as Ctrl-C does
    try:
        zip_path = resolve_zip(args.assignment)
        roster = None
        if args.roster is not None:
            if not args.roster.is_file():
                raise InputError(f"{args.roster}: no such roster file")
            roster = Roster(read_roster(args.roster))
        out = args.out or Path("graded") / Path(args.assignment).stem
        with submissions_folder(args.submissions) as folder:
            grade_folder(zip_path, folder, out, args.jobs, roster=roster)
    except BundleRefused as refused:  # before ValueError, which it is
        print(f"refused: {Path(args.assignment).name}: {refused}", file=sys.stderr)
        return 1
    except (InputError, ValueError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    return 0


def _report(args) -> int:
    from autograder.reporting.html_report import write_report

    if not (args.out / "graded.json").is_file():
        return _fail(f"{args.out}: no graded.json (the output folder of `autograder grade`)")
    print(write_report(args.out))
    return 0


def _fail(message: str) -> int:
    print(f"autograder: {message}", file=sys.stderr)
    return 2


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="autograder", description=__doc__.split("\n\n")[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    build = commands.add_parser("build", help="build and validate assignments into dist/<name>/",
                                description="Build each named assignment (default: all) into dist/<name>/: "
                                "student.zip, autograder.zip, solution.ipynb. A bundle is written only when it "
                                "validates; a failed build keeps the previous dist/<name>/.")
    build.add_argument("names", nargs="*", metavar="NAME", help="assignment folder names under assignments/")
    build.set_defaults(run=_build)
    check = commands.add_parser("check", help="validate one master without touching dist/",
                                description="Build one assignment into a temporary folder and validate it "
                                "(solution full marks, stub zero, no leak, engine = otter run); dist/ is untouched.")
    check.add_argument("assignment", metavar="NAME|FOLDER", help="an assignment name or its folder")
    check.set_defaults(run=_check)
    grade = commands.add_parser("grade", help="grade submissions with the engine",
                                description="Grade a folder of notebooks and grader.export() zips, one notebook, "
                                "one zip, or a Gradescope export (folder or zip). Writes results, feedback, "
                                "gradebooks (gradebook.csv, gradescope_scores.csv, canvas.csv), graded.json and "
                                "report.html into OUT, which then holds only this run's files.")
    grade.add_argument("assignment", help="assignment name (dist/<name>/autograder.zip) or an autograder zip")
    grade.add_argument("submissions", type=Path, help="a folder, a notebook, a zip, or a Gradescope export")
    grade.add_argument("-o", "--out", type=Path, help="output folder (default graded/<assignment>)")
    grade.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default 2)")
    grade.add_argument("--roster", type=Path, help="roster CSV (e.g. Canvas's gradebook export): LMS ids, "
                       "sections, and missing.csv of students without a submission")
    grade.set_defaults(run=_grade)
    report = commands.add_parser("report", help="redraw the HTML report of a graded batch",
                                 description="Write OUT/report.html from OUT/graded.json (grade writes both).")
    report.add_argument("out", type=Path, metavar="OUT", help="the output folder of `autograder grade`")
    report.set_defaults(run=_report)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
