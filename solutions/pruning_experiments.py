"""Experiment code for the pruning homework: counters, plots, the sensitivity scan, fine-tuning.

Shipped to students next to their notebook (imported there as ``px``). It implements none of the
graded functions: the scan and ``apply_sparsity`` take the student's ``fine_grained_prune`` as an
argument.

Model size. The size of a model is the number of non-zero entries of its *prunable weights*: the
weights of every ``nn.Conv2d`` and ``nn.Linear`` layer (``prunable_weights``; BN parameters and
the linear bias, 0.5 % of the parameters, are neither pruned nor counted). The size target of the
fine-grained part is ``SIZE_TARGET`` = 25 % of the dense model's count; the accuracy target is
the dense test accuracy minus ``ACCURACY_DROP`` = 1 point, reached after ``fine_tune``.

Fine-tuning recipe (``fine_tune``): ``FINE_TUNE_EPOCHS`` epochs of Adam (``FINE_TUNE_LR``) on the
training split, shuffled with seed ``FINE_TUNE_SEED``, on one CPU thread, with the pruning masks
re-applied after every optimizer step so pruned weights stay zero. The hidden test of
``sparsity_dict`` runs exactly this function, so the notebook and the grader agree.

Costs. ``count_macs`` counts multiply-accumulates of the conv and linear layers for one 8×8
input (a conv output element costs in_channels/groups · kh · kw MACs, a linear output element
in_features), with forward hooks; ``count_parameters`` counts every parameter;
``measure_latency`` times a forward pass with ``torch.utils.benchmark`` on one thread.
"""

from __future__ import annotations

import copy
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

if __package__:  # imported as solutions.pruning_experiments (grading, tests)
    from . import digits_cnn
else:  # the shipped copy, next to the notebook
    import digits_cnn

SIZE_TARGET = 0.25
ACCURACY_DROP = 1.0
FINE_TUNE_EPOCHS = 3
FINE_TUNE_LR = 1e-3
FINE_TUNE_SEED = 0
SCAN_SPARSITIES = (0.4, 0.6, 0.8, 0.9, 0.95)
INPUT_SHAPE = (1, 1, 8, 8)

# The 5×5 example of the fine-grained section: 25 distinct magnitudes, mixed signs.
EXAMPLE = (
    (-0.46, 0.13, 0.39, -0.04, 0.27),
    (0.08, -0.31, 0.50, 0.19, -0.12),
    (0.35, -0.02, -0.23, 0.44, 0.06),
    (-0.16, 0.29, 0.10, -0.48, 0.21),
    (0.41, -0.25, -0.09, 0.33, -0.14),
)


def example_tensor() -> torch.Tensor:
    """A fresh float32 copy of the 5×5 example."""
    return torch.tensor(EXAMPLE, dtype=torch.float32)


# ------------------------------------------------------------------------------------------------
# Counting
# ------------------------------------------------------------------------------------------------


def prunable_weights(model: nn.Module) -> dict[str, nn.Parameter]:
    """name → weight of every Conv2d and Linear layer, names as in ``model.named_parameters()``."""
    found = {}
    for module_name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            found[f"{module_name}.weight" if module_name else "weight"] = module.weight
    return found


def count_weights(model: nn.Module) -> int:
    """Number of entries of the prunable weights (the dense size)."""
    return sum(int(w.numel()) for w in prunable_weights(model).values())


def count_nonzero_weights(model: nn.Module) -> int:
    """Number of non-zero entries of the prunable weights (the size of a pruned model)."""
    return sum(int(torch.count_nonzero(w.detach())) for w in prunable_weights(model).values())


