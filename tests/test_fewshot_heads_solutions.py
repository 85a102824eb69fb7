"""Property tests of the reference solutions of the few-shot-heads assignment and its given QP
solver.

Oracles are independent of the functions under test: the primal (p×p) ridge formula, its
optimality condition and the pseudo-inverse; scikit-learn's Crammer–Singer SVM (liblinear, a
different algorithm on the primal) and the primal stated in cvxpy and solved by Clarabel;
SciPy's SLSQP on small QPs; central finite differences (``torch.autograd.gradcheck``) and autograd
through the ridge closed form against the solver's implicit gradient; MAML's outer gradient from
the ``maml-es`` reference with a per-coordinate inner rate, and plain autograd of the averaged
loss. Everything numerical is float64 on small problems.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from sklearn.svm import LinearSVC

from solutions.differentiable_qp import interior_point, solve_qp, svm_head
from solutions.fewshot_heads import (
    anil_outer_gradient,
    crammer_singer_qp,
    multitask_heads_loss,
    r2d2_logits,
    ridge_head,
)
from solutions.maml_es import maml_outer_gradient

torch.set_num_threads(1)

DT = torch.float64
seeds = st.integers(0, 2**31 - 1)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _episode(seed: int, ways: int, shots: int, p: int):
    g = _generator(seed)
    Z = torch.randn(ways * shots, p, generator=g, dtype=DT)
    labels = torch.arange(ways).repeat_interleave(shots)
    return Z, labels


# ------------------------------------------------------------------------------------------------
# Ridge head and R2D2
# ------------------------------------------------------------------------------------------------


@given(seeds, st.integers(1, 8), st.integers(1, 12), st.integers(1, 4), st.floats(0.01, 10.0))
def test_ridge_head_equals_the_primal_form(seed, n, p, c, lam):
    g = _generator(seed)
    Z, Y = torch.randn(n, p, generator=g, dtype=DT), torch.randn(n, c, generator=g, dtype=DT)
    primal = torch.linalg.solve(Z.T @ Z + lam * torch.eye(p, dtype=DT), Z.T @ Y)
    torch.testing.assert_close(ridge_head(Z, Y, lam), primal, rtol=1e-8, atol=1e-10)


@given(seeds, st.integers(1, 6), st.integers(1, 3))
def test_ridge_head_tends_to_the_minimum_norm_interpolator(seed, n, c):
    g = _generator(seed)
    Z, Y = torch.randn(n, n + 5, generator=g, dtype=DT), torch.randn(n, c, generator=g, dtype=DT)
    torch.testing.assert_close(ridge_head(Z, Y, 1e-11), torch.linalg.pinv(Z) @ Y, rtol=1e-6, atol=1e-8)


@settings(max_examples=10)
@given(seeds)
def test_ridge_head_gradients_match_finite_differences(seed):
    g = _generator(seed)
    Z = torch.randn(4, 6, generator=g, dtype=DT, requires_grad=True)
    Y = torch.randn(4, 3, generator=g, dtype=DT, requires_grad=True)
    lam = torch.tensor(0.7, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(ridge_head, (Z, Y, lam))


def test_ridge_head_never_builds_the_p_by_p_system():
    """p = 10⁵ features, n = 50: the p×p system would be 80 GB; the n×n one is 20 kB."""
    Z = torch.randn(50, 100_000, generator=_generator(0))
    W = ridge_head(Z, torch.eye(5).repeat(10, 1), 1.0)
    assert W.shape == (100_000, 5) and bool(torch.isfinite(W).all())


@settings(max_examples=10)
@given(seeds, st.integers(2, 4), st.integers(1, 3))
def test_r2d2_logits_are_scaled_ridge_scores_and_differentiable_everywhere(seed, ways, shots):
    Z, labels = _episode(seed, ways, shots, 5)
    Zq = torch.randn(3, 5, generator=_generator(seed + 1), dtype=DT)
    lam, scale, bias = (torch.tensor(v, dtype=DT, requires_grad=True) for v in (0.5, 2.0, -0.3))
    Y = F.one_hot(labels, ways).to(DT)
    primal = torch.linalg.solve(Z.T @ Z + 0.5 * torch.eye(5, dtype=DT), Z.T @ Y)
    torch.testing.assert_close(r2d2_logits(Z, labels, Zq, ways, lam, scale, bias).detach(), 2.0 * Zq @ primal - 0.3)
    inputs = (Z.clone().requires_grad_(True), Zq.clone().requires_grad_(True), lam, scale, bias)
    assert torch.autograd.gradcheck(lambda z, zq, l, s, b: r2d2_logits(z, labels, zq, ways, l, s, b), inputs)


# ------------------------------------------------------------------------------------------------
# The QP solver and the SVM head
# ------------------------------------------------------------------------------------------------


def _random_qp(seed: int, n: int, m: int, k: int):
    g = _generator(seed)
    M = torch.randn(n, n, generator=g, dtype=DT)
    Q = M @ M.T + 0.5 * torch.eye(n, dtype=DT)
    q, G = torch.randn(n, generator=g, dtype=DT), torch.randn(m, n, generator=g, dtype=DT)
    x_feasible = torch.randn(n, generator=g, dtype=DT)
    h = G @ x_feasible + torch.rand(m, generator=g, dtype=DT)  # x_feasible is strictly feasible
    A = torch.randn(k, n, generator=g, dtype=DT)
    return Q, q, G, h, A, A @ x_feasible


@settings(max_examples=20)
@given(seeds, st.integers(2, 6), st.integers(1, 6), st.integers(0, 1))
def test_solve_qp_agrees_with_scipy(seed, n, m, k):
    Q, q, G, h, A, b = _random_qp(seed, n, m, k)
    x = solve_qp(Q, q, G, h, A, b).numpy()
    Qn, qn, Gn, hn, An, bn = (t.numpy() for t in (Q, q, G, h, A, b))
    constraints = [{"type": "ineq", "fun": lambda v: hn - Gn @ v, "jac": lambda v: -Gn}]
    if k:
        constraints.append({"type": "eq", "fun": lambda v: An @ v - bn, "jac": lambda v: An})
    oracle = minimize(lambda v: 0.5 * v @ Qn @ v + qn @ v, np.zeros(n), jac=lambda v: Qn @ v + qn,
                      constraints=constraints, method="SLSQP", options={"ftol": 1e-14, "maxiter": 1000})
    assert oracle.success
    np.testing.assert_allclose(x, oracle.x, atol=1e-6)


@settings(max_examples=10)
@given(seeds)
def test_solve_qp_gradients_match_finite_differences(seed):
    """Implicit differentiation through the KKT conditions, against central differences of the
    whole solve (interior point included) with respect to q, h and Q."""
    Q, q, G, h, A, b = _random_qp(seed, 4, 5, 1)
    _, s, z, _ = interior_point(Q, q, G, h, A, b)
    assume(float(torch.maximum(s, z).min()) > 1e-5)  # strict complementarity: the gradient exists
    inputs = tuple(t.clone().requires_grad_(True) for t in (Q, q, h))
    assert torch.autograd.gradcheck(lambda Q_, q_, h_: solve_qp((Q_ + Q_.T) / 2, q_, G, h_, A, b), inputs,
                                    atol=1e-5, rtol=1e-4)


@settings(max_examples=8)
@given(seeds, st.integers(3, 5), st.integers(1, 4), st.sampled_from([0.05, 0.5, 5.0]))
def test_svm_head_is_the_crammer_singer_svm_of_scikit_learn(seed, ways, shots, C):
    """liblinear solves the same SVM (no intercept) by another algorithm: the heads agree. (Three
    classes at least: with two, scikit-learn returns the binary form.)"""
    Z, labels = _episode(seed, ways, shots, 7)
    W = svm_head(Z, labels, ways, C, 1e-12, crammer_singer_qp)
    oracle = LinearSVC(multi_class="crammer_singer", fit_intercept=False, C=C, tol=1e-12,
                       max_iter=1_000_000).fit(Z.numpy(), labels.numpy())
    np.testing.assert_allclose(W.detach().numpy(), oracle.coef_.T, atol=1e-6)


@settings(max_examples=5)
@given(seeds, st.integers(2, 5), st.integers(1, 3), st.sampled_from([0.05, 0.5, 5.0]))
def test_svm_head_is_the_primal_svm_solved_by_cvxpy(seed, ways, shots, C):
    """The Crammer–Singer *primal*, min ½‖W‖²_F + C Σᵢ ξᵢ s.t. zᵢ·(w_{yᵢ} − w_k) ≥ 1 − δ_{k,yᵢ} − ξᵢ
    for every class k, stated in cvxpy and solved by Clarabel (another solver on another
    problem: its dual is the QP the head solves). Two classes included."""
    import cvxpy as cp

    Z, labels = _episode(seed, ways, shots, 7)
    W = svm_head(Z, labels, ways, C, 1e-12, crammer_singer_qp).detach().numpy()
    Zn, Y = Z.numpy(), F.one_hot(labels, ways).numpy()
    V, xi = cp.Variable((Zn.shape[1], ways)), cp.Variable(len(Zn))
    scores = Zn @ V
    true_scores = cp.sum(cp.multiply(scores, Y), axis=1)
    margins = [true_scores - scores[:, k] >= 1 - Y[:, k] - xi for k in range(ways)]
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(V) + C * cp.sum(xi)), margins).solve(solver=cp.CLARABEL)
    np.testing.assert_allclose(W, V.value, atol=1e-6)


def test_crammer_singer_qp_layout():
    """x = vec(α) row-major: the equality rows sum each point's c duals; the box bounds the true
    class's dual by C and the others by 0."""
    Z, labels = _episode(3, 3, 2, 4)
    Q, q, G, h, A, b = crammer_singer_qp(Z, labels, 3, 0.7, 1e-3)
    assert Q.shape == (18, 18) and A.shape == (6, 18) and G.shape == (18, 18)
    torch.testing.assert_close(Q[0:3, 3:6], float(Z[0] @ Z[1]) * torch.eye(3, dtype=DT))
    torch.testing.assert_close(h.reshape(6, 3), 0.7 * F.one_hot(labels, 3).to(DT))
    assert torch.equal(A[1], torch.tensor([0.0] * 3 + [1.0] * 3 + [0.0] * 12, dtype=DT))


