"""Run a call in a forked child whose address space may grow by a bounded amount only.

Some fixture submissions allocate what the grader's sandbox refuses (a p×p system with
p = 60000 is 29 GB): in a sandbox they fail for memory. The tests that grade fixtures in the test
process run them in a child under the sandbox's kind of limit (``RLIMIT_AS``), so the outcome is
the sandbox's and no test machine ever tries the allocation, however much memory it has.
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
from typing import Callable

from autograder.engine.protocol.limits import Limits

HEADROOM_BYTES = Limits().memory_bytes  # what a sandbox may hold
# (assignment, fixture) pairs that allocate beyond it on purpose: a fork per fixture costs the
# child's lost caches (≈0.7 s each), so only these run under the limit
MEMORY_BOUND_FIXTURES = {("fewshot-heads", "ridge_primal_p_by_p")}


def _address_space() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def call_with_memory_limit(fn: Callable, *args, headroom: int = HEADROOM_BYTES):
    """``fn(*args)`` in a forked child limited to its current address space plus ``headroom``
    bytes; returns its result or raises its exception (``RuntimeError`` with the exception's
    text when it cannot be pickled, or when the child dies without answering)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the test runner
        status = 0
        try:
            os.close(read)
            if "torch" in sys.modules:  # the parent's OpenMP workers did not survive the fork:
                sys.modules["torch"].set_num_threads(1)  # a parallel region would wait for them
            limit = _address_space() + headroom
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            try:
                answer = (True, fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the parent as data
                answer = (False, exc)
            try:
                payload = pickle.dumps(answer)
            except Exception:
                payload = pickle.dumps((False, RuntimeError(repr(answer[1]))))
            with os.fdopen(write, "wb") as out:
                out.write(payload)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        raise RuntimeError(f"the child ended without an answer (wait status {status})")
    ok, value = pickle.loads(data)
    if ok:
        return value
    raise value
