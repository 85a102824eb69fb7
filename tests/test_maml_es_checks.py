"""The hidden checks of the MAML-vs-ES assignment against its fixture submissions.

Every fixture × question outcome must match the fixture's expectation on the hidden check
(``full`` passes, ``public``/``zero`` fail); the reference passes; the untouched stub fails every
check with a short message free of source; two gradings agree. The plumbing (namespaces, cached
outcomes) is shared with the other assignments in ``tests/check_matrix.py``;
``MAML_ES_CHECKS_FULL=1`` recomputes every pair instead of reusing outcomes of identical code.

Further tests pin the oracles the checks rely on (finite differences, autograd, the reference),
the safety of the checks against hostile return values, isolation, and the clean-up of leaked
saved-tensors hooks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.checks import maml_es as checks
from autograder.engine.shared import torch_hooks as torch_state
from solutions import maml_es as reference
from tests.check_matrix import CheckMatrix, outcome, standard_tests

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
MATRIX = CheckMatrix(checks, reference, ROOT / "assignments" / "maml-es" / "fixtures",
                     full_env="MAML_ES_CHECKS_FULL")
ANSWERS = MATRIX.answers
globals().update(standard_tests(MATRIX))
DT = torch.float64


# ------------------------------------------------------------------------------------------------
# Hostile or malformed return values, isolation, hooks
# ------------------------------------------------------------------------------------------------


class _AlwaysEqual(torch.Tensor):
    def __eq__(self, other):
        return True


class _LyingDict(dict):
    def __getitem__(self, key):
        return 1.0 if key == "seconds" else 1


def _hostile_functions():
    def maml_outer_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
        return torch.zeros_like(theta).as_subclass(_AlwaysEqual)

    def fomaml_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
        return [0.0] * theta.numel()

    def reptile_update(theta, support_loss, inner_lr, num_steps, outer_lr):
        raise SystemExit(0)

    def es_gradient(objective, theta, sigma, num_pairs, generator):
        return torch.full_like(theta, float("nan"))

    def make_mlp(num_layers, hidden):
        return lambda x: x

    def saved_tensor_bytes(fn):
        return True

    def profile_meta_step(method, num_steps, num_layers, hidden, device="cpu"):
        return _LyingDict()

    return [maml_outer_gradient, fomaml_gradient, reptile_update, es_gradient, make_mlp,
            saved_tensor_bytes, profile_meta_step]


@pytest.mark.parametrize("fn", _hostile_functions(), ids=lambda f: f.__name__)
def test_hostile_return_values_fail(fn):
    MATRIX.assert_replacement_fails_safely(fn)


def test_exception_messages_name_only_the_type():
    namespace = MATRIX.reference_namespace()

    def es_gradient(objective, theta, sigma, num_pairs, generator):
        raise RuntimeError("SECRET " * 100)

    namespace["es_gradient"] = es_gradient
    message = outcome(checks.check_es_gradient, namespace)
    assert message is not None and "raised RuntimeError" in message and "SECRET" not in message


def test_profile_is_graded_with_the_reference_dependencies():
    """Broken dependencies do not cost profile_meta_step its hidden points."""
    namespace = MATRIX.reference_namespace()

    def broken(*args, **kwargs):
        raise ZeroDivisionError

    for name in ("maml_outer_gradient", "es_gradient", "saved_tensor_bytes", "make_mlp"):
        namespace[name] = broken
    assert outcome(checks.check_profile_meta_step, namespace) is None
    assert all(namespace[name] is broken for name in
               ("maml_outer_gradient", "es_gradient", "saved_tensor_bytes", "make_mlp"))


def test_leaked_hooks_are_detected_by_the_count_and_removed():
    fixture = next(f for f in MATRIX.fixtures if f.name == "saved_bytes_leaks_hooks")
    message = outcome(checks.check_saved_tensor_bytes, MATRIX.namespace(fixture))
    assert message is not None and "returned 0 for fn = saved_tensor_bytes(f)" in message
    assert message.endswith("hooks still active? (use a with block)")
    assert not torch_state.hooks_active()
    # hooks leaked before the check (e.g. by a public test) are removed first, then detected again
    hooks = torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t)
    hooks.__enter__()
    assert torch_state.hooks_active()
    assert outcome(checks.check_saved_tensor_bytes, MATRIX.namespace(fixture)) == message
    assert not torch_state.hooks_active()


def test_side_effects_of_one_question_do_not_reach_the_next_check():
    """Grad mode switched off, hooks disabled or left pushed, default dtype changed by student code
    in one check are undone when that check ends."""
    namespace = MATRIX.reference_namespace()

    def maml_outer_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
        torch.set_grad_enabled(False)
        torch.set_default_dtype(torch.float64)
        torch.autograd.graph.saved_tensors_hooks(lambda t: None, lambda t: None).__enter__()
        torch._C._autograd._saved_tensors_hooks_disable("student")
        return None

    namespace["maml_outer_gradient"] = maml_outer_gradient
    assert outcome(checks.check_maml_outer_gradient, namespace) is not None
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32
    assert not torch_state.hooks_active()
    assert outcome(checks.check_profile_meta_step, MATRIX.reference_namespace()) is None


def test_hook_detection_without_the_private_api(monkeypatch):
    monkeypatch.setattr(torch_state, "_top_hooks", None)
    assert not torch_state.hooks_active()
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        assert torch_state.hooks_active()
    assert not torch_state.hooks_active()


# ------------------------------------------------------------------------------------------------
# The oracles the checks rely on
# ------------------------------------------------------------------------------------------------


def _numeric_gradient(f, x, h=1e-6):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


@pytest.mark.parametrize("seed", range(3))
def test_quartic_oracle_against_autograd_and_finite_differences(seed):
    support, _, theta, _ = checks._quartic_problem(4, 5, 0.3, seed)
    loss = support.loss()
    t = torch.tensor(theta, dtype=DT, requires_grad=True)
    (g,) = torch.autograd.grad(loss(t), t)
    np.testing.assert_allclose(support.grad(theta), g.numpy(), rtol=1e-10, atol=1e-12)
    H = torch.autograd.functional.hessian(loss, torch.tensor(theta, dtype=DT)).numpy()
    np.testing.assert_allclose(support.hessian(theta), H, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("hidden", [1, 2, 3])
@pytest.mark.parametrize("seed", range(3))
def test_tanh_network_oracle_against_autograd(hidden, seed):
    """The closed-form gradient and Hessian of the tanh network against autograd, at θ and at a
    point where the residuals are large (so the Σ r_i ∇²f_i term matters)."""
    support, _, theta, _ = checks._tanh_problem(hidden, 0.3, seed)
    loss = support.loss()
    for point in (theta, 3.0 * theta):
        t = torch.tensor(point, dtype=DT, requires_grad=True)
        (g,) = torch.autograd.grad(loss(t), t)
        np.testing.assert_allclose(support.grad(point), g.numpy(), rtol=1e-10, atol=1e-12)
        H = torch.autograd.functional.hessian(loss, torch.tensor(point, dtype=DT)).numpy()
        np.testing.assert_allclose(support.hessian(point), H, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("family", ["quartic", "tanh"])
@pytest.mark.parametrize("num_steps", [0, 1, 3])
def test_maml_oracle_against_reference_and_finite_differences(family, num_steps):
    if family == "quartic":
        support, query, theta, lr = checks._quartic_problem(3, 4, 0.35, 7)
    else:
        support, query, theta, lr = checks._tanh_problem(2, 0.35, 7)
    oracle = checks._maml_oracle(support, query, theta, lr, num_steps)
    ref = reference.maml_outer_gradient(torch.tensor(theta, dtype=DT), support.loss(),
                                        query.loss(), lr, num_steps).numpy()
    np.testing.assert_allclose(oracle, ref, rtol=1e-9, atol=1e-12)

    def adapted_query_loss(x):
        with torch.no_grad():
            q = query.loss()(torch.tensor(checks._inner_iterates(support, x, lr, num_steps)[-1]))
        return float(q)

    np.testing.assert_allclose(oracle, _numeric_gradient(adapted_query_loss, theta),
                               rtol=1e-5, atol=1e-7)


def test_the_oracle_tells_the_factor_order_apart():
    """On the checks' loss families the reversed product differs far beyond the tolerance."""
    for family in ("quartic", "tanh"):
        if family == "quartic":
            support, query, theta, lr = checks._quartic_problem(4, 5, 0.35, 2)
        else:
            support, query, theta, lr = checks._tanh_problem(2, 0.35, 3)
        iterates = checks._inner_iterates(support, theta, lr, 3)
        v = query.grad(iterates[-1])
        for i in range(3):  # reversed order
            v = v - lr * support.hessian(iterates[i]) @ v
        right = checks._maml_oracle(support, query, theta, lr, 3)
        assert np.max(np.abs(v - right)) > 1e-4 * np.max(np.abs(right)), family


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n", [1, 4])
def test_saved_bytes_closed_forms_match_an_independent_count(n, dtype):
    """Closed forms of the check against the reference and, where every graph stays alive, a plain
    count of every pack (peak = total there)."""
    for name, (fn, expected) in checks._bytes_cases(n, dtype).items():
        assert reference.saved_tensor_bytes(fn) == expected, name
        if "freed" not in name:
            total = [0]

            def pack(t):
                total[0] += t.numel() * t.element_size()
                return t

            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                fn()
            assert total[0] == expected, name


