"""Property tests of the reference solutions of the quantization assignment.

Oracles are independent of the functions under test: brute-force nearest centroids and cluster
means in NumPy (k-means is checked as a fixed point, not against stored centroids), closed forms
for scale and zero point, the worked examples of the notebook, NumPy round-half-even quantization,
"dequantize → float op (float64) → requantize" for the integer layers, exact int64 identities for
the bias shift, and BN(conv(x)) for the fusion. Tensors are small; torch runs on one thread.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st
from torch import nn

import solutions.quantization as Q
from solutions.quantization_experiments import Codebook, get_quantized_range

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
seeds = st.integers(0, 2**31 - 1)


def _rng(seed):
    return np.random.default_rng(seed)


def _quantize_oracle(r, scale, zero_point, bitwidth):
    """clamp(round_half_even(r / S) + Z) in float64."""
    q_min, q_max = get_quantized_range(bitwidth)
    return np.clip(np.round(np.asarray(r, np.float64) / scale) + zero_point, q_min, q_max)


def _near_tie(v, tol=1e-6):
    return np.abs(v - np.floor(v) - 0.5) < tol


# ------------------------------------------------------------------------------------------------
# The given range
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bitwidth", [1, 2, 3, 4, 8, 16, 32])
def test_quantized_range(bitwidth):
    assert get_quantized_range(bitwidth) == (-(2 ** (bitwidth - 1)), 2 ** (bitwidth - 1) - 1)
    q_min, q_max = get_quantized_range(bitwidth)
    assert q_max - q_min + 1 == 2**bitwidth


# ------------------------------------------------------------------------------------------------
# K-means
# ------------------------------------------------------------------------------------------------


def _assert_fixed_point(x, centroids, labels):
    """Nearest labels (brute force) and non-empty centroids equal to their members' means."""
    x = np.asarray(x, np.float64)
    c = centroids.double().numpy()
    lab = labels.numpy()
    distance = np.abs(x[:, None] - c[None, :])
    tol = 1e-6 * (np.ptp(x) + 1e-12)
    assert np.all(distance[np.arange(x.size), lab] <= distance.min(axis=1) + tol)
    counts = np.bincount(lab, minlength=c.size)
    means = np.bincount(lab, weights=x, minlength=c.size) / np.maximum(counts, 1)
    assert np.allclose(c[counts > 0], means[counts > 0], rtol=1e-6, atol=tol)


@given(n=st.integers(2, 80), bitwidth=st.integers(1, 5), seed=seeds,
       kind=st.sampled_from(["normal", "heavy", "clusters"]))
@example(n=60, bitwidth=3, seed=0, kind="heavy")
def test_k_means_is_a_fixed_point_with_min_2b_distinct_clusters(n, bitwidth, seed, kind):
    rng = _rng(seed)
    x = {"normal": rng.normal(0, 1, n), "heavy": rng.standard_t(1.5, n),
         "clusters": rng.choice([-2.0, 0.1, 3.0], n) + 0.01 * rng.normal(0, 1, n)}[kind]
    x = x.astype(np.float32)
    tensor = torch.tensor(x).reshape(-1, 1) if n % 2 else torch.tensor(x).reshape(2, -1)
    codebook = Q.k_means_quantize(tensor, bitwidth)
    distinct = np.unique(x).size
    assert codebook.centroids.numel() == min(2**bitwidth, distinct)
    assert codebook.labels.dtype == torch.int64 and codebook.labels.shape == (n,)
    assert torch.equal(tensor.reshape(-1), codebook.centroids[codebook.labels])  # in place
    _assert_fixed_point(x, codebook.centroids, codebook.labels)
    if distinct > 2**bitwidth:
        assert np.unique(codebook.centroids.numpy()).size == 2**bitwidth


@pytest.mark.parametrize("bitwidth", [3, 4, 5, 6])
def test_k_means_uses_2_to_the_b_clusters(bitwidth):
    """Bitwidths ≥ 3: 2^b differs from 2b (and from b² except at b = 4)."""
    x = torch.randn(500, generator=torch.Generator().manual_seed(bitwidth))
    codebook = Q.k_means_quantize(x, bitwidth)
    assert codebook.centroids.numel() == 2**bitwidth
    assert torch.unique(codebook.centroids).numel() == 2**bitwidth
    # linear initialisation may leave a few tail clusters empty, but most are used
    assert 2 ** (bitwidth - 1) < torch.unique(x).numel() <= 2**bitwidth


@given(levels=st.lists(st.integers(-50, 50), min_size=1, max_size=8, unique=True),
       repeats=st.integers(1, 4), bitwidth=st.integers(3, 4))
