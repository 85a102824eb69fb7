"""TRUSTED SIDE. Start the fork server, open sandboxes, talk to them with deadlines.

:class:`ForkServer` is one judge's connection to the warm worker (:mod:`forkserver`, started by
:class:`launch.ForkServerProcess`) that every judge of a run shares, and :meth:`ForkServer.open`
returns a :class:`Sandbox`, one confined child for one submission, reachable over a socket.
Every request to a sandbox has a deadline; a sandbox that misses one, closes its socket, sends
something malformed or too large is killed (with everything it started) and marked dead, and
the request raises :class:`SandboxGone`. Nothing the sandbox sends is trusted: answers are
decoded by :mod:`autograder.engine.protocol.codec` (data only) and checked by the caller.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from autograder.engine.jail.launch import ForkServerProcess
from autograder.engine.protocol import messages, wire
from autograder.engine.protocol.codec import DecodeError
from autograder.engine.protocol.limits import Limits


TIME, CRASH, PROTOCOL = "time", "crash", "protocol"  # why a sandbox is gone (SandboxGone.cause)


class SandboxGone(RuntimeError):
    """The sandbox died, timed out or broke the protocol: ``reason`` says so in words for the
    student, ``cause`` as data (:data:`TIME`, :data:`CRASH` or :data:`PROTOCOL`)."""

    def __init__(self, reason: str, cause: str = CRASH):
        super().__init__(reason)
        self.reason, self.cause = reason, cause


class ForkServer:
    """A judge's connection to the warm worker; with no ``address``, to a worker of its own
    (started here with ``preload``, stopped by :meth:`close`). Use as a context manager."""

    def __init__(self, preload: list[str] = (), address: str | None = None):
        self.owned = ForkServerProcess(preload) if address is None else None
        self.control = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control.connect(address or self.owned.address)
        self.control.settimeout(120)
        self.ready = False

    def wait_ready(self) -> None:
        if not self.ready:
            ready = json.loads(self.control.recv(1 << 16) or b"{}")
            if not ready.get("ready"):
                raise RuntimeError("the grading fork server did not start")
            self.ready = True

    def _request(self, message, fds: list[int] = ()) -> dict:
        self.wait_ready()
        socket.send_fds(self.control, [json.dumps(messages.header(message)).encode()], list(fds))
        return json.loads(self.control.recv(1 << 16))

    def open(self, slot: int, staging: Path, hidden: list[str], limits: Limits,
             given_modules: list[str] = (), model_classes: dict[str, str] | None = None,
             runtime: str = "engine") -> "Sandbox":
        """A confined child serving the engine's protocol (:mod:`autograder.engine.sandbox.runtime`), or, with
        ``runtime="otter"``, otter's own grading (:mod:`autograder.engine.sandbox.otter_runtime`)."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        folder = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)  # reaches a fork server that cannot see the path
        try:
            reply = self._request(messages.Spawn(slot, str(staging), list(hidden), limits.as_dict(), runtime,
                                                 list(given_modules), dict(model_classes or {})),
                                  [theirs.fileno(), folder])
        finally:
            theirs.close()
            os.close(folder)
        if "pid" not in reply:  # its number is the fork server's (in a private view, not this process's)
            mine.close()
            raise RuntimeError("the grading fork server did not start a sandbox")
        sandbox = Sandbox(self, slot, mine, limits)
        sandbox.greet()
        return sandbox

    def kill(self, slot: int) -> str:
        return self._request(messages.Kill(slot)).get("status", "")

    def close(self) -> None:
        try:
            socket.send_fds(self.control, [json.dumps(messages.header(messages.Bye())).encode()], [])
        except OSError:
            pass
        self.control.close()
        if self.owned is not None:
            self.owned.close()

    def __enter__(self) -> "ForkServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Sandbox:
    """One confined child process serving one submission."""

    def __init__(self, server: ForkServer, slot: int, sock: socket.socket, limits: Limits):
        self.server, self.slot, self.sock, self.limits = server, slot, sock, limits
        self.dead: str | None = None
        self.cause = CRASH  # why it is dead, once it is
        self.deadline: float | None = None  # monotonic time by which the current question must end
        self.degraded: list[str] = []
        self.exit_status = ""

    def greet(self) -> None:
        header, _ = self._receive(60.0)
        if not header.get("hello"):
            self.kill("the notebook's process could not be started")
            raise self.gone()
        self.degraded = [str(d)[:200] for d in header.get("degraded", [])][:10]

    def _receive(self, timeout: float) -> tuple[dict, list[bytes]]:
        try:
            return wire.receive(self.sock, timeout=timeout)
        except wire.WireTimeout:
            self.kill(f"it ran past the time limit (no answer within {timeout:.0f} s)", TIME)
        except wire.WireTooLarge:
            self.kill("it returned more data than the grader accepts", PROTOCOL)
        except wire.WireClosed:
            self.kill("the notebook's process ended (it exited, crashed or ran out of memory)")
        except DecodeError:
            self.kill("it interfered with the grader's messages", PROTOCOL)
        raise self.gone()

    def gone(self) -> SandboxGone:
        return SandboxGone(self.dead, self.cause)

    def request(self, message, blobs: list[bytes] = (), timeout: float = 60.0) -> tuple[dict, list[bytes]]:
        """Send one request (:mod:`messages`) and wait at most ``timeout`` seconds for its answer."""
        if self.dead:
            raise self.gone()
        if self.deadline is not None:
            timeout = min(timeout, self.deadline - time.monotonic())
            if timeout <= 0:
                self.kill("the time limit for grading this question was reached", TIME)
                raise self.gone()
        try:
            wire.send(self.sock, messages.header(message), list(blobs))
        except OSError:
            self.kill("the notebook's process ended (it exited, crashed or ran out of memory)")
            raise self.gone()
        reply, reply_blobs = self._receive(timeout)
        if "internal" in reply:
            self.kill("it broke the grader's code that runs beside it", PROTOCOL)  # its text is the student's
            raise self.gone()
        return reply, reply_blobs

    def kill(self, reason: str, cause: str = CRASH) -> None:
        if self.dead is None:
            self.dead, self.cause = reason, cause
        try:
            self.sock.close()
        finally:
            self.exit_status = self.server.kill(self.slot)

    def close(self) -> None:
        if self.dead is None:
            try:
                wire.send(self.sock, messages.header(messages.Bye()))
            except OSError:
                pass
            self.kill("grading of this submission ended")
