"""Shared helpers for testing an assignment's hidden checks against its fixture submissions.

Used by ``tests/test_<assignment>_checks.py``. Fast: no notebook is executed. Each fixture becomes
a notebook-like namespace (``fixture_namespace``) and every hidden check runs on it: a question
expected ``full`` must pass its hidden check, ``public`` or ``zero`` must fail it.

Outcomes are cached by *fingerprint*: a check grades the student's function in isolation (every
other graded name is bound to the reference while it runs) and is deterministic, so its outcome is
a function of the graded function's code and of the objects its code can reach through globals.
The fingerprint is that code (without line numbers or file names) together with the fingerprints
of the notebook-level helper functions it calls and the identity (the value, for numbers and
strings) of every other global it reads (modules, constants). A fixture that leaves a graded function as in the reference shares the
reference's outcome; fixtures that paste the same self-contained helper share one outcome. Setting
the environment variable named by ``full_env`` to ``1`` recomputes every pair.
"""

from __future__ import annotations

import dis
import inspect
import os
import types
from pathlib import Path
from typing import Any, Callable

import pytest

from autograder.build.fixtures import Fixture, _stub, fixture_namespace, load_fixtures

_MISSING = object()
_PRIMITIVES = (int, float, complex, str, bytes, bool, type(None))


