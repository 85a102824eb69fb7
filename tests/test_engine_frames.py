"""pandas values in the sandbox-judge data format: exact round trips of what is data, None (so
opaque) for what would not rebuild exactly, and DecodeError for every malformed tree."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.engine.protocol.codec import DecodeError, Decoder, Encoder, pack, unpack
from autograder.engine.protocol.frames import decode_frame, encode_frame, frames_identical, is_pandas

texts = st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=3, max_size=3)
columns = st.one_of(
    st.lists(st.integers(-2**63, 2**63 - 1), min_size=3, max_size=3).map(lambda v: pd.array(v, dtype="int64")),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=3, max_size=3).map(lambda v: np.array(v)),
    st.lists(st.booleans(), min_size=3, max_size=3).map(lambda v: np.array(v)),
    st.lists(st.integers(0, 255), min_size=3, max_size=3).map(lambda v: np.array(v, dtype=np.uint8)),
    texts.map(lambda v: pd.array(v, dtype="str")),
    texts.map(lambda v: pd.array(v, dtype=pd.StringDtype(na_value=pd.NA))),
    texts.map(lambda v: pd.Series(v, dtype=object).to_numpy()),
)
labels = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=4))
indexes = st.one_of(
    st.builds(lambda start, step, name: pd.RangeIndex(start, start + 3 * step, step, name=name),
              st.integers(-10, 10), st.integers(1, 3), labels),
    st.builds(lambda values, name: pd.Index(values, name=name),
              st.lists(st.integers(-2**63, 2**63 - 1), min_size=3, max_size=3), labels),
    st.builds(lambda values, name: pd.Index(values, name=name), st.lists(st.text(max_size=3), min_size=3, max_size=3), labels),
)


def _round_trip(value):
    encoder = Encoder()
    tree = encode_frame(value, encoder)
    assert tree is not None, "this value is data"
    header, blobs = unpack(pack({"v": tree}, encoder.blobs))
    return decode_frame(header["v"], Decoder(blobs), 0)


@settings(max_examples=60)
@given(st.lists(columns, max_size=4), indexes,
       st.one_of(st.lists(st.integers(0, 9), min_size=4, max_size=4, unique=True),
                 st.lists(st.text(max_size=3), min_size=4, max_size=4, unique=True)))
def test_frames_round_trip_exactly(data, index, names):
    frame = pd.DataFrame({names[j]: pd.Series(c, index=index) for j, c in enumerate(data)}, index=index)
    if len(data) == 0:
        frame = pd.DataFrame(index=index)
    assert frames_identical(frame, _round_trip(frame))


@settings(max_examples=40)
@given(columns, indexes, labels)
def test_series_round_trip_exactly(values, index, name):
    series = pd.Series(values, index=index, name=name)
    assert frames_identical(series, _round_trip(series))


def test_identical_means_exactly_the_same():
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", None]})
    assert frames_identical(frame, frame.copy())
    for changed in (frame.astype({"a": "float32"}), frame.rename(columns={"b": "c"}), frame.rename_axis("i"),
                    frame.assign(a=[1.0, 2.0]), frame.set_axis([1, 2]), frame.iloc[:, ::-1]):
        assert not frames_identical(frame, changed)
    assert not frames_identical(frame["a"], frame)


@pytest.mark.parametrize("value", [
    pd.Series(pd.to_datetime(["2020-01-01"])),                    # datetimes
    pd.Series(["a", "b"], dtype="category"),                      # categoricals
    pd.Series([1, None], dtype="Int64"),                          # nullable integers
    pd.Series(["a", 1], dtype=object),                            # mixed objects
    pd.Series([1.0], index=pd.MultiIndex.from_tuples([(1, 2)])),  # a MultiIndex
    pd.Series([1.0], name=("a", "b")),                            # a tuple label
    pd.Series([1.0, 2.0], index=pd.Index([0, "a"])),              # mixed labels
    pd.DataFrame({"a": [1]}).set_flags(allows_duplicate_labels=False),
])
def test_what_would_not_rebuild_exactly_is_not_data(value):
    """Each of these would come back different (or not at all): it stays opaque."""
    assert encode_frame(value, Encoder()) is None


def test_subclasses_and_attrs_are_not_data():
    class MyFrame(pd.DataFrame):
        pass

    assert not is_pandas(MyFrame({"a": [1]})) and is_pandas(pd.DataFrame()) and is_pandas(pd.Series(dtype=float))
    frame = pd.DataFrame({"a": [1]})
    frame.attrs["source"] = "x"
    assert encode_frame(frame, Encoder()) is None


def _tree_and_blobs():
    encoder = Encoder()
    tree = encode_frame(pd.DataFrame({"a": [1, 2], "b": ["x", "yz"]}, index=pd.Index([5, 6])), encoder)
    return tree, encoder.blobs


@pytest.mark.parametrize("mutate", [
    lambda t, b: t["data"].pop(),                                   # fewer columns than labels
    lambda t, b: t["data"][0].update(n=3),                          # a column longer than the index
    lambda t, b: t["data"][0].update(d="object"),                   # a dtype off the allow-list
    lambda t, b: t["data"][0].update(b=99),                         # a missing blob
    lambda t, b: t["data"][1].update(dtype={"storage": "evil", "na": "nan"}),
    lambda t, b: t["data"][1].update(dtype="float"),
    lambda t, b: b.__setitem__(t["data"][1]["off"], np.array([0, 1, 4], dtype=np.int64).tobytes()),  # past the end
    lambda t, b: b.__setitem__(t["data"][1]["off"], np.array([0, 2, 1], dtype=np.int64).tobytes()),  # backwards
    lambda t, b: b.__setitem__(t["data"][1]["b"], b"\xff\xfe\xfd"),                                  # not UTF-8
    lambda t, b: b.__setitem__(t["data"][1]["na"], b"\x02\x00"),                                     # not a mask
    lambda t, b: t["index"].update(k="multi"),
    lambda t, b: t["columns"].update(k="range", start=0, stop=2**40, step=1),
    lambda t, b: t["columns"].update(k="range", start=0, stop=2, step=0),
    lambda t, b: t["index"].update(name={"t": "tuple", "v": []}),
    lambda t, b: t.update(index=None),
])
def test_malformed_frames_raise_decode_error(mutate):
    tree, blobs = _tree_and_blobs()
    tree, blobs = copy.deepcopy(tree), list(blobs)
    mutate(tree, blobs)
    with pytest.raises(DecodeError):
        decode_frame(tree, Decoder(blobs), 0)
