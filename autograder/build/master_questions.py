"""The questions a master notebook declares: each ``# BEGIN QUESTION`` raw cell's config.

otter assign turns autograded questions into test files but records nothing of the manual
(written) ones in the autograder zip, so the build writes them there itself
(:data:`autograder.engine.judge.bundle.MANUAL_QUESTIONS`): the gradebook then has a column for
each, and the assignment's true possible points (autograded + written).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import nbformat
import yaml

QUESTION_MARKER = "# BEGIN QUESTION"


@dataclass(frozen=True)
class MasterQuestion:
    name: str
    points: float
    manual: bool


def _points(value) -> float:
    """otter's ``points``: a number, a list of per-case points (summed), or absent (0 here)."""
    if isinstance(value, list):
        return float(sum(float(v) for v in value if v is not None))
    return float(value or 0)


def master_questions(notebook: nbformat.NotebookNode) -> list[MasterQuestion]:
    """Every question of the master, in notebook order."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type == "raw" and cell.source.lstrip().upper().startswith(QUESTION_MARKER):
            config = yaml.safe_load(cell.source) or {}
            found.append(MasterQuestion(str(config.get("name", "")), _points(config.get("points")),
                                        bool(config.get("manual", False))))
    return found


def manual_questions_json(notebook: nbformat.NotebookNode) -> bytes:
    """The bundle's record of the manual questions: ``[{"name": ..., "points": ...}, ...]``."""
    manual = [{"name": q.name, "points": q.points} for q in master_questions(notebook) if q.manual]
    return (json.dumps(manual, indent=1) + "\n").encode()
