"""Reference solutions for the quantization homework: k-means and linear quantization of a CNN.

K-means quantization stores a weight tensor as a codebook: k ≤ 2^b float centroids and, per
element, a b-bit label; the tensor is replaced by ``centroids[labels]``. Linear quantization maps
a real value r to a b-bit integer q with r ≈ S·(q − Z): scale S > 0, integer zero point Z, and
signed b-bit integers [q_min, q_max] = [−2^{b−1}, 2^{b−1} − 1] (``get_quantized_range``, given).
Integer-only inference chains such layers: int8 activations, per-output-channel symmetric int8
weights (Z_w = 0), int32 biases with scale S_w·S_in, int32 accumulation and one float rescale
S_in·S_w/S_out per output channel.

Build note: each API function's body is copied into the student notebook, where only ``math``,
``np``, ``torch``, ``nn``, ``F``, ``Codebook``, ``get_quantized_range``, the experiments module
``qx`` (``quantization_experiments``) and the other API functions are in scope; the bodies use
nothing else.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from solutions.quantization_experiments import Codebook, get_quantized_range

__all__ = [
    "k_means_quantize",
    "update_codebook",
    "scale_formula_choice",
    "zero_point_formula_choice",
    "linear_quantize",
    "get_quantization_scale_and_zero_point",
    "fuse_conv_bn",
    "linear_quantize_weight_per_channel",
    "linear_quantize_bias_per_output_channel",
    "shift_quantized_bias",
    "quantized_linear",
    "quantized_conv2d",
    "extra_preprocess",
]

# The multiple-choice answers of the notebook (options written there):
# S = (r_max − r_min)/(q_max − q_min) is option B, Z = round(q_min − r_min/S) is option C.
scale_formula_choice = "B"
zero_point_formula_choice = "C"


# ------------------------------------------------------------------------------------------------
# K-means quantization
# ------------------------------------------------------------------------------------------------


def k_means_quantize(fp32_tensor: torch.Tensor, bitwidth: int = 4, codebook=None):
    """Cluster the tensor's values into k = min(2^b, #distinct values) centroids (1-D k-means);
    replace every value, in place, by its centroid; return ``Codebook(centroids, labels)``.

    centroids: 1-D tensor [k] (the tensor's dtype); labels: 1-D int64 tensor [numel], the cluster
    of each element in ``reshape(-1)`` order. With at most 2^b distinct values the centroids are
    exactly those values (lossless). Otherwise k = 2^b: centroids start evenly spaced over
    [min, max] (linear initialisation: deterministic, keeps the rare large weights represented)
    and Lloyd's algorithm alternates (1) label every value with its nearest centroid and (2) move
    every centroid to the mean of its values (``update_codebook``: an empty cluster keeps its
    centroid) until the labels stop changing. The result is a fixed point: labels nearest,
    non-empty centroids the means of their members.

    With a ``codebook`` given no clustering happens: the tensor becomes
    ``codebook.centroids[codebook.labels]`` (reshaped to its shape), in place, and that codebook
    is returned (quantization-aware training snaps weights back this way).
    """
    if codebook is None:
        values = fp32_tensor.detach().reshape(-1)
        distinct = torch.unique(values)
        if distinct.numel() <= 2**bitwidth:
            codebook = Codebook(distinct.clone(), torch.searchsorted(distinct, values))
        else:
            centroids = torch.linspace(values.min().item(), values.max().item(), 2**bitwidth,
                                       dtype=values.dtype)
            labels = None
            for _ in range(1000):
                order = torch.argsort(centroids)
                boundaries = (centroids[order][1:] + centroids[order][:-1]) / 2
                nearest = order[torch.searchsorted(boundaries, values)]
                if labels is not None and torch.equal(nearest, labels):
                    break
                labels = nearest
                update_codebook(values, Codebook(centroids, labels))
            codebook = Codebook(centroids, labels)
    with torch.no_grad():
        fp32_tensor.copy_(codebook.centroids[codebook.labels].view_as(fp32_tensor))
    return codebook


def update_codebook(fp32_tensor: torch.Tensor, codebook) -> None:
    """Move every centroid, in place, to the mean of the values labelled with it:
    c_j ← (1/|C_j|) Σ_{i ∈ C_j} x_i with C_j = {i : labels_i = j}; an empty cluster keeps c_j.
    The labels and the tensor are left as they are.
    """
    values = fp32_tensor.detach().reshape(-1).to(torch.float64)
    labels = codebook.labels.reshape(-1)
    k = codebook.centroids.numel()
    sums = torch.zeros(k, dtype=torch.float64).index_add_(0, labels, values)
    counts = torch.bincount(labels, minlength=k)
    means = (sums / counts.clamp(min=1)).to(codebook.centroids.dtype)
    with torch.no_grad():
        codebook.centroids.copy_(torch.where(counts > 0, means, codebook.centroids))


# ------------------------------------------------------------------------------------------------
# Linear quantization
# ------------------------------------------------------------------------------------------------


def linear_quantize(fp_tensor: torch.Tensor, bitwidth: int, scale, zero_point,
                    dtype=torch.int8) -> torch.Tensor:
    """q = clamp(round(r/S) + Z, q_min, q_max) cast to ``dtype``.

    ``scale`` (S > 0) and ``zero_point`` (Z) are numbers or per-channel tensors shaped to
    broadcast along dim 0 (e.g. [C, 1, 1, 1] for a conv weight). Rounding is torch.round (half to
    even); values beyond the range clamp to q_min or q_max. The arithmetic is done in float64,
    so the 32-bit range limits are exact.
    """
    quantized_min, quantized_max = get_quantized_range(bitwidth)
    scaled = fp_tensor.detach().to(torch.float64) / scale
    shifted = torch.round(scaled) + zero_point
    return shifted.clamp(quantized_min, quantized_max).to(dtype)


def get_quantization_scale_and_zero_point(fp_tensor: torch.Tensor, bitwidth: int):
    """(S, Z) mapping [r_min, r_max] = [min r, max r] onto [q_min, q_max]:

        S = (r_max − r_min) / (q_max − q_min),   Z = round(q_min − r_min/S) clamped to [q_min, q_max]

    (a float and an int). A range without 0 (all values positive or all negative) clamps Z. A
    constant tensor (r_max = r_min) uses the range [min(r, 0), max(r, 0)] instead, and S = 1 when
    that is empty too (all zeros): no division by zero.
    """
    quantized_min, quantized_max = get_quantized_range(bitwidth)
    r_min = fp_tensor.min().item()
    r_max = fp_tensor.max().item()
    if r_max == r_min:
        r_min, r_max = min(r_min, 0.0), max(r_max, 0.0)
    scale = (r_max - r_min) / (quantized_max - quantized_min) if r_max > r_min else 1.0
    zero_point = round(quantized_min - r_min / scale)
    zero_point = min(max(zero_point, quantized_min), quantized_max)
    return float(scale), int(zero_point)


# ------------------------------------------------------------------------------------------------
# Integer-only inference
# ------------------------------------------------------------------------------------------------


def fuse_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A Conv2d with a bias computing bn(conv(x)) for BN in eval mode (conv without bias):

        f_c = γ_c / sqrt(σ²_c + ε),   W'_c = f_c·W_c,   b'_c = β_c − μ_c·f_c

    with γ, β the BN weight and bias, μ, σ² its running mean and variance. Stride, padding,
    dilation and groups are the conv's; the modules passed in are not modified.
    """
    factor = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                      padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True)
    fused = fused.to(conv.weight.dtype)
    with torch.no_grad():
        fused.weight.copy_(conv.weight * factor.view(-1, 1, 1, 1))
        fused.bias.copy_(bn.bias - bn.running_mean * factor)
    return fused