def test_k_means_is_lossless_with_few_distinct_values(levels, repeats, bitwidth):
    x = torch.tensor(levels * repeats, dtype=torch.float32) / 7
    original = x.clone()
    codebook = Q.k_means_quantize(x, bitwidth)
    assert torch.equal(torch.sort(codebook.centroids).values, torch.unique(original))
    assert torch.equal(x, original)


def test_k_means_is_deterministic_and_improves_on_its_initial_grid():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 40, generator=g)
    first, second = x.clone(), x.clone()
    a, b = Q.k_means_quantize(first, 3), Q.k_means_quantize(second, 3)
    assert torch.equal(a.centroids, b.centroids) and torch.equal(a.labels, b.labels)
    grid = torch.linspace(x.min().item(), x.max().item(), 8)
    snapped = grid[(x.reshape(-1, 1) - grid).abs().argmin(dim=1)]
    assert ((first.reshape(-1) - x.reshape(-1)) ** 2).sum() < ((snapped - x.reshape(-1)) ** 2).sum()


def test_k_means_with_a_codebook_only_snaps():
    x = torch.randn(2, 5)
    codebook = Codebook(torch.tensor([1.0, -2.0, 0.5]), torch.tensor([2, 0, 0, 1, 2, 1, 1, 0, 2, 0]))
    returned = Q.k_means_quantize(x, 2, codebook)
    assert returned is codebook
    assert torch.equal(x.reshape(-1), codebook.centroids[codebook.labels])


def test_k_means_works_in_place_on_a_parameter():
    parameter = nn.Parameter(torch.randn(4, 6))
    Q.k_means_quantize(parameter, 2)
    assert parameter.requires_grad and torch.unique(parameter.detach()).numel() == 4


@given(k=st.integers(1, 10), n=st.integers(1, 50), seed=seeds)
def test_update_codebook_means_and_empty_clusters(k, n, seed):
    rng = _rng(seed)
    x = torch.tensor(rng.normal(0, 1, n), dtype=torch.float32)
    labels = torch.tensor(rng.integers(0, k, n))
    centroids = torch.tensor(rng.normal(0, 1, k), dtype=torch.float32)
    before = centroids.clone()
    Q.update_codebook(x, Codebook(centroids, labels))
    for j in range(k):
        members = x[labels == j]
        if members.numel():
            assert torch.allclose(centroids[j], members.double().mean().float(), atol=1e-6)
        else:
            assert centroids[j] == before[j]


# ------------------------------------------------------------------------------------------------
# Linear quantization
# ------------------------------------------------------------------------------------------------


@given(bitwidth=st.integers(2, 8), zero_point=st.integers(-128, 127), seed=seeds,
       log_scale=st.floats(-3, 1))
def test_linear_quantize_matches_the_oracle_and_clamps(bitwidth, zero_point, seed, log_scale):
    q_min, q_max = get_quantized_range(bitwidth)
    zero_point = int(np.clip(zero_point, q_min, q_max))
    scale = 10.0**log_scale
    r = torch.tensor(scale * _rng(seed).uniform(-3 * 2**bitwidth, 3 * 2**bitwidth, 50),
                     dtype=torch.float32)
    q = Q.linear_quantize(r, bitwidth, scale, zero_point)
    assert q.dtype == torch.int8
    v = r.double().numpy() / scale
    expected = _quantize_oracle(r.double().numpy(), scale, zero_point, bitwidth)
    assert np.array_equal(q.numpy()[~_near_tie(v)], expected[~_near_tie(v)])
    assert q.min() >= q_min and q.max() <= q_max


def test_linear_quantize_32_bit_limits_are_exact():
    r = torch.tensor([-1e12, -3.0, 0.0, 2.6, 1e12])
    q = Q.linear_quantize(r, 32, 1.0, 0, torch.int32)
    assert q.dtype == torch.int32
    assert q.tolist() == [-(2**31), -3, 0, 3, 2**31 - 1]


def test_linear_quantize_two_bit_example():
    q = Q.linear_quantize(torch.tensor([-1.0, -0.3, 0.0, 0.3, 0.55, 5.0]), 2, 1 / 3, -1)
    assert q.tolist() == [-2, -2, -1, 0, 1, 1]


