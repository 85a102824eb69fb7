"""Parity corpus: otter-grader's own assignments, graded by the engine, must get ``otter run``'s scores.

``tests/otter_corpus/<entry>/`` holds a master from otter-grader's repository, the
``autograder.zip`` plain ``otter assign`` built from it in our pinned environment, submissions
(solution, untouched stub, partial, wrong, ...) and ``expected.json``: every per-question score and
max score ``otter run -a`` gave them (``tests/otter_corpus/regenerate.py`` rebuilds both). The
engine grades every submission of every entry in one batch per entry and must give exactly those
scores, and the bundle's questions and max scores must be otter's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from autograder.engine.judge.bundle import load_bundle
from autograder.grading.batch import grade_folder

CORPUS = Path(__file__).resolve().parent / "otter_corpus"
ENTRIES = sorted(p for p in CORPUS.iterdir() if (p / "expected.json").is_file())

pytestmark = pytest.mark.e2e


def test_the_corpus_covers_otters_formats():
    """At least six of otter's own assignments, OK and exception format among them."""
    formats = set()
    for entry in ENTRIES:
        bundle = load_bundle(entry / "autograder.zip")
        formats |= {type(q.test_file).__name__ for q in bundle.questions}
        bundle.close()
    assert len(ENTRIES) >= 6
    assert {"OKTestFile", "ExceptionTestFile"} <= formats


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda p: p.name)
def test_engine_gives_otter_runs_scores(entry, tmp_path):
    expected = json.loads((entry / "expected.json").read_text())
    bundle = load_bundle(entry / "autograder.zip")
    assert {q.name: q.max_score for q in bundle.questions} == expected["max_scores"]
    bundle.close()
    with open(os.devnull, "w") as quiet:
        rows = grade_folder(entry / "autograder.zip", entry / "submissions", tmp_path / "out", jobs=2, progress=quiet)
    got = {f"{name}.ipynb": {q: round(graded.score(q), 5) for q in expected["max_scores"]}  # as results.json
           for name, _, graded in rows}
    assert got == expected["scores"]
