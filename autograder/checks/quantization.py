"""Hidden checks for the quantization assignment: one ``check_<question>(env)`` per question.

``env`` is the student's notebook namespace. Checks touch student code only by reading the two
multiple-choice variables and by calling the graded functions with plain data (tensors, numbers,
a ``Codebook`` namedtuple, standard ``nn.Conv2d`` / ``nn.BatchNorm2d`` modules), then judging the
returned values and, where the API says "in place", the arguments' state after the call. Each
check runs hypothesis properties (settings ``GRADING``: derandomized, no database, bounded) and
compares with independent oracles computed here in float64 / int64. The function under test is
graded in isolation: every *other* graded function in its globals is bound to the reference
while the check runs (``k_means_quantize`` is graded with the reference ``update_codebook``,
``quantized_linear`` with the reference ``shift_quantized_bias``, …).

Oracles and what they catch:

- ``k_means_quantize``: ANY valid k-means result passes, not the reference's centroids. With more
  than 2^b distinct values (all values distinct; b = 3, 4, 5, 6, so 2^b differs from 2b and b²
  at b = 3, 5, 6): exactly 2^b pairwise distinct centroids; every value labelled with a nearest
  centroid (brute force over all centroids); every non-empty centroid the mean of its members;
  the tensor's values replaced in place by centroids[labels]. With at most 2^b distinct values:
  the centroids are exactly those values (lossless). With a codebook given: no clustering, the
  tensor becomes codebook.centroids[codebook.labels] in place and that codebook comes back.
  Mixtures, uniform, normal and heavy-tailed data (where linear initialisation leaves empty
  clusters) at several scales.
- ``update_codebook``: random labels (not nearest) with deliberately empty clusters: non-empty
  centroids become member means, empty ones keep their value (0 or NaN fail), in place in the
  codebook's centroids tensor; labels and the tensor untouched.
- ``linear_quantize``: clamp(round(r/S) + Z) against float64, accepting either neighbour only
  where r/S is within float error of a half-integer (so another operation order or float32
  arithmetic passes, floor does not); values far outside the range (a missing clamp or a cast
  before the clamp wraps around); per-channel scale and zero-point tensors [C, 1, …] with C equal
  to and different from the other dimensions; the dtype argument (int8 by default, int32 for
  wider bitwidths).
- ``get_quantization_scale_and_zero_point``: S within 1e-6 of (r_max − r_min)/(q_max − q_min)
  and Z = round(q_min − r_min/S) clamped (either neighbour at a near tie, so Z from r_max
  passes); the worked example ([−0.25, 0.75], 2 bits → 1/3, −1), a ReLU range [0, 6] at 8 bits
  (−128), all-positive and all-negative ranges (Z clamped); a constant tensor (0, positive,
  negative) must give a finite S > 0 and an int Z in range without raising. S must be a float
  and Z an int.
- the multiple-choice variables: one letter, case and surrounding whitespace ignored.
- ``fuse_conv_bn``: a returned ``nn.Conv2d`` with the original stride/padding/dilation/groups whose
  weight and bias, applied with F.conv2d, reproduce BN(conv(x)) in eval mode (float64 oracle;
  eps large enough to matter; in_channels = out_channels among the cases, so a factor on the
  wrong axis fails silently-broadcasting cases too).
- ``linear_quantize_weight_per_channel``: scale [C, 1, …] equal to max|W_c|/q_max per channel,
  int8 weights round(W/S_c), for linear and conv weights whose channels differ in magnitude.
- ``linear_quantize_bias_per_output_channel``: an independent float64 computation of
  round(b / (S_w·S_in)) (int32 dtype, values beyond the int8 range) and the scale S_w·S_in.
- ``shift_quantized_bias``: the integer identity q_x·q_wᵀ + shifted = (q_x − Z_in)·q_wᵀ + q_b for
  random integer inputs (exact, int64), linear and conv weights, int32 dtype.
- ``quantized_linear`` / ``quantized_conv2d``: "dequantize → float op (float64) → requantize" as
  the oracle; the result must be int8 of the right shape, within one integer step everywhere and
  equal on all but at most 10 % (+1) of the entries (floor or truncation instead of round fail);
  batch size equal to the number of output channels and different from it; input zero points far
  from 0 (padding with 0 instead of Z_in fails); outputs that clip; feature bitwidths 8 and 4.
- ``extra_preprocess``: clamp(round(255·x) − 128) as int8, on the digits' pixel levels k/16, on
  uniform x, and at the endpoints (0 ↦ −128, 1 ↦ 127).

A failing check raises ``AssertionError`` with a short message naming the question and the
property that failed; nothing else (no test source, reference code or hidden inputs).
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from autograder.checks import compare as C
from autograder.checks.isolation import isolated
from autograder.checks.settings import GRADING
from autograder.engine.shared.torch_hooks import remove_leaked_hooks

from solutions import quantization as reference
from solutions.quantization_experiments import Codebook, get_quantized_range

QUESTIONS = tuple(reference.__all__)  # one autograded question per API name
CHOICES = {"scale_formula_choice": "ABCD", "zero_point_formula_choice": "ABCD"}
FUNCTIONS = tuple(q for q in QUESTIONS if q not in CHOICES)

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
FEW = settings(GRADING, max_examples=15)  # same profile, fewer examples for costlier properties
F32 = torch.float32


@contextmanager
def _isolated(env: dict, question: str) -> Iterator[Callable]:
    """The student's function, every other graded function bound to the reference, in a clean
    torch state (float32 default dtype, no leaked saved-tensors hooks); default dtype, grad mode
    and thread count are restored afterwards, so student side effects stay in one check."""
    dtype, grad, threads = torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_num_threads()
    remove_leaked_hooks()
    try:
        torch.set_default_dtype(torch.float32)
        with isolated(env, question, reference, FUNCTIONS) as fn:
            yield fn
    finally:
        torch.set_default_dtype(dtype)
        torch.set_grad_enabled(grad)
        torch.set_num_threads(threads)
        remove_leaked_hooks()


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _f32(array) -> torch.Tensor:
    return torch.tensor(np.asarray(array, dtype=np.float32))


def _values(tensor: torch.Tensor) -> np.ndarray:
    """Our own tensor's values as float64 (trusted objects only)."""
    return tensor.detach().to(torch.float64).numpy().copy()


