"""Reference solutions for the MAML-vs-ES homework: the MAML outer gradient and what it costs.

Notation. θ ∈ ℝ^p is a flat parameter vector, L_s / L_q the support / query loss of one task
(closures θ ↦ scalar), α the inner learning rate, k the number of inner steps:

    θ₀ = θ,   θ_i = θ_{i−1} − α ∇L_s(θ_{i−1}),   H_i = ∇²L_s(θ_i).

MAML differentiates the query loss after adaptation through the whole inner loop,
d L_q(θ_k)/dθ = (I − αH₀)(I − αH₁)⋯(I − αH_{k−1}) ∇L_q(θ_k); reverse-mode autograd computes it
from Hessian-vector products only, but keeps the graph of all k inner steps alive, so its memory
grows linearly in k. Evolution strategies (ES) estimate the gradient of J(θ) = L_q(θ_k(θ)) from
function values only; each evaluation of J can discard its inner steps, so ES memory is flat in k.

Build note: each API function's body is copied into the student notebook, where only ``np``,
``torch``, ``nn``, ``time``, ``math``, the other API functions and the experiments module
``mx`` (``maml_es_experiments``) are in scope; the bodies use nothing else.
"""

from __future__ import annotations

import time
from typing import Callable

import torch
import torch.nn as nn

from solutions import maml_es_experiments as mx

__all__ = [
    "maml_outer_gradient",
    "fomaml_gradient",
    "reptile_update",
    "es_gradient",
    "make_mlp",
    "saved_tensor_bytes",
    "profile_meta_step",
]


# ------------------------------------------------------------------------------------------------
# Gradient-based meta-learning
# ------------------------------------------------------------------------------------------------


def maml_outer_gradient(theta: torch.Tensor, support_loss: Callable[[torch.Tensor], torch.Tensor],
                        query_loss: Callable[[torch.Tensor], torch.Tensor], inner_lr: float,
                        num_steps: int) -> torch.Tensor:
    """d L_q(θ_k)/dθ = (I − αH₀)(I − αH₁)⋯(I − αH_{k−1}) ∇L_q(θ_k),  H_i = ∇²L_s(θ_i).

    θ₀ = θ, θ_i = θ_{i−1} − α∇L_s(θ_{i−1}). The inner gradients are taken with
    ``create_graph=True`` so that θ_k stays a differentiable function of θ; one reverse pass of
    L_q(θ_k) back to θ then applies the factors (I − αH_i) as Hessian-vector products (no Hessian
    is materialised; the graph, hence memory, is linear in k). num_steps = 0 gives ∇L_q(θ).
    ``theta`` is not modified; the result is detached.
    """
    with torch.enable_grad():
        theta0 = theta.detach().clone().requires_grad_(True)
        phi = theta0
        for _ in range(num_steps):
            (inner_grad,) = torch.autograd.grad(support_loss(phi), phi, create_graph=True)
            phi = phi - inner_lr * inner_grad
        (outer_grad,) = torch.autograd.grad(query_loss(phi), theta0)
    return outer_grad.detach()


def fomaml_gradient(theta: torch.Tensor, support_loss: Callable[[torch.Tensor], torch.Tensor],
                    query_loss: Callable[[torch.Tensor], torch.Tensor], inner_lr: float,
                    num_steps: int) -> torch.Tensor:
    """First-order MAML: ∇L_q(θ_k), i.e. the MAML gradient with every H_i set to 0.

    θ₀ = θ, θ_i = θ_{i−1} − α∇L_s(θ_{i−1}) with each θ_i detached (no second-order graph).
    num_steps = 0 gives ∇L_q(θ). ``theta`` is not modified; the result is detached.
    """
    with torch.enable_grad():
        phi = theta.detach().clone()
        for _ in range(num_steps):
            phi.requires_grad_(True)
            (inner_grad,) = torch.autograd.grad(support_loss(phi), phi)
            phi = (phi - inner_lr * inner_grad).detach()
        phi.requires_grad_(True)
        (outer_grad,) = torch.autograd.grad(query_loss(phi), phi)
    return outer_grad.detach()


