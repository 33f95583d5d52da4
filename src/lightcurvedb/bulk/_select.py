"""Bulk reads of any SELECT: the array columns of a join decoded as :func:`read_arrays` does.

:func:`read_arrays` reads the arrays of one table; a light curve's arrays live
in several (``dataset``, ``target_specific_time``, ``quality_flag_array``,
``observation``). :func:`read_array_rows` runs one SELECT over such a join and
decodes every :class:`~lightcurvedb.core.types.NumpyArray` column of it on the
same fast path: a binary-format psycopg cursor on PostgreSQL, and
:func:`numpy.frombuffer` on SQLite.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from lightcurvedb.bulk._read import _binary_results
from lightcurvedb.core import pgarray
from lightcurvedb.core.types import NumpyArray

__all__ = ["read_array_rows"]


def read_array_rows(connection: Connection | Session, statement: sa.Select[Any]
                    ) -> list[tuple[Any, ...]]:
    """Run one SELECT and return its rows, with every array column as a numpy array.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection or sqlalchemy.orm.Session
        Where to read; the query runs inside its transaction.
    statement : sqlalchemy.Select
        Any Core SELECT (joins, outer joins, subqueries); its columns typed
        :class:`~lightcurvedb.core.types.NumpyArray` come back as arrays of
        the column's dtype, NULL (e.g. from an outer join) as None. Other
        columns come back as the driver returns them.

    Returns
    -------
    list of tuple
        One tuple per row, in the statement's column order.

    Examples
    --------
    >>> from sqlalchemy import select
    >>> from lightcurvedb.bulk import read_array_rows
    >>> from lightcurvedb.models import DataSet, TargetSpecificTime as T
    >>> rows = read_array_rows(session, select(DataSet.id, DataSet.values,
    ...     T.barycentric_julian_dates).join(T, (T.target_id == DataSet.target_id)
    ...     & (T.observation_id == DataSet.observation_id)))  # doctest: +SKIP
    """
    if isinstance(connection, Session):
        connection = connection.connection()
    postgres = connection.dialect.name == "postgresql"
    driver = connection.dialect.driver
    binary = postgres and driver.startswith("psycopg") and not driver.startswith("psycopg2")
    columns = list(statement.selected_columns)
    types = [c.type if isinstance(c.type, NumpyArray) else None for c in columns]
    if binary or not postgres:
        # As read_arrays does: raw values, decoded below (no NumpyArray result processing).
        statement = statement.with_only_columns(
            *(sa.type_coerce(c, sa.types.NullType()).label(f"lcdb_array_{i}")
              if t is not None else c for i, (c, t) in enumerate(zip(columns, types, strict=True))),
            maintain_column_froms=True)
    with _binary_results(connection) if binary else contextlib.nullcontext():
        rows = connection.execute(statement).all()
    if postgres and not binary:
        return [tuple(row) for row in rows]       # NumpyArray's own result processing
    return [tuple(_decode(value, kind, binary) for value, kind in zip(row, types, strict=True))
            for row in rows]


def _decode(value: Any, kind: NumpyArray | None, binary: bool) -> Any:
    if kind is None or value is None:
        return value
    if binary:
        return pgarray.narrow(value, kind.dtype)
    return np.frombuffer(value, dtype=kind._wire_dtype).astype(kind.dtype)
