"""The build's step that records the hidden checks' hypothesis examples into the bundle.

Under the grading profile a property's examples depend only on the property (its body's digest,
strategies, explicit examples, settings), never on the code under test
(:mod:`autograder.checks.replay`). A warm judge generates them once per process; a Gradescope
container is a fresh process per submission and would generate them for every submission
(0.7 s of a 6.8 s cold pruning grading, measured). So the build generates them once:
:func:`record` grades ``ROOT`` (laid out as Gradescope lays out ``/autograder``,
:func:`gradescope_root`, with the solution notebook as the submission) exactly as Gradescope
does, in a fresh process with the bundle's own engine and checks (:data:`RECORDER`, run by
:func:`run_in_bundle`), and then writes
every property's recording (:func:`replay.dumps`) to ``ROOT/recorded_examples.json``, which it
adds to the autograder zip as :data:`RECORDED_EXAMPLES`; every judge (Gradescope's, a batch's)
hands it to the replay (:meth:`autograder.engine.judge.bundle.Bundle.load_recorded_examples`).
The build then validates the bundle with it, engine against ``otter run``, as for every bundle.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from autograder.engine.judge.bundle import RECORDED_EXAMPLES
from autograder.build.zips import rezip


def gradescope_root(autograder_zip: Path, notebook: Path, root: Path) -> Path:
    """``root`` laid out as Gradescope lays out ``/autograder``: ``source/`` (the unpacked bundle),
    ``submission/`` (the notebook) and an empty ``results/``."""
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    shutil.copy(notebook, root / "submission" / notebook.name)
    return root


def run_in_bundle(root: Path, arguments: list[str], **options) -> subprocess.CompletedProcess:
    """``python ARGUMENTS`` as the bundle's ``run_autograder`` runs the engine in ``root`` (a
    :func:`gradescope_root`): from ``source/files``, without PYTHONPATH, so only the bundle's own
    engine and checks are imported. ``options`` go to :func:`subprocess.run`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, *arguments], cwd=root / "source" / "files", env=env, **options)


RECORDER = f"""
import pathlib, sys
from autograder.checks import replay
from autograder.engine import gradescope
gradescope.main(sys.argv[1])
pathlib.Path(sys.argv[1], {RECORDED_EXAMPLES!r}).write_bytes(replay.dumps())
"""
REPLAY = "files/autograder/checks/replay.py"  # shipped when a check of the bundle replays properties


class RecordingError(RuntimeError):
    pass


def record(autograder_zip: Path, solution: Path) -> None:
    """Grade ``solution`` with the bundle as Gradescope does and add the recorded examples to
    ``autograder_zip`` (replacing an earlier recording); nothing is added to a bundle whose
    checks replay nothing (they do not ship :mod:`autograder.checks.replay`)."""
    with zipfile.ZipFile(autograder_zip) as zf:
        if REPLAY not in zf.namelist():
            return
    with tempfile.TemporaryDirectory(prefix="recording-") as tmp:
        root = gradescope_root(autograder_zip, solution, Path(tmp))
        (root / "source" / RECORDED_EXAMPLES).unlink(missing_ok=True)
        run = run_in_bundle(root, ["-c", RECORDER, str(root)], capture_output=True, text=True)
        recording = root / RECORDED_EXAMPLES
        if run.returncode != 0 or not recording.is_file():
            raise RecordingError(f"recording the hidden checks' examples failed: {run.stderr.strip()[-2000:]}")
        data = recording.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "autograder.zip"
        rezip(autograder_zip, staged, add={RECORDED_EXAMPLES: data})
        shutil.move(staged, autograder_zip)

