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

``spawn``  with two descriptors attached (SCM_RIGHTS), the sandbox's socket and its staging
           folder (a path the server may not see in its private view): fork a child that confines itself
           (:func:`confine.confine`), greets the judge on that socket with the list of degraded
           steps, and serves it (:mod:`autograder.engine.sandbox.runtime`; with ``"runtime": "otter"``,
           :mod:`autograder.engine.sandbox.otter_runtime`, which runs otter's own grading) → ``{"pid": ...}``
``kill``   kill every process of the slot's sandbox user (repeatedly, until none is left; without
           a user switch, the child's session), reap the child → ``{"status": ...}``
``bye``    close this connection (a connection that closes also kills the sandboxes it spawned)

However serving ends (standard input closes, SIGTERM, SIGHUP, SIGINT, the parent-death signal
when the grading process dies, an error), every sandbox is killed first. The server runs in a
session of its own (:class:`launch.ForkServerProcess`), in the private file view of :mod:`view`
where the host allows it.

Torch runs single-threaded here and in every child: forking after a thread pool started is
unsafe, and one thread per submission is also the best throughput on a small machine.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import time

gc.disable()  # until the imports are done and frozen (main): collecting torch's import graph is wasted time
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402,F401
import numpy  # noqa: E402,F401
import torch  # noqa: E402

torch.set_num_threads(1)

from autograder.engine.jail import confine as confinement  # noqa: E402
from autograder.engine.jail import reap  # noqa: E402
from autograder.engine.jail.view import VIEW_NOTE  # noqa: E402
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


def _child(conf: confinement.Confinement, fd: int, spawn: messages.Spawn, server_sockets: list[socket.socket],
           notes: list[str]) -> None:
    try:
        for sock in server_sockets:  # nothing of the server's reaches the sandbox
            sock.close()
        scratch, degraded = confinement.confine(conf, fd)
        degraded = [*notes, *degraded]
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

    def __init__(self, listener: socket.socket, notes: list[str]):
        self.listener, self.notes = listener, notes  # notes: what every sandbox reports as degraded
        self.connections: list[socket.socket] = []
        self.children: dict[int, tuple[int, socket.socket]] = {}  # slot -> (pid, its judge's connection)

    def spawn(self, control: socket.socket, spawn: messages.Spawn, fd: int, staging_fd: int) -> dict:
        conf = confinement.Confinement(spawn.slot, spawn.staging, staging_fd, spawn.hidden,
                                       Limits(**spawn.limits), loopback=spawn.runtime == "otter")
        pid = os.fork()
        if pid == 0:
            _child(conf, fd, spawn, [self.listener, *self.connections], self.notes)
        os.close(fd)
        os.close(staging_fd)
        self.children[conf.slot] = (pid, control)
        return {"pid": pid}

    def kill(self, slot: int) -> dict:
        pid = self.children.pop(slot, (None, None))[0]
        if os.geteuid() == 0:
            reap.kill_uid(confinement.SANDBOX_UID_BASE + slot)
        if pid is not None:
            if os.geteuid() != 0:
                reap.kill_session(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return {"status": _reap(pid) if pid is not None else "none"}

    def handle(self, control: socket.socket) -> bool:
        """Serve one message of a judge; False when its connection is done."""
        try:
            msg, fds, _, _ = socket.recv_fds(control, 1 << 16, 2)
        except OSError:
            return False
        message = messages.request(json.loads(msg)) if msg else messages.Bye()
        if isinstance(message, messages.Spawn) and len(fds) == 2:  # the sandbox's socket, its staging folder
            return _send(control, self.spawn(control, message, *fds))
        for fd in fds:
            os.close(fd)
        return isinstance(message, messages.Kill) and _send(control, self.kill(message.slot))

    def drop(self, control: socket.socket) -> None:
        for slot in [s for s, (_, owner) in self.children.items() if owner is control]:
            self.kill(slot)
        self.connections.remove(control)
        control.close()


def serve(listener: socket.socket, notes: list[str]) -> None:
    """Accept judges and serve their requests until standard input closes; however this ends
    (that, a signal, an error), kill every sandbox first."""
    server = Server(listener, notes)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(0, selectors.EVENT_READ, "parent")
    try:
        _serve(server, selector)
    finally:
        for control in list(server.connections):
            server.drop(control)


def _serve(server: Server, selector: selectors.BaseSelector) -> None:
    listener = server.listener
    while True:
        for key, _ in selector.select():
            if key.data == "parent":
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


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    """Serve until the grading process is gone: its pipe on standard input closes, or (when it is
    killed) the parent-death signal arrives; SIGTERM, SIGHUP and SIGINT end serving the same way."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _exit_on_signal)
    confinement.die_with_parent(signal.SIGTERM)
    preload(sys.argv[2:])
    gc.freeze()  # what is imported stays: no collection looks at it again, here or in a sandbox
    gc.enable()
    notes = [os.environ[VIEW_NOTE]] if os.environ.get(VIEW_NOTE) else []
    serve(socket.socket(fileno=int(sys.argv[1])), notes)


if __name__ == "__main__":
    main()
    # every sandbox is killed (serve's finally): leave without tearing down torch (about 0.4 s
    # the grading process would wait for at the end of every run)
    sys.stderr.flush()
    os._exit(0)
