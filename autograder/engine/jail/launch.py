"""TRUSTED SIDE. What starting a grading run needs, without importing torch or the checks.

The coordinator of a run (:func:`autograder.grading.batch.grade_folder`) starts the sandbox fork server
first, before it imports anything heavy itself: the fork server's own start (torch, matplotlib,
the given modules' imports) is the longest step of a run's start-up, so it goes first and runs
while the judges' parent warms up. Judges lease their sandbox slots here too.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.engine.jail import reap
from autograder.engine.jail.view import VIEW_NOTE, private_view

REPO_ROOT = Path(__file__).resolve().parents[3]

SLOT_LOCKS = Path(tempfile.gettempdir()) / "autograder-sandbox-slots"
MAX_SLOTS = 256


def lease_slot() -> tuple[int, int]:
    """A job slot no other grading process on this machine holds: (slot, lock descriptor).

    The slot's sandbox uid is killed wholesale (``kill(-1)`` as that uid) after every submission,
    so two graders must never share one: each holds an exclusive ``flock`` on its slot's lock
    file (in a root-only folder) for as long as it keeps the descriptor open. A slot no one holds
    has no live sandbox, so any process of its uid is a leftover of a killed run: it is killed
    before the slot is handed out.
    """
    SLOT_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for slot in range(MAX_SLOTS):
        fd = os.open(SLOT_LOCKS / f"slot-{slot}", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        reap.sweep_slot(slot)  # what a killed run may have left in this slot
        return slot, fd
    raise RuntimeError("every sandbox slot on this machine is in use")


class ForkServerProcess:
    """The warm worker process (:mod:`forkserver`), shared by every judge of a grading run.

    It listens on a Unix socket in a fresh folder only this user can enter, and exits when
    :meth:`close` (or this process's death) closes the pipe on its standard input; it runs in a
    session of its own, so a signal to this process's group (Ctrl-C, ``timeout``, a killed
    terminal) reaches it only as that pipe closing, and it kills every sandbox before it exits. It
    runs in the private file view of :mod:`view` where the host allows one (whose PID namespace
    ends with this process, whatever kills it). Construction only starts it: judges may connect
    at once, their first request waits until it is ready."""

    def __init__(self, preload: list[str] = (), python: str = sys.executable):
        self.folder = tempfile.mkdtemp(prefix="autograder-forkserver-")  # mode 0700
        self.address = os.path.join(self.folder, "control")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            listener.bind(self.address)
            listener.listen(MAX_SLOTS)
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
            wrapper = private_view(REPO_ROOT)
            env[VIEW_NOTE] = wrapper.degraded or ""
            self.process = subprocess.Popen(
                [*wrapper.prefix, python, "-m", "autograder.engine.jail.forkserver", str(listener.fileno()), *preload],
                pass_fds=[listener.fileno()], env=env, cwd="/", stdin=subprocess.PIPE, start_new_session=True)
        finally:
            listener.close()

    def close(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
