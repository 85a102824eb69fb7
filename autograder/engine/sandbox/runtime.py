"""UNTRUSTED SIDE. The loop that runs inside the sandbox, next to the student's code.

Everything here runs in the confined child process (see :mod:`autograder.engine.jail.confine`), in the same interpreter
as the submission, so nothing here is trusted: the judge validates every answer it gets. This
module only executes what the judge asks for and reports plain data back (:mod:`autograder.engine.protocol.codec`):

``cell``     execute one notebook code cell in the notebook namespace → ok / the exception type
``get``      a global of the notebook → its value as data (a function becomes a handle)
``call``     call a notebook function (by name or handle, or ``builtin: call_module``: a student's
             module sent back by the judge, its state loaded) with decoded arguments → the result, the
             exception type if it raised, and the state of every tensor, array, generator and module
             argument afterwards (so the judge sees in-place changes)
           (function arguments arrive as code: :mod:`autograder.engine.protocol.functions`)
``vjp``      back-propagate a returned tensor: the gradient of ⟨grad_output, result⟩ with respect
             to the call's arguments that required grad (lets the judge differentiate through a
             student's function without the graph leaving this process)
``state``    start a test of a question: names resolve, from now on, in the notebook as of that
             question's last ``grader.check`` (:mod:`notebook_shell`) → the default dtype and
             grad mode of that moment (the judge runs the test in the same mode; every ``call``
             carries the judge's mode in and the sandbox's mode back out)
``isolate``  bind reference implementations of *other* graded functions in a function's globals
             while the judge grades it in isolation (hidden checks only; see :mod:`autograder.engine.judge.grading`)
``restore``  undo ``isolate``;  ``release``  forget handles;  ``bye``  exit

No test, check or expected value is ever sent here: only function names, inputs and the
reference code of dependencies during isolation.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
import types
from typing import Any

import torch
from torch import nn

from autograder.engine.protocol import messages, wire
from autograder.engine.protocol.codec import Decoder, Encoder, type_name
from autograder.engine.protocol.frames import KINDS as FRAME_KINDS, decode_frame, encode_frame, is_pandas
from autograder.engine.protocol.functions import decode_function
from autograder.engine.protocol.modules import decode_module, encode_module
from autograder.engine.sandbox.notebook_shell import CellRunner
from autograder.engine.shared.substitution import delegate, substituted_globals
from autograder.engine.shared.torch_hooks import remove_leaked_hooks
from autograder.engine.shared.torch_mode import set_torch_state, torch_state


class Runtime:
    def __init__(self, sock: socket.socket, given_modules: list[str], model_classes: dict[str, str]):
        self.sock = sock
        self.runner = CellRunner()
        self.ns = self.runner.namespace  # where names resolve: the notebook, or a checkpoint of it
        self.given_modules = given_modules
        self.model_class_paths = model_classes
        self._model_classes: dict[str, type] | None = None
        self.handles: dict[int, Any] = {}
        self.vjps: dict[int, tuple[torch.Tensor, list[torch.Tensor]]] = {}
        self.next_handle = 1
        self.isolation = None

    # classes of the given model code, imported from the scratch folder when first needed
    def model_classes(self) -> dict[str, type]:
        if self._model_classes is not None:
            return self._model_classes
        classes = {}
        for name, path in self.model_class_paths.items():
            module_name, _, attr = path.partition(":")
            try:
                classes[name] = getattr(importlib.import_module(module_name), attr)
            except Exception:  # noqa: BLE001 - a broken given module: those models are not data
                pass
        self._model_classes = classes
        return classes

    # ---------------------------------------------------------------------------------------------
    def encoder(self, grad_inputs: list[torch.Tensor] | None = None) -> Encoder:
        classes = self.model_classes()
        runtime = self

        class SandboxEncoder(Encoder):
            def _tensor(self, value):
                tree = super()._tensor(value)
                if grad_inputs and tree.get("t") == "tensor" and value.grad_fn is not None:
                    tree["h"] = runtime.remember_vjp(value, grad_inputs)
                return tree

        def extension(value, encoder):
            if isinstance(value, nn.Module):  # a student's own subclass travels with a handle
                return encode_module(value, encoder, classes, handle_of=runtime.remember)
            if is_pandas(value):  # a DataFrame or Series that rebuilds exactly, else not data
                return encode_frame(value, encoder)
            if isinstance(value, types.ModuleType):  # the judge uses its own import, by name
                return {"t": "ext", "k": "pymodule", "name": str(value.__name__)[:100]}
            if isinstance(value, type):
                return {"t": "ext", "k": "class", "module": str(value.__module__)[:100],
                        "name": str(value.__qualname__)[:100]}
            if callable(value) and not isinstance(value, type):
                return {"t": "ext", "k": "fn", "h": self.remember(value), "name": type_name(value)}
            return None

        return SandboxEncoder(extension)

    def decoder(self, blobs: list[bytes]) -> "RecordingDecoder":
        return RecordingDecoder(blobs, self)

    def remember(self, value: Any) -> int:
        handle = self.next_handle
        self.next_handle += 1
        self.handles[handle] = value
        return handle

    def remember_vjp(self, output: torch.Tensor, inputs: list[torch.Tensor]) -> int:
        handle = self.next_handle
        self.next_handle += 1
        self.vjps[handle] = (output, list(inputs))
        return handle

    # ---------------------------------------------------------------------------------------------
    def serve(self) -> None:
        handlers = {messages.Cell: self.op_cell, messages.Get: self.op_get, messages.Call: self.op_call,
                    messages.Vjp: self.op_vjp, messages.State: self.op_state, messages.Isolate: self.op_isolate,
                    messages.Restore: self.op_restore, messages.Release: self.op_release}
        while True:
            header, blobs = wire.receive(self.sock, timeout=None, limit=None)
            message = messages.request(header)
            if isinstance(message, messages.Bye):
                return
            try:
                reply, out_blobs = handlers[type(message)](message, blobs)
            except BaseException as exc:  # noqa: BLE001 - report, never die silently
                reply, out_blobs = {"internal": type_name(exc)}, []
            wire.send(self.sock, reply, out_blobs)

    def op_cell(self, message: messages.Cell, blobs):
        error = self.runner.run(message.source, message.index)
        return {"error": error}, []

    def op_get(self, message: messages.Get, blobs):
        name = message.name
        if name not in self.ns:
            return {"missing": True}, []
        encoder = self.encoder()
        return self._encoded({"value": None}, "value", self.ns[name], encoder)

    def op_call(self, message: messages.Call, blobs):
        decoder = self.decoder(blobs)
        args = decoder.decode(message.args)
        kwargs = decoder.decode(message.kwargs)
        if message.builtin == "call_module":
            target = _call_module
        elif message.name is not None:
            target = self.ns.get(message.name)
        else:
            target = self.handles.get(message.handle)
        if target is None or not callable(target):
            return {"error": "NameError"}, []
        error, result = None, None
        set_torch_state(message.state)
        try:
            result = target(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - SystemExit included: it is the student's
            error = type_name(exc)
        encoder = self.encoder(decoder.grad_leaves)
        remove_leaked_hooks()  # hygiene for the next call; a leak is judged by what it returns
        reply: dict = {"error": error, "state": torch_state()}
        try:
            reply["value"] = encoder.encode(result) if error is None else None
            reply["writeback"] = [encoder.encode(m) for m in decoder.mutables]
        except BaseException as exc:  # noqa: BLE001
            return {"error": "unencodable", "type": type_name(exc)}, []
        return reply, encoder.blobs

    def op_state(self, message: messages.State, blobs):
        question = message.question
        self.ns, state = self.runner.as_checked(question) if type(question) is str else (self.runner.namespace, None)
        return {"state": state or torch_state()}, []

    def op_vjp(self, message: messages.Vjp, blobs):
        output, inputs = self.vjps[message.handle]
        grad_output = Decoder(blobs).decode(message.grad)
        grads = torch.autograd.grad(output, inputs, grad_output, retain_graph=True, allow_unused=True)
        encoder = Encoder()
        trees = [None if g is None else encoder.encode(g) for g in grads]
        return {"grads": trees}, encoder.blobs

    def op_isolate(self, message: messages.Isolate, blobs):
        fn = self.ns.get(message.name)
        if not callable(fn):
            return {"ok": False}, []
        self._alias_given_modules()
        module = types.ModuleType(f"_isolation_{message.module}")
        exec(compile(message.source, f"<{message.module}>", "exec"), module.__dict__)
        replacements = {n: delegate(getattr(module, n), n) for n in message.names}
        context = substituted_globals(fn, replacements, self.ns)
        context.__enter__()
        self.isolation = context
        return {"ok": True}, []

    def op_restore(self, message: messages.Restore, blobs):
        if self.isolation is not None:
            context, self.isolation = self.isolation, None
            context.__exit__(None, None, None)
        return {"ok": True}, []

    def op_release(self, message: messages.Release, blobs):
        self.handles.clear()
        self.vjps.clear()
        return {"ok": True}, []

    # ---------------------------------------------------------------------------------------------
    def _encoded(self, reply, key, value, encoder):
        try:
            reply[key] = encoder.encode(value)
        except BaseException as exc:  # noqa: BLE001
            return {"error": "unencodable", "type": type_name(exc)}, []
        return reply, encoder.blobs

    def _alias_given_modules(self) -> None:
        """Reference modules import the given code as ``solutions.<name>``; here it is ``<name>``."""
        package = sys.modules.setdefault("solutions", types.ModuleType("solutions"))
        for name in self.given_modules:
            try:
                module = importlib.import_module(name)
            except Exception:  # noqa: BLE001
                continue
            sys.modules[f"solutions.{name}"] = module
            setattr(package, name, module)


class RecordingDecoder(Decoder):
    """Decodes call arguments, remembering (in order) every tensor, array, generator and module, and
    every tensor that requires grad: what ``call`` reports back and differentiates against."""

    def __init__(self, blobs, runtime: Runtime):
        classes = runtime.model_classes()
        super().__init__(blobs, extension=lambda tree, decoder, depth: self._ext(tree, depth, classes))
        self.runtime = runtime
        self.mutables: list[Any] = []
        self.grad_leaves: list[torch.Tensor] = []

    def _ext(self, tree, depth, classes):
        if tree.get("k") == "module":
            module = decode_module(tree, self, depth, classes, adopt=self._adopt)
            self.mutables.append(module)
            return module
        if tree.get("k") == "fn":
            if "h" in tree:
                return self.runtime.handles[tree["h"]]
            function = self.runtime.ns.get(str(tree.get("name")))
            if not callable(function):
                raise ValueError("unknown function")
            return function
        if tree.get("k") == "code":
            return decode_function(tree, self, depth)
        if tree.get("k") in FRAME_KINDS:
            frame = decode_frame(tree, self, depth)
            self.mutables.append(frame)
            return frame
        raise ValueError("unknown extension")

    def _adopt(self, handle: int, name: str) -> nn.Module:
        """The student's own module the judge refers to (its state is loaded into it next)."""
        module = self.runtime.handles.get(handle)
        if not isinstance(module, nn.Module):
            raise ValueError("unknown module handle")
        return module

    def tensor(self, tree):
        tensor = super().tensor(tree)
        self.mutables.append(tensor)
        if tensor.requires_grad:
            self.grad_leaves.append(tensor)
        return tensor

    def array(self, tree):
        array = super().array(tree)
        self.mutables.append(array)
        return array

    def generator(self, tree):
        generator = super().generator(tree)
        self.mutables.append(generator)
        return generator


def _call_module(module: Any, *args: Any, **kwargs: Any) -> Any:
    """What ``remote.RemoteModule.forward`` runs: the student's module, called."""
    if not isinstance(module, nn.Module):
        raise TypeError("not a module")
    return module(*args, **kwargs)


def main(fd: int, given_modules: list[str], model_classes: dict[str, str]) -> None:
    sock = socket.socket(fileno=fd)
    try:
        Runtime(sock, given_modules, model_classes).serve()
    finally:
        os._exit(0)
