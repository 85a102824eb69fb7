"""Answers with objects that claim to equal anything: tensor and parameter subclasses, an int, a float, a dict.

The mask, the importances and every parameter of the returned models are tensor subclasses whose
``__eq__``, comparisons and ``torch.equal``/``torch.allclose``/``torch.all`` (through
``__torch_function__``) answer True and whose ``dtype`` says bool; the channel count is an int
subclass equal to everything, ``target_sparsity`` a float subclass and ``sparsity_dict`` a dict
subclass whose ``items`` show the reference dict. The values underneath are junk (zeros,
nothing pruned), so the stub's zero is what they deserve.

base: stub
expect: *=zero
"""
import copy

import torch
from torch import nn

_TRUTHY = {torch.equal, torch.allclose, torch.all, torch.any, torch.isclose, torch.Tensor.all,
           torch.Tensor.any, torch.Tensor.__eq__, torch.Tensor.__ge__, torch.Tensor.__le__,
           torch.Tensor.__bool__, torch.Tensor.equal, torch.Tensor.allclose}


class AlwaysEqual(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in _TRUTHY:
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = torch.Tensor.__hash__

    @property
    def dtype(self):
        return torch.bool


class AlwaysEqualParameter(nn.Parameter):
    def __eq__(self, other):
        return True


class Anything(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class AnyFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class ReferenceLookingDict(dict):
    def items(self):
        return {"backbone.0.weight": 0.0, "backbone.3.weight": 0.5, "backbone.7.weight": 0.8,
                "backbone.10.weight": 0.85, "classifier.weight": 0.5}.items()


def _junk_model(model):
    junk = copy.deepcopy(model)
    for module in junk.modules():
        for name, param in list(module._parameters.items()):
            if param is not None:
                module._parameters[name] = AlwaysEqualParameter(torch.zeros_like(param.detach()))
    return junk


def fine_grained_prune(tensor, sparsity):
    return torch.ones(tensor.shape, dtype=torch.bool).as_subclass(AlwaysEqual)


target_sparsity = AnyFloat(0.0)

sparsity_dict = ReferenceLookingDict({"classifier.weight": 0.1})


def get_num_channels_to_keep(channels, prune_ratio):
    return Anything(0)


def channel_prune(model, prune_ratio):
    return _junk_model(model)


def get_input_channel_importance(weight):
    return torch.zeros(weight.shape[1]).as_subclass(AlwaysEqual)


def apply_channel_sorting(model):
    return _junk_model(model)
