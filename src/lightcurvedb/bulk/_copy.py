"""Bulk writes: :func:`copy_rows` writes many rows of any mapped table quickly.

On PostgreSQL rows stream through binary ``COPY`` (psycopg 3), numpy arrays
encoded straight from their buffers; on SQLite they go through ``executemany``.
Values pass through each column type's bind processing first, so the checks of
:class:`~lightcurvedb.core.types.NumpyArray` and friends apply as for the ORM.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Column, Table
from sqlalchemy.engine import Connection

from lightcurvedb.core import pgarray
from lightcurvedb.core.types import NumpyArray

__all__ = ["BulkLoadError", "copy_rows"]

_MISSING = object()


class BulkLoadError(ValueError):
    """A row could not be loaded by :func:`copy_rows`; nothing of that call was kept.

    Parameters
    ----------
    chunk_index : int
        0-based index of the chunk that failed.
    row_index : int or None
        0-based index of the offending row in the input, if known.
    column : str or None
        Name of the offending column, if known.
    message : str
        What went wrong.
    """

    def __init__(self, chunk_index: int, row_index: int | None, column: str | None,
                 message: str) -> None:
        self.chunk_index = chunk_index
        self.row_index = row_index
        self.column = column
        self.message = message
        where = f"chunk {chunk_index}"
        if row_index is not None:
            where += f", row {row_index}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"bulk load failed at {where}: {message}")


def copy_rows(connection: Connection, model_or_table: Any, rows: Any, *,
              chunk_size: int = 10_000, columns: Sequence[str] | None = None) -> int:
    """Insert many rows into one table, atomically.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection
        Where to write (e.g. ``session.connection()``). PostgreSQL needs the
        psycopg 3 driver (``postgresql+psycopg://``).
    model_or_table : mapped class or sqlalchemy.Table
        A mapped class or its table.
    rows : iterable of dict or tuple, numpy structured array or astropy Table
        The rows. Dict keys, structured-array fields and Table columns are
        column names; tuples follow ``columns`` or the table's column order.
    chunk_size : int, optional
        Rows validated and sent at a time; memory use stays proportional to it.
    columns : sequence of str, optional
        The columns supplied (default: the first dict's keys, the array's
        fields, the Table's columns, or every table column for tuples).
        Omitted columns get their Python-side default, else the server's.

    Returns
    -------
    int
        The number of rows written.

    Raises
    ------
    BulkLoadError
        If a value fails validation or the database refuses a chunk; the table
        is then left as it was before the call.
    TypeError
        On PostgreSQL through a driver other than psycopg 3.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    table: Table = model_or_table if isinstance(model_or_table, Table) \
        else model_or_table.__table__
    dialect = connection.dialect
    if dialect.name == "postgresql" and dialect.driver != "psycopg":
        raise TypeError(f"copy_rows uses COPY, which needs the psycopg 3 driver "
                        f"(postgresql+psycopg://), not {dialect.driver!r}")
    names, row_iter = _normalise(rows, table, columns)
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise ValueError(f"{table.fullname} has no column(s) {', '.join(unknown)}")
    cols = [table.c[name] for name in names]
    defaults = [c for c in table.c if c.key not in names and c.default is not None
                and (c.default.is_scalar or c.default.is_callable)]
    cols += defaults
    processors = [_processor(c, dialect.name, dialect) for c in cols]
    writer = _PostgresWriter(connection, table, cols) if dialect.name == "postgresql" \
        else _SQLiteWriter(connection, table, cols)
    total = 0
    with connection.begin_nested():
        for chunk_index in itertools.count():
            chunk = list(itertools.islice(row_iter, chunk_size))
            if not chunk:
                break
            processed = []
            for offset, values in enumerate(chunk):
                row_index = total + offset
                if len(values) != len(names):
                    raise BulkLoadError(chunk_index, row_index, None,
                                        f"expected {len(names)} values, got {len(values)}")
                values = list(values) + [_default(c) for c in defaults]
                out = []
                for column, process, value in zip(cols, processors, values, strict=True):
                    if value is _MISSING:
                        raise BulkLoadError(chunk_index, row_index, column.name, "missing value")
                    try:
                        out.append(process(_plain(value)))
                    except Exception as exc:
                        raise BulkLoadError(chunk_index, row_index, column.name,
                                            str(exc)) from exc
                processed.append(tuple(out))
            try:
                writer.write(processed)
            except Exception as exc:
                raise BulkLoadError(chunk_index, None, None,
                                    f"{type(exc).__name__}: {exc}") from exc
            total += len(chunk)
    return total


def _normalise(rows: Any, table: Table, columns: Sequence[str] | None
               ) -> tuple[list[str], Iterator[Sequence[Any]]]:
    """Return the column names supplied and an iterator of value tuples in that order."""
    if isinstance(rows, np.ndarray) and rows.dtype.names:
        names = list(columns or rows.dtype.names)
        return names, (tuple(rec[n] for n in names) for rec in rows)
    if hasattr(rows, "colnames") and hasattr(rows, "columns"):  # astropy Table
        names = list(columns or rows.colnames)
        return names, (tuple(_unmask(rec[n]) for n in names) for rec in rows)
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return list(columns or table.c.keys()), iter(())
    iterator = itertools.chain([first], iterator)
    if isinstance(first, dict):
        names = list(columns or first.keys())
        return names, (tuple(row.get(n, _MISSING) for n in names) for row in iterator)
    return list(columns or table.c.keys()), iterator


def _unmask(value: Any) -> Any:
    return None if value is np.ma.masked else value


def _plain(value: Any) -> Any:
    """Turn numpy scalars into Python ones (drivers expect ``int``, not ``numpy.int64``)."""
    return value.item() if isinstance(value, np.generic) else value


def _default(column: Column[Any]) -> Any:
    default: Any = column.default
    return default.arg(None) if default.is_callable else default.arg


def _processor(column: Column[Any], backend: str, dialect: Any) -> Callable[[Any], Any]:
    """Validate and convert one value like SQLAlchemy's bind processing would."""
    column_type = column.type
    if isinstance(column_type, NumpyArray) and backend == "postgresql":
        what = f"{column.table.name}.{column.name}"
        return lambda v: None if v is None else column_type.coerce(v, what=what)
    process = column_type.bind_processor(dialect)
    return process if process is not None else (lambda v: v)


class _SQLiteWriter:
    """``executemany`` of a plain ``INSERT`` (the schema translated away)."""

    def __init__(self, connection: Connection, table: Table, cols: list[Column[Any]]) -> None:
        quote = connection.dialect.identifier_preparer.quote
        schema = table.schema
        translate = connection.get_execution_options().get("schema_translate_map") or {}
        schema = translate.get(schema, schema)
        name = (f"{quote(schema)}." if schema else "") + quote(table.name)
        self.connection = connection
        self.sql = (f"INSERT INTO {name} ({', '.join(quote(c.name) for c in cols)}) "
                    f"VALUES ({', '.join('?' for _ in cols)})")

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        self.connection.exec_driver_sql(self.sql, rows)


class _PostgresWriter:
    """Binary ``COPY ... FROM STDIN`` through psycopg 3."""

    def __init__(self, connection: Connection, table: Table, cols: list[Column[Any]]) -> None:
        quote = connection.dialect.identifier_preparer.quote
        name = (f"{quote(table.schema)}." if table.schema else "") + quote(table.name)
        self.sql = (f"COPY {name} ({', '.join(quote(c.name) for c in cols)}) "
                    "FROM STDIN (FORMAT BINARY)")
        self.driver = connection.connection.driver_connection
        self.types = [_pg_type_name(c, connection.dialect) for c in cols]

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        assert self.driver is not None
        with self.driver.cursor() as cursor:
            pgarray.register_numpy_dumpers(cursor)
            with cursor.copy(self.sql) as copy:
                copy.set_types(self.types)
                for row in rows:
                    copy.write_row(row)


def _pg_type_name(column: Column[Any], dialect: Any) -> str:
    """Return the psycopg type name of ``column`` (``float8[]``, ``varchar``; enums: ``text``)."""
    compiled = column.type.compile(dialect=dialect).lower()
    name = re.sub(r"\(.*?\)", "", compiled).strip()
    if name.startswith("geometry"):
        raise TypeError(f"copy_rows cannot COPY the PostGIS column {column.name!r} yet")
    from psycopg.postgres import types

    base = name.removesuffix("[]")
    info = types.get(base)
    if info is None:  # enums and other user-defined types take their text form
        return "text[]" if name.endswith("[]") else "text"
    return info.name + ("[]" if name.endswith("[]") else "")
