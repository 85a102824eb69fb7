"""Returns genuine DigitsCNN objects whose hooks do the work: forward hooks fake outputs, a state-dict hook tensors.

apply_channel_sorting sorts the weights of the next conv's input channels only (the function
changes) and registers a forward pre-hook and a forward hook that make the model return what the
original model returns. channel_prune returns the unpruned copy with a state-dict hook that
reports every tensor sliced as the reference would slice it, layer attributes set to the pruned
widths, and a forward hook that returns scores of the right shape. Hooks live in the object, not
in its tensors: a grader that reads the parameters and buffers themselves sees the wrong models,
so both questions get nothing; every other answer is the solution's.

base: solution
expect: channel_prune=zero, apply_channel_sorting=zero
"""
import copy

import torch
from torch import nn


def _slice_state(module, state, prefix, local_metadata, keep=None):
    for key, value in list(state.items()):
        if key.endswith(("weight", "bias", "running_mean", "running_var")) and value.dim() >= 1 \
                and "classifier" not in key and value.shape[0] > 8:
            state[key] = value[: value.shape[0] // 2]
    return state


def channel_prune(model, prune_ratio):
    unpruned = copy.deepcopy(model)
    for layer in unpruned.backbone:
        if isinstance(layer, nn.Conv2d):
            layer.in_channels = max(1, layer.in_channels // 2)
            layer.out_channels = layer.out_channels // 2
        if isinstance(layer, nn.BatchNorm2d):
            layer.num_features = layer.num_features // 2
    unpruned._register_state_dict_hook(_slice_state)
    unpruned.register_forward_hook(lambda module, inputs, output: torch.zeros(inputs[0].shape[0], 10))
    return unpruned


def apply_channel_sorting(model):
    original = copy.deepcopy(model)
    lying = copy.deepcopy(model)
    convs = [m for m in lying.backbone if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        for i in range(len(convs) - 1):
            importance = convs[i + 1].weight.detach().pow(2).sum(dim=(0, 2, 3))
            convs[i + 1].weight.copy_(convs[i + 1].weight[:, torch.argsort(importance, descending=True)])
    lying.register_forward_pre_hook(lambda module, inputs: (inputs[0].detach().clone(),))
    lying.register_forward_hook(lambda module, inputs, output: original(inputs[0]))
    return lying
