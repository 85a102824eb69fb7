"""Hidden checks for the meta-learning assignment: one ``check_<question>(env)`` per question.

``env`` is the student's notebook namespace. Each check runs hypothesis properties (settings
``GRADING``: derandomized, no database, bounded) that compare the student's function with
independent oracles (pseudo-inverse solutions, closed forms) and, for gradients, with autograd
through the reference solution. The function under test is graded in isolation: every *other*
graded name in its globals is bound to the reference implementation while the check runs.

A failing check raises ``AssertionError`` with a short message naming the question and the
property that failed; nothing else (no test source, reference code or hidden inputs).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from autograder.checks import compare as C
from autograder.checks.isolation import isolated
from autograder.checks.settings import GRADING

from solutions import metalearning as reference

QUESTIONS = tuple(reference.__all__)  # one autograded question per API function

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
DT = torch.float64


# ------------------------------------------------------------------------------------------------
# Plumbing: isolation and running properties
# ------------------------------------------------------------------------------------------------


def _isolated(env: dict, question: str):
    """The student's function for ``question``, every other graded name bound to the reference."""
    return isolated(env, question, reference, QUESTIONS)


_run = C.run_properties


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _well_conditioned(rng: np.random.Generator, n: int, d: int, low: float = 0.5,
                      high: float = 2.0) -> np.ndarray:
    """A random n×d matrix of rank min(n, d) with singular values in [low, high]."""
    k = min(n, d)
    U = np.linalg.qr(rng.standard_normal((n, n)))[0][:, :k]
    V = np.linalg.qr(rng.standard_normal((d, d)))[0][:, :k]
    return (U * rng.uniform(low, high, k)) @ V.T


def _weights(rng: np.random.Generator, d: int, low: float = 0.3, high: float = 3.0) -> np.ndarray:
    """Feature weights with random signs and magnitudes in [low, high]."""
    return rng.choice([-1.0, 1.0], d) * rng.uniform(low, high, d)


def _polar(radius: float, angle: float) -> np.ndarray:
    return np.array([radius * np.cos(angle), radius * np.sin(angle)])


def _alias_error(c: np.ndarray) -> float:
    s = c[0] ** 2 + c[1] ** 2
    return float(c[1] ** 4 / s**2)


def _alias_gradient(c: np.ndarray) -> np.ndarray:
    c0, c1 = c
    s = c0**2 + c1**2
    return np.array([-4 * c0 * c1**4 / s**3, 4 * c0**2 * c1**3 / s**3])


def _copies(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.array(a, dtype=np.float64, copy=True) for a in arrays]


def _tensor(a: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.array(a, dtype=np.float64), dtype=DT, requires_grad=requires_grad)


# ------------------------------------------------------------------------------------------------
# Part (a)-(c): numpy
# ------------------------------------------------------------------------------------------------


def _deficient_system(rng: np.random.Generator, kind: str, n: int, d: int) -> np.ndarray:
    """A with A Aᵀ singular: a repeated row, a zero row, tall (n > d) or low rank."""
    if kind == "repeated row":
        A = _well_conditioned(rng, n, d)
        A = np.vstack([A, A[rng.integers(n)]])
    elif kind == "zero row":
        A = np.vstack([_well_conditioned(rng, n, d), np.zeros(d)])
    elif kind == "tall":
        A = _well_conditioned(rng, d + n, d)
    else:  # low rank
        r = max(1, min(n, d) - 1)
        A = _well_conditioned(rng, n + 1, r) @ _well_conditioned(rng, r, d)
    return A[rng.permutation(A.shape[0])]


