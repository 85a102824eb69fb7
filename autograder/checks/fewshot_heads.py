"""Hidden checks for the few-shot-heads assignment: one ``check_<question>(env)`` per question.

Oracles: the primal ridge formula in numpy (values) and autograd through the reference (vector–
Jacobian products, one input at a time); for the SVM, the trusted QP solver
(``solutions.differentiable_qp``) applied to what the student's QP states (bounded in size
first: the judge does that work), compared with the head and query logits of the reference QP;
for ANIL and the multi-task loss, MAML's outer gradient with a per-coordinate inner rate (zero on
the body), computed here by ``torch.func`` transforms, and plain autograd of the mean loss.
Every property runs under the deterministic ``GRADING`` profile; a failure raises a short
``AssertionError`` ``"<question>: <what>"`` and nothing else.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st

from autograder.checks import compare as C
from autograder.checks.isolation import isolated
from autograder.checks.settings import GRADING

from solutions import fewshot_heads as reference
from solutions.differentiable_qp import interior_point, presolve

QUESTIONS = tuple(reference.__all__)  # one autograded question per API function

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
DT = torch.float64
SOME = settings(GRADING, max_examples=10)
FEW = settings(GRADING, max_examples=4)
MAX_ROWS_PER_VARIABLE = 4  # inequality rows of a QP answer the checks solve, per variable


@contextmanager
def _isolated(env: dict, question: str) -> Iterator[Callable]:
    """The student's function in isolation (other graded names bound to the reference), with
    gradients enabled and the default dtype restored afterwards."""
    dtype = torch.get_default_dtype()
    try:
        with torch.enable_grad(), isolated(env, question, reference, QUESTIONS) as fn:
            yield fn
    finally:
        torch.set_default_dtype(dtype)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def _randn(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=DT)


def _differentiable_at(args: tuple, index: int) -> list:
    """Fresh copies of the tensor arguments, ``args[index]`` requiring grad."""
    inputs = [a.detach().clone() if isinstance(a, torch.Tensor) else a for a in args]
    inputs[index] = inputs[index].requires_grad_(True)
    return inputs


def _vjp(fn: Callable, args: tuple, index: int, weights: torch.Tensor, q: str, case: str, shape) -> np.ndarray:
    """∂(Σ weights ⊙ fn(args))/∂args[index], through ``fn``'s own graph (a fresh call)."""
    inputs = _differentiable_at(args, index)
    out = C.to_tensor(C.call(fn, *inputs, question=q, case=case), question=q, shape=shape, case=case)
    return C.gradient(out, inputs[index], weights, question=q, case=case)


def _reference_vjp(fn: Callable, args: tuple, index: int, weights: torch.Tensor) -> np.ndarray:
    """The same through the reference, in this process."""
    inputs = _differentiable_at(args, index)
    (grad,) = torch.autograd.grad((fn(*inputs) * weights).sum(), inputs[index])
    return grad.detach().numpy()


# ------------------------------------------------------------------------------------------------
# Ridge head and R2D2
# ------------------------------------------------------------------------------------------------


def _primal_ridge(Z: np.ndarray, Y: np.ndarray, lam: float) -> np.ndarray:
    return np.linalg.solve(Z.T @ Z + lam * np.eye(Z.shape[1]), Z.T @ Y)