def reptile_update(theta: torch.Tensor, support_loss: Callable[[torch.Tensor], torch.Tensor],
                   inner_lr: float, num_steps: int, outer_lr: float) -> torch.Tensor:
    """Reptile: θ + ε(θ_k − θ) = θ − εα Σ_{i<k} ∇L_s(θ_i), with θ_i the (first-order) inner iterates.

    ``theta`` is not modified; the result is a new detached tensor.
    """
    start = theta.detach().clone()
    with torch.enable_grad():
        phi = start.clone()
        for _ in range(num_steps):
            phi.requires_grad_(True)
            (inner_grad,) = torch.autograd.grad(support_loss(phi), phi)
            phi = (phi - inner_lr * inner_grad).detach()
    return start + outer_lr * (phi - start)


# ------------------------------------------------------------------------------------------------
# Evolution strategies
# ------------------------------------------------------------------------------------------------


def es_gradient(objective: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor,
                sigma: float, num_pairs: int, generator: torch.Generator) -> torch.Tensor:
    """Antithetic ES estimate ĝ = (1/N) Σ_i [J(θ + σδ_i) − J(θ − σδ_i)]/(2σ) · δ_i, δ_i ~ N(0, I).

    All N perturbations are drawn in one call, ``torch.randn(N, p, generator=generator,
    dtype=θ.dtype)`` (on the generator's device, then moved to θ's), so the estimate is
    deterministic given the generator state. J is evaluated under ``torch.no_grad``. For quadratic
    J the estimator is unbiased (E[δδᵀ] = I and the even part of J cancels in each pair); a
    constant offset in J cancels exactly. Returns a detached tensor shaped like θ.
    """
    center = theta.detach()
    p = center.numel()
    deltas = torch.randn(num_pairs, p, generator=generator, dtype=center.dtype,
                         device=generator.device).to(center.device)
    estimate = torch.zeros(p, dtype=center.dtype, device=center.device)
    with torch.no_grad():
        for delta in deltas:
            delta = delta.view_as(center)
            plus = objective(center + sigma * delta)
            minus = objective(center - sigma * delta)
            estimate = estimate + ((plus - minus) / (2.0 * sigma)) * delta.reshape(-1)
    return (estimate / num_pairs).view_as(center)


# ------------------------------------------------------------------------------------------------
# Model and cost measurements
# ------------------------------------------------------------------------------------------------


def make_mlp(num_layers: int, hidden: int) -> nn.Module:
    """nn.Sequential(Linear(1, h), ReLU, [Linear(h, h), ReLU] × (L − 1), Linear(h, 1)).

    ``num_layers`` = L ≥ 1 hidden layers of width h, so L + 1 Linear layers and
    3h + 1 + (L − 1)(h² + h) parameters.
    """
    if num_layers < 1 or hidden < 1:
        raise ValueError(f"need num_layers >= 1 and hidden >= 1, got {num_layers}, {hidden}")
    layers = [nn.Linear(1, hidden), nn.ReLU()]
    for _ in range(num_layers - 1):
        layers += [nn.Linear(hidden, hidden), nn.ReLU()]
    layers.append(nn.Linear(hidden, 1))
    return nn.Sequential(*layers)


