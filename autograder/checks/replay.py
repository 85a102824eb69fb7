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
The cache key holds the property's code, its strategies, explicit examples and settings (all by
value), so two properties that differ in any of them never share a list.
"""

from __future__ import annotations

import copy
import random
from typing import Any, Callable

_RECORDED: dict[tuple, list[dict[str, Any]] | None] = {}


def _key(prop: Callable) -> tuple:
    handle = prop.hypothesis
    explicit = getattr(prop, "hypothesis_explicit_examples", ())
    return (handle.inner_test.__code__, repr(handle._given_kwargs),
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