@settings(max_examples=5)
@given(seeds)
def test_svm_head_gradient_matches_finite_differences(seed):
    Z, labels = _episode(seed, 3, 2, 4)
    assert torch.autograd.gradcheck(lambda z: svm_head(z, labels, 3, 0.5, 1e-3, crammer_singer_qp),
                                    (Z.clone().requires_grad_(True),), atol=1e-5, rtol=1e-4)


# ------------------------------------------------------------------------------------------------
# ANIL and multi-task heads
# ------------------------------------------------------------------------------------------------


def _losses(seed: int, q: int = 3, h: int = 4):
    """A support and a query loss of (body, head) with a genuine body–head coupling."""
    g = _generator(seed)
    X_s, X_q = torch.randn(6, q, generator=g, dtype=DT), torch.randn(5, q, generator=g, dtype=DT)
    y_s, y_q = torch.randn(6, h, generator=g, dtype=DT), torch.randn(5, h, generator=g, dtype=DT)

    def loss(X, y):
        return lambda body, head: ((torch.tanh(X * body) @ torch.ones(q, h, dtype=DT) * head - y) ** 2).mean()

    return loss(X_s, y_s), loss(X_q, y_q), torch.randn(q, generator=g, dtype=DT), torch.randn(h, generator=g, dtype=DT)


