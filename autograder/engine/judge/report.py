"""TRUSTED SIDE. What a graded batch leaves behind: results.json, gradebook, feedback.

- ``results/<id>/results.json``: Gradescope's schema (``score``, ``execution_time``, ``output``,
  ``tests`` with ``name``/``score``/``max_score``/``output``/``visibility``/``status``). Every
  message in it was written by the judge: public test messages (otter's shape, no student
  exception text), hidden checks' short messages (never test source), notes about the run.
  Confinement steps the system did not allow are listed in a row only staff see.
- ``gradebook.csv``: one row per submission: identifier, submitters, one column per question,
  total, possible, status, message. Sorted by identifier and free of timings, so grading a batch
  twice gives the same file byte for byte.
- ``feedback/<id>.txt``: the same per-question lines as plain text.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from autograder.engine.judge.bundle import Bundle
from autograder.engine.judge.outcome import Graded


def _number(x: float) -> float | int:
    x = round(float(x), 5)
    return int(x) if x == int(x) else x


def question_lines(graded: Graded, bundle: Bundle) -> list[tuple[str, float, float, str]]:
    """(question, score, max, text) for every question of the bundle."""
    rows = []
    for question in bundle.questions:
        cases = [c for c in graded.cases if c.question == question.name]
        messages = [c.message for c in cases if not c.passed and c.message]
        public = [c for c in cases if not c.hidden]
        hidden = [c for c in cases if c.hidden]
        summary = [f"public tests: {sum(c.passed for c in public)}/{len(public)} passed"]
        if hidden:
            summary.append(f"hidden tests: {sum(c.passed for c in hidden)}/{len(hidden)} passed")
        text = "; ".join(summary) + ("\n" + "\n".join(messages) if messages else "")
        rows.append((question.name, graded.score(question.name), question.max_score, text))
    return rows


def results_json(graded: Graded, bundle: Bundle) -> dict:
    tests = []
    for name, score, possible, text in question_lines(graded, bundle):
        tests.append({"name": name, "score": _number(score), "max_score": _number(possible),
                      "output": text, "visibility": "after_published",
                      "status": "passed" if score >= possible else "failed"})
    if graded.staff_notes:
        tests.append({"name": "Grading notes (staff only)", "output": "\n".join(graded.staff_notes),
                      "visibility": "hidden"})
    output = [f"Status: {graded.status}" + (f" ({graded.message})" if graded.message else "")]
    output += graded.notes
    return {
        "score": _number(bundle.total_score({q.name: graded.score(q.name) for q in bundle.questions})),
        "execution_time": round(graded.seconds, 2),
        "output": "\n".join(output),
        "output_format": "text",
        "test_output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def feedback_text(identifier: str, graded: Graded, bundle: Bundle) -> str:
    lines = [f"Submission {identifier}: {graded.status}" + (f" ({graded.message})" if graded.message else "")]
    lines += [f"note: {n}" for n in graded.notes]
    scores = {}
    for name, score, possible, text in question_lines(graded, bundle):
        scores[name] = score
        lines.append(f"{name}: {_number(score)}/{_number(possible)} - {text}")
    lines.append(f"total: {_number(bundle.total_score(scores))}/{_number(bundle.total_possible)}")
    return "\n".join(lines) + "\n"


def gradebook_csv(rows: list[tuple[str, tuple[str, ...], Graded]], bundle: Bundle) -> str:
    names = [q.name for q in bundle.questions]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["submission", "submitters", *names, "total", "possible", "status", "message"])
    for identifier, submitters, graded in sorted(rows, key=lambda r: r[0]):
        scores = {n: graded.score(n) for n in names}
        writer.writerow([identifier, ";".join(submitters), *(_number(s) for s in scores.values()),
                         _number(bundle.total_score(scores)), _number(bundle.total_possible),
                         graded.status, graded.message])
    return out.getvalue()


def refusal_json(reason: str) -> dict:
    """results.json for a bundle the grader refuses: no score, the reason for staff and students."""
    return {"score": 0, "output": f"This assignment's autograder cannot grade submissions: {reason}",
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden", "tests": []}


def write_submission(out_dir: Path, identifier: str, graded: Graded, bundle: Bundle) -> None:
    folder = out_dir / "results" / identifier
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results_json(graded, bundle), indent=2) + "\n")
    feedback = out_dir / "feedback"
    feedback.mkdir(parents=True, exist_ok=True)
    (feedback / f"{identifier}.txt").write_text(feedback_text(identifier, graded, bundle))
