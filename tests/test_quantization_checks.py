"""The hidden checks of the quantization assignment against its fixture submissions.

Every fixture × question outcome must match the fixture's expectation on the hidden check
(``full`` passes, ``public``/``zero`` fail); the reference passes; the untouched stub fails every
check with a short message free of source; two gradings agree. The plumbing is shared with the
other assignments in ``tests/check_matrix.py``; ``QUANTIZATION_CHECKS_FULL=1`` recomputes every
pair instead of reusing outcomes of identical code.

Further tests pin the weak spots the checks must cover (bitwidths where 2^b, 2b and b² differ,
out-of-range values, batch size equal to the channel count, dtypes), the oracles they rely on,
their safety against hostile return values, and isolation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.checks import quantization as checks
from solutions import quantization as reference
from tests.check_matrix import CheckMatrix, outcome, standard_tests

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
MATRIX = CheckMatrix(checks, reference, ROOT / "assignments" / "quantization" / "fixtures",
                     full_env="QUANTIZATION_CHECKS_FULL")
ANSWERS = MATRIX.answers
globals().update(standard_tests(MATRIX))


def test_questions_are_the_reference_api():
    assert set(checks.CHECKS) == set(reference.__all__) == set(ANSWERS)
    assert set(checks.CHOICES) <= set(ANSWERS)
    assert all(callable(getattr(reference, q)) for q in checks.FUNCTIONS)


def test_stub_variables_fail():
    """An untouched notebook holds ``...`` for the multiple-choice variables."""
    namespace = MATRIX.reference_namespace()
    for question in checks.CHOICES:
        namespace[question] = ...
        message = outcome(checks.CHECKS[question], namespace)
        assert message is not None and message.startswith(f"{question}: ")


# ------------------------------------------------------------------------------------------------
# Weak spots of the original checks, each shown to be caught
# ------------------------------------------------------------------------------------------------


def _with(name, fn):
    namespace = MATRIX.reference_namespace()
    namespace[name] = fn
    return outcome(checks.CHECKS[name], namespace)


def _kmeans_with_clusters(count):
    """k-means with ``count(bitwidth)`` clusters, otherwise the reference."""

    def k_means_quantize(fp32_tensor, bitwidth=4, codebook=None):
        if codebook is None:
            values = fp32_tensor.detach().reshape(-1)
            distinct = torch.unique(values)
            k = min(count(bitwidth), distinct.numel())
            if distinct.numel() <= k:
                codebook = reference.Codebook(distinct.clone(), torch.searchsorted(distinct, values))
            else:
                centroids = torch.linspace(values.min().item(), values.max().item(), k)
                labels = None
                for _ in range(1000):
                    nearest = (values[:, None] - centroids[None, :]).abs().argmin(dim=1)
                    if labels is not None and torch.equal(nearest, labels):
                        break
                    labels = nearest
                    reference.update_codebook(values, reference.Codebook(centroids, labels))
                codebook = reference.Codebook(centroids, labels)
        with torch.no_grad():
            fp32_tensor.copy_(codebook.centroids[codebook.labels].view_as(fp32_tensor))
        return codebook

    return k_means_quantize


@pytest.mark.parametrize("count", [lambda b: 2 * b, lambda b: b * b, lambda b: 2**b - 1],
                         ids=["2b", "b^2", "2^b-1"])
def test_cluster_count_mistakes_are_caught(count):
    """At bitwidth 2 all of 2^b, 2b and b² are 4; the checks use 3..6 (b² = 2^b only at 4)."""
    message = _with("k_means_quantize", _kmeans_with_clusters(count))
    assert message is not None and "centroids" in message


def test_the_correct_cluster_count_passes():
    assert _with("k_means_quantize", _kmeans_with_clusters(lambda b: 2**b)) is None


def test_degenerate_kmeans_with_equal_centroids_is_caught():
    """All centroids started equal: one cluster takes everything, the others stay duplicates."""

    def k_means_quantize(fp32_tensor, bitwidth=4, codebook=None):
        if codebook is None:
            values = fp32_tensor.detach().reshape(-1)
            distinct = torch.unique(values)
            if distinct.numel() <= 2**bitwidth:
                codebook = reference.Codebook(distinct.clone(), torch.searchsorted(distinct, values))
            else:
                centroids = torch.full((2**bitwidth,), values.mean().item())
                codebook = reference.Codebook(centroids, torch.zeros(values.numel(), dtype=torch.long))
        with torch.no_grad():
            fp32_tensor.copy_(codebook.centroids[codebook.labels].view_as(fp32_tensor))
        return codebook

    message = _with("k_means_quantize", k_means_quantize)
    assert message is not None and "distinct" in message


def test_update_codebook_keeping_wrong_dtype_labels_is_not_required():
    """update_codebook gets int64 labels; a student's version indexing with them passes."""
    assert _with("update_codebook", reference.update_codebook) is None