def check_min_norm_solution(env: dict) -> None:
    q = "min_norm_solution"
    with _isolated(env, q) as fn:

        def run_case(A, y, case):
            A_in, y_in = _copies(A, y)
            out = C.call(fn, A_in, y_in, question=q, case=case)
            beta = C.to_array(out, question=q, shape=(A.shape[1],), case=case)
            C.assert_unchanged(A, A_in, question=q, name="A", case=case)
            C.assert_unchanged(y, y_in, question=q, name="y", case=case)
            C.assert_close(A @ beta, y, question=q, rtol=1e-7, atol=1e-9,
                           what=f"result is not feasible (A @ beta != y) {case}")
            C.assert_close(beta, np.linalg.pinv(A) @ y, question=q, rtol=1e-7, atol=1e-9,
                           what=f"result solves A @ beta = y but is not the minimum-norm solution "
                                f"{case}")

        @GRADING
        @given(n=st.integers(1, 5), extra=st.integers(0, 4), seed=SEEDS,
               scale=st.sampled_from([1.0, 1e-2, 1e2]))
        @example(n=2, extra=1, seed=0, scale=1.0)
        def full_row_rank(n, extra, seed, scale):
            rng = _rng(seed)
            A = scale * _well_conditioned(rng, n, n + extra)
            run_case(A, rng.standard_normal(n), "on a full-row-rank input")

        @GRADING
        @given(kind=st.sampled_from(["repeated row", "zero row", "tall", "low rank"]),
               n=st.integers(1, 4), extra=st.integers(0, 3), seed=SEEDS)
        @example(kind="repeated row", n=2, extra=1, seed=0)
        @example(kind="zero row", n=1, extra=1, seed=0)
        def rank_deficient(kind, n, extra, seed):
            rng = _rng(seed)
            A = _deficient_system(rng, kind, n, n + extra)
            y = A @ rng.standard_normal(A.shape[1])
            run_case(A, y, "on an input with A @ A.T singular and y in the range of A")

        _run(q, full_row_rank, rank_deficient)


def check_weighted_min_norm(env: dict) -> None:
    q = "weighted_min_norm"
    with _isolated(env, q) as fn:

        def run_case(Phi, c, y, expected, case):
            Phi_in, c_in, y_in = _copies(Phi, c, y)
            out = C.call(fn, Phi_in, c_in, y_in, question=q, case=case)
            beta = C.to_array(out, question=q, shape=(Phi.shape[1],), case=case)
            for before, after, name in ((Phi, Phi_in, "Phi"), (c, c_in, "c"), (y, y_in, "y")):
                C.assert_unchanged(before, after, question=q, name=name, case=case)
            C.assert_close((Phi * c) @ beta, y, question=q, rtol=1e-7, atol=1e-9,
                           what=f"result is not feasible (Phi @ diag(c) @ beta != y) {case}")
            C.assert_close(beta, expected, question=q, rtol=1e-7, atol=1e-9,
                           what=f"result is not the minimum-norm solution of "
                                f"Phi @ diag(c) @ beta = y {case}")

        @GRADING
        @given(radius=st.floats(0.2, 5.0), angle=st.floats(0.0, 6.283), points=st.integers(1, 4),
               seed=SEEDS)
        @example(radius=1.4142135623730951, angle=0.7853981633974483, points=1, seed=0)
        @example(radius=2.0, angle=0.0, points=1, seed=0)
        def aliased(radius, angle, points, seed):
            c = _polar(radius, angle)
            column = np.ones(points) if points == 1 else _rng(seed).standard_normal(points)
            Phi = np.stack([column, column], axis=1)
            case = ("on the one-point aliased example (Phi = [[1, 1]], y = [1])" if points == 1 else
                    f"on an aliased example with {points} points (two identical columns, y equal "
                    f"to that column, so A @ A.T is singular)")
            run_case(Phi, c, column.copy(), c / (c @ c), case)

        @GRADING
        @given(n=st.integers(1, 5), extra=st.integers(0, 4), seed=SEEDS,
               kind=st.sampled_from(["generic", "zero weight", "duplicate column"]))
        @example(n=2, extra=1, seed=0, kind="generic")
        def general(n, extra, seed, kind):
            rng = _rng(seed)
            d = n + extra
            Phi = _well_conditioned(rng, n, d)
            c = _weights(rng, d)
            if kind == "zero weight":
                c[rng.integers(d)] = 0.0
            elif kind == "duplicate column" and d >= 2:
                i, j = rng.choice(d, 2, replace=False)
                Phi[:, i] = Phi[:, j]
            A = Phi * c
            y = A @ rng.standard_normal(d)
            run_case(Phi, c, y, np.linalg.pinv(A) @ y, f"on a random input ({kind})")

        _run(q, aliased, general)