@given(seeds, st.integers(0, 4), st.floats(0.01, 0.3))
def test_anil_is_maml_with_a_zero_inner_rate_on_the_body(seed, steps, lr):
    support, query, body, head = _losses(seed)
    q = body.numel()
    rates = torch.cat([torch.zeros(q, dtype=DT), torch.full_like(head, lr)])
    theta = torch.cat([body, head])
    oracle = maml_outer_gradient(theta, lambda t: support(t[:q], t[q:]), lambda t: query(t[:q], t[q:]), rates, steps)
    got_body, got_head = anil_outer_gradient(body, head, support, query, lr, steps)
    torch.testing.assert_close(torch.cat([got_body, got_head]), oracle)


@settings(max_examples=10)
@given(seeds, st.integers(1, 3))
def test_anil_gradient_matches_finite_differences_and_is_second_order(seed, steps):
    support, query, body, head = _losses(seed)
    lr = 0.2

    def adapted_query_loss(b, h0):
        h = h0
        for _ in range(steps):
            (grad,) = torch.autograd.grad(support(b, h), h, create_graph=True)
            h = h - lr * grad
        return query(b, h)

    numeric = torch.autograd.functional.jacobian(adapted_query_loss, (body.clone().requires_grad_(True),
                                                                     head.clone().requires_grad_(True)))
    got = anil_outer_gradient(body, head, support, query, lr, steps)
    for a, b in zip(got, numeric):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(adapted_query_loss, (body.clone().requires_grad_(True), head.clone().requires_grad_(True)))
    for second, first in zip(got, _first_order(support, query, body, head, lr, steps)):
        assert not torch.allclose(second, first), "the inner steps' second-order terms matter here"


