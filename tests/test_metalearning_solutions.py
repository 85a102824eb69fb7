"""Property tests of the reference solutions of the meta-learning assignment.

Every property is checked against an oracle that is independent of the function under test:
numpy's pinv / QR projections, formulas written out here, brute-force loops, quadrature, central
finite differences or torch autograd through a separately written solve. All in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import solutions.metalearning as ml
from solutions.metalearning import (
    alias_c_gradient,
    alias_test_error,
    classification_error,
    closed_form_coefficients,
    fourier_features,
    gradient_descent_c,
    inner_gd_coefficients,
    logistic_loss,
    meta_loss_closed_form,
    min_norm_solution,
    weighted_min_norm,
)

DT = torch.float64
seeds = st.integers(0, 2**32 - 1)
magnitudes = st.floats(0.2, 5.0)
nonzero = st.builds(lambda m, s: m * s, magnitudes, st.sampled_from([-1.0, 1.0]))
alias_cs = st.tuples(nonzero, nonzero).map(np.array)


def well_posed(rng, n, d, max_cond=1e3):
    """A Gaussian n×d matrix whose condition number is below max_cond (redrawn otherwise)."""
    while True:
        A = rng.standard_normal((n, d))
        if np.linalg.cond(A) < max_cond:
            return A


def row_space_residual(A, beta):
    """‖β − P_row(A) β‖ with the projection built from an orthonormal basis of range(Aᵀ)."""
    U, s, _ = np.linalg.svd(A.T, full_matrices=False)
    Q = U[:, s > 1e-10 * s.max()]
    return np.linalg.norm(beta - Q @ (Q.T @ beta))


def central_difference(f, x, h=1e-6):
    """Central finite-difference gradient of a scalar function f of a float64 array x."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        grad.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def assert_matches_finite_differences(grad, f, c, h=1e-5, rtol=1e-5):
    """grad ≈ central differences of the scalar torch function f at the float64 tensor c.

    The absolute tolerance scales with |f(c)|: the differences lose about cond²·eps·|f|/h to
    round-off when f goes through a solve with AAᵀ (condition number cond² ≲ 1e4 here).
    """
    fd = central_difference(lambda v: float(f(torch.tensor(v, dtype=DT))), c.detach().numpy(), h)
    scale = 1.0 + abs(float(f(c.detach())))
    np.testing.assert_allclose(grad.numpy(), fd, rtol=rtol, atol=1e-6 * scale)


# ------------------------------------------------------------------------------------------------
# min_norm_solution
# ------------------------------------------------------------------------------------------------


@given(seed=seeds, n=st.integers(1, 8), extra=st.integers(0, 8))
def test_min_norm_full_row_rank(seed, n, extra):
    """Feasible, in the row space, equal to pinv and to Aᵀ(AAᵀ)⁻¹y, and no feasible β is shorter."""
    rng = np.random.default_rng(seed)
    A = well_posed(rng, n, n + extra)
    y = rng.standard_normal(n)
    beta = min_norm_solution(A, y)
    assert beta.shape == (n + extra,)
    np.testing.assert_allclose(A @ beta, y, atol=1e-9)
    assert row_space_residual(A, beta) < 1e-9 * (1 + np.linalg.norm(beta))
    np.testing.assert_allclose(beta, np.linalg.pinv(A) @ y, atol=1e-9)
    np.testing.assert_allclose(beta, A.T @ np.linalg.solve(A @ A.T, y), atol=1e-8)
    # Any other feasible point β + u (u in the null space) is strictly longer.
    v = rng.standard_normal(n + extra)
    u = v - np.linalg.pinv(A) @ (A @ v)
    if np.linalg.norm(u) > 1e-6:
        np.testing.assert_allclose(A @ (beta + u), y, atol=1e-8)
        assert np.linalg.norm(beta + u) > np.linalg.norm(beta)
        np.testing.assert_allclose(np.linalg.norm(beta + u) ** 2,
                                   np.linalg.norm(beta) ** 2 + np.linalg.norm(u) ** 2, rtol=1e-9)


