"""The output folder of ``autograder grade``: it holds this run's files and nothing else.

    results/<id>/results.json   Gradescope's schema (:mod:`autograder.engine.judge.report`)
    feedback/<id>.txt           the same lines as plain text
    written/<id>.pdf            the PDF of written answers a ``grader.export()`` zip holds
    gradebook.csv, gradescope_scores.csv, canvas.csv, missing.csv   (:mod:`gradebook`)
    graded.json                 the batch as data (:mod:`records`)
    report.html                 the staff report (:mod:`autograder.reporting.html_report`)

:func:`clear` removes a previous run's files before grading starts, and refuses a folder that
holds anything else (it might be the course's own files), so no stale result survives a regrade.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.grading import gradebook, records
from autograder.grading.identities import Roster
from autograder.grading.inputs import InputError
from autograder.grading.records import GradedSubmission

FOLDERS = ("results", "feedback", "written")
FILES = ("gradebook.csv", "gradescope_scores.csv", "canvas.csv", "missing.csv", "graded.json", "report.html")


def clear(out_dir: Path) -> None:
    """Make ``out_dir`` an empty output folder (removing only a previous run's files)."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise InputError(f"{out_dir}: the output folder is a file")
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in FOLDERS + FILES)
        if foreign:
            raise InputError(f"{out_dir}: the output folder holds files grading did not write "
                             f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}); choose another")
        for name in FOLDERS:
            shutil.rmtree(out_dir / name, ignore_errors=True)
        for name in FILES:
            (out_dir / name).unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)


def _with_roster(rows: list[GradedSubmission], roster: Roster | None) -> list[GradedSubmission]:
    if roster is None:
        return rows
    return [row._replace(submitters=tuple(roster.match(p) for p in row.submitters)) for row in rows]


def write(out_dir: Path, rows: list[GradedSubmission], bundle, submissions: list, assignment: str,
          roster: Roster | None = None) -> list[Path]:
    """Everything but ``results/`` and ``feedback/`` (written as each submission is graded);
    return the paths written."""
    from autograder.grading.written import extract_written_pdf
    from autograder.reporting.html_report import write_report

    rows = _with_roster(rows, roster)
    written = []
    for submission in submissions:
        if submission.path.suffix == ".zip":
            pdf = extract_written_pdf(submission.path, out_dir / "written" / f"{submission.identifier}.pdf")
            written += [pdf] if pdf else []
    paths = gradebook.write_gradebooks(out_dir, rows, bundle, assignment, roster)
    (out_dir / "graded.json").write_text(records.dumps(records.graded_json(rows, bundle, assignment)), encoding="utf-8")
    paths.append(out_dir / "graded.json")
    paths.append(write_report(out_dir))
    if written:
        paths.append(out_dir / "written")
    return paths
