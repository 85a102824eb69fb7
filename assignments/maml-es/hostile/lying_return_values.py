"""Returns objects that lie: a generator, tensors equal to anything, an impostor, a Sequential subclass, a lying int and dict.

maml_outer_gradient returns a generator of tensors; fomaml_gradient and es_gradient return tensor
subclasses (of zeros, of noise not drawn from the given generator) whose ``__eq__`` and ``torch.allclose``/``torch.equal`` (through ``__torch_function__``)
answer True and whose ``shape`` is whatever it is compared with; reptile_update an object with
``shape``, ``dtype``, ``__array__`` and an ``__eq__`` that is always True; make_mlp a subclass of
nn.Sequential, named ``Sequential``, with Linear layers one unit too wide, a ``forward`` that
returns zeros and a ``parameters`` that reports the count of the right widths; saved_tensor_bytes an int subclass
equal to everything; profile_meta_step a dict subclass that claims every key. None of these is a
correct value: the stub's zero.

base: stub
expect: *=zero
"""
import torch
import torch.nn as nn

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

    def __init__(self, shape):
        self.shape = shape

    def __eq__(self, other):
        return True

    def __array__(self, *args, **kwargs):
        import numpy
        return numpy.zeros(self.shape)


class Sequential(nn.Sequential):
    def forward(self, x):
        return torch.zeros(x.shape[0], 1, dtype=x.dtype)

    def parameters(self, recurse=True):  # the count the asked-for widths would have
        h = self[0].out_features - 1
        layers = sum(isinstance(m, nn.Linear) for m in self) - 1
        yield torch.zeros(2 * h + (layers - 1) * (h * h + h) + h + 1)


class Everything(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class EveryKey(dict):
    def __contains__(self, key):
        return True

    def __getitem__(self, key):
        return 1.0 if key == "seconds" else Everything(1)


def maml_outer_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
    return (torch.zeros_like(theta) for _ in range(num_steps + 1))


def fomaml_gradient(theta, support_loss, query_loss, inner_lr, num_steps):
    return torch.zeros_like(theta).as_subclass(AlwaysClose)


def reptile_update(theta, support_loss, inner_lr, num_steps, outer_lr):
    return Impostor(tuple(theta.shape))


def es_gradient(objective, theta, sigma, num_pairs, generator):
    return torch.randn(theta.shape, dtype=theta.dtype).as_subclass(AlwaysClose)


def make_mlp(num_layers, hidden):
    wide = hidden + 1  # one unit too wide: only the lying parameters() reports the right count
    layers = [nn.Linear(1, wide), nn.ReLU()]
    for _ in range(num_layers - 1):
        layers += [nn.Linear(wide, wide), nn.ReLU()]
    return Sequential(*layers, nn.Linear(wide, 1))


def saved_tensor_bytes(fn):
    return Everything(48)


def profile_meta_step(method, num_steps, num_layers, hidden, device="cpu"):
    return EveryKey()
