"""A differentiable quadratic-program solver, and the SVM head of MetaOptNet built on it (given
code of the ``fewshot-heads`` assignment: students receive this module as it is).

    x*(Q, q, G, h, A, b) = argmin_x ½xᵀQx + qᵀx   s.t.  Gx ≤ h,  Ax = b,     Q ≻ 0.

Forward: a primal–dual interior-point method (Mehrotra's predictor–corrector) in float64, with
no autograd graph. Backward: implicit differentiation of the KKT conditions. At the solution, with
the active inequalities 𝒜 = {j : z_j > s_j} (dual above slack) held as equalities, x* solves

    [ Q    Aᵀ   G_𝒜ᵀ ] [x ]   [−q ]
    [ A    0    0    ] [ν ] = [ b ]
    [ G_𝒜  0    0    ] [λ ]   [h_𝒜]

a linear system whose solution is differentiable in every entry; differentiating it with
autograd gives exactly the implicit-function gradient wherever the active set is locally constant
(strict complementarity), as OptNet's backward does. The value returned is the interior point's. The dual block gets −δI (δ = 1e-12 times
the scale of Q): the matrix is then quasi-definite, hence invertible even when active constraints
are linearly dependent, at an O(δ) change of x*.
"""

from __future__ import annotations

import torch

TOLERANCE = 1e-11
MAX_ITERATIONS = 200
DUAL_REGULARISATION = 1e-12


def _newton_direction(H, A, G, s, z, r_dual, r_eq, r_ineq, r_comp):
    """One Newton step of the interior-point KKT system, the slacks eliminated:
    (H + Gᵀ diag(z/s) G) dx + Aᵀ dy = −r_dual − Gᵀ (r_comp + z∘r_ineq)/s,  A dx = −r_eq,
    ds = −r_ineq − G dx,  dz = (r_comp − z∘ds)/s   (r_comp = σμ − s∘z, the complementarity target)."""
    n, p = H.shape[0], A.shape[0]
    reduced = H + G.T @ ((z / s)[:, None] * G)
    kkt = torch.zeros(n + p, n + p, dtype=H.dtype)
    kkt[:n, :n], kkt[:n, n:], kkt[n:, :n] = reduced, A.T, A
    rhs = torch.cat([-r_dual - G.T @ ((r_comp + z * r_ineq) / s), -r_eq])
    try:
        step = torch.linalg.solve(kkt, rhs)
    except torch.linalg.LinAlgError:  # near the end with dependent active constraints: least squares
        step = torch.linalg.lstsq(kkt, rhs[:, None]).solution[:, 0]
    dx, dy = step[:n], step[n:]
    ds = -r_ineq - G @ dx
    dz = (r_comp - z * ds) / s
    return dx, dy, ds, dz


def _step_length(v, dv) -> float:
    """The largest t ≤ 1 keeping v + t·dv > 0, backed off to 99 % of the boundary."""
    shrinking = dv < 0
    if not bool(shrinking.any()):
        return 1.0
    return min(1.0, 0.99 * float((-v[shrinking] / dv[shrinking]).min()))


def interior_point(Q, q, G, h, A, b):
    """(x, s, z, y) of the QP, solved in float64 without autograd: primal x, slacks s = h − Gx,
    inequality duals z ≥ 0 and equality duals y (Mehrotra predictor–corrector). The iterate with
    the smallest merit max(‖KKT residual‖∞, μ) is returned: near the end, rounding in the Newton
    systems of degenerate problems (an equality written as two inequalities) can make later
    iterates worse, so the search also stops once the merit is far above its best."""
    Q, q, G, h, A, b = (t.detach().to(torch.float64) for t in (Q, q, G, h, A, b))
    n, m = Q.shape[0], G.shape[0]
    x, y = torch.zeros(n, dtype=torch.float64), torch.zeros(A.shape[0], dtype=torch.float64)
    s, z = torch.ones(m, dtype=torch.float64), torch.ones(m, dtype=torch.float64)
    scale = 1.0 + float(torch.cat([q.abs(), h.abs(), b.abs(), torch.zeros(1, dtype=torch.float64)]).max())
    best, best_merit = (x, s, z, y), float("inf")
    for _ in range(MAX_ITERATIONS):
        r_dual = Q @ x + q + A.T @ y + G.T @ z
        r_eq, r_ineq = A @ x - b, G @ x + s - h
        mu = float(s @ z) / max(m, 1)
        merit = max(float(torch.cat([r_dual, r_eq, r_ineq]).abs().max()), mu) / scale
        if merit < best_merit:
            best, best_merit = (x, s, z, y), merit
        if merit < TOLERANCE or merit > 1e6 * best_merit:
            break
        affine = _newton_direction(Q, A, G, s, z, r_dual, r_eq, r_ineq, -s * z)
        t_aff = min(_step_length(s, affine[2]), _step_length(z, affine[3]))
        mu_aff = float((s + t_aff * affine[2]) @ (z + t_aff * affine[3])) / max(m, 1)
        sigma = (mu_aff / mu) ** 3 if mu > 0 else 0.0
        dx, dy, ds, dz = _newton_direction(Q, A, G, s, z, r_dual, r_eq, r_ineq,
                                           sigma * mu - s * z - affine[2] * affine[3])
        t = min(_step_length(s, ds), _step_length(z, dz))
        x, y, s, z = x + t * dx, y + t * dy, s + t * ds, z + t * dz
    return best


