"""The leak detector finds reference code and hidden tests however they are reformatted."""

import json

from autograder.build.leaks import Secret, find_leaks, function_secrets, hidden_test_secrets

REFERENCE = '''
def logistic_loss(scores, labels):
    """mean softplus(-label * score)."""
    return F.softplus(-labels * scores).mean()


def wrapper(*args, **kwargs):
    return fn(*args, **kwargs)
'''

TESTS = '''
@test_case(points=None, hidden=False)
def test_public(f):
    assert f(1) == 2

@test_case(points=2, hidden=True)
def test_hidden(env):
    from autograder.checks.topic import check_something_specific
    check_something_specific(env)
'''


def _notebook(*sources):
    cells = [{"cell_type": "code", "source": s, "metadata": {}, "outputs": []} for s in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def test_one_line_reference_body_in_a_notebook_cell_is_found():
    secrets = function_secrets("solutions/topic.py", REFERENCE)
    leaked = _notebook("def logistic_loss(scores, labels):\n    return F.softplus( -labels*scores ).mean()")
    assert find_leaks({"hw.ipynb": leaked}, secrets) == ["solutions/topic.py:logistic_loss appears in hw.ipynb"]


def test_generic_short_bodies_are_not_called_leaks():
    secrets = function_secrets("solutions/topic.py", REFERENCE)
    assert find_leaks({"given.py": "def call(fn, *args, **kwargs):\n    return fn(*args, **kwargs)\n"}, secrets) == []


def test_only_hidden_test_cases_are_secret_and_found_in_notebook_metadata():
    secrets = hidden_test_secrets("tests/q.py", TESTS)
    assert [s.origin for s in secrets] == ["tests/q.py:test_hidden"]
    metadata_leak = json.dumps({"cells": [], "metadata": {"otter": {"tests": {"q": TESTS}}}})
    assert find_leaks({"hw.ipynb": metadata_leak}, secrets) == ["tests/q.py:test_hidden appears in hw.ipynb"]
    assert find_leaks({"hw.ipynb": _notebook("def test_public(f):\n    assert f(1) == 2")}, secrets) == []


def test_secret_in_a_plain_text_file_is_found():
    secret = Secret("autograder/checks/topic.py:check", "value = compute_the_hidden_thing(x, y, z)\nassert value > 0")
    assert find_leaks({"notes.md": "see: value = compute_the_hidden_thing(x, y, z)  \n  assert value > 0"}, [secret])