def test_missing_per_channel_view_is_caught_when_batch_equals_channels():
    """Multiplying the [N, C] accumulator by the [C, 1] scale only runs when N = C (or 1)."""
    seen = []

    def quantized_linear(input, weight, bias, feature_bitwidth, weight_bitwidth,
                         input_zero_point, output_zero_point, input_scale, weight_scale,
                         output_scale):
        seen.append(tuple(input.shape[:1]) + tuple(weight.shape[:1]))
        shifted = reference.shift_quantized_bias(bias, weight, input_zero_point).long()
        acc = torch.nn.functional.linear(input.long(), weight.long(), shifted).double()
        y = acc * (input_scale * weight_scale.double() / output_scale) + output_zero_point
        q_min, q_max = reference.get_quantized_range(feature_bitwidth)
        return y.round().clamp(q_min, q_max).to(torch.int8)

    message = _with("quantized_linear", quantized_linear)
    assert message is not None and "quantized_linear: " in message
    assert any(n == c for n, c in seen), "the check must include batch size = channel count"


def test_linear_quantize_cases_include_out_of_range_and_both_dtypes():
    calls = []

    def linear_quantize(fp_tensor, bitwidth, scale, zero_point, dtype=torch.int8):
        calls.append((bitwidth, dtype))
        return reference.linear_quantize(fp_tensor, bitwidth, scale, zero_point, dtype)

    assert _with("linear_quantize", linear_quantize) is None
    assert {torch.int8, torch.int32} <= {dtype for _, dtype in calls}


def test_bias_check_is_independent_of_the_reference_function():
    """A bias quantizer that agrees with itself but not with round(b / (S_w S_in)) fails."""

    def linear_quantize_bias_per_output_channel(bias, weight_scale, input_scale):
        bias_scale = weight_scale.reshape(-1) * input_scale
        return torch.floor(bias / bias_scale).to(torch.int32), bias_scale

    message = _with("linear_quantize_bias_per_output_channel", linear_quantize_bias_per_output_channel)
    assert message is not None and "round(b / (S_w * S_in))" in message


@pytest.mark.parametrize("wrong_dtype", [torch.int32, torch.int64, torch.float32])
def test_output_dtypes_are_checked(wrong_dtype):
    def quantized_linear(*args):
        return reference.quantized_linear(*args).to(wrong_dtype)

    def shift_quantized_bias(*args):
        return reference.shift_quantized_bias(*args).to(
            torch.int64 if wrong_dtype == torch.int32 else wrong_dtype)

    assert "dtype" in _with("quantized_linear", quantized_linear)
    assert "dtype" in _with("shift_quantized_bias", shift_quantized_bias)


@pytest.mark.parametrize("letter, passes", [("B", True), (" b\n", True), ("b", True),
                                            ("C", False), ("BB", False), ("", False),
                                            ("(B)", False), (2, False), (None, False)])
def test_multiple_choice_normalisation(letter, passes):
    namespace = MATRIX.reference_namespace()
    namespace["scale_formula_choice"] = letter
    message = outcome(checks.check_scale_formula_choice, namespace)
    assert (message is None) == passes, message


# ------------------------------------------------------------------------------------------------
# Hostile or malformed return values, isolation
# ------------------------------------------------------------------------------------------------


class _AlwaysEqual(torch.Tensor):
    def __eq__(self, other):
        return True


class _LyingTuple(tuple):
    def __getitem__(self, index):
        return torch.zeros(3)

    def __len__(self):
        return 2


class _FakeConv(torch.nn.Conv2d):
    def forward(self, x):
        raise RuntimeError


