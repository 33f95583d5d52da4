"""SQL expressions on :class:`~lightcurvedb.core.types.NumpyArray` columns.

``NumpyArray`` columns use :class:`ArrayComparator`, so in SQL expressions
(``select()``, ``where()``, ``order_by()``):

* ``col[i]`` is element ``i``, counted from 1 as in PostgreSQL (a
  :class:`NumpyScalar`);
* ``col[a:b]`` is elements ``a`` to ``b``, both included, as in PostgreSQL
  (``col[a:]`` and ``col[:b]`` leave one end open); the result is an array of
  the column's dtype, so it can be indexed, sliced or measured again;
* ``col.length()`` is the number of elements;
* ``value == any_(col)`` / ``value < all_(col)`` (:func:`sqlalchemy.any_`,
  :func:`sqlalchemy.all_`, any comparison operator) test the elements.

PostgreSQL evaluates them natively: ``(col)[i]``, ``(col)[a:b]``,
``cardinality(col)``, ``value = ANY (col)``. SQLite has no arrays, so they
compile to functions of the stored bytes that :mod:`lightcurvedb.core.sqlitearrays`
registers on every SQLite connection and that follow PostgreSQL's rules
(indices past either end give NULL, slice bounds are clamped to the array).
"""

from __future__ import annotations

import numbers
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import type_coerce, types
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import coercions, operators, roles
from sqlalchemy.sql.elements import BinaryExpression, ColumnElement, literal
from sqlalchemy.sql.visitors import InternalTraversal

from lightcurvedb.core import pgarray

__all__ = ["MAX_INDEX", "ArrayComparator", "NumpyScalar", "pg_element_type"]

#: The largest index PostgreSQL accepts (subscripts are 4-byte integers).
MAX_INDEX = 2**31 - 1

_PG_TYPES: dict[str, type[types.TypeEngine[Any]]] = {
    "bool": types.Boolean, "int2": types.SmallInteger, "int4": types.Integer,
    "int8": types.BigInteger, "float4": types.REAL, "float8": postgresql.DOUBLE_PRECISION}

#: SQL comparison operators of ANY/ALL, as the SQLite functions receive them.
_COMPARISONS = {operators.eq: "=", operators.ne: "!=", operators.lt: "<",
                operators.le: "<=", operators.gt: ">", operators.ge: ">="}


def pg_element_type(dtype: npt.DTypeLike) -> types.TypeEngine[Any]:
    """Return the SQL type of a PostgreSQL array element storing ``dtype``.

    Parameters
    ----------
    dtype : numpy.dtype or str
        A dtype :func:`lightcurvedb.core.pgarray.element_for` accepts.

    Returns
    -------
    sqlalchemy.types.TypeEngine
        E.g. ``DOUBLE_PRECISION`` for float64, ``SMALLINT`` for uint8.
    """
    return _PG_TYPES[pgarray.element_for(dtype)]()


def _plain_type(dtype: np.dtype[Any]) -> types.TypeEngine[Any]:
    if dtype.kind == "b":
        return types.Boolean()
    return types.Integer() if dtype.kind in "iu" else types.Float()


def _scalar(value: Any, dtype: np.dtype[Any]) -> Any:
    """Return a database number as a numpy scalar of ``dtype``, refusing any change."""
    if dtype.kind == "b":
        return np.bool_(value)
    if dtype.kind == "f":
        return dtype.type(value)
    info = np.iinfo(dtype)
    if value != int(value) or not info.min <= int(value) <= info.max:
        raise ValueError(f"array element {value!r} is not a {dtype} value "
                         f"({info.min} to {info.max})")
    return dtype.type(int(value))


