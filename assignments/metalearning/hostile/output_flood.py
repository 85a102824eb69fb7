"""Prints gigabytes of output while the notebook runs and from a graded function.

base: stub
expect: *=zero
"""
import sys

_chunk = "x" * (1 << 20)
_flood = [sys.stdout.write(_chunk) for _ in range(2048)]


def min_norm_solution(A, y):
    for _ in range(256):
        print(_chunk)
        sys.stderr.write(_chunk)
    return None
