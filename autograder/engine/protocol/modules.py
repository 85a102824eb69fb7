"""``nn.Module`` values in the sandbox-judge data format (an extension of :mod:`codec`).

A module travels as its class name, its plain attributes (``in_channels``, ``kernel_size``,
``eps``, ...), its parameters and buffers (tensors) and its child modules, recursively::

    {"t": "ext", "k": "module", "cls": "Conv2d", "attrs": {...}, "params": {...},
     "buffers": {...}, "children": {...}, "training": false}

Only classes in an allow-list are rebuilt: torch's standard layers (:data:`STANDARD_LAYERS`) and
the given model classes an assignment ships (``extra`` maps their names to this side's class).
A module is rebuilt with ``cls.__new__`` + ``nn.Module.__init__`` and its attributes set from
data, so no constructor or other code of the sender's runs; its ``forward`` is this side's
class's. Hooks are not carried.

A module of another class (a student's own subclass) travels only where the sides agree on a
handle for it (``handle_of`` when encoding, ``adopt`` when decoding): its tree has ``"remote":
handle`` and the class name instead of ``cls``, its data (parameters, buffers, children, plain
attributes) as above. The sandbox hands out handles to its objects; the judge rebuilds such a
module as a ``remote.RemoteModule``, whose forward runs in the sandbox, and sends it back with the
same handle, which the sandbox resolves to the student's object and loads the state into.
Without a handle such a module is not data.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from autograder.engine.protocol.codec import DecodeError, Decoder, Encoder, _IDENTIFIER

STANDARD_LAYERS = {cls.__name__: cls for cls in (
    nn.Sequential, nn.ModuleList, nn.Conv1d, nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d,
    nn.ReLU, nn.ReLU6, nn.Tanh, nn.Sigmoid, nn.GELU, nn.LeakyReLU, nn.MaxPool2d, nn.AvgPool2d,
    nn.AdaptiveAvgPool2d, nn.Flatten, nn.Identity, nn.Dropout, nn.Softmax, nn.LogSoftmax)}
_PRIVATE_ATTRS = {"_reversed_padding_repeated_twice"}
_PLAIN = (bool, int, float, str, type(None))


def _plain(value: Any, depth: int = 0) -> bool:
    if type(value) in _PLAIN:
        return True
    if type(value) in (tuple, list) and depth < 3:
        return all(_plain(v, depth + 1) for v in value)
    return False


def encode_module(module: nn.Module, encoder: Encoder, classes: dict[str, type],
                  handle_of: Callable[[nn.Module], int | None] | None = None) -> dict | None:
    """The tree of an allow-listed module or of one ``handle_of`` gives a handle; None (not data)
    for any other."""
    cls = type(module)
    name = cls.__name__
    remote = None
    if classes.get(name) is not cls and STANDARD_LAYERS.get(name) is not cls:
        remote = None if handle_of is None else handle_of(module)
        if type(remote) is not int:
            return None
    state = object.__getattribute__(module, "__dict__")
    attrs = {key: encoder.encode(value) for key, value in state.items()
             if (not key.startswith("_") or key in _PRIVATE_ATTRS) and key != "training" and _plain(value)}
    params = {key: (None if value is None else encoder.encode(value))
              for key, value in state.get("_parameters", {}).items()}
    buffers = {key: (None if value is None else encoder.encode(value))
               for key, value in state.get("_buffers", {}).items()}
    children = {}
    for key, child in state.get("_modules", {}).items():
        tree = None if child is None else encode_module(child, encoder, classes, handle_of)
        if child is not None and tree is None:
            return None
        children[key] = tree
    tree = {"t": "ext", "k": "module", "cls": name, "attrs": attrs, "params": params,
            "buffers": buffers, "children": children, "training": bool(state.get("training", True))}
    if remote is not None:
        tree["cls"], tree["remote"] = None, remote
        tree["name"] = name[:60]
    return tree


def decode_module(tree: dict, decoder: Decoder, depth: int, classes: dict[str, type],
                  adopt: Callable[[int, str], nn.Module] | None = None) -> nn.Module:
    """Rebuild an allow-listed module from its tree, or fill the module ``adopt`` gives for a
    handle (see the module docstring)."""
    parts = [tree.get(k) for k in ("attrs", "params", "buffers", "children")]
    if any(type(p) is not dict for p in parts) or type(tree.get("training")) is not bool:
        raise DecodeError("malformed module")
    attrs, params, buffers, children = parts
    if "remote" in tree:
        if adopt is None or type(tree["remote"]) is not int or type(tree.get("name")) is not str:
            raise DecodeError("module class not allowed")
        module = adopt(tree["remote"], tree["name"][:60])
    else:
        cls = classes.get(tree.get("cls")) or STANDARD_LAYERS.get(tree.get("cls"))
        if cls is None:
            raise DecodeError("module class not allowed")
        module = cls.__new__(cls)
        nn.Module.__init__(module)
    for key, value in attrs.items():
        if type(key) is not str or not (_IDENTIFIER.match(key) or key in _PRIVATE_ATTRS) \
                or (key.startswith("_") and key not in _PRIVATE_ATTRS):
            raise DecodeError("bad module attribute")
        decoded = decoder.decode(value, depth + 1)
        if not _plain(decoded):
            raise DecodeError("bad module attribute value")
        object.__setattr__(module, key, decoded)
    for key, value in params.items():
        _check_key(key)
        tensor = None if value is None else decoder.decode(value, depth + 1)
        if tensor is not None and not isinstance(tensor, torch.Tensor):
            raise DecodeError("bad module parameter")
        if tensor is not None and not isinstance(tensor, nn.Parameter):
            tensor = nn.Parameter(tensor, requires_grad=tensor.is_floating_point())
        module._parameters[key] = tensor
    for key, value in buffers.items():
        _check_key(key)
        tensor = None if value is None else decoder.decode(value, depth + 1)
        if tensor is not None and not isinstance(tensor, torch.Tensor):
            raise DecodeError("bad module buffer")
        module._buffers[key] = tensor
    for key, value in children.items():
        _check_key(key)
        if value is not None and (type(value) is not dict or value.get("k") != "module"):
            raise DecodeError("bad child module")
        module._modules[key] = None if value is None else decode_module(value, decoder, depth + 1, classes, adopt)
    object.__setattr__(module, "training", tree["training"])
    return module


def _check_key(key: Any) -> None:
    if type(key) is not str or not key or len(key) > 64 or not key.replace("_", "a").isalnum():
        raise DecodeError("bad module key")