@given(channels=st.integers(1, 5), seed=seeds)
def test_linear_quantize_per_channel_broadcasts_along_dim0(channels, seed):
    rng = _rng(seed)
    r = torch.tensor(rng.normal(0, 1, (channels, 3, 2, 2)), dtype=torch.float32)
    scale = torch.tensor(rng.uniform(0.01, 0.1, channels), dtype=torch.float32)
    zero_point = torch.tensor(rng.integers(-20, 20, channels), dtype=torch.int32)
    q = Q.linear_quantize(r, 8, scale.view(-1, 1, 1, 1), zero_point.view(-1, 1, 1, 1))
    for c in range(channels):
        assert torch.equal(q[c], Q.linear_quantize(r[c], 8, scale[c].item(), int(zero_point[c])))


@given(seed=seeds, bitwidth=st.integers(2, 8), low=st.floats(-5, -0.01), high=st.floats(0.01, 5))
def test_dequantize_quantize_is_within_half_a_step_inside_the_range(seed, bitwidth, low, high):
    r = torch.tensor(_rng(seed).uniform(low, high, 100), dtype=torch.float32)
    r[:2] = torch.tensor([low, high])
    scale, zero_point = Q.get_quantization_scale_and_zero_point(r, bitwidth)
    q_min, q_max = get_quantized_range(bitwidth)
    # inside the representable range [S(q_min − Z), S(q_max − Z)] (Z rounded: a sliver may fall out)
    inside = (r >= scale * (q_min - zero_point)) & (r <= scale * (q_max - zero_point))
    back = scale * (Q.linear_quantize(r, bitwidth, scale, zero_point).double() - zero_point)
    assert torch.all((back - r.double()).abs()[inside] <= scale / 2 * (1 + 1e-5))
    assert inside.double().mean() > 0.5


def test_scale_and_zero_point_worked_examples():
    scale, zero_point = Q.get_quantization_scale_and_zero_point(torch.tensor([-0.25, 0.1, 0.75]), 2)
    assert type(scale) is float and type(zero_point) is int
    assert abs(scale - 1 / 3) < 1e-12 and zero_point == -1
    scale, zero_point = Q.get_quantization_scale_and_zero_point(torch.tensor([0.0, 2.0, 6.0]), 8)
    assert abs(scale - 6 / 255) < 1e-12 and zero_point == -128
    # all positive: q_min − r_min/S = −128 − 2·255/4 < q_min, clamped
    assert Q.get_quantization_scale_and_zero_point(torch.tensor([2.0, 6.0]), 8)[1] == -128
    # all negative: −128 + 6·255/4 = 254.5 > q_max, clamped
    assert Q.get_quantization_scale_and_zero_point(torch.tensor([-6.0, -2.0]), 8)[1] == 127


@pytest.mark.parametrize("value", [0.0, 0.75, -3.0, 1e-8])
@pytest.mark.parametrize("bitwidth", [2, 8])
def test_constant_tensor_does_not_divide_by_zero(value, bitwidth):
    tensor = torch.full((3, 2), value)
    scale, zero_point = Q.get_quantization_scale_and_zero_point(tensor, bitwidth)
    q_min, q_max = get_quantized_range(bitwidth)
    assert np.isfinite(scale) and scale > 0 and q_min <= zero_point <= q_max
    back = scale * (Q.linear_quantize(tensor, bitwidth, scale, zero_point).double() - zero_point)
    assert torch.allclose(back, tensor.double(), rtol=1e-6, atol=1e-12)


@given(seed=seeds, bitwidth=st.integers(2, 8), kind=st.sampled_from(["mixed", "positive", "negative"]))
def test_scale_and_zero_point_closed_form(seed, bitwidth, kind):
    rng = _rng(seed)
    values = rng.normal(0, 1, 20)
    if kind == "positive":
        values = np.abs(values) + 0.1
    elif kind == "negative":
        values = -np.abs(values) - 0.1
    tensor = torch.tensor(values, dtype=torch.float32)
    r_min, r_max = tensor.min().item(), tensor.max().item()
    q_min, q_max = get_quantized_range(bitwidth)
    scale, zero_point = Q.get_quantization_scale_and_zero_point(tensor, bitwidth)
    assert scale == pytest.approx((r_max - r_min) / (q_max - q_min), rel=1e-12)
    assert zero_point == int(np.clip(np.round(q_min - r_min / scale), q_min, q_max))
    if kind == "mixed":  # the range contains 0: its ends map to the ends of the integer range
        ends = Q.linear_quantize(torch.tensor([r_min, r_max]), bitwidth, scale, zero_point)
        assert abs(ends[0].item() - q_min) <= 1 and abs(ends[1].item() - q_max) <= 1


