"""Portable column types: numpy arrays, filesystem paths and UTC timestamps.

:class:`PathType` is defined in :mod:`lightcurvedb.core.pathtype` (with the rule
it stores paths by) and importable from here.

Every dialect difference of lightcurvedb's custom types lives here, inside the
types themselves (``load_dialect_impl``), so models never branch on the backend.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import types
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from lightcurvedb.core import arraysql, pgarray, pgresults, sqlitearrays
from lightcurvedb.core.extensions import postgis_footprints
from lightcurvedb.core.pathtype import PathType as PathType  # re-exported: defined there

__all__ = ["NUMPY_DTYPES", "ArrayValidationError", "IntegerBool", "NumpyArray",
           "SkyPolygonType", "UTCDateTime", "UnixTimestamp", "coerce_array"]

#: The dtypes of :class:`NumpyArray` columns.
NUMPY_DTYPES: tuple[np.dtype, ...] = tuple(np.dtype(t) for t in (
    np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
    np.float32, np.float64))

# psycopg 3 connections opened by any SQLAlchemy pool can send ndarray parameters
# (why a pool hook: see pgarray.adapt_pooled_connections).
pgarray.adapt_pooled_connections()
# ... and read results that carry arrays in binary format (see core.pgresults).
pgresults.binary_array_results()
# SQLite connections get the functions behind array expressions (core.arraysql).
sqlitearrays.register_on_pooled_connections()


class ArrayValidationError(ValueError):
    """An array value cannot be stored in a :class:`NumpyArray` column without loss."""


def coerce_array(value: Any, dtype: npt.DTypeLike, *, finite: bool = False, what: str = "array"
                 ) -> npt.NDArray[Any]:
    """Convert ``value`` to a 1-D array of ``dtype``, refusing anything lossy.

    Parameters
    ----------
    value : array_like
        A sequence or array of numbers.
    dtype : numpy.dtype or str
        The column's declared dtype.
    finite : bool, optional
        If true, NaN and infinities are refused.
    what : str, optional
        How to name the value in error messages, e.g. ``"DataSet.values"``.

    Returns
    -------
    numpy.ndarray
        A 1-D, C-contiguous array of exactly ``dtype`` (a view of ``value`` when
        no conversion was needed).

    Raises
    ------
    ArrayValidationError
        If the input is ragged, not one-dimensional, not numeric, would lose
        information when cast (e.g. float to int, int64 to int16, complex to
        float), or contains non-finite values where ``finite`` is set.
    """
    target = np.dtype(dtype)
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # numpy >= 1.24 refuses ragged nested sequences
        raise ArrayValidationError(
            f"{what}: ragged input cannot form a 1-D array ({exc})") from None
    if arr.dtype == object:
        raise ArrayValidationError(f"{what}: expected numbers of dtype {target}, got Python "
                                   "objects (ragged or mixed input?)")
    if arr.ndim != 1:
        raise ArrayValidationError(f"{what}: expected a 1-D array, got shape {arr.shape}")
    if arr.dtype != target:
        arr = _cast_losslessly(arr, target, what)
    if finite and target.kind == "f" and not np.isfinite(arr).all():
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ArrayValidationError(f"{what}: {bad} non-finite value(s) in a column that forbids "
                                   "NaN/inf")
    return np.ascontiguousarray(arr)


def _cast_losslessly(arr: npt.NDArray[Any], target: np.dtype, what: str) -> npt.NDArray[Any]:
    """Cast ``arr`` to ``target`` only if casting back gives the same values."""
    refuse = ArrayValidationError(
        f"{what}: cannot store dtype {arr.dtype} in a {target} column without losing information")
    if arr.dtype.kind not in "biuf":
        raise refuse
    if arr.size == 0:
        return arr.astype(target)
    with np.errstate(all="ignore"):
        cast = arr.astype(target)
        if not np.array_equal(cast.astype(arr.dtype), arr, equal_nan=arr.dtype.kind == "f"):
            raise refuse
    return cast


class NumpyArray(types.TypeDecorator[npt.NDArray[Any]]):
    """A one-dimensional numpy array of a fixed dtype.

    Stored as a native ``ARRAY`` on PostgreSQL and as raw little-endian bytes in
    a ``BLOB`` elsewhere (SQLite). Values read back are always new, writeable
    :class:`numpy.ndarray` of the declared dtype. In SQL expressions the column
    can be indexed (``col[1]``, from 1), sliced (``col[2:5]``, both ends
    included), measured (``col.length()``) and searched (``x == any_(col)``) on
    both backends: see :mod:`lightcurvedb.core.arraysql`.

    No value passes through a Python list on the way in or out with the psycopg
    3 driver: bound arrays go to the driver as ndarrays, which the binary dumper
    of :mod:`lightcurvedb.core.pgarray` encodes from the numpy buffer (the
    dumper is registered on every pooled psycopg connection, see
    :func:`~lightcurvedb.core.pgarray.adapt_pooled_connections`). Selected
    columns render as ``array_send(column)`` on PostgreSQL, so whatever the
    driver, the array arrives as the bytes of PostgreSQL's binary array format
    and :func:`~lightcurvedb.core.pgarray.decode_array` turns them into the
    array. With psycopg2 bound values still go as ``ndarray.tolist()``. On
    SQLite the bytes are read with :func:`numpy.frombuffer`. See
    :doc:`/reading_arrays`.

    Parameters
    ----------
    dtype : numpy.dtype or str
        One of bool, int8, uint8, int16, uint16, int32, uint32, int64, float32,
        float64. PostgreSQL has no 1-byte or unsigned integers: int8 and uint8
        are stored as ``smallint[]``, uint16 as ``integer[]``, uint32 as
        ``bigint[]``, and values read back are checked against the dtype's
        range. uint64 is refused: no PostgreSQL type holds all its values.
    finite : bool, optional
        Refuse NaN and infinities (float dtypes only).

    Notes
    -----
    The ORM does not see in-place changes to an array (``lc.values[3] = 0``);
    assign a new array (``lc.values = new``) or call
    :func:`sqlalchemy.orm.attributes.flag_modified`.
    """

    impl = types.LargeBinary
    cache_ok = True
    comparator_factory = arraysql.ArrayComparator

    def __init__(self, dtype: npt.DTypeLike, *, finite: bool = False) -> None:
        super().__init__()
        self.dtype = np.dtype(dtype)
        if self.dtype not in NUMPY_DTYPES:
            reason = (": PostgreSQL has no unsigned 64-bit integer type (use int64 if the "
                      "values stay below 2**63)" if self.dtype == np.uint64 else "")
            raise TypeError(f"NumpyArray does not support dtype {self.dtype}{reason}; choose "
                            f"one of {', '.join(str(d) for d in NUMPY_DTYPES)}")
        self.finite = finite
        self._wire_dtype = self.dtype.newbyteorder("<")

    def __repr__(self) -> str:
        finite = ", finite=True" if self.finite else ""
        return f"NumpyArray({str(self.dtype)!r}{finite})"

    def load_dialect_impl(self, dialect: Dialect) -> types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            element = arraysql.pg_element_type(self.dtype)
            return dialect.type_descriptor(postgresql.ARRAY(element, dimensions=1))
        return dialect.type_descriptor(types.LargeBinary())

    def coerce(self, value: Any, what: str = "array") -> npt.NDArray[Any]:
        """Validate and convert ``value`` for this column (see :func:`coerce_array`)."""
        return coerce_array(value, self.dtype, finite=self.finite, what=what)

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        """Bind a number compared with the elements (``x == any_(col)``) as an element."""
        if np.ndim(value) == 0 and not isinstance(value, (str, bytes)):
            return arraysql.NumpyScalar(self.dtype).coerce_compared_value(op, value)
        return self

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        # Drivers other than psycopg 3 (psycopg2, literal rendering) get lists on
        # PostgreSQL; bind_processor() sends ndarrays to psycopg 3.
        if value is None:
            return None
        arr = self.coerce(value, what=f"{self!r} value")
        if dialect.name == "postgresql":
            return arr.tolist()
        # The little-endian array itself: the BLOB bind takes its buffer, no copy.
        return np.ascontiguousarray(arr.astype(self._wire_dtype, copy=False))

    def bind_processor(self, dialect: Dialect) -> Any:
        """Send validated ndarrays to psycopg 3, bypassing ``ARRAY``'s conversion to lists."""
        if dialect.name != "postgresql" or not dialect.driver.startswith("psycopg") \
                or dialect.driver.startswith("psycopg2"):
            return super().bind_processor(dialect)
        coerce, what = self.coerce, f"{self!r} value"

        def process(value: Any) -> npt.NDArray[Any] | None:
            return None if value is None else coerce(value, what=what)

        return process

    def column_expression(self, column: Any) -> Any:
        """Select ``array_send(column)`` on PostgreSQL (the binary array as ``bytea``)."""
        return _ArraySend(column)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """Decode PostgreSQL's binary array bytes without the ``ARRAY`` type's list handling."""
        if dialect.name != "postgresql":
            return super().result_processor(dialect, coltype)
        dtype = self.dtype

        def process(value: Any) -> npt.NDArray[Any] | None:
            if value is None:
                return None
            if isinstance(value, (bytes, bytearray, memoryview)):
                return pgarray.decode_array(value, dtype)
            # A textual query typed as NumpyArray (no array_send): a list.
            return pgarray.narrow(np.array(value), dtype) if dtype.kind in "iu" \
                else np.array(value, dtype=dtype)

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> npt.NDArray[Any] | None:
        if value is None:
            return None
        if isinstance(value, (bytes, bytearray, memoryview)):
            # A copy: frombuffer over the driver's bytes would be read-only.
            return np.frombuffer(value, dtype=self._wire_dtype).astype(self.dtype)
        return np.array(value, dtype=self.dtype)

    def compare_values(self, x: Any, y: Any) -> bool:
        if x is None or y is None:
            return x is y
        return bool(np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)) and \
            np.asarray(x).dtype == np.asarray(y).dtype

    @property
    def python_type(self) -> type:
        return np.ndarray


