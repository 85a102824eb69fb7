"""Reference solutions for the meta-learning homework (feature weights for 1-D regression).

Setting: features φ_k orthonormal under x ~ Uniform[-1, 1); feature weights c scale the features
before min-norm regression, ŷ(x) = Σ_k β̂_k c_k φ_k(x) with β̂ = argmin ‖β‖₂ s.t. Φ diag(c) β = y.
numpy functions work in float64; torch functions stay differentiable w.r.t. the feature weights.
The torch functions take one task (Φ: [n, d], y: [n]) and also accept a leading batch of tasks
(Φ: [T, n, d], y: [T, n], shared c: [d]); they are written with broadcasting ops only, so they can
be mapped over tasks with ``torch.func.vmap`` as well.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "min_norm_solution",
    "weighted_min_norm",
    "alias_test_error",
    "alias_c_gradient",
    "gradient_descent_c",
    "fourier_features",
    "closed_form_coefficients",
    "meta_loss_closed_form",
    "inner_gd_coefficients",
    "logistic_loss",
    "classification_error",
]


# ------------------------------------------------------------------------------------------------
# Part (a)-(c): min-norm regression and the aliased two-feature example (numpy)
# ------------------------------------------------------------------------------------------------


def min_norm_solution(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """β̂ = argmin ‖β‖₂ s.t. Aβ = y, i.e. β̂ = A⁺y.

    For full row rank this is Aᵀ(AAᵀ)⁻¹y. It is computed with an SVD-based least-squares solve,
    which returns the pseudo-inverse solution A⁺y also when AAᵀ is singular (y ∈ range(A)).
    """
    A = np.asarray(A, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return np.linalg.lstsq(A, y, rcond=None)[0]


def weighted_min_norm(Phi: np.ndarray, c: np.ndarray, y: np.ndarray) -> np.ndarray:
    """β̂ = argmin ‖β‖₂ s.t. Φ diag(c) β = y, i.e. (Φ diag(c))⁺ y.

    Returns β̂ itself; the effective coefficients on the unweighted features are β̂ ⊙ c.
    """
    Phi = np.asarray(Phi, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    return min_norm_solution(Phi * c, y)


def alias_test_error(c: np.ndarray) -> float:
    """Expected test error of the aliased example with true coefficients (1, 0).

    With s = c₀² + c₁², β̂ = (c₀, c₁)/s and effective coefficients (c₀², c₁²)/s:
    L = ½[(1 − c₀²/s)² + (c₁²/s)²] = c₁⁴/s².
    """
    c0, c1 = np.asarray(c, dtype=np.float64)
    s = c0**2 + c1**2
    return float(0.5 * ((1 - c0**2 / s) ** 2 + (c1**2 / s) ** 2))


def alias_c_gradient(c: np.ndarray) -> np.ndarray:
    """∇_c L differentiating through β̂(c): (−4c₀c₁⁴/s³, 4c₀²c₁³/s³), s = c₀² + c₁²."""
    c0, c1 = np.asarray(c, dtype=np.float64)
    s = c0**2 + c1**2
    return np.array([-4 * c0 * c1**4 / s**3, 4 * c0**2 * c1**3 / s**3])


def gradient_descent_c(c_init: np.ndarray, step_size: float, num_steps: int) -> np.ndarray:
    """Trajectory of c_{t+1} = c_t − η ∇L(c_t) (∇L from ``alias_c_gradient``); row 0 = c_init.

    Returns an array of shape [num_steps + 1, 2].
    """
    trajectory = np.empty((num_steps + 1, 2))
    trajectory[0] = np.asarray(c_init, dtype=np.float64)
    for t in range(num_steps):
        trajectory[t + 1] = trajectory[t] - step_size * alias_c_gradient(trajectory[t])
    return trajectory


# ------------------------------------------------------------------------------------------------
# Features and meta-learning (torch)
# ------------------------------------------------------------------------------------------------


def fourier_features(x: np.ndarray, d: int) -> np.ndarray:
    """Φ[i] = [1, √2 sin(πx_i), √2 cos(πx_i), √2 sin(2πx_i), √2 cos(2πx_i), …] ∈ ℝ^d, d odd.

    Column 2f − 1 is √2 sin(fπx), column 2f is √2 cos(fπx), f = 1 … (d − 1)/2. These are
    orthonormal under x ~ Uniform[-1, 1). Raises ValueError for even d.
    """
    if d % 2 == 0 or d < 1:
        raise ValueError(f"d must be a positive odd integer, got {d}")
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    angles = np.pi * np.outer(x, np.arange(1, (d - 1) // 2 + 1))
    Phi = np.empty((x.size, d))
    Phi[:, 0] = 1.0
    Phi[:, 1::2] = np.sqrt(2) * np.sin(angles)
    Phi[:, 2::2] = np.sqrt(2) * np.cos(angles)
    return Phi


def closed_form_coefficients(feature_weights: torch.Tensor, Phi: torch.Tensor,
                             y: torch.Tensor) -> torch.Tensor:
    """Effective coefficients c ⊙ β̂ of weighted min-norm regression, differentiable in c.

    A = Φ diag(c). For n ≤ d: β̂ = Aᵀ(AAᵀ)⁻¹y (min-norm interpolant, A of full row rank);
    for n > d: β̂ = (AᵀA)⁻¹Aᵀy (least squares, A of full column rank). Both are computed with
    ``torch.linalg.solve``, which autograd differentiates stably. Phi: [..., n, d], y: [..., n],
    feature_weights: [d] → [..., d].
    """
    c = feature_weights
    A = Phi * c
    n, d = A.shape[-2:]
    if n <= d:
        z = torch.linalg.solve(A @ A.mT, y.unsqueeze(-1))
        beta = (A.mT @ z).squeeze(-1)
    else:
        beta = torch.linalg.solve(A.mT @ A, A.mT @ y.unsqueeze(-1)).squeeze(-1)
    return c * beta


def meta_loss_closed_form(feature_weights: torch.Tensor, Phi_train: torch.Tensor,
                          y_train: torch.Tensor, Phi_meta: torch.Tensor,
                          y_meta: torch.Tensor) -> torch.Tensor:
    """Σ_j (φ(x_j^meta)ᵀ w − y_j^meta)² with w = closed_form_coefficients(c, Φ_train, y_train).

    With a leading batch of tasks the sum runs over all tasks' meta points.
    """
    w = closed_form_coefficients(feature_weights, Phi_train, y_train)
    residual = (Phi_meta @ w.unsqueeze(-1)).squeeze(-1) - y_meta
    return (residual**2).sum()


def inner_gd_coefficients(feature_weights: torch.Tensor, Phi: torch.Tensor, y: torch.Tensor,
                          num_steps: int, lr: float) -> torch.Tensor:
    """Effective coefficients c ⊙ β_k after k = num_steps gradient steps on the training MSE.

    L(β) = (1/n)‖Φ diag(c) β − y‖², β₀ = 0, β_{t+1} = β_t − lr·(2/n) diag(c) Φᵀ(Φ diag(c) β_t − y).
    The gradient is written in closed form as a differentiable function of c, so the graph of
    all steps is kept and the meta-gradient w.r.t. c is second order. num_steps = 0 gives zeros
    (c ⊙ 0, still attached to c). Phi: [..., n, d], y: [..., n], feature_weights: [d] → [..., d].
    """
    c = feature_weights
    A = Phi * c
    n = A.shape[-2]
    beta = torch.zeros(A.shape[:-2] + A.shape[-1:], dtype=A.dtype, device=A.device)
    for _ in range(num_steps):
        residual = (A @ beta.unsqueeze(-1)).squeeze(-1) - y
        beta = beta - lr * (2.0 / n) * (A.mT @ residual.unsqueeze(-1)).squeeze(-1)
    return c * beta


def logistic_loss(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """mean_i log(1 + exp(−y_i s_i)) = mean_i softplus(−y_i s_i), labels y_i ∈ {−1, +1}.

    softplus is evaluated stably (≈ max(z, 0) + log1p(exp(−|z|))), so |score| ≥ 1000 is fine.
    """
    return F.softplus(-labels * scores).mean()


def classification_error(scores, labels) -> float:
    """Fraction of points with sign(score) ≠ label, where sign(0) = +1 (labels in {−1, +1})."""
    scores = torch.as_tensor(scores).detach()
    labels = torch.as_tensor(labels).detach()
    predictions = torch.where(scores >= 0, 1.0, -1.0).to(torch.float64)
    return float((predictions != labels.to(torch.float64)).to(torch.float64).mean())
