"""Tampers with the losses the tests pass in: hostile arguments, their data zeroed in place or swapped, kept for later.

maml_outer_gradient first calls both losses with junk (None, a string, a tensor subclass that
records every torch operation the loss performs, a NaN tensor), then zeroes every tensor the
losses close over (in place: the caller's tensors change too) and differentiates the losses that
are left; fomaml_gradient swaps the data the two losses close over (where they share their code;
elsewhere it uses the query loss for the inner steps); es_gradient keeps each objective and evaluates
the one it was given on the *previous* call. All three answers are wrong whatever the grader's
reference does with its own losses, so they get nothing; the rest is the solution's (its
profile_meta_step runs with this maml_outer_gradient, which still returns a gradient there).

base: solution
expect: maml_outer_gradient=zero, fomaml_gradient=zero, es_gradient=zero
"""
import torch

_RECORDED = []
_KEPT = []


class Recorder(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        _RECORDED.append(getattr(func, "__name__", "?"))
        return super().__torch_function__(func, types, args, kwargs or {})


def _probe(loss, theta):
    recorder = theta.detach().clone().as_subclass(Recorder)
    for junk in (None, "theta", recorder, torch.full_like(theta, float("nan"))):
        try:
            loss(junk)
        except Exception:
            pass


def _zero_closure(loss):
    for cell in getattr(loss, "__closure__", None) or ():
        value = cell.cell_contents
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            with torch.no_grad():
                value.zero_()


def maml_outer_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
    for loss in (support_loss, query_loss):
        _probe(loss, theta)
        _zero_closure(loss)
    with torch.enable_grad():
        theta0 = theta.detach().clone().requires_grad_(True)
        phi = theta0
        for _ in range(num_steps):
            (inner_grad,) = torch.autograd.grad(support_loss(phi), phi, create_graph=True)
            phi = phi - inner_lr * inner_grad
        (outer_grad,) = torch.autograd.grad(query_loss(phi), theta0)
    return outer_grad.detach()


def fomaml_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
    if support_loss.__closure__ and support_loss.__code__ == query_loss.__code__:
        for mine, theirs in zip(support_loss.__closure__, query_loss.__closure__):
            mine.cell_contents, theirs.cell_contents = theirs.cell_contents, mine.cell_contents
    else:
        support_loss = query_loss
    with torch.enable_grad():
        phi = theta.detach().clone()
        for _ in range(num_steps):
            phi.requires_grad_(True)
            (inner_grad,) = torch.autograd.grad(support_loss(phi), phi)
            phi = (phi - inner_lr * inner_grad).detach()
        phi.requires_grad_(True)
        (outer_grad,) = torch.autograd.grad(query_loss(phi), phi)
    return outer_grad.detach()


def es_gradient(objective, theta, sigma, num_pairs, generator):
    _KEPT.append(objective)
    objective = _KEPT[-2] if len(_KEPT) > 1 else objective
    center = theta.detach()
    deltas = torch.randn(num_pairs, center.numel(), generator=generator, dtype=center.dtype)
    estimate = torch.zeros(center.numel(), dtype=center.dtype)
    with torch.no_grad():
        for delta in deltas:
            delta = delta.view_as(center)
            plus, minus = objective(center + sigma * delta), objective(center - sigma * delta)
            estimate = estimate + ((plus - minus) / (2.0 * sigma)) * delta.reshape(-1)
    return (estimate / num_pairs).view_as(center)