def _integer_result(value: Any, *, question: str, shape: tuple, dtype: torch.dtype, case: str,
                    what: str = "returned") -> np.ndarray:
    """A returned integer tensor of exactly ``dtype`` and ``shape``, as an int64 ndarray."""
    if type(value) not in C._TENSOR_TYPES:
        C.fail(question, f"{what} {C.describe(value)} {case}; expected a Tensor of shape "
                         f"{C.shape_text(shape)} and dtype {dtype}".replace("torch.", ""))
    got_shape = tuple(torch.Tensor.__getattribute__(value, "shape"))
    if got_shape != tuple(shape):
        C.fail(question, f"{what} a Tensor of shape {C.shape_text(got_shape)} {case}; expected "
                         f"{C.shape_text(shape)}")
    got_dtype = torch.Tensor.__getattribute__(value, "dtype")
    if got_dtype != dtype:
        C.fail(question, f"{what} a Tensor of dtype {C._safe_name(str(got_dtype))} {case}; "
                         f"expected {C._safe_name(str(dtype))}")
    return C._tensor_to_numpy(value, question=question, case=case, what=what).astype(np.int64)


def _float_result(value: Any, *, question: str, case: str, what: str = "returned",
                  numel: int | None = None, shape: tuple | None = None) -> np.ndarray:
    """A returned floating-point tensor (finite), as a float64 ndarray of its own shape."""
    C.to_tensor(value, question=question, shape=shape, case=case, what=what)
    array = C.tensor_values(value, question=question, case=case)
    if numel is not None and array.size != numel:
        C.fail(question, f"{what} a Tensor with {array.size} entries {case}; expected {numel}")
    return array


def _pair(value: Any, *, question: str, case: str, what: str = "a pair") -> tuple:
    """The two items of a returned tuple (or list) of length 2, read without its own methods."""
    if issubclass(type(value), tuple) and tuple.__len__(value) == 2:
        return tuple.__getitem__(value, 0), tuple.__getitem__(value, 1)
    if type(value) is list and len(value) == 2:
        return value[0], value[1]
    C.fail(question, f"returned {C.describe(value)} {case}; expected {what}")


def _rounding_ok(got: np.ndarray, v: np.ndarray, zero_point, q_min: int, q_max: int) -> np.ndarray:
    """got == clamp(round(v) + Z), or, where v is within float error of a half-integer (so
    another operation order or float32 arithmetic may round the other way), either neighbour."""
    exact = np.clip(np.round(v) + zero_point, q_min, q_max)
    low = np.clip(np.floor(v) + zero_point, q_min, q_max)
    high = np.clip(np.ceil(v) + zero_point, q_min, q_max)
    near_tie = np.abs(v - np.floor(v) - 0.5) < 1e-4 + 4e-7 * np.abs(v)  # float32: ~1e-7 rel.
    return (got == exact) | (near_tie & ((got == low) | (got == high)))


# ------------------------------------------------------------------------------------------------
# K-means quantization
# ------------------------------------------------------------------------------------------------

DATA_KINDS = ("normal", "uniform", "mixture", "heavy-tailed")