def linear_quantize_weight_per_channel(weight: torch.Tensor, bitwidth: int):
    """Symmetric per-output-channel quantization (Z = 0): S_c = max_i |W_{c,i}| / q_max and
    q = clamp(round(W/S_c), q_min, q_max) as int8.

    Returns (quantized weight [same shape, int8], scale [C, 1, …, 1] float, shaped to broadcast
    along dim 0 of the weight). An all-zero channel gets a tiny positive scale.
    """
    _, quantized_max = get_quantized_range(bitwidth)
    w = weight.detach()
    r_max = w.abs().reshape(w.shape[0], -1).amax(dim=1).clamp(min=1e-12)
    scale = (r_max / quantized_max).view(-1, *([1] * (w.dim() - 1)))
    return linear_quantize(w, bitwidth, scale, 0), scale


def linear_quantize_bias_per_output_channel(bias: torch.Tensor, weight_scale: torch.Tensor,
                                            input_scale: float):
    """The bias on the accumulator's scale: S_b = S_w·S_in per output channel, Z_b = 0, 32 bits:
    q_b = round(b / S_b) as int32. ``weight_scale`` has C entries (any shape, e.g. [C, 1, 1, 1]).

    Returns (q_b [C] int32, S_b [C] float).
    """
    bias_scale = weight_scale.detach().reshape(-1) * input_scale
    return linear_quantize(bias, 32, bias_scale, 0, torch.int32), bias_scale


