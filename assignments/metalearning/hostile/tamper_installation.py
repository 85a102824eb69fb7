"""Tries to change the grading installation and the scratch of other submissions for later runs.

base: stub
expect: *=zero
"""
import os
import numpy
import torch

_targets = [os.path.join(os.path.dirname(numpy.__file__), "__init__.py"),
            os.path.join(os.path.dirname(torch.__file__), "__init__.py"),
            "/work/main/autograder/checks/compare.py", "/work/main/solutions/metalearning.py",
            "/autograder/source/autograder/checks/compare.py", "/usr/lib/python3/sitecustomize.py"]
_changed = []
for _target in _targets:
    try:
        with open(_target, "a") as _handle:
            _handle.write("\nimport os; os.system('touch /tmp/hostile-tampered')\n")
        _changed.append(_target)
    except Exception:
        pass


def min_norm_solution(A, y):
    return None
