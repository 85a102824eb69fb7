"""Property tests of the reference solutions of the MAML-vs-ES assignment (and its experiments).

Oracles are independent of the functions under test: the explicit product of (I − αH_i) factors
with Hessians from ``torch.func.hessian`` and inner iterates from ``torch.func.grad``, central
finite differences, closed forms for quadratics (numpy matrix powers), a re-drawn perturbation
matrix for ES, hand counts of what autograd saves for single ops, and parameter-count formulas.
Everything numerical is float64 on small problems; torch runs with one thread.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import solutions.maml_es as me
import solutions.maml_es_experiments as mx
from solutions.maml_es import (
    es_gradient,
    fomaml_gradient,
    maml_outer_gradient,
    make_mlp,
    profile_meta_step,
    reptile_update,
    saved_tensor_bytes,
)

torch.set_num_threads(1)

DT = torch.float64
seeds = st.integers(0, 2**31 - 1)
steps = st.integers(0, 5)
inner_lrs = st.floats(0.02, 0.3)


# ------------------------------------------------------------------------------------------------
# Problems and oracles
# ------------------------------------------------------------------------------------------------


def tanh_problem(seed, p=4, n=6):
    """A non-quadratic task: tanh regression plus a quartic penalty (Hessian varies with θ)."""
    g = torch.Generator().manual_seed(seed)
    Xs, Xq = torch.randn(n, p, generator=g, dtype=DT), torch.randn(2 * n, p, generator=g, dtype=DT)
    ys, yq = torch.randn(n, generator=g, dtype=DT), torch.randn(2 * n, generator=g, dtype=DT)
    theta = torch.randn(p, generator=g, dtype=DT)

    def support(t):
        return ((torch.tanh(Xs @ t) - ys) ** 2).mean() + 0.05 * (t**4).sum()

    def query(t):
        return ((torch.tanh(Xq @ t) - yq) ** 2).mean() + 0.02 * (t**4).sum()

    return theta, support, query


def mlp_problem(seed, hidden=3, num_layers=1):
    """A tiny float64 MLP on one sinusoid task (support and query MSE as functions of flat θ)."""
    g = torch.Generator().manual_seed(seed)
    tasks = mx.sample_tasks(1, g, dtype=DT)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = make_mlp(num_layers, hidden).to(DT)
    theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    support = mx.mlp_loss(model, tasks.x_support[0], tasks.y_support[0])
    query = mx.mlp_loss(model, tasks.x_query[0], tasks.y_query[0])
    return theta, support, query


def inner_iterates(theta, support, lr, k):
    """[θ₀, …, θ_k] with θ_i = θ_{i−1} − α∇L_s(θ_{i−1}), gradients from torch.func.grad."""
    grad = torch.func.grad(support)
    thetas = [theta.detach().clone()]
    for _ in range(k):
        thetas.append(thetas[-1] - lr * grad(thetas[-1]))
    return thetas


def explicit_maml(theta, support, query, lr, k, reverse=False):
    """(I − αH₀)(I − αH₁)⋯(I − αH_{k−1}) ∇L_q(θ_k) with materialised Hessians.

    The rightmost factor acts first: v ← (I − αH_i) v for i = k−1, …, 0. ``reverse`` applies them
    in the wrong order (used only to show that the problems here can tell the orders apart).
    """
    thetas = inner_iterates(theta, support, lr, k)
    eye = torch.eye(theta.numel(), dtype=DT)
    factors = [eye - lr * torch.func.hessian(support)(t) for t in thetas[:k]]
    v = torch.func.grad(query)(thetas[k])
    order = range(k) if reverse else reversed(range(k))
    for i in order:
        v = factors[i] @ v
    return v


def central_difference(f, x, h=1e-5):
    """Central finite-difference gradient of a scalar torch function of a float64 vector."""
    grad = torch.empty_like(x)
    for i in range(x.numel()):
        e = torch.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


# ------------------------------------------------------------------------------------------------
# maml_outer_gradient
# ------------------------------------------------------------------------------------------------


@settings(max_examples=25)
@given(seed=seeds, k=steps, lr=inner_lrs, p=st.integers(2, 5))
def test_maml_equals_explicit_hessian_product(seed, k, lr, p):
    theta, support, query = tanh_problem(seed, p)
    got = maml_outer_gradient(theta, support, query, lr, k)
    want = explicit_maml(theta, support, query, lr, k)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_explicit_oracle_is_order_sensitive():
    """Guard on the oracle: on these problems the factor order changes the result."""
    theta, support, query = tanh_problem(3, p=4)
    right = explicit_maml(theta, support, query, 0.3, 4)
    wrong = explicit_maml(theta, support, query, 0.3, 4, reverse=True)
    assert (right - wrong).norm() > 1e-6 * right.norm()
    torch.testing.assert_close(maml_outer_gradient(theta, support, query, 0.3, 4), right)


@settings(max_examples=8)
@given(seed=seeds, k=steps)
def test_maml_on_tiny_mlp_equals_explicit_hessian_product(seed, k):
    theta, support, query = mlp_problem(seed, hidden=3, num_layers=2)
    got = maml_outer_gradient(theta, support, query, 0.1, k)
    want = explicit_maml(theta, support, query, 0.1, k)
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


@settings(max_examples=15)
@given(seed=seeds, k=steps, lr=inner_lrs)
def test_maml_matches_finite_differences(seed, k, lr):
    theta, support, query = tanh_problem(seed, p=3)

    def meta_loss(t):
        return query(inner_iterates(t, support, lr, k)[-1])

    fd = central_difference(meta_loss, theta)
    got = maml_outer_gradient(theta, support, query, lr, k)
    torch.testing.assert_close(got, fd, rtol=1e-6, atol=1e-8)


@given(seed=seeds, lr=inner_lrs)
def test_zero_steps_is_the_plain_query_gradient(seed, lr):
    theta, support, query = tanh_problem(seed)
    want = torch.func.grad(query)(theta)
    torch.testing.assert_close(maml_outer_gradient(theta, support, query, lr, 0), want)
    torch.testing.assert_close(fomaml_gradient(theta, support, query, lr, 0), want)


@settings(max_examples=30)
@given(seed=seeds, k=st.integers(0, 8), p=st.integers(1, 5))
def test_maml_quadratic_closed_form(seed, k, p):
    """L_s = ½θᵀAθ − bᵀθ, L_q = ½(θ − c)ᵀB(θ − c): θ_k = θ* + M^k(θ − θ*), M = I − αA, θ* = A⁻¹b,
    so dL_q(θ_k)/dθ = M^k B(θ_k − c)."""
    rng = np.random.default_rng(seed)
    R = rng.standard_normal((p, p))
    A = R @ R.T / p + 0.5 * np.eye(p)
    S = rng.standard_normal((p, p))
    B = S @ S.T / p + 0.1 * np.eye(p)
    b, c, theta = rng.standard_normal(p), rng.standard_normal(p), rng.standard_normal(p)
    lr = 0.5 / np.linalg.eigvalsh(A).max()
    M = np.eye(p) - lr * A
    star = np.linalg.solve(A, b)
    theta_k = star + np.linalg.matrix_power(M, k) @ (theta - star)
    want = np.linalg.matrix_power(M, k) @ B @ (theta_k - c)

    At, Bt, bt, ct = (torch.tensor(v, dtype=DT) for v in (A, B, b, c))
    got = maml_outer_gradient(torch.tensor(theta, dtype=DT), lambda t: 0.5 * t @ At @ t - bt @ t,
                              lambda t: 0.5 * (t - ct) @ Bt @ (t - ct), lr, k)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=1e-12)


@given(seed=seeds, k=steps, lr=inner_lrs)
def test_fomaml_equals_maml_for_linear_support_loss(seed, k, lr):
    """H_i = 0 when L_s is linear, so every factor is I and MAML = FOMAML."""
    theta, _, query = tanh_problem(seed)
    g = torch.Generator().manual_seed(seed + 1)
    w = torch.randn(theta.numel(), generator=g, dtype=DT)

    def support(t):
        return w @ t + 1.5

    got_maml = maml_outer_gradient(theta, support, query, lr, k)
    got_fo = fomaml_gradient(theta, support, query, lr, k)
    torch.testing.assert_close(got_maml, got_fo, rtol=1e-14, atol=1e-15)
    torch.testing.assert_close(got_fo, torch.func.grad(query)(theta - k * lr * w))


@settings(max_examples=20)
@given(seed=seeds, k=st.integers(1, 5))
def test_fomaml_differs_from_maml_with_curvature(seed, k):
    theta, support, query = tanh_problem(seed)
    got_maml = maml_outer_gradient(theta, support, query, 0.2, k)
    got_fo = fomaml_gradient(theta, support, query, 0.2, k)
    assert (got_maml - got_fo).norm() > 1e-8 * (1 + got_maml.norm())


@given(seed=seeds, k=steps, lr=inner_lrs)
def test_fomaml_is_query_gradient_at_adapted_parameters(seed, k, lr):
    theta, support, query = tanh_problem(seed)
    theta_k = inner_iterates(theta, support, lr, k)[-1]
    want = torch.func.grad(query)(theta_k)
    torch.testing.assert_close(fomaml_gradient(theta, support, query, lr, k), want)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_inputs_are_not_modified_and_outputs_detached(requires_grad):
    theta, support, query = tanh_problem(11)
    theta.requires_grad_(requires_grad)
    before = theta.detach().clone()
    outputs = [
        maml_outer_gradient(theta, support, query, 0.1, 3),
        fomaml_gradient(theta, support, query, 0.1, 3),
        reptile_update(theta, support, 0.1, 3, 0.5),
        es_gradient(query, theta, 0.1, 3, torch.Generator().manual_seed(0)),
    ]
    assert torch.equal(theta.detach(), before)
    assert theta.requires_grad == requires_grad and theta.grad is None
    for out in outputs:
        assert out.shape == theta.shape and out.dtype == DT and not out.requires_grad


def test_maml_works_under_no_grad():
    theta, support, query = tanh_problem(5)
    want = maml_outer_gradient(theta, support, query, 0.1, 2)
    with torch.no_grad():
        got = maml_outer_gradient(theta, support, query, 0.1, 2)
    torch.testing.assert_close(got, want)


# ------------------------------------------------------------------------------------------------
# reptile_update
# ------------------------------------------------------------------------------------------------


@given(seed=seeds, k=steps, lr=inner_lrs, eps=st.floats(0.0, 1.0))
def test_reptile_is_sum_of_inner_gradients(seed, k, lr, eps):
    """θ − θ_k = α Σ_{i<k} ∇L_s(θ_i), so reptile_update = θ − εα Σ_i ∇L_s(θ_i) = θ + ε(θ_k − θ)."""
    theta, support, _ = tanh_problem(seed)
    thetas = inner_iterates(theta, support, lr, k)
    grad = torch.func.grad(support)
    grad_sum = sum((grad(t) for t in thetas[:k]), torch.zeros_like(theta))
    got = reptile_update(theta, support, lr, k, eps)
    torch.testing.assert_close(got, theta - eps * lr * grad_sum, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(got, theta + eps * (thetas[-1] - theta), rtol=1e-12, atol=1e-13)


def test_reptile_limits():
    theta, support, _ = tanh_problem(2)
    assert torch.equal(reptile_update(theta, support, 0.1, 0, 0.7), theta)
    torch.testing.assert_close(reptile_update(theta, support, 0.1, 3, 0.0), theta)
    torch.testing.assert_close(reptile_update(theta, support, 0.1, 3, 1.0),
                               inner_iterates(theta, support, 0.1, 3)[-1])


# ------------------------------------------------------------------------------------------------
# es_gradient
# ------------------------------------------------------------------------------------------------


def random_quadratic(seed, p):
    """J(θ) = ½θᵀAθ + bᵀθ + c with symmetric A; ∇J(θ) = Aθ + b."""
    g = torch.Generator().manual_seed(seed)
    R = torch.randn(p, p, generator=g, dtype=DT)
    A = (R + R.T) / 2
    b = torch.randn(p, generator=g, dtype=DT)
    c = float(torch.randn((), generator=g, dtype=DT))
    theta = torch.randn(p, generator=g, dtype=DT)
    return theta, (lambda t: 0.5 * t @ A @ t + b @ t + c), A @ theta + b


@settings(max_examples=10)
@given(seed=seeds, p=st.integers(1, 4), pairs=st.integers(1, 4), sigma=st.floats(0.01, 2.0))
def test_es_unbiased_on_quadratics(seed, p, pairs, sigma):
    theta, J, true_grad = random_quadratic(seed, p)
    estimates = torch.stack([es_gradient(J, theta, sigma, pairs, torch.Generator().manual_seed(s))
                             for s in range(300)])
    mean = estimates.mean(0)
    stderr = estimates.std(0) / np.sqrt(len(estimates))
    assert torch.all((mean - true_grad).abs() <= 5 * stderr + 1e-10)


@given(seed=seeds, p=st.integers(1, 6), pairs=st.integers(1, 6), sigma=st.floats(1e-3, 3.0),
       quadratic=st.booleans())
def test_es_equals_redrawn_outer_product_formula(seed, p, pairs, sigma, quadratic):
    """For J linear or quadratic, [J(θ+σδ) − J(θ−σδ)]/(2σ) = δᵀ∇J(θ), so ĝ = (1/N) Σ δ_i δ_iᵀ ∇J(θ)
    with δ = randn(N, p) redrawn from an identically seeded generator."""
    theta, Jq, grad_q = random_quadratic(seed, p)
    w = torch.randn(p, generator=torch.Generator().manual_seed(seed + 7), dtype=DT)
    J, grad = (Jq, grad_q) if quadratic else ((lambda t: w @ t - 2.0), w)
    delta = torch.randn(pairs, p, generator=torch.Generator().manual_seed(seed), dtype=DT)
    want = delta.T @ (delta @ grad) / pairs
    got = es_gradient(J, theta, sigma, pairs, torch.Generator().manual_seed(seed))
    scale = float(delta.abs().max() ** 2 * grad.abs().sum() * (1 + theta.abs().sum()) / sigma) + 1
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12 * scale)


@given(seed=seeds, p=st.integers(1, 5), sigmas=st.tuples(st.floats(1e-2, 3.0), st.floats(1e-2, 3.0)))
def test_es_scale_in_sigma(seed, p, sigmas):
    """Quadratic J: the estimate given the same δ does not depend on σ. Cubic J: it does."""
    theta, J, _ = random_quadratic(seed, p)
    est = [es_gradient(J, theta, s, 3, torch.Generator().manual_seed(seed)) for s in sigmas]
    torch.testing.assert_close(est[0], est[1], rtol=1e-7, atol=1e-9)
    cubic = [es_gradient(lambda t: (t**3).sum(), theta, s, 3, torch.Generator().manual_seed(seed))
             for s in (0.5, 1.5)]
    # Σ(θ+σδ)³ − Σ(θ−σδ)³ = 6σ Σθ²δ + 2σ³ Σδ³: the estimate moves by (σ₂² − σ₁²)/N Σ_i (Σ_j δ_ij³) δ_i.
    delta = torch.randn(3, p, generator=torch.Generator().manual_seed(seed), dtype=DT)
    shift = (1.5**2 - 0.5**2) / 3 * ((delta**3).sum(1) @ delta)
    torch.testing.assert_close(cubic[1] - cubic[0], shift, rtol=1e-8, atol=1e-10)


@given(seed=seeds, p=st.integers(1, 5), pairs=st.integers(1, 5))
def test_es_deterministic_given_generator(seed, p, pairs):
    theta, J, _ = random_quadratic(seed, p)
    first = es_gradient(J, theta, 0.1, pairs, torch.Generator().manual_seed(seed))
    again = es_gradient(J, theta, 0.1, pairs, torch.Generator().manual_seed(seed))
    assert torch.equal(first, again)
    g = torch.Generator().manual_seed(seed)
    es_gradient(J, theta, 0.1, pairs, g)
    # the generator advanced by exactly one randn(N, p) draw
    reference = torch.Generator().manual_seed(seed)
    torch.randn(pairs, p, generator=reference, dtype=DT)
    assert torch.equal(torch.rand(4, generator=g), torch.rand(4, generator=reference))


@given(seed=seeds, p=st.integers(1, 5), offset=st.floats(-10.0, 10.0))
def test_es_antithetic_pairs_cancel_constants(seed, p, offset):
    theta, J, _ = random_quadratic(seed, p)
    zero = es_gradient(lambda t: torch.tensor(offset, dtype=DT), theta, 0.3, 4,
                       torch.Generator().manual_seed(seed))
    assert torch.equal(zero, torch.zeros(p, dtype=DT))
    base = es_gradient(J, theta, 0.3, 4, torch.Generator().manual_seed(seed))
    shifted = es_gradient(lambda t: J(t) + offset, theta, 0.3, 4, torch.Generator().manual_seed(seed))
    torch.testing.assert_close(shifted, base, rtol=0, atol=1e-13 * (1 + abs(offset)) * 100)


def test_es_evaluates_objective_without_grad():
    theta = torch.randn(3, dtype=DT, requires_grad=True)
    seen = []

    def J(t):
        seen.append(torch.is_grad_enabled())
        return (t**2).sum()

    out = es_gradient(J, theta, 0.1, 2, torch.Generator().manual_seed(0))
    assert seen == [False] * 4 and not out.requires_grad


# ------------------------------------------------------------------------------------------------
# make_mlp
# ------------------------------------------------------------------------------------------------


@given(num_layers=st.integers(1, 5), hidden=st.integers(1, 24))
def test_make_mlp_structure(num_layers, hidden):
    model = make_mlp(num_layers, hidden)
    mods = list(model.children())
    linears = [m for m in mods if isinstance(m, nn.Linear)]
    assert len(linears) == num_layers + 1
    assert [(l.in_features, l.out_features) for l in linears] == (
        [(1, hidden)] + [(hidden, hidden)] * (num_layers - 1) + [(hidden, 1)])
    # Linear, ReLU, Linear, ReLU, …, Linear: a ReLU after every hidden Linear, none at the end
    assert [type(m) for m in mods] == [nn.Linear, nn.ReLU] * num_layers + [nn.Linear]
    count = sum(p.numel() for p in model.parameters())
    assert count == 3 * hidden + 1 + (num_layers - 1) * (hidden**2 + hidden)
    assert count == mx.num_parameters(num_layers, hidden)


def test_make_mlp_computes_relu_network():
    torch.manual_seed(0)
    model = make_mlp(2, 5).to(DT)
    x = torch.randn(7, 1, dtype=DT)
    h = x
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for lin in linears[:-1]:
        h = torch.clamp(h @ lin.weight.T + lin.bias, min=0)
    torch.testing.assert_close(model(x), h @ linears[-1].weight.T + linears[-1].bias)


def test_make_mlp_rejects_zero_layers():
    with pytest.raises(ValueError):
        make_mlp(0, 4)


# ------------------------------------------------------------------------------------------------
# saved_tensor_bytes
# ------------------------------------------------------------------------------------------------


@given(n=st.integers(1, 40), m=st.integers(1, 6), k=st.integers(1, 6))
def test_saved_bytes_closed_forms(n, m, k):
    """What autograd saves (checked against torch 2.x): mul saves both operands when both require
    grad, only the other operand otherwise; sin/exp save one n-vector; sum and add save nothing;
    mm saves both matrices."""
    a = torch.randn(n, dtype=DT, requires_grad=True)
    b = torch.randn(n, dtype=DT, requires_grad=True)
    c = torch.randn(n, dtype=DT)
    assert saved_tensor_bytes(lambda: (a * b).sum()) == 2 * n * 8
    assert saved_tensor_bytes(lambda: (a * c).sum()) == n * 8
    assert saved_tensor_bytes(lambda: (a + b).sum()) == 0
    assert saved_tensor_bytes(lambda: torch.sin(a) * b) == 3 * n * 8
    assert saved_tensor_bytes(lambda: (a.float() * b.float()).sum()) == 2 * n * 4
    A = torch.randn(m, k, dtype=DT, requires_grad=True)
    B = torch.randn(k, n, dtype=DT, requires_grad=True)
    assert saved_tensor_bytes(lambda: A @ B) == (m * k + k * n) * 8


@given(n=st.integers(1, 30), depth=st.integers(0, 8))
def test_saved_bytes_linear_in_chain_length(n, depth):
    x = torch.randn(n, dtype=DT, requires_grad=True)

    def chain():
        y = x
        for _ in range(depth):
            y = torch.sin(y)
        return y

    assert saved_tensor_bytes(chain) == depth * n * 8


def test_saved_bytes_zero_without_grad():
    x = torch.randn(20, dtype=DT, requires_grad=True)

    def no_grad_fn():
        with torch.no_grad():
            return torch.sin(x * x).exp().sum()

    assert saved_tensor_bytes(no_grad_fn) == 0
    assert saved_tensor_bytes(lambda: torch.sin(x.detach()).exp()) == 0


def test_saved_bytes_counts_duplicates_and_releases_freed_graphs():
    x = torch.randn(10, dtype=DT, requires_grad=True)
    # x * x saves x twice (no de-duplication)
    assert saved_tensor_bytes(lambda: x * x) == 2 * 10 * 8

    def three_freed_graphs():
        for _ in range(3):
            torch.autograd.grad(torch.sin(x).sum(), x)

    def three_live_graphs():
        return [torch.sin(x).sum() for _ in range(3)]

    assert saved_tensor_bytes(three_freed_graphs) == 10 * 8  # peak: one graph at a time
    assert saved_tensor_bytes(three_live_graphs) == 3 * 10 * 8


# ------------------------------------------------------------------------------------------------
# profile_meta_step
# ------------------------------------------------------------------------------------------------


def r_squared(x, y):
    slope, intercept = np.polyfit(x, y, 1)
    residual = np.asarray(y) - (slope * np.asarray(x) + intercept)
    return slope, 1 - residual.var() / np.var(y)


@pytest.mark.parametrize("method", ["maml", "es"])
def test_profile_keys_types_determinism(method):
    first = profile_meta_step(method, 2, 1, 8)
    assert set(first) == {"seconds", "bytes"}
    assert isinstance(first["seconds"], float) and first["seconds"] >= 0
    assert isinstance(first["bytes"], int) and first["bytes"] > 0
    assert profile_meta_step(method, 2, 1, 8)["bytes"] == first["bytes"]


def test_profile_unknown_method():
    with pytest.raises(ValueError):
        profile_meta_step("reptile", 1, 1, 8)


def test_profile_maml_linear_es_flat_in_steps():
    ks = [1, 2, 3, 4, 6, 8]
    maml = [profile_meta_step("maml", k, 1, 8)["bytes"] for k in ks]
    es = [profile_meta_step("es", k, 1, 8)["bytes"] for k in ks]
    slope, r2 = r_squared(ks, maml)
    assert slope > 0 and r2 > 0.99
    assert len(set(es)) == 1 and es[0] > 0
    assert maml[-1] > 2 * maml[0]


def test_profile_bytes_grow_with_parameter_count():
    for method in ("maml", "es"):
        by_hidden = [profile_meta_step(method, 2, 2, h)["bytes"] for h in (4, 8, 16, 32)]
        assert all(a < b for a, b in zip(by_hidden, by_hidden[1:])), (method, by_hidden)
        by_layers = [profile_meta_step(method, 2, L, 8)["bytes"] for L in (1, 2, 3)]
        assert all(a < b for a, b in zip(by_layers, by_layers[1:])), (method, by_layers)


def test_api_list():
    assert set(me.__all__) == {"maml_outer_gradient", "fomaml_gradient", "reptile_update",
                               "es_gradient", "make_mlp", "saved_tensor_bytes",
                               "profile_meta_step"}


# ------------------------------------------------------------------------------------------------
# experiments module (given code)
# ------------------------------------------------------------------------------------------------


@settings(max_examples=20)
@given(seed=seeds, T=st.integers(1, 5))
def test_sample_tasks(seed, T):
    tasks = mx.sample_tasks(T, torch.Generator().manual_seed(seed), dtype=DT)
    assert tasks.x_support.shape == (T, 10, 1) and tasks.x_query.shape == (T, 100, 1)
    assert tasks.y_support.shape == (T, 10, 1) and tasks.y_query.shape == (T, 100, 1)
    assert torch.all((0.5 <= tasks.amplitude) & (tasks.amplitude <= 1))
    assert torch.all((0 <= tasks.phase) & (tasks.phase <= 2 * np.pi))
    assert torch.all((-0.3 <= tasks.offset) & (tasks.offset <= 0.3))
    for x in (tasks.x_support, tasks.x_query):
        assert torch.all((0 <= x) & (x < 2 * np.pi))
    a, phi, b = (v[:, None, None] for v in (tasks.amplitude, tasks.phase, tasks.offset))
    torch.testing.assert_close(tasks.y_query, a * torch.sin(tasks.x_query + phi) + b)
    again = mx.sample_tasks(T, torch.Generator().manual_seed(seed), dtype=DT)
    assert all(torch.equal(u, v) for u, v in zip(tasks, again))


def test_functional_mlp_matches_module():
    torch.manual_seed(1)
    model = make_mlp(2, 6).to(DT)
    x, y = torch.randn(9, 1, dtype=DT), torch.randn(9, 1, dtype=DT)
    theta = mx.flatten_parameters(model).requires_grad_(True)
    assert theta.numel() == mx.num_parameters(2, 6)
    loss = mx.mlp_loss(model, x, y)(theta)
    reference = ((model(x) - y) ** 2).mean()
    torch.testing.assert_close(loss, reference)
    (g,) = torch.autograd.grad(loss, theta)
    grads = torch.autograd.grad(reference, list(model.parameters()))
    torch.testing.assert_close(g, torch.cat([q.reshape(-1) for q in grads]))


def test_sweep_rows_and_csv_round_trip(tmp_path):
    calls = []

    def fake_profile(method, num_steps, num_layers, hidden, device="cpu"):
        calls.append((method, num_steps, num_layers, hidden, device))
        return {"seconds": 0.5 * num_steps, "bytes": 100 * hidden + num_layers}

    rows = mx.sweep(fake_profile, "hidden", [4, 8], num_steps=3, num_layers=2, device="cpu")
    assert calls == [("maml", 3, 2, 4, "cpu"), ("es", 3, 2, 4, "cpu"),
                     ("maml", 3, 2, 8, "cpu"), ("es", 3, 2, 8, "cpu")]
    assert [r["bytes"] for r in rows] == [402, 402, 802, 802]
    path = tmp_path / "sweep.csv"
    mx.write_sweep_csv({"hidden": rows}, path)
    with open(path, newline="") as handle:
        assert len(list(csv.DictReader(handle))) == 4
    back = mx.read_sweep_csv(path)
    assert [(r["method"], r["hidden"], r["bytes"], r["seconds"]) for r in back] == [
        (r["method"], r["hidden"], r["bytes"], r["seconds"]) for r in rows]
    with pytest.raises(ValueError):
        mx.sweep(fake_profile, "width", [1])


def test_plot_sweeps_six_panels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def fake_profile(method, num_steps, num_layers, hidden, device="cpu"):
        return {"seconds": 0.1, "bytes": 10 * num_steps}

    results = {p: mx.sweep(fake_profile, p, [1, 2], device="cpu") for p in mx.SWEEP_PARAMETERS}
    fig = mx.plot_sweeps(results)
    assert len(fig.axes) == 6 and all(len(ax.lines) == 2 for ax in fig.axes)
    plt.close(fig)
