"""Grade one submission as it arrives: the one function the batch (``autograder.grading.batch``) and
Gradescope (``autograder.engine.gradescope``) entry points share.

The submission is read as data (:mod:`intake`: a notebook or a ``grader.export()`` zip); one
that cannot be read gets a failed record with the reason, every other one is graded
(:func:`grading.grade_notebook`) with what intake noticed (an unknown kernel name) in front of
the notes.
"""

from __future__ import annotations

from autograder.engine.jail.client import ForkServer
from autograder.engine.judge import intake
from autograder.engine.judge.bundle import Bundle
from autograder.engine.judge.grading import grade_notebook
from autograder.engine.judge.outcome import Graded
from autograder.engine.protocol.limits import Limits


def grade_submission(server: ForkServer, bundle: Bundle, submission: intake.Submission, slot: int,
                     limits: Limits) -> Graded:
    loaded = intake.load(submission, preferred_name=bundle.notebook_name)
    if loaded.notebook is None:
        return Graded(status="failed", message=loaded.message)
    graded = grade_notebook(server, bundle, loaded.notebook, slot, limits)
    graded.notes[:0] = loaded.notes
    return graded
