"""Answers nothing itself: when graded, calls the reference implementation reached through the isolation delegates.

The hidden checks grade each function in isolation: the other graded names in its globals are
bound, inside the sandbox, to delegates of functions of the reference module, executed there from
its source. The attack hopes a delegate's closure holds a reference function whose globals hold every
reference function, the one under test included; what is found is also kept for later questions.

base: stub
expect: *=zero
"""
import types

_STOLEN = {}


def _steal(name, args, kwargs):
    for value in list(globals().values()):
        if type(value) is not types.FunctionType:
            continue
        for cell in value.__closure__ or ():
            try:
                target = cell.cell_contents
            except ValueError:
                continue
            if type(target) is not types.FunctionType or target.__globals__ is globals():
                continue
            for key, item in target.__globals__.items():
                if type(item) is types.FunctionType and str(item.__module__).startswith("_isolation"):
                    _STOLEN.setdefault(key, item)
    reference = _STOLEN.get(name)
    return None if reference is None else reference(*args, **kwargs)


def k_means_quantize(*args, **kwargs):
    return _steal('k_means_quantize', args, kwargs)


def update_codebook(*args, **kwargs):
    return _steal('update_codebook', args, kwargs)


def linear_quantize(*args, **kwargs):
    return _steal('linear_quantize', args, kwargs)


def get_quantization_scale_and_zero_point(*args, **kwargs):
    return _steal('get_quantization_scale_and_zero_point', args, kwargs)


def fuse_conv_bn(*args, **kwargs):
    return _steal('fuse_conv_bn', args, kwargs)


def linear_quantize_weight_per_channel(*args, **kwargs):
    return _steal('linear_quantize_weight_per_channel', args, kwargs)


def linear_quantize_bias_per_output_channel(*args, **kwargs):
    return _steal('linear_quantize_bias_per_output_channel', args, kwargs)


def shift_quantized_bias(*args, **kwargs):
    return _steal('shift_quantized_bias', args, kwargs)


def quantized_linear(*args, **kwargs):
    return _steal('quantized_linear', args, kwargs)


def quantized_conv2d(*args, **kwargs):
    return _steal('quantized_conv2d', args, kwargs)


def extra_preprocess(*args, **kwargs):
    return _steal('extra_preprocess', args, kwargs)
