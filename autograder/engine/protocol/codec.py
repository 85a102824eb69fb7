"""The data format between the sandbox (student code) and the judge: JSON plus raw byte blobs.

Nothing in this format can execute code when it is read: a message is one JSON document and a
list of byte strings. Arrays and tensors travel as (dtype, shape, blob index) and are rebuilt
with ``numpy.frombuffer``/``torch.frombuffer`` from an allow-list of numeric dtypes; no pickle,
no dill, no ``eval``. The reader checks every field (types, sizes, depth, node count) and raises
:class:`DecodeError` on anything malformed, so a hostile sandbox can send garbage but never make
the judge run code or allocate without bound.

Values (JSON primitives stay primitives; everything else is an object with a type tag ``t``)::

    None, bool, int, float (nan/inf included)   as JSON
    {"t": "str", "v": s}                        str (at most MAX_STRING characters)
    {"t": "list" | "tuple" | "set", "v": [...]}
    {"t": "dict", "k": [...], "v": [...]}       keys and values encoded alike
    {"t": "ntuple", "n": name, "f": [fields], "v": [...]}    any namedtuple, rebuilt generically
    {"t": "nd", "d": dtype, "s": shape, "b": i}            numpy array (numeric dtypes only)
    {"t": "np", "d": dtype, "b": i}                         numpy scalar
    {"t": "tensor", "d": dtype, "s": shape, "b": i, "g": requires_grad, "p": is_parameter}
    {"t": "dtype", "v": "float32"}, {"t": "device", "v": "cpu"}, {"t": "complex", "v": [re, im]}
    {"t": "gen", "b": i}                                    torch.Generator (its state bytes)
    {"t": "ref", "i": k}                                    the k-th memoised object again
    {"t": "ext", ...}                                       handled by the side's extension hook
                                                            (modules.py, functions.py, frames.py)
    {"t": "opaque", "type": name}                           an object that is not data

Both sides share this module; each passes hooks for what only it knows (the sandbox encodes a
student function as a handle, the judge decodes such a handle as a proxy). Memoisation keeps the
identity of a tensor, array or container that appears twice in one message.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable

import numpy as np
import torch

MAX_STRING = 100_000
MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_DIMS = 16

TORCH_DTYPES = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64, "complex64": torch.complex64, "complex128": torch.complex128,
    "int8": torch.int8, "int16": torch.int16, "int32": torch.int32, "int64": torch.int64,
    "uint8": torch.uint8, "bool": torch.bool,
}
TORCH_DTYPE_NAMES = {v: k for k, v in TORCH_DTYPES.items()}
NUMPY_DTYPES = {name: np.dtype(name) for name in (
    "float16", "float32", "float64", "complex64", "complex128", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool")}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class DecodeError(ValueError):
    """A malformed message: the sender is broken or hostile."""


class EncodeError(TypeError):
    """A value that is not data (the message names its type)."""


def type_name(value: Any) -> str:
    """A short printable name for a value's type, safe to show (identifier characters only)."""
    try:
        name = type.__getattribute__(type(value), "__qualname__")
    except Exception:  # noqa: BLE001
        name = "object"
    name = re.sub(r"[^A-Za-z0-9_.]", "", str(name))[:40]
    return name or "object"


# -------------------------------------------------------------------------------------------------
# Encoding
# -------------------------------------------------------------------------------------------------


