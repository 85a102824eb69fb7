"""Reference solutions for the pruning homework: fine-grained and channel pruning of the digits CNN.

Notation. A weight tensor W has n entries; a sparsity s ∈ [0, 1] asks for k = round(n·s) zeros
(Python's ``round``: halves go to the even neighbour). Magnitude pruning keeps the entries of
largest |W|. The model is ``DigitsCNN`` (``digits_cnn``): four 3×3 conv(no bias)–BN–ReLU blocks in
``model.backbone`` and one linear layer ``model.classifier`` on the flattened last feature map.

Channel pruning removes whole output channels of a convolution: with the i-th conv keeping its
first c'_i of c_i output channels, c'_i = int(round(c_i·(1 − r_i))), the BN after it keeps the same
c'_i features and the next conv the same c'_i input channels. The last conv feeds the classifier
(whose inputs are the flattened channels), so it is never pruned. Sorting channels first (by the
importance ‖W_next[:, j]‖_F of input channel j of the next conv, descending) makes "the first c'
channels" the important ones without changing the function the network computes.

The graded variables ``target_sparsity`` and ``sparsity_dict`` are module constants here: the
reference answers the hidden checks can be compared with, and the answers the solution notebook
holds.

Build note: each API function's body is copied into the student notebook, where only ``np``,
``torch``, ``nn``, ``copy``, ``math``, the other API functions and the given modules
``digits_cnn`` and ``px`` (``pruning_experiments``) are in scope; the bodies use nothing else.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from solutions.digits_cnn import DigitsCNN  # noqa: F401 - a notebook name the public tests take

__all__ = [
    "fine_grained_prune",
    "get_num_channels_to_keep",
    "channel_prune",
    "get_input_channel_importance",
    "apply_channel_sorting",
]

# The graded variables (not functions): see the notebook.
# 25 entries, 10 kept: round(25 * 0.6) = 15 zeros.
target_sparsity = 0.6
# Per-layer sparsities for the digits CNN: about 21 % of the dense conv and linear weights remain.
sparsity_dict = {
    "backbone.0.weight": 0.0,
    "backbone.3.weight": 0.5,
    "backbone.7.weight": 0.8,
    "backbone.10.weight": 0.85,
    "classifier.weight": 0.5,
}


# ------------------------------------------------------------------------------------------------
# Fine-grained (magnitude) pruning
# ------------------------------------------------------------------------------------------------


def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Zero the k = round(n·s) smallest-magnitude entries of ``tensor`` in place; return the mask.

    With τ the k-th smallest magnitude (``kthvalue`` of |W| flattened), the keep-mask is
    m = |W| > τ (dtype bool, shaped like W) and W ← W ⊙ m. Ties at τ are all zeroed (strictly
    greater magnitudes are kept), so on tied inputs more than k entries may go. s ≤ 0, or k = 0,
    keeps everything (all-True mask, W unchanged); s ≥ 1, or k ≥ n, zeroes everything.
    """
    num_elements = tensor.numel()
    num_zeros = round(num_elements * min(max(float(sparsity), 0.0), 1.0))
    if num_zeros <= 0:
        return torch.ones_like(tensor, dtype=torch.bool)
    magnitude = tensor.detach().abs()
    if num_zeros >= num_elements:
        mask = torch.zeros_like(tensor, dtype=torch.bool)
    else:
        threshold = magnitude.flatten().kthvalue(num_zeros).values
        mask = magnitude > threshold
    with torch.no_grad():
        tensor.mul_(mask)
    return mask


# ------------------------------------------------------------------------------------------------
# Channel pruning
# ------------------------------------------------------------------------------------------------


def get_num_channels_to_keep(channels: int, prune_ratio: float) -> int:
    """c' = int(round(c·(1 − r))): the channels left when a fraction r of c is pruned."""
    return int(round(channels * (1 - prune_ratio)))