def test_es_properties_hold_for_the_reference_draw_and_a_redraw():
    """The exact antithetic identity the check uses: same seed ⇒ estimate = mean (δᵀg)δ."""
    rng = np.random.default_rng(0)
    J = checks._Quadratic.random(rng, 4)
    theta = rng.standard_normal(4)
    g = J.gradient(theta)
    est = reference.es_gradient(J.objective(), torch.tensor(theta), 0.3, 5,
                                torch.Generator().manual_seed(3)).numpy()
    deltas = torch.randn(5, 4, generator=torch.Generator().manual_seed(3), dtype=DT).numpy()
    np.testing.assert_allclose(est, (deltas @ g) @ deltas / 5, rtol=1e-9, atol=1e-12)


def test_unbiased_sample_size_arithmetic():
    """The numbers in the comment at ``UNBIASED_PAIRS``: along g the average of a correct
    estimator over M pairs is exactly χ²_M/M; 6 standard errors fail it with P < 3e-8 and miss an
    estimate scaled by 2 or 1/2 with P < 1e-12."""
    from scipy.stats import chi2  # scipy comes with scikit-learn, pinned in constraints.txt
    M = checks.UNBIASED_SEEDS * checks.UNBIASED_PAIRS
    low, high = M * (1 - 6 * np.sqrt(2 / M)), M * (1 + 6 * np.sqrt(2 / M))
    assert chi2.cdf(low, M) + chi2.sf(high, M) < 3e-8
    for c in (2.0, 0.5):
        assert chi2.cdf(high / c, M) - chi2.cdf(low / c, M) < 1e-12


