"""What a student reads (results.json and feedback text), written from a graded record: public
results visible before the deadline and hidden ones after, no "0/0" line, a failure caused by an
earlier failed cell naming that cell, plain words for limits and internal failures."""

from __future__ import annotations

import re

import pytest

from autograder.build.pipeline import DIST
from autograder.engine.jail import client
from autograder.engine.judge.bundle import load_bundle
from autograder.engine.judge.outcome import CaseResult, Graded
from autograder.engine.judge.report import feedback_text, results_json

INTERNAL_WORDS = re.compile(r"SandboxGone|Traceback|protocol|runtime|retired|\bclosed\b|sandbox", re.IGNORECASE)


@pytest.fixture(scope="module")
def bundle():
    loaded = load_bundle(DIST / "metalearning" / "autograder.zip")
    yield loaded
    loaded.close()


def _graded(bundle, cell_errors=None) -> Graded:
    """min_norm_solution fails its public test with a NameError and its hidden check with a
    missing function; every other question passes."""
    cases = []
    for question in bundle.questions:
        for case in question.cases:
            broken = question.name == "min_norm_solution"
            message = ""
            if broken:
                message = ("min_norm_solution: min_norm_solution is not defined" if case.hidden else
                           f"min_norm_solution ({case.name}): your code raised NameError")
            cases.append(CaseResult(question.name, case.name, case.hidden, float(case.points), not broken, message))
    return Graded(cases=cases, cell_errors=cell_errors or {})


def test_public_results_are_visible_at_once_and_scores_after_publishing(bundle):
    results = results_json(_graded(bundle), bundle)
    public = [t for t in results["tests"] if t["name"] == "Public tests"]
    assert len(public) == 1 and public[0]["visibility"] == "visible" and "score" not in public[0]
    assert "min_norm_solution: public tests: 0/1 passed" in public[0]["output"]
    assert "hidden" not in public[0]["output"], "the public row tells nothing of the hidden tests"
    scored = [t for t in results["tests"] if "max_score" in t]
    assert {t["name"] for t in scored} == {q.name for q in bundle.questions}
    assert all(t["visibility"] == "after_published" for t in scored)


def test_no_zero_of_zero_line(bundle):
    """A question without public tests says nothing about public tests (it said "0/0 passed")."""
    graded = _graded(bundle)
    graded.cases = [c for c in graded.cases if c.hidden]
    text = feedback_text("s", graded, bundle) + str(results_json(graded, bundle))
    assert "0/0" not in text and "public tests:" not in text


def test_a_failure_after_a_failed_cell_names_that_cell(bundle):
    graded = _graded(bundle, cell_errors={4: "ZeroDivisionError", 9: "NameError"})
    text = feedback_text("s", graded, bundle)
    hint = "(probably because code cell 5 raised ZeroDivisionError: fix that cell first)"
    assert text.count(hint) == 2  # the public NameError and the hidden "is not defined", nothing else
    assert "your code raised NameError " + hint in text
    assert hint not in feedback_text("s", _graded(bundle), bundle)


def test_limits_and_internal_failures_are_in_plain_words():
    """Every reason a sandbox ends, as the student reads it."""
    import inspect

    reasons = re.findall(r'self\.kill\((f?"[^"]*")', inspect.getsource(client))
    assert len(reasons) >= 6
    for reason in reasons:
        assert not INTERNAL_WORDS.search(reason), reason
    assert "time limit" in " ".join(reasons) and "memory" in " ".join(reasons)
