"""The given experiment code of the pruning homework: counters, example, scan, fine-tuning, timing."""

from __future__ import annotations

import copy

import torch
from torch import nn

from solutions import digits_cnn as dc
from solutions import pruning as P
from solutions import pruning_experiments as px

torch.set_num_threads(1)


def test_count_macs_matches_a_hand_count_on_a_tiny_model():
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3, stride=2, padding=1, groups=2, bias=False)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(4 * 2 * 2, 3)

        def forward(self, x):
            return self.fc(self.pool(self.conv(x)).flatten(1))

    # conv: 8x8 -> 4x4 (stride 2), 4 output channels, each sees 2/2 = 1 input channel x 3x3
    # linear: 3 outputs x 16 inputs; pooling costs no MACs
    assert px.count_macs(Tiny(), (1, 2, 8, 8)) == 4 * 4 * 4 * 1 * 9 + 3 * 16
    assert px.count_macs(Tiny(), (5, 2, 8, 8)) == 5 * (4 * 4 * 4 * 9 + 3 * 16)


def test_counts_of_the_digits_cnn():
    model = dc.DigitsCNN()
    assert px.count_macs(model) == 64 * 9 * (16 + 16 * 32) + 16 * 9 * (32 * 64 + 64 * 64) + 10 * 256
    assert px.count_weights(model) == 9 * (16 + 16 * 32 + 32 * 64 + 64 * 64) + 2560
    assert px.count_parameters(model) == px.count_weights(model) + 2 * (16 + 32 + 64 + 64) + 10
    assert list(px.prunable_weights(model)) == [
        "backbone.0.weight", "backbone.3.weight", "backbone.7.weight", "backbone.10.weight",
        "classifier.weight"]
    assert px.conv_widths(model) == [16, 32, 64, 64]
    assert model.training  # counting does not change the mode


def test_example_has_distinct_magnitudes_and_a_unique_answer_interval():
    example = px.example_tensor()
    assert example.shape == (5, 5) and example.dtype == torch.float32
    assert len(set(example.abs().flatten().tolist())) == 25
    example.zero_()
    assert px.example_tensor().abs().min() > 0  # a fresh copy every time
    for sparsity, kept in ((0.58, 11), (0.5801, 10), (0.62, 9), (0.6199, 10)):
        tensor = px.example_tensor()
        P.fine_grained_prune(tensor, sparsity)
        assert int(torch.count_nonzero(tensor)) == kept, sparsity


def test_sensitivity_scan_prunes_one_layer_of_a_copy():
    model = dc.load_checkpoint()
    before = copy.deepcopy(model.state_dict())
    splits = dc.load_digits_splits()
    calls = []

    def prune(tensor, sparsity):
        calls.append((tuple(tensor.shape), sparsity))
        return P.fine_grained_prune(tensor, sparsity)

    scan = px.sensitivity_scan(model, prune, splits.x_test[:50], splits.y_test[:50], (0.5,))
    assert list(scan) == list(px.prunable_weights(model))
    assert all(len(v) == 1 and 0 <= v[0] <= 100 for v in scan.values())
    assert [shape for shape, _ in calls] == [tuple(w.shape) for w in px.prunable_weights(model).values()]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_fine_tune_keeps_masks_and_is_reproducible():
    splits = dc.load_digits_splits()
    small = dc.DigitsSplits(splits.x_train[:256], splits.y_train[:256], splits.x_test, splits.y_test)
    runs = []
    for _ in range(2):
        model = dc.load_checkpoint()
        masks = px.apply_sparsity(model, {"backbone.10.weight": 0.9, "classifier.weight": 0.5},
                                  P.fine_grained_prune)
        px.fine_tune(model, masks, small, epochs=1)
        weights = dict(model.named_parameters())
        for name, mask in masks.items():
            assert not weights[name][~mask].any(), name
        assert not model.training
        runs.append(model.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_apply_sparsity_rejects_unknown_names():
    import pytest

    with pytest.raises(KeyError):
        px.apply_sparsity(dc.DigitsCNN(), {"backbone.1.weight": 0.5}, P.fine_grained_prune)


def test_latency_and_profile():
    model = dc.DigitsCNN().eval()
    x = torch.rand(1, 1, 8, 8)
    seconds = px.measure_latency(model, x, min_run_time=0.01)
    assert 0 < seconds < 0.1
    profile = px.profile(model, x, min_run_time=0.01)
    assert profile["macs"] == px.count_macs(model) and profile["parameters"] == px.count_parameters(model)
    assert torch.get_num_threads() == 1
