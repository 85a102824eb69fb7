"""The sandbox-judge data format: round trips, and hostile bytes rejected with DecodeError only."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from autograder.engine.protocol import codec
from autograder.engine.protocol.codec import DecodeError, Decoder, Encoder, decode, encode, pack, unpack
from autograder.engine.protocol.functions import decode_function, encode_function
from autograder.engine.protocol.modules import decode_module, encode_module
from solutions.digits_cnn import DigitsCNN

leaves = st.one_of(
    st.none(), st.just(Ellipsis), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False), st.text(max_size=20),
    st.builds(lambda shape, seed: np.random.default_rng(seed).standard_normal(shape),
              st.lists(st.integers(0, 3), max_size=3), st.integers(0, 9)),
    st.builds(lambda n, seed, dtype: torch.randn(n, generator=torch.Generator().manual_seed(seed)).to(dtype),
              st.integers(0, 5), st.integers(0, 9),
              st.sampled_from([torch.float32, torch.float64, torch.int64, torch.int8, torch.bool, torch.bfloat16])),
)
values = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=5), inner, max_size=4)), max_leaves=12)


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return type(b) is torch.Tensor and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return type(b) is np.ndarray and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(values)
def test_round_trip_through_the_wire_format(value):
    tree, blobs = encode(value)
    header, received = unpack(pack({"v": tree}, blobs))
    assert _same(value, decode(header["v"], received))


def test_identity_nan_generators_namedtuples_and_grad_flags_survive():
    from collections import namedtuple

    t = torch.arange(3.0, requires_grad=True)
    g = torch.Generator().manual_seed(5)
    Pair = namedtuple("Codebook", ["centroids", "labels"])
    tree, blobs = encode([t, t, float("nan"), g, Pair(np.ones(2), 3), torch.float64, 2 + 1j])
    out = decode(tree, blobs)
    assert out[0] is out[1] and out[0].requires_grad
    assert np.isnan(out[2])
    assert torch.equal(out[3].get_state(), g.get_state())
    assert out[4].centroids.tolist() == [1.0, 1.0] and out[4].labels == 3 and type(out[4]).__name__ == "Codebook"
    assert out[5] is torch.float64 and out[6] == 2 + 1j


def test_objects_that_are_not_data_become_opaque_or_fail_in_strict_mode():
    class Evil:
        def __reduce__(self):
            raise AssertionError("never pickled")

    tree, blobs = encode({"x": Evil()})
    assert isinstance(decode(tree, blobs)["x"], codec.Opaque)
    with pytest.raises(codec.EncodeError):
        encode(Evil(), strict=True)


@pytest.mark.parametrize("tree, blobs", [
    ({"t": "tensor", "d": "float32", "s": [3], "b": 0}, [b"\x00" * 11]),        # wrong size
    ({"t": "tensor", "d": "object", "s": [1], "b": 0}, [b"\x00" * 8]),          # no such dtype
    ({"t": "nd", "d": "float64", "s": [10**9, 10**9], "b": 0}, [b""]),          # absurd shape
    ({"t": "nd", "d": "float64", "s": [-1], "b": 0}, [b""]),
    ({"t": "tensor", "d": "float32", "s": [1], "b": 5}, []),                    # missing blob
    ({"t": "ref", "i": 3}, []),
    ({"t": "pickle", "v": "cos\nsystem\n"}, []),                                # unknown tag
    ({"t": "ntuple", "n": "X", "f": ["__class__"], "v": [1]}, []),
    ({"t": "dict", "k": [{"t": "list", "v": []}], "v": [1]}, []),               # unhashable key
    ({"t": "gen", "b": 0}, [b"\x01\x02"]),
    ({"t": "str", "v": 5}, []),
    ([1, 2], []),
])
def test_malformed_values_raise_decode_error(tree, blobs):
    with pytest.raises(DecodeError):
        decode(tree, blobs)


def test_deep_nesting_is_refused():
    tree = 1
    for _ in range(codec.MAX_DEPTH + 5):
        tree = {"t": "list", "v": [tree]}
    with pytest.raises(DecodeError):
        decode(tree, [])


@given(st.binary(max_size=200))
def test_random_bytes_never_raise_anything_but_decode_error(data):
    try:
        header, blobs = unpack(data)
        decode(header.get("v"), blobs)
    except DecodeError:
        pass


def test_a_model_round_trips_as_data_and_computes_the_same_function():
    torch.manual_seed(0)
    model = DigitsCNN().eval()
    encoder = Encoder(lambda value, e: encode_module(value, e, {"DigitsCNN": DigitsCNN}))
    tree = encoder.encode(model)
    rebuilt = Decoder(encoder.blobs, extension=lambda t, d, depth: decode_module(t, d, depth, {"DigitsCNN": DigitsCNN})).decode(tree)
    assert type(rebuilt) is DigitsCNN and not rebuilt.training
    x = torch.rand(4, 1, 8, 8)
    assert torch.equal(model(x), rebuilt(x))


def test_a_student_module_class_is_not_data_without_a_handle_and_a_forged_class_is_refused():
    class MyConv(nn.Conv2d):
        def forward(self, x):
            return x

    encoder = Encoder(lambda value, e: encode_module(value, e, {}))
    assert encoder.encode(nn.Sequential(MyConv(1, 1, 1))) == {"t": "opaque", "type": "Sequential"}
    forged = {"t": "ext", "k": "module", "cls": "Popen", "attrs": {}, "params": {}, "buffers": {},
              "children": {}, "training": False}
    with pytest.raises(DecodeError):
        Decoder([], extension=lambda t, d, depth: decode_module(t, d, depth, {})).decode(forged)
    # a module by handle is data only where the decoding side adopts handles
    by_handle = dict(forged, cls=None, remote=7, name="MyConv")
    with pytest.raises(DecodeError):
        Decoder([], extension=lambda t, d, depth: decode_module(t, d, depth, {})).decode(by_handle)
    handed = Encoder(lambda value, e: encode_module(value, e, {}, handle_of=lambda m: 7)).encode(MyConv(1, 1, 1))
    assert handed["remote"] == 7 and handed["name"] == "MyConv" and handed["cls"] is None


def test_functions_travel_as_code_with_their_closures_and_globals():
    A = torch.tensor([[2.0, 0.0], [0.0, 3.0]], dtype=torch.float64)

    def helper(v):
        return torch.tanh(v)

    def loss(theta):
        return 0.5 * (helper(theta) @ A @ helper(theta)) + np.float64(1.0)

    encoder = Encoder(lambda value, e: encode_function(value, e) if callable(value) else None)
    tree = encoder.encode(loss)
    rebuilt = Decoder(encoder.blobs, extension=lambda t, d, depth: decode_function(t, d, depth)).decode(tree)
    theta = torch.tensor([0.3, -0.7], dtype=torch.float64)
    assert rebuilt is not loss and torch.equal(rebuilt(theta), loss(theta))


def test_a_function_closing_over_a_value_of_the_other_side_sends_its_reference():
    """A check's function that calls the student's function (a proxy on the judge's side) sends a
    reference to it, resolved where the function runs; with no reference it is not data."""
    remote_double = object()  # stands for a proxy of the sandbox's function "double"

    class ReferencingEncoder(Encoder):
        def reference(self, value):
            return {"t": "ext", "k": "fn", "name": "double"} if value is remote_double else None

    def calls_it(x):
        return remote_double(x) + 1

    sandbox_functions = {"double": lambda x: 2 * x}

    def sandbox_extension(tree, decoder, depth):
        return sandbox_functions[tree["name"]] if tree["k"] == "fn" else decode_function(tree, decoder, depth)

    encoder = ReferencingEncoder(lambda value, e: encode_function(value, e) if callable(value) else None)
    tree = encoder.encode(calls_it)
    assert Decoder(encoder.blobs, extension=sandbox_extension).decode(tree)(20) == 41
    with pytest.raises(TypeError, match="closes over a value that is not data"):
        Encoder(lambda value, e: encode_function(value, e) if callable(value) else None).encode(calls_it)


def test_every_request_round_trips_and_malformed_headers_are_refused():
    """The typed request set: each request survives the wire as itself; a header that is not
    one of them (unknown op, a field missing or extra, not a dict) is no request at all."""
    from autograder.engine.protocol import messages

    samples = [messages.Cell("x = 1", 3), messages.Get("f"), messages.Call([], {}, None, name="f"),
               messages.Vjp(4, {"t": "list", "v": []}), messages.State("q1"),
               messages.Isolate("f", ["g"], "solutions.x", "def g():\n    pass\n"), messages.Restore(),
               messages.Release(), messages.Bye(), messages.Grade(), messages.Spawn(0, "/tmp/s", [], {}, "otter"),
               messages.Kill(2)]
    assert {type(m) for m in samples} == set(messages.REQUESTS.values())
    for message in samples:
        header, _ = unpack(pack(messages.header(message), []))
        assert messages.request(header) == message
    for bad in [{"op": "nope"}, {"op": "cell", "source": "x"}, {"op": "get", "name": "f", "extra": 1},
                [], None, {"name": "f"}]:
        assert messages.request(bad) is None