@given(seed=seeds, n=st.integers(2, 9), d=st.integers(2, 9), data=st.data())
def test_min_norm_rank_deficient(seed, n, d, data):
    """Low-rank A (AAᵀ singular) with y ∈ range(A): the answer is still A⁺y."""
    rng = np.random.default_rng(seed)
    r = data.draw(st.integers(1, min(n, d) - 1))
    A = rng.standard_normal((n, r)) @ rng.standard_normal((r, d))
    y = A @ rng.standard_normal(d)
    beta = min_norm_solution(A, y)
    np.testing.assert_allclose(A @ beta, y, atol=1e-8 * (1 + np.abs(y).max()))
    np.testing.assert_allclose(beta, np.linalg.pinv(A) @ y, atol=1e-8 * (1 + np.abs(beta).max()))
    assert row_space_residual(A, beta) < 1e-8 * (1 + np.linalg.norm(beta))


@given(seed=seeds, n=st.integers(1, 5), extra=st.integers(1, 6))
def test_min_norm_duplicate_rows(seed, n, extra):
    """Repeating rows (and their targets) changes neither the constraint set nor the answer."""
    rng = np.random.default_rng(seed)
    A = well_posed(rng, n, n + extra)
    y = rng.standard_normal(n)
    repeat = rng.integers(0, n, size=3)
    A_dup, y_dup = np.vstack([A, A[repeat]]), np.concatenate([y, y[repeat]])
    assert np.linalg.matrix_rank(A_dup @ A_dup.T) < A_dup.shape[0]
    np.testing.assert_allclose(min_norm_solution(A_dup, y_dup), np.linalg.pinv(A) @ y, atol=1e-8)


# ------------------------------------------------------------------------------------------------
# weighted_min_norm and the aliased example
# ------------------------------------------------------------------------------------------------


@given(c=alias_cs)
def test_weighted_min_norm_alias_example(c):
    beta = weighted_min_norm(np.array([[1.0, 1.0]]), c, np.array([1.0]))
    np.testing.assert_allclose(beta, c / (c @ c), rtol=1e-10)


def test_weighted_min_norm_alias_one_weight_zero():
    np.testing.assert_allclose(weighted_min_norm(np.array([[1.0, 1.0]]), np.array([0.0, 2.0]),
                                                 np.array([1.0])), [0.0, 0.5], atol=1e-12)


@given(seed=seeds, n=st.integers(1, 6), extra=st.integers(0, 6))
def test_weighted_min_norm_interpolates(seed, n, extra):
    """Φ diag(c) β̂ = y, β̂ is the min-norm point of that design (pinv oracle); returns β̂, not c ⊙ β̂."""
    rng = np.random.default_rng(seed)
    Phi = well_posed(rng, n, n + extra)
    c = rng.uniform(0.5, 2.0, n + extra) * rng.choice([-1.0, 1.0], n + extra)
    y = rng.standard_normal(n)
    beta = weighted_min_norm(Phi, c, y)
    np.testing.assert_allclose(Phi @ (c * beta), y, atol=1e-8)
    np.testing.assert_allclose(beta, np.linalg.pinv(Phi * c[None, :]) @ y, atol=1e-8)


# ------------------------------------------------------------------------------------------------
# alias_test_error and alias_c_gradient
# ------------------------------------------------------------------------------------------------


def brute_force_alias_error(c):
    """½ E_x[(ŷ(x) − y(x))²] with x ~ Uniform[-1, 1) evaluated on real features.

    Features φ₀ = √2 sin(πx), φ₁ = √2 cos(πx) (orthonormal under the test distribution) coincide
    (= 1) at the training point x = 1/4; the truth is y = φ₀ (coefficients (1, 0)), so y(1/4) = 1.
    The expectation of a trigonometric polynomial is exact on a uniform periodic grid.
    """
    feats = lambda x: np.stack([np.sqrt(2) * np.sin(np.pi * x), np.sqrt(2) * np.cos(np.pi * x)], -1)
    Phi_train = feats(np.array([0.25]))
    np.testing.assert_allclose(Phi_train, [[1.0, 1.0]], atol=1e-12)
    beta = weighted_min_norm(Phi_train, c, np.array([1.0]))
    x = np.linspace(-1, 1, 64, endpoint=False)
    prediction = feats(x) @ (c * beta)
    return 0.5 * np.mean((prediction - feats(x)[:, 0]) ** 2)


