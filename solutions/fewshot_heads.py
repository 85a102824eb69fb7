"""Reference solutions for the ``fewshot-heads`` homework: the lecture's alternatives to MAML.

Setting. A feature extractor (the body) maps inputs to features Z ∈ ℝ^{n×p}; a linear head maps
features to c class scores. Labels are class indices in [0, c); Y = one_hot(labels) ∈ ℝ^{n×c}.
An N-way K-shot episode has n = N·K support points and m query points.

- Closed-form heads (R2D2): ridge regression onto Y is a convex problem with a closed form, so
  the head is a differentiable function of the support features and the body is meta-trained
  through it. With n ≪ p the n×n (Woodbury) form is the cheap one.
- The SVM head (MetaOptNet): the multi-class (Crammer–Singer) SVM dual is a QP, solved by a
  differentiable solver (``solutions/differentiable_qp.py``, given).
- ANIL: MAML's inner loop on the head only, the body fixed.
- Multi-task heads: one head per task on a shared body, trained on the union of tasks; MAML with
  zero inner steps.

Build note: each API function's body is copied into the student notebook, where only ``torch``,
``F`` (``torch.nn.functional``) and the other API functions are in scope.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from solutions.differentiable_qp import svm_head

__all__ = [
    "ridge_head",
    "r2d2_logits",
    "crammer_singer_qp",
    "anil_outer_gradient",
    "multitask_heads_loss",
]
# Given, not graded: the notebook imports svm_head from the shipped differentiable_qp.py, so a
# notebook-like namespace made from this module (a fixture's, the public tests') has it too.
GIVEN = (svm_head,)


def ridge_head(Z: torch.Tensor, Y: torch.Tensor, lam) -> torch.Tensor:
    """W = argmin_W ‖ZW − Y‖²_F + λ‖W‖²_F = Zᵀ(ZZᵀ + λI_n)⁻¹Y  (= (ZᵀZ + λI_p)⁻¹ZᵀY).

    The n×n form: O(n²p + n³) time and an n×n system, never p×p. Differentiable with respect
    to Z, Y and λ. As λ → 0 with n < p (Z of full row rank) it tends to Zᵀ(ZZᵀ)⁻¹Y = Z⁺Y, the
    minimum-norm interpolator.
    """
    n = Z.shape[0]
    gram = Z @ Z.T + lam * torch.eye(n, dtype=Z.dtype, device=Z.device)
    return Z.T @ torch.linalg.solve(gram, Y)


def r2d2_logits(Z_support: torch.Tensor, labels: torch.Tensor, Z_query: torch.Tensor, num_classes: int,
                lam, scale, bias) -> torch.Tensor:
    """scale · Z_query · W + bias with W = ridge_head(Z_support, one_hot(labels), λ): R2D2's
    query scores (m×c). The solve stays in the graph, so the gradient reaches Z_support, Z_query,
    λ, scale and bias."""
    Y = F.one_hot(labels, num_classes).to(Z_support.dtype)
    return scale * (Z_query @ ridge_head(Z_support, Y, lam)) + bias


def crammer_singer_qp(Z: torch.Tensor, labels: torch.Tensor, num_classes: int, C: float, eps: float):
    """The Crammer–Singer multi-class SVM dual as a QP  min ½xᵀQx + qᵀx s.t. Gx ≤ h, Ax = b.

    Dual: max_α −½ Σ_k ‖Σ_i α_{i,k} z_i‖² + Σ_i α_{i,y_i}  s.t.  α_{i,k} ≤ C·Y_{i,k},
    Σ_k α_{i,k} = 0 for every support point i; the head is W = Zᵀα. With x = vec(α) row-major
    (x_{i·c+k} = α_{i,k}): Q = (ZZᵀ) ⊗ I_c + εI, q = −vec(Y), G = I, h = C·vec(Y),
    A = I_n ⊗ 1_cᵀ, b = 0. Returns (Q, q, G, h, A, b) in Z's dtype.
    """
    n, c = Z.shape[0], num_classes
    y = F.one_hot(labels, c).to(Z.dtype).reshape(-1)
    eye_c = torch.eye(c, dtype=Z.dtype, device=Z.device)
    Q = torch.kron(Z @ Z.T, eye_c) + eps * torch.eye(n * c, dtype=Z.dtype, device=Z.device)
    A = torch.kron(torch.eye(n, dtype=Z.dtype, device=Z.device), torch.ones(1, c, dtype=Z.dtype, device=Z.device))
    return Q, -y, torch.eye(n * c, dtype=Z.dtype, device=Z.device), C * y, A, torch.zeros(n, dtype=Z.dtype, device=Z.device)


def anil_outer_gradient(body: torch.Tensor, head: torch.Tensor,
                        support_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                        query_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                        inner_lr: float, num_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """ANIL: head₀ = head, head_i = head_{i−1} − α ∇_head L_s(body, head_{i−1}) with the body
    fixed; returns (∂/∂body, ∂/∂head₀) of L_q(body, head_k).

    Second order through every head_i: each depends on head₀ and, through ∇_head L_s, on the
    body, so d/dbody = ∂_body L_q − α Σ_i (∂²L_s/∂body∂head)(head_i)ᵀ · (the head path's adjoint).
    num_steps = 0 gives the plain gradient. It equals ``maml_outer_gradient`` on θ = (body, head)
    with the inner rate 0 for the body's coordinates and α for the head's. Inputs are not
    modified; results are detached.
    """
    with torch.enable_grad():
        body0 = body.detach().clone().requires_grad_(True)
        head0 = head.detach().clone().requires_grad_(True)
        adapted = head0
        for _ in range(num_steps):
            (inner,) = torch.autograd.grad(support_loss(body0, adapted), adapted, create_graph=True)
            adapted = adapted - inner_lr * inner
        grads = torch.autograd.grad(query_loss(body0, adapted), (body0, head0), allow_unused=True)
    return tuple(torch.zeros_like(t) if g is None else g.detach() for g, t in zip(grads, (body0, head0)))


def multitask_heads_loss(body: torch.Tensor, heads: torch.Tensor,
                         task_losses: Sequence[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]) -> torch.Tensor:
    """(1/T) Σ_t L_t(body, heads[t]): the union of T tasks with one head each on a shared body.

    Its body gradient is the mean over tasks of the MAML outer gradient with zero inner steps.
    """
    return torch.stack([loss(body, heads[t]) for t, loss in enumerate(task_losses)]).mean()
