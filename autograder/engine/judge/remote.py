"""TRUSTED SIDE. The student's notebook namespace, seen from the judge through the sandbox.

A test or hidden check receives ``env``; under the engine that is a :class:`RemoteNamespace`.
``env.get(name)`` returns plain data (decoded by :mod:`autograder.engine.protocol.codec`), for a function a
:class:`FunctionProxy`, for a class of the given code the trusted copy of that class. Calling the proxy sends the arguments as data, runs the function in the
sandbox, and returns the result as data; afterwards every tensor, array, generator and module argument
takes the state it has in the sandbox (in-place changes are visible, as they would be in one
process). A module of a student's own class comes back as a :class:`RemoteModule` (data, with
its forward in the sandbox). A returned tensor that depends on an argument requiring grad is connected to that
argument by :class:`_RemoteVJP`: back-propagating through it asks the sandbox for the
vector-Jacobian product, so checks can differentiate through a student's function (first order).

An exception raised by student code comes back as its type name only and is re-raised here as a
:class:`StudentException` subclass of the same name (its message, which the student controls, is
not carried). A sandbox that dies or stalls raises :class:`autograder.engine.jail.client.SandboxGone`.
"""

from __future__ import annotations

import builtins
import importlib
import re
import types
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from autograder.engine.jail.client import Sandbox
from autograder.engine.protocol import messages
from autograder.engine.protocol.codec import DecodeError, Decoder, EncodeError, Encoder, Opaque
from autograder.engine.protocol.frames import KINDS as FRAME_KINDS, decode_frame, encode_frame, frames_identical, is_pandas
from autograder.engine.protocol.functions import encode_function
from autograder.engine.protocol.modules import decode_module, encode_module
from autograder.engine.shared.torch_mode import set_torch_state, torch_state


# Libraries a test may take as a parameter (``def test_q1(np, pd, x)``): the notebook's module of
# that name becomes the judge's own import of it, as the same library behaves the same here.
SHARED_LIBRARIES = frozenset({
    "numpy", "pandas", "scipy", "torch", "sklearn", "matplotlib", "seaborn", "math", "cmath",
    "statistics", "random", "collections", "itertools", "functools", "operator", "re", "string",
    "json", "datetime", "decimal", "fractions"})


def shared_module(name: Any) -> types.ModuleType | None:
    """The judge's import of a module of :data:`SHARED_LIBRARIES` (or one of its submodules)."""
    if type(name) is not str or len(name) > 100 or not all(part.isidentifier() for part in name.split(".")):
        return None
    if name.split(".")[0] not in SHARED_LIBRARIES:
        return None
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - not importable here: the value stays opaque
        return None


class StudentException(Exception):
    """Base of the exceptions re-raised for student code (named like the original type)."""


_EXCEPTION_TYPES: dict[str, type] = {}


# exception names a message may repeat: builtin ones and a few of numpy/torch/ours; any other
# name is text the student chose (it could carry what their code read during a hidden check)
_NAMED_EXCEPTIONS = {name for name, value in vars(builtins).items()
                     if isinstance(value, type) and issubclass(value, BaseException)} | {
    "LinAlgError", "OutOfMemoryError", "ReturnedNonData"}


def student_exception(name: str) -> type:
    """The StudentException subclass standing for an exception type the sandbox reported; a
    type name that is not a well-known one becomes ``Exception``."""
    name = str(name).rsplit(".", 1)[-1]
    if name not in _NAMED_EXCEPTIONS:
        name = "Exception"
    if name not in _EXCEPTION_TYPES:
        _EXCEPTION_TYPES[name] = type(name, (StudentException,), {})
    return _EXCEPTION_TYPES[name]


