"""Replaying recorded examples runs a property exactly as hypothesis does under the grading profile.

Each test runs the same property twice, once through hypothesis itself and once through
:func:`autograder.checks.replay.run`, with a body that logs every call (its inputs and what the
global random generators give it), and compares the logs and the outcome.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from autograder.checks import replay
from autograder.checks.settings import GRADING

FEW = settings(GRADING, max_examples=5)
REPO_ROOT = Path(__file__).resolve().parents[1]


def _property(log: list, fails=lambda call, kwargs: False, profile=GRADING):
    """A property over mixed strategies; its body logs each call and fails where ``fails`` says."""

    @profile
    @given(n=st.integers(0, 9), x=st.floats(-2.0, 2.0), kind=st.sampled_from(["a", "b", "c"]),
           sizes=st.lists(st.integers(1, 4), max_size=3))
    @example(n=1, x=0.5, kind="a", sizes=[2])
    @example(n=2, x=-0.5, kind="b", sizes=[])
    def prop(n, x, kind, sizes):
        log.append((n, x, kind, list(sizes), random.random(), float(np.random.rand())))
        sizes.append(99)  # mutating an input must not change the recording
        assert not fails(len(log), (n, x, kind))

    return prop


def _both(fails=lambda call, kwargs: False, profile=GRADING):
    """(log, exception) of hypothesis' run and of the replay, each on a fresh property object."""
    outcomes = []
    for runner in (lambda p: p(), replay.run):
        log: list = []
        try:
            runner(_property(log, fails, profile))
            error = None
        except BaseException as exc:  # noqa: BLE001 - compared below
            error = exc
        outcomes.append((log, error))
    return outcomes


@pytest.mark.parametrize("profile", [GRADING, FEW], ids=["GRADING", "FEW"])
def test_a_passing_property_runs_on_the_same_inputs_in_the_same_order(profile):
    (real, real_error), (replayed, replay_error) = _both(profile=profile)
    assert real_error is None and replay_error is None
    assert replayed == real
    assert len(real) == 2 + profile.max_examples


@pytest.mark.parametrize("fails", [lambda call, kwargs: False, lambda call, kwargs: call == 4],
                         ids=["passing", "failing"])
def test_the_global_generators_are_left_as_they_were(fails):
    """Hypothesis seeds the global generators for each example and restores them afterwards; so
    does the replay, also when the property fails."""
    random.seed(12345)
    np.random.seed(54321)
    before = random.getstate(), np.random.get_state()[1].copy()
    replay.run(_property([], lambda call, kwargs: False))  # recorded here, replayed below
    with pytest.raises(BaseException) if fails(4, None) else nullcontext():
        replay.run(_property([], fails))
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])


def test_the_first_failing_example_ends_the_property_and_is_run_again():
    fails = lambda call, kwargs: kwargs[0] >= 7  # noqa: E731
    (real, real_error), (replayed, replay_error) = _both(fails)
    assert replayed == real
    assert real[-1][:3] == real[-2][:3]  # the failing example, run twice
    assert type(replay_error) is type(real_error) is AssertionError


def test_a_failure_that_does_not_reproduce_is_flaky():
    failed: set = set()

    def once(call, kwargs):  # fails the first time it meets an input with n >= 5 only
        if kwargs[0] >= 5 and not failed:
            failed.add(kwargs)
            return True
        return False

    (real, real_error), _ = _both(once)
    failed.clear()
    log: list = []
    with pytest.raises(Flaky):
        replay.run(_property(log, once))
    assert isinstance(real_error, Flaky)
    assert log == real


def test_a_failing_explicit_example_is_raised_without_a_second_run():
    fails = lambda call, kwargs: kwargs[2] == "b"  # noqa: E731 - the second explicit example
    (real, real_error), (replayed, replay_error) = _both(fails)
    assert replayed == real and len(real) == 2
    assert type(replay_error) is type(real_error) is AssertionError


def test_examples_are_recorded_once_per_property_site(monkeypatch):
    recorded = []
    original = replay._record
    monkeypatch.setattr(replay, "_record", lambda prop: recorded.append(prop) or original(prop))
    monkeypatch.setattr(replay, "_RECORDED", {})
    for _ in range(3):  # the closure is re-created on each check, as in the graders
        replay.run(_property([]))
    replay.run(_property([], profile=FEW))  # other settings: another recording
    assert len(recorded) == 2


def test_a_plain_callable_is_just_called():
    calls = []
    replay.run(lambda: calls.append(1))
    assert calls == [1]


