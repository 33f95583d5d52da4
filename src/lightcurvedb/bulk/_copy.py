"""Bulk writes: :func:`copy_rows` writes many rows of any mapped table quickly.

On PostgreSQL rows stream through binary ``COPY`` (psycopg 3), numpy arrays
encoded straight from their buffers; on SQLite they go through ``executemany``.
Values pass through each column type's bind processing first, so the checks of
:class:`~lightcurvedb.core.types.NumpyArray` and friends apply as for the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection, Engine

from lightcurvedb.bulk._progress import RowProgress
from lightcurvedb.bulk._rows import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_ROWS,
    BulkLoadError,
    BulkValueError,
    PreparedRows,
    chunks,
    prepare,
    refusal,
    resolve_table,
)
from lightcurvedb.bulk._wire import PostgresWriter, SQLiteWriter, qualified_name

__all__ = ["BulkLoadError", "BulkValueError", "copy_rows"]


def copy_rows(bind: Connection | Engine, model_or_table: Any, rows: Any, *,
              columns: Sequence[str] | None = None, chunk_size: int = DEFAULT_CHUNK_ROWS,
              chunk_bytes: int = DEFAULT_CHUNK_BYTES, progress: bool = False,
              commit_each_chunk: bool = False, start: int = 0) -> int:
    """Insert many rows into one table: atomically, or chunk by chunk and resumably.

    Parameters
    ----------
    bind : sqlalchemy.engine.Connection or sqlalchemy.engine.Engine
        Where to write. A connection (e.g. ``session.connection()``) keeps the
        rows in its transaction, for the caller to commit; an engine gets a
        connection of its own, committed at the end. PostgreSQL needs the
        psycopg 3 driver (``postgresql+psycopg://``).
    model_or_table : mapped class or sqlalchemy.Table
        A mapped class or its table.
    rows : iterable of dict or tuple, numpy structured array or astropy Table
        The rows. Dict keys, structured-array fields and Table columns are
        column names; tuples follow ``columns`` or the table's column order.
        Any iterable works, generators included: only one chunk is held at a time.
    columns : sequence of str, optional
        The columns supplied (default: the first dict's keys, the array's
        fields, the Table's columns, or every table column for tuples).
        Omitted columns get their Python-side default, else the server's.
    chunk_size : int, optional
        Most rows validated and sent at a time (default 100,000).
    chunk_bytes : int, optional
        A chunk is also sent once its array and binary values (numpy array,
        ``LargeBinary`` and footprint columns) reach this many bytes (default
        64 MiB), so memory stays flat for wide rows such as light curves.
    progress : bool, optional
        Draw a progress bar on stderr, counting rows against the input's
        ``len()`` when it has one.
    commit_each_chunk : bool, optional
        Commit after every chunk (resumable mode). A failure then leaves the
        chunks before it committed, and the :class:`BulkLoadError` carries
        ``resume_from``. Needs a connection with no transaction in progress
        (not ``session.connection()``, not inside ``engine.begin()``); it is
        left with none. Default False: one transaction for the whole call.
    start : int, optional
        Skip this many input rows first; pass the ``resume_from`` of a failed
        resumable load to carry on where it stopped.

    Returns
    -------
    int
        The number of rows written (the skipped ``start`` rows not counted).

    Raises
    ------
    BulkLoadError
        If a value fails validation or the database refuses a chunk. By
        default the table is then as it was before the call; with
        ``commit_each_chunk`` it holds the chunks committed before the failing
        one. Either way ``resume_from`` is the ``start=`` to rerun with.
    ValueError
        For unknown columns, or ``commit_each_chunk`` with a transaction in progress.
    TypeError
        On PostgreSQL through a driver other than psycopg 3.

    Examples
    --------
    A resumable load of a large catalog::

        try:
            copy_rows(engine, CatalogRow, reader, commit_each_chunk=True)
        except BulkLoadError as err:
            fix_the_input(err.row_index)
            copy_rows(engine, CatalogRow, reader_again, commit_each_chunk=True,
                      start=err.resume_from)
    """
    options = dict(columns=columns, chunk_size=chunk_size, chunk_bytes=chunk_bytes,
                   progress=progress, commit_each_chunk=commit_each_chunk, start=start)
    if isinstance(bind, Engine):
        if commit_each_chunk:
            with bind.connect() as connection:
                return copy_rows(connection, model_or_table, rows, **options)  # type: ignore[arg-type]
        with bind.begin() as connection:
            return copy_rows(connection, model_or_table, rows, **options)  # type: ignore[arg-type]
    connection = bind
    check_limits(connection, chunk_size, chunk_bytes)
    if commit_each_chunk and connection.in_transaction():
        raise ValueError(
            "copy_rows(commit_each_chunk=True) commits every chunk, so it needs a connection "
            "with no transaction in progress (e.g. a fresh engine.connect() or the engine "
            "itself), not session.connection() or one inside engine.begin(): commit or roll "
            "back first, or use the default atomic mode")
    table = resolve_table(model_or_table)
    prepared = prepare(connection, table, rows, columns, start)
    writer = make_writer(connection, qualified_name(connection, table), prepared)
    if commit_each_chunk and connection.in_transaction():
        connection.commit()  # only prepare()'s read of the column types ran in it
    with RowProgress(prepared.total, label=table.name, enabled=progress) as bar:
        if commit_each_chunk:
            return _write_committing(connection, writer, prepared, chunk_size, chunk_bytes,
                                     start, bar)
        return _write_atomically(connection, writer, prepared, chunk_size, chunk_bytes,
                                 start, bar)


def check_limits(connection: Connection, chunk_size: int, chunk_bytes: int) -> None:
    """Refuse bad chunk limits and PostgreSQL drivers other than psycopg 3."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    dialect = connection.dialect
    if dialect.name == "postgresql" and dialect.driver != "psycopg":
        raise TypeError(f"the bulk writers use COPY, which needs the psycopg 3 driver "
                        f"(postgresql+psycopg://), not {dialect.driver!r}")


def make_writer(connection: Connection, name: str, prepared: PreparedRows,
                ordinal: str | None = None) -> PostgresWriter | SQLiteWriter:
    """Return the writer of ``prepared``'s columns into table ``name``.

    With ``ordinal``, rows start with an extra ``bigint`` column of that name.
    """
    names = [c.name for c in prepared.columns]
    if ordinal is not None:
        names.insert(0, ordinal)
    if connection.dialect.name != "postgresql":
        return SQLiteWriter(connection, name, names)
    assert prepared.wire_types is not None  # prepared on PostgreSQL
    types = list(prepared.wire_types)
    if ordinal is not None:
        types.insert(0, "int8")
    return PostgresWriter(connection, name, names, types)


def _write_atomically(connection: Connection, writer: PostgresWriter | SQLiteWriter,
                      prepared: PreparedRows, chunk_size: int, chunk_bytes: int, start: int,
                      bar: RowProgress) -> int:
    written = 0
    try:
        with connection.begin_nested():
            for chunk in chunks(prepared, chunk_size, chunk_bytes, start):
                try:
                    writer.write(chunk.rows)
                except Exception as exc:
                    raise BulkLoadError(chunk.index, None, None,
                                        refusal(exc)) from exc
                written += len(chunk.rows)
                bar.advance(len(chunk.rows))
    except BulkLoadError as err:
        raise _annotated(err, start, "nothing of this call was written") from err.__cause__
    return written


def _write_committing(connection: Connection, writer: PostgresWriter | SQLiteWriter,
                      prepared: PreparedRows, chunk_size: int, chunk_bytes: int, start: int,
                      bar: RowProgress) -> int:
    committed = start
    try:
        for chunk in chunks(prepared, chunk_size, chunk_bytes, start):
            try:
                # An explicit transaction: COPY bypasses SQLAlchemy, which would
                # not autobegin one, and commit() would then do nothing.
                with connection.begin():
                    writer.write(chunk.rows)
            except Exception as exc:
                raise BulkLoadError(chunk.index, None, None,
                                    refusal(exc)) from exc
            committed = chunk.end
            bar.advance(len(chunk.rows))
    except BulkLoadError as err:
        connection.rollback()
        note = (f"input rows {start}..{committed - 1} are committed" if committed > start
                else "no chunk of this call was committed")
        raise _annotated(err, committed, f"{note}, resume with start={committed}") \
            from err.__cause__
    except BaseException:
        connection.rollback()
        raise
    return committed - start


def _annotated(err: BulkLoadError, resume_from: int, note: str) -> BulkLoadError:
    if isinstance(err, BulkValueError):
        return BulkValueError(err.chunk_index, err.row_index, err.column, err.message,
                              value=err.value, resume_from=resume_from, note=note)
    return BulkLoadError(err.chunk_index, err.row_index, err.column, err.message,
                         resume_from=resume_from, note=note)