def check_ridge_head(env: dict) -> None:
    q = "ridge_head"
    with _isolated(env, q) as fn:

        @SOME
        @given(SEEDS, st.integers(1, 8), st.integers(1, 12), st.integers(1, 4), st.floats(0.01, 10.0),
               st.booleans())
        @example(0, 3, 7, 2, 1.0, False)
        @example(1, 6, 2, 3, 0.5, True)
        def values(seed, n, p, c, lam, lam_as_tensor):
            g = _generator(seed)
            Z, Y = _randn(g, n, p), _randn(g, n, c)
            case = f"for n={n} points, p={p} features, lam={lam:.3g}"
            lam_in = torch.tensor(lam, dtype=DT) if lam_as_tensor else lam
            Z_in, Y_in = Z.clone(), Y.clone()
            out = C.to_tensor(C.call(fn, Z_in, Y_in, lam_in, question=q, case=case), question=q, shape=(p, c), case=case)
            C.assert_unchanged(Z, Z_in, question=q, name="Z", case=case)
            C.assert_close(C.tensor_values(out, question=q, case=case), _primal_ridge(Z.numpy(), Y.numpy(), lam),
                           question=q, rtol=1e-6, atol=1e-9,
                           what=f"differs from argmin ||ZW - Y||^2 + lam ||W||^2 {case}")

        @FEW
        @given(SEEDS)
        @example(3)
        def gradients(seed):
            g = _generator(seed)
            args = (_randn(g, 4, 6), _randn(g, 4, 3), torch.tensor(0.7, dtype=DT))
            weights = _randn(g, 6, 3)
            for index, name in enumerate(("Z", "Y", "lam")):
                case = f"(gradient with respect to {name})"
                C.assert_close(_vjp(fn, args, index, weights, q, case, (6, 3)),
                               _reference_vjp(reference.ridge_head, args, index, weights), question=q,
                               rtol=1e-6, atol=1e-9, what=f"is not differentiable as the ridge solution {case}")

        def many_features():
            """p = 60000 features, n = 30 points: the p×p system would be 29 GB (float64)."""
            g = _generator(7)
            Z, Y = _randn(g, 30, 60_000), torch.eye(5, dtype=DT).repeat(6, 1)
            case = "for p=60000 features and n=30 points (solve the n x n system)"
            out = C.to_tensor(C.call(fn, Z, Y, 2.0, question=q, case=case), question=q, shape=(60_000, 5), case=case)
            expected = Z.T @ torch.linalg.solve(Z @ Z.T + 2.0 * torch.eye(30, dtype=DT), Y)
            C.assert_close(C.tensor_values(out, question=q, case=case), expected.numpy(), question=q,
                           rtol=1e-6, atol=1e-9, what=f"differs from the ridge solution {case}")

        C.run_properties(q, values, gradients, many_features)


def check_r2d2_logits(env: dict) -> None:
    q = "r2d2_logits"
    with _isolated(env, q) as fn:

        def problem(seed, ways, shots, queries, p):
            g = _generator(seed)
            labels = torch.arange(ways).repeat_interleave(shots)[torch.randperm(ways * shots, generator=g)]
            return (_randn(g, ways * shots, p), labels, _randn(g, queries, p), ways,
                    torch.tensor(0.3 + float(torch.rand(1, generator=g)), dtype=DT),
                    torch.tensor(2.0, dtype=DT), torch.tensor(-0.25, dtype=DT))

        @SOME
        @given(SEEDS, st.integers(2, 5), st.integers(1, 4), st.integers(1, 6), st.integers(2, 9))
        @example(0, 3, 2, 4, 5)
        def values(seed, ways, shots, queries, p):
            args = problem(seed, ways, shots, queries, p)
            case = f"on a {ways}-way {shots}-shot episode with {p} features"
            out = C.to_tensor(C.call(fn, *args, question=q, case=case), question=q, shape=(queries, ways), case=case)
            Zs, labels, Zq, _, lam, scale, bias = args
            Y = F.one_hot(labels, ways).double().numpy()
            expected = float(scale) * Zq.numpy() @ _primal_ridge(Zs.numpy(), Y, float(lam)) + float(bias)
            C.assert_close(C.tensor_values(out, question=q, case=case), expected, question=q, rtol=1e-6,
                           atol=1e-9, what=f"differs from scale * Z_query @ ridge_head(...) + bias {case}")

        @FEW
        @given(SEEDS)
        @example(1)
        def gradients(seed):
            args = problem(seed, 3, 2, 4, 5)
            weights = _randn(_generator(seed + 1), 4, 3)
            for index, name in ((0, "Z_support"), (2, "Z_query"), (4, "lam"), (5, "scale"), (6, "bias")):
                case = f"(gradient with respect to {name}: keep the solve in the graph)"
                C.assert_close(_vjp(fn, args, index, weights, q, case, (4, 3)),
                               _reference_vjp(reference.r2d2_logits, args, index, weights), question=q,
                               rtol=1e-6, atol=1e-9, what=f"gradient differs {case}")

        C.run_properties(q, values, gradients)


# ------------------------------------------------------------------------------------------------
# The SVM dual as a QP
# ------------------------------------------------------------------------------------------------


def _qp_parts(out, q: str, case: str) -> tuple[torch.Tensor, ...]:
    if type(out) not in (tuple, list) or len(out) != 6:
        C.fail(q, f"returned {C.describe(out)} {case}; expected the tuple (Q, q, G, h, A, b)")
    parts = tuple(C.to_tensor(t, question=q, case=case, what=f"returned as {name}") for t, name in
                  zip(out, ("Q", "q", "G", "h", "A", "b")))
    return tuple(torch.Tensor.detach(t).to(DT).clone() for t in parts)