class NumpyScalar(types.TypeDecorator[Any]):
    """One element of a :class:`~lightcurvedb.core.types.NumpyArray`: the type of ``col[i]``.

    A selected element is a numpy scalar of the array's dtype
    (``numpy.float32`` for a float32 array, ``numpy.uint8`` for uint8,
    ``numpy.bool_`` for bool), equal to the stored element, NaN and the sign of
    zero included. Compared values are bound as the element's SQL type (numpy
    scalars as Python numbers); arithmetic on elements and aggregates of them
    give plain SQL numbers, read as Python numbers.

    Parameters
    ----------
    dtype : numpy.dtype or str
        The array's dtype.
    """

    impl: types.TypeEngine[Any] | type[types.TypeEngine[Any]] = types.Float
    cache_ok = True
    #: ``col[1] == None`` / ``== True`` render ``IS NULL`` / ``IS true``, as for columns.
    coerce_to_is_types = (type(None), bool)

    def __init__(self, dtype: npt.DTypeLike) -> None:
        super().__init__()
        self.dtype = np.dtype(dtype)
        self.impl = _plain_type(self.dtype)

    def __repr__(self) -> str:
        return f"NumpyScalar({str(self.dtype)!r})"

    class comparator_factory(types.TypeDecorator.Comparator[Any]):  # noqa: N801
        """Arithmetic on elements is typed as plain SQL numbers, not as elements."""

        def _adapt_expression(self, op: Any, other_comparator: Any) -> Any:
            plain = type_coerce(self.expr, cast(NumpyScalar, self.type).impl_instance)
            op, result = plain.comparator._adapt_expression(op, other_comparator)
            return op, result.impl_instance if isinstance(result, NumpyScalar) else result

    def load_dialect_impl(self, dialect: Any) -> types.TypeEngine[Any]:
        """Use the array's element type on PostgreSQL, a plain number elsewhere."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(pg_element_type(self.dtype))
        return dialect.type_descriptor(_plain_type(self.dtype))

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        """Bind compared values as elements, but floats against integers as floats.

        A Python float compared with an integer element stays a float (as it
        would against an integer column), and an int compared with a float
        element an int.
        """
        plain = self.impl_instance.coerce_compared_value(op, value)
        return self if plain is self.impl_instance else plain

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        """Send numpy scalars as Python numbers (floats rounded to a float32 element)."""
        if isinstance(value, float) and self.dtype == np.float32:
            # Compare with the float32 nearest the value, as PostgreSQL does with
            # a real and numpy with a float32 array, on either backend.
            with np.errstate(over="ignore"):
                return float(np.float32(value))
        return value.item() if isinstance(value, np.generic) else value

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """Return numpy scalars of the dtype (from a number, or an element's bytes)."""
        dtype, wire = self.dtype, self.dtype.newbyteorder("<")

        def process(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, (bytes, memoryview)):
                return np.frombuffer(value, dtype=wire)[0].astype(dtype)
            return _scalar(value, dtype)

        return process

    def column_expression(self, column: Any) -> Any:
        """Select elements so that a NaN survives SQLite; anything else as a plain number.

        Only an element itself is read as a numpy scalar: other expressions
        SQLAlchemy types as elements (``func.max(col[1])``, ``other + col[1]``)
        come back as the driver's numbers, whatever their range.
        """
        if isinstance(column, _Element):
            return _SelectedElement(column)
        return type_coerce(column, self.impl_instance)

    @property
    def python_type(self) -> type:  # noqa: D102  (TypeEngine's; undocumented like NumpyArray's)
        return type(self.dtype.type(0))


def _index(value: Any, what: str) -> Any:
    """Return an index or slice bound as a SQL expression (literal ones 1 to MAX_INDEX)."""
    if isinstance(value, ColumnElement) or hasattr(value, "__clause_element__"):
        return coercions.expect(roles.ExpressionElementRole, value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"array {what} must be an int or an integer SQL expression, "
                        f"got {value!r}")
    if not 1 <= int(value) <= MAX_INDEX:
        raise IndexError(f"array {what} {int(value)}: SQL arrays count from 1 to "
                         f"{MAX_INDEX} (col[1] is the first element; there is no "
                         "counting from the end, use col[col.length()] for the last)")
    return literal(int(value), types.Integer())


class ArrayComparator(types.TypeDecorator.Comparator[Any]):
    """SQL operators of :class:`~lightcurvedb.core.types.NumpyArray` columns.

    See :mod:`lightcurvedb.core.arraysql` for the meaning of each operation.
    """

    def __getitem__(self, index: Any) -> Any:
        """Return element ``index`` (from 1), or the slice ``a:b`` (both ends included).

        Raises
        ------
        IndexError
            For a literal index or bound outside 1 to :data:`MAX_INDEX` (``0``
            and negative numbers mean nothing in SQL).
        TypeError
            For a slice with a step, or an index that is not an integer.
        """
        if isinstance(index, slice):
            if index.step is not None:
                raise TypeError("SQL array slices have no step")
            lower = None if index.start is None else _index(index.start, "slice start")
            upper = None if index.stop is None else _index(index.stop, "slice stop")
            return _Slice(self.expr, lower, upper)
        return _Element(self.expr, _index(index, "index"))

    def length(self) -> ColumnElement[int]:
        """Return the number of elements (0 for an empty array, NULL for NULL)."""
        return _Length(self.expr)


class _Element(ColumnElement[Any]):
    inherit_cache = True
    _traverse_internals = [("array", InternalTraversal.dp_clauseelement),
                           ("index", InternalTraversal.dp_clauseelement)]

    def __init__(self, array: Any, index: Any) -> None:
        self.array, self.index = array, index
        self.type = NumpyScalar(array.type.dtype)


class _Slice(ColumnElement[Any]):
    inherit_cache = True
    _traverse_internals = [("array", InternalTraversal.dp_clauseelement),
                           ("lower", InternalTraversal.dp_clauseelement),
                           ("upper", InternalTraversal.dp_clauseelement)]

    def __init__(self, array: Any, lower: Any, upper: Any) -> None:
        self.array, self.lower, self.upper = array, lower, upper
        self.type = array.type


class _Length(ColumnElement[int]):
    inherit_cache = True
    _traverse_internals = [("array", InternalTraversal.dp_clauseelement)]

    def __init__(self, array: Any) -> None:
        self.array = array
        self.type = types.Integer()


class _SelectedElement(ColumnElement[Any]):
    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]

    def __init__(self, element: _Element) -> None:
        self.element = element
        self.type = element.type


