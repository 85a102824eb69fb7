"""Returns objects that lie about what they are: tensors equal to anything, a QP of impostors,
a pair that claims any length, a float equal to everything.

ridge_head returns zeros of a tensor subclass whose comparisons (``__eq__``, ``torch.allclose``,
``torch.equal``, ``torch.isclose`` through ``__torch_function__``) answer True; r2d2_logits a
generator of such tensors; crammer_singer_qp six impostors with ``shape``, ``dtype`` and an
``__array__`` of zeros; anil_outer_gradient a tuple subclass whose ``__len__`` says 2 and whose
items are lying tensors of the wrong shape; multitask_heads_loss a float subclass equal to
everything. None is a correct value: the stub's zero.

base: stub
expect: *=zero
"""
import torch

_TRUTHY = {torch.equal, torch.allclose, torch.all, torch.any, torch.isclose, torch.Tensor.__eq__,
           torch.Tensor.__bool__, torch.Tensor.equal, torch.Tensor.allclose}


class AlwaysClose(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in _TRUTHY:
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

    def __eq__(self, other):
        return True

    __hash__ = torch.Tensor.__hash__


class Impostor:
    dtype = torch.float64

    def __init__(self, *shape):
        self.shape = shape

    def __eq__(self, other):
        return True

    def __array__(self, *args, **kwargs):
        import numpy
        return numpy.zeros(self.shape)


class AnyPair(tuple):
    def __len__(self):
        return 2


class Everything(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def ridge_head(Z, Y, lam):
    return torch.zeros(Z.shape[1], Y.shape[1], dtype=Z.dtype).as_subclass(AlwaysClose)


def r2d2_logits(Z_support, labels, Z_query, num_classes, lam, scale, bias):
    return (torch.zeros(num_classes, dtype=Z_query.dtype).as_subclass(AlwaysClose) for _ in range(Z_query.shape[0]))


def crammer_singer_qp(Z, labels, num_classes, C, eps):
    N = Z.shape[0] * num_classes
    return tuple(Impostor(*shape) for shape in ((N, N), (N,), (N, N), (N,), (Z.shape[0], N), (Z.shape[0],)))


def anil_outer_gradient(body, head, support_loss, query_loss, inner_lr, num_steps):
    return AnyPair(torch.zeros(1, dtype=body.dtype).as_subclass(AlwaysClose) for _ in range(3))


def multitask_heads_loss(body, heads, task_losses):
    return Everything(0.0)
