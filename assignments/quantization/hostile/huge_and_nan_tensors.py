"""Writes NaN into the codebook and the fused bias, grows its input to 640 MiB in place, returns 640 MiB of output.

update_codebook sets every centroid to NaN in place, fuse_conv_bn returns the fused conv with a
NaN bias, extra_preprocess resizes its argument in place to 640 MiB (the grader asks for the
argument's state after the call) and quantized_conv2d returns 640 MiB of int8. NaN is not a
finite answer and messages that large are refused: those four get nothing. k_means_quantize (the
solution's) calls this update_codebook, so its public test fails, while its hidden check grades it
with the reference update_codebook: hidden. The rest is the solution's.

base: solution
expect: update_codebook=zero, fuse_conv_bn=zero, extra_preprocess=zero, quantized_conv2d=zero, k_means_quantize=hidden
"""
import torch
from torch import nn

HUGE = 640 * 2**20  # bytes: more than one message may carry


def update_codebook(fp32_tensor, codebook):
    with torch.no_grad():
        codebook.centroids.fill_(float("nan"))


def fuse_conv_bn(conv, bn):
    factor = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                      padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True)
    with torch.no_grad():
        fused.weight.copy_(conv.weight * factor.view(-1, 1, 1, 1))
        fused.bias.fill_(float("nan"))
    return fused


def quantized_conv2d(input, weight, bias, feature_bitwidth, weight_bitwidth,
                     input_zero_point, output_zero_point,
                     input_scale, weight_scale, output_scale,
                     stride, padding, dilation, groups):
    return torch.zeros(HUGE, dtype=torch.int8)


def extra_preprocess(x):
    x.resize_(HUGE // 4)
    return torch.zeros(1, dtype=torch.int8)