@given(c=alias_cs)
def test_alias_test_error(c):
    s = c @ c
    value = alias_test_error(c)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, c[1] ** 4 / s**2, rtol=1e-10)
    np.testing.assert_allclose(value, brute_force_alias_error(c), rtol=1e-9, atol=1e-14)
    beta = weighted_min_norm(np.array([[1.0, 1.0]]), c, np.array([1.0]))
    np.testing.assert_allclose(value, 0.5 * np.sum((c * beta - [1.0, 0.0]) ** 2), rtol=1e-9, atol=1e-14)


def torch_alias_loss(c):
    """The loss written in torch through the weighted min-norm solve β̂ = Aᵀ(AAᵀ)⁻¹y."""
    A = c.reshape(1, 2)
    beta = (A.T @ torch.linalg.solve(A @ A.T, torch.ones(1, 1, dtype=DT))).reshape(2)
    return 0.5 * ((c * beta - torch.tensor([1.0, 0.0], dtype=DT)) ** 2).sum()


@given(c=alias_cs)
def test_alias_c_gradient(c):
    grad = alias_c_gradient(c)
    assert grad.shape == (2,)
    scale = np.linalg.norm(c)  # the gradient scales like 1/‖c‖
    # Central finite differences of the loss.
    np.testing.assert_allclose(grad * scale, central_difference(alias_test_error, c) * scale, atol=1e-7)
    # Autograd of the loss written through the solve.
    ct = torch.tensor(c, requires_grad=True)
    (auto,) = torch.autograd.grad(torch_alias_loss(ct), ct)
    np.testing.assert_allclose(grad * scale, auto.numpy() * scale, atol=1e-10)
    # L is homogeneous of degree 0, so c · ∇L = 0 (Euler).
    assert abs(c @ grad) < 1e-12 * (1 + np.abs(grad).max() * scale)
    # It is not the classic wrong gradient with β̂ held fixed.
    s = c @ c
    wrong = np.array([-c[0] * c[1] ** 2 / s**2, c[1] ** 3 / s**2])
    assert np.linalg.norm(grad - wrong) > 0.1 * np.linalg.norm(wrong)


@given(c0=nonzero)
def test_alias_c_gradient_zero_on_axis(c0):
    np.testing.assert_allclose(alias_c_gradient(np.array([c0, 0.0])), [0.0, 0.0], atol=1e-15)
    assert alias_test_error(np.array([c0, 0.0])) == pytest.approx(0.0, abs=1e-15)


# ------------------------------------------------------------------------------------------------
# gradient_descent_c
# ------------------------------------------------------------------------------------------------


def gradient_oracle(c):
    s = c @ c
    return np.array([-4 * c[0] * c[1] ** 4 / s**3, 4 * c[0] ** 2 * c[1] ** 3 / s**3])


@given(c=alias_cs, eta=st.floats(1e-3, 0.5), steps=st.integers(0, 30))
def test_gradient_descent_c_steps(c, eta, steps):
    trajectory = gradient_descent_c(c, eta, steps)
    assert trajectory.shape == (steps + 1, 2)
    np.testing.assert_array_equal(trajectory[0], c)
    for t in range(steps):
        np.testing.assert_allclose(trajectory[t + 1], trajectory[t] - eta * gradient_oracle(trajectory[t]),
                                   rtol=1e-12, atol=1e-14)
        # c · ∇L = 0, so each step grows ‖c‖² by exactly η²‖∇L‖².
        growth = trajectory[t + 1] @ trajectory[t + 1] - trajectory[t] @ trajectory[t]
        g = gradient_oracle(trajectory[t])
        np.testing.assert_allclose(growth, eta**2 * (g @ g), rtol=1e-6, atol=1e-13)


