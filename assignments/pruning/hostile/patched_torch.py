"""Monkeypatches torch and numpy comparisons and nn.Module.__call__, then answers three questions with junk.

torch.equal, torch.allclose, torch.all, torch.Tensor.__eq__/__ge__, numpy's comparisons and
torch.testing.assert_close all say "equal", and nn.Module.__call__ returns scores of the right
shape, in the notebook's process. fine_grained_prune then prunes nothing,
get_input_channel_importance returns zeros and apply_channel_sorting returns the model unsorted:
those get nothing. The patches do not change what the other (solution) answers compute, which
keep full marks.

base: solution
expect: fine_grained_prune=zero, get_input_channel_importance=zero, apply_channel_sorting=zero
"""
import copy

import numpy as np
import torch
from torch import nn

_always = lambda *args, **kwargs: True
_patches = [
    setattr(torch, "equal", _always), setattr(torch, "allclose", _always), setattr(torch, "all", _always),
    setattr(torch.Tensor, "__eq__", _always), setattr(torch.Tensor, "__ge__", _always),
    setattr(torch.Tensor, "equal", _always), setattr(torch.Tensor, "allclose", _always),
    setattr(np, "allclose", _always), setattr(np, "array_equal", _always),
    setattr(np.testing, "assert_allclose", lambda *args, **kwargs: None),
    setattr(torch.testing, "assert_close", lambda *args, **kwargs: None),
    setattr(nn.Module, "__call__", lambda self, *args, **kwargs: torch.zeros(args[0].shape[0], 10)),
]


def fine_grained_prune(tensor, sparsity):
    return torch.ones(tensor.shape, dtype=torch.bool)


def get_input_channel_importance(weight):
    return torch.zeros(weight.shape[1])


def apply_channel_sorting(model):
    return copy.deepcopy(model)