class _Identity:
    """A hashable handle comparing by identity; it holds the object, so its id is not reused."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any):
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)


def _value_key(value: Any) -> Any:
    if type(value) in _PRIMITIVES:
        return (type(value).__name__, value)
    if type(value) is tuple:
        return ("tuple",) + tuple(_value_key(v) for v in value)
    if isinstance(value, types.CodeType):
        return code_key(value)
    return _Identity(value)


def code_key(code: types.CodeType) -> tuple:
    """What a code object computes, without its name, line numbers or file name."""
    return ("code", code.co_code, code.co_names, code.co_varnames, code.co_freevars,
            code.co_cellvars, code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
            code.co_flags, tuple(_value_key(c) for c in code.co_consts))


_GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "STORE_NAME", "DELETE_GLOBAL",
               "DELETE_NAME"}


def global_names(code: types.CodeType) -> set[str]:
    """Every name a code object (and the code nested in it) may look up in its globals
    (attribute names such as the ``grad`` of ``torch.autograd.grad`` are not globals)."""
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in _GLOBAL_OPS}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= global_names(const)
    return names


def source_lines(module) -> set[str]:
    """The stripped source lines of a module longer than 12 characters."""
    return {line.strip() for line in inspect.getsource(module).splitlines() if len(line.strip()) > 12}


def outcome(check: Callable[[dict], None], namespace: dict) -> str | None:
    """None when the check passes, else its failure message."""
    try:
        check(namespace)
    except AssertionError as exc:
        return str(exc)
    return None


class CheckMatrix:
    """An assignment's hidden checks (``checks.CHECKS``, ``checks.QUESTIONS``), its reference
    module and its fixtures, with cached fixture × question outcomes."""

    def __init__(self, checks, reference, fixtures_dir: Path, full_env: str):
        self.checks = checks
        self.answers = list(checks.QUESTIONS)
        self.reference = reference
        self.reference_source = inspect.getsource(reference)
        self.fixtures = load_fixtures(fixtures_dir)
        self.full = os.environ.get(full_env) == "1"
        self._outcomes: dict[Any, str | None] = {}
        self._reference_ns = self.reference_namespace()

    # namespaces ---------------------------------------------------------------------------------

    def namespace(self, fixture: Fixture) -> dict:
        return fixture_namespace(fixture, self.reference_source, self.answers)

    def reference_namespace(self) -> dict:
        namespace: dict = {"__name__": "reference_notebook"}
        exec(compile(self.reference_source, "<reference>", "exec"), namespace)
        return namespace

    def stub_namespace(self) -> dict:
        """The solution notebook with every answer an untouched otter stub (returns None)."""
        namespace = self.reference_namespace()
        namespace.update({name: _stub for name in self.answers})
        return namespace

    # fingerprints -------------------------------------------------------------------------------

    def fingerprint(self, namespace: dict, name: str, _seen: frozenset = frozenset()) -> Any:
        """What the check of ``name`` can depend on in ``namespace`` (None: not cacheable)."""
        fn = namespace.get(name, _MISSING)
        if type(fn) is not types.FunctionType or fn.__closure__ or fn.__globals__ is not namespace:
            return None
        parts = [code_key(fn.__code__), _value_key(fn.__defaults__),
                 _value_key(tuple(sorted((fn.__kwdefaults__ or {}).items())))]
        seen = _seen | {name}
        for global_name in sorted(global_names(fn.__code__)):
            if global_name in self.answers and global_name != name:
                continue  # bound to the reference while the check runs
            if global_name == "__name__":
                continue  # only a class's __module__ reads it (each namespace has its own)
            value = namespace.get(global_name, _MISSING)
            if global_name in seen:
                parts.append((global_name, "recursive"))
            elif type(value) is types.FunctionType and value.__globals__ is namespace:
                helper = self.fingerprint(namespace, global_name, seen)
                if helper is None:
                    return None
                parts.append((global_name, helper))
            elif type(value) in _PRIMITIVES:
                parts.append((global_name, _value_key(value)))
            else:
                parts.append((global_name, _Identity(value)))
        return tuple(parts)

    def unchanged_from_reference(self, namespace: dict, question: str) -> bool:
        """True when ``namespace[question]`` has the reference's fingerprint."""
        mine = self.fingerprint(namespace, question)
        return mine is not None and mine == self.fingerprint(self._reference_ns, question)

    # outcomes -----------------------------------------------------------------------------------

    def reference_outcome(self, question: str) -> str | None:
        key = ("<reference>", question)
        if key not in self._outcomes:
            self._outcomes[key] = outcome(self.checks.CHECKS[question], self.reference_namespace())
        return self._outcomes[key]

    def fixture_outcome(self, fixture: Fixture, question: str) -> str | None:
        """The check's outcome on a fresh namespace of the fixture (cached by fingerprint)."""
        key = (fixture.name, question)
        if key not in self._outcomes:
            namespace = self.namespace(fixture)
            check = self.checks.CHECKS[question]
            if self.full:
                self._outcomes[key] = outcome(check, namespace)
            elif self.unchanged_from_reference(namespace, question):
                self._outcomes[key] = self.reference_outcome(question)
            else:
                shared = self.fingerprint(namespace, question)
                shared_key = ("<fingerprint>", question, shared)
                if shared is None:
                    self._outcomes[key] = outcome(check, namespace)
                else:
                    if shared_key not in self._outcomes:
                        self._outcomes[shared_key] = outcome(check, namespace)
                    self._outcomes[key] = self._outcomes[shared_key]
        return self._outcomes[key]

    def cases(self) -> list:
        return [pytest.param(fixture, question, id=f"{fixture.name}-{question}")
                for fixture in self.fixtures for question in self.answers]

    # assertions shared by the assignments' tests ------------------------------------------------

    def assert_fixtures_cover_every_question(self) -> None:
        assert self.fixtures, "no fixtures found"
        assert len({f.name for f in self.fixtures}) == len(self.fixtures)
        for question in self.answers:
            mistakes = [f for f in self.fixtures if not f.passes_hidden(question)]
            assert mistakes, f"no mistake fixture for {question}"
        for fixture in self.fixtures:
            assert fixture.base == "solution"
            assert set(fixture.expect) <= set(self.answers), fixture.name
            assert set(fixture.defined_names()) & set(self.answers), fixture.name

    def assert_no_redefinition_is_taken_for_the_reference(self) -> None:
        for fixture in self.fixtures:
            namespace = self.namespace(fixture)
            for name in set(fixture.defined_names()) & set(self.answers):
                assert not self.unchanged_from_reference(namespace, name), (fixture.name, name)

    def assert_fixture_outcome(self, fixture: Fixture, question: str) -> None:
        message = self.fixture_outcome(fixture, question)
        expected = fixture.outcome(question)
        if fixture.passes_hidden(question):
            assert message is None, f"{fixture.name}: {question} should pass its hidden check: {message}"
        else:
            assert message is not None, f"{fixture.name}: {question} ({expected}) passed its hidden check"
            assert message.startswith(f"{question}: "), message
            assert len(message) < 300

    def assert_stub_fails_safely(self, question: str, *modules) -> None:
        message = outcome(self.checks.CHECKS[question], self.stub_namespace())
        assert message is not None
        assert message.startswith(f"{question}: ")
        assert len(message) < 300
        assert "\n" not in message
        lines = set().union(*(source_lines(m) for m in (self.reference, self.checks, *modules)))
        for line in lines:
            if not line.startswith(("#", '"""')) and line not in ('"""', "else:", "return"):
                assert line not in message, line

    def assert_replacement_fails_safely(self, fn: Callable) -> str:
        """The reference notebook with ``fn`` as the answer of the same name fails that answer's
        check with a short message naming the question; returns the message."""
        namespace = self.reference_namespace()
        namespace[fn.__name__] = fn
        message = outcome(self.checks.CHECKS[fn.__name__], namespace)
        assert message is not None and message.startswith(f"{fn.__name__}: "), message
        assert len(message) < 300
        return message

    def assert_deterministic(self, question: str) -> None:
        """Two gradings of the same submission give the same outcome and message."""
        check = self.checks.CHECKS[question]
        assert outcome(check, self.reference_namespace()) == self.reference_outcome(question)
        assert outcome(check, self.stub_namespace()) == outcome(check, self.stub_namespace())
        rerun = set()
        for fixture in self.fixtures:
            if question in fixture.defined_names():
                namespace = self.namespace(fixture)
                shared = self.fingerprint(namespace, question)
                if shared is not None and shared in rerun:
                    continue  # the same code was graded a second time already
                rerun.add(shared)
                first = self.fixture_outcome(fixture, question)
                assert outcome(check, namespace) == first, fixture.name


