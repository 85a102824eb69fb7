"""The hidden checks of the meta-learning assignment against the fixture submissions.

Fast: no notebook is executed. Each fixture is turned into a notebook-like namespace
(``fixture_namespace``) and every hidden check is run on it: a question expected ``full`` must
pass its hidden check, ``public`` or ``zero`` must fail it.

Where a fixture leaves a graded function exactly as in the reference (same code, and every global
it reads is the same object), the check's outcome is by construction the reference's, so it is
taken from the reference run instead of being recomputed (this keeps the suite at ~20 s instead of
~100 s); ``METALEARNING_CHECKS_FULL=1`` recomputes every pair.
"""

from __future__ import annotations

import inspect
import os
import types
from pathlib import Path

import numpy as np
import pytest

from autograder.checks import metalearning as checks
from autograder.checks.isolation import delegate, substituted, substituted_globals
from autograder.fixtures import Fixture, _stub, fixture_namespace, load_fixtures
from solutions import metalearning as reference

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = load_fixtures(ROOT / "assignments" / "metalearning" / "fixtures")
ANSWERS = list(checks.QUESTIONS)
REFERENCE_SOURCE = inspect.getsource(reference)

# fixtures with deliberate mistakes divide by zero or overflow; that is their point
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _namespace(fixture: Fixture) -> dict:
    return fixture_namespace(fixture, REFERENCE_SOURCE, ANSWERS)


def _reference_namespace() -> dict:
    namespace: dict = {"__name__": "reference_notebook"}
    exec(compile(REFERENCE_SOURCE, "<reference>", "exec"), namespace)
    return namespace


_REFERENCE_NS = _reference_namespace()


def _outcome(check, namespace) -> str | None:
    """None when the check passes, else its failure message."""
    try:
        check(namespace)
    except AssertionError as exc:
        return str(exc)
    return None


def _fixture_cases():
    for fixture in FIXTURES:
        for question in ANSWERS:
            yield pytest.param(fixture, question, id=f"{fixture.name}-{question}")


def test_fixtures_exist_and_cover_every_question():
    assert FIXTURES, "no fixtures found"
    names = {f.name for f in FIXTURES}
    assert len(names) == len(FIXTURES)
    for question in ANSWERS:
        mistakes = [f for f in FIXTURES if f.outcome(question) != "full"]
        assert mistakes, f"no mistake fixture for {question}"
    for fixture in FIXTURES:
        assert fixture.base == "solution"
        assert set(fixture.expect) <= set(ANSWERS), fixture.name
        assert set(fixture.defined_names()) & set(ANSWERS), fixture.name


_OUTCOMES: dict[tuple[str, str], str | None] = {}
_MISSING = object()
# METALEARNING_CHECKS_FULL=1 runs every check on every fixture even where the fixture left the
# graded function exactly as in the reference (see _unchanged_from_reference).
FULL_MATRIX = os.environ.get("METALEARNING_CHECKS_FULL") == "1"


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _unchanged_from_reference(namespace: dict, question: str) -> bool:
    """True when ``namespace[question]`` is the reference function's code and every global it
    can look up (other than graded names, which the check binds to the reference anyway) is the
    very same object as in the reference namespace: its check outcome is then the reference's."""
    fn, ref_fn = namespace.get(question), _REFERENCE_NS[question]
    if type(fn) is not types.FunctionType or fn.__code__ != ref_fn.__code__ \
            or fn.__defaults__ != ref_fn.__defaults__ or fn.__kwdefaults__ != ref_fn.__kwdefaults__:
        return False
    return all(name in ANSWERS or namespace.get(name, _MISSING) is _REFERENCE_NS.get(name, _MISSING)
               for name in _global_names(fn.__code__))


def _fixture_outcome(fixture: Fixture, question: str) -> str | None:
    """The check's outcome on a fresh namespace of the fixture (cached)."""
    key = (fixture.name, question)
    if key not in _OUTCOMES:
        namespace = _namespace(fixture)
        if not FULL_MATRIX and _unchanged_from_reference(namespace, question):
            _OUTCOMES[key] = _fixture_outcome_reference(question)
        else:
            _OUTCOMES[key] = _outcome(checks.CHECKS[question], namespace)
    return _OUTCOMES[key]


