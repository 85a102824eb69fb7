"""Ends the notebook's process from inside one graded function (every other answer is right).

base: solution
expect: alias_test_error=zero
"""
import os


def alias_test_error(c):
    os._exit(0)