def test_a_property_that_draws_interactively_is_run_by_hypothesis():
    logs = []
    for runner in (lambda p: p(), replay.run):
        log: list = []

        @GRADING
        @given(n=st.integers(0, 5), data=st.data())
        def prop(n, data):
            log.append((n, data.draw(st.integers(0, n))))

        runner(prop)
        logs.append(log)
    assert logs[0] == logs[1] and len(logs[0]) > 1


RECORD_ELSEWHERE = """
import sys
from autograder.checks import replay
from tests.test_replay import _property
replay.run(_property([]))
sys.stdout.buffer.write(replay.dumps())
"""


def test_a_recording_made_in_another_process_replays_hypothesis_inputs(monkeypatch):
    """What the build ships (:func:`replay.dumps` of another process) is taken by key, and the
    replay then runs on exactly hypothesis' inputs without generating any."""
    made = subprocess.run([sys.executable, "-c", RECORD_ELSEWHERE], cwd=REPO_ROOT, capture_output=True, check=True)
    monkeypatch.setattr(replay, "_RECORDED", {})
    assert replay.loads(made.stdout) == 1
    monkeypatch.setattr(replay, "_record", lambda prop: pytest.fail("generated examples despite the recording"))
    (real, real_error), (replayed, replay_error) = _both()
    assert real_error is None and replay_error is None
    assert replayed == real and len(real) == 2 + GRADING.max_examples


def test_a_recording_of_another_hypothesis_version_is_ignored(monkeypatch):
    monkeypatch.setattr(replay, "_RECORDED", {})
    replay.run(_property([]))
    recording = json.loads(replay.dumps())
    recording["hypothesis"] = "0.0.0"
    monkeypatch.setattr(replay, "_RECORDED", {})
    assert replay.loads(json.dumps(recording).encode()) == 0 and replay._RECORDED == {}


def test_recorded_inputs_come_back_with_their_types(monkeypatch):
    """Tuples, torch dtypes, None, floats (a nan too) survive the JSON; a property whose inputs
    are not plain data (a numpy scalar would come back as a float) is left out."""
    torch = pytest.importorskip("torch")
    seen = []

    @FEW
    @given(shape=st.tuples(st.integers(1, 3), st.integers(1, 3)), dtype=st.sampled_from([torch.float32, torch.float64]),
           value=st.sampled_from([None, float("nan"), -0.0, 1e300]), flag=st.booleans())
    def plain(shape, dtype, value, flag):
        seen.append((shape, dtype, value, flag))

    @FEW
    @given(x=st.sampled_from([np.float64(1.5)]))
    def numpy_scalar(x):
        pass

    monkeypatch.setattr(replay, "_RECORDED", {})
    replay.run(plain)
    replay.run(numpy_scalar)
    original = seen[:]
    data = replay.dumps()
    assert len(json.loads(data)["properties"]) == 1
    monkeypatch.setattr(replay, "_RECORDED", {})
    replay.loads(data)
    seen.clear()
    replay.run(plain)
    assert [tuple(map(type, s)) for s in seen] == [tuple(map(type, s)) for s in original]
    assert repr(seen) == repr(original)


EXAMPLES_WITH_A_LOCAL_MODULE = """
import json, sys
patched, local = sys.argv[1] == "patched", sys.argv[2] == "local"
if patched:
    import autograder.checks.settings  # noqa: F401 - what every check imports
if local:
    import constants_here  # noqa: F401 - a module of ours (outside site-packages), loaded before drawing
from hypothesis import given, settings, strategies as st
seen = []

@settings(derandomize=True, database=None, max_examples=60)
@given(x=st.floats(0.0, 1.0), n=st.integers(0, 10**6))
def prop(x, n):
    seen.append([x, n])

prop()
print(json.dumps(seen))
"""


def test_examples_do_not_depend_on_which_local_modules_are_loaded(tmp_path):
    """Hypothesis draws constants from loaded local modules: the same derandomized property
    drew other examples once a module of ours full of constants was imported. With the grading
    settings module imported (every check imports it), it draws the same either way."""
    (tmp_path / "constants_here.py").write_text(
        "VALUES = [" + ", ".join(f"{k / 997:.6f}" for k in range(1, 400)) + "]\n"
        "COUNTS = [" + ", ".join(str(7919 * k) for k in range(1, 100)) + "]\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])}

    def examples(patched: str, local: str) -> list:
        run = subprocess.run([sys.executable, "-c", EXAMPLES_WITH_A_LOCAL_MODULE, patched, local],
                             cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
        return json.loads(run.stdout)

    assert examples("plain", "none") != examples("plain", "local")  # hypothesis' own behaviour
    assert examples("patched", "none") == examples("patched", "local")