ALIAS_C = dict(radius=st.floats(0.1, 5.0), angle=st.floats(0.0, 6.283))


def _alias_examples(test):
    """Explicit examples for the aliased example: (1, 1), the axes, mixed signs."""
    for radius, angle in ((1.4142135623730951, 0.7853981633974483), (1.0, 0.0),
                          (1.0, 1.5707963267948966), (3.0, 2.5), (0.5, 4.0)):
        test = example(radius=radius, angle=angle)(test)
    return test


def check_alias_test_error(env: dict) -> None:
    q = "alias_test_error"
    with _isolated(env, q) as fn:

        @GRADING
        @given(**ALIAS_C)
        @_alias_examples
        def value(radius, angle):
            c = _polar(radius, angle)
            (c_in,) = _copies(c)
            out = C.call(fn, c_in, question=q)
            L = C.to_scalar(out, question=q)
            C.assert_unchanged(c, c_in, question=q, name="c")
            C.assert_close(L, _alias_error(c), question=q, rtol=1e-9, atol=1e-12,
                           what="value differs from the expected test error "
                                "1/2[(1 - c0^2/s)^2 + (c1^2/s)^2]")

        _run(q, value)


def check_alias_c_gradient(env: dict) -> None:
    q = "alias_c_gradient"
    with _isolated(env, q) as fn:

        @GRADING
        @given(**ALIAS_C)
        @_alias_examples
        def value(radius, angle):
            c = _polar(radius, angle)
            (c_in,) = _copies(c)
            out = C.call(fn, c_in, question=q)
            g = C.to_array(out, question=q, shape=(2,))
            C.assert_unchanged(c, c_in, question=q, name="c")
            C.assert_close(g, _alias_gradient(c), question=q, rtol=1e-6, atol=1e-9,
                           what="gradient differs from dL/dc (differentiate through beta_hat(c); "
                                "beta_hat depends on c)")

        _run(q, value)


def check_gradient_descent_c(env: dict) -> None:
    q = "gradient_descent_c"
    with _isolated(env, q) as fn:

        @GRADING
        @given(radius=st.floats(0.2, 3.0), angle=st.floats(0.0, 6.283),
               step_size=st.floats(1e-3, 0.5), num_steps=st.integers(0, 12))
        @example(radius=1.4142135623730951, angle=0.7853981633974483, step_size=0.1, num_steps=3)
        @example(radius=1.0, angle=1.0, step_size=0.05, num_steps=0)
        @example(radius=1.0, angle=2.0, step_size=0.05, num_steps=1)
        def trajectory(radius, angle, step_size, num_steps):
            c_init = _polar(radius, angle)
            (c_in,) = _copies(c_init)
            case = f"for num_steps={num_steps}"
            out = C.call(fn, c_in, step_size, num_steps, question=q, case=case)
            traj = C.to_array(out, question=q, shape=(num_steps + 1, 2), case=case)
            C.assert_unchanged(c_init, c_in, question=q, name="c_init")
            C.assert_close(traj[0], c_init, question=q, rtol=1e-12, atol=0.0,
                           what="row 0 of the trajectory is not c_init")
            for t in range(num_steps):
                expected = traj[t] - step_size * _alias_gradient(traj[t])
                C.assert_close(traj[t + 1], expected, question=q, rtol=1e-8, atol=1e-12,
                               what=f"row {t + 1} is not row {t} - step_size * grad L(row {t})")

        _run(q, trajectory)


