"""The one hypothesis settings profile used by every hidden test.

Grading must be deterministic: two gradings of one submission give byte-identical scores.
Hence: derandomized example generation (the seed is derived from the test itself), no example
database (nothing carried between gradings), no deadline and no health check that could fail a
student for being slow, and a bounded number of examples. Under this profile a property's
examples do not depend on the code under test, which is what lets ``replay.py`` generate them
once per process and replay them for every submission.

Derandomized is not enough on its own: hypothesis (since 6.131) mixes into its draws the
constants it finds in every *local* module loaded in the process at the time (any module
outside site-packages and the standard library: our checks and references, the given code),
so the same property drew other examples in a judge that had imported all four topics' checks
(a batch's warm judge) than in one that had imported one topic's (a Gradescope container), and
other ones again under ``otter run`` or in a build. Importing this module turns that off
(:func:`_no_local_constants`), in every process that imports a check, ``otter run``'s included:
a property's examples then depend on the property alone.
"""

from hypothesis import HealthCheck, Phase, settings
from hypothesis.internal.conjecture import providers

_NO_CONSTANTS = providers.Constants()


def _no_local_constants() -> "providers.Constants":
    """In place of ``providers._get_local_constants``: no constant from loaded modules."""
    return _NO_CONSTANTS


providers._get_local_constants = _no_local_constants
providers.CONSTANTS_CACHE.cache.clear()  # constants a draw before this import cached

GRADING = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate),
    print_blob=False,
    report_multiple_bugs=False,
)
