"""Forks without end, from the notebook and from a graded function.

base: stub
expect: *=zero
"""
import os


def _bomb():
    for _ in range(10000):
        try:
            os.fork()
        except OSError:
            pass


def min_norm_solution(A, y):
    _bomb()
    return None
