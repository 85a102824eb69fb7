"""Hidden checks for the pruning assignment: one ``check_<question>(env)`` per question.

``env`` is the student's notebook namespace. A check touches student code only through ``env``:
it reads the two graded variables (plain data) and calls the graded functions with plain data
(tensors, numbers, lists, and ``DigitsCNN`` models built here), then judges the returned values
and, for in-place semantics, the state of the arguments after the call. Returned models are read
through their state dict and layer attributes and *rebuilt* as a fresh ``DigitsCNN`` here, so no
forward pass of a returned object runs. Properties run under the deterministic ``GRADING``
hypothesis profile (the model-based ones with fewer examples of it); each function is graded in
isolation (the other graded functions it calls are bound to the reference while it runs).

Oracles and what they catch:

- ``fine_grained_prune``: on tensors with distinct magnitudes, brute force by sorting (the
  round(n·s) smallest magnitudes go, Python's ``round``): dtype bool and shape of the mask (a
  float mask fails), the tensor pruned in place, the mask True exactly on the kept entries
  (an inverted mask fails), the number of zeros (truncation or rounding halves up fail), the
  kept entries the largest (pruning the largest fails); sparsity ≤ 0, ≥ 1 and round(n·s) = 0;
  on tensors with tied magnitudes the mask must be |w| > (k-th smallest |w|) (a threshold with
  ``>=``, or exactly k zeros chosen by index, fail).
- ``target_sparsity``: the reference ``fine_grained_prune`` with the student's value leaves
  exactly 10 non-zeros of the notebook's 5×5 example.
- ``sparsity_dict``: valid keys (conv and linear weight names) and values (numbers in [0, 1]);
  the reference pruning of the committed checkpoint keeps at most 25 % of the dense conv and
  linear weights, and after the notebook's fine-tuning recipe (``px.fine_tune``, fixed seed, one
  thread) the test accuracy is within 1 point of the dense model's. The result of a dict is
  cached (it is a pure function of the dict's validated content).
- ``get_num_channels_to_keep``: int(round(c·(1 − r))) (also accepted: the same with c − c·r,
  which differs by floating-point rounding only); the result must be an int.
- ``channel_prune``: random ``DigitsCNN``s of random widths (random BN statistics) and the
  checkpoint, with one ratio and with a list: the original untouched; every tensor of the result
  equal to the reference slices (first channels of every conv but the last, its BN's parameters
  and running statistics, the next conv's input channels; classifier unchanged); the layers'
  ``out_channels`` / ``in_channels`` / ``num_features`` consistent with their tensors; the MAC
  count of the result (our own counter) equal to the reference's.
- ``get_input_channel_importance``: a loop of per-input-channel Frobenius norms in float64, on
  square and non-square weights (a wrong axis, L1 or squared norms fail); the input untouched.
- ``apply_channel_sorting``: random ``DigitsCNN``s and the checkpoint: widths unchanged, the
  function unchanged in eval mode (float64, 1e-5) on random inputs, the importances of the input
  channels of every conv after the first non-increasing, the original untouched.

A failing check raises ``AssertionError`` with a short message naming the question and the
property that failed; nothing else (no test source, reference code or hidden inputs).
"""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Callable, Iterator

import numpy as np
import torch

# torch.optim imports torch._dynamo on first use (~1 s; the fine-tuning below): imported with this
# module, the judges' parent pays that once for every judge
import torch._dynamo  # noqa: F401
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from autograder.checks import compare as C
from autograder.checks.isolation import isolated
from autograder.checks.settings import GRADING

from solutions import digits_cnn as dc
from solutions import pruning as reference
from solutions import pruning_experiments as px

FUNCTIONS = tuple(reference.__all__)
VARIABLES = ("target_sparsity", "sparsity_dict")
QUESTIONS = FUNCTIONS + VARIABLES

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
FEW = settings(GRADING, max_examples=12)  # same profile, fewer examples for model-based checks
SHAPES = st.lists(st.integers(1, 5), min_size=1, max_size=4)
EXAMPLE_NON_ZEROS = 10

_TENSORS = (torch.Tensor, nn.Parameter)