def test_gradient_descent_c_uses_alias_c_gradient(monkeypatch):
    """The trajectory is built from the module-global alias_c_gradient (graders substitute it)."""
    monkeypatch.setattr(ml, "alias_c_gradient", lambda c: np.array([1.0, -2.0]))
    trajectory = ml.gradient_descent_c(np.array([0.5, 0.5]), 0.1, 3)
    np.testing.assert_allclose(trajectory, [[0.5, 0.5], [0.4, 0.7], [0.3, 0.9], [0.2, 1.1]], atol=1e-12)


@settings(max_examples=20)
@given(c=alias_cs, eta=st.floats(1e-4, 1e-3))
def test_gradient_descent_c_norm_drift_is_second_order(c, eta):
    """With T fixed (ηT ≪ ‖c‖²), halving η quarters the norm drift ‖c_T‖ − ‖c_0‖ = O(η²)."""
    eta = eta * (c @ c)  # the flow's time scale is ‖c‖²
    steps = 20
    drift = lambda step: np.linalg.norm(gradient_descent_c(c, step, steps)[-1]) - np.linalg.norm(c)
    big, small = drift(eta), drift(eta / 2)
    assert big >= 0 and small >= 0
    assert big < 0.05 * np.linalg.norm(c)
    if big > 1e-10 * np.linalg.norm(c):
        assert 3.6 < big / small < 4.4


@pytest.mark.parametrize("angle, radius, signs", [
    (0.3, 1.0, (1, 1)), (1.0, 0.5, (-1, 1)), (1.45, 2.0, (1, -1)), (0.8, 1.5, (-1, -1))])
def test_gradient_descent_c_direction_limit(angle, radius, signs):
    """As η → 0 with ηT fixed (large), c_T/‖c_T‖ → (sign c₀, 0) and ‖c_T‖ → ‖c_0‖.

    Near the axis the flow is slow (L = sin⁴θ, θ(t) ≈ ‖c‖/√(8t)), so at time ηT = 200‖c‖² the angle
    is ≈ 0.025; for fixed ηT the norm drift is O(η), so it halves with η.
    """
    c = radius * np.array([signs[0] * np.cos(angle), signs[1] * np.sin(angle)])
    errors, drifts = [], []
    for eta in (0.04, 0.02, 0.01):
        end = gradient_descent_c(c, eta * radius**2, int(round(200 / eta)))[-1]
        errors.append(np.linalg.norm(end / np.linalg.norm(end) - [np.sign(c[0]), 0.0]))
        drifts.append(np.linalg.norm(end) / radius - 1)
    assert max(errors) < 0.03
    assert all(drift > 0 for drift in drifts)
    assert 1.8 < drifts[0] / drifts[1] < 2.2 and 1.8 < drifts[1] / drifts[2] < 2.2
    assert drifts[2] < 0.01


# ------------------------------------------------------------------------------------------------
# fourier_features
# ------------------------------------------------------------------------------------------------


odd_d = st.integers(0, 20).map(lambda k: 2 * k + 1)


@given(d=odd_d, extra=st.integers(0, 30))
def test_fourier_features_orthonormal_on_grid(d, extra):
    n = d + extra
    Phi = fourier_features(np.linspace(-1, 1, n, endpoint=False), d)
    assert Phi.shape == (n, d)
    np.testing.assert_allclose(Phi.T @ Phi / n, np.eye(d), atol=1e-10)


@given(d=odd_d, seed=seeds, n=st.integers(1, 20))
def test_fourier_features_columns(d, seed, n):
    x = np.random.default_rng(seed).uniform(-3, 3, n)
    Phi = fourier_features(x, d)
    expected = np.empty((n, d))
    for i in range(n):
        for k in range(d):
            f = (k + 1) // 2
            if k == 0:
                expected[i, k] = 1.0
            elif k % 2 == 1:
                expected[i, k] = np.sqrt(2) * np.sin(f * np.pi * x[i])
            else:
                expected[i, k] = np.sqrt(2) * np.cos(f * np.pi * x[i])
    np.testing.assert_allclose(Phi, expected, atol=1e-12)


