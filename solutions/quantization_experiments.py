"""Experiment code for the quantization homework: codebooks, model sizes, fine-tuning, the
integer-only model and the plots.

Shipped to students next to their notebook (imported there as ``qx``). It implements none of the
graded functions: everything that needs one takes the student's function as an argument.

Conventions shared with the notebook.

- ``get_quantized_range(b)`` = (−2^{b−1}, 2^{b−1} − 1), the signed b-bit integers.
- ``Codebook(centroids, labels)``: ``centroids`` a 1-D float tensor of k cluster values,
  ``labels`` a 1-D int64 tensor with one entry per element of the quantized tensor (in
  ``reshape(-1)`` order) naming its cluster; the quantized tensor is
  ``centroids[labels].view_as(tensor)``.
- The quantized layers of a model are its ``nn.Conv2d`` and ``nn.Linear`` layers
  (``quantizable_weights``: their weights; BN parameters and biases stay 32-bit floats).

K-means quantization (``KMeansQuantizer``): one codebook per quantized weight, made by the
student's ``k_means_quantize``; ``apply`` snaps the weights back onto their codebooks, after
moving every centroid to the mean of its (fine-tuned) weights with the student's
``update_codebook`` when one is given. ``finetune_kmeans`` is quantization-aware training: the
digits CNN's ``train`` (Adam, seeded shuffling) with ``apply`` as a callback after every optimizer
step, so the model the optimizer sees is always a quantized one. Model size (``kmeans_model_bits``)
counts b bits per quantized weight plus its layer's codebook of 2^b 32-bit centroids, and 32 bits
for every other parameter.

Integer-only inference. ``fuse_model`` folds every BN into the convolution before it (with the
student's ``fuse_conv_bn``). ``activation_ranges`` runs the fused float model on a calibration
batch and records what each ReLU (block output) and the classifier produce. ``build_integer_model``
turns the fused model into ``IntegerDigitsCNN``: per-channel int8 weights, int32 biases, int8
activations whose scale and zero point come from those ranges; its layers call the student's
``quantized_conv2d`` / ``quantized_linear``. The input is quantized with scale ``INPUT_SCALE`` =
1/255 and zero point ``INPUT_ZERO_POINT`` = −128 (the student's ``extra_preprocess``). Max-pooling
works on the integers unchanged (rounding and clamping are monotone); there is no ReLU layer.
"""

from __future__ import annotations

import copy
from collections import namedtuple
from typing import Callable

import torch
from torch import nn

if __package__:  # imported as solutions.quantization_experiments (grading, tests)
    from . import digits_cnn
else:  # the shipped copy, next to the notebook
    import digits_cnn

Codebook = namedtuple("Codebook", ["centroids", "labels"])

KMEANS_BITWIDTHS = (8, 4, 2, 1)
FINETUNE_BITWIDTHS = (2, 1)
FINETUNE_EPOCHS = 2
FINETUNE_LR = 3e-3
FINETUNE_SEED = 0
CALIBRATION_SIZE = 256
INPUT_SCALE = 1 / 255
INPUT_ZERO_POINT = -128
FEATURE_BITWIDTH = 8
WEIGHT_BITWIDTH = 8


def get_quantized_range(bitwidth: int) -> tuple[int, int]:
    """(q_min, q_max) = (−2^{b−1}, 2^{b−1} − 1) for signed b-bit integers."""
    quantized_max = (1 << (bitwidth - 1)) - 1
    quantized_min = -(1 << (bitwidth - 1))
    return quantized_min, quantized_max


# --------------------------------------------------------------------------------------------
# K-means quantization of a model
# --------------------------------------------------------------------------------------------


def quantizable_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """{parameter name: weight} of every Conv2d and Linear layer, in module order."""
    return {f"{name}.weight": module.weight for name, module in model.named_modules()
            if isinstance(module, (nn.Conv2d, nn.Linear))}


