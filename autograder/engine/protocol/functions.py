"""Functions passed *into* student code (a loss, an objective, a function to profile).

Some graded functions take a callable argument: ``maml_outer_gradient(theta, support_loss, ...)``
differentiates through it, ``saved_tensor_bytes(fn)`` runs it under the student's hooks. Such a
callable must run inside the sandbox, next to the student's code and its autograd graph, so the
judge sends it as code: the function's compiled code (``marshal``), its closure cells and
defaults as data, the globals its code reads (modules by name, data by value, other plain
functions the same way), and the sandbox rebuilds it with ``types.FunctionType``.

The direction matters: code only ever goes judge → sandbox (where untrusted code runs anyway).
The judge never unmarshals or runs anything the sandbox sends. What the sandbox learns is the
input itself (a loss function is an input of the function under test, like a tensor).
"""

from __future__ import annotations

import builtins
import dis
import importlib
import marshal
import types
from typing import Any

from autograder.engine.protocol.codec import DecodeError, Decoder, Encoder


def _global_names(code: types.CodeType) -> set[str]:
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def encode_function(fn: types.FunctionType, encoder: Encoder, depth: int = 0) -> dict:
    """The tree of a plain Python function (judge side)."""
    if depth > 8:
        raise TypeError("functions nested too deeply")
    globals_tree = {}
    for name in sorted(_global_names(fn.__code__)):
        if name in fn.__globals__:  # else a builtin, or a NameError there as it would be here
            tree = _encode_value(fn.__globals__[name], encoder, depth)
            if tree is not None:
                globals_tree[name] = tree
    cells = []
    for cell in fn.__closure__ or ():
        tree = _encode_value(cell.cell_contents, encoder, depth)
        if tree is None:
            raise TypeError("a function closes over a value that is not data")
        cells.append(tree)
    return {"t": "ext", "k": "code", "name": fn.__name__[:60],
            "b": encoder.blob(marshal.dumps(fn.__code__)), "cells": cells,
            "defaults": encoder.encode(fn.__defaults__), "globals": globals_tree}


def _encode_value(value: Any, encoder: Encoder, depth: int) -> Any:
    """A global or closure value: modules and torch/numpy classes by name, functions as code,
    a function of the sandbox by its reference, data by value; None for anything else."""
    reference = encoder.reference(value)
    if reference is not None:
        return reference
    if isinstance(value, types.ModuleType):
        return {"t": "ext", "k": "modref", "name": value.__name__}
    if type(value) is types.FunctionType:
        return encode_function(value, encoder, depth + 1)
    if isinstance(value, type) and value.__module__.split(".")[0] in ("torch", "numpy", "math"):
        return {"t": "ext", "k": "objref", "module": value.__module__, "name": value.__qualname__}
    try:  # a trial run first: a half-encoded value would leave the memo out of step
        Encoder(strict=True).encode(value)
    except TypeError:
        return None
    return encoder.encode(value)


def decode_function(tree: dict, decoder: Decoder, depth: int) -> types.FunctionType:
    """Rebuild a function sent by the judge (sandbox side: this runs untrusted-side only)."""
    code = marshal.loads(decoder.blob(tree.get("b")))
    if not isinstance(code, types.CodeType):
        raise DecodeError("not code")
    namespace: dict = {"__builtins__": builtins, "__name__": "__grader_input__"}
    for name, value in tree.get("globals", {}).items():
        namespace[name] = _global(value, decoder, depth)
    cells = tuple(types.CellType(_global(c, decoder, depth)) for c in tree.get("cells", []))
    defaults = decoder.decode(tree.get("defaults"), depth + 1)
    return types.FunctionType(code, namespace, tree.get("name", "fn"), defaults, cells or None)


def _global(tree: Any, decoder: Decoder, depth: int) -> Any:
    if type(tree) is dict and tree.get("t") == "ext":
        if tree.get("k") == "modref":
            return importlib.import_module(tree["name"])
        if tree.get("k") == "objref":
            value = importlib.import_module(tree["module"])
            for part in tree["name"].split("."):
                value = getattr(value, part)
            return value
    return decoder.decode(tree, depth + 1)