@contextmanager
def _isolated(env: dict, question: str) -> Iterator[Callable]:
    """The student's function, graded in isolation, in a clean torch state (gradients enabled,
    float32 default dtype); default dtype, grad mode and thread count are restored afterwards."""
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    try:
        torch.set_default_dtype(torch.float32)
        with torch.enable_grad(), isolated(env, question, reference, FUNCTIONS) as fn:
            yield fn
    finally:
        torch.set_default_dtype(dtype)
        torch.set_num_threads(threads)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _values(tensor: torch.Tensor) -> np.ndarray:
    """A float64 ndarray copy of one of *our* tensors (an argument, after the call)."""
    with torch.no_grad():
        return torch.Tensor.detach(tensor).to(torch.float64).clone().numpy()


def _variable(env: dict, name: str) -> Any:
    """A graded variable of the notebook (plain data), or a short failure if it is missing."""
    value = C.student_value(env, name)
    if value is C.MISSING:
        C.fail(name, f"{name} is not defined")
    return value


# ------------------------------------------------------------------------------------------------
# Fine-grained pruning
# ------------------------------------------------------------------------------------------------


def _bool_mask(value: Any, q: str, shape: tuple[int, ...], case: str) -> np.ndarray:
    """The returned keep-mask as a fresh bool ndarray: a plain Tensor of dtype torch.bool."""
    if type(value) not in _TENSORS:
        C.fail(q, f"returned {C.describe(value)} {case}; expected the keep-mask, a Tensor of "
                  f"dtype torch.bool")
    dtype = torch.Tensor.__getattribute__(value, "dtype")
    if dtype is not torch.bool:
        C.fail(q, f"returned a mask of dtype {str(dtype)[:20]} {case}; expected dtype torch.bool")
    if tuple(torch.Tensor.__getattribute__(value, "shape")) != tuple(shape):
        C.fail(q, f"returned {C.describe(value)} {case}; expected a mask shaped like the tensor "
                  f"{C.shape_text(shape)}")
    with torch.no_grad():
        return torch.Tensor.detach(value).clone().numpy().astype(bool)


def _num_zeros(n: int, sparsity: float) -> int:
    """k = round(n·s) clamped to [0, n] (Python's round: halves to even)."""
    return min(max(round(n * min(max(sparsity, 0.0), 1.0)), 0), n)


def _oracle_mask(values: np.ndarray, sparsity: float) -> np.ndarray:
    """|w| > (k-th smallest |w|), k = round(n·s); all kept for k = 0, none for k = n."""
    magnitude = np.abs(values)
    k = _num_zeros(values.size, sparsity)
    if k == 0:
        return np.ones(values.shape, dtype=bool)
    threshold = np.sort(magnitude, axis=None)[k - 1]
    return magnitude > threshold


def _prune(fn: Callable, q: str, values: np.ndarray, dtype: torch.dtype, sparsity: float,
           case: str) -> tuple[np.ndarray, np.ndarray]:
    """Call fn on a fresh tensor holding ``values``; return (mask, tensor values after)."""
    tensor = torch.tensor(values, dtype=dtype)
    out = C.call(fn, tensor, sparsity, question=q, case=case)
    mask = _bool_mask(out, q, values.shape, case)
    if type(tensor) is not torch.Tensor or tuple(tensor.shape) != values.shape or tensor.dtype != dtype:
        C.fail(q, f"changed the shape or dtype of the tensor {case}; prune it in place")
    return mask, _values(tensor)