@pytest.mark.parametrize("d", [0, 2, 4, 10, 500])
def test_fourier_features_even_d_raises(d):
    with pytest.raises(ValueError):
        fourier_features(np.zeros(3), d)


@pytest.mark.parametrize("d", [1, 3, 9, 41])
def test_fourier_features_orthonormal_continuous(d):
    """E_{x~U[-1,1)}[φ_k φ_l] = δ_kl by Gauss–Legendre quadrature (exact far beyond these frequencies)."""
    nodes, weights = np.polynomial.legendre.leggauss(200)
    Phi = fourier_features(nodes, d)
    np.testing.assert_allclose(Phi.T @ (weights[:, None] * Phi) / 2, np.eye(d), atol=1e-12)


# ------------------------------------------------------------------------------------------------
# closed_form_coefficients and meta_loss_closed_form
# ------------------------------------------------------------------------------------------------


def regression_task(seed, n, d):
    rng = np.random.default_rng(seed)
    Phi = well_posed(rng, n, d, max_cond=100)
    c = rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d)
    y = rng.standard_normal(n)
    return rng, Phi, c, y


shapes = st.integers(1, 6).flatmap(lambda n: st.tuples(st.just(n), st.integers(n, n + 6)))


@given(seed=seeds, shape=shapes)
def test_closed_form_coefficients_value(seed, shape):
    n, d = shape
    _, Phi, c, y = regression_task(seed, n, d)
    w = closed_form_coefficients(torch.tensor(c), torch.tensor(Phi), torch.tensor(y))
    assert w.shape == (d,) and w.dtype == DT
    expected = c * (np.linalg.pinv(Phi * c[None, :]) @ y)
    np.testing.assert_allclose(w.numpy(), expected, atol=1e-9)
    np.testing.assert_allclose(w.numpy(), c * weighted_min_norm(Phi, c, y), atol=1e-9)


@given(seed=seeds, d=st.integers(1, 5), extra=st.integers(0, 5))
def test_closed_form_coefficients_square_and_overdetermined(seed, d, extra):
    """n ≥ d: the unique least-squares fit of the unweighted features (the weights cancel out)."""
    _, Phi, c, y = regression_task(seed, d + extra, d)
    w = closed_form_coefficients(torch.tensor(c), torch.tensor(Phi), torch.tensor(y))
    np.testing.assert_allclose(w.numpy(), np.linalg.lstsq(Phi, y, rcond=None)[0], atol=1e-9)


@settings(max_examples=15)
@given(seed=seeds, shape=shapes, tasks=st.integers(1, 4))
def test_closed_form_coefficients_batch(seed, shape, tasks):
    n, d = shape
    rng, _, c, _ = regression_task(seed, n, d)
    Phi = torch.tensor(np.stack([well_posed(rng, n, d, 100) for _ in range(tasks)]))
    y = torch.tensor(rng.standard_normal((tasks, n)))
    c = torch.tensor(c)
    batched = closed_form_coefficients(c, Phi, y)
    assert batched.shape == (tasks, d)
    looped = torch.stack([closed_form_coefficients(c, Phi[t], y[t]) for t in range(tasks)])
    torch.testing.assert_close(batched, looped, atol=1e-10, rtol=1e-10)


@settings(max_examples=30)
@given(seed=seeds, shape=shapes)
def test_closed_form_coefficients_gradient(seed, shape):
    n, d = shape
    rng, Phi, c, y = regression_task(seed, n, d)
    u = torch.tensor(rng.standard_normal(d))
    Phi, y = torch.tensor(Phi), torch.tensor(y)

    def scalar(cw):
        w = closed_form_coefficients(cw, Phi, y)
        return (u * w).sum() + (w**2).sum()

    ct = torch.tensor(c, requires_grad=True)
    (grad,) = torch.autograd.grad(scalar(ct), ct)
    assert_matches_finite_differences(grad, scalar, ct)


