"""The SQLite functions behind array expressions (:mod:`lightcurvedb.core.arraysql`).

SQLite stores a :class:`~lightcurvedb.core.types.NumpyArray` as a BLOB of
little-endian values. Each function takes that BLOB and the column's dtype
name (``'float64'``, compiled into the statement) and follows PostgreSQL's
array rules, so the same expression gives the same result on both backends:

``lcdb_array_get(blob, dtype, i)``
    Element ``i`` (from 1) as an SQL number, NULL past either end. SQLite has
    no NaN: a NaN element is NULL inside SQL expressions.
``lcdb_array_item(blob, dtype, i)``
    The same for a selected element, except that a NaN element is returned as
    its 4 or 8 bytes, which :class:`~lightcurvedb.core.arraysql.NumpyScalar`
    reads back as NaN.
``lcdb_array_slice(blob, dtype, a, b)``
    Elements ``a`` to ``b`` (both included, clamped to the array) as a BLOB,
    empty when none are left.
``lcdb_array_any(blob, dtype, op, value)`` / ``lcdb_array_all(...)``
    Whether ``value op element`` holds for some / every element (``op`` one
    of ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``); false / true for an empty
    array, NULL for a NULL array or value. As in PostgreSQL, a NaN element
    equals only NaN and is larger than every number.

NULL in any argument gives NULL, as PostgreSQL does. :func:`register` adds
them to a :mod:`sqlite3` connection; :func:`register_on_pooled_connections`
does so for every SQLite connection any SQLAlchemy pool opens.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["FUNCTIONS", "register", "register_on_pooled_connections"]

_LIMIT = 2**31  # PostgreSQL subscripts are 4-byte integers


@functools.cache
def _wire(name: str) -> np.dtype[Any]:
    return np.dtype(name).newbyteorder("<")


def _position(index: Any) -> int:
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"array subscripts must be integers, got {index!r}")
    if not -_LIMIT <= index < _LIMIT:
        raise OverflowError(f"array subscript {index} is out of the integer range")
    return index


def _element(blob: bytes, name: str, index: Any) -> tuple[Any, int] | None:
    """Element ``index`` (from 1) as a Python value and its byte offset, or None."""
    wire = _wire(name)
    i = _position(index)
    if not 1 <= i <= len(blob) // wire.itemsize:
        return None
    offset = (i - 1) * wire.itemsize
    return np.frombuffer(blob, dtype=wire, count=1, offset=offset)[0].item(), offset


def array_get(blob: bytes | None, name: str, index: Any) -> Any:
    """``col[i]`` inside SQL: the element, or NULL (NaN is NULL too: SQLite has no NaN)."""
    if blob is None or index is None:
        return None
    found = _element(blob, name, index)
    return None if found is None else found[0]


def array_item(blob: bytes | None, name: str, index: Any) -> Any:
    """``col[i]`` selected: like :func:`array_get`, but a NaN comes back as its bytes."""
    if blob is None or index is None:
        return None
    found = _element(blob, name, index)
    if found is None:
        return None
    value, offset = found
    if isinstance(value, float) and value != value:
        return blob[offset:offset + _wire(name).itemsize]
    return value


def array_slice(blob: bytes | None, name: str, lower: Any, upper: Any) -> bytes | None:
    """``col[a:b]``: elements ``a`` to ``b``, both included, clamped to the array."""
    if blob is None or lower is None or upper is None:
        return None
    size = _wire(name).itemsize
    first, last = max(_position(lower), 1), min(_position(upper), len(blob) // size)
    return blob[(first - 1) * size:last * size] if first <= last else b""


def _holds(values: npt.NDArray[Any], op: str, value: Any) -> npt.NDArray[np.bool_]:
    """Where ``value op element`` holds, with PostgreSQL's NaN (larger than any number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"array elements compare with numbers, got {value!r}")
    if values.dtype.kind == "f" and isinstance(value, float):
        other: Any = values.dtype.type(value)  # as PostgreSQL compares a float4 with a real
    else:
        values = values.astype(np.float64 if isinstance(value, float) or values.dtype.kind == "f"
                               else np.int64)
        other = value
    compare: dict[str, Callable[[Any, Any], Any]] = {
        "=": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
        ">": np.greater, ">=": np.greater_equal}
    holds = np.asarray(compare[op](other, values))
    if values.dtype.kind == "f" and op in ("<", "<="):
        holds |= np.isnan(values)  # value < NaN for every number value
    return holds


def _quantified(blob: bytes | None, name: str, op: str, value: Any, every: bool) -> int | None:
    if blob is None:
        return None
    values = np.frombuffer(blob, dtype=_wire(name))
    if values.size == 0:
        return int(every)
    if value is None:
        return None
    holds = _holds(values, op, value)
    return int(holds.all() if every else holds.any())


def array_any(blob: bytes | None, name: str, op: str, value: Any) -> int | None:
    """``value op ANY (col)``: 1 if it holds for some element, 0 if for none."""
    return _quantified(blob, name, op, value, every=False)


def array_all(blob: bytes | None, name: str, op: str, value: Any) -> int | None:
    """``value op ALL (col)``: 1 if it holds for every element, else 0."""
    return _quantified(blob, name, op, value, every=True)


#: Name -> (number of arguments, implementation) of every function :func:`register` adds.
FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "lcdb_array_get": (3, array_get), "lcdb_array_item": (3, array_item),
    "lcdb_array_slice": (4, array_slice), "lcdb_array_any": (4, array_any),
    "lcdb_array_all": (4, array_all)}


def register(connection: sqlite3.Connection) -> None:
    """Add the array functions to a :mod:`sqlite3` connection.

    Parameters
    ----------
    connection : sqlite3.Connection
        The connection; its functions of the same names are replaced.
    """
    for name, (n_args, function) in FUNCTIONS.items():
        connection.create_function(name, n_args, function, deterministic=True)


def _on_pool_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        register(dbapi_connection)


def register_on_pooled_connections() -> None:
    """Register the functions on every :mod:`sqlite3` connection SQLAlchemy opens.

    Listens to the pool ``connect`` event of :class:`sqlalchemy.pool.Pool`, for
    the reason :func:`lightcurvedb.core.pgarray.adapt_pooled_connections` gives:
    array expressions then work on any SQLite engine, made by
    :func:`lightcurvedb.connect` or not. Connections of other drivers are left
    alone. Calling this again does nothing.
    """
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    if not event.contains(Pool, "connect", _on_pool_connect):
        event.listen(Pool, "connect", _on_pool_connect)