def _distinct_magnitudes(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    n = int(np.prod(shape))
    scale = 10.0 ** rng.uniform(-3.0, 1.0)
    signs = rng.choice([-1.0, 1.0], size=n)
    return (signs * (rng.permutation(n) + 1.0) * scale).reshape(shape)


def check_fine_grained_prune(env: dict) -> None:
    q = "fine_grained_prune"
    with _isolated(env, q) as fn:

        @GRADING
        @given(shape=SHAPES, sparsity=st.floats(0.0, 1.0), double=st.booleans(), seed=SEEDS)
        @example(shape=[10], sparsity=0.28, double=False, seed=0)      # 2.8 zeros: 3
        @example(shape=[3, 4], sparsity=0.3, double=True, seed=1)      # 3.6 zeros: 4
        @example(shape=[5], sparsity=0.5, double=False, seed=2)        # 2.5 zeros: 2 (to even)
        @example(shape=[2, 3, 3, 3], sparsity=0.75, double=False, seed=3)  # 40.5 zeros: 40
        @example(shape=[4, 2, 3, 3], sparsity=0.9, double=False, seed=4)
        def distinct(shape, sparsity, double, seed):
            shape = tuple(shape)
            values = _distinct_magnitudes(_rng(seed), shape)
            dtype = torch.float64 if double else torch.float32
            values = values.astype(np.float64 if double else np.float32).astype(np.float64)
            case = "on a tensor with distinct magnitudes"
            mask, after = _prune(fn, q, values, dtype, sparsity, case)
            k = _num_zeros(values.size, sparsity)
            if not np.all((after == values) | (after == 0)):
                C.fail(q, f"changed entries of the tensor other than by zeroing them {case}")
            zeroed = after == 0
            if k > 0 and not zeroed.any():
                C.fail(q, f"did not zero the pruned entries of the tensor in place {case}")
            if np.array_equal(mask, zeroed) and not np.array_equal(mask, ~zeroed):
                C.fail(q, f"returned a mask that is True on the pruned entries {case}; return "
                          f"the keep-mask (True where the entry is kept)")
            if not np.array_equal(mask, ~zeroed):
                C.fail(q, f"returned a mask that differs from the entries left non-zero {case}")
            if int(zeroed.sum()) != k:
                C.fail(q, f"zeroed a number of entries other than round(n * sparsity) {case} "
                          f"(Python's round)")
            magnitude = np.abs(values)
            if k not in (0, values.size) and magnitude[~zeroed].min() <= magnitude[zeroed].max():
                C.fail(q, f"did not keep the entries of largest magnitude {case}")

        @GRADING
        @given(shape=SHAPES, kind=st.sampled_from(["zero", "negative", "rounds to zero", "one",
                                                   "above one"]), seed=SEEDS)
        @example(shape=[4, 4], kind="zero", seed=0)
        @example(shape=[7], kind="rounds to zero", seed=1)
        @example(shape=[3, 3], kind="one", seed=2)
        @example(shape=[2, 5], kind="above one", seed=3)
        def edges(shape, kind, seed):
            shape = tuple(shape)
            rng = _rng(seed)
            values = _distinct_magnitudes(rng, shape).astype(np.float32).astype(np.float64)
            n = values.size
            sparsity = {"zero": 0.0, "negative": -float(rng.uniform(0.1, 2.0)),
                        "rounds to zero": 0.49 / n, "one": 1.0,
                        "above one": 1.0 + float(rng.uniform(0.1, 2.0))}[kind]
            keep_all = kind in ("zero", "negative", "rounds to zero")
            case = {"zero": "for sparsity 0", "negative": "for a negative sparsity",
                    "rounds to zero": "when round(n * sparsity) is 0", "one": "for sparsity 1",
                    "above one": "for a sparsity above 1"}[kind]
            mask, after = _prune(fn, q, values, torch.float32, sparsity, case)
            if keep_all and not (mask.all() and np.array_equal(after, values)):
                C.fail(q, f"did not keep every entry {case}")
            if not keep_all and (mask.any() or np.any(after != 0)):
                C.fail(q, f"did not zero every entry {case}")

        @GRADING
        @given(shape=SHAPES, sparsity=st.floats(0.0, 1.0), levels=st.integers(1, 4), seed=SEEDS)
        @example(shape=[6], sparsity=0.5, levels=2, seed=0)
        @example(shape=[3, 4], sparsity=0.25, levels=1, seed=1)
        @example(shape=[2, 2, 3, 3], sparsity=0.6, levels=3, seed=2)
        def ties(shape, sparsity, levels, seed):
            shape = tuple(shape)
            rng = _rng(seed)
            n = int(np.prod(shape))
            values = (rng.integers(0, levels + 1, n) * rng.choice([-1.0, 1.0], n)
                      * 0.25).reshape(shape)
            case = "on a tensor with tied magnitudes"
            mask, after = _prune(fn, q, values, torch.float32, sparsity, case)
            expected = _oracle_mask(values, sparsity)
            if not np.array_equal(mask, expected):
                C.fail(q, f"returned a mask other than |w| > (k-th smallest |w|), "
                          f"k = round(n * sparsity), {case}: every tie at the threshold is pruned")
            if not np.array_equal(after, values * expected):
                C.fail(q, f"did not leave the tensor equal to tensor * mask {case}")

        C.run_properties(q, distinct, edges, ties)


def check_target_sparsity(env: dict) -> None:
    q = "target_sparsity"
    value = C.to_scalar(_variable(env, q), question=q, what="is")
    if not 0.0 <= value <= 1.0:
        C.fail(q, "is not a sparsity in [0, 1]")
    tensor = px.example_tensor()
    reference.fine_grained_prune(tensor, value)
    kept = int(torch.count_nonzero(tensor))
    if kept != EXAMPLE_NON_ZEROS:
        C.fail(q, f"leaves {kept} non-zeros in the 5x5 example, not {EXAMPLE_NON_ZEROS} "
                  f"(the number of zeros is round(25 * sparsity))")


# ------------------------------------------------------------------------------------------------
# The sparsity dict: size and accuracy after the fine-tuning recipe
# ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _splits() -> dc.DigitsSplits:
    return dc.load_digits_splits()


@lru_cache(maxsize=64)
def _prune_and_fine_tune(items: tuple[tuple[str, float], ...]) -> tuple[float, float, float]:
    """(size ratio, accuracy after the recipe, dense accuracy) for validated dict items."""
    splits = _splits()
    dense = dc.load_checkpoint()
    dense_accuracy = dc.evaluate(dense, splits.x_test, splits.y_test)
    with torch.random.fork_rng(devices=[]):
        model = copy.deepcopy(dense)
        masks = px.apply_sparsity(model, dict(items), reference.fine_grained_prune)
        ratio = px.size_ratio(model, dense)
        if ratio > px.SIZE_TARGET:
            return ratio, math.nan, dense_accuracy
        px.fine_tune(model, masks, splits)
    return ratio, dc.evaluate(model, splits.x_test, splits.y_test), dense_accuracy


def check_sparsity_dict(env: dict) -> None:
    q = "sparsity_dict"
    value = _variable(env, q)
    if not issubclass(type(value), dict):
        C.fail(q, f"is {C.describe(value)}; expected a dict from layer name to sparsity")
    names = set(px.prunable_weights(_model((16, 32, 64, 64))))
    items = []
    for key, sparsity in list(dict.items(value))[:100]:
        if type(key) is not str or key not in names:
            C.fail(q, "has a key that is not the name of a conv or linear weight in "
                      "model.named_parameters() (e.g. 'backbone.0.weight')")
        number = C.to_scalar(sparsity, question=q, what=f"maps {key} to")
        if not 0.0 <= number <= 1.0:
            C.fail(q, f"maps {key} to a sparsity outside [0, 1]")
        items.append((key, number))
    threads = torch.get_num_threads()
    try:
        ratio, accuracy, dense = _prune_and_fine_tune(tuple(sorted(items)))
    finally:
        torch.set_num_threads(threads)
    if ratio > px.SIZE_TARGET:
        C.fail(q, f"keeps {100 * ratio:.1f} % of the dense conv and linear weights; the target is "
                  f"at most {100 * px.SIZE_TARGET:.0f} %")
    if not accuracy >= dense - px.ACCURACY_DROP - 1e-9:
        C.fail(q, f"reaches {accuracy:.2f} % test accuracy after the fine-tuning recipe, more than "
                  f"{px.ACCURACY_DROP:g} point below the dense model's {dense:.2f} %")


# ------------------------------------------------------------------------------------------------
# Channel pruning
# ------------------------------------------------------------------------------------------------


def check_get_num_channels_to_keep(env: dict) -> None:
    q = "get_num_channels_to_keep"
    with _isolated(env, q) as fn:

        @GRADING
        @given(channels=st.integers(1, 1024), prune_ratio=st.floats(0.0, 1.0))
        @example(channels=64, prune_ratio=0.27)   # 46.72: 47
        @example(channels=7, prune_ratio=0.35)    # 4.55: 5
        @example(channels=16, prune_ratio=0.3)
        @example(channels=32, prune_ratio=0.0)
        @example(channels=32, prune_ratio=1.0)
        def rounding(channels, prune_ratio):
            case = "for some channels and prune_ratio"
            got = C.to_int(C.call(fn, channels, prune_ratio, question=q, case=case),
                           question=q, case=case)
            accepted = {int(round(channels * (1 - prune_ratio))),
                        int(round(channels - channels * prune_ratio))}
            if got not in accepted:
                C.fail(q, "differs from int(round(channels * (1 - prune_ratio))), the channels "
                          "kept (rounded to the nearest integer, not truncated)")

        C.run_properties(q, rounding)


def _layer_names() -> tuple[list[str], list[str]]:
    """Names of the Conv2d and BatchNorm2d layers of a DigitsCNN, in order."""
    model = dc.DigitsCNN()
    convs = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    bns = [name for name, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
    return convs, bns


CONVS, BNS = _layer_names()
BN_TENSORS = ("weight", "bias", "running_mean", "running_var")


def _expected_keys() -> set[str]:
    return ({f"{c}.weight" for c in CONVS} | {f"{b}.{t}" for b in BNS for t in BN_TENSORS}
            | {"classifier.weight", "classifier.bias"})


def _model(widths: tuple[int, ...]) -> dc.DigitsCNN:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return dc.DigitsCNN(tuple(widths))


def _random_model(widths: tuple[int, ...], seed: int) -> dc.DigitsCNN:
    """A DigitsCNN with random weights and random BN statistics (so BN matters), eval mode."""
    generator = torch.Generator().manual_seed(int(seed))
    model = _model(widths)

    def normal(tensor: torch.Tensor, scale: float) -> None:
        tensor.copy_(scale * torch.randn(tensor.shape, generator=generator))

    def positive(tensor: torch.Tensor) -> None:
        tensor.copy_(0.5 + torch.rand(tensor.shape, generator=generator))

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                normal(module.weight, 1.0 / math.sqrt(module.weight[0].numel()))
                if module.bias is not None:
                    normal(module.bias, 0.5)
            elif isinstance(module, nn.BatchNorm2d):
                positive(module.weight)
                normal(module.bias, 0.5)
                normal(module.running_mean, 0.5)
                positive(module.running_var)
    return model.eval()


def _snapshot(model: nn.Module) -> dict[str, np.ndarray]:
    state = {k: _values(v) for k, v in model.state_dict().items()}
    for name, m in model.named_modules():
        for attr in ("in_channels", "out_channels", "num_features"):
            if attr in vars(m):
                state[f"{name}.{attr}"] = np.array(vars(m)[attr])
    return state


def _assert_untouched(model: nn.Module, before: dict[str, np.ndarray], q: str, case: str) -> None:
    try:
        after = _snapshot(model)
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - the student left our model unreadable
        after = None
    if after is None or set(after) != set(before) or any(
            after[k].shape != before[k].shape or not np.array_equal(after[k], before[k])
            for k in before):
        C.fail(q, f"modified the model passed in {case}; work on a copy (copy.deepcopy)")


class _ReadModel:
    """A returned model read as data: its tensors, its layer attributes, and a trusted float64
    DigitsCNN rebuilt from those tensors (eval mode)."""

    def __init__(self, state: dict[str, torch.Tensor], widths: tuple[int, ...],
                 attributes: dict[str, Any]):
        self.state = state
        self.widths = widths
        self.attributes = attributes
        self.model = _model(widths).double()
        self.model.load_state_dict(state, strict=False)  # num_batches_tracked: not used in eval
        self.model.eval()

    def array(self, key: str) -> np.ndarray:
        return self.state[key].to(torch.float64).numpy()


def _read_model(value: Any, q: str, case: str) -> _ReadModel:
    if not issubclass(type(value), nn.Module):
        C.fail(q, f"returned {C.describe(value)} {case}; expected a torch.nn.Module")
    raw = C.call(lambda: nn.Module.state_dict(value), question=q, case=case)
    if not issubclass(type(raw), dict):
        C.fail(q, f"returned a model whose state_dict is not a dict {case}")
    entries = {k: v for k, v in list(dict.items(raw))[:200]
               if not (type(k) is str and k.endswith("num_batches_tracked"))}
    expected = _expected_keys()
    if set(entries) != expected:
        C.fail(q, f"returned a model whose parameters and buffers are not those of a DigitsCNN "
                  f"(conv weights, BN weight/bias/running stats, classifier) {case}")
    state = {}
    for key in sorted(expected):
        tensor = entries[key]
        if type(tensor) not in _TENSORS or not torch.Tensor.__getattribute__(tensor, "dtype").is_floating_point:
            C.fail(q, f"returned a model whose {key} is not a floating-point tensor {case}")
        state[key] = C.tensor_values(tensor, question=q, case=case)
        state[key] = torch.from_numpy(state[key])
    widths = tuple(int(state[f"{c}.weight"].shape[0]) for c in CONVS)
    if min(widths) < 1:
        C.fail(q, f"returned a model with a convolution without output channels {case}")
    template = _model(widths).state_dict()
    for key in sorted(expected):
        if tuple(state[key].shape) != tuple(template[key].shape):
            C.fail(q, f"returned a model with inconsistent shapes through conv, BN and the next "
                      f"conv ({key}) {case}")
    modules = C.call(lambda: dict(list(nn.Module.named_modules(value))[:100]), question=q,
                     case=case)
    attributes = {}
    for names, kind, attrs in ((CONVS, nn.Conv2d, ("in_channels", "out_channels")),
                               (BNS, nn.BatchNorm2d, ("num_features",))):
        for name in names:
            module = dict.get(modules, name)
            if not issubclass(type(module), kind):
                C.fail(q, f"returned a model whose layer {name} is not a {kind.__name__} {case}")
            for attr in attrs:
                raw_value = dict.get(vars(module), attr)
                attributes[f"{name}.{attr}"] = raw_value if type(raw_value) is int else None
    return _ReadModel(state, widths, attributes)


def _check_attributes(got: _ReadModel, q: str, case: str) -> None:
    previous = 1
    for conv, bn, width in zip(CONVS, BNS, got.widths):
        if (got.attributes[f"{conv}.in_channels"], got.attributes[f"{conv}.out_channels"],
                got.attributes[f"{bn}.num_features"]) != (previous, width, width):
            C.fail(q, f"returned layers whose in_channels / out_channels / num_features do not "
                      f"match their tensors {case}")
        previous = width


def _ratio_cases() -> st.SearchStrategy:
    ratio = st.floats(0.0, 0.8)
    return st.one_of(ratio, st.lists(ratio, min_size=len(CONVS) - 1, max_size=len(CONVS) - 1))


WIDTHS = st.tuples(*[st.integers(3, 12)] * 4)


def check_channel_prune(env: dict) -> None:
    q = "channel_prune"
    with _isolated(env, q) as fn:

        def run_case(model: nn.Module, prune_ratio, case: str) -> None:
            before = _snapshot(model)
            want = reference.channel_prune(copy.deepcopy(model), copy.copy(prune_ratio))
            out = C.call(fn, model, copy.copy(prune_ratio), question=q, case=case)
            _assert_untouched(model, before, q, case)
            got = _read_model(out, q, case)
            want_widths = tuple(px.conv_widths(want))
            if got.widths[:-1] != want_widths[:-1]:
                C.fail(q, f"keeps the wrong number of output channels {case}: conv i keeps "
                          f"get_num_channels_to_keep(channels, prune ratio i)")
            if got.widths[-1] != want_widths[-1]:
                C.fail(q, f"pruned the last convolution {case}; it feeds the classifier and keeps "
                          f"all its channels")
            expected = {k: v.detach().to(torch.float64).numpy() for k, v in want.state_dict().items()}
            for i, (conv, bn) in enumerate(zip(CONVS, BNS)):
                if not np.array_equal(got.array(f"{conv}.weight"), expected[f"{conv}.weight"]):
                    C.fail(q, f"conv {i}'s weight is not its first kept output channels with the "
                              f"input channels the previous conv kept {case}")
                for t in ("weight", "bias"):
                    if not np.array_equal(got.array(f"{bn}.{t}"), expected[f"{bn}.{t}"]):
                        C.fail(q, f"the {t} of BN {i} is not sliced to its conv's kept channels {case}")
                for t in ("running_mean", "running_var"):
                    if not np.array_equal(got.array(f"{bn}.{t}"), expected[f"{bn}.{t}"]):
                        C.fail(q, f"the {t} of BN {i} is not sliced to its conv's kept channels {case}")
            for t in ("weight", "bias"):
                if not np.array_equal(got.array(f"classifier.{t}"), expected[f"classifier.{t}"]):
                    C.fail(q, f"changed the classifier {case}")
            _check_attributes(got, q, case)
            if px.count_macs(got.model) != px.count_macs(want):
                C.fail(q, f"the MAC count of the pruned model is not the expected one {case}")

        @FEW
        @given(widths=WIDTHS, prune_ratio=_ratio_cases(), seed=SEEDS)
        @example(widths=(8, 9, 10, 11), prune_ratio=0.25, seed=0)
        @example(widths=(5, 12, 7, 6), prune_ratio=[0.6, 0.2, 0.4], seed=1)
        def random_models(widths, prune_ratio, seed):
            case = "for a list of ratios" if isinstance(prune_ratio, list) else "for one ratio"
            run_case(_random_model(widths, seed), prune_ratio, f"{case} on a random DigitsCNN")

        def checkpoint():
            run_case(dc.load_checkpoint(), 0.5, "for ratio 0.5 on the checkpoint")
            run_case(dc.load_checkpoint(), [0.25, 0.5, 0.75], "for a list on the checkpoint")

        C.run_properties(q, random_models, checkpoint)


def check_get_input_channel_importance(env: dict) -> None:
    q = "get_input_channel_importance"
    with _isolated(env, q) as fn:

        @GRADING
        @given(out_channels=st.integers(1, 8), in_channels=st.integers(1, 8),
               kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)), double=st.booleans(),
               seed=SEEDS)
        @example(out_channels=4, in_channels=4, kernel=(3, 3), double=False, seed=0)
        @example(out_channels=6, in_channels=3, kernel=(3, 3), double=False, seed=1)
        @example(out_channels=2, in_channels=5, kernel=(1, 1), double=True, seed=2)
        def norms(out_channels, in_channels, kernel, double, seed):
            rng = _rng(seed)
            dtype = torch.float64 if double else torch.float32
            values = rng.standard_normal((out_channels, in_channels, *kernel)) * 10.0 ** rng.uniform(-2, 1)
            weight = torch.tensor(values, dtype=dtype)
            values = _values(weight)
            case = "on a random conv weight"
            out = C.call(fn, weight, question=q, case=case)
            out = C.to_tensor(out, question=q, shape=(in_channels,), case=case)
            got = C.tensor_values(out, question=q, case=case)
            C.assert_unchanged(torch.tensor(values, dtype=dtype), weight, question=q,
                               name="weight", case=case)
            expected = np.array([math.sqrt(float(np.sum(values[:, j] ** 2)))
                                 for j in range(in_channels)])
            C.assert_close(got, expected, question=q, rtol=1e-5, atol=1e-12,
                           what=f"differs from the Frobenius norm of weight[:, j] for each input "
                                f"channel j {case}")

        C.run_properties(q, norms)