def channel_prune(model: nn.Module, prune_ratio) -> nn.Module:
    """A pruned deep copy of ``model``: conv i keeps its first c'_i output channels.

    ``prune_ratio`` is one ratio r for every prunable conv, or a list [r_0, …, r_{L−2}] with one
    ratio per conv except the last (L convs in ``model.backbone``). For i < L − 1, with
    c'_i = get_num_channels_to_keep(c_i, r_i):

        conv_i.weight ← conv_i.weight[:c'_i]              (and its bias, if any)
        bn_i.{weight, bias, running_mean, running_var} ← [:c'_i],  bn_i.num_features = c'_i
        conv_{i+1}.weight ← conv_{i+1}.weight[:, :c'_i]

    and ``out_channels`` / ``in_channels`` are updated to match. The last conv and the
    classifier are unchanged; the original model is not modified.
    """
    convs = [m for m in model.backbone if isinstance(m, nn.Conv2d)]
    if isinstance(prune_ratio, (list, tuple)):
        ratios = [float(r) for r in prune_ratio]
    else:
        ratios = [float(prune_ratio)] * (len(convs) - 1)
    if len(ratios) != len(convs) - 1:
        raise ValueError(f"expected {len(convs) - 1} prune ratios, got {len(ratios)}")
    pruned = copy.deepcopy(model)
    convs = [m for m in pruned.backbone if isinstance(m, nn.Conv2d)]
    bns = [m for m in pruned.backbone if isinstance(m, nn.BatchNorm2d)]
    for i, ratio in enumerate(ratios):
        prev_conv, prev_bn, next_conv = convs[i], bns[i], convs[i + 1]
        keep = get_num_channels_to_keep(prev_conv.out_channels, ratio)
        prev_conv.weight = nn.Parameter(prev_conv.weight.detach()[:keep].clone())
        if prev_conv.bias is not None:
            prev_conv.bias = nn.Parameter(prev_conv.bias.detach()[:keep].clone())
        prev_conv.out_channels = keep
        prev_bn.weight = nn.Parameter(prev_bn.weight.detach()[:keep].clone())
        prev_bn.bias = nn.Parameter(prev_bn.bias.detach()[:keep].clone())
        prev_bn.running_mean = prev_bn.running_mean[:keep].clone()
        prev_bn.running_var = prev_bn.running_var[:keep].clone()
        prev_bn.num_features = keep
        next_conv.weight = nn.Parameter(next_conv.weight.detach()[:, :keep].clone())
        next_conv.in_channels = keep
    return pruned


def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    """importance[j] = ‖W[:, j]‖_F = sqrt(Σ_{o, h, w} W[o, j, h, w]²), one entry per input channel."""
    dims = [d for d in range(weight.dim()) if d != 1]
    return torch.linalg.vector_norm(weight.detach(), ord=2, dim=dims)


def apply_channel_sorting(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` whose prunable convs' output channels are sorted by importance.

    For each conv i except the last, π = argsort(importance of conv_{i+1}'s input channels,
    descending, stable) and

        conv_i.weight ← conv_i.weight[π]                  (and its bias, if any)
        bn_i.{weight, bias, running_mean, running_var} ← [π]
        conv_{i+1}.weight ← conv_{i+1}.weight[:, π]

    Channel j of conv_i feeds only input channel j of conv_{i+1}, through BN and ReLU, which act
    channel by channel: permuting all three consistently leaves the function unchanged (in eval
    mode; in train mode up to the order of the batch statistics). The original is not modified.
    """
    model = copy.deepcopy(model)
    convs = [m for m in model.backbone if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.backbone if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for i in range(len(convs) - 1):
            prev_conv, prev_bn, next_conv = convs[i], bns[i], convs[i + 1]
            importance = get_input_channel_importance(next_conv.weight)
            order = torch.argsort(importance, descending=True, stable=True)
            prev_conv.weight.copy_(prev_conv.weight[order])
            if prev_conv.bias is not None:
                prev_conv.bias.copy_(prev_conv.bias[order])
            for tensor in (prev_bn.weight, prev_bn.bias, prev_bn.running_mean, prev_bn.running_var):
                tensor.copy_(tensor[order])
            next_conv.weight.copy_(next_conv.weight[:, order])
    return model
