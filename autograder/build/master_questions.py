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
    tests: tuple[str, ...] = ()  # the code of its test cells (between raw BEGIN/END TESTS)


def _points(value) -> float:
    """otter's ``points``: a number, a list of per-case points (summed), or absent (0 here)."""
    if isinstance(value, list):
        return float(sum(float(v) for v in value if v is not None))
    return float(value or 0)


def master_questions(notebook: nbformat.NotebookNode) -> list[MasterQuestion]:
    """Every question of the master with its test cells, in notebook order."""
    configs: list[dict] = []
    tests: list[list[str]] = []
    in_question = in_tests = False
    for cell in notebook.cells:
        text = cell.source.strip().upper() if cell.cell_type == "raw" else ""
        if text.startswith(QUESTION_MARKER):
            configs.append(yaml.safe_load(cell.source) or {})
            tests.append([])
            in_question = True
        elif text in ("# BEGIN TESTS", "# END TESTS"):
            in_tests = text == "# BEGIN TESTS"
        elif text == "# END QUESTION":
            in_question = False
        elif in_question and in_tests and cell.cell_type == "code":
            tests[-1].append(cell.source)
    return [MasterQuestion(str(c.get("name", "")), _points(c.get("points")), bool(c.get("manual", False)),
                           tuple(t)) for c, t in zip(configs, tests)]


def manual_questions_json(notebook: nbformat.NotebookNode) -> bytes:
    """The bundle's record of the manual questions: ``[{"name": ..., "points": ...}, ...]``."""
    manual = [{"name": q.name, "points": q.points} for q in master_questions(notebook) if q.manual]
    return (json.dumps(manual, indent=1) + "\n").encode()