def _first_order(support, query, body, head, lr, steps):
    """Both gradients with every inner step detached (the first-order mistake)."""
    h = head.clone()
    for _ in range(steps):
        h.requires_grad_(True)
        (grad,) = torch.autograd.grad(support(body, h), h)
        h = (h - lr * grad).detach()
    b = body.clone().requires_grad_(True)
    h.requires_grad_(True)
    return torch.autograd.grad(query(b, h), (b, h))


def test_anil_with_zero_steps_is_the_plain_gradient():
    support, query, body, head = _losses(7)
    b, h = body.clone().requires_grad_(True), head.clone().requires_grad_(True)
    expected = torch.autograd.grad(query(b, h), (b, h))
    for got, want in zip(anil_outer_gradient(body, head, support, query, 0.1, 0), expected):
        torch.testing.assert_close(got, want)


@given(seeds, st.integers(1, 5))
def test_multitask_heads_body_gradient_is_mean_maml_at_zero_steps(seed, tasks):
    losses, heads = [], []
    for t in range(tasks):
        support, query, body, head = _losses(seed + t)
        losses.append(query)
        heads.append(head)
    body = _losses(seed)[2].clone().requires_grad_(True)
    heads = torch.stack(heads)
    loss = multitask_heads_loss(body, heads, losses)
    torch.testing.assert_close(loss, torch.stack([L(body, heads[t]) for t, L in enumerate(losses)]).mean())
    (body_grad,) = torch.autograd.grad(loss, body)
    q = body.numel()
    maml = torch.stack([maml_outer_gradient(torch.cat([body.detach(), heads[t]]), lambda th, L=L: L(th[:q], th[q:]),
                                            lambda th, L=L: L(th[:q], th[q:]), 0.5, 0)[:q]
                        for t, L in enumerate(losses)]).mean(0)
    torch.testing.assert_close(body_grad, maml)


def test_anil_leaves_its_inputs_alone():
    support, query, body, head = _losses(1)
    before = (body.clone(), head.clone())
    anil_outer_gradient(body, head, support, query, 0.1, 2)
    assert torch.equal(body, before[0]) and torch.equal(head, before[1])


# ------------------------------------------------------------------------------------------------
# Episodes
# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    from solutions import fewshot_heads_experiments as fx

    return fx, fx.rotated_digits()


def test_forty_rotated_classes_split_once_without_overlap(digits):
    fx, data = digits
    from solutions.digits_cnn import load_digits_arrays

    pixels, labels = load_digits_arrays()
    assert data.images.shape == (4 * len(labels), 1, 8, 8) and sorted(set(data.classes.tolist())) == list(range(40))
    first = torch.tensor(pixels[0] / 16.0, dtype=torch.float32).reshape(8, 8)
    for k in range(4):  # class 4·digit + k is the digit turned k quarter turns
        index = k * len(labels)
        assert int(data.classes[index]) == 4 * int(labels[0]) + k
        assert torch.equal(data.images[index, 0], torch.rot90(first, k))
    train, test = fx.class_split()
    assert len(train) == fx.META_TRAIN_CLASSES and len(test) == 40 - fx.META_TRAIN_CLASSES
    assert not set(train.tolist()) & set(test.tolist())
    assert torch.equal(fx.class_split()[0], train), "the split is fixed"


@settings(max_examples=20)
@given(seeds, st.integers(2, 5), st.integers(1, 5), st.integers(1, 10))
def test_episodes_are_n_way_k_shot_disjoint_and_seeded(digits, seed, ways, shots, queries):
    fx, data = digits
    train, _ = fx.class_split()
    episode = fx.sample_episode(data, train, ways, shots, queries, _generator(seed))
    assert episode.support_x.shape == (ways * shots, 1, 8, 8) and episode.query_x.shape == (ways * queries, 1, 8, 8)
    assert torch.equal(episode.support_y.bincount(minlength=ways), torch.full((ways,), shots))
    assert torch.equal(episode.query_y.bincount(minlength=ways), torch.full((ways,), queries))
    support = {tuple(x.flatten().tolist()) for x in episode.support_x}
    assert not support & {tuple(x.flatten().tolist()) for x in episode.query_x}
    again = fx.sample_episode(data, train, ways, shots, queries, _generator(seed))
    assert all(torch.equal(a, b) for a, b in zip(episode, again))


