"""The process every judge of a batch is forked from: what it holds, and how it ends.

:func:`autograder.grading.batch.grade_folder` preloads this module into multiprocessing's fork server,
which then holds :mod:`warm_judge` (torch, hypothesis, the checks) for its forks. It holds nothing
to flush or release (it writes no file; its judges are the coordinator's business), so when the
run ends, normally or killed, it leaves at once (``os._exit`` at exit) instead of tearing down
torch and hypothesis, which takes seconds: nothing of a stopped run is left running seconds later.
Its judges never run this hook: a forked worker ends with ``os._exit`` of its own.
"""

from __future__ import annotations

import atexit
import os

from autograder.engine.judge import warm_judge  # noqa: F401 - the point of preloading this module

atexit.register(os._exit, 0)
