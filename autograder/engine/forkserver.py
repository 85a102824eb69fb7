"""The warm worker: imports the heavy libraries once, then forks one confined sandbox per request.

Started by the judge as ``python -m autograder.engine.forkserver FD``; FD is its end of a control
socket. It imports numpy, torch (and runs what torch initialises lazily), matplotlib (Agg),
scikit-learn's dataset loader and the untrusted runtime, and nothing that holds a secret (no
checks, no reference solutions, no tests), because every sandbox is a copy of its memory.
Requests (:mod:`wire` messages):

Control messages are JSON, one per packet of a SOCK_SEQPACKET socket:

``spawn``  with a socket descriptor attached (SCM_RIGHTS): fork a child that confines itself
           (:func:`confine.confine`), greets the judge on that socket with the list of degraded
           steps, and serves it (:mod:`sandbox_runtime`) → ``{"pid": ...}``
``kill``   kill every process of the slot's sandbox user (repeatedly, until none is left; without
           a user switch, the child's session), reap the child → ``{"status": ...}``
``bye``    exit

Torch runs single-threaded here and in every child: forking after a thread pool started is
unsafe, and one thread per submission is also the best throughput on a small machine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402,F401
import numpy  # noqa: E402,F401
import torch  # noqa: E402

torch.set_num_threads(1)
try:  # the digits data of the pruning and quantization notebooks
    import sklearn.datasets  # noqa: F401
except ImportError:  # pragma: no cover
    pass
import torch.utils.benchmark  # noqa: E402,F401 - the pruning notebook's latency measurements

from autograder.engine import confine as confinement  # noqa: E402
from autograder.engine import sandbox_runtime, wire  # noqa: E402
from autograder.engine.warm_up import warm_up_torch  # noqa: E402

warm_up_torch()


def _alive(pid: str) -> bool:
    """Not a zombie (a zombie has exited; only its parent's wait removes the entry)."""
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"


def _processes_of(uid: int) -> list[int]:
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
    """SIGKILL every process of ``uid``: a helper that becomes ``uid`` and calls kill(-1)."""
    for _ in range(50):
        if not _processes_of(uid):
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


def _reap(pid: int, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return "reaped"
        if done:
            if os.WIFSIGNALED(status):
                return f"killed by signal {os.WTERMSIG(status)}"
            return f"exit {os.WEXITSTATUS(status)}"
        time.sleep(0.01)
    return "not reaped"


def _child(conf: confinement.Confinement, fd: int, given_modules, model_classes) -> None:
    try:
        scratch, degraded = confinement.confine(conf, fd)
        sys.path.insert(0, str(scratch))
        sock = socket.socket(fileno=fd)
        wire.send(sock, {"hello": True, "degraded": degraded, "uid": os.geteuid()})
        sock.detach()
        sandbox_runtime.main(fd, given_modules, model_classes)
    finally:
        os._exit(1)


def serve(control: socket.socket) -> None:
    children: dict[int, int] = {}  # slot -> pid
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(control, 1 << 16, 1)
        except OSError:
            return
        if not msg:
            return
        header = json.loads(msg)
        op = header.get("op")
        if op == "bye":
            return
        if op == "spawn":
            limits = confinement.Limits(**header["limits"])
            conf = confinement.Confinement(header["slot"], header["staging"], header["hidden"], limits)
            pid = os.fork()
            if pid == 0:
                control.close()
                _child(conf, fds[0], header["given_modules"], header["model_classes"])
            os.close(fds[0])
            children[conf.slot] = pid
            control.send(json.dumps({"pid": pid}).encode())
        elif op == "kill":
            slot = header["slot"]
            pid = children.pop(slot, None)
            if os.geteuid() == 0:
                kill_uid(confinement.SANDBOX_UID_BASE + slot)
            if pid is not None:
                if os.geteuid() != 0:
                    kill_session(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            control.send(json.dumps({"status": _reap(pid) if pid is not None else "none"}).encode())


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    control.send(json.dumps({"ready": True, "pid": os.getpid()}).encode())
    serve(control)


if __name__ == "__main__":
    main()
