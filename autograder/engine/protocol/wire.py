"""Messages over a stream socket: ``[u64 length][codec.pack(header, blobs)]``.

The judge reads with a deadline and a size limit (a sandbox that stalls or floods is cut off);
the sandbox reads without limits (the judge is trusted).
"""

from __future__ import annotations

import socket
import time

from autograder.engine.protocol.codec import pack, unpack

MAX_MESSAGE_BYTES = 512 * 2**20


class WireClosed(ConnectionError):
    """The other side closed the connection (or died)."""


class WireTimeout(TimeoutError):
    """No complete message before the deadline."""


class WireTooLarge(ValueError):
    """A message larger than the reader accepts."""


def send(sock: socket.socket, header: dict, blobs: list[bytes] = ()) -> None:
    data = pack(header, list(blobs))
    sock.sendall(len(data).to_bytes(8, "big") + data)


def _read_exactly(sock: socket.socket, size: int, deadline: float | None) -> bytes:
    chunks, remaining = [], size
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WireTimeout("no answer in time")
            sock.settimeout(left)
        try:
            chunk = sock.recv(min(remaining, 1 << 20))
        except socket.timeout as exc:
            raise WireTimeout("no answer in time") from exc
        except OSError as exc:
            raise WireClosed(str(exc)) from exc
        if not chunk:
            raise WireClosed("connection closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket, timeout: float | None = None,
            limit: int | None = MAX_MESSAGE_BYTES) -> tuple[dict, list[bytes]]:
    """One message; ``timeout`` seconds for all of it (None: wait forever)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    size = int.from_bytes(_read_exactly(sock, 8, deadline), "big")
    if limit is not None and size > limit:
        raise WireTooLarge(f"message of {size} bytes")
    return unpack(_read_exactly(sock, size, deadline))
