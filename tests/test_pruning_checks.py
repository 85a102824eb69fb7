"""The hidden checks of the pruning assignment against its fixture submissions.

Every fixture × question outcome must match the fixture's expectation on the hidden check
(``full``/``hidden`` pass, ``public``/``zero`` fail); the reference passes; the untouched stub fails
every check with a short message free of source; two gradings agree. The plumbing (namespaces,
cached outcomes) is shared with the other assignments in ``tests/check_matrix.py``;
``PRUNING_CHECKS_FULL=1`` recomputes every pair instead of reusing outcomes of identical code.

Further tests: the checks' safety against hostile return values and variables, isolation, the
validation messages of ``sparsity_dict``, and its fine-tuning run (uncached, reproducible).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from torch import nn

from autograder.checks import pruning as checks
from solutions import pruning as reference
from tests.check_matrix import CheckMatrix, outcome, standard_tests

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
MATRIX = CheckMatrix(checks, reference, ROOT / "assignments" / "pruning" / "fixtures",
                     full_env="PRUNING_CHECKS_FULL")
ANSWERS = MATRIX.answers
globals().update(standard_tests(MATRIX))


def test_questions_are_the_functions_and_the_two_variables():
    assert set(ANSWERS) == set(reference.__all__) | {"target_sparsity", "sparsity_dict"}
    assert set(checks.CHECKS) == set(ANSWERS)


def test_reference_sparsity_dict_meets_the_targets_uncached():
    items = tuple(sorted(reference.sparsity_dict.items()))
    ratio, accuracy, dense = checks._prune_and_fine_tune.__wrapped__(items)
    assert ratio <= 0.25 and accuracy >= dense - 1.0


def test_sparsity_dict_result_is_reproducible():
    items = tuple(sorted(reference.sparsity_dict.items()))
    first = checks._prune_and_fine_tune.__wrapped__(items)
    assert checks._prune_and_fine_tune.__wrapped__(items) == first


# ------------------------------------------------------------------------------------------------
# Hostile or malformed answers, validation messages, isolation
# ------------------------------------------------------------------------------------------------


class _AlwaysEqual(torch.Tensor):
    def __eq__(self, other):
        return True


class _StateDictRaises(nn.Module):
    def state_dict(self, *args, **kwargs):
        raise SystemExit(0)


class _LyingDict(dict):
    def items(self):
        return [("backbone.10.weight", 0.99)]

    def __iter__(self):
        return iter(["backbone.10.weight"])


class _LyingFloat(float):
    def __float__(self):
        return 0.6


def _hostile_functions():
    def fine_grained_prune(tensor, sparsity):
        mask = reference.fine_grained_prune(tensor, sparsity)
        return mask.as_subclass(_AlwaysEqual)

    def get_num_channels_to_keep(channels, prune_ratio):
        return float(round(channels * (1 - prune_ratio)))

    def channel_prune(model, prune_ratio):
        return _StateDictRaises()

    def get_input_channel_importance(weight):
        return torch.full((weight.shape[1],), float("nan"))

    def apply_channel_sorting(model):
        raise SystemExit(0)

    return [fine_grained_prune, get_num_channels_to_keep, channel_prune,
            get_input_channel_importance, apply_channel_sorting]


@pytest.mark.parametrize("fn", _hostile_functions(), ids=lambda f: f.__name__)
def test_hostile_return_values_fail(fn):
    MATRIX.assert_replacement_fails_safely(fn)


def test_a_model_holding_tensor_subclasses_fails():
    def channel_prune(model, prune_ratio):
        pruned = reference.channel_prune(model, prune_ratio)
        pruned.classifier.bias = nn.Parameter(pruned.classifier.bias.detach()).as_subclass(_AlwaysEqual)
        return pruned

    namespace = MATRIX.reference_namespace()
    namespace["channel_prune"] = channel_prune
    message = outcome(checks.check_channel_prune, namespace)
    assert message is not None and message.startswith("channel_prune: "), message


@pytest.mark.parametrize("value, fragment", [
    (_LyingFloat(0.3), "leaves"),         # the float's own value counts, not its __float__
    (0.58, "leaves 11 non-zeros"),        # 25 * 0.58 = 14.5 rounds to 14 zeros
    (True, "expected a float"),
    ("0.6", "expected a float"),
    (1.5, "[0, 1]"),
])
def test_target_sparsity_rejects(value, fragment):
    namespace = MATRIX.reference_namespace()
    namespace["target_sparsity"] = value
    message = outcome(checks.check_target_sparsity, namespace)
    assert message is not None and message.startswith("target_sparsity: ") and fragment in message, message


def test_target_sparsity_accepts_every_value_in_the_interval():
    namespace = MATRIX.reference_namespace()
    for value in (0.5801, 0.6, 0.61, 0.6199, 3 / 5):
        namespace["target_sparsity"] = value
        assert outcome(checks.check_target_sparsity, namespace) is None, value
    namespace.pop("target_sparsity")
    assert "is not defined" in outcome(checks.check_target_sparsity, namespace)


@pytest.mark.parametrize("value, fragment", [
    ([("backbone.7.weight", 0.9)], "expected a dict"),
    ({"backbone.1.weight": 0.5}, "not the name of a conv or linear weight"),
    ({("backbone.7.weight",): 0.5}, "not the name of a conv or linear weight"),
    ({"backbone.7.weight": "0.8"}, "expected a float"),
    ({"backbone.7.weight": True}, "expected a float"),
    ({"backbone.7.weight": 80}, "outside [0, 1]"),
    ({"backbone.7.weight": -0.1}, "outside [0, 1]"),
    ({"backbone.7.weight": float("nan")}, "non-finite"),
    (_LyingDict(), "of the dense conv and linear weights"),  # its real content is empty
])
def test_sparsity_dict_rejects(value, fragment):
    namespace = MATRIX.reference_namespace()
    namespace["sparsity_dict"] = value
    message = outcome(checks.check_sparsity_dict, namespace)
    assert message is not None and message.startswith("sparsity_dict: ") and fragment in message, message
    assert len(message) < 300


def test_exception_messages_name_only_the_type():
    namespace = MATRIX.reference_namespace()

    def fine_grained_prune(tensor, sparsity):
        raise RuntimeError("SECRET " * 100)

    namespace["fine_grained_prune"] = fine_grained_prune
    message = outcome(checks.check_fine_grained_prune, namespace)
    assert message is not None and "raised RuntimeError" in message and "SECRET" not in message


def test_channel_functions_are_graded_with_the_reference_dependencies():
    """Broken helpers do not cost channel_prune or apply_channel_sorting their hidden points."""
    namespace = MATRIX.reference_namespace()

    def broken(*args, **kwargs):
        raise ZeroDivisionError

    namespace["get_num_channels_to_keep"] = broken
    namespace["get_input_channel_importance"] = broken
    assert outcome(checks.check_channel_prune, namespace) is None
    assert outcome(checks.check_apply_channel_sorting, namespace) is None
    assert namespace["get_num_channels_to_keep"] is broken  # restored afterwards


def test_checks_restore_torch_state():
    namespace = MATRIX.reference_namespace()

    def get_num_channels_to_keep(channels, prune_ratio):
        torch.set_default_dtype(torch.float64)
        torch.set_num_threads(2)
        return reference.get_num_channels_to_keep(channels, prune_ratio)

    namespace["get_num_channels_to_keep"] = get_num_channels_to_keep
    threads = torch.get_num_threads()
    assert outcome(checks.check_get_num_channels_to_keep, namespace) is None
    assert torch.get_default_dtype() == torch.float32
    assert torch.get_num_threads() == threads


def test_random_models_make_batch_norm_matter():
    """A permutation of the conv alone (not its BN) changes the function of the check's models."""
    model = checks._random_model((5, 6, 7, 8), seed=3)
    broken = copy.deepcopy(model)
    with torch.no_grad():
        order = torch.arange(4, -1, -1)
        broken.backbone[0].weight.copy_(broken.backbone[0].weight[order])
        broken.backbone[3].weight.copy_(broken.backbone[3].weight[:, order])
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        assert not torch.allclose(model(x), broken(x), atol=1e-3)
