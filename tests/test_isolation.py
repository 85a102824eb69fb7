"""What the hidden checks' isolation exposes: only the references a question depends on, in an
order where those questions are graded already."""

from __future__ import annotations

import importlib

import pytest

from autograder.checks.isolation import dependencies, dependency_source
from autograder.engine.judge.bundle import load_bundle
from autograder.build.manifest import REPO_ROOT, discover

MANIFESTS = discover()


def _checks(manifest):
    return importlib.import_module(f"autograder.checks.{manifest.reference.stem}")


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda m: m.name)
def test_a_question_never_sees_its_own_reference_nor_another_answer_it_does_not_need(manifest):
    checks = _checks(manifest)
    for question in checks.QUESTIONS:
        needed = dependencies(checks.reference, question, checks.QUESTIONS)
        source = dependency_source(checks.reference, question)
        compile(source, "<isolation>", "exec")  # what the sandbox executes
        for other in checks.QUESTIONS:
            defined = f"def {other}(" in source or f"\n{other} =" in source or source.startswith(f"{other} =")
            assert defined == (other in needed), (question, other)


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda m: m.name)
def test_hidden_checks_run_after_the_checks_of_their_dependencies(manifest):
    checks = _checks(manifest)
    bundle = load_bundle(REPO_ROOT / "dist" / manifest.name / "autograder.zip")
    try:
        order = [q.name for q in bundle.hidden_order]
    finally:
        bundle.close()
    assert sorted(order) == sorted(checks.QUESTIONS)
    for position, question in enumerate(order):
        assert set(dependencies(checks.reference, question, checks.QUESTIONS)) <= set(order[:position]), question


def test_the_order_matters_somewhere():
    """At least one assignment has dependencies (else the order test above proves nothing)."""
    assert any(dependencies(_checks(m).reference, q, _checks(m).QUESTIONS)
               for m in MANIFESTS for q in _checks(m).QUESTIONS)
