"""Property tests of the pruning reference solutions against independent oracles.

Oracles: brute force by sorting small tensors (NumPy) for fine-grained pruning, a loop of
per-channel norms for the importance, a hand count of MACs and shapes for channel pruning, and
function equality on random inputs (eval mode) for channel sorting.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from solutions import digits_cnn as dc
from solutions import pruning as P
from solutions import pruning_experiments as px

torch.set_num_threads(1)

SHAPES = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(tuple)
SEEDS = st.integers(0, 2**32 - 1)
FEW = settings(max_examples=15)


def _distinct(shape, seed, dtype=torch.float32) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    values = rng.choice([-1.0, 1.0], n) * (rng.permutation(n) + 1) * 0.01
    return torch.tensor(values.reshape(shape), dtype=dtype)


def _random_model(widths=(16, 32, 64, 64), seed=0) -> dc.DigitsCNN:
    """Random weights and random BN statistics, so that BN matters; eval mode."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = dc.DigitsCNN(widths)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.num_features, generator=g))
                m.bias.copy_(torch.randn(m.num_features, generator=g))
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.num_features, generator=g))
    return model.eval()


# ------------------------------------------------------------------------------------------------
# fine_grained_prune
# ------------------------------------------------------------------------------------------------


@given(shape=SHAPES, sparsity=st.floats(0.0, 1.0), seed=SEEDS, double=st.booleans())
@example(shape=(5,), sparsity=0.5, seed=0, double=False)    # 2.5 -> 2 zeros (half to even)
@example(shape=(10,), sparsity=0.28, seed=1, double=False)  # 2.8 -> 3 zeros (not truncated)
def test_fine_grained_prune_matches_sorting(shape, sparsity, seed, double):
    tensor = _distinct(shape, seed, torch.float64 if double else torch.float32)
    original = tensor.clone()
    mask = P.fine_grained_prune(tensor, sparsity)
    n = original.numel()
    k = round(n * sparsity)
    assert mask.dtype == torch.bool and mask.shape == original.shape
    # brute force: the k smallest magnitudes, by sorting
    order = np.argsort(np.abs(original.numpy()).ravel(), kind="stable")
    expected = np.ones(n, dtype=bool)
    expected[order[:k]] = False
    assert np.array_equal(mask.numpy().ravel(), expected)
    assert int((tensor == 0).sum()) == k
    assert torch.equal(tensor, original * mask)  # in place
    if 0 < k < n:
        assert original.abs()[mask].min() > original.abs()[~mask].max()


@given(shape=SHAPES, sparsity=st.floats(0.0, 1.0), seed=SEEDS, levels=st.integers(1, 3))
def test_fine_grained_prune_prunes_every_tie_at_the_threshold(shape, sparsity, seed, levels):
    rng = np.random.default_rng(seed)
    values = rng.integers(-levels, levels + 1, size=shape).astype(np.float32)
    tensor = torch.tensor(values)
    mask = P.fine_grained_prune(tensor, sparsity)
    k = round(values.size * sparsity)
    if k == 0:
        expected = np.ones(values.shape, dtype=bool)
    else:
        kth = np.sort(np.abs(values), axis=None)[k - 1]
        expected = np.abs(values) > kth
    assert np.array_equal(mask.numpy(), expected)
    assert int((~mask).sum()) >= k
    assert np.array_equal(tensor.numpy(), values * expected)


@pytest.mark.parametrize("sparsity, keep_all", [(0.0, True), (-0.5, True), (0.04, True),
                                                (1.0, False), (1.5, False)])
def test_fine_grained_prune_edge_sparsities(sparsity, keep_all):
    tensor = _distinct((10,), 0)  # round(10 * 0.04) = 0 zeros
    original = tensor.clone()
    mask = P.fine_grained_prune(tensor, sparsity)
    assert mask.dtype == torch.bool
    if keep_all:
        assert mask.all() and torch.equal(tensor, original)
    else:
        assert not mask.any() and not tensor.any()


def test_fine_grained_prune_works_on_a_parameter_in_place():
    layer = nn.Linear(10, 10)
    mask = P.fine_grained_prune(layer.weight, 0.7)
    assert int((layer.weight == 0).sum()) == 70 and layer.weight.requires_grad
    assert torch.equal(layer.weight != 0, mask)


def test_target_sparsity_leaves_ten_non_zeros():
    tensor = px.example_tensor()
    P.fine_grained_prune(tensor, P.target_sparsity)
    assert int(torch.count_nonzero(tensor)) == 10
    assert isinstance(P.target_sparsity, float)


def test_sparsity_dict_names_and_size():
    model = dc.load_checkpoint()
    assert set(P.sparsity_dict) <= set(px.prunable_weights(model))
    masks = px.apply_sparsity(model, P.sparsity_dict, P.fine_grained_prune)
    assert set(masks) == set(P.sparsity_dict)
    assert px.size_ratio(model, dc.load_checkpoint()) <= px.SIZE_TARGET


# ------------------------------------------------------------------------------------------------
# Channel pruning
# ------------------------------------------------------------------------------------------------


@given(channels=st.integers(1, 512), prune_ratio=st.floats(0.0, 1.0))
def test_get_num_channels_to_keep_rounds(channels, prune_ratio):
    kept = P.get_num_channels_to_keep(channels, prune_ratio)
    assert type(kept) is int
    assert abs(kept - channels * (1 - prune_ratio)) <= 0.5 + 1e-9


