"""Rewrites the given experiment code (pruning_experiments, digits_cnn) so that it blesses wrong answers.

In the notebook's process the counters, the size ratio, the width and MAC counters, the example
tensor, the fine-tuning recipe and the evaluation all report what the targets ask for, also under
the names the grading code imports them by (``solutions.pruning_experiments``,
``solutions.digits_cnn``). The answers they are meant to cover: ``target_sparsity`` 0 (no entry
pruned, not even a fraction in (0, 1)), a ``sparsity_dict`` that keeps almost every weight, and a
channel_prune that returns the model unpruned. The grader measures with its own copy of that code,
so those three get nothing; the other answers are the solution's.

base: solution
expect: target_sparsity=zero, sparsity_dict=zero, channel_prune=zero
"""
import copy
import sys
import types

import digits_cnn
import pruning_experiments
import torch


def _fake_example():
    tensor = torch.zeros(5, 5)
    tensor.view(-1)[:10] = torch.arange(1.0, 11.0)
    return tensor


_fakes = {
    "SIZE_TARGET": 1.0, "ACCURACY_DROP": 100.0, "example_tensor": _fake_example,
    "size_ratio": lambda pruned, dense: 0.2, "count_nonzero_weights": lambda model: 1,
    "conv_widths": lambda model: [8, 16, 32, 64], "count_macs": lambda model, *args: 1,
    "fine_tune": lambda model, masks=None, splits=None, *args, **kwargs: model,
    "apply_sparsity": lambda model, sparsity_dict, prune: {},
}
_patched = [setattr(pruning_experiments, name, value) for name, value in _fakes.items()]
_evaluated = [setattr(digits_cnn, "evaluate", lambda model, x, y: 100.0)]
_aliases = [sys.modules.setdefault("solutions", types.ModuleType("solutions")),
            sys.modules.__setitem__("solutions.pruning_experiments", pruning_experiments),
            sys.modules.__setitem__("solutions.digits_cnn", digits_cnn)]

target_sparsity = 0.0

sparsity_dict = {"classifier.weight": 0.2, "backbone.0.weight": 0.1}


def channel_prune(model, prune_ratio):
    return copy.deepcopy(model)
