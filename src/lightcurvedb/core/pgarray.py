"""numpy arrays on PostgreSQL's binary wire format (psycopg 3).

PostgreSQL sends and receives a 1-D array in binary as a 20-byte header
(dimensions, null flag, element OID, length, lower bound) followed by one
4-byte length and the big-endian value per element. This module encodes and
decodes that layout straight from numpy buffers, so arrays never pass through
Python lists.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

__all__ = ["PG_ELEMENTS", "register_numpy_dumpers"]

#: numpy dtype -> PostgreSQL element type name of a 1-D array column.
PG_ELEMENTS: dict[np.dtype[Any], str] = {
    np.dtype(np.float64): "float8", np.dtype(np.float32): "float4",
    np.dtype(np.int64): "int8", np.dtype(np.int32): "int4",
    np.dtype(np.int16): "int2", np.dtype(np.bool_): "bool"}


def register_numpy_dumpers(context: Any) -> None:
    """Let a psycopg connection or cursor send 1-D numpy arrays as binary arrays."""
    for dtype, element in PG_ELEMENTS.items():
        context.adapters.register_dumper(np.ndarray, array_dumper(dtype, element, context))


_dumper_cache: dict[np.dtype, type] = {}


def array_dumper(dtype: np.dtype, element: str, cursor: Any) -> type:
    """Make a psycopg binary dumper writing 1-D ``dtype`` arrays as ``element[]``."""
    if dtype in _dumper_cache:
        return _dumper_cache[dtype]
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    info = cursor.adapters.types.get(element)
    element_oid, array_oid = info.oid, info.array_oid
    wire = np.dtype([("length", ">i4"), ("value", dtype.newbyteorder(">"))])

    def dump(self: Any, obj: Any) -> bytes:
        arr = np.asarray(obj, dtype=dtype)
        if arr.ndim != 1:
            raise ValueError(f"expected a 1-D array, got shape {arr.shape}")
        if arr.size == 0:
            return struct.pack(">iiI", 0, 0, element_oid)
        body = np.empty(arr.size, dtype=wire)
        body["length"] = dtype.itemsize
        body["value"] = arr
        return struct.pack(">iiIii", 1, 0, element_oid, arr.size, 1) + body.tobytes()

    dumper = type(f"Numpy{element.capitalize()}ArrayDumper", (Dumper,),
                  {"format": Format.BINARY, "oid": array_oid, "dump": dump})
    _dumper_cache[dtype] = dumper
    return dumper

