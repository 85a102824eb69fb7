"""Ends the notebook's process while the notebook runs, and exits from graded functions.

base: stub
expect: *=zero
"""
import os
import sys

_gone = os._exit(7)


def min_norm_solution(A, y):
    return None


def weighted_min_norm(Phi, c, y):
    sys.exit(0)


def alias_test_error(c):
    os._exit(0)
