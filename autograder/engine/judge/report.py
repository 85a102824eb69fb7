"""TRUSTED SIDE. What grading one submission leaves behind: results.json and feedback.

- ``results/<id>/results.json``: Gradescope's schema (``score``, ``execution_time``, ``output``,
  ``tests`` with ``name``/``score``/``max_score``/``output``/``visibility``/``status``). Every
  message in it was written by the judge: public test messages (otter's shape, no student
  exception text), hidden checks' short messages (never test source), notes about the run.
  Confinement steps the system did not allow are listed in a row only staff see.
  Students see a "Public tests" row at once and the per-question rows (scores, hidden
  results) once grades are published. A failure caused by a name that an earlier failed cell
  never defined names that cell.
- ``feedback/<id>.txt``: the same per-question lines as plain text.
"""

from __future__ import annotations

import json
from pathlib import Path

from autograder.engine.judge.bundle import Bundle
from autograder.engine.judge.outcome import Graded


def rounded(x: float) -> float | int:
    x = round(float(x), 5)
    return int(x) if x == int(x) else x


MISSING_NAME = ("raised NameError", "is not defined")  # what a failed earlier cell leaves behind


def _earlier_failure(graded: Graded) -> str:
    """The first code cell that raised, in words ("" when none did)."""
    if not graded.cell_errors:
        return ""
    index = min(graded.cell_errors)
    return f"code cell {index + 1} raised {graded.cell_errors[index]}"


def _explained(message: str, earlier: str) -> str:
    """A failure caused by a name an earlier failed cell never defined says which cell that was."""
    if earlier and any(m in message for m in MISSING_NAME):
        return f"{message} (probably because {earlier}: fix that cell first)"
    return message


def _passed(kind: str, cases: list) -> list[str]:
    return [f"{kind} tests: {sum(c.passed for c in cases)}/{len(cases)} passed"] if cases else []


def question_lines(graded: Graded, bundle: Bundle, hidden: bool = True) -> list[tuple[str, float, float, str]]:
    """(question, score, max, text) for every autograded question; the text covers the public
    cases, and the hidden ones too when ``hidden``. A kind of test a question has none of is not
    mentioned (no "0/0")."""
    earlier = _earlier_failure(graded)
    rows = []
    for question in bundle.questions:
        cases = [c for c in graded.cases if c.question == question.name and (hidden or not c.hidden)]
        public = [c for c in cases if not c.hidden]
        summary = _passed("public", public) + _passed("hidden", [c for c in cases if c.hidden])
        messages = [_explained(c.message, earlier) for c in cases if not c.passed and c.message]
        text = "; ".join(summary) or "no tests"
        rows.append((question.name, graded.score(question.name), question.max_score,
                     text + ("\n" + "\n".join(messages) if messages else "")))
    return rows


def _public_summary(graded: Graded, bundle: Bundle) -> str:
    """Every question's public tests, for the row students see before the deadline."""
    lines = [f"{name}: {text}" for name, _, _, text in question_lines(graded, bundle, hidden=False)
             if not text.startswith("no tests")]
    return "\n".join(lines) or "This assignment has no public tests."


def results_json(graded: Graded, bundle: Bundle) -> dict:
    """Gradescope's results: a "Public tests" row visible at once (no score: it reveals nothing
    of the hidden tests), then one row per question with its score, public and hidden results,
    visible once grades are published (otter's layout, with its hidden rows shown after
    publishing instead of never)."""
    tests = [{"name": "Public tests", "output": _public_summary(graded, bundle), "visibility": "visible",
              "status": "passed" if all(c.passed for c in graded.cases if not c.hidden) else "failed"}]
    for name, score, possible, text in question_lines(graded, bundle):
        tests.append({"name": name, "score": rounded(score), "max_score": rounded(possible),
                      "output": text, "visibility": "after_published",
                      "status": "passed" if score >= possible else "failed"})
    if graded.staff_notes:
        tests.append({"name": "Grading notes (staff only)", "output": "\n".join(graded.staff_notes),
                      "visibility": "hidden"})
    output = [f"Status: {graded.status}" + (f" ({graded.message})" if graded.message else "")]
    output += graded.notes
    return {
        "score": rounded(bundle.total_score(bundle.scores(graded))),
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
    for name, score, possible, text in question_lines(graded, bundle):
        lines.append(f"{name}: {rounded(score)}/{rounded(possible)} - {text}")
    lines.append(f"total: {rounded(bundle.total_score(bundle.scores(graded)))}/{rounded(bundle.total_possible)}")
    return "\n".join(lines) + "\n"


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