class RemoteNamespace:
    """``env`` for tests under the engine: read-only access to the sandbox's notebook globals."""

    def __init__(self, sandbox: Sandbox, model_classes: dict[str, type], given_modules=(),
                 question: str | None = None):
        self.sandbox = sandbox
        self.model_classes = model_classes
        self.given_modules = tuple(given_modules)
        self.question = question  # a test of it sees the notebook as of its last grader.check
        self.opaque_seen: list[str] = []  # types of values that reached the test only as Opaque

    def given_class(self, module: Any, name: Any) -> Any:
        """A class of the given code (``Codebook`` of ``quantization_experiments``), from the
        trusted copy in ``solutions/``; anything else is not data."""
        if module not in self.given_modules or type(name) is not str or not name.isidentifier():
            return Opaque("type")
        value = getattr(importlib.import_module(f"solutions.{module}"), name, None)
        return value if isinstance(value, type) else Opaque("type")

    @property
    def call_seconds(self) -> float:
        return self.sandbox.limits.call_seconds

    def decoder(self, blobs: list[bytes], grad_inputs: list[torch.Tensor] = ()) -> "JudgeDecoder":
        return JudgeDecoder(blobs, self, list(grad_inputs))

    def get(self, name: str, default: Any = None) -> Any:
        reply, blobs = self.sandbox.request(messages.Get(str(name)), timeout=self.call_seconds)
        if reply.get("missing"):
            return default
        if reply.get("error"):  # a value the sandbox could not send: the test sees the default
            self.opaque_seen.append(str(reply.get("type", "value"))[:40])
            return default
        return self.decoder(blobs).decode(reply.get("value"))

    def __getitem__(self, name: str) -> Any:
        marker = object()
        value = self.get(name, marker)
        if value is marker:
            raise KeyError(name)
        return value

    def __contains__(self, name: str) -> bool:
        reply, _ = self.sandbox.request(messages.Get(str(name)), timeout=self.call_seconds)
        return not reply.get("missing")

    @contextmanager
    def isolated(self, question: str, reference: Any, questions) -> Iterator["FunctionProxy"]:
        """The student's ``question`` function with the graded names its reference relies on
        bound, inside the sandbox, to the reference implementation: only their code is sent
        (see ``autograder.checks.isolation``)."""
        from autograder.checks.isolation import dependencies, dependency_source

        names = dependencies(reference, question, questions)
        reply, _ = self.sandbox.request(messages.Isolate(
            question, names, reference.__name__, dependency_source(reference, question) if names else ""),
            timeout=self.call_seconds)
        fn = FunctionProxy(self, {"name": question}, question)
        try:
            yield fn
        finally:
            if not self.sandbox.dead:
                self.sandbox.request(messages.Restore(), timeout=self.call_seconds)

    def begin_test(self) -> None:
        """Start a test: the sandbox resolves names in the notebook as of the question's last
        ``grader.check`` (as otter grades), and what follows runs in that moment's default dtype
        and grad mode."""
        reply, _ = self.sandbox.request(messages.State(self.question), timeout=self.call_seconds)
        set_torch_state(reply.get("state"))

    def release(self) -> None:
        if not self.sandbox.dead:
            self.sandbox.request(messages.Release(), timeout=self.call_seconds)


class FunctionProxy:
    """A student function living in the sandbox."""

    def __init__(self, namespace: RemoteNamespace, target: dict, name: str):
        self._namespace = namespace
        self._target = target
        self.__name__ = self.__qualname__ = name

    def __repr__(self) -> str:
        return f"<student function {self.__name__}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        namespace = self._namespace
        encoder = JudgeEncoder(namespace)
        try:
            args_tree = encoder.encode(list(args))
            kwargs_tree = encoder.encode(dict(kwargs))
        except EncodeError:  # the test passes something that is not data: it cannot run here
            namespace.opaque_seen.append("argument")
            raise
        reply, blobs = namespace.sandbox.request(
            messages.Call(args_tree, kwargs_tree, torch_state(), **self._target),
            encoder.blobs, timeout=namespace.call_seconds)
        set_torch_state(reply.get("state"))
        if reply.get("error") == "unencodable":
            namespace.opaque_seen.append(str(reply.get("type", "value"))[:40])
            raise student_exception("ReturnedNonData")()
        grad_inputs = [m for m in encoder.mutables if isinstance(m, torch.Tensor) and m.requires_grad]
        decoder = namespace.decoder(blobs, grad_inputs)
        value = decoder.decode(reply.get("value"))  # first: the sandbox encoded it first (memo order)
        _write_back(encoder.mutables, reply.get("writeback"), decoder)
        if reply.get("error") is not None:
            raise student_exception(str(reply["error"]))()
        return value