class Encoder:
    """Turns one value into (JSON tree, blobs). ``extension(value, encoder)`` may return a tree for
    values this module does not know (or None to fall back to ``opaque``/:class:`EncodeError`)."""

    def __init__(self, extension: Callable[[Any, "Encoder"], Any] | None = None, strict: bool = False):
        self.blobs: list[bytes] = []
        self.extension = extension
        self.strict = strict
        self._memo: dict[int, int] = {}
        self._keep: list[Any] = []
        self.mutables: list[Any] = []  # tensors, arrays and generators, in the order they were encoded

    def blob(self, data: bytes) -> int:
        self.blobs.append(bytes(data))
        return len(self.blobs) - 1

    def reference(self, value: Any) -> Any:
        """The tree naming a value that lives on the receiving side (a student function the
        judge passes back into the sandbox), or None; a side that has such values overrides this."""
        return None

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise EncodeError("value nested too deeply")
        kind = type(value)
        if value is None or kind is bool:
            return value
        if kind is int:
            return value
        if kind is float:
            return value
        if kind is str:
            if len(value) > MAX_STRING:
                raise EncodeError("string too long")
            return {"t": "str", "v": value}
        memo = self._memo.get(id(value))
        if memo is not None:
            return {"t": "ref", "i": memo}
        if kind in (list, tuple, set, frozenset, dict) or isinstance(value, (torch.Tensor, np.ndarray)) \
                or (isinstance(value, tuple) and hasattr(kind, "_fields")):
            self._memo[id(value)] = len(self._memo)
            self._keep.append(value)
        if kind is list:
            return {"t": "list", "v": [self.encode(v, depth + 1) for v in value]}
        if kind is tuple or kind is torch.Size:
            return {"t": "tuple", "v": [self.encode(v, depth + 1) for v in value]}
        if kind in (set, frozenset):
            return {"t": "set", "v": [self.encode(v, depth + 1) for v in value]}
        if kind is dict:
            items = list(dict.items(value))
            return {"t": "dict", "k": [self.encode(k, depth + 1) for k, _ in items],
                    "v": [self.encode(v, depth + 1) for _, v in items]}
        if isinstance(value, tuple) and isinstance(getattr(kind, "_fields", None), tuple):
            return {"t": "ntuple", "n": type_name(value).split(".")[-1],
                    "f": [str(f) for f in kind._fields],
                    "v": [self.encode(v, depth + 1) for v in tuple.__iter__(value)]}
        if isinstance(value, torch.Tensor):
            return self._tensor(value)
        if isinstance(value, np.ndarray):
            array = np.ndarray.view(value, np.ndarray).copy(order="C")  # (ascontiguousarray makes 0-d 1-d)
            if array.dtype.name not in NUMPY_DTYPES:
                return self._other(value)
            self.mutables.append(value)
            return {"t": "nd", "d": array.dtype.name, "s": list(array.shape), "b": self.blob(array.tobytes())}
        if isinstance(value, np.generic) and type(value).__name__ != "object_":
            name = np.dtype(type(value)).name
            if name in NUMPY_DTYPES:
                return {"t": "np", "d": name, "b": self.blob(np.array(value).tobytes())}
        if kind is complex:
            return {"t": "complex", "v": [value.real, value.imag]}
        if value is Ellipsis:  # otter's stubs leave answers as ``...``
            return {"t": "ellipsis"}
        if kind is torch.dtype and value in TORCH_DTYPE_NAMES:
            return {"t": "dtype", "v": TORCH_DTYPE_NAMES[value]}
        if kind is torch.device:
            return {"t": "device", "v": str(value.type)}
        if kind is torch.Generator:
            self.mutables.append(value)
            return {"t": "gen", "b": self.blob(value.get_state().numpy().tobytes())}
        return self._other(value)

    def _tensor(self, value: torch.Tensor) -> dict:
        data = torch.Tensor.detach(value)
        if data.dtype not in TORCH_DTYPE_NAMES or data.is_sparse or data.layout != torch.strided:
            return self._other(value)
        self.mutables.append(value)
        data = data.to("cpu").contiguous()
        payload = data.reshape(-1).view(torch.uint8).numpy().tobytes() if data.numel() else b""
        return {"t": "tensor", "d": TORCH_DTYPE_NAMES[data.dtype], "s": list(data.shape),
                "b": self.blob(payload), "g": bool(value.requires_grad),
                "p": isinstance(value, torch.nn.Parameter)}

    def _other(self, value: Any) -> Any:
        if self.extension is not None:
            tree = self.extension(value, self)
            if tree is not None:
                return tree
        if self.strict:
            raise EncodeError(f"a {type_name(value)} is not data the grader can exchange")
        return {"t": "opaque", "type": type_name(value)}


def encode(value: Any, extension=None, strict: bool = False) -> tuple[Any, list[bytes]]:
    encoder = Encoder(extension, strict)
    return encoder.encode(value), encoder.blobs


# -------------------------------------------------------------------------------------------------
# Decoding (validating)
# -------------------------------------------------------------------------------------------------