def _fourier(x: np.ndarray, d: int) -> np.ndarray:
    f = np.arange(1, (d - 1) // 2 + 1)
    angles = np.pi * x[:, None] * f[None, :]
    columns = [np.ones((x.size, 1))]
    for k in range(f.size):
        columns += [np.sqrt(2) * np.sin(angles[:, k:k + 1]), np.sqrt(2) * np.cos(angles[:, k:k + 1])]
    return np.hstack(columns)


def check_fourier_features(env: dict) -> None:
    q = "fourier_features"
    with _isolated(env, q) as fn:

        def features(x, d, case):
            (x_in,) = _copies(x)
            out = C.call(fn, x_in, d, question=q, case=case)
            Phi = C.to_array(out, question=q, shape=(x.size, d), case=case)
            C.assert_unchanged(x, x_in, question=q, name="x", case=case)
            return Phi

        @GRADING
        @given(half=st.integers(0, 7), extra=st.integers(0, 8))
        @example(half=2, extra=0)
        def orthonormal(half, extra):
            d = 2 * half + 1
            n = d + extra
            x = np.linspace(-1.0, 1.0, n, endpoint=False)
            Phi = features(x, d, f"for d={d} on the {n}-point grid")
            C.assert_close(Phi.T @ Phi / n, np.eye(d), question=q, rtol=0.0, atol=1e-9,
                           what=f"columns are not orthonormal on the {n}-point grid for d={d} "
                                f"(Phi.T @ Phi / n != I)")

        @GRADING
        @given(half=st.integers(0, 7), n=st.integers(1, 12), seed=SEEDS)
        @example(half=2, n=3, seed=0)
        def values(half, n, seed):
            d = 2 * half + 1
            x = _rng(seed).uniform(-1.0, 1.0, n)
            Phi = features(x, d, f"for d={d}")
            C.assert_close(Phi, _fourier(x, d), question=q, rtol=0.0, atol=1e-9,
                           what=f"values differ from [1, sqrt2 sin(pi x), sqrt2 cos(pi x), "
                                f"sqrt2 sin(2 pi x), ...] for d={d}")

        @GRADING
        @given(half=st.integers(1, 6), n=st.integers(1, 6))
        @example(half=1, n=3)
        def even_d(half, n):
            d = 2 * half
            x = np.linspace(-1.0, 1.0, n, endpoint=False)
            try:
                fn(x.copy(), d)
            except KeyboardInterrupt:
                raise
            except BaseException:  # noqa: BLE001 - any exception is a refusal
                return
            C.fail(q, f"accepted an even d={d} without raising an error (d must be odd)")

        _run(q, orthonormal, values, even_d)


# ------------------------------------------------------------------------------------------------
# Meta-learning: torch
# ------------------------------------------------------------------------------------------------


def _closed_form_oracle(c: np.ndarray, Phi: np.ndarray, y: np.ndarray) -> np.ndarray:
    return c * (np.linalg.pinv(Phi * c) @ y)


def _reference_gradient(fn: Callable, c: np.ndarray, *args, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """Value and gradient of Σ weights ⊙ fn(c, *args) w.r.t. c, with the reference function."""
    c_t = _tensor(c, requires_grad=True)
    out = fn(c_t, *(_tensor(a) if isinstance(a, np.ndarray) else a for a in args))
    target = out if weights is None else out * _tensor(weights)
    (grad,) = torch.autograd.grad(target.sum(), c_t)
    return out.detach().numpy().copy(), grad.numpy().copy()


def _torch_case(fn, q, c, arrays, names, extra_args=(), *, shape, case):
    """Call a torch function with fresh float64 tensors (c requiring grad); validate the output.

    Returns the output tensor and the input tensor c (for gradients)."""
    c_t = _tensor(c, requires_grad=True)
    tensors = [_tensor(a) for a in arrays]
    out = C.call(fn, c_t, *tensors, *extra_args, question=q, case=case)
    out = C.to_tensor(out, question=q, shape=shape, case=case)
    for before, after, name in zip([c, *arrays], [c_t, *tensors], ("feature_weights", *names)):
        C.assert_unchanged(_tensor(before), after, question=q, name=name, case=case)
    return out, c_t


def check_closed_form_coefficients(env: dict) -> None:
    q = "closed_form_coefficients"
    with _isolated(env, q) as fn:

        @GRADING
        @given(n=st.integers(1, 5), extra=st.integers(0, 4), seed=SEEDS)
        @example(n=2, extra=1, seed=0)
        def value_and_gradient(n, extra, seed):
            rng = _rng(seed)
            d = n + extra
            Phi, c, y = _well_conditioned(rng, n, d), _weights(rng, d), rng.standard_normal(n)
            case = "on a full-row-rank input"
            out, c_t = _torch_case(fn, q, c, (Phi, y), ("Phi", "y"), shape=(d,), case=case)
            C.assert_close(C.tensor_values(out, question=q), _closed_form_oracle(c, Phi, y),
                           question=q, rtol=1e-7, atol=1e-9,
                           what=f"values differ from the effective coefficients c * beta_hat {case}")
            w = rng.standard_normal(d)
            grad = C.gradient(out, c_t, _tensor(w), question=q, case=case)
            _, expected = _reference_gradient(reference.closed_form_coefficients, c, Phi, y, weights=w)
            C.assert_close(grad, expected, question=q, rtol=1e-6, atol=1e-8,
                           what=f"gradient w.r.t. feature_weights is wrong (is the graph through "
                                f"feature_weights kept?) {case}")

        _run(q, value_and_gradient)


def check_meta_loss_closed_form(env: dict) -> None:
    q = "meta_loss_closed_form"
    with _isolated(env, q) as fn:

        @GRADING
        @given(n=st.integers(1, 5), extra=st.integers(0, 4), m=st.integers(1, 6), seed=SEEDS)
        @example(n=2, extra=1, m=3, seed=0)
        def value_and_gradient(n, extra, m, seed):
            rng = _rng(seed)
            d = n + extra
            Phi, c, y = _well_conditioned(rng, n, d), _weights(rng, d), rng.standard_normal(n)
            Phi_meta, y_meta = rng.standard_normal((m, d)), rng.standard_normal(m)
            case = f"with {m} meta point(s)"
            out, c_t = _torch_case(fn, q, c, (Phi, y, Phi_meta, y_meta),
                                   ("Phi_train", "y_train", "Phi_meta", "y_meta"), shape=(), case=case)
            w = _closed_form_oracle(c, Phi, y)
            expected_value = float(np.sum((Phi_meta @ w - y_meta) ** 2))
            C.assert_close(C.tensor_values(out, question=q), expected_value, question=q,
                           rtol=1e-7, atol=1e-9,
                           what=f"value differs from the sum of squared meta errors {case}")
            grad = C.gradient(out, c_t, question=q, case=case)
            _, expected = _reference_gradient(reference.meta_loss_closed_form, c, Phi, y,
                                              Phi_meta, y_meta)
            C.assert_close(grad, expected, question=q, rtol=1e-6, atol=1e-8,
                           what=f"gradient w.r.t. feature_weights is wrong (does it flow through "
                                f"the closed-form fit?) {case}")

        _run(q, value_and_gradient)


def _inner_gd_oracle(c, Phi, y, num_steps, lr):
    A = Phi * c
    n = A.shape[0]
    beta = np.zeros(A.shape[1])
    for _ in range(num_steps):
        beta = beta - lr * (2.0 / n) * A.T @ (A @ beta - y)
    return c * beta


def check_inner_gd_coefficients(env: dict) -> None:
    q = "inner_gd_coefficients"
    with _isolated(env, q) as fn:

        @GRADING
        @given(n=st.integers(1, 6), d=st.integers(1, 7), num_steps=st.integers(0, 5),
               rate=st.floats(0.05, 0.9), seed=SEEDS)
        @example(n=3, d=4, num_steps=0, rate=0.5, seed=0)
        @example(n=3, d=4, num_steps=1, rate=0.5, seed=0)
        @example(n=4, d=5, num_steps=3, rate=0.5, seed=1)
        def value_and_gradient(n, d, num_steps, rate, seed):
            rng = _rng(seed)
            Phi, c, y = rng.standard_normal((n, d)), _weights(rng, d, 0.5, 2.0), rng.standard_normal(n)
            # a step size at which gradient descent is stable: rate / (largest curvature)
            lr = float(rate / max(1e-12, 2.0 / n * np.linalg.norm(Phi * c, 2) ** 2))
            case = f"for num_steps={num_steps}"
            out, c_t = _torch_case(fn, q, c, (Phi, y), ("Phi", "y"), (num_steps, lr),
                                   shape=(d,), case=case)
            C.assert_close(C.tensor_values(out, question=q), _inner_gd_oracle(c, Phi, y, num_steps, lr),
                           question=q, rtol=1e-7, atol=1e-9,
                           what=f"values differ from c * beta after num_steps gradient steps on "
                                f"the mean squared error from beta = 0 {case}")
            w = rng.standard_normal(d)
            grad = C.gradient(out, c_t, _tensor(w), question=q, case=case)
            _, expected = _reference_gradient(reference.inner_gd_coefficients, c, Phi, y,
                                              num_steps, lr, weights=w)
            C.assert_close(grad, expected, question=q, rtol=1e-6, atol=1e-8,
                           what=f"gradient w.r.t. feature_weights is wrong: the meta-gradient must "
                                f"flow through every inner step (second order, create_graph) {case}")

        _run(q, value_and_gradient)


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def check_logistic_loss(env: dict) -> None:
    q = "logistic_loss"
    with _isolated(env, q) as fn:

        def run_case(scores, labels, case):
            s_t, l_t = _tensor(scores, requires_grad=True), _tensor(labels)
            out = C.call(fn, s_t, l_t, question=q, case=case)
            out = C.to_tensor(out, question=q, shape=(), case=case)
            C.assert_unchanged(_tensor(scores), s_t, question=q, name="scores", case=case)
            C.assert_unchanged(_tensor(labels), l_t, question=q, name="labels", case=case)
            z = -labels * scores
            C.assert_close(C.tensor_values(out, question=q, case=case), np.mean(_softplus(z)),
                           question=q, rtol=1e-9, atol=1e-12,
                           what=f"value differs from mean(log(1 + exp(-label * score))) {case}")
            grad = C.gradient(out, s_t, question=q, case=case, what="loss")
            C.assert_close(grad, -labels * _sigmoid(z) / scores.size, question=q,
                           rtol=1e-6, atol=1e-9,
                           what=f"gradient w.r.t. scores is wrong {case}")

        @GRADING
        @given(n=st.integers(1, 8), seed=SEEDS)
        @example(n=4, seed=0)
        def moderate(n, seed):
            rng = _rng(seed)
            run_case(3.0 * rng.standard_normal(n), rng.choice([-1.0, 1.0], n),
                     "on moderate scores")

        @GRADING
        @given(n=st.integers(1, 8), seed=SEEDS, magnitude=st.sampled_from([1e3, 1e4, 1e6]))
        @example(n=4, seed=0, magnitude=1e3)
        def large(n, seed, magnitude):
            rng = _rng(seed)
            scores = rng.choice([-1.0, 1.0], n) * magnitude * rng.uniform(1.0, 2.0, n)
            labels = rng.choice([-1.0, 1.0], n)
            labels[0] = -np.sign(scores[0])  # at least one confidently wrong point
            run_case(scores, labels, "for scores with |score| >= 1000 (numerically stable?)")

        _run(q, moderate, large)


def check_classification_error(env: dict) -> None:
    q = "classification_error"
    with _isolated(env, q) as fn:

        def run_case(scores, labels, case):
            s_t, l_t = _tensor(scores), _tensor(labels)
            out = C.call(fn, s_t, l_t, question=q, case=case)
            err = C.to_scalar(out, question=q, case=case)
            C.assert_unchanged(_tensor(scores), s_t, question=q, name="scores", case=case)
            C.assert_unchanged(_tensor(labels), l_t, question=q, name="labels", case=case)
            expected = float(np.mean(np.where(scores >= 0, 1.0, -1.0) != labels))
            C.assert_close(err, expected, question=q, rtol=0.0, atol=1e-12,
                           what=f"value differs from the fraction of points with "
                                f"sign(score) != label {case}")

        @GRADING
        @given(n=st.integers(1, 12), seed=SEEDS)
        @example(n=5, seed=0)
        def continuous(n, seed):
            rng = _rng(seed)
            run_case(rng.standard_normal(n), rng.choice([-1.0, 1.0], n), "on random scores")

        @GRADING
        @given(n=st.integers(1, 12), seed=SEEDS)
        @example(n=4, seed=0)
        def with_zeros(n, seed):
            rng = _rng(seed)
            scores = rng.integers(-2, 3, n).astype(np.float64)
            scores[rng.integers(n)] = 0.0
            run_case(scores, rng.choice([-1.0, 1.0], n),
                     "when some scores are exactly 0 (sign(0) counts as +1)")

        _run(q, continuous, with_zeros)


CHECKS = {name: globals()[f"check_{name}"] for name in QUESTIONS}