def _fixture_outcome_reference(question: str) -> str | None:
    key = ("<reference>", question)
    if key not in _OUTCOMES:
        _OUTCOMES[key] = _outcome(checks.CHECKS[question], _reference_namespace())
    return _OUTCOMES[key]


def test_shortcut_never_applies_to_a_redefined_function():
    for fixture in FIXTURES:
        namespace = _namespace(fixture)
        for name in set(fixture.defined_names()) & set(ANSWERS):
            assert not _unchanged_from_reference(namespace, name), (fixture.name, name)


@pytest.mark.parametrize("fixture, question", list(_fixture_cases()))
def test_fixture_outcome(fixture, question):
    message = _fixture_outcome(fixture, question)
    expected = fixture.outcome(question)
    if expected == "full":
        assert message is None, f"{fixture.name}: {question} should pass its hidden check: {message}"
    else:
        assert message is not None, f"{fixture.name}: {question} ({expected}) passed its hidden check"
        assert message.startswith(f"{question}: "), message
        assert len(message) < 300


@pytest.mark.parametrize("question", ANSWERS)
def test_reference_passes(question):
    assert _outcome(checks.CHECKS[question], _reference_namespace()) is None


def _stub_namespace() -> dict:
    """The solution notebook with every answer an untouched otter stub (returns None)."""
    namespace = _reference_namespace()
    namespace.update({name: _stub for name in ANSWERS})
    return namespace


def _source_lines(module) -> set[str]:
    return {line.strip() for line in inspect.getsource(module).splitlines() if len(line.strip()) > 12}


@pytest.mark.parametrize("question", ANSWERS)
def test_stub_fails_with_a_short_safe_message(question):
    message = _outcome(checks.CHECKS[question], _stub_namespace())
    assert message is not None
    assert message.startswith(f"{question}: ")
    assert len(message) < 300
    assert "\n" not in message
    for line in _source_lines(reference) | _source_lines(checks):
        if not line.startswith(("#", '"""')) and line not in ('"""', "else:", "return"):
            assert line not in message, line


@pytest.mark.parametrize("question", ANSWERS)
def test_checks_are_deterministic(question):
    """Two gradings of the same submission give the same outcome and message."""
    for make in (_reference_namespace, _stub_namespace):
        assert _outcome(checks.CHECKS[question], make()) == _outcome(checks.CHECKS[question], make())
    for fixture in FIXTURES:
        if question in fixture.defined_names():
            first = _fixture_outcome(fixture, question)
            assert _outcome(checks.CHECKS[question], _namespace(fixture)) == first, fixture.name


def _hostile_outputs():
    class AlwaysEqual(np.ndarray):
        def __eq__(self, other):
            return True

    class LyingFloat(float):
        def __eq__(self, other):
            return True

        def __float__(self):
            return 0.0

    return AlwaysEqual, LyingFloat


def test_hostile_return_values_fail():
    AlwaysEqual, LyingFloat = _hostile_outputs()
    namespace = _reference_namespace()

    def min_norm_solution(A, y):
        return np.zeros(A.shape[1]).view(AlwaysEqual)

    def alias_test_error(c):
        return LyingFloat(123.0)

    def alias_c_gradient(c):
        return np.array([object(), object()], dtype=object)

    def classification_error(scores, labels):
        raise SystemExit(0)

    def fourier_features(x, d):
        return np.full((len(x), d), np.nan)

    for fn in (min_norm_solution, alias_test_error, alias_c_gradient, classification_error,
               fourier_features):
        namespace[fn.__name__] = fn
        message = _outcome(checks.CHECKS[fn.__name__], namespace)
        assert message is not None and message.startswith(fn.__name__), fn.__name__
        assert len(message) < 300


def test_exception_messages_name_only_the_type():
    namespace = _reference_namespace()

    def weighted_min_norm(Phi, c, y):
        raise RuntimeError("SECRET " * 100)

    namespace["weighted_min_norm"] = weighted_min_norm
    message = _outcome(checks.check_weighted_min_norm, namespace)
    assert message is not None and "raised RuntimeError" in message and "SECRET" not in message