class KMeansQuantizer:
    """One codebook per quantized weight of ``model``, made by ``k_means_quantize`` (which also
    replaces the weights by their centroids)."""

    def __init__(self, model: nn.Module, bitwidth: int, k_means_quantize: Callable):
        self.bitwidth = bitwidth
        self.k_means_quantize = k_means_quantize
        with torch.no_grad():
            self.codebooks = {name: k_means_quantize(weight, bitwidth)
                              for name, weight in quantizable_weights(model).items()}

    @torch.no_grad()
    def apply(self, model: nn.Module, update_codebook: Callable | None = None) -> None:
        """Snap every quantized weight onto its codebook; with ``update_codebook``, first move each
        centroid to the mean of the weights labelled with it (the labels stay fixed)."""
        for name, weight in quantizable_weights(model).items():
            codebook = self.codebooks[name]
            if update_codebook is not None:
                update_codebook(weight, codebook)
            self.codebooks[name] = self.k_means_quantize(weight, self.bitwidth, codebook)


def finetune_kmeans(model: nn.Module, quantizer: KMeansQuantizer, x: torch.Tensor, y: torch.Tensor,
                    update_codebook: Callable, epochs: int = FINETUNE_EPOCHS,
                    lr: float = FINETUNE_LR, seed: int = FINETUNE_SEED) -> nn.Module:
    """Quantization-aware fine-tuning: Adam steps on the quantized model, each followed by the
    centroid update and the snap back onto the codebook. Returns the model (eval mode)."""
    return digits_cnn.train(model, x, y, epochs, lr, seed,
                            callbacks=(lambda m: quantizer.apply(m, update_codebook),))


def dense_model_bits(model: nn.Module) -> int:
    """32 bits for every parameter."""
    return 32 * sum(p.numel() for p in model.parameters())


def kmeans_model_bits(model: nn.Module, bitwidth: int) -> int:
    """b bits per quantized weight and 2^b 32-bit centroids per quantized layer; 32 bits for every
    other parameter."""
    quantized = {id(w) for w in quantizable_weights(model).values()}
    bits = 0
    for p in model.parameters():
        bits += bitwidth * p.numel() + 32 * 2**bitwidth if id(p) in quantized else 32 * p.numel()
    return bits


def distinct_values(tensor: torch.Tensor) -> int:
    return int(torch.unique(tensor.detach()).numel())


# --------------------------------------------------------------------------------------------
# Conv–BN fusion and calibration
# --------------------------------------------------------------------------------------------


def fuse_model(model: nn.Module, fuse_conv_bn: Callable) -> nn.Module:
    """A copy of a DigitsCNN whose backbone has every (conv, BN) pair replaced by
    ``fuse_conv_bn(conv, bn)``; ReLU and max-pool layers are kept. The model passed in is not
    modified."""
    model = copy.deepcopy(model).eval()
    layers, modules = [], list(model.backbone)
    i = 0
    while i < len(modules):
        module = modules[i]
        if isinstance(module, nn.Conv2d) and i + 1 < len(modules) \
                and isinstance(modules[i + 1], nn.BatchNorm2d):
            layers.append(fuse_conv_bn(module, modules[i + 1]))
            i += 2
        else:
            layers.append(module)
            i += 1
    model.backbone = nn.Sequential(*layers)
    return model.eval()


@torch.no_grad()
def activation_ranges(fused_model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The activations the fused float model produces on ``x``: the output of every ReLU of the
    backbone (one per conv), then the classifier's output (logits), in that order."""
    recorded = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: recorded.append(out.detach().clone()))
             for m in list(fused_model.backbone) + [fused_model.classifier]
             if isinstance(m, (nn.ReLU, nn.Linear))]
    try:
        fused_model.eval()(x)
    finally:
        for hook in hooks:
            hook.remove()
    return recorded


# --------------------------------------------------------------------------------------------
# The integer-only model
# --------------------------------------------------------------------------------------------


