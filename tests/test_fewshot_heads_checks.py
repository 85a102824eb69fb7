"""The hidden checks of the few-shot-heads assignment against its fixture submissions.

Every fixture × question outcome must match the fixture's expectation (``full`` passes,
``public``/``zero`` fail); the reference passes; the untouched stub fails every check with a
short message free of source; two gradings agree (``tests/check_matrix.py``).

One fixture solves the p×p ridge system: in a sandbox it runs out of memory (6 GiB address
space) on the check's 60000 features. Its check runs here in a forked child under the same kind
of address-space limit, so this machine never tries to allocate 29 GB.
"""

from __future__ import annotations

import os
import pickle
import resource
from pathlib import Path

import torch

from autograder.checks import fewshot_heads as checks
from solutions import fewshot_heads as reference
from tests.check_matrix import CheckMatrix, outcome, standard_tests

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
MEMORY_BOUND = {("ridge_primal_p_by_p", "ridge_head")}
HEADROOM_BYTES = 4 * 2**30


def _address_space() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def outcome_with_memory_limit(check, namespace) -> str | None:
    """``outcome(check, namespace)`` in a forked child whose address space may grow by
    :data:`HEADROOM_BYTES` only."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        limit = _address_space() + HEADROOM_BYTES
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        result = outcome(check, namespace)
        with os.fdopen(write, "wb") as out:
            pickle.dump(result, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return pickle.loads(data)


class MemoryGuardedMatrix(CheckMatrix):
    def fixture_outcome(self, fixture, question):
        if (fixture.name, question) in MEMORY_BOUND:
            return outcome_with_memory_limit(self.checks.CHECKS[question], self.namespace(fixture))
        return super().fixture_outcome(fixture, question)


MATRIX = MemoryGuardedMatrix(checks, reference, ROOT / "assignments" / "fewshot-heads" / "fixtures",
                             full_env="FEWSHOT_HEADS_CHECKS_FULL")
globals().update(standard_tests(MATRIX))


def test_the_p_by_p_ridge_fails_for_memory_not_for_its_values():
    fixture = next(f for f in MATRIX.fixtures if f.name == "ridge_primal_p_by_p")
    message = MATRIX.fixture_outcome(fixture, "ridge_head")
    assert message is not None and "p=60000" in message, message
