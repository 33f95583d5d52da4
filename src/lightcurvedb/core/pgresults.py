"""Binary-format results for statements that select numpy array columns (psycopg 3).

psycopg reads results in PostgreSQL's text format unless a cursor asks for
binary. For :class:`~lightcurvedb.core.types.NumpyArray` columns, selected as
``array_send(column)`` bytes, text format means the server writes every array
as hexadecimal and psycopg decodes it again: about 90 MB/s here against about
150 MB/s in binary. :func:`binary_array_results` switches the cursor of each
statement that selects an array column to binary results -- but only when
every column of the result has a type whose binary form psycopg loads into the
same Python value as its text form (integers, double-precision floats,
numerics, strings, booleans, dates and times, UUIDs, bytes, arrays of
lightcurvedb; not 4-byte ``real``, whose text form is the shortest decimal). Statements
with anything else (enums, JSON, PostGIS geometry, SQL arrays, untyped
expressions) keep text results, so their values are exactly what they were.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, types
from sqlalchemy.engine import Dialect, Engine

__all__ = ["binary_array_results", "binary_safe"]

#: SQL types whose binary and text results psycopg loads into the same values.
_SAFE = (types.Integer, types.Float, types.Numeric, types.String, types.Boolean,
         types.DateTime, types.Date, types.Time, types.Uuid, types.LargeBinary)
#: Subclasses of the above whose values differ (enums are strings to SQLAlchemy).
_UNSAFE = (types.Enum,)


def binary_safe(type_: types.TypeEngine[Any], dialect: Dialect) -> bool:
    """Tell whether a result column of ``type_`` reads the same in binary format.

    Parameters
    ----------
    type_ : sqlalchemy.types.TypeEngine
        The column's SQLAlchemy type (type decorators are unwrapped to the
        type they use on ``dialect``).
    dialect : sqlalchemy.engine.Dialect
        The PostgreSQL dialect.

    Returns
    -------
    bool
    """
    from lightcurvedb.core.arraysql import NumpyScalar
    from lightcurvedb.core.types import NumpyArray

    if isinstance(type_, (NumpyArray, NumpyScalar)):
        # Array elements are read as numpy scalars of their dtype, the same
        # value in either format (a float4 too: its text is the shortest exact).
        return True
    while isinstance(type_, types.TypeDecorator):
        type_ = type_.load_dialect_impl(dialect)
    if isinstance(type_, types.Float) and _is_real(type_, dialect):
        return False  # text gives 1.1, binary the stored float4 1.100000023841858
    return isinstance(type_, _SAFE) and not isinstance(type_, _UNSAFE)


def _is_real(type_: types.Float[Any], dialect: Dialect) -> bool:
    """Tell whether a float type is PostgreSQL's 4-byte ``real``."""
    compiled = type_.compile(dialect=dialect).upper()
    if compiled in ("REAL", "FLOAT4"):
        return True
    precision = getattr(type_, "precision", None)
    return compiled.startswith("FLOAT") and precision is not None and precision <= 24


def _to_binary(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
    dialect = conn.dialect
    if executemany or dialect.name != "postgresql" or dialect.driver != "psycopg":
        return
    columns = getattr(getattr(context, "compiled", None), "_result_columns", None)
    if not columns:
        return
    from lightcurvedb.core.types import NumpyArray

    column_types = [entry[3] for entry in columns]
    if any(isinstance(t, NumpyArray) for t in column_types) and \
            all(binary_safe(t, dialect) for t in column_types):
        from psycopg.pq import Format

        cursor.format = Format.BINARY


def binary_array_results() -> None:
    """Read statements selecting array columns in binary format, on every engine.

    Listens to ``before_cursor_execute`` of :class:`sqlalchemy.engine.Engine`
    (all engines, whoever made them); acts only on PostgreSQL through psycopg
    3, on statements whose result has a
    :class:`~lightcurvedb.core.types.NumpyArray` column and only columns for
    which :func:`binary_safe` holds. Calling it again does nothing.
    """
    if not event.contains(Engine, "before_cursor_execute", _to_binary):
        event.listen(Engine, "before_cursor_execute", _to_binary)