def _write_back(locals_: list, trees: Any, decoder: "JudgeDecoder") -> None:
    """Give every local tensor, array, generator and module argument the state it has in the sandbox
    (an array changed in shape or dtype cannot change in place: it keeps its own). A DataFrame or
    Series the student changed in place cannot be changed here faithfully: the test then counts
    as having seen a value the engine cannot carry (:meth:`JudgeDecoder._opaque`)."""
    if type(trees) is not list or len(trees) != len(locals_):
        raise DecodeError("bad write-back")
    for local, tree in zip(locals_, trees):
        new = decoder.decode_plain(tree)
        if isinstance(local, torch.Tensor):
            if not isinstance(new, torch.Tensor):
                raise DecodeError("bad write-back")
            with torch.no_grad():
                if new.shape == local.shape and new.dtype == local.dtype:
                    if not torch.equal(new, local.detach()):
                        local.copy_(new)
                else:
                    local.data = new
        elif isinstance(local, np.ndarray):
            if not isinstance(new, np.ndarray):
                raise DecodeError("bad write-back")
            if new.shape == local.shape and new.dtype == local.dtype and local.flags.writeable \
                    and not np.array_equal(new, local, equal_nan=local.dtype.kind in "fc"):
                np.copyto(local, new)
        elif isinstance(local, torch.Generator):
            if not isinstance(new, torch.Generator):
                raise DecodeError("bad write-back")
            local.set_state(new.get_state())
        elif is_pandas(local):
            if not frames_identical(local, new):
                decoder._opaque(f"{type(local).__name__} changed in place")
        elif isinstance(local, nn.Module):
            if not isinstance(new, nn.Module) or type(new) is not type(local):
                raise DecodeError("bad write-back")
            state = object.__getattribute__(local, "__dict__")
            state.clear()
            state.update(object.__getattribute__(new, "__dict__"))


class JudgeEncoder(Encoder):
    """Arguments for a call: data, allow-listed modules, functions sent as code, and the sandbox's
    own functions (by reference)."""

    def __init__(self, namespace: RemoteNamespace):
        self.namespace = namespace
        classes = namespace.model_classes

        def extension(value, encoder):
            if isinstance(value, nn.Module):
                tree = encode_module(value, encoder, classes, handle_of=lambda m: RemoteModule.handle_in(m, namespace))
                if tree is not None:
                    encoder.mutables.append(value)
                return tree
            if type(value) is types.FunctionType:
                return encode_function(value, encoder)
            if is_pandas(value):
                tree = encode_frame(value, encoder)
                if tree is not None:
                    encoder.mutables.append(value)
                return tree
            return encoder.reference(value)

        super().__init__(extension, strict=True)

    def reference(self, value: Any) -> dict | None:
        """A student function of this sandbox: by its handle, or (a graded function) by its name."""
        if not isinstance(value, FunctionProxy) or value._namespace is not self.namespace:
            return None
        target = value._target
        if "handle" in target:
            return {"t": "ext", "k": "fn", "h": target["handle"]}
        if "name" in target:
            return {"t": "ext", "k": "fn", "name": target["name"]}
        return None