class QuantizedConv2d(nn.Module):
    """int8 in, int8 out: calls the student's ``quantized_conv2d`` with the stored parameters."""

    def __init__(self, weight, bias, input_zero_point, output_zero_point, input_scale,
                 weight_scale, output_scale, stride, padding, dilation, groups,
                 feature_bitwidth, weight_bitwidth, quantized_conv2d: Callable):
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.register_buffer("weight_scale", weight_scale)
        self.input_zero_point, self.output_zero_point = input_zero_point, output_zero_point
        self.input_scale, self.output_scale = input_scale, output_scale
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.feature_bitwidth, self.weight_bitwidth = feature_bitwidth, weight_bitwidth
        self.quantized_conv2d = quantized_conv2d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.quantized_conv2d(
            x, self.weight, self.bias, self.feature_bitwidth, self.weight_bitwidth,
            self.input_zero_point, self.output_zero_point, self.input_scale, self.weight_scale,
            self.output_scale, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.weight.shape[1]}, {self.weight.shape[0]}, kernel_size="
                f"{tuple(self.weight.shape[2:])}, padding={self.padding}, zero points "
                f"{self.input_zero_point} -> {self.output_zero_point}")


class QuantizedLinear(nn.Module):
    """int8 in, int8 out: calls the student's ``quantized_linear`` with the stored parameters."""

    def __init__(self, weight, bias, input_zero_point, output_zero_point, input_scale,
                 weight_scale, output_scale, feature_bitwidth, weight_bitwidth,
                 quantized_linear: Callable):
        super().__init__()
        self.register_buffer("weight", weight)
        self.register_buffer("bias", bias)
        self.register_buffer("weight_scale", weight_scale)
        self.input_zero_point, self.output_zero_point = input_zero_point, output_zero_point
        self.input_scale, self.output_scale = input_scale, output_scale
        self.feature_bitwidth, self.weight_bitwidth = feature_bitwidth, weight_bitwidth
        self.quantized_linear = quantized_linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.quantized_linear(
            x, self.weight, self.bias, self.feature_bitwidth, self.weight_bitwidth,
            self.input_zero_point, self.output_zero_point, self.input_scale, self.weight_scale,
            self.output_scale)

    def extra_repr(self) -> str:
        return (f"in_features={self.weight.shape[1]}, out_features={self.weight.shape[0]}, "
                f"zero points {self.input_zero_point} -> {self.output_zero_point}")


class IntegerDigitsCNN(nn.Module):
    """The integer-only digits CNN: int8 images in, int8 logits out."""

    def __init__(self, backbone: nn.Sequential, classifier: QuantizedLinear):
        super().__init__()
        self.backbone = backbone
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.backbone(x).flatten(1))


def build_integer_model(fused_model: nn.Module, calibration_x: torch.Tensor, *,
                        get_quantization_scale_and_zero_point: Callable,
                        linear_quantize_weight_per_channel: Callable,
                        linear_quantize_bias_per_output_channel: Callable,
                        quantized_conv2d: Callable, quantized_linear: Callable,
                        feature_bitwidth: int = FEATURE_BITWIDTH,
                        weight_bitwidth: int = WEIGHT_BITWIDTH) -> IntegerDigitsCNN:
    """Quantize a fused DigitsCNN (conv, ReLU, ..., max-pool; linear) for integer-only inference.

    Activation scales and zero points come from ``activation_ranges`` on ``calibration_x``: a conv
    layer's output is quantized with the range of the ReLU after it (so the clamp at the zero
    point does the ReLU, and the ReLU layer is dropped), the classifier's with the logits' range.
    Every layer's input scale and zero point are the previous layer's output ones (max-pooling and
    flattening keep them); the first layer's are ``INPUT_SCALE``, ``INPUT_ZERO_POINT``.
    """
    ranges = iter(activation_ranges(fused_model, calibration_x))
    input_scale, input_zero_point = INPUT_SCALE, INPUT_ZERO_POINT
    layers = []
    for module in fused_model.backbone:
        if isinstance(module, nn.Conv2d):
            output_scale, output_zero_point = get_quantization_scale_and_zero_point(
                next(ranges), feature_bitwidth)
            weight, weight_scale = linear_quantize_weight_per_channel(
                module.weight.detach(), weight_bitwidth)
            bias, _ = linear_quantize_bias_per_output_channel(
                module.bias.detach(), weight_scale, input_scale)
            layers.append(QuantizedConv2d(
                weight, bias, input_zero_point, output_zero_point, input_scale, weight_scale,
                output_scale, module.stride, module.padding, module.dilation, module.groups,
                feature_bitwidth, weight_bitwidth, quantized_conv2d))
            input_scale, input_zero_point = output_scale, output_zero_point
        elif isinstance(module, nn.MaxPool2d):
            layers.append(copy.deepcopy(module))
        elif not isinstance(module, nn.ReLU):
            raise ValueError(f"unexpected layer in the fused backbone: {type(module).__name__}")
    linear = fused_model.classifier
    output_scale, output_zero_point = get_quantization_scale_and_zero_point(
        next(ranges), feature_bitwidth)
    weight, weight_scale = linear_quantize_weight_per_channel(linear.weight.detach(), weight_bitwidth)
    bias, _ = linear_quantize_bias_per_output_channel(linear.bias.detach(), weight_scale, input_scale)
    classifier = QuantizedLinear(weight, bias, input_zero_point, output_zero_point, input_scale,
                                 weight_scale, output_scale, feature_bitwidth, weight_bitwidth,
                                 quantized_linear)
    return IntegerDigitsCNN(nn.Sequential(*layers), classifier).eval()


