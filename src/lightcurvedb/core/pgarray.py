"""numpy arrays on PostgreSQL's binary wire format (psycopg 3).

PostgreSQL sends and receives a one-dimensional array in binary as a header
(number of dimensions, a has-NULL flag, the element type's OID, then length
and lower bound per dimension) followed by a 4-byte length and the big-endian
value of each element. :func:`encode_array` and :func:`decode_array` convert
between that layout and numpy arrays through structured views of the buffer,
so values never pass through Python lists.

On top of the codec:

* :func:`register_numpy_dumpers` lets a psycopg connection, cursor or
  :data:`psycopg.adapters` send :class:`numpy.ndarray` parameters: one dumper
  registered for ``ndarray`` picks ``bool[]``, ``int2[]``, ``int4[]``,
  ``int8[]``, ``float4[]`` or ``float8[]`` from each array's dtype (psycopg's
  ``get_key``/``upgrade`` protocol), and ``COPY ... set_types`` finds the same
  encoders by array OID.
* :func:`register_numpy_loaders` makes a (binary) cursor return those six array
  types as numpy arrays instead of lists.
* PostgreSQL has no 1-byte and no unsigned integers: int8 and uint8 arrays are
  sent as ``int2[]``, uint16 as ``int4[]`` and uint32 as ``int8[]``
  (:data:`WIDENED`); :func:`decode_array` reads them back into the narrow
  dtype, refusing values outside its range (:func:`narrow`). uint64 has no
  PostgreSQL type that holds all its values and is refused.
* :func:`adapt_pooled_connections` registers the dumper on every psycopg
  connection a SQLAlchemy pool opens; :mod:`lightcurvedb.core.types` calls it,
  which is how :class:`~lightcurvedb.core.types.NumpyArray` binds reach the
  driver as arrays.

psycopg itself is imported only when a dumper or loader is needed.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ARRAY_OIDS", "ELEMENT_OIDS", "PG_ELEMENTS", "WIDENED", "adapt_pooled_connections",
           "array_dumper", "decode_array", "element_for", "encode_array", "narrow",
           "register_numpy_dumpers", "register_numpy_loaders"]

#: numpy dtype -> PostgreSQL element type name of a 1-D array column.
PG_ELEMENTS: dict[np.dtype[Any], str] = {
    np.dtype(np.float64): "float8", np.dtype(np.float32): "float4",
    np.dtype(np.int64): "int8", np.dtype(np.int32): "int4",
    np.dtype(np.int16): "int2", np.dtype(np.bool_): "bool"}

#: Element type name -> its OID (fixed for PostgreSQL's built-in types).
ELEMENT_OIDS: dict[str, int] = {"bool": 16, "int2": 21, "int4": 23, "int8": 20,
                                "float4": 700, "float8": 701}

#: Element type name -> the OID of its array type (``float8`` -> ``float8[]``).
ARRAY_OIDS: dict[str, int] = {"bool": 1000, "int2": 1005, "int4": 1007, "int8": 1016,
                              "float4": 1021, "float8": 1022}

#: numpy integer dtypes without a PostgreSQL type of their own -> the element
#: type that stores them: the narrowest signed integer holding every value.
WIDENED: dict[np.dtype[Any], str] = {
    np.dtype(np.int8): "int2", np.dtype(np.uint8): "int2",
    np.dtype(np.uint16): "int4", np.dtype(np.uint32): "int8"}

_DTYPES: dict[str, np.dtype[Any]] = {element: dtype for dtype, element in PG_ELEMENTS.items()}
_ELEMENT_NAMES: dict[int, str] = {oid: element for element, oid in ELEMENT_OIDS.items()}
_BY_KIND: dict[tuple[str, int], str] = {
    (d.kind, d.itemsize): e for d, e in (*PG_ELEMENTS.items(), *WIDENED.items())}
_HEADER = struct.Struct(">iiI")      # ndim, has-NULL flag, element OID
_DIMENSION = struct.Struct(">ii")    # length, lower bound
_MAX_ELEMENTS = 2**31 - 1


def _wire_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """Return the wire layout of one element: int32 length, big-endian value."""
    return np.dtype([("length", ">i4"), ("value", dtype.newbyteorder(">"))])


def element_for(dtype: npt.DTypeLike) -> str:
    """Return the PostgreSQL element type storing a numpy dtype of any byte order.

    The dtypes of :data:`WIDENED` get the wider type that stores them.

    Raises
    ------
    TypeError
        If the dtype is not bool, (u)int8, (u)int16, (u)int32, int64, float32
        or float64 (uint64 included: no PostgreSQL type holds all its values).
    """
    dt = np.dtype(dtype)
    try:
        return _BY_KIND[(dt.kind, dt.itemsize)]
    except KeyError:
        reason = (" (PostgreSQL has no unsigned 64-bit integer type)"
                  if (dt.kind, dt.itemsize) == ("u", 8) else "")
        raise TypeError(f"no PostgreSQL array type for numpy dtype {dt}{reason}; supported: "
                        f"{', '.join(str(d) for d in (*PG_ELEMENTS, *WIDENED))}") from None


def narrow(values: npt.NDArray[Any], dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """Return integers read from their wider storage type (:data:`WIDENED`) as ``dtype``.

    Raises
    ------
    ValueError
        If a value is outside ``dtype``'s range (the array was not written
        through a column of that dtype, e.g. by hand-written SQL).
    """
    target = np.dtype(dtype)
    if values.dtype == target:
        return values
    info = np.iinfo(target)
    bad = np.flatnonzero((values < info.min) | (values > info.max))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"array element {i} is {values[i]}, outside the range of {target} "
                         f"({info.min} to {info.max})")
    return values.astype(target)


def encode_array(arr: npt.ArrayLike, element: str | None = None) -> bytearray:
    """Encode a 1-D array in PostgreSQL's binary array format.

    Parameters
    ----------
    arr : array_like
        One-dimensional values.
    element : str, optional
        The element type: ``bool``, ``int2``, ``int4``, ``int8``, ``float4`` or
        ``float8``. By default the one storing ``arr``'s dtype
        (:func:`element_for`). Values of another dtype are converted only if no
        value changes.

    Returns
    -------
    bytearray
        The encoded array (what ``array_send`` would produce), filled in place
        from the numpy buffer.

    Raises
    ------
    ValueError
        If ``arr`` is not one-dimensional, has more than 2**31 - 1 elements or
        cannot be converted to ``element`` without losing information.
    TypeError
        If ``element`` is not one of the six element types, or ``arr``'s dtype
        has none (see :func:`element_for`).
    """
    values = np.asarray(arr)
    if values.ndim != 1:
        raise ValueError(f"PostgreSQL arrays from numpy must be 1-D, got shape {values.shape}")
    element = element_for(values.dtype) if element is None else element
    if element not in _DTYPES:
        raise TypeError(f"unknown array element type {element!r}; choose one of "
                        f"{', '.join(_DTYPES)}")
    dtype = _DTYPES[element]
    if values.dtype.kind != dtype.kind or values.dtype.itemsize != dtype.itemsize:
        values = _cast_exactly(values, dtype, element)
    n = values.size
    if n > _MAX_ELEMENTS:
        raise ValueError(f"{n} elements: a PostgreSQL array holds at most {_MAX_ELEMENTS}")
    if n == 0:
        return bytearray(_HEADER.pack(0, 0, ELEMENT_OIDS[element]))
    out = bytearray(_HEADER.size + _DIMENSION.size + n * (4 + dtype.itemsize))
    _HEADER.pack_into(out, 0, 1, 0, ELEMENT_OIDS[element])
    _DIMENSION.pack_into(out, _HEADER.size, n, 1)
    body = np.frombuffer(out, dtype=_wire_dtype(dtype), offset=_HEADER.size + _DIMENSION.size)
    body["length"] = dtype.itemsize
    body["value"] = values
    return out


def _cast_exactly(values: npt.NDArray[Any], dtype: np.dtype[Any], element: str
                  ) -> npt.NDArray[Any]:
    if values.dtype.kind not in "biuf":
        raise ValueError(f"cannot send numpy dtype {values.dtype} as {element}[]")
    with np.errstate(all="ignore"):
        cast = values.astype(dtype)
        if not np.array_equal(cast.astype(values.dtype), values,
                              equal_nan=values.dtype.kind == "f"):
            raise ValueError(f"cannot send numpy dtype {values.dtype} as {element}[] "
                             "without losing information")
    return cast


def decode_array(buffer: Any, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """Decode PostgreSQL's binary form of a 1-D array into a numpy array.

    Parameters
    ----------
    buffer : bytes-like
        The binary array (e.g. a binary-format result value, or the ``bytea``
        returned by ``array_send(column)``).
    dtype : numpy.dtype or str
        The expected dtype, one :func:`element_for` accepts. The array's element
        type must be the one storing it (``int2`` for int8, uint8 and int16).

    Returns
    -------
    numpy.ndarray
        A new native-endian, C-contiguous, writeable 1-D array of ``dtype``;
        empty for an empty PostgreSQL array.

    Raises
    ------
    ValueError
        If the buffer is truncated or has trailing bytes, the array has more than
        one dimension, contains NULL elements, has another element type than
        ``dtype`` calls for, an element's length is not that type's size, or a
        value is outside ``dtype``'s range (see :func:`narrow`).
    """
    wanted = np.dtype(dtype).newbyteorder("=")
    element = element_for(wanted)
    target = _DTYPES[element]
    raw = np.frombuffer(buffer, dtype=np.uint8)
    if raw.size < _HEADER.size:
        raise ValueError(f"binary array truncated: {raw.size} bytes, the header alone "
                         f"takes {_HEADER.size}")
    head = raw[:_HEADER.size + _DIMENSION.size].tobytes()
    ndim, flags, element_oid = _HEADER.unpack_from(head)
    if element_oid != ELEMENT_OIDS[element]:
        found = _ELEMENT_NAMES.get(element_oid, "an unsupported type")
        raise ValueError(f"binary array has element type OID {element_oid} ({found}), "
                         f"not {element} (OID {ELEMENT_OIDS[element]}) as dtype {wanted} "
                         "needs")
    if flags not in (0, 1):
        raise ValueError(f"binary array header has invalid flags {flags} (expected 0 or 1)")
    if ndim == 0:
        if raw.size != _HEADER.size:
            raise ValueError(f"empty binary array followed by {raw.size - _HEADER.size} "
                             "unexpected bytes")
        return np.empty(0, dtype=wanted)
    if ndim != 1:
        raise ValueError(f"binary array has {ndim} dimensions; only 1-D arrays can be read"
                         if ndim > 1 else f"binary array header has invalid ndim {ndim}")
    if flags:
        raise ValueError("binary array contains NULL elements, which a numpy array of "
                         f"{wanted} cannot hold")
    start = _HEADER.size + _DIMENSION.size
    if raw.size < start:
        raise ValueError(f"binary array truncated: {raw.size} bytes, a 1-D header takes "
                         f"{start}")
    n, _lower_bound = _DIMENSION.unpack_from(head, _HEADER.size)
    wire = _wire_dtype(target)
    if n < 0 or raw.size != start + n * wire.itemsize:
        raise ValueError(f"binary array of {n} {element} elements should take "
                         f"{start + n * wire.itemsize} bytes, got {raw.size}")
    body = raw[start:].view(wire)
    lengths = body["length"]
    bad = np.flatnonzero(lengths != target.itemsize)
    if bad.size:
        i = int(bad[0])
        if lengths[i] == -1:
            raise ValueError(f"binary array element {i} is NULL, which a numpy array of "
                             f"{wanted} cannot hold")
        raise ValueError(f"binary array element {i} has length {int(lengths[i])}, expected "
                         f"{target.itemsize} bytes for {element}")
    if target.kind == "b":
        return body["value"].view(np.uint8) != 0
    return narrow(body["value"].astype(target), wanted)


# psycopg adapters ----------------------------------------------------------------

_dumper_cache: dict[np.dtype[Any], type] = {}
_generic_dumper: list[type] = []
_loader_cache: dict[str, type] = {}


def array_dumper(dtype: np.dtype[Any], element: str, context: Any = None) -> type:
    """Return the psycopg binary dumper writing numpy arrays as ``element[]``.

    Parameters
    ----------
    dtype : numpy.dtype
        The dtype matching ``element`` (arrays of other dtypes are converted
        when no value changes).
    element : str
        ``bool``, ``int2``, ``int4``, ``int8``, ``float4`` or ``float8``.
    context : object, optional
        Unused (the built-in types have fixed OIDs); kept for callers that pass
        the cursor.

    Returns
    -------
    dumper : class
        A subclass of ``psycopg.adapt.Dumper`` with the array type's OID.
    """
    key = np.dtype(dtype)
    if key not in _dumper_cache:
        from psycopg.adapt import Dumper
        from psycopg.pq import Format

        def dump(self: Any, obj: Any) -> bytearray:
            return encode_array(obj, element)

        _dumper_cache[key] = type(f"Numpy{element.capitalize()}ArrayDumper", (Dumper,), {
            "format": Format.BINARY, "oid": ARRAY_OIDS[element], "dump": dump,
            "__doc__": f"Send a 1-D numpy array as a binary {element}[]."})
    return _dumper_cache[key]


def _numpy_array_dumper() -> type:
    """Return the dumper registered for :class:`numpy.ndarray` (dispatching on dtype)."""
    if not _generic_dumper:
        from psycopg.adapt import Dumper
        from psycopg.pq import Format

        class NumpyArrayDumper(Dumper):
            """Send a 1-D numpy array as the PostgreSQL array type of its dtype."""

            format = Format.BINARY

            def get_key(self, obj: Any, format: Any) -> Any:
                element = _BY_KIND.get((obj.dtype.kind, obj.dtype.itemsize))
                if element is None:
                    return self.cls
                return array_dumper(_DTYPES[element], element)

            def upgrade(self, obj: Any, format: Any) -> Any:
                element = _BY_KIND.get((obj.dtype.kind, obj.dtype.itemsize))
                if element is None:
                    return self
                return array_dumper(_DTYPES[element], element)(self.cls)

            def dump(self, obj: Any) -> bytearray:
                element_for(obj.dtype)  # raises the TypeError naming the dtype
                raise AssertionError("unreachable")

        _generic_dumper.append(NumpyArrayDumper)
    return _generic_dumper[0]


def register_numpy_dumpers(context: Any) -> None:
    """Let a psycopg context send 1-D numpy arrays as binary PostgreSQL arrays.

    Registers one dumper for :class:`numpy.ndarray` that chooses the array type
    from each value's dtype, and the six per-type encoders by array OID (for
    ``COPY`` after :meth:`psycopg.Copy.set_types`).

    Parameters
    ----------
    context : psycopg.Connection, psycopg.Cursor or psycopg.adapt.AdaptersMap
        Where to register: a connection or cursor (through its ``adapters``), or
        an adapters map such as :data:`psycopg.adapters`.
    """
    adapters = getattr(context, "adapters", context)
    for dtype, element in PG_ELEMENTS.items():
        adapters.register_dumper(None, array_dumper(dtype, element, context))
    adapters.register_dumper(np.ndarray, _numpy_array_dumper())


def register_numpy_loaders(context: Any) -> None:
    """Make binary results of the six array types load as numpy arrays.

    Parameters
    ----------
    context : psycopg.Connection, psycopg.Cursor or psycopg.adapt.AdaptersMap
        Where to register. Only binary-format results are affected (e.g. a
        cursor from ``connection.cursor(binary=True)``); a NULL element in an
        array then raises :class:`ValueError`. Arrays load as the dtype of their
        element type (``int2[]`` as int16): the loaders cannot know that a
        column holds uint8; :func:`narrow` converts.
    """
    adapters = getattr(context, "adapters", context)
    for element, loader in _array_loaders().items():
        adapters.register_loader(ARRAY_OIDS[element], loader)


def _array_loaders() -> dict[str, type]:
    """One binary loader class per element type, made once."""
    if not _loader_cache:
        from psycopg.adapt import Loader
        from psycopg.pq import Format

        for dtype, element in PG_ELEMENTS.items():
            def load(self: Any, data: Any, _dtype: np.dtype[Any] = dtype) -> npt.NDArray[Any]:
                return decode_array(data, _dtype)

            _loader_cache[element] = type(
                f"Numpy{element.capitalize()}ArrayLoader", (Loader,),
                {"format": Format.BINARY, "load": load,
                 "__doc__": f"Load a binary {element}[] as a numpy array."})
    return _loader_cache


def _on_pool_connect(dbapi_connection: Any, connection_record: Any) -> None:
    driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    module = type(driver).__module__
    if (module == "psycopg" or module.startswith("psycopg.")) and hasattr(driver, "adapters"):
        # Only the ndarray dumper: by-OID dumpers would also take over other
        # code's COPY of Python lists into these array types.
        driver.adapters.register_dumper(np.ndarray, _numpy_array_dumper())


def adapt_pooled_connections() -> None:
    """Register the numpy dumper on every psycopg 3 connection SQLAlchemy opens.

    Listens to the pool ``connect`` event of :class:`sqlalchemy.pool.Pool`, so
    it covers every engine -- made by :func:`lightcurvedb.connect`, by
    :func:`sqlalchemy.create_engine` or by Alembic -- and each connection gets
    the dumper when it is opened, before any statement runs. The alternatives
    are worse: registering on :data:`psycopg.adapters` only reaches
    connections opened *after* the registration (psycopg copies the global map
    when connecting), so it would have to happen at import, importing psycopg
    for every user of lightcurvedb; an engine ``connect`` hook in
    :func:`lightcurvedb.connect` would miss engines made elsewhere. Only
    :class:`numpy.ndarray`, which psycopg cannot send otherwise, gains an
    adapter (no dumper is registered by OID, so ``COPY`` of Python lists by
    other code is unchanged); other drivers' connections are left alone.
    Calling this again does nothing.
    """
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    if not event.contains(Pool, "connect", _on_pool_connect):
        event.listen(Pool, "connect", _on_pool_connect)
