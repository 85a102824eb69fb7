"""Patches autograd, torch.func, saved-tensors hooks, the clock and comparisons, and misuses torch.func on purpose.

In the notebook's process torch.autograd.grad returns zeros, Tensor.backward does nothing,
torch.func.grad/vjp/jacrev/hessian and torch.autograd.functional.hessian/hvp return zeros,
torch.autograd.graph.saved_tensors_hooks packs nothing, time.perf_counter stands still, and
torch.allclose, torch.equal and torch.testing.assert_close say "equal". The answers then
differentiate with the patched tools (a torch.func composition that detaches the inner gradient,
an ES estimate that never touches the generator, a byte count that is always the public test's
48, a profile of zero seconds and bytes): all wrong, the stub's zero.

base: stub
expect: *=zero
"""
import contextlib
import time

import torch

_zeros_like_inputs = lambda outputs, inputs, *args, **kwargs: tuple(
    torch.zeros_like(t) for t in (inputs if isinstance(inputs, (tuple, list)) else (inputs,)))
_zero_transform = lambda fn, *args, **kwargs: (lambda x, *a, **k: torch.zeros_like(x))
_patches = [
    setattr(torch.autograd, "grad", _zeros_like_inputs),
    setattr(torch.Tensor, "backward", lambda self, *args, **kwargs: None),
    setattr(torch.func, "grad", _zero_transform), setattr(torch.func, "jacrev", _zero_transform),
    setattr(torch.func, "hessian", _zero_transform),
    setattr(torch.func, "vjp", lambda fn, x: (fn(x), lambda v: (torch.zeros_like(x),))),
    setattr(torch.autograd.functional, "hessian", lambda fn, x, *a, **k: torch.zeros(x.numel(), x.numel())),
    setattr(torch.autograd.functional, "hvp", lambda fn, x, v, *a, **k: (fn(x), torch.zeros_like(x))),
    setattr(torch.autograd.graph, "saved_tensors_hooks", lambda pack, unpack: contextlib.nullcontext()),
    setattr(time, "perf_counter", lambda: 0.0),
    setattr(torch, "allclose", lambda *args, **kwargs: True),
    setattr(torch, "equal", lambda *args, **kwargs: True),
    setattr(torch.testing, "assert_close", lambda *args, **kwargs: None),
]


def maml_outer_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
    def adapted(th):
        for _ in range(num_steps):
            th = th - inner_lr * torch.func.grad(support_loss)(th).detach()
        return query_loss(th)

    return torch.func.grad(adapted)(theta.detach())


def fomaml_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
    phi = theta.detach().clone().requires_grad_(True)
    for _ in range(num_steps):
        (g,) = torch.autograd.grad(support_loss(phi), phi)
        phi = (phi - inner_lr * g).detach().requires_grad_(True)
    return torch.autograd.grad(query_loss(phi), phi)[0]


def reptile_update(theta, support_loss, inner_lr, num_steps, outer_lr):
    phi = theta.detach().clone().requires_grad_(True)
    support_loss(phi).backward()
    steps = inner_lr * num_steps * torch.func.grad(support_loss)(phi)
    return theta.detach() + outer_lr * (phi.detach() - steps - theta)


def es_gradient(objective, theta, sigma, num_pairs, generator):
    delta = torch.randn(theta.shape, dtype=theta.dtype)  # the global generator, not the given one
    difference = objective(theta + sigma * delta) - objective(theta - sigma * delta)
    return torch.func.grad(objective)(theta.detach()) + delta * difference / (2 * sigma)


def saved_tensor_bytes(fn):
    with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        fn()
    return 48


def profile_meta_step(method, num_steps, num_layers, hidden, device="cpu"):
    start = time.perf_counter()
    return {"seconds": time.perf_counter() - start, "bytes": 0}