def _scaled_es(c):
    def es_gradient(objective, theta, sigma, num_pairs, generator):
        return c * reference.es_gradient(objective, theta, sigma, num_pairs, generator)
    return es_gradient


def _es_without_average(objective, theta, sigma, num_pairs, generator):
    return num_pairs * reference.es_gradient(objective, theta, sigma, num_pairs, generator)


def _es_single_delta(objective, theta, sigma, num_pairs, generator):
    delta = torch.randn(theta.shape, generator=generator, dtype=theta.dtype)
    with torch.no_grad():
        diff = (objective(theta + sigma * delta) - objective(theta - sigma * delta)) / (2 * sigma)
    return diff * delta  # the mean of num_pairs identical terms


def _es_reseeded_pairs(objective, theta, sigma, num_pairs, generator):
    """Every pair draws from a copy of the generator: N copies of one δ, the generator advanced."""
    state = generator.get_state()
    total = torch.zeros_like(theta)
    for _ in range(num_pairs):
        generator.set_state(state)
        delta = torch.randn(theta.shape, generator=generator, dtype=theta.dtype)
        with torch.no_grad():
            total += (objective(theta + sigma * delta) - objective(theta - sigma * delta)) * delta
    return total / (2 * sigma * num_pairs)


@pytest.mark.parametrize("wrong, caught_by", [
    (_scaled_es(2.0), "within 6 standard errors"),          # 1/sigma instead of 1/(2 sigma)
    (_scaled_es(0.5), "within 6 standard errors"),          # e.g. 1/(4 sigma) or dividing by 2N
    (_es_without_average, "within 6 standard errors"),
    (_es_single_delta, "are parallel"),
    (_es_reseeded_pairs, "are parallel"),
], ids=["sigma", "half", "no_average", "single_delta", "reseeded_pairs"])
def test_es_scale_and_reused_delta_mistakes_are_caught(wrong, caught_by):
    """Deterministic, antithetic estimators that are biased or reuse one δ for every pair pass
    the first two properties and fail the cheaper statistical (``unbiased``) or exact
    (``independent_pairs``) one."""
    wrong.__name__ = "es_gradient"
    message = MATRIX.assert_replacement_fails_safely(wrong)
    assert caught_by in message, message


def _profile_of_a_fixed_mlp(method, num_steps, num_layers, hidden, device="cpu"):
    """Measures an MLP of one size whatever num_layers and hidden ask for."""
    return reference.profile_meta_step(method, num_steps, 1, 8, device)


def _profile_es_leaking_a_step(method, num_steps, num_layers, hidden, device="cpu"):
    """ES memory growing by a little with every inner step (one tensor per step kept alive)."""
    out = reference.profile_meta_step(method, num_steps, num_layers, hidden, device)
    if method == "es":
        out["bytes"] += 64 * (1 + hidden) * num_steps
    return out


@pytest.mark.parametrize("wrong, caught_by", [
    (_profile_of_a_fixed_mlp, "number of parameters"),
    (_profile_es_leaking_a_step, "ES 'bytes' grow with the inner steps"),
], ids=["fixed_mlp", "es_leak"])
def test_profile_trend_mistakes_are_caught(wrong, caught_by):
    """memory_in_parameters (one inner step, two examples) still fails a profile that ignores the
    MLP's size; ES flatness measured at k = 1 and 4 still fails slow growth in the steps."""
    wrong.__name__ = "profile_meta_step"
    message = MATRIX.assert_replacement_fails_safely(wrong)
    assert caught_by in message, message


def test_profile_trends_of_the_reference():
    """The numbers the profile check's thresholds are set against."""
    maml = [reference.profile_meta_step("maml", k, 1, 8)["bytes"] for k in (1, 2, 3, 4)]
    es = [reference.profile_meta_step("es", k, 1, 8)["bytes"] for k in (1, 2, 3, 4)]
    slope, r2 = checks._r_squared(np.arange(1.0, 5.0), np.array(maml, dtype=float))
    assert slope > 0 and r2 > 0.999
    assert max(es) == min(es) > 0