def test_multiple_choice_answers_match_the_master_notebook():
    assert (Q.scale_formula_choice, Q.zero_point_formula_choice) == ("B", "C")
    notebook = json.loads((ROOT / "assignments" / "quantization" / "quantization.ipynb").read_text())
    sources = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    assert f'scale_formula_choice = "{Q.scale_formula_choice}"  # SOLUTION' in sources
    assert f'zero_point_formula_choice = "{Q.zero_point_formula_choice}"  # SOLUTION' in sources
    markdown = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    assert r"**B.** $S = (r_{\max} - r_{\min}) / (q_{\max} - q_{\min})$" in markdown
    assert r"**C.** $Z = \mathrm{round}(q_{\min} - r_{\min}/S)$" in markdown


# ------------------------------------------------------------------------------------------------
# Integer-only inference
# ------------------------------------------------------------------------------------------------


def _conv_bn(in_channels, out_channels, seed, eps=1e-5):
    g = torch.Generator().manual_seed(seed)
    conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
    bn = nn.BatchNorm2d(out_channels, eps=eps)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=g))
        bn.weight.copy_(torch.rand(out_channels, generator=g) + 0.5)
        bn.bias.copy_(torch.randn(out_channels, generator=g))
        bn.running_mean.copy_(torch.randn(out_channels, generator=g))
        bn.running_var.copy_(torch.rand(out_channels, generator=g) + 0.05)
    return conv.eval(), bn.eval()


@pytest.mark.parametrize("in_channels, out_channels, eps", [(1, 4, 1e-5), (3, 3, 0.5), (5, 2, 0.1)])
def test_fused_conv_computes_bn_of_conv(in_channels, out_channels, eps):
    conv, bn = _conv_bn(in_channels, out_channels, in_channels, eps)
    before = [t.clone() for t in (conv.weight, bn.weight, bn.running_var)]
    x = torch.randn(2, in_channels, 6, 6)
    fused = Q.fuse_conv_bn(conv, bn)
    assert type(fused) is nn.Conv2d and fused.bias is not None
    assert torch.allclose(fused(x), bn(conv(x)), atol=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(before, (conv.weight, bn.weight, bn.running_var)))


@given(conv=st.booleans(), channels=st.integers(1, 6), bitwidth=st.integers(3, 8), seed=seeds)
def test_weight_per_channel_symmetric(conv, channels, bitwidth, seed):
    rng = _rng(seed)
    shape = (channels, 2, 3, 3) if conv else (channels, 5)
    w = torch.tensor(rng.normal(0, 1, shape) * rng.uniform(0.01, 2, channels).reshape(
        (-1,) + (1,) * (len(shape) - 1)), dtype=torch.float32)
    q, scale = Q.linear_quantize_weight_per_channel(w, bitwidth)
    _, q_max = get_quantized_range(bitwidth)
    assert q.dtype == torch.int8 and scale.shape == (channels,) + (1,) * (len(shape) - 1)
    assert torch.allclose(scale.reshape(-1), w.abs().reshape(channels, -1).amax(1) / q_max)
    assert torch.all(q.reshape(channels, -1).abs().amax(1) == q_max)  # each channel's max hits q_max
    assert torch.all((scale * q.float() - w).abs() <= scale / 2 * (1 + 1e-5))


def test_weight_per_channel_all_zero_channel():
    q, scale = Q.linear_quantize_weight_per_channel(torch.zeros(2, 3), 8)
    assert torch.all(scale > 0) and torch.equal(q, torch.zeros(2, 3, dtype=torch.int8))


@given(channels=st.integers(1, 8), seed=seeds)
def test_bias_quantization_is_int32_on_the_accumulator_scale(channels, seed):
    rng = _rng(seed)
    weight_scale = torch.tensor(rng.uniform(1e-3, 1e-1, channels), dtype=torch.float32).view(-1, 1, 1, 1)
    input_scale = float(rng.uniform(1e-3, 1e-1))
    bias = torch.tensor(rng.normal(0, 2, channels), dtype=torch.float32)
    q, bias_scale = Q.linear_quantize_bias_per_output_channel(bias, weight_scale, input_scale)
    s = weight_scale.double().reshape(-1).numpy() * input_scale
    assert q.dtype == torch.int32 and q.shape == (channels,)
    assert np.allclose(bias_scale.double().numpy(), s, rtol=1e-6)
    assert np.all(np.abs(q.double().numpy() * s - bias.double().numpy()) <= s / 2 * (1 + 1e-4))
    assert np.abs(q.numpy()).max() > 127 or np.abs(bias.numpy() / s).max() < 127


