"""What Gradescope's cold start (one submission, fresh processes) leaves out or starts early.

``autograder.engine.gradescope`` starts its fork server before importing the judge's side, with
:func:`single_sandbox_preload`; the judge imports otter's test-file loader without otter's
package ``__init__`` (:func:`defer_otter_init`) and imports :attr:`Bundle.judge_preload` while it
waits; the hidden checks' hypothesis examples come recorded in the bundle
(:mod:`autograder.build.recorded_examples`). That the grades stay the same is shown end to end (the
rehearsed Gradescope run, the ``cold`` benchmark, which compares every question with ``otter
run``); here, that each piece selects what it says, and that a cold grading of a built bundle's
solution generates no example at all. No timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder.engine.judge.bundle import (RECORDED_EXAMPLES, load_bundle_folder, sandbox_preload,
                                            single_sandbox_preload)
from autograder.build.manifest import discover
from autograder.build.recorded_examples import gradescope_root, run_in_bundle
from autograder.build.scores import question_points

ROOT = Path(__file__).resolve().parents[1]

GIVEN = textwrap.dedent('''
    import json
    import torch.func
    from typing import Callable
    try:
        import csv
    except ImportError:
        csv = None

    class Loader:
        import math

    def load():
        from sklearn.datasets import load_digits
        return load_digits()

    slow = lambda: __import__("torch.utils.benchmark")
''')

TEST_FILE = textwrap.dedent('''
    from otter.test_files import test_case

    OK_FORMAT = False

    name = "q1"
    points = 1

    @test_case(points=1, hidden=True)
    def test_hidden(env):
        from autograder.checks.metalearning import check_min_norm_solution
        import numpy as np
''')


def _bundle(tmp_path: Path, secrets: bool) -> Path:
    folder = tmp_path / "bundle"
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "given.py").write_text(GIVEN)
    if secrets:
        (folder / "files" / "autograder" / "checks").mkdir(parents=True)
    (folder / "tests").mkdir()
    (folder / "tests" / "q1.py").write_text(TEST_FILE)
    (folder / "otter_config.json").write_text(json.dumps({"assignment_name": "given"}))
    return folder


def test_a_single_sandbox_preloads_what_importing_the_given_code_imports(tmp_path):
    folder = _bundle(tmp_path, secrets=True)
    everything = sandbox_preload(folder)
    single = single_sandbox_preload(folder)
    assert {"sklearn.datasets", "sklearn.datasets.load_digits", "torch.func"} <= set(everything)
    # module level, class bodies and try blocks run on import; function bodies do not
    assert {"json", "csv", "math", "typing", "typing.Callable"} <= set(single)
    assert not {"sklearn.datasets", "sklearn.datasets.load_digits", "torch.utils.benchmark"} & set(single)
    assert "torch.func" not in single  # its presence makes the fork server warm up torch.func
    assert set(single) <= set(everything)


def test_a_foreign_bundle_keeps_otters_runtime_in_a_single_sandbox(tmp_path):
    """A bundle without our checks may be graded by otter in the sandbox: that stays preloaded."""
    folder = _bundle(tmp_path, secrets=False)
    assert "otter.run.run_autograder" in single_sandbox_preload(folder)


def test_the_judge_preloads_what_the_tests_import_only_for_our_bundles(tmp_path):
    ours = load_bundle_folder(_bundle(tmp_path / "ours", secrets=True))
    assert {"autograder.checks.metalearning", "numpy", "otter.test_files", "json"} <= set(ours.judge_preload)
    assert "sklearn.datasets" not in ours.judge_preload  # the given code imports it only when called
    foreign = load_bundle_folder(_bundle(tmp_path / "foreign", secrets=False))
    assert foreign.judge_preload == []


DEFERRED = r'''
import sys
from autograder.engine.judge.bundle import defer_otter_init
defer_otter_init()
from otter.test_files import ExceptionTestFile, test_case
print(sorted(m for m in ("otter.api", "pandas", "nbconvert") if m in sys.modules))
import otter
from otter.version import __version__
print(otter.Notebook.__module__, otter.__version__ == __version__, "otter.api" in sys.modules)
try:
    otter.no_such_name
except AttributeError:
    print("AttributeError")
'''


def test_otters_test_files_load_without_its_api_and_the_package_still_works():
    done = subprocess.run([sys.executable, "-c", DEFERRED], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split("\n")[:3] == ["[]", "otter.check.notebook True True", "AttributeError"]


COUNT_GENERATED = r"""
import json, sys
from autograder.checks import replay
generated = []
record = replay._record
replay._record = lambda prop: generated.append(prop.__qualname__) or record(prop)
from autograder.engine import gradescope
payload = gradescope.main(sys.argv[1])
print("\n" + json.dumps({"score": payload["score"], "generated": generated}))
"""
MANIFESTS = discover()


@pytest.mark.e2e
@pytest.mark.parametrize("manifest", MANIFESTS, ids=[m.name for m in MANIFESTS])
def test_a_cold_grading_of_the_solution_generates_no_example(manifest, tmp_path):
    """Every property the solution's checks run is in the bundle's recording; without it (the
    same run on the bundle less that file) the same grading generates them, with the same score."""
    dist = ROOT / "dist" / manifest.name
    outcomes = []
    for recorded in (True, False):
        root = gradescope_root(dist / "autograder.zip", dist / "solution.ipynb", tmp_path / str(recorded))
        if not recorded:
            (root / "source" / RECORDED_EXAMPLES).unlink()
        done = run_in_bundle(root, ["-c", COUNT_GENERATED, str(root)], capture_output=True, text=True,
                             timeout=300, check=True)
        outcomes.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert outcomes[0]["generated"] == [] and outcomes[1]["generated"]
    full = sum(points.total for points in question_points(dist / "autograder.zip").values())
    assert outcomes[0]["score"] == outcomes[1]["score"] == full
