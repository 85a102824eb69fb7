"""Plants its own "reference" and rewrites the given quantization helpers so that they agree with its wrong answers.

In the notebook's process: ``get_quantized_range`` (in the given module, under the names the
grading code imports it by, and in the notebook) returns an unbounded range, ``torch.round`` is
truncation, and fake ``solutions.quantization`` / ``autograder.checks.quantization`` modules hold
the notebook's own answers as the reference letters and a check that passes everything. The
answers: the wrong letters, a linear_quantize that truncates and never clamps, a scale and zero
point computed from the unbounded range. The grader's checks, reference and helpers are its own,
so the planting earns nothing: the stub's zero everywhere, except that a wrong letter still
passes the public test (any one letter does, as for fixtures/choice_wrong_scale.py), so the two
choices keep exactly their public points and no hidden ones.

base: stub
expect: *=zero, scale_formula_choice=public, zero_point_formula_choice=public
"""
import sys
import types

import quantization_experiments
import torch

_unbounded = lambda bitwidth: (-(2**62), 2**62)
_fake_reference = types.ModuleType("solutions.quantization")
_fake_checks = types.ModuleType("autograder.checks.quantization")
_planted = [
    setattr(quantization_experiments, "get_quantized_range", _unbounded),
    setattr(torch, "round", torch.trunc),
    setattr(_fake_reference, "scale_formula_choice", "A"),
    setattr(_fake_reference, "zero_point_formula_choice", "D"),
    setattr(_fake_reference, "__all__", []),
    setattr(_fake_checks, "__getattr__", lambda name: (lambda env: None)),
    sys.modules.setdefault("solutions", types.ModuleType("solutions")),
    sys.modules.__setitem__("solutions.quantization", _fake_reference),
    sys.modules.__setitem__("solutions.quantization_experiments", quantization_experiments),
    sys.modules.__setitem__("autograder.checks.quantization", _fake_checks),
]

get_quantized_range = _unbounded

scale_formula_choice = "A"

zero_point_formula_choice = "D"


def linear_quantize(fp_tensor, bitwidth, scale, zero_point, dtype=torch.int8):
    return (fp_tensor / scale + zero_point).to(dtype)


def get_quantization_scale_and_zero_point(fp_tensor, bitwidth):
    q_min, q_max = get_quantized_range(bitwidth)
    r_min, r_max = fp_tensor.min().item(), fp_tensor.max().item()
    scale = (r_max - r_min) / (q_max - q_min) or 1.0
    return float(scale), int(q_min - r_min / scale)
