"""Nothing a grading run started outlives it, whatever ends the run.

A notebook that spins forever and leaves a detached child spinning too is graded; once both spin,
the grading command's whole process group gets SIGKILL, SIGTERM or SIGINT (what ``timeout``, a CI
runner, a closed terminal or Ctrl-C sends). Five seconds later no process the run started (the
coordinator, the judges, the fork server, the sandbox, the student's child) may be alive: with
the private file view (its PID namespace ends with the run) and without it (the fork server, in a
session of its own, sees its pipe close and kills every sandbox user; a sandbox dies with its
fork server). A slot's leftovers are also swept when the slot is next leased.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.engine.jail.confine import SANDBOX_UID_BASE
from autograder.engine.jail.launch import MAX_SLOTS, REPO_ROOT, lease_slot
from autograder.engine.jail.reap import processes_of
from autograder.engine.jail.view import SWITCH
from tests.test_fixtures import DIST

pytestmark = pytest.mark.e2e

SPIN_WITH_A_DETACHED_CHILD = (
    "import os\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    while True:\n"
    "        pass\n"
)
SANDBOX_UIDS = range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + MAX_SLOTS)


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a process, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), fields[0], int(fields[19])


def _uid(pid: int) -> int:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return -1


def _descendants(root: int) -> dict[int, int]:
    """Every live process below ``root`` (host pids), with its start time."""
    parents, starts = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            parents[int(entry)], starts[int(entry)] = stat[0], stat[2]
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = starts[pid]
                frontier.append(pid)
    return found


def _running(snapshot: dict[int, int]) -> list[int]:
    """The processes of ``snapshot`` that still run (the same start time, not a zombie)."""
    alive = []
    for pid, start in snapshot.items():
        stat = _stat(pid)
        if stat is not None and stat[2] == start and stat[1] != "Z":
            alive.append(pid)
    return alive


def _start_spinning_run(tmp_path: Path, private_view: bool) -> tuple[subprocess.Popen, dict[int, int]]:
    """Start ``autograder grade`` on the spinning notebook in a process group of its own; return
    it once the sandbox and the student's detached child both run, with it and every process
    below it (pid: start time)."""
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    notebook = new_notebook(cells=[new_code_cell(SPIN_WITH_A_DETACHED_CHILD), new_code_cell("while True:\n    pass")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, submissions / "spinner.ipynb")
    env = dict(os.environ, **{SWITCH: "on" if private_view else "off"})
    run = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(DIST / "metalearning" / "autograder.zip"),
                            str(submissions), "-o", str(tmp_path / "graded"), "--jobs", "1"],
                           cwd=REPO_ROOT, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        below = _descendants(run.pid)
        if sum(_uid(pid) in SANDBOX_UIDS and _stat(pid)[1] == "R" for pid in below if _stat(pid)) >= 2:
            return run, {run.pid: _stat(run.pid)[2], **below}
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    pytest.fail("the spinning notebook's sandbox and child never both ran")


@pytest.mark.parametrize("signum, private_view", [
    (signal.SIGKILL, True), (signal.SIGTERM, True), (signal.SIGINT, True), (signal.SIGKILL, False),
], ids=["SIGKILL", "SIGTERM", "SIGINT", "SIGKILL-without-private-view"])
def test_a_signal_to_the_grading_command_leaves_no_process_running(tmp_path, signum, private_view):
    if os.geteuid() != 0:
        pytest.fail("the engine's confinement tests need root")
    run, started = _start_spinning_run(tmp_path, private_view)
    sandbox_uids = {_uid(pid) for pid in started} & set(SANDBOX_UIDS)
    os.killpg(run.pid, signum)
    deadline = time.monotonic() + 5
    while _running(started) and time.monotonic() < deadline:
        run.poll()
        time.sleep(0.1)
    run.poll()
    left = _running(started)
    assert not left, f"still running 5 s after {signal.Signals(signum).name}: " + ", ".join(
        f"{pid} (uid {_uid(pid)}): {Path(f'/proc/{pid}/cmdline').read_bytes()[:80]!r}" for pid in left)
    assert sandbox_uids and not any(processes_of(uid) for uid in sandbox_uids)


def test_a_slot_is_swept_of_a_killed_runs_leftovers_when_next_leased():
    """A process of a slot's sandbox user that outlived its run ends when the slot is leased again."""
    if os.geteuid() != 0:
        pytest.fail("the engine's confinement tests need root")
    slot, lock = lease_slot()
    os.close(lock)
    uid = SANDBOX_UID_BASE + slot
    leftover = os.fork()
    if leftover == 0:
        os.setsid()
        os.setresuid(uid, uid, uid)
        time.sleep(120)
        os._exit(0)
    try:
        while _uid(leftover) != uid:
            time.sleep(0.01)
        again, lock = lease_slot()
        os.close(lock)
        assert again == slot, "another grader took the slot meanwhile: run this test alone"
        for _ in range(20):  # the sweep is done when lease_slot returns: allow only for the exit to show
            done, status = os.waitpid(leftover, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        assert done and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    finally:
        if _stat(leftover):
            os.kill(leftover, signal.SIGKILL)