class JudgeDecoder(Decoder):
    """Answers from the sandbox: data, allow-listed modules, function handles, and tensors that
    stay differentiable with respect to the call's grad-requiring arguments."""

    def __init__(self, blobs: list[bytes], namespace: RemoteNamespace, grad_inputs: list[torch.Tensor]):
        super().__init__(blobs, extension=self._ext, opaque=self._opaque)
        self.namespace = namespace
        self.grad_inputs = grad_inputs
        self._plain = False

    def decode_plain(self, tree: Any) -> Any:
        """Decode without connecting tensors to the autograd graph (write-back states)."""
        self._plain = True
        try:
            return self.decode(tree)
        finally:
            self._plain = False

    def _ext(self, tree: dict, decoder: Decoder, depth: int) -> Any:
        kind = tree.get("k")
        if kind == "module":
            return decode_module(tree, self, depth, self.namespace.model_classes,
                                 adopt=lambda handle, name: RemoteModule.shell(self.namespace, handle, name))
        if kind == "class":
            return self.namespace.given_class(tree.get("module"), tree.get("name"))
        if kind == "fn" and type(tree.get("h")) is int:
            name = str(tree.get("name", "function"))[:40]
            return FunctionProxy(self.namespace, {"handle": tree["h"]}, name)
        if kind == "pymodule":
            module = shared_module(tree.get("name"))
            return module if module is not None else self._opaque("module")
        if kind in FRAME_KINDS:
            return decode_frame(tree, self, depth)
        raise DecodeError("unknown extension")

    def _opaque(self, type_name: str) -> Opaque:
        """A value that is not data reaches the test as an :class:`Opaque` placeholder; the
        namespace remembers it (the test may then not have seen what otter's would)."""
        self.namespace.opaque_seen.append(type_name)
        return Opaque(type_name)

    def tensor(self, tree: dict) -> torch.Tensor:
        value = super().tensor(tree)
        handle = tree.get("h")
        if self._plain or type(handle) is not int or not self.grad_inputs:
            return value
        value = value.detach()
        link = _VJPLink(self.namespace, handle, self.grad_inputs, value.dtype, value.shape)
        return _RemoteVJP.apply(value, link, *self.grad_inputs)


class RemoteModule(nn.Module):
    """A student's own ``nn.Module`` subclass, seen from the judge. Its parameters, buffers,
    child modules and plain attributes are data here (a check may read and set them, walk
    ``modules()``, count ``parameters()``); its ``forward`` is the student's and runs in the
    sandbox, on the state this copy has at the time of the call (sent along, written back)."""

    @classmethod
    def shell(cls, namespace: RemoteNamespace, handle: int, class_name: str) -> "RemoteModule":
        module = cls.__new__(cls)
        nn.Module.__init__(module)
        object.__setattr__(module, "_remote", (namespace, handle, re.sub(r"[^A-Za-z0-9_.]", "", class_name)[:60]))
        return module

    @staticmethod
    def handle_in(module: nn.Module, namespace: RemoteNamespace) -> int | None:
        """The sandbox's handle of a RemoteModule of this namespace; None for anything else."""
        if type(module) is not RemoteModule:
            return None
        owner, handle, _ = object.__getattribute__(module, "_remote")
        return handle if owner is namespace else None

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        namespace, _, class_name = object.__getattribute__(self, "_remote")
        return FunctionProxy(namespace, {"builtin": "call_module"}, f"{class_name}.forward")(self, *args, **kwargs)

    def extra_repr(self) -> str:
        return f"student class {object.__getattribute__(self, '_remote')[2]}"


class _VJPLink:
    def __init__(self, namespace: RemoteNamespace, handle: int, inputs: list[torch.Tensor], dtype, shape):
        self.namespace, self.handle = namespace, handle
        self.shapes = [(t.shape, t.dtype) for t in inputs]
        self.dtype, self.shape = dtype, shape

    def vjp(self, grad_output: torch.Tensor) -> list[torch.Tensor | None]:
        encoder = Encoder()
        tree = encoder.encode(grad_output.detach().to(self.dtype).contiguous())
        reply, blobs = self.namespace.sandbox.request(
            messages.Vjp(self.handle, tree), encoder.blobs,
            timeout=self.namespace.call_seconds)
        grads = reply.get("grads")
        if type(grads) is not list or len(grads) != len(self.shapes):
            raise DecodeError("bad gradients")
        decoder = Decoder(blobs)
        out = []
        for tree, (shape, dtype) in zip(grads, self.shapes):
            grad = None if tree is None else decoder.decode(tree)
            if grad is not None and (not isinstance(grad, torch.Tensor) or grad.shape != shape):
                raise DecodeError("bad gradient shape")
            out.append(None if grad is None else grad.to(dtype))
        return out


class _RemoteVJP(torch.autograd.Function):
    """Identity on a value computed in the sandbox, whose backward asks the sandbox."""

    @staticmethod
    def forward(ctx, value, link, *inputs):
        ctx.link = link
        return value.clone()

    @staticmethod
    def backward(ctx, grad_output):
        return (None, None, *ctx.link.vjp(grad_output))


__all__ = ["RemoteNamespace", "FunctionProxy", "RemoteModule", "StudentException", "student_exception",
           "EncodeError"]