@settings(max_examples=15)
@given(seeds, st.integers(2, 6), st.integers(1, 5), st.integers(1, 2), st.floats(0.5, 3.0))
def test_an_equality_written_as_two_inequalities_is_still_solved(seed, n, m, k, c):
    """Ax = b as Ax ≤ b and −cAx ≤ −cb (no interior): the presolve finds the equality."""
    Q, q, G, h, A, b = _random_qp(seed, n, m, k)
    as_pairs = solve_qp(Q, q, torch.cat([G, A, -c * A]), torch.cat([h, b, -c * b]),
                        torch.zeros(0, n, dtype=DT), torch.zeros(0, dtype=DT))
    torch.testing.assert_close(as_pairs, solve_qp(Q, q, G, h, A, b), rtol=1e-7, atol=1e-8)


@settings(max_examples=10)
@given(seeds, st.integers(1, 6), st.integers(1, 8), st.floats(0.05, 5.0))
def test_ridge_head_satisfies_its_optimality_condition(seed, n, p, lam):
    """∇_W (‖ZW − Y‖² + λ‖W‖²) / 2 = Zᵀ(ZW − Y) + λW = 0 at the head."""
    g = _generator(seed)
    Z, Y = torch.randn(n, p, generator=g, dtype=DT), torch.randn(n, 3, generator=g, dtype=DT)
    W = ridge_head(Z, Y, lam)
    torch.testing.assert_close(Z.T @ (Z @ W - Y) + lam * W, torch.zeros_like(W), atol=1e-9, rtol=0)


@settings(max_examples=10)
@given(seeds, st.integers(2, 5), st.integers(2, 6))
def test_implicit_qp_gradient_is_autograd_of_the_ridge_closed_form(seed, n, p):
    """Ridge regression as a QP (Q = ZᵀZ + λI, q = −Zᵀy, a box |x| ≤ 10³ that is never active):
    the solver's implicit gradient with respect to Z (through the p×p KKT system at the interior
    point's solution) equals autograd through the n×n closed form."""
    g = _generator(seed)
    Z, y, weights = (torch.randn(*shape, generator=g, dtype=DT) for shape in ((n, p), (n,), (p,)))
    lam = 0.7
    G = torch.cat([torch.eye(p, dtype=DT), -torch.eye(p, dtype=DT)])
    h = torch.full((2 * p,), 1e3, dtype=DT)
    empty_A, empty_b = torch.zeros(0, p, dtype=DT), torch.zeros(0, dtype=DT)

    def through_solver(z):
        return solve_qp(z.T @ z + lam * torch.eye(p, dtype=DT), -z.T @ y, G, h, empty_A, empty_b)

    def closed_form(z):
        return ridge_head(z, y[:, None], lam)[:, 0]

    Z_solver, Z_closed = Z.clone().requires_grad_(True), Z.clone().requires_grad_(True)
    (implicit,) = torch.autograd.grad(through_solver(Z_solver) @ weights, Z_solver)
    (direct,) = torch.autograd.grad(closed_form(Z_closed) @ weights, Z_closed)
    torch.testing.assert_close(through_solver(Z).detach(), closed_form(Z).detach(), atol=1e-8, rtol=1e-8)
    torch.testing.assert_close(implicit, direct, atol=1e-7, rtol=1e-6)


def test_solve_qp_returns_the_feasible_interior_point_on_degenerate_svm_duals():
    """n = 10 points in a few dimensions make the SVM dual degenerate: a KKT re-solve on the
    guessed active set moved x by up to 4e-3 off the feasible set (seed 14). The value is the
    interior point's; the gradient still the KKT system's (finite-difference tests above)."""
    for seed in range(12, 18):
        g = _generator(seed)
        p = int(torch.randint(2, 7, (1,), generator=g))  # seed 14: p = 2
        Z = torch.randn(10, p, generator=g, dtype=DT)
        labels = torch.arange(5).repeat_interleave(2)
        Q, q, G, h, A, b = crammer_singer_qp(Z, labels, 5, 5.0, 1e-3)
        x = solve_qp(Q, q, G, h, A, b)
        assert float((G @ x - h).clamp(min=0).max()) <= 1e-8 and float((A @ x - b).abs().max()) <= 1e-8