def meta_problem(seed, n, d, m):
    rng, Phi, c, y = regression_task(seed, n, d)
    Phi_meta, y_meta = rng.standard_normal((m, d)), rng.standard_normal(m)
    return c, Phi, y, Phi_meta, y_meta


@settings(max_examples=30)
@given(seed=seeds, shape=shapes, m=st.integers(1, 6))
def test_meta_loss_closed_form(seed, shape, m):
    n, d = shape
    c, Phi, y, Phi_meta, y_meta = meta_problem(seed, n, d, m)
    w = c * (np.linalg.pinv(Phi * c[None, :]) @ y)
    expected = sum((Phi_meta[j] @ w - y_meta[j]) ** 2 for j in range(m))
    args = [torch.tensor(a) for a in (Phi, y, Phi_meta, y_meta)]
    ct = torch.tensor(c, requires_grad=True)
    loss = meta_loss_closed_form(ct, *args)
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-8, atol=1e-10)
    (grad,) = torch.autograd.grad(loss, ct)
    assert_matches_finite_differences(grad, lambda cw: meta_loss_closed_form(cw, *args), ct)


def test_meta_loss_uses_closed_form_coefficients(monkeypatch):
    """The meta loss is built from the module-global closed_form_coefficients (graders substitute it)."""
    monkeypatch.setattr(ml, "closed_form_coefficients", lambda c, Phi, y: torch.tensor([1.0, 2.0], dtype=DT))
    eye, zeros = torch.eye(2, dtype=DT), torch.zeros(2, dtype=DT)
    loss = ml.meta_loss_closed_form(torch.ones(2, dtype=DT), eye, zeros, eye, zeros)
    assert loss.item() == pytest.approx(5.0)


# ------------------------------------------------------------------------------------------------
# inner_gd_coefficients
# ------------------------------------------------------------------------------------------------


def safe_lr(Phi, c):
    """1/λ_max of the Hessian (2/n) AᵀA: the largest step with monotone descent."""
    return Phi.shape[0] / (2 * np.linalg.norm(Phi * c[None, :], 2) ** 2)


@given(seed=seeds, shape=shapes, lr=st.floats(1e-3, 1.0))
def test_inner_gd_zero_and_one_step(seed, shape, lr):
    n, d = shape
    _, Phi, c, y = regression_task(seed, n, d)
    ct, Pt, yt = torch.tensor(c), torch.tensor(Phi), torch.tensor(y)
    zero = inner_gd_coefficients(ct, Pt, yt, 0, lr)
    assert zero.shape == (d,) and zero.dtype == DT
    np.testing.assert_array_equal(zero.numpy(), np.zeros(d))
    one = inner_gd_coefficients(ct, Pt, yt, 1, lr)
    np.testing.assert_allclose(one.numpy(), lr * (2 / n) * c**2 * (Phi.T @ y), rtol=1e-12, atol=1e-14)


@settings(max_examples=20)
@given(seed=seeds, shape=shapes)
def test_inner_gd_monotone_and_converges_to_min_norm(seed, shape):
    n, d = shape
    _, Phi, c, y = regression_task(seed, n, d)
    ct, Pt, yt = torch.tensor(c), torch.tensor(Phi), torch.tensor(y)
    lr = safe_lr(Phi, c)
    mse = [np.mean((Phi @ inner_gd_coefficients(ct, Pt, yt, k, lr).numpy() - y) ** 2) for k in range(25)]
    assert all(b <= a + 1e-14 * mse[0] for a, b in zip(mse, mse[1:]))
    assert mse[-1] < mse[0]
    # From β₀ = 0 the iterates stay in the row space: the limit is the weighted min-norm fit.
    # The error contracts by 1 − lr·2σ_min²/n per step.
    smin = np.linalg.svd(Phi * c[None, :], compute_uv=False).min()
    rate = max(1 - lr * 2 * smin**2 / n, 1e-3)
    steps = int(np.ceil(np.log(1e-12) / np.log(rate)))
    limit = inner_gd_coefficients(ct, Pt, yt, steps, lr).numpy()
    np.testing.assert_allclose(limit, c * (np.linalg.pinv(Phi * c[None, :]) @ y), atol=1e-7)


