"""Run a hypothesis property on examples generated once per process, not once per submission.

Under the grading profile (:data:`autograder.checks.settings.GRADING`: derandomized, no
database, no shrinking) the examples hypothesis generates for a property do not depend on the
code under test: the seed is the property's own digest and the choice sequence depends only on
the strategies, as long as every example passes. So the judge, which grades submission after
submission in one warm process, asks hypothesis once per property for its examples (running it
with a body that only records them) and from then on runs the property's body on that list:
hypothesis' generation and bookkeeping (about a third of a metalearning grading) is paid once.

The replay keeps hypothesis' semantics under that profile, which is what makes scores equal to
a plain hypothesis run (``tests/test_replay.py`` compares the two):

- the explicit ``@example`` inputs first, in source order, then the generated ones, in order;
- each run with Python's and numpy's global generators (every generator hypothesis manages)
  seeded as hypothesis' ``deterministic_PRNG`` seeds them for each example, and their states
  restored after the property;
- the first failing example ends the property; a failing generated example is run once more,
  and if it then passes the failure is hypothesis' ``FlakyFailure`` ("not reproducible"),
  otherwise the second run's exception is raised (hypothesis reports the reproduction too);
  an explicit example's failure is raised as is.

The recorded inputs are plain values (ints, floats, strings, dtypes); each run gets a deep copy.
A property that draws interactively (``st.data()``) cannot be replayed: its later draws are made
while it runs; hypothesis runs it, as before.
The cache key holds the digest of the property's body (the seed hypothesis derives from it), its
strategies, explicit examples and settings (all by value), so two properties that differ in any
of them never share a list, and the key means the same in every process.

That is what lets the build record the examples once more, ahead of every grading process: it
grades the solution, whose checks run every property, and ships :func:`dumps` of the recordings
in the bundle; a cold grading process (one Gradescope container per submission) :func:`loads`
them and generates nothing. A recording made under another hypothesis version is ignored, and a
property missing from it is recorded as before.
"""

from __future__ import annotations

import copy
import json
import random
from types import CodeType
from typing import Any, Callable

_RECORDED: dict[tuple[str, ...], list[dict[str, Any]] | None] = {}
_DIGESTS: dict[CodeType, str] = {}  # a property's body is a new closure at every check; its code is not


def _key(prop: Callable) -> tuple[str, ...]:
    from hypothesis.internal.reflection import function_digest

    handle = prop.hypothesis
    body = handle.inner_test
    if body.__code__ not in _DIGESTS:
        _DIGESTS[body.__code__] = function_digest(body).hex()
    explicit = getattr(prop, "hypothesis_explicit_examples", ())
    return (_DIGESTS[body.__code__], repr(handle._given_kwargs),
            repr([(e.args, e.kwargs) for e in explicit]), repr(prop._hypothesis_internal_use_settings))


def _record(prop: Callable) -> list[dict[str, Any]]:
    """The inputs hypothesis runs ``prop`` on when every example passes (explicit ones first)."""
    from hypothesis.internal.compat import int_from_bytes
    from hypothesis.internal.reflection import function_digest

    handle, seen = prop.hypothesis, []
    body, seed = handle.inner_test, prop._hypothesis_internal_use_seed
    # derandomize seeds from the digest of the body hypothesis calls: keep the real body's seed
    prop._hypothesis_internal_use_seed = int_from_bytes(function_digest(body))
    handle.inner_test = lambda **kwargs: seen.append(copy.deepcopy(kwargs))
    try:
        prop()
    finally:
        handle.inner_test, prop._hypothesis_internal_use_seed = body, seed
    return seen


def _draws_interactively(prop: Callable) -> bool:
    return any(repr(strategy) == "data()" for strategy in prop.hypothesis._given_kwargs.values())


def examples(prop: Callable) -> list[dict[str, Any]] | None:
    """The recorded inputs of a property (recorded on first use in this process); None for one
    that cannot be replayed."""
    key = _key(prop)
    if key not in _RECORDED:
        _RECORDED[key] = None if _draws_interactively(prop) else _record(prop)
    return _RECORDED[key]


