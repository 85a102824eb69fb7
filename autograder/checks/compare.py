"""Safe handling of student outputs and tolerance assertions with short messages.

Shared by the hidden checks of every assignment. Student code is treated as hostile:

- every call into student code goes through :func:`call`, which turns *any* exception it raises
  (``SystemExit`` and hypothesis' own control-flow exceptions included) into an ``AssertionError``
  naming only the question, the case and the exception's type;
- every returned value is converted into a fresh, plain ``float64`` ndarray (:func:`to_array`,
  :func:`to_scalar`) or validated as a plain ``torch.Tensor`` (:func:`to_tensor`) before it is
  compared; the returned object's own methods (``__eq__``, ``__float__``, ``__array__``, …) are
  never called, and subclasses are viewed as their base class;
- comparisons use our own tolerance tests on those fresh arrays (:func:`assert_close`);
- messages are short (at most :data:`MAX_MESSAGE` characters) and say which property failed on
  which kind of input: never test source, reference code or the hidden inputs themselves.

Every message has the form ``"<question>: <what went wrong>"``.
"""

from __future__ import annotations

import re
import types
from typing import Any, Callable, Iterable

import numpy as np

from autograder.checks import replay

try:  # torch is optional for assignments that do not use it
    import torch
except ImportError:  # pragma: no cover - every assignment here ships torch
    torch = None

MAX_MESSAGE = 240

_TENSOR_TYPES: tuple = ()
if torch is not None:
    _TENSOR_TYPES = (torch.Tensor, torch.nn.Parameter)

_REAL_KINDS = "biuf"  # numpy dtype kinds we accept as numbers (bool, int, uint, float)


class CheckFailed(AssertionError):
    """A failed property with its short, safe message (an ``AssertionError``)."""


def fail(question: str, what: str) -> None:
    """Raise the short, safe failure message ``"<question>: <what>"``."""
    raise CheckFailed(shorten(f"{question}: {what}"))


