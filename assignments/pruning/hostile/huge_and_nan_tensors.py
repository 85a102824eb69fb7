"""Floods the grader: a 640 MiB in-place resize, a 640 MiB buffer on a returned model, NaN importances and BN statistics.

fine_grained_prune grows the tensor it was given to 640 MiB (the grader asks for the argument's
state after every call), channel_prune returns the correctly pruned model carrying a 640 MiB
buffer, get_input_channel_importance returns NaN, and apply_channel_sorting returns the correctly
sorted model with NaN running variances (NaN compares unequal and fails no "greater than" test).
Messages that large are refused and NaN is not a finite answer: those four get nothing, the rest
is the solution's.

base: solution
expect: fine_grained_prune=zero, channel_prune=zero, get_input_channel_importance=zero, apply_channel_sorting=zero
"""
import copy

import torch
from torch import nn

HUGE = 160 * 2**20  # float32 elements: 640 MiB, more than one message may carry


def fine_grained_prune(tensor, sparsity):
    mask = torch.ones(tensor.shape, dtype=torch.bool)
    tensor.resize_(HUGE)
    return mask


def channel_prune(model, prune_ratio):
    convs = [m for m in model.backbone if isinstance(m, nn.Conv2d)]
    ratios = prune_ratio if isinstance(prune_ratio, (list, tuple)) else [prune_ratio] * (len(convs) - 1)
    pruned = copy.deepcopy(model)
    convs = [m for m in pruned.backbone if isinstance(m, nn.Conv2d)]
    bns = [m for m in pruned.backbone if isinstance(m, nn.BatchNorm2d)]
    for i, ratio in enumerate(ratios):
        keep = get_num_channels_to_keep(convs[i].out_channels, ratio)
        convs[i].weight = nn.Parameter(convs[i].weight.detach()[:keep].clone())
        convs[i].out_channels = keep
        bns[i].weight = nn.Parameter(bns[i].weight.detach()[:keep].clone())
        bns[i].bias = nn.Parameter(bns[i].bias.detach()[:keep].clone())
        bns[i].running_mean = bns[i].running_mean[:keep].clone()
        bns[i].running_var = bns[i].running_var[:keep].clone()
        bns[i].num_features = keep
        convs[i + 1].weight = nn.Parameter(convs[i + 1].weight.detach()[:, :keep].clone())
        convs[i + 1].in_channels = keep
    pruned.register_buffer("scratch", torch.zeros(HUGE))
    return pruned


def get_input_channel_importance(weight):
    return torch.full((weight.shape[1],), float("nan"))


def apply_channel_sorting(model):
    model = copy.deepcopy(model)
    convs = [m for m in model.backbone if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.backbone if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for i in range(len(convs) - 1):
            importance = convs[i + 1].weight.detach().pow(2).sum(dim=(0, 2, 3))
            order = torch.argsort(importance, descending=True, stable=True)
            convs[i].weight.copy_(convs[i].weight[order])
            for tensor in (bns[i].weight, bns[i].bias, bns[i].running_mean, bns[i].running_var):
                tensor.copy_(tensor[order])
            convs[i + 1].weight.copy_(convs[i + 1].weight[:, order])
            bns[i].running_var.fill_(float("nan"))
    return model
