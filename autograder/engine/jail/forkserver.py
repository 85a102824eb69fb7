"""The warm worker: imports the heavy libraries once, then forks one confined sandbox per request.

Started once per grading run as ``python -m autograder.engine.jail.forkserver FD [MODULE ...]`` (see
:class:`launch.ForkServerProcess`); FD is a listening Unix socket in a folder only the grader
can reach, and the process exits when its standard input (a pipe from the grader) closes. Every
judge process connects to it (:class:`client.ForkServer`), so one warm worker serves all jobs.
It imports numpy, torch, matplotlib (Agg), the MODULEs the bundle's given code imports
(:func:`preload`) and the untrusted runtime, and nothing that holds a secret (no checks, no
reference solutions, no tests), because every sandbox is a copy of its memory.

Control messages are JSON, one per packet of a SOCK_SEQPACKET connection; on accepting a
connection the server sends ``{"ready": true}``:

``spawn``  with a socket descriptor attached (SCM_RIGHTS): fork a child that confines itself
           (:func:`confine.confine`), greets the judge on that socket with the list of degraded
           steps, and serves it (:mod:`autograder.engine.sandbox.runtime`; with ``"runtime": "otter"``,
           :mod:`autograder.engine.sandbox.otter_runtime`, which runs otter's own grading) → ``{"pid": ...}``
``kill``   kill every process of the slot's sandbox user (repeatedly, until none is left; without
           a user switch, the child's session), reap the child → ``{"status": ...}``
``bye``    close this connection (a connection that closes also kills the sandboxes it spawned)

Torch runs single-threaded here and in every child: forking after a thread pool started is
unsafe, and one thread per submission is also the best throughput on a small machine.
"""

from __future__ import annotations

import importlib
import json
import os
import selectors
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

from autograder.engine.jail import confine as confinement  # noqa: E402
from autograder.engine.jail.warm_up import warm_up_torch  # noqa: E402
from autograder.engine.protocol import messages, wire  # noqa: E402
from autograder.engine.protocol.limits import Limits  # noqa: E402
# Both runtimes are imported before any fork: a sandbox cannot import from a repository that
# lies under /tmp (its /tmp is private), only from the Python installation bound back in.
from autograder.engine.sandbox import otter_runtime  # noqa: E402
from autograder.engine.sandbox import runtime as sandbox_runtime  # noqa: E402


def preload(modules: list[str]) -> None:
    """Import what the bundle's given modules import (``Bundle.sandbox_preload``: e.g.
    scikit-learn's dataset loader, ``torch.utils.benchmark``), so no sandbox imports it again;
    with ``torch.func`` among them, also run what torch initialises lazily for it."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module the sandbox will fail to import as well
            continue
    if "torch.func" in modules:
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


def _child(conf: confinement.Confinement, fd: int, spawn: messages.Spawn, server_sockets: list[socket.socket]) -> None:
    try:
        for sock in server_sockets:  # nothing of the server's reaches the sandbox
            sock.close()
        scratch, degraded = confinement.confine(conf, fd)
        sys.path.insert(0, str(scratch))
        sock = socket.socket(fileno=fd)
        wire.send(sock, {"hello": True, "degraded": degraded, "uid": os.geteuid()})
        sock.detach()
        if spawn.runtime == "otter":
            otter_runtime.main(fd, scratch)
        else:
            sandbox_runtime.main(fd, spawn.given_modules, spawn.model_classes)
    finally:
        os._exit(1)


def _send(control: socket.socket, reply: dict) -> bool:
    """Answer a judge; False when its connection is gone (the judge's own business)."""
    try:
        control.send(json.dumps(reply).encode())
        return True
    except OSError:
        return False


class Server:
    """The connections of the judges and the sandboxes each of them spawned."""

    def __init__(self, listener: socket.socket):
        self.listener = listener
        self.connections: list[socket.socket] = []
        self.children: dict[int, tuple[int, socket.socket]] = {}  # slot -> (pid, its judge's connection)

    def spawn(self, control: socket.socket, spawn: messages.Spawn, fd: int) -> dict:
        conf = confinement.Confinement(spawn.slot, spawn.staging, spawn.hidden, Limits(**spawn.limits),
                                       loopback=spawn.runtime == "otter")
        pid = os.fork()
        if pid == 0:
            _child(conf, fd, spawn, [self.listener, *self.connections])
        os.close(fd)
        self.children[conf.slot] = (pid, control)
        return {"pid": pid}

    def kill(self, slot: int) -> dict:
        pid = self.children.pop(slot, (None, None))[0]
        if os.geteuid() == 0:
            kill_uid(confinement.SANDBOX_UID_BASE + slot)
        if pid is not None:
            if os.geteuid() != 0:
                kill_session(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return {"status": _reap(pid) if pid is not None else "none"}

    def handle(self, control: socket.socket) -> bool:
        """Serve one message of a judge; False when its connection is done."""
        try:
            msg, fds, _, _ = socket.recv_fds(control, 1 << 16, 1)
        except OSError:
            return False
        message = messages.request(json.loads(msg)) if msg else messages.Bye()
        if isinstance(message, messages.Spawn) and fds:
            return _send(control, self.spawn(control, message, fds[0]))
        for fd in fds:
            os.close(fd)
        return isinstance(message, messages.Kill) and _send(control, self.kill(message.slot))

    def drop(self, control: socket.socket) -> None:
        for slot in [s for s, (_, owner) in self.children.items() if owner is control]:
            self.kill(slot)
        self.connections.remove(control)
        control.close()


def serve(listener: socket.socket) -> None:
    """Accept judges and serve their requests until standard input closes."""
    server = Server(listener)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(0, selectors.EVENT_READ, "parent")
    while True:
        for key, _ in selector.select():
            if key.data == "parent":
                for control in list(server.connections):
                    server.drop(control)
                return
            if key.data == "accept":
                control, _ = listener.accept()
                if _send(control, {"ready": True, "pid": os.getpid()}):
                    server.connections.append(control)
                    selector.register(control, selectors.EVENT_READ, "judge")
                else:
                    control.close()
            elif not server.handle(key.fileobj):
                selector.unregister(key.fileobj)
                server.drop(key.fileobj)


def main() -> None:
    preload(sys.argv[2:])
    serve(socket.socket(fileno=int(sys.argv[1])))


if __name__ == "__main__":
    main()