def _solved_head(parts, Z: torch.Tensor, ways: int, q: str, case: str) -> np.ndarray:
    """W = Zᵀα from the student's QP solved by the trusted solver (x = vec(α) row-major)."""
    Qm, qv, G, h, A, b = parts
    n = Z.shape[0]
    N = n * ways
    shapes = {"Q": (Qm.shape, (N, N)), "q": (qv.shape, (N,)), "G": (G.shape[1:], (N,)),
              "h": (h.shape, (G.shape[0],)), "A": (A.shape[1:], (N,)), "b": (b.shape, (A.shape[0],))}
    for name, (got, want) in shapes.items():
        if tuple(got) != tuple(want):
            C.fail(q, f"{name} has shape {C.shape_text(got)} {case}; x = vec(alpha) has {N} entries")
    # the trusted side solves what the answer states: bound its size before any work (the
    # presolve compares every pair of rows); this QP needs N inequalities and n equalities
    if G.shape[0] > MAX_ROWS_PER_VARIABLE * N or A.shape[0] > N:
        C.fail(q, f"G has {G.shape[0]} rows and A {A.shape[0]} {case}; this QP needs at most "
                  f"{MAX_ROWS_PER_VARIABLE * N} inequalities and {N} equalities for its {N} variables")
    if G.ndim != 2 or A.ndim != 2 or not bool(torch.allclose(Qm, Qm.T, atol=1e-9)) or \
            float(torch.linalg.eigvalsh((Qm + Qm.T) / 2).min()) <= 0:
        C.fail(q, f"Q is not symmetric positive definite {case} (did you add eps * I?)")
    x, _, _, _ = interior_point(Qm, qv, *presolve(G, h, A, b))
    violation = torch.cat([(G @ x - h).clamp(min=0), (A @ x - b).abs(), torch.zeros(1, dtype=DT)])
    if float(violation.max()) > 1e-6:
        C.fail(q, f"the QP has no feasible point {case}")
    return (Z.T @ x.reshape(n, ways)).numpy()


def check_crammer_singer_qp(env: dict) -> None:
    q = "crammer_singer_qp"
    with _isolated(env, q) as fn:

        @SOME
        @given(SEEDS, st.integers(2, 5), st.integers(1, 3), st.integers(2, 6), st.sampled_from([0.05, 0.5, 5.0]))
        @example(0, 3, 2, 4, 0.5)
        @example(1, 5, 1, 6, 0.05)
        def yields_the_svm(seed, ways, shots, p, C_value):
            g = _generator(seed)
            n = ways * shots
            Z = _randn(g, n, p)
            labels = torch.arange(ways).repeat_interleave(shots)[torch.randperm(n, generator=g)]
            Zq = _randn(g, 4, p)
            eps = 1e-3
            case = f"on a {ways}-way {shots}-shot episode, C={C_value}"
            parts = _qp_parts(C.call(fn, Z.clone(), labels.clone(), ways, C_value, eps, question=q, case=case), q, case)
            W = _solved_head(parts, Z, ways, q, case)
            expected = _solved_head(reference.crammer_singer_qp(Z, labels, ways, C_value, eps), Z, ways, q, case)
            # both QPs solved to a merit of about 1e-9 by the same interior-point method: the heads
            # agree to about 1e-6, a wrong formulation differs by the size of W itself
            C.assert_close(W, expected, question=q, rtol=1e-4, atol=1e-6,
                           what=f"solved, it does not give the Crammer-Singer SVM head W = Z^T alpha {case}")
            C.assert_close(Zq.numpy() @ W, Zq.numpy() @ expected, question=q, rtol=1e-4, atol=1e-6,
                           what=f"solved, its query logits differ from the SVM's {case}")

        C.run_properties(q, yields_the_svm)


# ------------------------------------------------------------------------------------------------
# ANIL and multi-task heads
# ------------------------------------------------------------------------------------------------


def _maml_oracle(theta: torch.Tensor, support: Callable, query: Callable, rates, steps: int) -> torch.Tensor:
    """MAML's outer gradient d L_q(θ_k)/dθ with θ_i = θ_{i−1} − r ⊙ ∇L_s(θ_{i−1}) (``rates`` r: a
    number or one per coordinate), by ``torch.func`` transforms of the unrolled loop."""
    def adapted_query(t: torch.Tensor) -> torch.Tensor:
        for _ in range(steps):
            t = t - rates * torch.func.grad(support)(t)
        return query(t)

    return torch.func.grad(adapted_query)(theta.detach())