def shorten(message: str, limit: int = MAX_MESSAGE) -> str:
    message = " ".join(str(message).split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _safe_name(name: Any) -> str:
    """A type or exception name a student may have chosen, reduced to a short identifier."""
    text = re.sub(r"[^A-Za-z0-9_.]", "", name if isinstance(name, str) else "?")
    return (text or "?")[:40]


def _type_name(value: Any) -> str:
    return _safe_name(type.__getattribute__(type(value), "__name__"))


def shape_text(shape: Iterable[int]) -> str:
    shape = tuple(int(s) for s in shape)
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def describe(value: Any) -> str:
    """A short description of a returned value, e.g. ``None`` or ``a Tensor of shape (3,)``."""
    kind = type(value)
    if value is None:
        return "None"
    if issubclass(kind, np.ndarray):
        base = np.ndarray.view(value, np.ndarray)
        return f"an ndarray of shape {shape_text(base.shape)} and dtype {_safe_name(base.dtype.name)}"
    if kind in _TENSOR_TYPES:
        return f"a Tensor of shape {shape_text(torch.Tensor.__getattribute__(value, 'shape'))}"
    if torch is not None and issubclass(kind, torch.Tensor):
        return f"a Tensor subclass ({_type_name(value)})"
    if kind in (bool, int, float, tuple, list, dict, set, str):
        return f"a {kind.__name__}"
    return f"an object of type {_type_name(value)}"


def student_function(env: dict, name: str, question: str | None = None) -> Callable:
    """The function ``name`` from a notebook namespace (a dict in the student's kernel, a
    ``RemoteNamespace`` under the grading engine), or a short failure if it is missing."""
    question = question or name
    if isinstance(env, dict):
        fn = dict.get(env, name)
    else:  # the grading engine's view of a sandboxed notebook (autograder.engine.judge.remote)
        fn = env.get(name)
    if fn is None:
        fail(question, f"{name} is not defined")
    if not callable(fn):
        fail(question, f"{name} is not a function")
    return fn


MISSING = object()


def student_value(env: dict, name: str) -> Any:
    """A variable of the notebook namespace (a dict in the kernel, a ``RemoteNamespace`` under the
    grading engine), or :data:`MISSING`."""
    if isinstance(env, dict):
        return dict.get(env, name, MISSING)
    return env.get(name, MISSING)


def call(fn: Callable, *args: Any, question: str, case: str = "", **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; any exception becomes a short ``AssertionError``.

    ``case`` describes the input in words (e.g. ``"on a rank-deficient A"``); it is appended to
    the message. The student's exception message is not repeated (it could carry anything).
    """
    try:
        return fn(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - SystemExit and friends count as failures too
        name = _safe_name(type.__getattribute__(type(exc), "__name__"))
    fail(question, f"raised {name}{_case(case)}")


def _case(case: str) -> str:
    return f" {case}" if case else ""


def _expected(kind: str, shape: tuple[int, ...] | None) -> str:
    return f"{kind} of shape {shape_text(shape)}" if shape is not None else kind


def to_array(value: Any, *, question: str, shape: tuple[int, ...] | None = None, case: str = "",
             allow_tensor: bool = False, finite: bool = True, what: str = "returned") -> np.ndarray:
    """A fresh float64 ndarray copy of a returned ndarray (or tensor when ``allow_tensor``).

    Rejects other types, non-real dtypes (object, complex, strings), a wrong shape, and
    non-finite entries (when ``finite``), each with a short message.
    """
    expected = _expected("an ndarray", shape)
    kind = type(value)
    if issubclass(kind, np.ndarray):
        base = np.ndarray.view(value, np.ndarray)
        if base.dtype.kind not in _REAL_KINDS:
            fail(question, f"{what} {describe(value)}{_case(case)}; expected {expected} of floats")
        array = np.array(base, dtype=np.float64, copy=True)
    elif allow_tensor and kind in _TENSOR_TYPES:
        array = _tensor_to_numpy(value, question=question, case=case, what=what)
    else:
        fail(question, f"{what} {describe(value)}{_case(case)}; expected {expected}")
    if shape is not None and tuple(array.shape) != tuple(shape):
        fail(question, f"{what} {describe(value)}{_case(case)}; expected {expected}")
    if finite and not np.all(np.isfinite(array)):
        fail(question, f"{what} non-finite values (inf or nan){_case(case)}")
    return array


def to_scalar(value: Any, *, question: str, case: str = "", finite: bool = True,
              what: str = "returned") -> float:
    """A Python float from a returned real number (Python or NumPy scalar, or 0-d ndarray).

    Tensors, 1-element arrays, lists, bools and complex numbers are rejected: the API asks for a
    float.
    """
    x: float | None = None
    kind = type(value)
    if issubclass(kind, (bool, np.bool_)):
        x = None
    elif issubclass(kind, float):  # float and np.float64 (and hostile subclasses)
        x = float.__float__(value)
    elif issubclass(kind, int):
        x = float(int.__index__(value))
    elif kind in (np.float16, np.float32, np.longdouble, np.int8, np.int16, np.int32, np.int64,
                  np.uint8, np.uint16, np.uint32, np.uint64):
        x = float(np.array(value, dtype=np.float64)[()])
    elif issubclass(kind, np.ndarray):
        base = np.ndarray.view(value, np.ndarray)
        if base.ndim == 0 and base.dtype.kind in "iuf":
            x = float(np.array(base, dtype=np.float64)[()])
    if x is None:
        fail(question, f"{what} {describe(value)}{_case(case)}; expected a float")
    if finite and not np.isfinite(x):
        fail(question, f"{what} a non-finite value (inf or nan){_case(case)}")
    return x


def to_tensor(value: Any, *, question: str, shape: tuple[int, ...] | None = None, case: str = "",
              finite: bool = True, what: str = "returned") -> "torch.Tensor":
    """The returned tensor itself (graph intact, for gradients), after validating it.

    Only plain ``torch.Tensor`` / ``torch.nn.Parameter`` with a real floating dtype, the right
    shape and (when ``finite``) finite values are accepted. Use :func:`tensor_values` for a
    detached float64 ndarray copy of its values.
    """
    expected = _expected("a Tensor", shape)
    if torch is None or type(value) not in _TENSOR_TYPES:
        fail(question, f"{what} {describe(value)}{_case(case)}; expected {expected}")
    t_shape = tuple(torch.Tensor.__getattribute__(value, "shape"))
    if shape is not None and t_shape != tuple(shape):
        fail(question, f"{what} {describe(value)}{_case(case)}; expected {expected}")
    dtype = torch.Tensor.__getattribute__(value, "dtype")
    if not dtype.is_floating_point:
        fail(question, f"{what} a Tensor of dtype {_safe_name(str(dtype))}{_case(case)}; "
                       f"expected a floating-point tensor")
    if finite:
        _tensor_to_numpy(value, question=question, case=case, what=what)
    return value


def tensor_values(value: "torch.Tensor", *, question: str, case: str = "") -> np.ndarray:
    """A fresh float64 ndarray copy of a tensor's values (validated by :func:`to_tensor`)."""
    return _tensor_to_numpy(value, question=question, case=case, what="returned")


def _tensor_to_numpy(value, *, question: str, case: str, what: str) -> np.ndarray:
    if type(value) not in _TENSOR_TYPES:
        fail(question, f"{what} {describe(value)}{_case(case)}; expected a Tensor")
    with torch.no_grad():
        plain = torch.Tensor.detach(value)
        if plain.is_complex() or not (plain.is_floating_point() or plain.dtype in (
                torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool)):
            fail(question, f"{what} a Tensor of dtype {_safe_name(str(plain.dtype))}{_case(case)}")
        array = plain.to(device="cpu", dtype=torch.float64).clone().numpy()
    array = np.array(array, dtype=np.float64, copy=True)
    if not np.all(np.isfinite(array)):
        fail(question, f"{what} non-finite values (inf or nan){_case(case)}")
    return array


def close(actual: np.ndarray, expected: np.ndarray, *, rtol: float = 1e-7, atol: float = 1e-9) -> bool:
    """Elementwise |actual − expected| ≤ atol + rtol·(|expected| + max|expected|), same shapes.

    The max|expected| term makes the test relative to the scale of the whole result, so entries
    that are zero in exact arithmetic do not demand an absolute accuracy below rounding.
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        return False
    if expected.size == 0:
        return True
    scale = float(np.max(np.abs(expected)))
    bound = atol + rtol * (np.abs(expected) + scale)
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.abs(actual - expected) <= bound))


def assert_close(actual: np.ndarray, expected: np.ndarray, *, question: str, what: str,
                 rtol: float = 1e-7, atol: float = 1e-9) -> None:
    """Fail with ``"<question>: <what>"`` unless :func:`close` holds."""
    if not close(actual, expected, rtol=rtol, atol=atol):
        fail(question, what)


def assert_unchanged(before: Any, after: Any, *, question: str, name: str, case: str = "") -> None:
    """Fail if an input (ndarray or tensor) was modified in place by the student's function.

    ``before`` is our private copy taken before the call; ``after`` the object passed in.
    """
    if type(before) is np.ndarray:
        now = np.ndarray.view(after, np.ndarray) if issubclass(type(after), np.ndarray) else None
    else:
        now = _tensor_to_numpy(after, question=question, case=case, what="input") \
            if type(after) in _TENSOR_TYPES else None
        before = _tensor_to_numpy(before, question=question, case=case, what="input")
    if now is None or now.shape != before.shape or not np.array_equal(now, before, equal_nan=True):
        fail(question, f"modified its input {name} in place{_case(case)}")


def gradient(output: "torch.Tensor", inputs: "torch.Tensor", weights: "torch.Tensor | None" = None, *,
             question: str, case: str = "", what: str = "output") -> np.ndarray:
    """∂(Σ weights ⊙ output)/∂inputs as a fresh float64 ndarray, through the student's graph.

    An output that does not depend on ``inputs`` (detached, no graph) has gradient zero. Errors
    raised while back-propagating (e.g. by a student's custom autograd function) fail the check.
    """
    try:
        with torch.enable_grad():
            if not torch.Tensor.__getattribute__(output, "requires_grad"):
                grad = None
            else:
                target = output if weights is None else output * weights
                (grad,) = torch.autograd.grad(target.sum(), inputs, allow_unused=True)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001
        fail(question, f"back-propagating through the {what} raised "
                       f"{_safe_name(type(exc).__name__)}{_case(case)}")
    if grad is None:
        return np.zeros(tuple(inputs.shape), dtype=np.float64)
    return _tensor_to_numpy(grad, question=question, case=case, what="a gradient with")


def is_plain_function(fn: Any) -> bool:
    return type(fn) is types.FunctionType


def to_int(value: Any, *, question: str, case: str = "", what: str = "returned") -> int:
    """A Python int from a returned integer (Python or NumPy integer, or 0-d integer ndarray).

    Floats (even integral ones), bools, tensors and containers are rejected: the API asks for an
    int. The value's own ``__index__``/``__int__`` of a hostile subclass is not called.
    """
    x: int | None = None
    kind = type(value)
    if issubclass(kind, (bool, np.bool_)):
        x = None
    elif issubclass(kind, int):
        x = int.__index__(value)  # a plain int, also for a subclass
    elif kind in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
        x = int(np.array(value, dtype=np.int64)[()])
    elif issubclass(kind, np.ndarray):
        base = np.ndarray.view(value, np.ndarray)
        if base.ndim == 0 and base.dtype.kind in "iu":
            x = int(np.array(base, dtype=np.int64)[()])
    if x is None:
        fail(question, f"{what} {describe(value)}{_case(case)}; expected an int")
    return x


def first_check_failure(exc: BaseException) -> str | None:
    """The message of the first :class:`CheckFailed` in ``exc`` or its exception group."""
    if isinstance(exc, CheckFailed):
        return str(exc)
    for inner in getattr(exc, "exceptions", ()) or ():
        found = first_check_failure(inner)
        if found:
            return found
    return None


def run_properties(question: str, *properties: Callable[[], None]) -> None:
    """Run hypothesis properties (or plain callables) in order; re-raise the first failure as a
    short ``AssertionError`` ``"<question>: <what>"``. A property runs on the examples recorded
    for it once per process (:mod:`replay`).

    A property that failed on an input and then passed on the same input (hypothesis' ``Flaky``)
    is reported as not reproducible; anything else that escapes (student code that broke
    hypothesis itself) as a check that could not evaluate the function: never a traceback.
    """
    from hypothesis.errors import Flaky  # hypothesis is only needed where properties run

    for prop in properties:
        try:
            replay.run(prop)
        except KeyboardInterrupt:
            raise
        except CheckFailed as exc:
            message = str(exc)
        except Flaky as exc:  # FlakyFailure included: the same input passed once and failed once
            inner = first_check_failure(exc)
            message = (f"{inner} (not reproducible)" if inner else
                       f"{question}: results are not reproducible (same input, different outcome)")
        except BaseException as exc:  # noqa: BLE001 - e.g. student code broke hypothesis itself
            inner = first_check_failure(exc)
            message = inner or (f"{question}: the hidden check could not evaluate this function "
                                f"({_safe_name(type.__getattribute__(type(exc), '__name__'))})")
        else:
            continue
        raise AssertionError(shorten(message)) from None
