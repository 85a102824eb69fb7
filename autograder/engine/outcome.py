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

    def score(self, question: str) -> float:
        return float(sum(c.points for c in self.cases if c.question == question and c.passed))