def _hostile_functions():
    def k_means_quantize(fp32_tensor, bitwidth=4, codebook=None):
        return _LyingTuple(())

    def update_codebook(fp32_tensor, codebook):
        raise SystemExit(0)

    def linear_quantize(fp_tensor, bitwidth, scale, zero_point, dtype=torch.int8):
        return torch.zeros(fp_tensor.shape, dtype=dtype).as_subclass(_AlwaysEqual)

    def get_quantization_scale_and_zero_point(fp_tensor, bitwidth):
        return (torch.tensor(0.5), torch.tensor(3))

    def fuse_conv_bn(conv, bn):
        fake = _FakeConv(conv.in_channels, conv.out_channels, conv.kernel_size)
        return fake

    def linear_quantize_weight_per_channel(weight, bitwidth):
        return [weight, weight]

    def linear_quantize_bias_per_output_channel(bias, weight_scale, input_scale):
        return None

    def shift_quantized_bias(quantized_bias, quantized_weight, input_zero_point):
        return quantized_bias.tolist()

    def quantized_linear(*args):
        while True:
            raise KeyError("SECRET")

    def quantized_conv2d(*args):
        return np.zeros(3)

    def extra_preprocess(x):
        return torch.full(x.shape, float("nan"))

    return [k_means_quantize, update_codebook, linear_quantize,
            get_quantization_scale_and_zero_point, fuse_conv_bn,
            linear_quantize_weight_per_channel, linear_quantize_bias_per_output_channel,
            shift_quantized_bias, quantized_linear, quantized_conv2d, extra_preprocess]


@pytest.mark.parametrize("fn", _hostile_functions(), ids=lambda f: f.__name__)
def test_hostile_return_values_fail(fn):
    assert "SECRET" not in MATRIX.assert_replacement_fails_safely(fn)


def test_hostile_choice_objects_fail():
    class Sneaky(str):
        def strip(self):
            return "B"

        def upper(self):
            return "B"

        def __eq__(self, other):
            return True

    namespace = MATRIX.reference_namespace()
    namespace["scale_formula_choice"] = Sneaky("Z")
    assert outcome(checks.check_scale_formula_choice, namespace) is not None


def test_dependent_functions_are_graded_with_the_reference():
    """Broken dependencies do not cost the questions that call them their hidden points."""
    namespace = MATRIX.reference_namespace()

    def broken(*args, **kwargs):
        raise ZeroDivisionError

    for name in ("update_codebook", "linear_quantize", "shift_quantized_bias"):
        namespace[name] = broken
    for question in ("k_means_quantize", "linear_quantize_weight_per_channel",
                     "linear_quantize_bias_per_output_channel", "quantized_linear",
                     "quantized_conv2d", "extra_preprocess"):
        assert outcome(checks.CHECKS[question], namespace) is None, question
    assert all(namespace[name] is broken for name in
               ("update_codebook", "linear_quantize", "shift_quantized_bias"))


def test_side_effects_do_not_reach_the_next_check():
    namespace = MATRIX.reference_namespace()

    def extra_preprocess(x):
        torch.set_grad_enabled(False)
        torch.set_default_dtype(torch.float64)
        return None

    namespace["extra_preprocess"] = extra_preprocess
    assert outcome(checks.check_extra_preprocess, namespace) is not None
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32


# ------------------------------------------------------------------------------------------------
# The oracles the checks rely on
# ------------------------------------------------------------------------------------------------


def test_rounding_tolerance_only_at_ties():
    v = np.array([0.4, 0.6, 2.5, 2.50000001, -1.5, 3.49])
    assert checks._rounding_ok(np.array([0, 1, 2, 2, -2, 3]), v, 0, -8, 7).all()
    assert checks._rounding_ok(np.array([0, 1, 3, 3, -1, 3]), v, 0, -8, 7).all()
    assert not checks._rounding_ok(np.array([1, 0, 1, 4, 0, 4]), v, 0, -8, 7).any()
    assert checks._rounding_ok(np.array([7, -8]), np.array([100.2, -40.7]), 0, -8, 7).all()


def test_distinct_data_is_distinct_and_sized():
    rng = np.random.default_rng(0)
    for kind in checks.DATA_KINDS:
        x = checks._distinct_data(rng, kind, 100)
        assert x.size == 100 and np.unique(x).size == 100
        assert np.array_equal(x, x.astype(np.float32).astype(np.float64))


def test_heavy_tailed_data_leaves_linear_initialisation_with_empty_clusters():
    """So the k-means check exercises empty clusters (NaN there fails)."""
    found = 0
    for seed in range(5):
        x = torch.tensor(checks._distinct_data(np.random.default_rng(seed), "heavy-tailed", 70),
                         dtype=torch.float32)
        codebook = reference.k_means_quantize(x.clone(), 3)
        found += int((torch.bincount(codebook.labels, minlength=8) == 0).any())
    assert found > 0


def test_requantize_oracle_clips_some_outputs():
    rng = np.random.default_rng(0)
    y = rng.normal(0, 3, 200)
    _, zero_point, v = checks._requantize_oracle(y, rng, 8)
    q = np.round(v) + zero_point
    assert np.any(q > 127) and np.any(q < -128)
