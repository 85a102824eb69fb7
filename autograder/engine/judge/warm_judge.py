"""What every judge process needs in memory, imported once by the process judges are forked from.

``grade_folder`` starts its judges from multiprocessing's fork server with this module preloaded:
torch (one thread: forking after a thread pool started is unsafe, and two jobs on two cores want
one each), hypothesis, otter's test-file runner, the engine's trusted side and every grading
check. A lazily imported part of torch that a check needs is imported by that check's module
(pruning: ``torch._dynamo``); no ``torch.func`` warm-up here, no check uses it. Each judge is
then a fork of that process: it starts in milliseconds instead of importing all of it again.
Nothing here reads a submission.
"""

from __future__ import annotations

import importlib
import os
import pkgutil

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

torch.set_num_threads(1)

import hypothesis  # noqa: E402,F401
import otter.test_files  # noqa: E402,F401

import autograder.checks  # noqa: E402
from autograder.engine.judge import bundle, grading, intake, report  # noqa: E402,F401

for _module in pkgutil.iter_modules(autograder.checks.__path__):
    importlib.import_module(f"autograder.checks.{_module.name}")