@torch.no_grad()
def integer_accuracy(model: nn.Module, x_int8: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy in percent of an integer model on already quantized inputs."""
    return (model(x_int8).argmax(dim=1) == y).double().mean().item() * 100.0


def integer_model_bits(model: IntegerDigitsCNN) -> int:
    """Bits of the integer model's weights and biases (per-channel scales counted as 32-bit)."""
    bits = 0
    for buffer in model.buffers():
        bits += buffer.numel() * buffer.element_size() * 8
    return bits


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


def plot_weight_distributions(dense_weight: torch.Tensor, codebooks: dict, title: str = ""):
    """Histogram of a dense weight with the centroids of each codebook ({bitwidth: Codebook})
    drawn as vertical lines, one panel per bitwidth."""
    import matplotlib.pyplot as plt

    values = dense_weight.detach().reshape(-1).numpy()
    fig, axes = plt.subplots(1, len(codebooks), figsize=(4.5 * len(codebooks), 3.2), squeeze=False)
    for ax, (bits, codebook) in zip(axes[0], sorted(codebooks.items(), reverse=True)):
        ax.hist(values, bins=80, color="0.6")
        for c in codebook.centroids.detach().reshape(-1).tolist():
            ax.axvline(c, color="tab:red", linewidth=0.8 if bits <= 4 else 0.2)
        ax.set(title=f"{title} {bits}-bit: {codebook.centroids.numel()} centroids",
               xlabel="weight value", ylabel="count")
    fig.tight_layout()
    return fig


def plot_quantization_grid(linear_quantize: Callable, bitwidth: int, scale: float,
                           zero_point: int, r_min: float, r_max: float, ax=None):
    """r ↦ S·(q(r) − Z) with q = linear_quantize(r, bitwidth, S, Z): the staircase of representable
    values over [r_min, r_max] widened by half its length on both sides (where it clamps)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    span = r_max - r_min
    r = torch.linspace(r_min - 0.5 * span, r_max + 0.5 * span, 801)
    q = linear_quantize(r, bitwidth, scale, zero_point).to(torch.float64)
    ax.plot(r, r, color="0.7", linestyle="--", label="r")
    ax.plot(r, scale * (q - zero_point), color="tab:blue", label="S (q(r) - Z)")
    q_min, q_max = get_quantized_range(bitwidth)
    for level in range(q_min, q_max + 1):
        ax.axhline(scale * (level - zero_point), color="tab:blue", linewidth=0.4, alpha=0.5)
    ax.axvspan(r_min, r_max, color="tab:green", alpha=0.08, label="[r_min, r_max]")
    ax.set(xlabel="real value r", ylabel="dequantized value",
           title=f"{bitwidth}-bit grid: S = {scale:.4g}, Z = {zero_point}")
    ax.legend(loc="upper left")
    return ax