class _Unrecordable(TypeError):
    """An input :func:`dumps` cannot write as data (the property is left out of the recording)."""


def _encode(value: Any) -> Any:
    """A recorded input as JSON: lists, strings, numbers, booleans and None as they are, a tuple
    as ``{"tuple": [...]}``, a torch dtype as ``{"torch.dtype": name}``; exact types only (a
    numpy scalar would come back as a Python number)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [_encode(v) for v in value]
    if type(value) is tuple:
        return {"tuple": [_encode(v) for v in value]}
    if type(value).__module__ == "torch" and type(value).__name__ == "dtype":
        return {"torch.dtype": str(value).removeprefix("torch.")}
    raise _Unrecordable(type(value).__name__)


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict) and "tuple" in value:
        return tuple(_decode(v) for v in value["tuple"])
    if isinstance(value, dict) and "torch.dtype" in value:
        import torch

        return getattr(torch, value["torch.dtype"])
    return value


def _hypothesis_version() -> str:
    import hypothesis

    return hypothesis.__version__


def dumps() -> bytes:
    """Every replayable recording of this process, as JSON sorted by key (two runs that recorded
    the same properties give the same bytes)."""
    properties = []
    for key, recorded in sorted(_RECORDED.items()):
        if recorded is None:
            continue
        try:
            encoded = [{name: _encode(v) for name, v in kwargs.items()} for kwargs in recorded]
        except _Unrecordable:
            continue
        properties.append({"key": list(key), "examples": encoded})
    return json.dumps({"hypothesis": _hypothesis_version(), "properties": properties},
                      sort_keys=True, separators=(",", ":")).encode()


def loads(data: bytes) -> int:
    """Take the recordings of :func:`dumps` (made under this hypothesis version; else none) for
    properties not recorded here yet; how many were taken."""
    recording = json.loads(data)
    if recording.get("hypothesis") != _hypothesis_version():
        return 0
    taken = 0
    for entry in recording["properties"]:
        key = tuple(entry["key"])
        if key not in _RECORDED:
            _RECORDED[key] = [{name: _decode(v) for name, v in kwargs.items()} for kwargs in entry["examples"]]
            taken += 1
    return taken


_SEEDED_STATE = random.Random(0).getstate()


def _reseed() -> None:
    """Seed every generator hypothesis manages (Python's and numpy's global ones, its own) the
    way ``deterministic_PRNG`` seeds them on entry, without saving their states again (the
    enclosing ``deterministic_PRNG`` saved and restores them): 4 µs instead of its 170 µs."""
    from hypothesis.internal.entropy import RANDOMS_TO_MANAGE

    for ref in list(RANDOMS_TO_MANAGE.data.values()):
        generator = ref()
        if generator is None:
            continue
        if type(generator) is random.Random:
            generator.setstate(_SEEDED_STATE)
        else:
            generator.seed(0)


def run(prop: Callable) -> None:
    """Run a property: a ``@given`` test by replay of its recorded examples, anything else
    (and a property that cannot be replayed) by calling it."""
    recorded = examples(prop) if hasattr(prop, "hypothesis") else None
    if recorded is None:
        prop()
        return
    from hypothesis import Phase
    from hypothesis.errors import FlakyFailure
    from hypothesis.internal.entropy import deterministic_PRNG

    body = prop.hypothesis.inner_test
    explicit = (len(getattr(prop, "hypothesis_explicit_examples", ()))
                if Phase.explicit in prop._hypothesis_internal_use_settings.phases else 0)

    def once(kwargs: dict[str, Any]) -> None:
        _reseed()
        body(**copy.deepcopy(kwargs))

    with deterministic_PRNG():
        for index, kwargs in enumerate(recorded):
            try:
                once(kwargs)
            except Exception as first:
                if index < explicit:
                    raise
                try:
                    once(kwargs)
                except Exception as again:
                    raise again from None
                raise FlakyFailure("a failing example passed when run again", [first]) from None