def _importances(weight: torch.Tensor) -> np.ndarray:
    w = weight.detach().to(torch.float64).numpy()
    return np.sqrt(np.sum(w ** 2, axis=(0, 2, 3)))


def check_apply_channel_sorting(env: dict) -> None:
    q = "apply_channel_sorting"
    with _isolated(env, q) as fn:

        def run_case(model: nn.Module, seed: int, case: str) -> None:
            before = _snapshot(model)
            private = copy.deepcopy(model).double().eval()
            out = C.call(fn, model, question=q, case=case)
            _assert_untouched(model, before, q, case)
            got = _read_model(out, q, case)
            if got.widths != tuple(px.conv_widths(private)):
                C.fail(q, f"changed the number of channels {case}")
            x = torch.rand((6, 1, 8, 8), generator=torch.Generator().manual_seed(seed),
                           dtype=torch.float64)
            with torch.no_grad():
                want = private(x).numpy()
                have = got.model(x).numpy()
            C.assert_close(have, want, question=q, rtol=1e-5, atol=1e-6,
                           what=f"changed the function the model computes (eval mode) {case}: "
                                f"permute each conv's output channels, its BN's parameters and "
                                f"running statistics, and the next conv's input channels together")
            for i, conv in enumerate(CONVS[1:]):
                importance = _importances(got.state[f"{conv}.weight"])
                if np.any(importance[1:] > importance[:-1] * (1 + 1e-6) + 1e-12):
                    C.fail(q, f"conv {i}'s output channels are not sorted by the importance of "
                              f"conv {i + 1}'s input channels, descending, {case}")
            _check_attributes(got, q, case)

        @FEW
        @given(widths=WIDTHS, seed=SEEDS)
        @example(widths=(8, 9, 10, 11), seed=0)
        def random_models(widths, seed):
            run_case(_random_model(widths, seed), seed, "on a random DigitsCNN")

        def checkpoint():
            run_case(dc.load_checkpoint(), 0, "on the checkpoint")

        C.run_properties(q, random_models, checkpoint)


CHECKS = {name: globals()[f"check_{name}"] for name in QUESTIONS}
