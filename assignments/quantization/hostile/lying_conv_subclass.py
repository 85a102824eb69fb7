"""fuse_conv_bn returns its own Conv2d subclass (forward: original conv, then BN), smuggled into the layers that are data.

The subclass is named ``Conv2d`` and, in the notebook's process, replaces ``nn.Conv2d`` in the
grading runtime's allow-list of standard layers, so the sandbox sends it as a plain conv; its
weight is the unfused one and its bias zero, only its forward (original conv, then BN) is right.
A grader that refuses the subclass or rebuilds a real Conv2d from its parameters gives the
question nothing; every other answer is the solution's.

base: solution
expect: fuse_conv_bn=zero
"""
import copy
import sys

import torch
from torch import nn


class Conv2d(nn.Conv2d):
    def forward(self, x):
        return self.__dict__["_bn"](self.__dict__["_conv"](x))


_allow = [getattr(sys.modules.get(name), "STANDARD_LAYERS", {}).__setitem__("Conv2d", Conv2d)
          for name in ("autograder.engine.protocol.modules",) if name in sys.modules]


def fuse_conv_bn(conv, bn):
    fused = copy.deepcopy(conv)
    fused.bias = nn.Parameter(torch.zeros(conv.out_channels, dtype=conv.weight.dtype))
    fused.__class__ = Conv2d
    fused.__dict__["_conv"] = copy.deepcopy(conv)
    fused.__dict__["_bn"] = copy.deepcopy(bn).eval()
    return fused
