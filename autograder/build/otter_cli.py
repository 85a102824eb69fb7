"""The two otter commands the build and the fixture tests use, run as subprocesses.

``otter assign`` turns a master notebook into the student and autograder folders;
``otter run`` grades one submission with an autograder zip and writes Gradescope's results.json.
Both run with the interpreter of this environment, so the kernel they start has our pins.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

OTTER = [sys.executable, "-m", "otter"]


class OtterError(RuntimeError):
    """An otter command failed; the message carries the end of its output."""


def _run(args: list[str], cwd: Path, timeout: float) -> None:
    try:
        done = subprocess.run(
            OTTER + args, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise OtterError(f"otter {args[0]} timed out after {timeout:.0f} s in {cwd}") from exc
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-3000:]
        raise OtterError(f"otter {args[0]} failed (exit {done.returncode}) in {cwd}:\n{tail}")


def assign(master: Path, output_dir: Path, timeout: float = 600) -> None:
    """``otter assign --no-run-tests``: our build validates the bundle itself, more strictly."""
    _run(["assign", "--no-run-tests", master.name, str(output_dir)], master.parent, timeout)


def run(autograder_zip: Path, submission: Path, timeout: float = 600) -> dict:
    """Grade one submission with ``otter run``; return the parsed results.json."""
    with tempfile.TemporaryDirectory(prefix="otter-run-") as out:
        _run(["run", "-a", str(autograder_zip), "-o", out, str(submission)], Path(out), timeout)
        return json.loads((Path(out) / "results.json").read_text())
