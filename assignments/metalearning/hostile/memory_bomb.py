"""Allocates far more memory than the machine has, while running and in a graded function.

base: stub
expect: *=zero
"""
import numpy as np

try:
    _hog = bytearray(64 * 2**30)
except MemoryError:
    _hog = None


def min_norm_solution(A, y):
    blocks = []
    while True:
        blocks.append(bytearray(2**30))
