"""The hidden checks of the meta-learning assignment against the fixture submissions.

Fast: no notebook is executed. Each fixture is turned into a notebook-like namespace
(``fixture_namespace``) and every hidden check is run on it: a question expected ``full`` must
pass its hidden check, ``public`` or ``zero`` must fail it.

Where a fixture leaves a graded function exactly as in the reference (same code, and every global
it reads is the same object), the check's outcome is by construction the reference's, so it is
taken from the reference run instead of being recomputed (this keeps the suite at ~20 s instead of
~100 s); ``METALEARNING_CHECKS_FULL=1`` recomputes every pair. The matrix plumbing is shared with
the other assignments in ``tests/check_matrix.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autograder.checks import metalearning as checks
from autograder.engine.shared.substitution import delegate, substituted, substituted_globals
from solutions import metalearning as reference
from tests.check_matrix import CheckMatrix, outcome, standard_tests

ROOT = Path(__file__).resolve().parents[1]
# METALEARNING_CHECKS_FULL=1 runs every check on every fixture even where the fixture left the
# graded function exactly as in the reference (see tests/check_matrix.py).
MATRIX = CheckMatrix(checks, reference, ROOT / "assignments" / "metalearning" / "fixtures",
                     full_env="METALEARNING_CHECKS_FULL")
FIXTURES = MATRIX.fixtures
ANSWERS = MATRIX.answers
globals().update(standard_tests(MATRIX, require_alternatives=False))

# fixtures with deliberate mistakes divide by zero or overflow; that is their point
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

_outcome = outcome
_reference_namespace = MATRIX.reference_namespace


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
    namespace.pop("alias_c_gradient")
    seen = {}

    def gradient_descent_c(c_init, step_size, num_steps):
        seen.update(namespace)
        return None  # fails the check

    namespace["gradient_descent_c"] = gradient_descent_c
    assert _outcome(checks.check_gradient_descent_c, namespace) is not None
    # during the check, the graded name the reference relies on was bound to a reference
    # delegate; the others were left alone (their reference code stays out of the namespace)
    assert callable(seen["alias_c_gradient"]) and seen["alias_c_gradient"] is not originals["alias_c_gradient"]
    assert "alias_test_error" not in seen
    assert seen["min_norm_solution"] is originals["min_norm_solution"]
    # afterwards everything is exactly as before, the absent names absent again
    assert "alias_test_error" not in namespace and "alias_c_gradient" not in namespace
    assert namespace["gradient_descent_c"] is gradient_descent_c
    for name in ANSWERS:
        if name not in ("alias_test_error", "alias_c_gradient", "gradient_descent_c"):
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
