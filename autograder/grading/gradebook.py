"""The gradebook of a batch, and the same scores in the forms LMS imports accept.

- ``gradebook.csv``: one row per submitter (each member of a group gets the group's row):
  submission, name, SID, email, one column per autograded question, one per written question
  (blank: graded by hand on Gradescope), ``total`` (the autograded total, otter's formula),
  ``possible`` (every point of the assignment, written questions included), status, message.
  Sorted and free of timings, so a regrade gives the same bytes.
- ``gradescope_scores.csv``: Gradescope's score upload (Assignment > Manage Scores > Upload):
  ``Name, SID, Email, Total Score``; Gradescope matches students by email or SID.
- ``canvas.csv``: Canvas's gradebook import (Grades > Import): ``Student, ID, SIS User ID,
  SIS Login ID, Section`` and one assignment column holding the autograded total. With a roster,
  ``ID`` is the student's Canvas id; without, Canvas matches by SIS User ID (the SID) and
  SIS Login ID (the email).
- ``missing.csv`` (with a roster): the roster's students with no submission.

Every text cell is the student's (names, file names, messages): one that a spreadsheet would
read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is
written with a leading apostrophe (:func:`safe_cell`). Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from autograder.engine.judge.report import rounded
from autograder.grading.identities import Person, Roster
from autograder.grading.records import GradedSubmission, possible_points

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """A CSV cell a spreadsheet shows as text: numbers as they are, text that could start a
    formula (OWASP's CSV-injection starts) behind an apostrophe."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([[safe_cell(c) for c in row] for row in rows])
    return out.getvalue()


def _people(record: GradedSubmission) -> tuple[Person, ...]:
    return record.submitters or (Person(name=record.identifier),)


def _sorted(records: list[GradedSubmission]) -> list[GradedSubmission]:
    return sorted(records, key=lambda r: r.identifier)


def gradebook_csv(records: list[GradedSubmission], bundle) -> str:
    autograded = [q.name for q in bundle.questions]
    manual = list(bundle.manual_questions)
    rows = []
    for record in _sorted(records):
        scores = bundle.scores(record.graded)
        graded = record.graded
        for person in _people(record):
            rows.append([record.identifier, person.name, person.sid, person.email,
                         *(rounded(scores[q]) for q in autograded), *("" for _ in manual),
                         rounded(bundle.total_score(scores)), rounded(possible_points(bundle)),
                         graded.status, graded.message])
    return _csv(["submission", "name", "sid", "email", *autograded, *manual, "total", "possible",
                 "status", "message"], rows)


def gradescope_scores_csv(records: list[GradedSubmission], bundle) -> str:
    rows = [[p.name, p.sid, p.email, rounded(bundle.total_score(bundle.scores(r.graded)))]
            for r in _sorted(records) for p in _people(r)]
    return _csv(["Name", "SID", "Email", "Total Score"], rows)


def canvas_csv(records: list[GradedSubmission], bundle, column: str) -> str:
    rows = [[p.name, p.lms_id, p.sid, p.email, p.section, rounded(bundle.total_score(bundle.scores(r.graded)))]
            for r in _sorted(records) for p in _people(r)]
    return _csv(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column], rows)


def missing_csv(roster: Roster) -> str:
    return _csv(["name", "sid", "email", "lms_id", "section"],
                [[p.name, p.sid, p.email, p.lms_id, p.section] for p in roster.unmatched()])


def write_gradebooks(out_dir: Path, records: list[GradedSubmission], bundle, canvas_column: str,
                     roster: Roster | None = None) -> list[Path]:
    """Write every CSV above into ``out_dir``; return their paths."""
    files = {"gradebook.csv": gradebook_csv(records, bundle),
             "gradescope_scores.csv": gradescope_scores_csv(records, bundle),
             "canvas.csv": canvas_csv(records, bundle, canvas_column)}
    if roster is not None:
        files["missing.csv"] = missing_csv(roster)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    return [out_dir / name for name in files]