@given(conv=st.booleans(), zero_point=st.integers(-128, 127), seed=seeds)
def test_bias_shift_identity(conv, zero_point, seed):
    rng = _rng(seed)
    shape = (3, 2, 3, 3) if conv else (4, 7)
    w = rng.integers(-127, 128, shape)
    b = rng.integers(-10**6, 10**6, shape[0])
    shifted = Q.shift_quantized_bias(torch.tensor(b, dtype=torch.int32), torch.tensor(w, dtype=torch.int8), zero_point)
    assert shifted.dtype == torch.int32
    x = rng.integers(-128, 128, (5, int(np.prod(shape[1:]))))
    wm = w.reshape(shape[0], -1)
    assert np.array_equal(x @ wm.T + shifted.numpy().astype(np.int64), (x - zero_point) @ wm.T + b)


def _float_linear_oracle(x, w, b, s_in, s_w, z_in):
    return (s_in * (x.double() - z_in)) @ (s_w.double().view(-1, 1) * w.double()).T \
        + s_in * s_w.double().view(-1) * b.double()


@given(batch=st.integers(1, 6), channels=st.integers(1, 6), features=st.integers(1, 9),
       z_in=st.integers(-128, 127), seed=seeds, bits=st.sampled_from([8, 4]))
@example(batch=4, channels=4, features=5, z_in=-128, seed=0, bits=8)
def test_quantized_linear_against_dequantize_float_requantize(batch, channels, features, z_in,
                                                                seed, bits):
    g = torch.Generator().manual_seed(seed)
    q_min, q_max = get_quantized_range(bits)
    z_in = int(np.clip(z_in, q_min, q_max))
    x = torch.randint(q_min, q_max + 1, (batch, features), generator=g).to(torch.int8)
    w = torch.randint(-127, 128, (channels, features), generator=g).to(torch.int8)
    b = torch.randint(-3000, 3000, (channels,), generator=g).to(torch.int32)
    s_w = torch.rand(channels, generator=g) * 0.05 + 0.001
    s_in = 0.013
    y = _float_linear_oracle(x, w, b, s_in, s_w, z_in)
    s_out, z_out = Q.get_quantization_scale_and_zero_point(y, bits)
    expected = ((y / s_out).round() + z_out).clamp(q_min, q_max)
    got = Q.quantized_linear(x, w, b, bits, 8, z_in, z_out, s_in, s_w.view(-1, 1), s_out)
    assert got.dtype == torch.int8 and got.shape == (batch, channels)
    assert (got.double() - expected).abs().max() <= 1
    assert (got.double() != expected).double().mean() <= 0.05


@given(batch=st.integers(1, 3), groups=st.integers(1, 2), padding=st.sampled_from([0, 1, 2, (1, 0)]),
       stride=st.integers(1, 2), dilation=st.integers(1, 2), z_in=st.integers(-128, 127), seed=seeds)
@example(batch=3, groups=1, padding=1, stride=1, dilation=1, z_in=100, seed=0)
def test_quantized_conv2d_against_dequantize_float_requantize(batch, groups, padding, stride,
                                                                dilation, z_in, seed):
    g = torch.Generator().manual_seed(seed)
    c_in, c_out = 2 * groups, 3 * groups
    x = torch.randint(-128, 128, (batch, c_in, 6, 6), generator=g).to(torch.int8)
    w = torch.randint(-127, 128, (c_out, c_in // groups, 3, 3), generator=g).to(torch.int8)
    b = torch.randint(-3000, 3000, (c_out,), generator=g).to(torch.int32)
    s_w = torch.rand(c_out, generator=g) * 0.05 + 0.001
    s_in = 0.02
    y = F.conv2d(s_in * (x.double() - z_in), s_w.double().view(-1, 1, 1, 1) * w.double(),
                 s_in * s_w.double() * b.double(), stride, padding, dilation, groups)
    s_out, z_out = Q.get_quantization_scale_and_zero_point(y, 8)
    expected = ((y / s_out).round() + z_out).clamp(-128, 127)
    got = Q.quantized_conv2d(x, w, b, 8, 8, z_in, z_out, s_in, s_w.view(-1, 1, 1, 1), s_out,
                             stride, padding, dilation, groups)
    assert got.dtype == torch.int8 and got.shape == y.shape
    assert (got.double() - expected).abs().max() <= 1
    assert (got.double() != expected).double().mean() <= 0.05


def test_extra_preprocess():
    x = torch.arange(17, dtype=torch.float32) / 16
    q = Q.extra_preprocess(x)
    assert q.dtype == torch.int8 and q[0] == -128 and q[-1] == 127
    assert torch.all(((q.double() + 128) / 255 - x.double()).abs() <= 1 / 510 + 1e-9)
    assert torch.all(torch.diff(q.long()) > 0)