def shift_quantized_bias(quantized_bias: torch.Tensor, quantized_weight: torch.Tensor,
                         input_zero_point: int) -> torch.Tensor:
    """q_b − Z_in·Σ_k q_w[c, k] (sum over every weight dimension but the output channel), int32.

    Since Σ_k q_w[c,k](q_x[k] − Z_in) = Σ_k q_w[c,k] q_x[k] − Z_in Σ_k q_w[c,k], adding this
    shifted bias to the integer product of the *raw* input q_x accounts for the input zero point.
    (For a padded convolution this holds when the input is padded with Z_in.)
    """
    weight_sums = quantized_weight.to(torch.int64).reshape(quantized_weight.shape[0], -1).sum(dim=1)
    return (quantized_bias.to(torch.int64) - input_zero_point * weight_sums).to(torch.int32)


def quantized_linear(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                     feature_bitwidth: int, weight_bitwidth: int, input_zero_point: int,
                     output_zero_point: int, input_scale: float, weight_scale: torch.Tensor,
                     output_scale: float) -> torch.Tensor:
    """Integer-only linear layer: int8 input [N, in], int8 weight [C, in] (symmetric, per-channel
    scale ``weight_scale`` with C entries), int32 bias [C] on the scale S_in·S_w (not shifted).

        acc = q_x·q_wᵀ + (q_b − Z_in Σ_k q_w[c,k])        (integers: shift_quantized_bias)
        q_y = clamp(round(acc · S_in·S_w[c]/S_out) + Z_out, feature range)   as int8

    which is r_y = r_x·Wᵀ + b requantized, with r_x = S_in(q_x − Z_in), W = S_w q_w,
    b = S_in S_w q_b. The per-channel factor broadcasts along the last dim ([1, C]), whatever N.
    The accumulator is exact in int64 (an int32 accumulator on hardware: |acc| < 2^31 here).
    """
    shifted_bias = shift_quantized_bias(bias, weight, input_zero_point).to(torch.int64)
    accumulator = F.linear(input.to(torch.int64), weight.to(torch.int64), shifted_bias)
    rescale = (input_scale * weight_scale.detach().reshape(-1).to(torch.float64) / output_scale)
    output = accumulator.to(torch.float64) * rescale.view(1, -1) + output_zero_point
    quantized_min, quantized_max = get_quantized_range(feature_bitwidth)
    return output.round().clamp(quantized_min, quantized_max).to(torch.int8)


def quantized_conv2d(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                     feature_bitwidth: int, weight_bitwidth: int, input_zero_point: int,
                     output_zero_point: int, input_scale: float, weight_scale: torch.Tensor,
                     output_scale: float, stride, padding, dilation, groups) -> torch.Tensor:
    """Integer-only convolution: int8 input [N, C_in, H, W], int8 weight [C, C_in/groups, kh, kw],
    int32 bias [C] on the scale S_in·S_w (not shifted); stride/padding/dilation as for
    ``nn.Conv2d`` (an int or a pair).

    The input is padded with Z_in (the integer that stands for the real 0), then
        acc = conv(q_x, q_w) + (q_b − Z_in Σ q_w[c])      (integers, no further padding)
        q_y = clamp(round(acc · S_in·S_w[c]/S_out) + Z_out, feature range)   as int8
    with the per-channel factor broadcast as [1, C, 1, 1], whatever the batch size. The
    accumulator is int64 (PyTorch's CPU convolution has no dilated int32 kernel).
    """
    pad_h, pad_w = (padding, padding) if isinstance(padding, int) else tuple(padding)
    padded = F.pad(input.to(torch.int64), (pad_w, pad_w, pad_h, pad_h), value=input_zero_point)
    shifted_bias = shift_quantized_bias(bias, weight, input_zero_point).to(torch.int64)
    accumulator = F.conv2d(padded, weight.to(torch.int64), shifted_bias, stride, 0, dilation, groups)
    rescale = (input_scale * weight_scale.detach().reshape(-1).to(torch.float64) / output_scale)
    output = accumulator.to(torch.float64) * rescale.view(1, -1, 1, 1) + output_zero_point
    quantized_min, quantized_max = get_quantized_range(feature_bitwidth)
    return output.round().clamp(quantized_min, quantized_max).to(torch.int8)


def extra_preprocess(x: torch.Tensor) -> torch.Tensor:
    """Quantize input images x ∈ [0, 1] with S = 1/255, Z = −128: q = clamp(round(255·x) − 128), int8.
    (0 ↦ −128, 1 ↦ 127.)"""
    return linear_quantize(x * 255, 8, 1, -128)