def _coupled_losses(seed: int, q_dim: int, h_dim: int):
    """A support and a query loss of (body, head), coupled through tanh features; plain
    functions closing over tensors (they travel into the sandbox as code)."""
    g = _generator(seed)
    X_s, X_q = _randn(g, 6, q_dim), _randn(g, 5, q_dim)
    y_s, y_q = _randn(g, 6, h_dim), _randn(g, 5, h_dim)
    mix = _randn(g, q_dim, h_dim)

    def support_loss(body, head):
        return ((torch.tanh(X_s * body) @ mix * head - y_s) ** 2).mean()

    def query_loss(body, head):
        return ((torch.tanh(X_q * body) @ mix * head - y_q) ** 2).mean()

    return support_loss, query_loss, _randn(g, q_dim), _randn(g, h_dim)


def check_anil_outer_gradient(env: dict) -> None:
    q = "anil_outer_gradient"
    with _isolated(env, q) as fn:

        @SOME
        @given(SEEDS, st.integers(0, 4), st.floats(0.05, 0.4), st.integers(1, 4), st.integers(1, 4))
        @example(0, 0, 0.2, 3, 2)
        @example(1, 1, 0.3, 2, 3)
        @example(2, 3, 0.25, 3, 3)
        def against_maml(seed, steps, lr, q_dim, h_dim):
            support, query, body, head = _coupled_losses(seed, q_dim, h_dim)
            case = f"for num_steps={steps}"
            body_in, head_in = body.clone(), head.clone()
            out = C.call(fn, body_in, head_in, support, query, lr, steps, question=q, case=case)
            if type(out) not in (tuple, list) or len(out) != 2:
                C.fail(q, f"returned {C.describe(out)} {case}; expected (body gradient, head gradient)")
            got = [C.tensor_values(C.to_tensor(t, question=q, shape=shape, case=case), question=q, case=case)
                   for t, shape in zip(out, ((q_dim,), (h_dim,)))]
            C.assert_unchanged(body, body_in, question=q, name="body", case=case)
            C.assert_unchanged(head, head_in, question=q, name="head", case=case)
            rates = torch.cat([torch.zeros(q_dim, dtype=DT), torch.full((h_dim,), lr, dtype=DT)])
            oracle = _maml_oracle(torch.cat([body, head]), lambda t: support(t[:q_dim], t[q_dim:]),
                                  lambda t: query(t[:q_dim], t[q_dim:]), rates, steps).numpy()
            for part, want, name in ((got[0], oracle[:q_dim], "body"), (got[1], oracle[q_dim:], "head")):
                C.assert_close(part, want, question=q, rtol=1e-6, atol=1e-10,
                               what=f"{name} gradient differs from d L_q(body, head_k) / d {name}, second order "
                                    f"through every head step (body fixed in the inner loop) {case}")

        C.run_properties(q, against_maml)


def check_multitask_heads_loss(env: dict) -> None:
    q = "multitask_heads_loss"
    with _isolated(env, q) as fn:

        @SOME
        @given(SEEDS, st.integers(1, 5), st.integers(1, 4), st.integers(1, 4))
        @example(0, 1, 2, 2)
        @example(1, 3, 3, 2)
        def mean_of_task_losses(seed, tasks, q_dim, h_dim):
            problems = [_coupled_losses(seed + t, q_dim, h_dim) for t in range(tasks)]
            losses = [query for _, query, _, _ in problems]
            heads = torch.stack([head for *_, head in problems])
            body = problems[0][2]
            case = f"for {tasks} task(s)"
            body_in = body.clone().requires_grad_(True)
            out = C.to_tensor(C.call(fn, body_in, heads.clone(), losses, question=q, case=case), question=q,
                              shape=(), case=case)
            expected = torch.stack([L(body, heads[t]) for t, L in enumerate(losses)]).mean()
            C.assert_close(C.tensor_values(out, question=q, case=case), expected.numpy(), question=q, rtol=1e-9,
                           atol=1e-12, what=f"is not the mean of the task losses {case}")
            got = C.gradient(out, body_in, question=q, case=case)
            maml = torch.stack([_maml_oracle(torch.cat([body, heads[t]]), lambda th, L=L: L(th[:q_dim], th[q_dim:]),
                                             lambda th, L=L: L(th[:q_dim], th[q_dim:]), 0.1, 0)[:q_dim]
                                for t, L in enumerate(losses)]).mean(0)
            C.assert_close(got, maml.numpy(), question=q, rtol=1e-7, atol=1e-10,
                           what=f"body gradient differs from the mean MAML gradient at zero inner steps {case}")

        C.run_properties(q, mean_of_task_losses)


CHECKS = {name: globals()[f"check_{name}"] for name in QUESTIONS}
