r"""PostgreSQL's binary ``COPY`` stream for scalar columns, encoded a chunk at a time with numpy.

The stream is the 11-byte signature ``PGCOPY\n\377\r\n\0``, an int32 flags
word (0) and an int32 header-extension length (0); then per row an int16 field
count and per field an int32 byte length (-1 for NULL) followed by the value
in network byte order; then the int16 trailer -1. Each type's value bytes are
those of its binary ``send``/``recv`` functions: big-endian integers and IEEE
floats, one byte for ``bool``, UTF-8 for ``text``/``varchar``.

:func:`encode_rows` builds the rows of a whole block in whole-array numpy
operations (no per-row Python): each row becomes a packed record whose
variable-width fields (text, NULLs) are padded to the block's widest value,
and a boolean mask then drops the padding. Columns it cannot encode exactly as
psycopg's own ``Copy.write_row`` would (other types, mixed Python types,
out-of-range integers) make :func:`encode_column` return None, and the caller
falls back to psycopg for that chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["SIGNATURE", "TRAILER", "EncodedColumn", "column_array", "encodable_type",
           "encode_column", "encode_rows"]

#: Signature, flags word and header-extension length: the start of every stream.
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
#: The int16 -1 that ends a stream.
TRAILER = b"\xff\xff"

#: psycopg type name -> big-endian wire dtype of the fixed-width types.
_FIXED: dict[str, np.dtype[Any]] = {
    "int2": np.dtype(">i2"), "int4": np.dtype(">i4"), "int8": np.dtype(">i8"),
    "float4": np.dtype(">f4"), "float8": np.dtype(">f8"), "bool": np.dtype("?")}
_TEXT = frozenset({"text", "varchar"})
#: Bytes per value of each type, for sizing blocks (text: a guess).
WIDTH_GUESS = {name: dtype.itemsize for name, dtype in _FIXED.items()}
#: Python types psycopg dumps as each kind of column (bool is an int subclass:
#: psycopg dumps it as an integer too, but we leave that to psycopg).
_PY_TYPES = {"i": (int,), "f": (float, int), "b": (bool,), "U": (str,)}


def encodable_type(type_name: str) -> bool:
    """Whether :func:`encode_column` handles columns sent as ``type_name``."""
    return type_name in _FIXED or type_name in _TEXT


@dataclass
class EncodedColumn:
    """One column of a block as wire bytes.

    ``payload[i]`` holds row ``i``'s value bytes, left-aligned and padded to
    the block's widest value; ``lengths`` the byte lengths (-1 for NULL), or
    None when every row's value is exactly ``payload.shape[1]`` bytes.
    """

    payload: npt.NDArray[np.uint8]
    lengths: npt.NDArray[np.int32] | None


def encode_column(values: Any, mask: npt.NDArray[np.bool_] | None, type_name: str
                  ) -> EncodedColumn | None:
    """Encode one column's values (ndarray or list) for ``type_name``, or return None.

    ``mask`` marks NULLs of an array column (lists carry None instead). None
    comes back when the values are not exactly what psycopg would send
    unchanged: then the caller uses psycopg's own row-by-row path.
    """
    kind = "U" if type_name in _TEXT else _FIXED[type_name].kind
    try:
        if not isinstance(values, np.ndarray):
            values, mask = _from_list(values, kind)
            if values is None:
                return None
        if values.ndim != 1:
            return None
        if kind == "U":
            return _encode_text(values, mask)
        return _encode_fixed(values, mask, _FIXED[type_name])
    except (UnicodeError, ValueError, TypeError, OverflowError):
        return None


def column_array(values: Sequence[Any], type_name: str, types: set[type] | None = None
                 ) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_] | None] | None:
    """Return a list column as an array and its NULL mask (None if no NULLs), or None.

    None when the values are not all of the Python type(s) psycopg sends as
    ``type_name`` as they are. ``types`` is ``set(map(type, values))``, if known.
    """
    kind = "U" if type_name in _TEXT else _FIXED[type_name].kind
    try:
        array, mask = _from_list(values, kind, types)
    except (ValueError, TypeError, OverflowError):
        return None
    return None if array is None else (array, mask)


def _from_list(values: Sequence[Any], kind: str, types: set[type] | None = None
               ) -> tuple[npt.NDArray[Any] | None, npt.NDArray[np.bool_] | None]:
    """Turn a list of Python values of one expected type (and None) into an array."""
    allowed = _PY_TYPES[kind]
    types = set(map(type, values)) if types is None else set(types)
    mask = None
    if type(None) in types:
        types.discard(type(None))
        mask = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        filler: Any = {"U": "", "b": False, "i": 0, "f": 0.0}[kind]
        values = [filler if v is None else v for v in values]
    if not types <= set(allowed):
        return None, None
    if kind == "i":
        if values and (min(values) < -2**63 or max(values) >= 2**63):
            return None, None
        return np.array(values, dtype=np.int64), mask
    if kind == "U":
        longest = max(map(len, values), default=0)
        # numpy drops trailing NULs; a padded array far bigger than the text is no gain
        if "\x00" in "".join(values) or longest * len(values) > 64 * 2**20 // 4:
            return None, None
    # Python ints become doubles as float(v) does (too big: OverflowError, caught)
    dtype = {"U": np.str_, "b": np.bool_, "f": np.float64}[kind]
    return np.array(values, dtype=dtype), mask


def _encode_fixed(values: npt.NDArray[Any], mask: npt.NDArray[np.bool_] | None,
                  wire: np.dtype[Any]) -> EncodedColumn | None:
    kind = values.dtype.kind
    if wire.kind == "b":
        if kind != "b":
            return None
    elif wire.kind == "i":
        if kind not in "iu":
            return None
        if not np.can_cast(values.dtype, wire, "safe"):
            info = np.iinfo(wire)
            checked = values if mask is None else values[~mask]
            if checked.size and (checked.min() < info.min or checked.max() > info.max):
                return None
    elif kind not in "iuf":
        return None
    if wire.kind == "f" and kind in "iu":
        values = values.astype(np.float64)  # psycopg: float(v), then packed (rounded once more)
    with np.errstate(over="ignore"):
        wire_values = values.astype(wire)
    if wire.kind == "f" and wire.itemsize < values.dtype.itemsize:
        overflow = np.isinf(wire_values) & ~np.isinf(values)  # struct.pack(">f") refuses
        if mask is not None:
            overflow &= ~mask
        if overflow.any():
            return None
    payload = wire_values.view(np.uint8).reshape(len(values), wire.itemsize)
    lengths = None
    if mask is not None and mask.any():
        lengths = np.where(mask, np.int32(-1), np.int32(wire.itemsize))
    return EncodedColumn(payload, lengths)


def _encode_text(values: npt.NDArray[Any], mask: npt.NDArray[np.bool_] | None
                 ) -> EncodedColumn | None:
    if values.dtype.kind != "U":
        return None
    if not values.dtype.isnative:  # big-endian UCS-4 (e.g. from FITS): code points swapped
        values = values.astype(values.dtype.newbyteorder("="))
    n = len(values)
    if values.dtype.itemsize == 0 or n == 0:
        payload = np.zeros((n, 0), dtype=np.uint8)
        lengths = np.zeros(n, dtype=np.int32)
    else:
        codes = np.ascontiguousarray(values).view(np.uint32).reshape(n, -1)
        if codes.max() < 128:  # ASCII: one byte per code point
            payload = codes.astype(np.uint8)
            lengths = np.strings.str_len(values).astype(np.int32)
        else:
            encoded = np.strings.encode(values, "utf-8")  # NUL-padded bytes
            payload = encoded.view(np.uint8).reshape(n, encoded.dtype.itemsize)
            lengths = np.strings.str_len(encoded).astype(np.int32)
    if mask is not None and mask.any():
        lengths[mask] = -1
    return EncodedColumn(payload, lengths)


def encode_rows(columns: Sequence[EncodedColumn], n: int) -> npt.NDArray[np.uint8]:
    """Return the binary ``COPY`` bytes of ``n`` rows (no signature, no trailer)."""
    fields: list[tuple[Any, ...]] = [("n", ">i2")]
    for k, column in enumerate(columns):
        fields += [(f"l{k}", ">i4"), (f"v{k}", np.uint8, (column.payload.shape[1],))]
    record = np.empty(n, dtype=np.dtype(fields))
    record["n"] = np.full(n, len(columns), dtype=">i2")
    variable = False
    for k, column in enumerate(columns):
        width = column.payload.shape[1]
        if column.lengths is None:
            record[f"l{k}"] = np.full(n, width, dtype=">i4")
        else:
            record[f"l{k}"] = column.lengths
            variable = True
        if width:
            record[f"v{k}"] = column.payload
    rows = record.view(np.uint8).reshape(n, record.dtype.itemsize)
    if not variable:
        return rows.reshape(-1)
    keep = np.ones(rows.shape, dtype=bool)
    offset = 2
    for column in columns:
        width = column.payload.shape[1]
        offset += 4
        if column.lengths is not None:
            used = np.maximum(column.lengths, 0)
            keep[:, offset:offset + width] = np.arange(width) < used[:, None]
        offset += width
    return rows[keep]