def count_parameters(model: nn.Module) -> int:
    """Number of entries of every parameter (weights, biases, BN scales and shifts)."""
    return sum(int(p.numel()) for p in model.parameters())


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: tuple[int, ...] = INPUT_SHAPE) -> int:
    """Multiply-accumulates of the Conv2d and Linear layers for one forward pass of a zero input
    of ``input_shape`` (batch 1 by default): conv = out elements · in/groups · kh · kw,
    linear = out elements · in_features."""
    total = [0]

    def conv_hook(module, inputs, output):
        kh, kw = module.kernel_size
        total[0] += output.numel() * (module.in_channels // module.groups) * kh * kw

    def linear_hook(module, inputs, output):
        total[0] += output.numel() * module.in_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        parameter = next(model.parameters())
        model(torch.zeros(input_shape, dtype=parameter.dtype))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return int(total[0])


def conv_widths(model: nn.Module) -> list[int]:
    """Output channels of the convolutions in ``model.backbone``, in order."""
    return [m.out_channels for m in model.backbone if isinstance(m, nn.Conv2d)]


# ------------------------------------------------------------------------------------------------
# Fine-grained pruning experiments
# ------------------------------------------------------------------------------------------------


def plot_weight_histograms(model: nn.Module, bins: int = 60):
    """One histogram per prunable weight (conv and linear), with the layer's mean |w|."""
    import matplotlib.pyplot as plt

    weights = prunable_weights(model)
    fig, axes = plt.subplots(1, len(weights), figsize=(3.2 * len(weights), 2.8))
    for ax, (name, weight) in zip(np.atleast_1d(axes), weights.items()):
        values = weight.detach().flatten().numpy()
        ax.hist(values, bins=bins, color="tab:blue", alpha=0.8)
        ax.set_title(f"{name}\n{values.size} weights, mean |w| {np.abs(values).mean():.3f}",
                     fontsize=9)
        ax.set_xlabel("weight")
    fig.tight_layout()
    return fig


def plot_matrices(matrices: dict[str, torch.Tensor]):
    """Small matrices side by side, each entry printed in its cell (zeros greyed out)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(matrices), figsize=(3.2 * len(matrices), 3.0))
    for ax, (title, matrix) in zip(np.atleast_1d(axes), matrices.items()):
        values = matrix.detach().to(torch.float64).numpy()
        limit = float(np.abs(values).max()) or 1.0
        ax.imshow(values, cmap="coolwarm", vmin=-limit, vmax=limit)
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:.2f}" if v != 0 else "0", ha="center", va="center", fontsize=8,
                    color="0.5" if v == 0 else "black")
        ax.set_title(f"{title}: {int(np.count_nonzero(values))} non-zeros", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def sensitivity_scan(model: nn.Module, prune: Callable, x: torch.Tensor, y: torch.Tensor,
                     sparsities: Iterable[float] = SCAN_SPARSITIES) -> dict[str, list[float]]:
    """layer name → test accuracies after pruning *only that layer* to each sparsity.

    ``prune(tensor, sparsity)`` is a fine-grained pruning function (in place); every point starts
    from a fresh copy of ``model``, no fine-tuning.
    """
    scan = {}
    for name in prunable_weights(model):
        accuracies = []
        for sparsity in sparsities:
            pruned = copy.deepcopy(model)
            prune(dict(pruned.named_parameters())[name].data, sparsity)
            accuracies.append(digits_cnn.evaluate(pruned, x, y))
        scan[name] = accuracies
    return scan


def plot_sensitivity(scan: dict[str, list[float]], dense_accuracy: float,
                     sparsities: Iterable[float] = SCAN_SPARSITIES):
    """Accuracy against sparsity, one panel per layer, with the dense accuracy − 1 point."""
    import matplotlib.pyplot as plt

    sparsities = list(sparsities)
    fig, axes = plt.subplots(1, len(scan), figsize=(3.2 * len(scan), 2.8), sharey=True)
    for ax, (name, accuracies) in zip(np.atleast_1d(axes), scan.items()):
        ax.plot(sparsities, accuracies, "o-")
        ax.axhline(dense_accuracy - ACCURACY_DROP, color="gray", ls="--", lw=1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("sparsity")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("test accuracy (%)")
    fig.tight_layout()
    return fig


def apply_sparsity(model: nn.Module, sparsity_dict: dict, prune: Callable) -> dict[str, torch.Tensor]:
    """Prune ``model`` in place, layer by layer: ``prune(weight, sparsity_dict[name])``; returns
    name → the boolean keep-mask of every pruned layer (for ``fine_tune``)."""
    parameters = dict(model.named_parameters())
    unknown = sorted(set(sparsity_dict) - set(prunable_weights(model)))
    if unknown:
        raise KeyError(f"not a conv or linear weight of this model: {unknown}")
    return {name: prune(parameters[name].data, sparsity) for name, sparsity in sparsity_dict.items()}


def size_ratio(pruned: nn.Module, dense: nn.Module) -> float:
    """Non-zero prunable weights of ``pruned`` over the prunable weights of ``dense``."""
    return count_nonzero_weights(pruned) / count_weights(dense)


def fine_tune(model: nn.Module, masks: dict[str, torch.Tensor] | None = None,
              splits: digits_cnn.DigitsSplits | None = None, epochs: int = FINE_TUNE_EPOCHS,
              lr: float = FINE_TUNE_LR, seed: int = FINE_TUNE_SEED) -> nn.Module:
    """The fine-tuning recipe (see the module docstring): returns ``model``, trained in place,
    in eval mode, with every masked weight still zero. One CPU thread, so the seed fixes the
    result."""
    splits = splits if splits is not None else digits_cnn.load_digits_splits()
    parameters = dict(model.named_parameters())
    masked = [(parameters[name], mask.to(parameters[name].dtype)) for name, mask in (masks or {}).items()]

    def reapply_masks(_model):
        with torch.no_grad():
            for weight, mask in masked:
                weight.mul_(mask)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        reapply_masks(model)
        digits_cnn.train(model, splits.x_train, splits.y_train, epochs, lr, seed,
                         callbacks=(reapply_masks,))
    finally:
        torch.set_num_threads(threads)
    return model


# ------------------------------------------------------------------------------------------------
# Channel pruning: costs
# ------------------------------------------------------------------------------------------------


def measure_latency(model: nn.Module, x: torch.Tensor, min_run_time: float = 0.2) -> float:
    """Median seconds of one forward pass of ``model`` on ``x`` (eval mode, no grad, one thread),
    from ``torch.utils.benchmark.Timer.blocked_autorange``."""
    from torch.utils import benchmark

    model.eval()
    timer = benchmark.Timer(stmt="with torch.no_grad(): model(x)",
                            globals={"model": model, "x": x, "torch": torch}, num_threads=1)
    return float(timer.blocked_autorange(min_run_time=min_run_time).median)


def profile(model: nn.Module, x: torch.Tensor, min_run_time: float = 0.2) -> dict[str, float]:
    """{"macs", "parameters", "latency_ms"} of one model (latency of a forward pass on ``x``)."""
    return {"macs": count_macs(model), "parameters": count_parameters(model),
            "latency_ms": 1e3 * measure_latency(model, x, min_run_time)}


def print_profiles(profiles: dict[str, dict[str, float]], baseline: str) -> None:
    """A table of MACs, parameters and latency per model, with the ratio to ``baseline``."""
    base = profiles[baseline]
    print(f"{'model':<22}{'MACs':>12}{'params':>10}{'latency (ms)':>14}"
          f"{'MACs x':>9}{'params x':>10}{'speed-up':>10}")
    for name, p in profiles.items():
        print(f"{name:<22}{p['macs']:>12,d}{p['parameters']:>10,d}{p['latency_ms']:>14.3f}"
              f"{base['macs'] / p['macs']:>9.2f}{base['parameters'] / p['parameters']:>10.2f}"
              f"{base['latency_ms'] / p['latency_ms']:>10.2f}")
