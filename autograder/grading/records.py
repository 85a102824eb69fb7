"""What a graded batch hands to staff tools: one :class:`GradedSubmission` per submission, and
``graded.json``, the batch as data (the gradebooks and the HTML report are written from it).

``graded.json``::

    {"assignment": str, "possible": float,           # autograded + written points
     "questions": [{"name", "max_score", "manual"}],  # autograded first, in the bundle's order
     "submissions": [{"id", "submitters": [{"name", "sid", "email", "lms_id", "section"}],
                      "status", "message", "seconds", "grader",
                      "scores": {question: score},      # autograded questions only
                      "total",                           # otter's total of those scores
                      "cases": [{"question", "name", "hidden", "points", "passed", "message"}],
                      "notes": [str], "staff_notes": [str]}]}

Every string in it that came from a submission is the student's text: readers escape it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import NamedTuple

from autograder.engine.judge.outcome import Graded
from autograder.engine.judge.report import rounded
from autograder.grading.identities import Person


class GradedSubmission(NamedTuple):
    identifier: str
    submitters: tuple[Person, ...]
    graded: Graded


def possible_points(bundle) -> float:
    """The assignment's true possible points: the autograded total's, plus every written question's."""
    return bundle.total_possible + sum(bundle.manual_questions.values())


def graded_json(records: list[GradedSubmission], bundle, assignment: str) -> dict:
    questions = [{"name": q.name, "max_score": rounded(q.max_score), "manual": False} for q in bundle.questions]
    questions += [{"name": name, "max_score": rounded(points), "manual": True}
                  for name, points in bundle.manual_questions.items()]
    submissions = []
    for record in sorted(records, key=lambda r: r.identifier):
        graded, scores = record.graded, bundle.scores(record.graded)
        submissions.append({
            "id": record.identifier,
            "submitters": [dataclasses.asdict(p) for p in record.submitters],
            "status": graded.status, "message": graded.message,
            "seconds": round(graded.seconds, 2), "grader": graded.grader,
            "scores": {name: rounded(score) for name, score in scores.items()},
            "total": rounded(bundle.total_score(scores)),
            "cases": [dataclasses.asdict(c) for c in graded.cases],
            "notes": list(graded.notes), "staff_notes": list(graded.staff_notes),
        })
    return {"assignment": assignment, "possible": rounded(possible_points(bundle)),
            "questions": questions, "submissions": submissions}


def dumps(data: dict) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"
