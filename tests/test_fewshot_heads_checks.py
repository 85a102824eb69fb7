"""The hidden checks of the few-shot-heads assignment against its fixture submissions.

Every fixture × question outcome must match the fixture's expectation (``full`` passes,
``public``/``zero`` fail); the reference passes; the untouched stub fails every check with a
short message free of source; two gradings agree (``tests/check_matrix.py``).

One fixture solves the p×p ridge system: in a sandbox it runs out of memory (6 GiB address
space) on the check's 60000 features. Its check runs here under the same kind of limit
(``tests/memory_limit.py``), so this machine never tries to allocate 29 GB.
"""

from __future__ import annotations

from pathlib import Path

import torch

from autograder.checks import fewshot_heads as checks
from solutions import fewshot_heads as reference
from tests.check_matrix import CheckMatrix, outcome, standard_tests
from tests.memory_limit import MEMORY_BOUND_FIXTURES, call_with_memory_limit

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
class MemoryGuardedMatrix(CheckMatrix):
    def fixture_outcome(self, fixture, question):
        if ("fewshot-heads", fixture.name) in MEMORY_BOUND_FIXTURES:
            return call_with_memory_limit(outcome, self.checks.CHECKS[question], self.namespace(fixture))
        return super().fixture_outcome(fixture, question)


MATRIX = MemoryGuardedMatrix(checks, reference, ROOT / "assignments" / "fewshot-heads" / "fixtures",
                             full_env="FEWSHOT_HEADS_CHECKS_FULL")
globals().update(standard_tests(MATRIX))


def test_the_p_by_p_ridge_fails_for_memory_not_for_its_values():
    fixture = next(f for f in MATRIX.fixtures if f.name == "ridge_primal_p_by_p")
    message = MATRIX.fixture_outcome(fixture, "ridge_head")
    assert message is not None and "p=60000" in message, message
