"""TRUSTED SIDE. Which grader grades a bundle: the engine itself, or otter's own grading.

The engine grades a bundle itself only when it can give exactly ``otter run``'s scores; what it
cannot grade that way it hands to otter's grading, run inside the same sandbox and limits
(:mod:`otter_delegate`), or refuses with one message naming the file and the feature. Decided
when the bundle is loaded, from its test files and ``otter_config.json``:

============================  ==========  =====================================================
otter feature                 grader      why
============================  ==========  =====================================================
exception-format tests        engine      tests run in the judge, student code in the sandbox
``points`` (total or list),   engine      read by otter's own test-file loader
per-case points, ``hidden``
``all_or_nothing``            engine      :meth:`outcome.Graded.score` applies otter's rule
``seed``, ``seed_variable``   engine      the sandbox seeds before every cell as otter does
``points_possible``,          engine      the total is computed by otter's formula
``score_threshold``                       (:func:`bundle.total_from_config`)
``otter_ignore`` cells        engine      dropped by otter's rule (:mod:`cells`)
OK-format (doctest) tests     otter       a doctest's text runs in the student's namespace and
                                          compares printed output: only otter's runner is otter
``plugins``                   otter       plugin code runs in otter's grading process
a test value the engine       otter       decided per submission by the judge (a test that
cannot carry as data                      received a value it could not compare faithfully)
``lang: r``                   refused     no R kernel in the grading environment
``grade_from_log``            refused     grades pickled environments from the student's log
``zips``                      refused     nested submission zips are not read
============================  ==========  =====================================================

A bundle that ships the hidden checks and reference solutions (:attr:`bundle.Bundle.holds_secrets`,
every bundle our build writes) is never handed to otter: otter runs tests in the student's
process, where those secrets would be readable. Such a bundle needing otter is refused instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REFUSED_CONFIG = {  # key -> (the value that is refused, why)
    "lang": ("r", "R assignments need an R kernel, which the grading environment does not have"),
    "grade_from_log": (True, "grading from the student's log means unpickling their environments"),
    "zips": (True, "nested submission zips are not read"),
}


def _refused(config: dict) -> str | None:
    for key, (value, why) in REFUSED_CONFIG.items():
        found = config.get(key)
        if found == value or (isinstance(found, str) and found.lower() == value):
            return f"otter_config.json: {key}: {found!r} is not supported ({why})"
    return None


@dataclass
class GradingPlan:
    """How a bundle is graded: ``refusal`` (one message) or, when None, by the engine unless
    ``delegate`` lists why otter's own grading is needed."""

    delegate: list[str] = field(default_factory=list)
    refusal: str | None = None

    @property
    def by_otter(self) -> bool:
        return bool(self.delegate) and self.refusal is None


def grading_plan(bundle) -> GradingPlan:
    """The plan for an extracted, loaded bundle (see the table above)."""
    from otter.test_files import OKTestFile

    config = bundle.config
    refusal = _refused(config)
    if refusal:
        return GradingPlan(refusal=refusal)
    delegate = [f"{q.path}: OK-format (doctest) tests" for q in bundle.questions
                if isinstance(q.test_file, OKTestFile)]
    if config.get("plugins"):
        delegate.append("otter_config.json: plugins")
    if delegate and bundle.holds_secrets:
        return GradingPlan(refusal=f"{delegate[0]}: not supported in a bundle that ships hidden checks "
                                   "(otter's grading would expose them to student code)")
    return GradingPlan(delegate=delegate)