def inner_gd_detached(c, Phi, y, num_steps, lr):
    """First-order variant: every inner gradient is detached from c (the oracle for 'not second order')."""
    A = Phi * c
    beta = torch.zeros(Phi.shape[1], dtype=DT)
    for _ in range(num_steps):
        beta = beta - lr * (2 / Phi.shape[0]) * (A.T @ (A @ beta - y)).detach()
    return c * beta


@settings(max_examples=30)
@given(seed=seeds, shape=shapes, m=st.integers(1, 6), steps=st.integers(1, 5))
def test_inner_gd_meta_gradient_second_order(seed, shape, m, steps):
    n, d = shape
    c, Phi, y, Phi_meta, y_meta = meta_problem(seed, n, d, m)
    lr = safe_lr(Phi, c)
    Pt, yt, Pm, ym = (torch.tensor(a) for a in (Phi, y, Phi_meta, y_meta))

    def meta_loss(cw, inner=inner_gd_coefficients):
        return ((Pm @ inner(cw, Pt, yt, steps, lr) - ym) ** 2).sum()

    ct = torch.tensor(c, requires_grad=True)
    (grad,) = torch.autograd.grad(meta_loss(ct), ct)
    assert_matches_finite_differences(grad, meta_loss, ct)
    (first_order,) = torch.autograd.grad(meta_loss(ct, inner_gd_detached), ct)
    assert torch.linalg.norm(grad - first_order) > 1e-3 * torch.linalg.norm(grad)


@settings(max_examples=15)
@given(seed=seeds, shape=shapes, tasks=st.integers(1, 4), steps=st.integers(0, 4))
def test_inner_gd_batch(seed, shape, tasks, steps):
    n, d = shape
    rng = np.random.default_rng(seed)
    c = torch.tensor(rng.uniform(0.5, 2.0, d))
    Phi = torch.tensor(rng.standard_normal((tasks, n, d)))
    y = torch.tensor(rng.standard_normal((tasks, n)))
    batched = inner_gd_coefficients(c, Phi, y, steps, 0.05)
    assert batched.shape == (tasks, d)
    looped = torch.stack([inner_gd_coefficients(c, Phi[t], y[t], steps, 0.05) for t in range(tasks)])
    torch.testing.assert_close(batched, looped, atol=1e-12, rtol=1e-12)


def test_torch_functions_vmap_over_tasks():
    """The experiments map the one-task functions with torch.func.vmap: same result as a loop."""
    rng = np.random.default_rng(7)
    c = torch.tensor(rng.uniform(0.5, 2.0, 9), requires_grad=True)
    Phi = torch.tensor(fourier_features(np.linspace(-1, 1, 5, endpoint=False), 9))
    y, Phi_meta = torch.tensor(rng.standard_normal((3, 5))), torch.tensor(rng.standard_normal((3, 4, 9)))
    y_meta = torch.tensor(rng.standard_normal((3, 4)))
    mapped = [
        torch.func.vmap(closed_form_coefficients, (None, None, 0))(c, Phi, y),
        torch.func.vmap(inner_gd_coefficients, (None, None, 0, None, None))(c, Phi, y, 3, 0.1),
        torch.func.vmap(meta_loss_closed_form, (None, None, 0, 0, 0))(c, Phi, y, Phi_meta, y_meta),
    ]
    looped = [
        torch.stack([closed_form_coefficients(c, Phi, y[t]) for t in range(3)]),
        torch.stack([inner_gd_coefficients(c, Phi, y[t], 3, 0.1) for t in range(3)]),
        torch.stack([meta_loss_closed_form(c, Phi, y[t], Phi_meta[t], y_meta[t]) for t in range(3)]),
    ]
    for a, b in zip(mapped, looped):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-12)
        torch.testing.assert_close(torch.autograd.grad(a.sum(), c)[0], torch.autograd.grad(b.sum(), c)[0],
                                   atol=1e-10, rtol=1e-10)


