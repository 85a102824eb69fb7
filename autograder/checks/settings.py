"""The one hypothesis settings profile used by every hidden test.

Grading must be deterministic: two gradings of one submission give byte-identical scores.
Hence: derandomized example generation (the seed is derived from the test itself), no example
database (nothing carried between gradings), no deadline and no health check that could fail a
student for being slow, and a bounded number of examples. Under this profile a property's
examples do not depend on the code under test, which is what lets ``replay.py`` generate them
once per process and replay them for every submission.
"""

from hypothesis import HealthCheck, Phase, settings

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
