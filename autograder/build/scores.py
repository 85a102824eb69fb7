"""Question point structure of a built bundle, and per-question scores from results.json.

The points of every question's public and hidden test cases are read from the bundle's own test
files (as otter resolves them), so fixture expectations never need a number typed in.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from otter.test_files import ExceptionTestFile


@dataclass(frozen=True)
class QuestionPoints:
    public: float
    hidden: float

    @property
    def total(self) -> float:
        return self.public + self.hidden

    def expected(self, outcome: str) -> float:
        """Points for an outcome of autograder.build.fixtures: full, public, hidden or zero."""
        return {"full": self.total, "public": self.public, "hidden": self.hidden, "zero": 0.0}[outcome]


def question_points(autograder_zip: Path) -> dict[str, QuestionPoints]:
    """Question name → its public and hidden points, from the zip's ``tests/*.py``."""
    points = {}
    with zipfile.ZipFile(autograder_zip) as zf, tempfile.TemporaryDirectory() as tmp:
        for name in sorted(zf.namelist()):
            if name.startswith("tests/") and name.endswith(".py"):
                path = Path(zf.extract(name, tmp))
                test_file = ExceptionTestFile.from_file(str(path))
                public = sum(tc.points for tc in test_file.test_cases if not tc.hidden)
                hidden = sum(tc.points for tc in test_file.test_cases if tc.hidden)
                points[path.stem] = QuestionPoints(float(public), float(hidden))
    return points


def scores_by_question(results: dict) -> dict[str, float]:
    """Question name → score from a Gradescope results.json (rows without max_score skipped)."""
    return {
        test["name"]: float(test.get("score") or 0.0)
        for test in results.get("tests", [])
        if "max_score" in test
    }


def score_namespace(autograder_zip: Path, namespace: dict, known_hidden_passes=frozenset()) -> dict[str, float]:
    """Question name → score of the zip's test files run against a namespace, in this process.

    This is what ``otter run`` does after executing a notebook, without the notebook: for our own
    fixture submissions only (it runs their code here, so it is no way to grade a student).
    The hidden cases of the questions in ``known_hidden_passes`` are counted as passed without
    running: for a question whose graded code is exactly the reference's (the checks are
    deterministic and the reference passes them, both tested elsewhere).
    """
    scores = {}
    with zipfile.ZipFile(autograder_zip) as zf, tempfile.TemporaryDirectory() as tmp:
        for name in sorted(zf.namelist()):
            if name.startswith("tests/") and name.endswith(".py"):
                question = Path(name).stem
                test_file = ExceptionTestFile.from_file(zf.extract(name, tmp))
                score = 0.0
                for case in test_file.test_cases:
                    if case.hidden and question in known_hidden_passes:
                        score += case.points
                        continue
                    try:
                        case.body.call_func(namespace)
                    except Exception:  # noqa: BLE001 - a failed case, as otter counts it
                        continue
                    score += case.points
                scores[question] = float(score)
    return scores