def implied_equalities(G: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(equality rows, remaining inequality rows) of Gx ≤ h: a pair g·x ≤ η, −c·g·x ≤ −c·η
    (c > 0) is the equality g·x = η, which has no interior an interior-point method can walk
    in; each such pair gives its first row as an equality and neither stays an inequality."""
    rows = G.detach().to(torch.float64)
    norms = rows.norm(dim=1).clamp(min=1e-300)
    unit = torch.cat([rows / norms[:, None], (h.detach().to(torch.float64) / norms)[:, None]], dim=1)
    opposite = (unit[:, None, :] + unit[None, :, :]).abs().amax(dim=2) < 1e-12
    equal, used = [], set()
    for j, k in opposite.nonzero().tolist():
        if j < k and j not in used and k not in used:
            equal.append(j)
            used.update((j, k))
    kept = [j for j in range(G.shape[0]) if j not in used]
    return torch.tensor(equal, dtype=torch.long), torch.tensor(kept, dtype=torch.long)


def presolve(G, h, A, b):
    """(G, h, A, b) with the equalities that pairs of inequalities state moved into (A, b)."""
    equal, kept = implied_equalities(G, h)
    return G[kept], h[kept], torch.cat([A, G[equal].to(A.dtype)]), torch.cat([b, h[equal].to(b.dtype)])


def solve_qp(Q, q, G, h, A, b) -> torch.Tensor:
    """x* = argmin ½xᵀQx + qᵀx s.t. Gx ≤ h, Ax = b (Q positive definite), differentiable with
    respect to Q, q, G, h, A and b by implicit differentiation of the KKT conditions (module
    docstring). Pairs of inequalities that state an equality become equalities first
    (:func:`implied_equalities`). Returned in Q's dtype.

    The value is the interior point's x (feasible to the solver's tolerance); the gradient is the
    KKT system's. Re-solving the KKT system for the value too is exact only where the active set
    is guessed right: on near-degenerate SVM duals it moved x by up to 4e-3 off the feasible set."""
    G, h, A, b = presolve(G, h, A.to(Q.dtype), b.to(Q.dtype))
    x, s, z, _ = interior_point(Q, q, G, h, A, b)
    active = z > s
    constraints = torch.cat([A, G[active].to(Q.dtype)])
    n, k = Q.shape[0], constraints.shape[0]
    delta = DUAL_REGULARISATION * (1.0 + float(Q.detach().abs().max()))
    kkt = torch.cat([torch.cat([Q, constraints.T], dim=1),
                     torch.cat([constraints, -delta * torch.eye(k, dtype=Q.dtype)], dim=1)])
    rhs = torch.cat([-q, b, h[active].to(Q.dtype)])
    implicit = torch.linalg.solve(kkt, rhs)[:n]
    return x.to(dtype=Q.dtype, device=Q.device) + (implicit - implicit.detach())


def svm_head(Z: torch.Tensor, labels: torch.Tensor, num_classes: int, C: float, eps: float,
             qp) -> torch.Tensor:
    """MetaOptNet's head: W = Zᵀα ∈ ℝ^{p×c}, α the solution of the Crammer–Singer SVM dual,
    which ``qp(Z, labels, num_classes, C, eps)`` (the notebook's ``crammer_singer_qp``) states
    in the solver's form (Q, q, G, h, A, b) with x = vec(α) row-major; differentiable with
    respect to Z. Query logits are Z_query · W."""
    alpha = solve_qp(*qp(Z, labels, num_classes, C, eps))
    return Z.T @ alpha.reshape(Z.shape[0], num_classes)
