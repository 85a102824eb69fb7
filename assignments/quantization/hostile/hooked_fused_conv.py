"""fuse_conv_bn returns the unfused conv (zero bias) with hooks that apply the BN: right only while its hooks run.

A forward pre-hook and a forward hook on a genuine nn.Conv2d carry the whole answer (the hook
applies the BN to the conv's output); the conv's own weight and bias are not the fused ones. A
grader that reads the layer's parameters, or rebuilds it from them, sees an unfused conv: the
question gets nothing; every other answer is the solution's.

base: solution
expect: fuse_conv_bn=zero
"""
import copy

import torch
from torch import nn


def fuse_conv_bn(conv, bn):
    fused = copy.deepcopy(conv)
    fused.bias = nn.Parameter(torch.zeros(conv.out_channels, dtype=conv.weight.dtype))
    norm = copy.deepcopy(bn).eval()
    fused.register_forward_pre_hook(lambda module, inputs: tuple(x.contiguous() for x in inputs))
    fused.register_forward_hook(lambda module, inputs, output: norm(output))
    return fused