def _distinct_data(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    """n pairwise distinct float32 values (as float64) of one kind, at a random scale."""
    scale = 10.0 ** rng.uniform(-3, 1)
    if kind == "normal":
        x = rng.normal(rng.normal(0, 1), 1.0, 3 * n)
    elif kind == "uniform":
        x = rng.uniform(-1.0, 2.0, 3 * n)
    elif kind == "mixture":
        centers = rng.uniform(-5.0, 5.0, int(rng.integers(2, 6)))
        x = rng.choice(centers, 3 * n) + 0.2 * rng.normal(0, 1, 3 * n)
    else:  # heavy tails: linear initialisation leaves empty clusters there
        x = rng.standard_t(1.5, 3 * n)
    x = np.unique((x * scale).astype(np.float32))
    return rng.permutation(x)[:n].astype(np.float64)


def _shape_for(rng: np.random.Generator, n: int) -> tuple:
    """A random tensor shape with n elements (1-D to 4-D)."""
    divisors = [d for d in range(2, min(n, 8) + 1) if n % d == 0]
    shape = [n]
    for _ in range(int(rng.integers(0, 3))):
        if not divisors or shape[-1] == 1:
            break
        d = int(rng.choice(divisors))
        if shape[-1] % d:
            break
        shape[-1] //= d
        shape.append(d)
    return tuple(shape)


def _codebook_result(value, *, q: str, n: int, case: str) -> tuple[np.ndarray, np.ndarray]:
    """(centroids [k] float64, labels [n] int64) of a returned Codebook (any 2-tuple)."""
    centroids, labels = _pair(value, question=q, case=case, what="a Codebook(centroids, labels)")
    c = _float_result(centroids, question=q, case=case, what="returned centroids:").reshape(-1)
    if type(labels) not in C._TENSOR_TYPES or torch.Tensor.__getattribute__(labels, "dtype") not in (
            torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        C.fail(q, f"returned labels that are not an integer Tensor {case}")
    lab = C._tensor_to_numpy(labels, question=q, case=case, what="returned labels:").astype(np.int64)
    lab = lab.reshape(-1)
    if lab.size != n:
        C.fail(q, f"returned {lab.size} labels for a tensor of {n} elements {case}")
    if c.size == 0 or lab.min() < 0 or lab.max() >= c.size:
        C.fail(q, f"returned labels outside 0 .. k-1 for k = {c.size} centroids {case}")
    return c, lab


def _tensor_after(tensor: torch.Tensor, *, q: str, shape: tuple, case: str) -> np.ndarray:
    """The values of our tensor after the student's call (it must keep its shape and dtype)."""
    if type(tensor) not in C._TENSOR_TYPES or tuple(tensor.shape) != tuple(shape) \
            or tensor.dtype != F32:
        C.fail(q, f"changed the shape or dtype of the tensor passed in {case}")
    return C._tensor_to_numpy(tensor, question=q, case=case, what="left the tensor with")


def _assert_kmeans_fixed_point(q: str, x: np.ndarray, c: np.ndarray, lab: np.ndarray,
                               after: np.ndarray, k: int, case: str, distinct: bool) -> None:
    """The properties every k-means result has, whatever its initialisation: k centroids
    (pairwise distinct when ``distinct``), the values replaced in place by centroids[labels],
    every value labelled with a nearest centroid (squared distances compared up to float32
    rounding, so distances from ``torch.cdist`` pass), every non-empty centroid its members'
    mean."""
    if c.size != k:
        C.fail(q, f"returned {c.size} centroids {case}; expected {k}")
    span = float(x.max() - x.min())
    tol = 1e-5 * span + 1e-7 * float(np.max(np.abs(x))) + 1e-12
    if distinct and np.min(np.diff(np.sort(c))) <= 1e-7 * span:
        C.fail(q, f"returned centroids that are not pairwise distinct {case}")
    if not np.allclose(after, c[lab], rtol=1e-6, atol=tol):
        C.fail(q, f"did not replace the tensor's values in place by centroids[labels] {case}")
    # nearest up to float32 rounding of squared distances (torch.cdist's matrix-product mode)
    squared = (x[:, None] - c[None, :]) ** 2
    slack = tol**2 + 1e-5 * float(np.max(x**2))
    if np.any(squared[np.arange(x.size), lab] > squared.min(axis=1) + slack):
        C.fail(q, f"labels some values with a centroid that is not the nearest {case} "
                  f"(run Lloyd's iterations until no label changes)")
    counts = np.bincount(lab, minlength=k)
    means = np.bincount(lab, weights=x, minlength=k) / np.maximum(counts, 1)
    if np.any((counts > 0) & (np.abs(c - means) > tol)):
        C.fail(q, f"returned centroids that are not the mean of their values {case} "
                  f"(not a k-means fixed point)")


def check_k_means_quantize(env: dict) -> None:
    q = "k_means_quantize"
    with _isolated(env, q) as fn:

        def run(x: np.ndarray, bitwidth: int, k: int, case: str, distinct: bool) -> None:
            shape = _shape_for(_rng(x.size + bitwidth), x.size)
            tensor = _f32(x).reshape(shape)
            result = C.call(fn, tensor, bitwidth, question=q, case=case)
            c, lab = _codebook_result(result, q=q, n=x.size, case=case)
            after = _tensor_after(tensor, q=q, shape=shape, case=case).reshape(-1)
            _assert_kmeans_fixed_point(q, x, c, lab, after, k, case, distinct)

        @settings(GRADING, max_examples=16)
        @given(kind=st.sampled_from(DATA_KINDS), bitwidth=st.sampled_from([3, 4, 5, 6]),
               extra=st.integers(1, 80), seed=SEEDS)
        @example(kind="normal", bitwidth=3, extra=40, seed=0)
        @example(kind="uniform", bitwidth=5, extra=30, seed=1)
        @example(kind="heavy-tailed", bitwidth=3, extra=60, seed=2)
        @example(kind="mixture", bitwidth=6, extra=20, seed=3)
        def many_distinct_values(kind, bitwidth, extra, seed):
            x = _distinct_data(_rng(seed), kind, 2**bitwidth + extra)
            run(x, bitwidth, 2**bitwidth, f"at bitwidth {bitwidth} for {x.size} distinct {kind} "
                                          f"values (2^bitwidth centroids expected)", True)

        @GRADING
        @given(bitwidth=st.sampled_from([3, 4, 5]), seed=SEEDS, data=st.data())
        @example(bitwidth=3, seed=0, data=None)
        @example(bitwidth=5, seed=1, data=None)
        def few_distinct_values(bitwidth, seed, data):
            rng = _rng(seed)
            m = data.draw(st.integers(1, 2**bitwidth)) if data is not None else \
                (7 if bitwidth == 3 else 12)
            levels = np.unique(np.round(rng.normal(0, 1, m + 20), 3).astype(np.float32))
            levels = rng.permutation(levels)[:m].astype(np.float64)
            x = np.concatenate([levels, rng.choice(levels, int(rng.integers(0, 3 * m + 1)))])
            run(rng.permutation(x), bitwidth, levels.size,
                f"at bitwidth {bitwidth} for a tensor with only {levels.size} distinct values "
                f"(one centroid per distinct value expected)", False)

        @GRADING
        @given(k=st.integers(2, 12), n=st.integers(1, 40), seed=SEEDS)
        @example(k=8, n=30, seed=0)
        def given_codebook(k, n, seed):
            rng = _rng(seed)
            centroids = rng.normal(0, 1, k).astype(np.float32)
            labels = rng.integers(0, k, n)
            x = rng.normal(0, 1, n).astype(np.float32)
            shape = _shape_for(rng, n)
            tensor = _f32(x).reshape(shape)
            codebook = Codebook(torch.tensor(centroids), torch.tensor(labels, dtype=torch.int64))
            bitwidth = max(1, int(np.ceil(np.log2(k))))
            case = "when a codebook is given"
            result = C.call(fn, tensor, bitwidth, codebook=codebook, question=q, case=case)
            after = _tensor_after(tensor, q=q, shape=shape, case=case).reshape(-1)
            expected = centroids.astype(np.float64)[labels]
            if not np.array_equal(after, expected):
                C.fail(q, f"did not set the tensor, in place, to codebook.centroids[codebook.labels] "
                          f"{case} (no clustering then)")
            c, lab = _codebook_result(result, q=q, n=n, case=case)
            if not (np.array_equal(c, centroids.astype(np.float64)) and np.array_equal(lab, labels)):
                C.fail(q, f"did not return the codebook passed in {case}")

        C.run_properties(q, few_distinct_values, given_codebook, many_distinct_values)


def check_update_codebook(env: dict) -> None:
    q = "update_codebook"
    with _isolated(env, q) as fn:

        @GRADING
        @given(k=st.integers(2, 16), n=st.integers(1, 60), used=st.floats(0.2, 1.0), seed=SEEDS)
        @example(k=8, n=40, used=0.5, seed=0)
        @example(k=4, n=3, used=0.5, seed=1)
        def centroid_means(k, n, used, seed):
            rng = _rng(seed)
            x = (rng.normal(0, 1, n) * 10.0 ** rng.uniform(-2, 1)).astype(np.float32)
            clusters = rng.permutation(k)[:max(1, int(round(used * k)))]
            labels = rng.choice(clusters, n)
            centroids = rng.normal(0, 1, k).astype(np.float32)
            shape = _shape_for(rng, n)
            tensor = _f32(x).reshape(shape)
            codebook = Codebook(torch.tensor(centroids), torch.tensor(labels, dtype=torch.int64))
            empty = np.bincount(labels, minlength=k) == 0
            case = "for a codebook with empty clusters" if empty.any() else "for random labels"
            C.call(fn, tensor, codebook, question=q, case=case)
            got = C._tensor_to_numpy(codebook.centroids, question=q, case=case,
                                     what="left the centroids with")
            if got.shape != (k,):
                C.fail(q, f"changed the shape of the centroids tensor {case}")
            counts = np.bincount(labels, minlength=k)
            sums = np.bincount(labels, weights=x.astype(np.float64), minlength=k)
            expected = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
            if np.any(empty) and not np.array_equal(got[empty], centroids[empty].astype(np.float64)):
                C.fail(q, f"changed the centroid of an empty cluster {case}; it keeps its value")
            scale = float(np.max(np.abs(x))) + 1e-12
            if not np.allclose(got, expected, rtol=1e-5, atol=1e-6 * scale):
                C.fail(q, f"centroids (updated in place in codebook.centroids) are not the mean "
                          f"of the values labelled with them {case}")
            labels_after = C._tensor_to_numpy(codebook.labels, question=q, case=case,
                                              what="left the labels with")
            tensor_after = C._tensor_to_numpy(tensor, question=q, case=case,
                                              what="left the tensor with")
            if not np.array_equal(labels_after, labels) or \
                    not np.array_equal(tensor_after.reshape(-1), x.astype(np.float64)):
                C.fail(q, f"changed the labels or the tensor {case}; only centroids change")

        C.run_properties(q, centroid_means)


# ------------------------------------------------------------------------------------------------
# Linear quantization
# ------------------------------------------------------------------------------------------------


def _check_choice(env: dict, q: str) -> None:
    """A one-letter answer (case and surrounding whitespace ignored) equal to the reference's."""
    value = C.student_value(env, q)
    if value is C.MISSING:
        C.fail(q, f"{q} is not defined")
    if type(value) is not str:
        C.fail(q, f"is {C.describe(value)}; expected one letter as a string, e.g. \"A\"")
    answer = str.upper(str.strip(value))
    if len(answer) != 1 or answer not in CHOICES[q]:
        C.fail(q, f"is not one of the letters {', '.join(CHOICES[q])}")
    if answer != getattr(reference, q):
        C.fail(q, "is not the right option")


def check_scale_formula_choice(env: dict) -> None:
    _check_choice(env, "scale_formula_choice")


def check_zero_point_formula_choice(env: dict) -> None:
    _check_choice(env, "zero_point_formula_choice")


def _channel_shape(rng: np.random.Generator, channels: int) -> tuple:
    rest = [int(d) for d in rng.integers(1, 5, int(rng.integers(0, 3)))]
    return (channels, *rest)


def check_linear_quantize(env: dict) -> None:
    q = "linear_quantize"
    with _isolated(env, q) as fn:

        def run(r: np.ndarray, bitwidth, scale, zero_point, dtype, case):
            """Call on a float32 tensor of r; compare with the float64 oracle."""
            tensor = _f32(r)
            r = _values(tensor)
            s = scale if isinstance(scale, float) else _values(scale)
            z = zero_point if isinstance(zero_point, int) else _values(zero_point)
            args = (tensor, bitwidth, scale, zero_point) + (() if dtype is None else (dtype,))
            out = C.call(fn, *args, question=q, case=case)
            got = _integer_result(out, question=q, shape=r.shape, dtype=dtype or torch.int8,
                                  case=case)
            q_min, q_max = get_quantized_range(bitwidth)
            if not np.all(_rounding_ok(got, r / s, z, q_min, q_max)):
                C.fail(q, f"differs from clamp(round(r / S) + Z, q_min, q_max) {case}")
            C.assert_unchanged(_f32(r), tensor, question=q, name="fp_tensor", case=case)

        def per_tensor_values(rng, shape, bitwidth, scale, zero_point, beyond):
            q_min, q_max = get_quantized_range(bitwidth)
            span = (q_max - q_min) * (1 + beyond)
            low = q_min - zero_point - beyond * (q_max - q_min) / 2
            return scale * (low + span * rng.uniform(0, 1, shape))

        @GRADING
        @given(bitwidth=st.integers(2, 8), seed=SEEDS, beyond=st.sampled_from([0.0, 0.5, 4.0]))
        @example(bitwidth=8, seed=0, beyond=4.0)
        @example(bitwidth=3, seed=1, beyond=0.5)
        @example(bitwidth=4, seed=2, beyond=0.0)
        def per_tensor(bitwidth, seed, beyond):
            rng = _rng(seed)
            q_min, q_max = get_quantized_range(bitwidth)
            scale = float(10.0 ** rng.uniform(-3, 1))
            zero_point = int(rng.integers(q_min, q_max + 1))
            shape = _channel_shape(rng, int(rng.integers(1, 6)))
            r = per_tensor_values(rng, shape, bitwidth, scale, zero_point, beyond)
            what = "with values far outside the range" if beyond > 1 else \
                "with values outside the range" if beyond else "within the range"
            run(r, bitwidth, scale, zero_point, None,
                f"for a {bitwidth}-bit per-tensor scale and zero point, {what}")

        @GRADING
        @given(bitwidth=st.integers(2, 8), channels=st.integers(1, 6), seed=SEEDS,
               symmetric=st.booleans())
        @example(bitwidth=8, channels=3, seed=0, symmetric=False)
        @example(bitwidth=4, channels=4, seed=1, symmetric=True)
        def per_channel(bitwidth, channels, seed, symmetric):
            rng = _rng(seed)
            q_min, q_max = get_quantized_range(bitwidth)
            shape = _channel_shape(rng, channels)
            if rng.uniform() < 0.5 and len(shape) > 1:  # the channel count repeats in other dims
                shape = (channels,) + (channels,) * (len(shape) - 1)
            view = (channels,) + (1,) * (len(shape) - 1)
            scale = (10.0 ** rng.uniform(-3, 0, channels)).astype(np.float32)
            zero_point = np.zeros(channels, dtype=np.int64) if symmetric else \
                rng.integers(q_min, q_max + 1, channels)
            r = np.stack([per_tensor_values(rng, shape[1:], bitwidth, float(s), int(z), 0.5)
                          for s, z in zip(scale, zero_point)])
            scale_t = torch.tensor(scale).view(view)
            zero_t = 0 if symmetric else torch.tensor(zero_point, dtype=torch.int32).view(view)
            run(r, bitwidth, scale_t, zero_t, None,
                f"for per-channel scales{'' if symmetric else ' and zero points'} of shape "
                f"{C.shape_text(view)} ({bitwidth} bits)")

        @GRADING
        @given(bitwidth=st.sampled_from([12, 16, 20]), seed=SEEDS)
        @example(bitwidth=16, seed=0)
        def wider_dtype(bitwidth, seed):
            rng = _rng(seed)
            q_min, q_max = get_quantized_range(bitwidth)
            scale = float(10.0 ** rng.uniform(-4, -1))
            zero_point = int(rng.integers(q_min // 4, q_max // 4))
            shape = _channel_shape(rng, int(rng.integers(1, 6)))
            r = per_tensor_values(rng, shape, bitwidth, scale, zero_point, 0.5)
            run(r, bitwidth, scale, zero_point, torch.int32,
                f"for bitwidth {bitwidth} with dtype=torch.int32")

        C.run_properties(q, per_tensor, per_channel, wider_dtype)


def check_get_quantization_scale_and_zero_point(env: dict) -> None:
    q = "get_quantization_scale_and_zero_point"
    with _isolated(env, q) as fn:

        def call(values: np.ndarray, bitwidth: int, case: str) -> tuple[float, int]:
            tensor = _f32(values)
            out = C.call(fn, tensor, bitwidth, question=q, case=case)
            scale, zero_point = _pair(out, question=q, case=case, what="a pair (scale, zero_point)")
            scale = C.to_scalar(scale, question=q, case=case, what="returned a scale that is")
            zero_point = C.to_int(zero_point, question=q, case=case,
                                  what="returned a zero point that is")
            return scale, zero_point

        def run(values: np.ndarray, bitwidth: int, case: str) -> None:
            values = values.astype(np.float32).astype(np.float64)
            scale, zero_point = call(values, bitwidth, case)
            q_min, q_max = get_quantized_range(bitwidth)
            r_min, r_max = float(values.min()), float(values.max())
            expected = (r_max - r_min) / (q_max - q_min)
            if not abs(scale - expected) <= 1e-6 * expected:
                C.fail(q, f"scale differs from (r_max - r_min) / (q_max - q_min) {case}")
            if not _rounding_ok(np.array([zero_point]), np.array([q_min - r_min / expected]), 0,
                                q_min, q_max)[0]:
                C.fail(q, f"zero point differs from round(q_min - r_min / S) clamped to "
                          f"[q_min, q_max] {case}")

        @GRADING
        @given(bitwidth=st.integers(2, 8), seed=SEEDS,
               kind=st.sampled_from(["mixed signs", "all positive", "all negative", "ReLU"]))
        @example(bitwidth=8, seed=0, kind="all positive")
        @example(bitwidth=8, seed=1, kind="all negative")
        @example(bitwidth=3, seed=2, kind="mixed signs")
        def ranges(bitwidth, seed, kind):
            rng = _rng(seed)
            scale = 10.0 ** rng.uniform(-3, 2)
            low, high = np.sort(rng.uniform(0.05, 1.0, 2))
            if kind == "mixed signs":
                low, high = -low, high
            elif kind == "all negative":
                low, high = -high, -low
            elif kind == "ReLU":
                low = 0.0
            values = scale * rng.uniform(low, high, _channel_shape(rng, int(rng.integers(2, 6))))
            values.reshape(-1)[:2] = scale * np.array([low, high])
            run(values, bitwidth, f"for a {kind} range at {bitwidth} bits")

        def worked_examples():
            run(np.array([-0.25, 0.5, 0.75, 0.0]), 2, "for the range [-0.25, 0.75] at 2 bits")
            run(np.array([[0.0, 6.0], [2.5, 1.0]]), 8, "for the ReLU range [0, 6] at 8 bits")
            run(np.array([2.0, 6.0, 3.0]), 8, "for the all-positive range [2, 6] at 8 bits")
            run(np.array([-6.0, -2.0, -3.0]), 8, "for the all-negative range [-6, -2] at 8 bits")

        def constant_tensors():
            for value in (0.0, 0.75, -3.0):
                for bitwidth in (8, 4):
                    case = f"for a constant tensor ({bitwidth} bits)"
                    scale, zero_point = call(np.full((2, 3), value), bitwidth, case)
                    q_min, q_max = get_quantized_range(bitwidth)
                    if not (np.isfinite(scale) and scale > 0) or not q_min <= zero_point <= q_max:
                        C.fail(q, f"needs a finite scale > 0 and a zero point in [q_min, q_max] "
                                  f"{case}")

        C.run_properties(q, worked_examples, constant_tensors, ranges)


# ------------------------------------------------------------------------------------------------
# Integer-only inference
# ------------------------------------------------------------------------------------------------


def _conv_attrs(conv: nn.Conv2d) -> tuple:
    """stride, padding, dilation, groups as stored in the module (no attribute hooks run)."""
    attrs = object.__getattribute__(conv, "__dict__")
    return tuple(dict.get(attrs, name) for name in ("stride", "padding", "dilation", "groups"))


def _parameter(module: nn.Module, name: str) -> Any:
    """A module's registered parameter (or None), read without running its attribute hooks."""
    parameters = dict.get(object.__getattribute__(module, "__dict__"), "_parameters")
    return dict.get(parameters, name) if type(parameters) is dict else None


def check_fuse_conv_bn(env: dict) -> None:
    q = "fuse_conv_bn"
    with _isolated(env, q) as fn:

        @GRADING
        @given(in_channels=st.integers(1, 5), out_channels=st.integers(1, 5),
               kernel=st.sampled_from([1, 3]), stride=st.integers(1, 2), padding=st.integers(0, 1),
               eps=st.sampled_from([1e-5, 0.1, 0.5]), seed=SEEDS)
        @example(in_channels=3, out_channels=3, kernel=3, stride=1, padding=1, eps=0.5, seed=0)
        @example(in_channels=2, out_channels=4, kernel=3, stride=2, padding=0, eps=1e-5, seed=1)
        def same_function(in_channels, out_channels, kernel, stride, padding, eps, seed):
            generator = torch.Generator().manual_seed(seed)

            def randn(*shape):
                return torch.randn(*shape, generator=generator)

            conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding,
                             bias=False)
            bn = nn.BatchNorm2d(out_channels, eps=eps)
            with torch.no_grad():
                conv.weight.copy_(randn(*conv.weight.shape))
                bn.weight.copy_(randn(out_channels).abs() + 0.2)
                bn.bias.copy_(randn(out_channels))
                bn.running_mean.copy_(randn(out_channels))
                bn.running_var.copy_(torch.rand(out_channels, generator=generator) * 2 + 0.05)
            conv.eval()
            bn.eval()
            x = randn(2, in_channels, 5, 5).to(torch.float64)
            W, gamma, beta = (_values(t) for t in (conv.weight, bn.weight, bn.bias))
            mean, var = _values(bn.running_mean), _values(bn.running_var)
            y = F.conv2d(x, torch.tensor(W), None, stride, padding).numpy()
            factor = gamma / np.sqrt(var + eps)
            expected = (y - mean[None, :, None, None]) * factor[None, :, None, None] \
                + beta[None, :, None, None]
            case = f"for a {in_channels}->{out_channels} conv and BN with eps={eps:g}"
            fused = C.call(fn, copy.deepcopy(conv), copy.deepcopy(bn), question=q, case=case)
            if type(fused) is not nn.Conv2d:
                C.fail(q, f"returned {C.describe(fused)} {case}; expected an nn.Conv2d")
            if _conv_attrs(fused) != _conv_attrs(conv):
                C.fail(q, f"returned a conv whose stride, padding, dilation or groups differ "
                          f"from the original's {case}")
            weight = _float_result(_parameter(fused, "weight"), question=q, case=case,
                                   what="returned a conv weight:", shape=tuple(conv.weight.shape))
            bias = _parameter(fused, "bias")
            if bias is None:
                C.fail(q, f"returned a conv without a bias {case}")
            bias = _float_result(bias, question=q, case=case, what="returned a conv bias:",
                                 shape=(out_channels,))
            got = F.conv2d(x, torch.tensor(weight), torch.tensor(bias), stride, padding).numpy()
            C.assert_close(got, expected, question=q, rtol=1e-5, atol=1e-6,
                           what=f"the fused conv does not compute BN(conv(x)) {case}")

        C.run_properties(q, same_function)


def check_linear_quantize_weight_per_channel(env: dict) -> None:
    q = "linear_quantize_weight_per_channel"
    with _isolated(env, q) as fn:

        @GRADING
        @given(conv=st.booleans(), channels=st.integers(1, 8), bitwidth=st.integers(3, 8),
               seed=SEEDS)
        @example(conv=True, channels=4, bitwidth=8, seed=0)
        @example(conv=False, channels=3, bitwidth=4, seed=1)
        def per_channel(conv, channels, bitwidth, seed):
            rng = _rng(seed)
            shape = (channels, int(rng.integers(1, 4)), 3, 3) if conv else \
                (channels, int(rng.integers(1, 12)))
            magnitudes = 10.0 ** rng.uniform(-2, 0.5, channels)
            w = rng.normal(0, 1, shape) * magnitudes.reshape((-1,) + (1,) * (len(shape) - 1))
            tensor = _f32(w)
            w = _values(tensor)
            kind = "conv" if conv else "linear"
            case = f"for a {kind} weight of shape {C.shape_text(shape)} at {bitwidth} bits"
            out = C.call(fn, tensor, bitwidth, question=q, case=case)
            quantized, scale = _pair(out, question=q, case=case,
                                     what="a pair (quantized weight, scale)")
            view = (channels,) + (1,) * (len(shape) - 1)
            s = _float_result(scale, question=q, case=case, what="returned a scale:", shape=view)
            _, q_max = get_quantized_range(bitwidth)
            expected = np.abs(w).reshape(channels, -1).max(axis=1).reshape(view) / q_max
            if not np.allclose(s, expected, rtol=1e-6, atol=0):
                C.fail(q, f"scale differs from max |W_c| / q_max per output channel {case}")
            got = _integer_result(quantized, question=q, shape=shape, dtype=torch.int8, case=case)
            q_min, q_max = get_quantized_range(bitwidth)
            if not np.all(_rounding_ok(got, w / expected, 0, q_min, q_max)):
                C.fail(q, f"quantized weight differs from round(W / S_c) {case}")

        C.run_properties(q, per_channel)


def check_linear_quantize_bias_per_output_channel(env: dict) -> None:
    q = "linear_quantize_bias_per_output_channel"
    with _isolated(env, q) as fn:

        @GRADING
        @given(channels=st.integers(1, 12), conv=st.booleans(), seed=SEEDS)
        @example(channels=4, conv=True, seed=0)
        @example(channels=1, conv=False, seed=1)
        def independent(channels, conv, seed):
            rng = _rng(seed)
            view = (channels, 1, 1, 1) if conv else (channels, 1)
            weight_scale = torch.tensor((10.0 ** rng.uniform(-3, -1, channels))
                                        .astype(np.float32)).view(view)
            input_scale = float(10.0 ** rng.uniform(-3, -1))
            s = _values(weight_scale).reshape(-1) * input_scale
            bias = _f32(s * rng.uniform(-3e4, 3e4, channels))
            b = _values(bias)
            case = f"for {channels} channels with a weight scale of shape {C.shape_text(view)}"
            out = C.call(fn, bias, weight_scale, input_scale, question=q, case=case)
            quantized, bias_scale = _pair(out, question=q, case=case,
                                          what="a pair (quantized bias, bias scale)")
            got = _integer_result(quantized, question=q, shape=(channels,), dtype=torch.int32,
                                  case=case)
            if not np.all(_rounding_ok(got, b / s, 0, -2**31, 2**31 - 1)):
                C.fail(q, f"quantized bias differs from round(b / (S_w * S_in)) {case}")
            got_scale = _float_result(bias_scale, question=q, case=case,
                                      what="returned a bias scale:", numel=channels)
            if not np.allclose(got_scale.reshape(-1), s, rtol=1e-6, atol=0):
                C.fail(q, f"bias scale differs from S_w * S_in per channel {case}")

        C.run_properties(q, independent)


def check_shift_quantized_bias(env: dict) -> None:
    q = "shift_quantized_bias"
    with _isolated(env, q) as fn:

        @GRADING
        @given(conv=st.booleans(), channels=st.integers(1, 8), zero_point=st.integers(-128, 127),
               seed=SEEDS)
        @example(conv=False, channels=3, zero_point=-128, seed=0)
        @example(conv=True, channels=4, zero_point=57, seed=1)
        @example(conv=False, channels=5, zero_point=0, seed=2)
        def integer_identity(conv, channels, zero_point, seed):
            rng = _rng(seed)
            shape = (channels, int(rng.integers(1, 4)), 3, 3) if conv else \
                (channels, int(rng.integers(1, 12)))
            if not conv and rng.uniform() < 0.5:
                shape = (channels, channels)
            weight = rng.integers(-127, 128, shape)
            bias = rng.integers(-2**20, 2**20, channels)
            case = f"for a {'conv' if conv else 'linear'} weight with input zero point {zero_point}"
            out = C.call(fn, torch.tensor(bias, dtype=torch.int32),
                         torch.tensor(weight, dtype=torch.int8), zero_point, question=q, case=case)
            got = _integer_result(out, question=q, shape=(channels,), dtype=torch.int32, case=case)
            x = rng.integers(-128, 128, (3, int(np.prod(shape[1:]))))
            w = weight.reshape(channels, -1)
            wanted = (x - zero_point) @ w.T + bias          # integer product with Z_in removed
            if not np.array_equal(x @ w.T + got, wanted):
                C.fail(q, f"q_x @ q_w.T + shifted bias differs from (q_x - Z_in) @ q_w.T + q_b "
                          f"{case}")

        C.run_properties(q, integer_identity)


def _requantize_oracle(y: np.ndarray, rng: np.random.Generator, feature_bitwidth: int):
    """(S_out, Z_out, expected q_y): an output range a bit narrower than y's, so some clip."""
    q_min, q_max = get_quantized_range(feature_bitwidth)
    low, high = np.quantile(y, [0.05, 0.95]) if y.size > 4 else (y.min(), y.max())
    if high - low < 1e-12:
        low, high = low - 1.0, high + 1.0
    output_scale = float((high - low) / (q_max - q_min))
    output_zero_point = int(np.clip(np.round(q_min - low / output_scale), q_min, q_max))
    return output_scale, output_zero_point, y / output_scale


def _compare_requantized(q: str, got: np.ndarray, v: np.ndarray, zero_point: int,
                         feature_bitwidth: int, case: str) -> None:
    q_min, q_max = get_quantized_range(feature_bitwidth)
    expected = np.clip(np.round(v) + zero_point, q_min, q_max)
    if np.any(np.abs(got - expected) > 1):
        C.fail(q, f"differs by more than one integer step from dequantize -> float op -> "
                  f"requantize {case}")
    mismatched = int(np.sum(~_rounding_ok(got, v, zero_point, q_min, q_max)))
    if mismatched > 0.1 * got.size + 1:
        C.fail(q, f"rounds {mismatched} of {got.size} outputs differently from dequantize -> "
                  f"float op -> requantize {case} (round to nearest)")


def _layer_inputs(rng, feature_bitwidth, weight_bitwidth, x_shape, w_shape, channels, zero_point):
    q_min, q_max = get_quantized_range(feature_bitwidth)
    _, w_max = get_quantized_range(weight_bitwidth)
    x = rng.integers(q_min, q_max + 1, x_shape)
    w = rng.integers(-w_max, w_max + 1, w_shape)
    input_scale = float(10.0 ** rng.uniform(-3, -1))
    weight_scale = (10.0 ** rng.uniform(-3, -1, channels)).astype(np.float32)
    bias = rng.integers(-2000, 2001, channels) * max(1, w_max // 8)
    if zero_point is None:
        zero_point = int(rng.integers(q_min, q_max + 1))
    return x, w, bias, input_scale, weight_scale, zero_point


def check_quantized_linear(env: dict) -> None:
    q = "quantized_linear"
    with _isolated(env, q) as fn:

        @GRADING
        @given(batch=st.integers(1, 6), channels=st.integers(1, 6), features=st.integers(1, 10),
               feature_bitwidth=st.sampled_from([8, 8, 4]), weight_bitwidth=st.sampled_from([8, 4]),
               zero_point=st.none() | st.sampled_from([-128, 0, 60]), seed=SEEDS)
        @example(batch=4, channels=4, features=6, feature_bitwidth=8, weight_bitwidth=8,
                 zero_point=-128, seed=0)
        @example(batch=5, channels=3, features=7, feature_bitwidth=8, weight_bitwidth=8,
                 zero_point=50, seed=1)
        @example(batch=1, channels=6, features=4, feature_bitwidth=4, weight_bitwidth=4,
                 zero_point=None, seed=2)
        @example(batch=3, channels=3, features=8, feature_bitwidth=8, weight_bitwidth=8,
                 zero_point=-37, seed=3)
        def requantized(batch, channels, features, feature_bitwidth, weight_bitwidth, zero_point,
                        seed):
            rng = _rng(seed)
            q_min, q_max = get_quantized_range(feature_bitwidth)
            zero_point = None if zero_point is None else int(np.clip(zero_point, q_min, q_max))
            x, w, bias, s_in, s_w, z_in = _layer_inputs(
                rng, feature_bitwidth, weight_bitwidth, (batch, features), (channels, features),
                channels, zero_point)
            s_w64 = s_w.astype(np.float64)
            y = (s_in * (x - z_in)) @ (s_w64[:, None] * w).T + s_in * s_w64 * bias
            s_out, z_out, v = _requantize_oracle(y, rng, feature_bitwidth)
            case = (f"for batch {batch}, {channels} output channels, {feature_bitwidth}-bit "
                    f"features, input zero point {z_in}")
            out = C.call(fn, torch.tensor(x, dtype=torch.int8), torch.tensor(w, dtype=torch.int8),
                         torch.tensor(bias, dtype=torch.int32), feature_bitwidth, weight_bitwidth,
                         z_in, z_out, s_in, torch.tensor(s_w).view(channels, 1), s_out,
                         question=q, case=case)
            got = _integer_result(out, question=q, shape=(batch, channels), dtype=torch.int8,
                                  case=case)
            _compare_requantized(q, got, v, z_out, feature_bitwidth, case)

        C.run_properties(q, requantized)


def check_quantized_conv2d(env: dict) -> None:
    q = "quantized_conv2d"
    with _isolated(env, q) as fn:

        @settings(GRADING, max_examples=30)
        @given(batch=st.integers(1, 4), groups=st.integers(1, 2), per_group_in=st.integers(1, 3),
               per_group_out=st.integers(1, 3), size=st.integers(3, 6),
               kernel=st.sampled_from([1, 2, 3]), stride=st.integers(1, 2),
               padding=st.sampled_from([0, 1, 2, (1, 0)]), dilation=st.integers(1, 2),
               feature_bitwidth=st.sampled_from([8, 8, 4]),
               zero_point=st.none() | st.sampled_from([-128, 0, 60]), seed=SEEDS)
        @example(batch=4, groups=1, per_group_in=3, per_group_out=4, size=5, kernel=3, stride=1,
                 padding=1, dilation=1, feature_bitwidth=8, zero_point=-128, seed=0)
        @example(batch=2, groups=1, per_group_in=2, per_group_out=3, size=5, kernel=3, stride=1,
                 padding=1, dilation=1, feature_bitwidth=8, zero_point=90, seed=1)
        @example(batch=3, groups=1, per_group_in=2, per_group_out=3, size=6, kernel=3, stride=2,
                 padding=(1, 0), dilation=2, feature_bitwidth=8, zero_point=-60, seed=2)
        @example(batch=2, groups=2, per_group_in=2, per_group_out=1, size=4, kernel=2, stride=1,
                 padding=0, dilation=1, feature_bitwidth=4, zero_point=None, seed=3)
        def requantized(batch, groups, per_group_in, per_group_out, size, kernel, stride, padding,
                        dilation, feature_bitwidth, zero_point, seed):
            rng = _rng(seed)
            q_min, q_max = get_quantized_range(feature_bitwidth)
            zero_point = None if zero_point is None else int(np.clip(zero_point, q_min, q_max))
            pad_h, pad_w = (padding, padding) if isinstance(padding, int) else padding
            if size + 2 * min(pad_h, pad_w) < dilation * (kernel - 1) + 1:
                dilation = 1
            c_in, c_out = groups * per_group_in, groups * per_group_out
            x, w, bias, s_in, s_w, z_in = _layer_inputs(
                rng, feature_bitwidth, 8, (batch, c_in, size, size),
                (c_out, per_group_in, kernel, kernel), c_out, zero_point)
            s_w64 = torch.tensor(s_w.astype(np.float64))
            y = F.conv2d(torch.tensor(s_in * (x - z_in), dtype=torch.float64),
                         s_w64.view(-1, 1, 1, 1) * torch.tensor(w, dtype=torch.float64),
                         s_in * s_w64 * torch.tensor(bias, dtype=torch.float64),
                         stride, (pad_h, pad_w), dilation, groups).numpy()
            s_out, z_out, v = _requantize_oracle(y, rng, feature_bitwidth)
            case = (f"for batch {batch}, {c_out} output channels, padding {padding}, stride "
                    f"{stride}, groups {groups}, input zero point {z_in}")
            out = C.call(fn, torch.tensor(x, dtype=torch.int8), torch.tensor(w, dtype=torch.int8),
                         torch.tensor(bias, dtype=torch.int32), feature_bitwidth, 8, z_in, z_out,
                         s_in, torch.tensor(s_w).view(c_out, 1, 1, 1), s_out, stride, padding,
                         dilation, groups, question=q, case=case)
            got = _integer_result(out, question=q, shape=y.shape, dtype=torch.int8, case=case)
            _compare_requantized(q, got, v, z_out, feature_bitwidth, case)

        C.run_properties(q, requantized)


def check_extra_preprocess(env: dict) -> None:
    q = "extra_preprocess"
    with _isolated(env, q) as fn:

        def run(x: np.ndarray, case: str) -> None:
            tensor = _f32(x)
            x = _values(tensor)
            out = C.call(fn, tensor, question=q, case=case)
            got = _integer_result(out, question=q, shape=x.shape, dtype=torch.int8, case=case)
            if not np.all(_rounding_ok(got, 255.0 * x, -128, -128, 127)):
                C.fail(q, f"differs from clamp(round(x / (1/255)) - 128) {case}")

        def endpoints():
            run(np.array([0.0, 1.0]), "at x = 0 and x = 1")

        @GRADING
        @given(batch=st.integers(1, 5), seed=SEEDS, digits=st.booleans())
        @example(batch=3, seed=0, digits=True)
        @example(batch=2, seed=1, digits=False)
        def images(batch, seed, digits):
            rng = _rng(seed)
            if digits:
                x = rng.integers(0, 17, (batch, 1, 8, 8)) / 16.0
                run(x, "on digit images with pixel values k/16")
            else:
                run(rng.uniform(0, 1, (batch, int(rng.integers(1, 4)), 4, 4)),
                    "on images with values uniform in [0, 1]")

        C.run_properties(q, endpoints, images)


CHECKS = {name: globals()[f"check_{name}"] for name in QUESTIONS}