class _ArraySend(ColumnElement[Any]):
    """A selected array: ``array_send(column)`` on PostgreSQL, the column elsewhere."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(_ArraySend)
def _array_send(element: _ArraySend, compiler: Any, **kw: Any) -> str:
    text = compiler.process(element.column, **kw)
    return f"array_send({text})" if compiler.dialect.name == "postgresql" else text


class UTCDateTime(types.TypeDecorator[dt.datetime]):
    """A timezone-aware timestamp, stored in UTC and always returned aware.

    PostgreSQL stores ``timestamp with time zone``; SQLite keeps naive UTC text,
    which this type re-labels as UTC on the way out. Naive datetimes are refused
    on the way in, so local times never slip in unlabelled.
    """

    impl = types.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone (e.g. datetime.UTC)")
        value = value.astimezone(dt.UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    @property
    def python_type(self) -> type:
        return dt.datetime


class _PolygonBind(ColumnElement[Any]):
    """A bound footprint: ``ST_GeomFromText(wkt, 4326)`` with PostGIS, the text elsewhere."""

    inherit_cache = True

    def __init__(self, bind: Any) -> None:
        self.bind = bind
        self.type = bind.type


class _PolygonColumn(ColumnElement[Any]):
    """A selected footprint: ``ST_AsText(column)`` with PostGIS, the column elsewhere."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(_PolygonBind)
