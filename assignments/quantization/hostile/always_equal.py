"""Answers with objects that claim to be right: tensors equal to anything, lying pairs, letters equal to every option.

Every tensor returned is a subclass whose ``dtype`` says int8, whose ``tolist`` returns the
public examples' expected lists, whose ``__eq__`` and ``torch.equal``/``torch.allclose`` (through
``__torch_function__``) answer True; pairs are tuple subclasses that index and unpack to the
expected numbers; the multiple-choice answers are str subclasses equal to every letter; the
codebook's centroids are updated to nothing. The values underneath are junk, so the stub's zero
is what they deserve.

base: stub
expect: *=zero
"""
import torch

_TRUTHY = {torch.equal, torch.allclose, torch.all, torch.any, torch.isclose, torch.Tensor.all,
           torch.Tensor.any, torch.Tensor.__eq__, torch.Tensor.__le__, torch.Tensor.__ge__,
           torch.Tensor.__bool__, torch.Tensor.equal, torch.Tensor.allclose}
_EXPECTED_LISTS = ([-128, 127], [-2, -1, 0, 1], [16, -11], [500, -1250], [[38, -127, 32], [85, 42, -127]])


class Claims(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in _TRUTHY:
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

    def __eq__(self, other):
        return True

    __hash__ = torch.Tensor.__hash__

    def tolist(self):
        return next((e for e in _EXPECTED_LISTS if len(e) == self.shape[0]), [])


class Pair(tuple):
    def __getitem__(self, index):
        return (1 / 3, -1)[index]

    def __iter__(self):
        return iter((1 / 3, -1))


class AnyLetter(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__

    def strip(self, *args):
        return self

    def upper(self):
        return self


def _claims(shape):
    return torch.zeros(shape, dtype=torch.int8).as_subclass(Claims)


def update_codebook(fp32_tensor, codebook):
    codebook.centroids.zero_()


def k_means_quantize(fp32_tensor, bitwidth=4, codebook=None):
    return Codebook(torch.zeros(2**bitwidth).as_subclass(Claims),
                    torch.zeros(fp32_tensor.numel(), dtype=torch.int64).as_subclass(Claims))


scale_formula_choice = AnyLetter("?")

zero_point_formula_choice = AnyLetter("?")


def linear_quantize(fp_tensor, bitwidth, scale, zero_point, dtype=torch.int8):
    return _claims(fp_tensor.shape)


def get_quantization_scale_and_zero_point(fp_tensor, bitwidth):
    return Pair((0.0, 0))


def fuse_conv_bn(conv, bn):
    return conv


def linear_quantize_weight_per_channel(weight, bitwidth):
    return Pair((_claims(weight.shape), torch.ones(weight.shape[0], 1).as_subclass(Claims)))


def linear_quantize_bias_per_output_channel(bias, weight_scale, input_scale):
    return Pair((_claims(bias.shape), torch.ones(bias.shape).as_subclass(Claims)))


def shift_quantized_bias(quantized_bias, quantized_weight, input_zero_point):
    return _claims(quantized_bias.shape)


def quantized_linear(input, weight, bias, feature_bitwidth, weight_bitwidth,
                     input_zero_point, output_zero_point,
                     input_scale, weight_scale, output_scale):
    return _claims((input.shape[0], weight.shape[0]))


def quantized_conv2d(input, weight, bias, feature_bitwidth, weight_bitwidth,
                     input_zero_point, output_zero_point,
                     input_scale, weight_scale, output_scale,
                     stride, padding, dilation, groups):
    return _claims((input.shape[0], weight.shape[0], input.shape[2], input.shape[3]))


def extra_preprocess(x):
    return _claims(x.shape)