def _dtype_literal(array: Any) -> str:
    return f"'{array.type.dtype.name}'"


@compiles(_Element, "postgresql")
def _element_pg(element: _Element, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.array, **kw)})[{compiler.process(element.index, **kw)}]"


@compiles(_Element, "sqlite")
def _element_sqlite(element: _Element, compiler: Any, **kw: Any) -> str:
    return (f"lcdb_array_get({compiler.process(element.array, **kw)}, "
            f"{_dtype_literal(element.array)}, {compiler.process(element.index, **kw)})")


@compiles(_SelectedElement, "postgresql")
def _selected_pg(element: _SelectedElement, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.element, **kw))


@compiles(_SelectedElement, "sqlite")
def _selected_sqlite(element: _SelectedElement, compiler: Any, **kw: Any) -> str:
    inner = element.element
    return (f"lcdb_array_item({compiler.process(inner.array, **kw)}, "
            f"{_dtype_literal(inner.array)}, {compiler.process(inner.index, **kw)})")


@compiles(_Slice, "postgresql")
def _slice_pg(element: _Slice, compiler: Any, **kw: Any) -> str:
    lower, upper = ("" if bound is None else compiler.process(bound, **kw)
                    for bound in (element.lower, element.upper))
    return f"({compiler.process(element.array, **kw)})[{lower}:{upper}]"


@compiles(_Slice, "sqlite")
def _slice_sqlite(element: _Slice, compiler: Any, **kw: Any) -> str:
    # An open end is the array's first or last element, as in PostgreSQL.
    lower = "1" if element.lower is None else compiler.process(element.lower, **kw)
    upper = str(MAX_INDEX) if element.upper is None else compiler.process(element.upper, **kw)
    return (f"lcdb_array_slice({compiler.process(element.array, **kw)}, "
            f"{_dtype_literal(element.array)}, {lower}, {upper})")


@compiles(_Length, "postgresql")
def _length_pg(element: _Length, compiler: Any, **kw: Any) -> str:
    return f"cardinality({compiler.process(element.array, **kw)})"


@compiles(_Length, "sqlite")
def _length_sqlite(element: _Length, compiler: Any, **kw: Any) -> str:
    # The BLOB holds itemsize bytes per element; SQLite's length() counts bytes.
    size = element.array.type.dtype.itemsize
    blob = f"length({compiler.process(element.array, **kw)})"
    return blob if size == 1 else f"({blob} / {size})"


def _other_dialects(element: Any, compiler: Any, **kw: Any) -> str:
    if compiler.dialect.name == "default":  # str(expression): PostgreSQL's spelling
        return _PG_FORMS[type(element)](element, compiler, **kw)
    raise CompileError(f"{compiler.dialect.name}: SQL expressions on array columns work on "
                       "PostgreSQL and SQLite only")


_PG_FORMS: dict[type, Any] = {_Element: _element_pg, _SelectedElement: _selected_pg,
                              _Slice: _slice_pg, _Length: _length_pg}
for _construct in _PG_FORMS:
    compiles(_construct)(_other_dialects)


def _array_aggregate(side: Any) -> Any:
    """Return the array of an ``any_()``/``all_()`` over a NumpyArray value, else None."""
    from lightcurvedb.core.types import NumpyArray

    if not getattr(side, "_is_collection_aggregate", False):
        return None
    return side.element if isinstance(side.element.type, NumpyArray) else None


@compiles(BinaryExpression, "sqlite")
def _any_all_sqlite(binary: BinaryExpression[Any], compiler: Any, **kw: Any) -> str:
    """Compile ``value <op> ANY/ALL (array)`` over NumpyArray values for SQLite."""
    array = _array_aggregate(binary.right)
    if array is None:
        return str(compiler.visit_binary(binary, **kw))
    quantifier = "any" if binary.right.operator is operators.any_op else "all"
    if binary.operator not in _COMPARISONS:
        raise CompileError(f"SQLite: {quantifier}_() of an array column supports only "
                           f"=, !=, <, <=, >, >=, not {binary.operator!r}")
    return (f"lcdb_array_{quantifier}({compiler.process(array, **kw)}, "
            f"{_dtype_literal(array)}, '{_COMPARISONS[binary.operator]}', "
            f"{compiler.process(binary.left, **kw)})")
