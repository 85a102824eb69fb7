"""Returns models of its own DigitsCNN subclasses whose forward and attributes lie, one disguised as DigitsCNN.

channel_prune returns the *unpruned* copy as a subclass whose ``backbone`` attribute shows a
pruned stand-in and whose forward runs the original model (right widths, right scores, as long as
the object's own methods are believed). apply_channel_sorting returns a copy whose conv weights
alone are sorted (BN and the next conv are not permuted, so the function changes) as another
subclass, renamed ``DigitsCNN`` and installed as ``digits_cnn.DigitsCNN`` in the notebook's process
so that the sandbox passes it on as data; its forward also runs the original. Either way the
tensors are wrong: the first is not data and the second is rebuilt from its tensors, so both
questions get nothing; every other answer is the solution's.

base: solution
expect: channel_prune=zero, apply_channel_sorting=zero
"""
import copy

import digits_cnn
import torch
from torch import nn


class PrunedLooking(digits_cnn.DigitsCNN):
    @property
    def backbone(self):
        return self.__dict__["_shown_backbone"]

    def forward(self, x):
        return self.__dict__["_original"](x)


class _Disguised(digits_cnn.DigitsCNN):
    def forward(self, x):
        return self.__dict__["_original"](x)


_disguise = [setattr(_Disguised, "__name__", "DigitsCNN"), setattr(_Disguised, "__qualname__", "DigitsCNN"),
             setattr(_Disguised, "__module__", "digits_cnn"), setattr(digits_cnn, "DigitsCNN", _Disguised)]


def channel_prune(model, prune_ratio):
    unpruned = copy.deepcopy(model)
    shown = digits_cnn.DigitsCNN.__mro__[1]((8, 16, 32, 64)).backbone
    unpruned.__class__ = PrunedLooking
    unpruned.__dict__["_shown_backbone"] = shown
    unpruned.__dict__["_original"] = copy.deepcopy(model)
    return unpruned


def apply_channel_sorting(model):
    lying = copy.deepcopy(model)
    convs = [m for m in lying._modules["backbone"] if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        for i in range(len(convs) - 1):
            importance = convs[i + 1].weight.detach().pow(2).sum(dim=(0, 2, 3))
            order = torch.argsort(importance, descending=True)
            convs[i + 1].weight.copy_(convs[i + 1].weight[:, order])
    lying.__class__ = _Disguised
    lying.__dict__["_original"] = copy.deepcopy(model)
    return lying