def _polygon_bind(element: _PolygonBind, compiler: Any, **kw: Any) -> str:
    text = compiler.process(element.bind, **kw)
    return f"ST_GeomFromText({text}, 4326)" if postgis_footprints(compiler.dialect) else text


@compiles(_PolygonColumn)
def _polygon_column(element: _PolygonColumn, compiler: Any, **kw: Any) -> str:
    text = compiler.process(element.column, **kw)
    return f"ST_AsText({text})" if postgis_footprints(compiler.dialect) else text


class _PostGISPolygon(types.UserDefinedType[Any]):
    cache_ok = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Reflection passes the type modifiers (geometry type, SRID); the
        # column is always POLYGON in SRID 4326.
        super().__init__()

    def get_col_spec(self, **kw: Any) -> str:
        return "geometry(POLYGON,4326)"


# Let reflection (Alembic's autogenerate) recognise PostGIS geometry columns.
postgresql.base.ischema_names.setdefault("geometry", _PostGISPolygon)


class SkyPolygonType(types.TypeDecorator[Any]):
    """A sky footprint (:class:`~lightcurvedb.core.geometry.SkyPolygon`).

    PostGIS ``geometry(POLYGON, 4326)`` on a PostgreSQL database that uses
    PostGIS, well-known text elsewhere: on SQLite, and on PostgreSQL without
    PostGIS (see :mod:`lightcurvedb.core.extensions`; the RBH-1 migration
    decides, and :func:`lightcurvedb.extensions.enable` converts later).
    Values go in and come out as :class:`~lightcurvedb.core.geometry.SkyPolygon`
    either way.
    """

    impl = types.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> types.TypeEngine[Any]:
        if postgis_footprints(dialect):
            return dialect.type_descriptor(_PostGISPolygon())
        # Not type_descriptor(): psycopg's dialect would adapt Text to its VARCHAR string type.
        return types.Text()

    def bind_expression(self, bindvalue: Any) -> Any:
        return _PolygonBind(bindvalue)

    def column_expression(self, column: Any) -> Any:
        return _PolygonColumn(column)

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        from lightcurvedb.core.geometry import SkyPolygon

        if value is None:
            return None
        if not isinstance(value, SkyPolygon):
            value = SkyPolygon(tuple(value))
        return value.to_wkt()

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        from lightcurvedb.core.geometry import SkyPolygon

        return None if value is None else SkyPolygon.from_wkt(value)


class UnixTimestamp(types.TypeDecorator[dt.datetime]):
    """A time stored as Unix seconds (``REAL``), seen in Python as an aware UTC datetime.

    For databases whose schema is fixed elsewhere (the DSA-110 pipeline's
    SQLite files): the column stays a plain number, as stored, while bound
    parameters and results are :class:`datetime.datetime`. Plain numbers are
    accepted on the way in too. PostgreSQL gets ``DOUBLE PRECISION`` (its
    ``REAL`` is 4 bytes, too coarse for timestamps).
    """

    impl = types.REAL
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.DOUBLE_PRECISION())
        return dialect.type_descriptor(types.REAL())

    def process_bind_param(self, value: Any, dialect: Dialect) -> float | None:
        if value is None or isinstance(value, (int, float)):
            return value
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone (e.g. datetime.UTC)")
        return float(value.timestamp())

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC)

    @property
    def python_type(self) -> type:
        return dt.datetime


class IntegerBool(types.TypeDecorator[bool]):
    """A boolean stored as a 0/1 ``INTEGER`` (as SQLite schemas written by hand do)."""

    impl = types.Integer
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(bool(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> bool | None:
        return None if value is None else bool(value)

    @property
    def python_type(self) -> type:
        return bool