@pytest.mark.parametrize("channels, ratio, kept", [(64, 0.25, 48), (16, 0.3, 11), (64, 0.27, 47),
                                                   (7, 0.35, 5), (32, 0.0, 32), (32, 1.0, 0)])
def test_get_num_channels_to_keep_values(channels, ratio, kept):
    assert P.get_num_channels_to_keep(channels, ratio) == kept


def _hand_macs(widths, classes=10):
    """3×3 convs with padding 1 on 8×8, then 4×4 after the first pool; linear on 2×2 maps."""
    w1, w2, w3, w4 = widths
    return 64 * 9 * (1 * w1 + w1 * w2) + 16 * 9 * (w2 * w3 + w3 * w4) + classes * 4 * w4


@FEW
@given(widths=st.tuples(*[st.integers(3, 12)] * 4), ratio=st.floats(0.0, 0.8), seed=SEEDS)
def test_channel_prune_shapes_macs_and_original(widths, ratio, seed):
    model = _random_model(widths, seed % 1000)
    before = copy.deepcopy(model.state_dict())
    pruned = P.channel_prune(model, ratio)
    kept = [int(round(c * (1 - ratio))) for c in widths[:-1]] + [widths[-1]]
    convs = [m for m in pruned.backbone if isinstance(m, nn.Conv2d)]
    bns = [m for m in pruned.backbone if isinstance(m, nn.BatchNorm2d)]
    previous = 1
    for conv, bn, width in zip(convs, bns, kept):
        assert conv.weight.shape == (width, previous, 3, 3)
        assert (conv.in_channels, conv.out_channels, bn.num_features) == (previous, width, width)
        for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
            assert t.shape == (width,)
        previous = width
    with torch.no_grad():
        assert pruned(torch.rand(2, 1, 8, 8)).shape == (2, 10)
        pruned.train()(torch.rand(2, 1, 8, 8))  # batch statistics too
    assert px.count_macs(pruned) == _hand_macs(kept)
    assert px.count_macs(model) - px.count_macs(pruned) == _hand_macs(widths) - _hand_macs(kept)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert px.conv_widths(model) == list(widths)


def test_channel_prune_keeps_the_first_channels_and_takes_a_list():
    model = _random_model(seed=1)
    pruned = P.channel_prune(model, [0.25, 0.5, 0.75])
    assert px.conv_widths(pruned) == [12, 16, 16, 64]
    c0, c1 = model.backbone[0], model.backbone[3]
    assert torch.equal(pruned.backbone[0].weight, c0.weight[:12])
    assert torch.equal(pruned.backbone[3].weight, c1.weight[:16, :12])
    assert torch.equal(pruned.backbone[1].running_var, model.backbone[1].running_var[:12])
    assert torch.equal(pruned.classifier.weight, model.classifier.weight)
    with pytest.raises(ValueError):
        P.channel_prune(model, [0.5, 0.5])


def test_channel_prune_with_ratio_zero_is_the_same_function():
    model = _random_model(seed=2)
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(P.channel_prune(model, 0.0)(x), model(x))


@given(out_channels=st.integers(1, 6), in_channels=st.integers(1, 6),
       kernel=st.integers(1, 3), seed=SEEDS)
def test_get_input_channel_importance_is_a_loop_of_norms(out_channels, in_channels, kernel, seed):
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((out_channels, in_channels, kernel, kernel))
    expected = [math.sqrt(sum(float(v) ** 2 for v in weight[:, j].ravel())) for j in range(in_channels)]
    got = P.get_input_channel_importance(torch.tensor(weight))
    assert got.shape == (in_channels,)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


@FEW
@given(widths=st.tuples(*[st.integers(2, 12)] * 4), seed=SEEDS)
def test_apply_channel_sorting_keeps_the_function_and_sorts(widths, seed):
    model = _random_model(widths, seed % 1000)
    before = copy.deepcopy(model.state_dict())
    sorted_model = P.apply_channel_sorting(model)
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        np.testing.assert_allclose(sorted_model(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
    convs = [m for m in sorted_model.backbone if isinstance(m, nn.Conv2d)]
    for nxt in convs[1:]:
        importance = nxt.weight.detach().pow(2).sum(dim=(0, 2, 3))
        assert torch.all(importance[:-1] >= importance[1:])
    # a permutation: every filter of a sorted conv is one of the original filters, each used once
    for a, b in zip(model.backbone, sorted_model.backbone):
        if isinstance(a, nn.Conv2d):
            # each filter as the sorted multiset of its values (its input channels move too)
            original = a.weight.detach().flatten(1).sort(dim=1).values
            matches = [next(j for j in range(len(original)) if torch.equal(row, original[j]))
                       for row in b.weight.detach().flatten(1).sort(dim=1).values]
            assert sorted(matches) == list(range(len(original)))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_sorting_then_pruning_the_checkpoint_beats_pruning_it_as_is():
    model = dc.load_checkpoint()
    splits = dc.load_digits_splits()
    naive = dc.evaluate(P.channel_prune(model, 0.5), splits.x_test, splits.y_test)
    ranked = dc.evaluate(P.channel_prune(P.apply_channel_sorting(model), 0.5),
                         splits.x_test, splits.y_test)
    assert ranked > naive