def test_isolation_grades_dependents_with_the_reference_dependency():
    """A broken dependency does not cost the dependent function its hidden points."""
    namespace = _reference_namespace()

    def broken(*args, **kwargs):
        raise ZeroDivisionError

    for dependency, dependent in (("min_norm_solution", "weighted_min_norm"),
                                  ("alias_c_gradient", "gradient_descent_c"),
                                  ("closed_form_coefficients", "meta_loss_closed_form")):
        namespace[dependency] = broken
        assert _outcome(checks.CHECKS[dependent], namespace) is None, dependent
        assert namespace[dependency] is broken
        namespace[dependency] = getattr(reference, dependency)


def test_isolation_restores_globals_when_the_check_fails():
    namespace = _reference_namespace()
    originals = {name: namespace[name] for name in ANSWERS}
    namespace.pop("alias_test_error")
    seen = {}

    def gradient_descent_c(c_init, step_size, num_steps):
        seen.update(namespace)
        return None  # fails the check

    namespace["gradient_descent_c"] = gradient_descent_c
    assert _outcome(checks.check_gradient_descent_c, namespace) is not None
    # during the check, the other graded names were bound to reference delegates
    assert seen["alias_c_gradient"] is not originals["alias_c_gradient"]
    assert "alias_test_error" in seen
    # afterwards everything is exactly as before, the absent name absent again
    assert "alias_test_error" not in namespace
    assert namespace["gradient_descent_c"] is gradient_descent_c
    for name in ANSWERS:
        if name not in ("alias_test_error", "gradient_descent_c"):
            assert namespace[name] is originals[name], name


def test_substituted_restores_on_exception():
    namespace = {"a": 1}

    def f():
        return a  # noqa: F821 - resolved in the dict below

    g = type(f)(f.__code__, namespace)
    with pytest.raises(KeyError):
        with substituted_globals(g, {"a": 2, "b": 3}):
            assert g() == 2
            raise KeyError("boom")
    assert namespace == {"a": 1}
    with pytest.raises(ValueError):
        with substituted(namespace, {"a": delegate(lambda: 5, "a")}):
            assert namespace["a"]() == 5
            raise ValueError
    assert namespace == {"a": 1}


@pytest.mark.parametrize("seed", range(3))
def test_reference_gradients_agree_with_finite_differences_of_the_oracles(seed):
    """The reference gradients the hidden checks compare with are right (independent oracle)."""
    rng = np.random.default_rng(seed)
    n, d, m = 3, 5, 4
    Phi, y = checks._well_conditioned(rng, n, d), rng.standard_normal(n)
    Phi_meta, y_meta = rng.standard_normal((m, d)), rng.standard_normal(m)
    c, w = checks._weights(rng, d), rng.standard_normal(d)
    lr = 0.5 / (2.0 / n * np.linalg.norm(Phi * c, 2) ** 2)
    cases = [
        (reference.closed_form_coefficients, (Phi, y),
         lambda c_: w @ checks._closed_form_oracle(c_, Phi, y), w),
        (reference.meta_loss_closed_form, (Phi, y, Phi_meta, y_meta),
         lambda c_: np.sum((Phi_meta @ checks._closed_form_oracle(c_, Phi, y) - y_meta) ** 2), None),
        (reference.inner_gd_coefficients, (Phi, y, 3, lr),
         lambda c_: w @ checks._inner_gd_oracle(c_, Phi, y, 3, lr), w),
    ]
    h = 1e-6
    for fn, args, objective, weights in cases:
        _, grad = checks._reference_gradient(fn, c, *args, weights=weights)
        numeric = np.array([(objective(c + h * e) - objective(c - h * e)) / (2 * h) for e in np.eye(d)])
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)
    numeric = np.array([(checks._alias_error(c[:2] + h * e) - checks._alias_error(c[:2] - h * e)) / (2 * h)
                        for e in np.eye(2)])
    np.testing.assert_allclose(checks._alias_gradient(c[:2]), numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(reference.alias_c_gradient(c[:2]), checks._alias_gradient(c[:2]))