class Decoder:
    """Rebuilds values from (tree, blobs), validating every field. ``extension(tree, decoder)``
    handles ``{"t": "ext"}`` nodes; ``opaque(name)`` builds the placeholder for non-data."""

    def __init__(self, blobs: list[bytes], extension=None, opaque=None):
        self.blobs = blobs
        self.extension = extension
        self.opaque = opaque or (lambda name: Opaque(name))
        self._memo: list[Any] = []
        self._nodes = 0

    def _count(self) -> None:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise DecodeError("too many values in one message")

    def blob(self, index: Any) -> bytes:
        if type(index) is not int or not 0 <= index < len(self.blobs):
            raise DecodeError("bad blob index")
        return self.blobs[index]

    def decode(self, tree: Any, depth: int = 0) -> Any:
        self._count()
        if depth > MAX_DEPTH:
            raise DecodeError("value nested too deeply")
        if tree is None or type(tree) in (bool, int, float):
            return tree
        if type(tree) is not dict or type(tree.get("t")) is not str:
            raise DecodeError("malformed value")
        tag = tree["t"]
        if tag == "str":
            return _string(tree.get("v"))
        if tag == "ref":
            index = tree.get("i")
            if type(index) is not int or not 0 <= index < len(self._memo):
                raise DecodeError("bad reference")
            return self._memo[index]
        if tag in ("list", "tuple", "set"):
            items = _list(tree.get("v"))
            if tag == "list":
                out: Any = []
                self._memo.append(out)
                out.extend(self.decode(v, depth + 1) for v in items)
                return out
            slot = len(self._memo)
            self._memo.append(None)
            values = [self.decode(v, depth + 1) for v in items]
            out = tuple(values) if tag == "tuple" else _hashable_set(values)
            self._memo[slot] = out
            return out
        if tag == "dict":
            keys, values = _list(tree.get("k")), _list(tree.get("v"))
            if len(keys) != len(values):
                raise DecodeError("malformed dict")
            out = {}
            self._memo.append(out)
            for k, v in zip(keys, values):
                key = self.decode(k, depth + 1)
                try:
                    out[key] = self.decode(v, depth + 1)
                except TypeError as exc:
                    raise DecodeError("unhashable dict key") from exc
            return out
        if tag == "ntuple":
            return self._namedtuple(tree, depth)
        if tag == "nd":
            array = self.array(tree)
            self._memo.append(array)
            return array
        if tag == "np":
            dtype = NUMPY_DTYPES.get(tree.get("d"))
            data = self.blob(tree.get("b"))
            if dtype is None or len(data) != dtype.itemsize:
                raise DecodeError("bad numpy scalar")
            return np.frombuffer(data, dtype=dtype)[0].copy()
        if tag == "tensor":
            tensor = self.tensor(tree)
            self._memo.append(tensor)
            return tensor
        if tag == "complex":
            parts = _list(tree.get("v"))
            if len(parts) != 2 or any(type(p) not in (int, float) for p in parts):
                raise DecodeError("bad complex")
            return complex(parts[0], parts[1])
        if tag == "ellipsis":
            return Ellipsis
        if tag == "dtype":
            dtype = TORCH_DTYPES.get(tree.get("v"))
            if dtype is None:
                raise DecodeError("unknown dtype")
            return dtype
        if tag == "device":
            if tree.get("v") not in ("cpu", "cuda", "mps", "meta"):
                raise DecodeError("unknown device")
            return torch.device(tree["v"])
        if tag == "gen":
            return self.generator(tree)
        if tag == "opaque":
            return self.opaque(_string(tree.get("type"))[:40])
        if tag == "ext" and self.extension is not None:
            return self.extension(tree, self, depth)
        raise DecodeError(f"unknown value tag {tag[:20]!r}")

    def _namedtuple(self, tree: dict, depth: int) -> Any:
        from collections import namedtuple

        name, fields = tree.get("n"), _list(tree.get("f"))
        values = _list(tree.get("v"))
        if type(name) is not str or not _IDENTIFIER.match(name) or len(fields) != len(values) \
                or not all(type(f) is str and _IDENTIFIER.match(f) and not f.startswith("_") for f in fields) \
                or len(set(fields)) != len(fields):
            raise DecodeError("bad namedtuple")
        slot = len(self._memo)
        self._memo.append(None)
        out = namedtuple(name, fields)(*(self.decode(v, depth + 1) for v in values))
        self._memo[slot] = out
        return out

    def _shape(self, shape: Any) -> tuple[int, ...]:
        if type(shape) is not list or len(shape) > MAX_DIMS or \
                any(type(n) is not int or n < 0 for n in shape):
            raise DecodeError("bad shape")
        return tuple(shape)

    def array(self, tree: dict) -> np.ndarray:
        dtype = NUMPY_DTYPES.get(tree.get("d"))
        shape = self._shape(tree.get("s"))
        data = self.blob(tree.get("b"))
        if dtype is None or len(data) != math.prod(shape) * dtype.itemsize:
            raise DecodeError("bad array")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()

    def tensor(self, tree: dict) -> torch.Tensor:
        dtype = TORCH_DTYPES.get(tree.get("d"))
        shape = self._shape(tree.get("s"))
        data = self.blob(tree.get("b"))
        if dtype is None:
            raise DecodeError("bad tensor dtype")
        size = torch.empty((), dtype=dtype).element_size()
        numel = math.prod(shape)
        if len(data) != numel * size:
            raise DecodeError("bad tensor size")
        if numel == 0:
            tensor = torch.empty(shape, dtype=dtype)
        else:
            tensor = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(dtype).reshape(shape).clone()
        if tree.get("p") is True and tensor.is_floating_point():
            return torch.nn.Parameter(tensor, requires_grad=tree.get("g") is True)
        if tree.get("g") is True and (tensor.is_floating_point() or tensor.is_complex()):
            tensor.requires_grad_(True)
        return tensor

    def generator(self, tree: dict) -> torch.Generator:
        state = self.blob(tree.get("b"))
        generator = torch.Generator()
        if len(state) != generator.get_state().numel():
            raise DecodeError("bad generator state")
        try:
            generator.set_state(torch.frombuffer(bytearray(state), dtype=torch.uint8).clone())
        except RuntimeError as exc:
            raise DecodeError("bad generator state") from exc
        return generator