def standard_tests(matrix: CheckMatrix, require_alternatives: bool = True) -> dict[str, Callable]:
    """The tests every assignment's check module runs on its matrix; a test module takes them
    with ``globals().update(standard_tests(MATRIX))``:

    - the fixtures cover every question with a mistake (and, with ``require_alternatives``, a
      correct alternative), and the fingerprint shortcut never mistakes a redefinition for the
      reference;
    - every fixture × question outcome is the fixture's expectation;
    - the reference passes, the untouched stub fails with a short message free of source, and
      two gradings agree.
    """

    def test_fixtures_exist_and_cover_every_question():
        matrix.assert_fixtures_cover_every_question()
        if require_alternatives:
            for question in matrix.answers:
                alternatives = [f for f in matrix.fixtures
                                if question in f.defined_names() and f.outcome(question) == "full"]
                assert alternatives, f"no correct alternative for {question}"

    def test_shortcut_never_applies_to_a_redefined_function():
        matrix.assert_no_redefinition_is_taken_for_the_reference()

    @pytest.mark.parametrize("fixture, question", matrix.cases())
    def test_fixture_outcome(fixture, question):
        matrix.assert_fixture_outcome(fixture, question)

    @pytest.mark.parametrize("question", matrix.answers)
    def test_reference_passes(question):
        assert matrix.reference_outcome(question) is None

    @pytest.mark.parametrize("question", matrix.answers)
    def test_stub_fails_with_a_short_safe_message(question):
        matrix.assert_stub_fails_safely(question)

    @pytest.mark.parametrize("question", matrix.answers)
    def test_checks_are_deterministic(question):
        matrix.assert_deterministic(question)

    return {name: fn for name, fn in locals().items() if name.startswith("test_")}
