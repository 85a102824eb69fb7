"""What grading one submission yields: the record the judge fills in and the reports are written
from (:mod:`report`). Plain data, importable without torch or the checks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CaseResult:
    question: str
    name: str
    hidden: bool
    points: float
    passed: bool
    message: str = ""


@dataclass
class Graded:
    """The outcome of one submission (what the reports are written from)."""

    status: str = "graded"              # graded | failed | timed out
    message: str = ""                    # why, when not simply graded
    cases: list[CaseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)       # shown to the student
    staff_notes: list[str] = field(default_factory=list)  # shown to staff only
    seconds: float = 0.0
    grader: str = "engine"                # engine | otter (otter's own grading, in the sandbox)
    all_or_nothing: frozenset[str] = frozenset()  # questions scored all or nothing (otter's rule)
    cell_errors: dict[int, str] = field(default_factory=dict)  # code cell index -> the exception's type

    def score(self, question: str) -> float:
        """The question's points: its passed cases' points, or, for an all-or-nothing question,
        every point when every case passed and none otherwise (otter's ``TestFile.score``)."""
        cases = [c for c in self.cases if c.question == question]
        if question in self.all_or_nothing:
            return float(sum(c.points for c in cases)) if all(c.passed for c in cases) else 0.0
        return float(sum(c.points for c in cases if c.passed))


def author_message(case) -> str:
    """The failure message the test's author attached to an otter test case (otter shows it
    with a failed case), as a suffix; empty when there is none."""
    message = getattr(case, "failure_message", None)
    return f" ({str(message)[:300]})" if message else ""