class Opaque:
    """Stands for a value that is not data (a student object of an unknown type)."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


def decode(tree: Any, blobs: list[bytes], extension=None, opaque=None) -> Any:
    return Decoder(blobs, extension, opaque).decode(tree)


def _string(value: Any) -> str:
    if type(value) is not str or len(value) > MAX_STRING:
        raise DecodeError("bad string")
    return value


def _list(value: Any) -> list:
    if type(value) is not list:
        raise DecodeError("expected a list")
    return value


def _hashable_set(values: list) -> set:
    try:
        return set(values)
    except TypeError as exc:
        raise DecodeError("unhashable set item") from exc


# -------------------------------------------------------------------------------------------------
# Framing: one message = header (JSON) + blobs, length-prefixed
# -------------------------------------------------------------------------------------------------


def pack(header: dict, blobs: list[bytes]) -> bytes:
    """``[u32 header length][header JSON][u64 length + bytes for each blob]``; the header lists
    the blob count so the reader knows what to expect."""
    header = dict(header, nblobs=len(blobs))
    text = json.dumps(header, allow_nan=True, separators=(",", ":")).encode()
    parts = [len(text).to_bytes(4, "big"), text]
    for blob in blobs:
        parts.append(len(blob).to_bytes(8, "big"))
        parts.append(blob)
    return b"".join(parts)


def unpack(data: bytes) -> tuple[dict, list[bytes]]:
    """Inverse of :func:`pack`, validating lengths; the header as it was packed."""
    view = memoryview(data)
    if len(view) < 4:
        raise DecodeError("truncated message")
    size = int.from_bytes(view[:4], "big")
    if 4 + size > len(view):
        raise DecodeError("truncated header")
    try:
        header = json.loads(bytes(view[4:4 + size]).decode())
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DecodeError("header is not JSON") from exc
    if type(header) is not dict or type(header.get("nblobs")) is not int:
        raise DecodeError("bad header")
    position, blobs = 4 + size, []
    for _ in range(header.pop("nblobs")):  # framing, not part of the message
        if position + 8 > len(view):
            raise DecodeError("truncated blob length")
        length = int.from_bytes(view[position:position + 8], "big")
        position += 8
        if position + length > len(view):
            raise DecodeError("truncated blob")
        blobs.append(bytes(view[position:position + length]))
        position += length
    if position != len(view):
        raise DecodeError("trailing bytes")
    return header, blobs
