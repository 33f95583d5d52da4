"""The raw baselines' own PostgreSQL binary codec, written with numpy alone.

This is what the benchmarks compare lightcurvedb with: the binary ``COPY``
stream built in whole-chunk numpy operations (no per-row Python), and binary
``float8[]`` results decoded with :func:`numpy.frombuffer`. It deliberately
uses nothing from lightcurvedb.

Binary COPY stream: the 11-byte signature ``PGCOPY\\n\\377\\r\\n\\0``, an int32
flags word and an int32 header-extension length, then per row an int16 field
count and per field an int32 byte length (-1 for NULL) and the value in
network byte order, then the int16 trailer -1. A 1-D ``float8[]`` value is an
int32 ndim (1), an int32 has-NULL flag (0), the element OID (701), the int32
length and lower bound (1), then per element an int32 length (8) and the
big-endian double.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
TRAILER = b"\xff\xff"
FLOAT8_OID = 701

#: numpy dtype of one scalar column -> big-endian wire dtype.
_WIRE = {np.dtype(np.int64): ">i8", np.dtype(np.int32): ">i4", np.dtype(np.int16): ">i2",
         np.dtype(np.float64): ">f8", np.dtype(np.float32): ">f4"}


def array_rows_dtype(scalar_dtypes: Sequence[np.dtype[Any]], n_arrays: int, points: int
                     ) -> np.dtype[Any]:
    """The packed record of one row: integer scalar columns, then float8[] columns."""
    fields: list[tuple[Any, ...]] = [("nfields", ">i2")]
    for j, dtype in enumerate(scalar_dtypes):
        fields += [(f"s{j}_len", ">i4"), (f"s{j}", _WIRE[np.dtype(dtype)])]
    element = np.dtype([("len", ">i4"), ("value", ">f8")])
    for k in range(n_arrays):
        fields += [(f"a{k}_len", ">i4"), (f"a{k}_head", ">i4", (5,)),
                   (f"a{k}", element, (points,))]
    return np.dtype(fields)


def encode_array_rows(scalars: Sequence[np.ndarray], arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Encode rows of integer scalars and equal-length float8[] arrays as COPY records.

    ``scalars`` are 1-D int16/int32/int64 arrays (one value per row, sent as
    int2/int4/int8 by their dtype); ``arrays`` are 2-D float64 arrays of shape
    (rows, points). Returns a structured array whose bytes are the rows of the
    binary COPY stream (without signature/trailer).
    """
    rows, points = arrays[0].shape
    record = np.empty(rows, dtype=array_rows_dtype([s.dtype for s in scalars], len(arrays),
                                                   points))
    record["nfields"] = len(scalars) + len(arrays)
    for j, values in enumerate(scalars):
        record[f"s{j}_len"] = values.dtype.itemsize
        record[f"s{j}"] = values
    for k, values in enumerate(arrays):
        record[f"a{k}_len"] = 20 + 12 * points
        record[f"a{k}_head"] = (1, 0, FLOAT8_OID, points, 1)
        # A ready big-endian array: numpy's scalar broadcast into a byte-swapped
        # strided field is ~15x slower than this plain copy.
        record[f"a{k}"]["len"] = np.full(points, 8, dtype=">i4")
        record[f"a{k}"]["value"] = values
    return record


def encode_scalar_rows(columns: Sequence[np.ndarray], text: np.ndarray) -> np.ndarray:
    """Encode rows of numeric columns followed by one text column as COPY bytes.

    ``columns`` are 1-D numeric arrays (int16/32/64, float32/64); ``text`` a
    numpy unicode array. Returns a uint8 array holding the rows. Each row is
    laid out as a packed record followed by its UTF-8 text padded to the
    longest; a boolean mask then drops the padding -- whole-array operations,
    no per-row Python.
    """
    rows = len(text)
    fields: list[tuple[str, str]] = [("nfields", ">i2")]
    for j, values in enumerate(columns):
        fields += [(f"c{j}_len", ">i4"), (f"c{j}", _WIRE[values.dtype])]
    fields.append(("text_len", ">i4"))
    fixed = np.empty(rows, dtype=np.dtype(fields))
    fixed["nfields"] = np.full(rows, len(columns) + 1, dtype=">i2")
    for j, values in enumerate(columns):
        fixed[f"c{j}_len"] = np.full(rows, values.dtype.itemsize, dtype=">i4")
        fixed[f"c{j}"] = values
    codes = np.ascontiguousarray(text).view(np.uint32).reshape(rows, -1)
    if codes.size and codes.max() < 128:  # ASCII: one byte per code point, no Python
        encoded, width = codes.astype(np.uint8), codes.shape[1]
        lengths = np.count_nonzero(codes, axis=1)
    else:
        as_bytes = np.char.encode(text, "utf-8")  # fixed-width, NUL-padded
        width = as_bytes.dtype.itemsize
        encoded = as_bytes.view(np.uint8).reshape(rows, width)
        lengths = np.char.str_len(as_bytes)
    size = fixed.dtype.itemsize
    fixed["text_len"] = lengths
    padded = np.empty((rows, size + width), dtype=np.uint8)
    padded[:, :size] = fixed.view(np.uint8).reshape(rows, size)
    padded[:, size:] = encoded
    # Drop each row's padding: keep its first size + length bytes, rows in order.
    return padded[np.arange(size + width) < (size + lengths)[:, None]]


def decode_float8_array(data: Any) -> np.ndarray:
    """Decode one binary ``float8[]`` value into a native float64 array."""
    ndim, flags, oid = np.frombuffer(data, dtype=">i4", count=3)
    if oid != FLOAT8_OID or flags:
        raise ValueError(f"not a NULL-free float8[] (oid {oid}, flags {flags})")
    if ndim == 0:
        return np.empty(0, dtype=np.float64)
    points = int(np.frombuffer(data, dtype=">i4", count=1, offset=12)[0])
    body = np.frombuffer(data, dtype=[("len", ">i4"), ("value", ">f8")], count=points,
                         offset=20)
    return body["value"].astype(np.float64)


def register_raw_float8_loader(cursor: Any) -> None:
    """Make ``cursor`` (binary) return ``float8[]`` values through :func:`decode_float8_array`."""
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    class RawFloat8ArrayLoader(Loader):
        format = Format.BINARY

        def load(self, data: Any) -> np.ndarray:
            return decode_float8_array(data)

    cursor.adapters.register_loader(1022, RawFloat8ArrayLoader)  # float8[]