def saved_tensor_bytes(fn: Callable[[], torch.Tensor]) -> int:
    """Peak bytes held by autograd's saved tensors while ``fn()`` runs.

    Every tensor autograd saves for backward passes through the pack hook of
    ``torch.autograd.graph.saved_tensors_hooks``; each pack call adds t.numel()·t.element_size()
    to a running total (no de-duplication: a tensor saved by two nodes, or saved again by a
    double-backward graph, counts twice), and the total drops again when the graph node holding
    it is freed (e.g. after a ``backward``/``autograd.grad`` without ``retain_graph``). The result
    is the maximum of that total. If ``fn`` keeps its whole graph alive until it returns this is
    simply the sum over all pack calls; code under ``torch.no_grad`` saves nothing (0 bytes).
    """
    state = {"live": 0, "peak": 0}

    class SavedTensor:
        __slots__ = ("tensor", "nbytes")

        def __init__(self, tensor):
            self.tensor = tensor
            self.nbytes = tensor.numel() * tensor.element_size()
            state["live"] += self.nbytes
            state["peak"] = max(state["peak"], state["live"])

        def __del__(self):
            state["live"] -= self.nbytes

    def pack(tensor):
        return SavedTensor(tensor)

    def unpack(saved):
        return saved.tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        fn()
    return int(state["peak"])


def profile_meta_step(method: str, num_steps: int, num_layers: int, hidden: int,
                      device: str = "cpu") -> dict:
    """{"seconds": wall time, "bytes": memory} of ONE outer step over a batch of sinusoid tasks.

    Setting (from ``mx``): T = mx.meta_batch_size(device) tasks drawn with seed mx.PROFILE_SEED,
    an MLP ``make_mlp(num_layers, hidden)`` initialised under the same seed, float32, MSE losses,
    inner step size α = mx.INNER_LR.
    "maml": (1/T) Σ_t maml_outer_gradient(θ, L_s^t, L_q^t, α, k); the graph of the k inner steps
        of one task is alive at once, so memory grows linearly in k.
    "es":   es_gradient(J, θ, mx.ES_SIGMA, mx.ES_NUM_PAIRS, generator) with
        J(θ) = (1/T) Σ_t L_q^t(θ_k^t), θ_k^t from k plain gradient steps whose graphs are freed
        after every step (first order, nothing kept across steps), so memory is flat in k.
    "bytes": ``saved_tensor_bytes`` of the step on a CPU; on CUDA the peak allocated memory
    (torch.cuda.reset_peak_memory_stats / max_memory_allocated). On a CPU "seconds" include the
    small overhead of the saved-tensor hooks. Raises ValueError for an unknown method.
    """
    if method not in ("maml", "es"):
        raise ValueError(f"method must be 'maml' or 'es', got {method!r}")
    device = torch.device(device)
    on_cuda = device.type == "cuda"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(mx.PROFILE_SEED)
        model = make_mlp(num_layers, hidden).to(device=device, dtype=torch.float32)
    generator = torch.Generator().manual_seed(mx.PROFILE_SEED)
    num_tasks = mx.meta_batch_size(device)
    tasks = mx.sample_tasks(num_tasks, generator, dtype=torch.float32, device=device)
    theta = mx.flatten_parameters(model).to(device)
    support, query = mx.task_losses(model, tasks)
    lr = mx.INNER_LR

    def maml_step():
        grad = torch.zeros_like(theta)
        for support_loss, query_loss in zip(support, query):
            grad += maml_outer_gradient(theta, support_loss, query_loss, lr, num_steps)
        return grad / num_tasks

    def meta_objective(params):
        total = 0.0
        for support_loss, query_loss in zip(support, query):
            phi = params.detach()
            for _ in range(num_steps):
                with torch.enable_grad():
                    phi = phi.detach().requires_grad_(True)
                    (inner_grad,) = torch.autograd.grad(support_loss(phi), phi)
                phi = (phi - lr * inner_grad).detach()
            total = total + query_loss(phi).detach()
        return total / num_tasks

    def es_step():
        return es_gradient(meta_objective, theta, mx.ES_SIGMA, mx.ES_NUM_PAIRS, generator)

    step = maml_step if method == "maml" else es_step
    if on_cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        step()
        torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        nbytes = torch.cuda.max_memory_allocated(device)
    else:
        start = time.perf_counter()
        nbytes = saved_tensor_bytes(step)
        seconds = time.perf_counter() - start
    return {"seconds": float(seconds), "bytes": int(nbytes)}
