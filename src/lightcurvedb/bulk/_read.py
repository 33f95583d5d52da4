"""Bulk reads: the arrays of many rows as numpy arrays, at the speed of the wire.

:func:`read_arrays` returns ``{key: array}`` (or ``{key: {column: array}}``);
:func:`read_arrays_flat` returns every array of a column concatenated, with
offsets (:class:`FlatArrays`). On PostgreSQL the query runs on a binary-format
psycopg cursor whose loaders decode each array straight from PostgreSQL's
binary array format (:mod:`lightcurvedb.core.pgarray`); on SQLite the BLOBs are
read with :func:`numpy.frombuffer`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy import Column, Table, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from lightcurvedb.core import pgarray
from lightcurvedb.core.types import NumpyArray

__all__ = ["FlatArrays", "read_arrays", "read_arrays_flat"]

#: Keys per ``IN (...)`` query on SQLite (below its bound-parameter limit).
SQLITE_KEYS_PER_QUERY = 5_000


@dataclass(frozen=True)
class FlatArrays:
    """The arrays of many rows, concatenated per column.

    Row ``i`` (key ``keys[i]``) owns ``columns[name][offsets[i]:offsets[i + 1]]``
    of every column. Where a row's value of a column is NULL, its slice is
    filled (NaN for floats, 0 or False otherwise) and ``nulls[name][i]`` is
    true.

    Attributes
    ----------
    keys : numpy.ndarray
        The key of each row, in key order.
    offsets : numpy.ndarray
        ``int64`` start of each row's slice, of length ``len(keys) + 1``.
    columns : dict of str to numpy.ndarray
        Each requested column, all rows concatenated.
    nulls : dict of str to numpy.ndarray
        Per column, a boolean array of length ``len(keys)``: true where the
        row's value was NULL.
    """

    keys: npt.NDArray[Any]
    offsets: npt.NDArray[np.int64]
    columns: dict[str, npt.NDArray[Any]]
    nulls: dict[str, npt.NDArray[np.bool_]]

    def __len__(self) -> int:
        return len(self.keys)

    def _row(self, index: int) -> dict[str, npt.NDArray[Any] | None]:
        start, stop = int(self.offsets[index]), int(self.offsets[index + 1])
        return {name: None if self.nulls[name][index] else values[start:stop]
                for name, values in self.columns.items()}

    def __getitem__(self, key: Any) -> dict[str, npt.NDArray[Any] | None]:
        """Return ``{column: array}`` of the row with ``key`` (views; None for NULL).

        Raises
        ------
        KeyError
            If no row has that key.
        """
        found = np.flatnonzero(self.keys == key)
        if found.size == 0:
            raise KeyError(key)
        return self._row(int(found[0]))

    def split(self) -> dict[Any, Any]:
        """Return the rows as :func:`read_arrays` would, with views into the flat arrays.

        Returns
        -------
        dict
            ``{key: array}`` for a single column, ``{key: {column: array}}``
            for several (None where NULL).
        """
        rows = {key.item() if isinstance(key, np.generic) else key: self._row(i)
                for i, key in enumerate(self.keys)}
        if len(self.columns) == 1:
            (name,) = self.columns
            return {key: row[name] for key, row in rows.items()}
        return rows


def read_arrays(connection: Connection | Session, model_or_table: Any,
                columns: str | Sequence[str], *, key: str = "id", where: Any = None,
                keys: Iterable[Any] | None = None) -> dict[Any, Any]:
    """Read the array columns of many rows.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection or sqlalchemy.orm.Session
        Where to read; the query runs inside its transaction.
    model_or_table : mapped class or sqlalchemy.Table
        The table holding the arrays.
    columns : str or sequence of str
        One or several :class:`~lightcurvedb.core.types.NumpyArray` columns.
    key : str, optional
        The column identifying rows in the result (its values must be unique
        among the rows read).
    where : sqlalchemy boolean expression, optional
        Which rows to read, e.g. ``DataSet.target_id == 42``.
    keys : iterable, optional
        Read only rows whose ``key`` is one of these values (rows that do not
        exist are simply absent from the result).

    Returns
    -------
    dict
        ``{key: numpy.ndarray}`` when ``columns`` is one name,
        ``{key: {column: numpy.ndarray}}`` for several, in key order; NULL
        values are None. Arrays are new, writeable and of the column's dtype.

    Raises
    ------
    ValueError
        If a column does not exist or is not an array column, or the key
        column is not unique among the rows read.

    Examples
    --------
    >>> from lightcurvedb.bulk import read_arrays
    >>> from lightcurvedb.models import DataSet
    >>> flux = read_arrays(session.connection(), DataSet, "values",
    ...                    where=DataSet.target_id == 42)  # doctest: +SKIP
    """
    table, key_column, array_columns = _resolve(model_or_table, columns, key)
    result: dict[Any, Any] = {}
    single = isinstance(columns, str)
    for row_key, values in _rows(connection, table, key_column, array_columns, where, keys):
        if row_key in result:
            raise ValueError(f"key column {table.fullname}.{key_column.name} is not unique: "
                             f"{row_key!r} appears more than once")
        result[row_key] = values[0] if single else \
            {c.name: v for c, v in zip(array_columns, values, strict=True)}
    return result


def read_arrays_flat(connection: Connection | Session, model_or_table: Any,
                     columns: str | Sequence[str], *, key: str = "id", where: Any = None,
                     keys: Iterable[Any] | None = None) -> FlatArrays:
    """Read the array columns of many rows into one concatenated array per column.

    Takes the same arguments as :func:`read_arrays`. The columns read together
    must have the same length in each row (as ``values`` and ``errors`` of a
    light curve do); NULL values are marked in :attr:`FlatArrays.nulls`.

    Returns
    -------
    FlatArrays
        Keys in key order, ``offsets`` and the concatenated columns.

    Raises
    ------
    ValueError
        As :func:`read_arrays`, or if two columns of one row differ in length.

    Examples
    --------
    >>> from lightcurvedb.bulk import read_arrays_flat
    >>> flat = read_arrays_flat(session.connection(), DataSet, ["values", "errors"],
    ...                         keys=[1, 2, 3])  # doctest: +SKIP
    >>> flat.columns["values"][flat.offsets[0]:flat.offsets[1]]  # doctest: +SKIP
    """
    table, key_column, array_columns = _resolve(model_or_table, columns, key)
    if isinstance(connection, Session):
        connection = connection.connection()
    wires = [_array_type(c)._wire_dtype for c in array_columns]
    if connection.dialect.name == "sqlite":
        # Lengths first (SQLite answers length() from the record header), so
        # each BLOB is then decoded once, straight into its slice.
        sized = [sa.func.length(c).label(c.name) for c in array_columns]
        layout = [(k, [None if n is None else n // w.itemsize for n, w in zip(v, wires,
                                                                             strict=True)])
                  for k, v in _selected(connection, key_column, sized, where, keys)]
        rows: Iterator[tuple[Any, list[Any]]] = _rows(
            connection, table, key_column, array_columns, where, keys, decode=False)
    else:
        fetched = list(_rows(connection, table, key_column, array_columns, where, keys))
        layout = [(k, [None if v is None else len(v) for v in values]) for k, values in fetched]
        rows = iter(fetched)
    row_keys, lengths = _check_layout(table, key_column, array_columns, layout)
    offsets = np.zeros(len(row_keys) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = {c.name: np.empty(int(offsets[-1]), dtype=_array_type(c).dtype)
            for c in array_columns}
    nulls = {c.name: np.zeros(len(row_keys), dtype=bool) for c in array_columns}
    for i, (row_key, values) in enumerate(rows):
        if i >= len(row_keys) or row_key != row_keys[i]:
            raise RuntimeError(f"{table.fullname} changed while it was being read")
        a, b = offsets[i], offsets[i + 1]
        for column, wire, value in zip(array_columns, wires, values, strict=True):
            out = flat[column.name]
            if value is None:
                nulls[column.name][i] = True
                out[a:b] = np.nan if out.dtype.kind == "f" else 0
            else:
                out[a:b] = value if isinstance(value, np.ndarray) \
                    else np.frombuffer(value, dtype=wire)
    return FlatArrays(np.asarray(row_keys), offsets, flat, nulls)


def _check_layout(table: Table, key_column: Column[Any], array_columns: list[Column[Any]],
                  layout: list[tuple[Any, list[int | None]]]) -> tuple[list[Any], list[int]]:
    """Return the keys and row lengths, refusing repeated keys and ragged rows."""
    seen: set[Any] = set()
    row_keys, lengths = [], []
    for row_key, sizes in layout:
        if row_key in seen:
            raise ValueError(f"key column {table.fullname}.{key_column.name} is not unique: "
                             f"{row_key!r} appears more than once")
        seen.add(row_key)
        known = {c.name: n for c, n in zip(array_columns, sizes, strict=True) if n is not None}
        if len(set(known.values())) > 1:
            raise ValueError(f"{table.fullname} row {key_column.name}={row_key!r}: columns "
                             f"differ in length ({known}); read them separately")
        row_keys.append(row_key)
        lengths.append(next(iter(known.values()), 0))
    return row_keys, lengths


def _resolve(model_or_table: Any, columns: str | Sequence[str], key: str
             ) -> tuple[Table, Column[Any], list[Column[Any]]]:
    table = model_or_table if isinstance(model_or_table, Table) \
        else getattr(model_or_table, "__table__", None)
    if not isinstance(table, Table):
        raise TypeError(f"expected a mapped class or a Table, got {model_or_table!r}")
    names = [columns] if isinstance(columns, str) else list(columns)
    if not names:
        raise ValueError("no columns to read")
    found: list[Column[Any]] = []
    for name in [key, *names]:
        if name not in table.c:
            raise ValueError(f"{table.fullname} has no column {name!r}")
        found.append(table.c[name])
    for column in found[1:]:
        if not isinstance(column.type, NumpyArray):
            raise ValueError(f"{table.fullname}.{column.name} is not an array column "
                             f"(its type is {column.type!r})")
    return table, found[0], found[1:]


def _array_type(column: Column[Any]) -> NumpyArray:
    assert isinstance(column.type, NumpyArray)
    return column.type


def _statements(connection: Connection, key_column: Column[Any], selected: list[Any],
                where: Any, keys: Iterable[Any] | None) -> list[sa.Select[Any]]:
    """Build the queries for ``selected`` in key order (several on SQLite for many keys)."""
    base = sa.select(key_column, *selected).order_by(key_column)
    if where is not None:
        base = base.where(where)
    if keys is None:
        return [base]
    # numpy scalars (e.g. FlatArrays.keys) become Python values the drivers bind.
    wanted = sorted({k.item() if isinstance(k, np.generic) else k for k in keys})
    if connection.dialect.name == "postgresql":
        bind = sa.bindparam("lcdb_keys", wanted, type_=postgresql.ARRAY(key_column.type))
        return [base.where(key_column == sa.any_(bind))] if wanted else []
    return [base.where(key_column.in_(wanted[i:i + SQLITE_KEYS_PER_QUERY]))
            for i in range(0, len(wanted), SQLITE_KEYS_PER_QUERY)]


def _selected(connection: Connection, key_column: Column[Any], selected: list[Any],
              where: Any, keys: Iterable[Any] | None) -> Iterator[tuple[Any, list[Any]]]:
    """Yield ``(key, [value per selected expression])`` in key order."""
    for statement in _statements(connection, key_column, selected, where, keys):
        for row in connection.execute(statement):
            yield row[0], list(row[1:])


def _rows(connection: Connection | Session, table: Table, key_column: Column[Any],
          array_columns: list[Column[Any]], where: Any, keys: Iterable[Any] | None,
          *, decode: bool = True) -> Iterator[tuple[Any, list[Any]]]:
    """Yield ``(key, [array or None per column])`` in key order.

    With ``decode=False`` SQLite values are left as the stored little-endian bytes.
    """
    if isinstance(connection, Session):
        connection = connection.connection()
    postgres = connection.dialect.name == "postgresql"
    driver = connection.dialect.driver
    binary = postgres and driver.startswith("psycopg") and not driver.startswith("psycopg2")
    # With psycopg 3 (binary cursor loaders) and on SQLite (frombuffer) the raw
    # columns are selected, without NumpyArray's column expression and result
    # processing; other PostgreSQL drivers get array_send() bytes decoded by the type.
    raw = [sa.type_coerce(c, sa.types.NullType()).label(c.name) for c in array_columns] \
        if binary or not postgres else list(array_columns)
    statements = _statements(connection, key_column, raw, where, keys)
    wires = [_array_type(c)._wire_dtype for c in array_columns]
    dtypes = [_array_type(c).dtype for c in array_columns]
    for statement in statements:
        if postgres:
            with _binary_results(connection) if binary else contextlib.nullcontext():
                rows = connection.execute(statement).all()
            for row in rows:
                # The loaders give the storage dtype (int16 for a uint8 column).
                yield row[0], [v if v is None or not binary else pgarray.narrow(v, d)
                               for v, d in zip(row[1:], dtypes, strict=True)]
        else:
            for row in connection.execute(statement):
                if not decode:
                    yield row[0], list(row[1:])
                    continue
                yield row[0], [None if v is None else np.frombuffer(v, dtype=w).astype(d)
                               for v, w, d in zip(row[1:], wires, dtypes, strict=True)]


@contextlib.contextmanager
def _binary_results(connection: Connection) -> Iterator[None]:
    """Run the statements of this block on binary-format cursors that load ndarrays.

    SQLAlchemy still compiles the statement (bound parameters, their
    processing and casts, schema translation) and opens the psycopg cursor on
    the connection's driver connection, inside its transaction; this switches
    that cursor to binary results (:attr:`psycopg.Cursor.format`) and gives it
    the numpy array loaders, so each array is decoded from PostgreSQL's binary
    format without passing through Python lists.
    """
    from psycopg.pq import Format

    def to_binary(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                  executemany: bool) -> None:
        cursor.format = Format.BINARY
        pgarray.register_numpy_loaders(cursor)

    event.listen(connection, "before_cursor_execute", to_binary)
    try:
        yield
    finally:
        event.remove(connection, "before_cursor_execute", to_binary)
