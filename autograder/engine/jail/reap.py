"""TRUSTED SIDE. Ending every process of a sandbox: by its user, or by its session.

Light on purpose (no torch): the fork server kills a sandbox with it after every submission, and
:func:`launch.lease_slot` sweeps a slot with it before a run uses the slot, so processes a killed
run left behind (a student's detached child that outlived its sandbox) end at the latest when the
slot is next leased.
"""

from __future__ import annotations

import os
import signal
import time

from autograder.engine.jail.confine import SANDBOX_UID_BASE


def _alive(pid: str) -> bool:
    """Not a zombie (a zombie has exited; only its parent's wait removes the entry)."""
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"


def processes_of(uid: int) -> list[int]:
    """The live processes (zombies excluded) of ``uid`` this process can see."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid and _alive(entry):
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def _processes_in_session(sid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid``: a helper that becomes ``uid`` and calls kill(-1), until
    none is left (a process forking meanwhile is caught by the next round)."""
    for _ in range(50):
        if not processes_of(uid):
            return
        helper = os.fork()
        if helper == 0:
            try:
                os.setresuid(uid, uid, uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(helper, 0)
        time.sleep(0.01)


def kill_session(sid: int) -> None:
    """SIGKILL every process of session ``sid`` but this one (without root: no user switch)."""
    for _ in range(50):
        pids = [p for p in _processes_in_session(sid) if p != os.getpid()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


def sweep_slot(slot: int) -> None:
    """Kill what is left of an earlier run's sandbox in ``slot`` (as root; else nothing to do:
    without a user switch a sandbox is its session, killed with its fork server)."""
    if os.geteuid() == 0:
        kill_uid(SANDBOX_UID_BASE + slot)
