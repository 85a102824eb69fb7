"""CI's sample of the slowest end-to-end matrices.

Some end-to-end tests repeat one slow check per assignment (a kernel, ``otter run`` or a
Gradescope rehearsal each) where the build's own validation already grades every assignment.
``make test`` (what CI runs) takes them on :data:`SAMPLE` only; the other assignments' runs carry
the ``slow`` marker, which ``make test`` deselects and ``make test-full`` runs. Everything that
differs between assignments (their checks, fixtures and hostile submissions) stays in CI.
"""

from __future__ import annotations

import pytest

SAMPLE = "metalearning"


def per_assignment(manifests) -> list:
    """``manifests`` as parameters, every one but :data:`SAMPLE` marked ``slow``."""
    return [pytest.param(m, id=m.name, marks=() if m.name == SAMPLE else pytest.mark.slow) for m in manifests]
