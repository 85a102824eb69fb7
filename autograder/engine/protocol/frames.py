"""pandas ``DataFrame`` and ``Series`` values in the sandbox-judge data format (an extension of
:mod:`codec`).

A frame travels as its row index, its column labels and one column per label; a series as its
index, its name and one column::

    {"t": "ext", "k": "frame", "index": I, "columns": I, "data": [C, ...]}
    {"t": "ext", "k": "series", "index": I, "name": label, "data": C}
    I = {"k": "range", "start": int, "stop": int, "step": int, "name": label}   a RangeIndex
      | {"k": "index", "data": C, "name": label}                                any other flat Index
    C = {"k": "num", "d": numpy dtype name, "n": rows, "b": blob}          numeric or bool values
      | {"k": "text", "n": rows, "off": blob, "b": blob, "na": blob, "dtype": D}   strings
    D = "object" | {"storage": "python" | "pyarrow", "na": "nan" | "NA"}   object or pandas StringDtype
    label = None | int | {"t": "str", "v": str}

Strings travel as UTF-8 bytes with int64 offsets and a missing-value mask, never one JSON node
per cell. Only what rebuilds *exactly* is data: an exact ``DataFrame``/``Series`` (no subclass),
no ``attrs``, a flat index (no ``MultiIndex``), columns of a numeric or bool numpy dtype, object
columns of ``str`` (missing: ``None``) and ``StringDtype`` columns. Anything else (datetimes,
categoricals, nullable integers, mixed objects, ...) is not data: :func:`encode_frame` returns
None and the value stays opaque, which hands the submission to otter's own grading. Decoding
imports pandas on first use only and validates every field (:class:`DecodeError`).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from autograder.engine.protocol.codec import MAX_STRING, NUMPY_DTYPES, DecodeError, Decoder, Encoder, _string

KINDS = ("frame", "series")
_STORAGES = ("python", "pyarrow")


def is_pandas(value: Any) -> bool:
    """True for an exact pandas DataFrame or Series (pandas already imported by its owner)."""
    pd = sys.modules.get("pandas")
    return pd is not None and type(value) in (getattr(pd, "DataFrame", None), getattr(pd, "Series", None))


def frames_identical(a: Any, b: Any) -> bool:
    """Same type, index, labels, dtypes and values (NaN equal to NaN), exactly."""
    import pandas as pd

    if type(a) is not type(b):
        return False
    strict = dict(check_exact=True, check_index_type=True, check_names=True, check_flags=True)
    try:
        if type(a) is pd.Series:
            pd.testing.assert_series_equal(a, b, **strict)
        else:
            pd.testing.assert_frame_equal(a, b, check_column_type=True, **strict)
    except AssertionError:
        return False
    return True


# -------------------------------------------------------------------------------------------------
# Encoding
# -------------------------------------------------------------------------------------------------


class _NotData(Exception):
    pass


def encode_frame(value: Any, encoder: Encoder) -> dict | None:
    """The tree of a DataFrame or Series that rebuilds exactly, else None (not data)."""
    import pandas as pd

    try:
        if value.attrs or not value.flags.allows_duplicate_labels:
            raise _NotData
        index = _encode_index(value.index, encoder)
        if type(value) is pd.Series:
            return {"t": "ext", "k": "series", "index": index, "name": _encode_label(value.name, encoder),
                    "data": _encode_column(value, encoder)}
        return {"t": "ext", "k": "frame", "index": index, "columns": _encode_index(value.columns, encoder),
                "data": [_encode_column(value.iloc[:, j], encoder) for j in range(value.shape[1])]}
    except _NotData:
        return None


def _encode_label(label: Any, encoder: Encoder) -> Any:
    if label is None or type(label) is int:
        return label
    if type(label) is str and len(label) <= MAX_STRING:
        return encoder.encode(label)
    raise _NotData


def _encode_index(index: Any, encoder: Encoder) -> dict:
    import pandas as pd

    name = _encode_label(index.name, encoder)
    if type(index) is pd.RangeIndex:
        return {"k": "range", "start": int(index.start), "stop": int(index.stop), "step": int(index.step),
                "name": name}
    if type(index) is not pd.Index:
        raise _NotData
    return {"k": "index", "data": _encode_column(index, encoder), "name": name}


def _encode_column(column: Any, encoder: Encoder) -> dict:
    """Numeric/bool numpy values as one blob; text (object of str, or StringDtype) as UTF-8."""
    import pandas as pd

    dtype = column.dtype
    rows = len(column)
    if isinstance(dtype, np.dtype) and dtype.name in NUMPY_DTYPES:
        values = np.ascontiguousarray(column.to_numpy(copy=True))
        return {"k": "num", "d": dtype.name, "n": rows, "b": encoder.blob(values.tobytes())}
    if isinstance(dtype, pd.StringDtype) and dtype.storage in _STORAGES:
        na = "nan" if dtype.na_value is np.nan else "NA" if dtype.na_value is pd.NA else None
        if na is None:
            raise _NotData
        kind: Any = {"storage": dtype.storage, "na": na}
        missing = np.asarray(column.isna(), dtype=bool)
        texts = ["" if m else v for v, m in zip(column.tolist(), missing)]
    elif isinstance(dtype, np.dtype) and dtype == object:
        items = list(column)
        if not all(v is None or type(v) is str for v in items):
            raise _NotData
        kind = "object"
        missing = np.array([v is None for v in items], dtype=bool)
        texts = ["" if v is None else v for v in items]
    else:
        raise _NotData
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return {"k": "text", "n": rows, "off": encoder.blob(offsets.tobytes()), "b": encoder.blob(b"".join(encoded)),
            "na": encoder.blob(missing.tobytes()), "dtype": kind}


# -------------------------------------------------------------------------------------------------
# Decoding (validating)
# -------------------------------------------------------------------------------------------------


def decode_frame(tree: dict, decoder: Decoder, depth: int) -> Any:
    """A DataFrame or Series from its tree (the caller checked ``tree["k"]`` is in :data:`KINDS`)."""
    import pandas as pd

    index = _decode_index(tree.get("index"), decoder)
    rows = len(index)
    if tree.get("k") == "series":
        values = _decode_column(tree.get("data"), decoder, rows)
        return pd.Series(values, index=index, dtype=values.dtype, name=_decode_label(tree.get("name"), decoder),
                         copy=False)
    columns = _decode_index(tree.get("columns"), decoder)
    data = tree.get("data")
    if type(data) is not list or len(data) != len(columns):
        raise DecodeError("bad frame")
    arrays = [_decode_column(c, decoder, rows) for c in data]
    frame = pd.DataFrame({j: pd.Series(a, index=index, dtype=a.dtype, copy=False) for j, a in enumerate(arrays)},
                         index=index)
    frame.columns = columns
    return frame


def _decode_label(tree: Any, decoder: Decoder) -> Any:
    if tree is None or type(tree) is int:
        return tree
    if type(tree) is dict and tree.get("t") == "str":
        return _string(tree.get("v"))
    raise DecodeError("bad label")


def _integer(value: Any) -> int:
    if type(value) is not int or abs(value) > 2**62:
        raise DecodeError("bad integer")
    return value


def _decode_index(tree: Any, decoder: Decoder) -> Any:
    import pandas as pd

    decoder._count()
    if type(tree) is not dict:
        raise DecodeError("bad index")
    name = _decode_label(tree.get("name"), decoder)
    if tree.get("k") == "range":
        start, stop, step = (_integer(tree.get(k)) for k in ("start", "stop", "step"))
        if step == 0 or len(range(start, stop, step)) > 2**31:
            raise DecodeError("bad range index")
        return pd.RangeIndex(start, stop, step, name=name)
    if tree.get("k") == "index":
        column = tree.get("data")
        rows = column.get("n") if type(column) is dict else None
        values = _decode_column(column, decoder, _integer(rows))
        return pd.Index(values, dtype=values.dtype, name=name, copy=False)
    raise DecodeError("bad index")


def _decode_column(tree: Any, decoder: Decoder, rows: int) -> Any:
    import pandas as pd

    decoder._count()  # a column is one value of the message's MAX_NODES
    if type(tree) is not dict or tree.get("n") != rows:
        raise DecodeError("bad column")
    if tree.get("k") == "num":
        dtype = NUMPY_DTYPES.get(tree.get("d"))
        data = decoder.blob(tree.get("b"))
        if dtype is None or len(data) != rows * dtype.itemsize:
            raise DecodeError("bad numeric column")
        return np.frombuffer(data, dtype=dtype).copy()
    if tree.get("k") != "text":
        raise DecodeError("bad column")
    offsets = decoder.blob(tree.get("off"))
    text, missing = decoder.blob(tree.get("b")), decoder.blob(tree.get("na"))
    if len(offsets) != 8 * (rows + 1) or len(missing) != rows:
        raise DecodeError("bad text column")
    bounds = np.frombuffer(offsets, dtype=np.int64)
    mask = np.frombuffer(missing, dtype=np.uint8)
    if bounds[0] != 0 or bounds[-1] != len(text) or np.any(np.diff(bounds) < 0) or np.any(mask > 1):
        raise DecodeError("bad text column")
    try:
        texts = [None if m else text[a:b].decode("utf-8", "surrogatepass")
                 for a, b, m in zip(bounds[:-1].tolist(), bounds[1:].tolist(), mask.tolist())]
    except UnicodeDecodeError as exc:
        raise DecodeError("bad text column") from exc
    kind = tree.get("dtype")
    if kind == "object":
        values = np.empty(rows, dtype=object)
        values[:] = texts
        return values
    if type(kind) is not dict or kind.get("storage") not in _STORAGES or kind.get("na") not in ("nan", "NA"):
        raise DecodeError("bad text dtype")
    na_value = np.nan if kind["na"] == "nan" else pd.NA
    try:
        dtype = pd.StringDtype(storage=kind["storage"], na_value=na_value)
    except ImportError as exc:  # pyarrow storage where pyarrow is not installed
        raise DecodeError("text storage not available") from exc
    return pd.array([na_value if t is None else t for t in texts], dtype=dtype)