# ------------------------------------------------------------------------------------------------
# logistic_loss and classification_error
# ------------------------------------------------------------------------------------------------


labels_st = lambda n: st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)
moderate = st.floats(-30, 30)
huge = st.builds(lambda m, s: m * s, st.floats(1e3, 1e8), st.sampled_from([-1.0, 1.0]))


@given(data=st.data(), n=st.integers(1, 20))
def test_logistic_loss_moderate(data, n):
    s = np.array(data.draw(st.lists(moderate, min_size=n, max_size=n)))
    y = np.array(data.draw(labels_st(n)))
    loss = logistic_loss(torch.tensor(s), torch.tensor(y))
    assert loss.shape == ()
    np.testing.assert_allclose(loss.item(), np.mean(np.log(1 + np.exp(-y * s))), rtol=1e-9, atol=1e-12)
    mirrored = logistic_loss(torch.tensor(-s), torch.tensor(-y))
    np.testing.assert_allclose(mirrored.item(), loss.item(), rtol=1e-12)


@given(data=st.data(), n=st.integers(1, 20))
def test_logistic_loss_large_scores(data, n):
    s = np.array(data.draw(st.lists(huge | moderate, min_size=n, max_size=n)))
    y = np.array(data.draw(labels_st(n)))
    st_ = torch.tensor(s, requires_grad=True)
    loss = logistic_loss(st_, torch.tensor(y))
    assert torch.isfinite(loss)
    np.testing.assert_allclose(loss.item(), np.mean(np.logaddexp(0.0, -y * s)), rtol=1e-9, atol=1e-12)
    (grad,) = torch.autograd.grad(loss, st_)
    assert torch.isfinite(grad).all()
    z = -y * s  # d/ds softplus(−ys)/n = −y σ(−ys)/n, σ(z) = ½(1 + tanh(z/2)) is stable
    np.testing.assert_allclose(grad.numpy(), -y * 0.5 * (1 + np.tanh(z / 2)) / n, atol=1e-9)


def test_logistic_loss_extremes():
    plus = torch.tensor([1.0], dtype=DT)
    assert logistic_loss(torch.tensor([1000.0], dtype=DT), plus).item() == pytest.approx(0.0, abs=1e-300)
    assert logistic_loss(torch.tensor([-1000.0], dtype=DT), plus).item() == pytest.approx(1000.0, rel=1e-12)
    assert logistic_loss(torch.tensor([0.0], dtype=DT), plus).item() == pytest.approx(np.log(2), rel=1e-12)


@given(data=st.data(), n=st.integers(1, 30))
def test_classification_error(data, n):
    s = data.draw(st.lists(st.sampled_from([0.0, -0.0]) | st.floats(-5, 5), min_size=n, max_size=n))
    y = data.draw(labels_st(n))
    wrong = 0
    for score, label in zip(s, y):
        predicted = 1.0 if score >= 0 else -1.0
        wrong += predicted != label
    value = classification_error(torch.tensor(s, dtype=DT), torch.tensor(y, dtype=DT))
    assert isinstance(value, float)
    assert value == pytest.approx(wrong / n, abs=1e-15)


def test_classification_error_sign_of_zero():
    scores = torch.tensor([0.0, 0.0, -1.0, 2.0], dtype=DT)
    assert classification_error(scores, torch.tensor([1.0, 1.0, -1.0, -1.0], dtype=DT)) == pytest.approx(0.25)
    assert classification_error(scores, torch.tensor([-1.0, -1.0, -1.0, 1.0], dtype=DT)) == pytest.approx(0.5)
