"""Idempotent bulk writes: :func:`upsert_rows` inserts new rows and updates changed ones.

Both backends stage the input first, in a temporary table filled the way
:func:`~lightcurvedb.bulk.copy_rows` fills tables (binary ``COPY`` on
PostgreSQL, ``executemany`` on SQLite), then merge it into the target with one
``INSERT ... SELECT ... ON CONFLICT`` statement.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Engine

from lightcurvedb.bulk._copy import check_limits, make_writer
from lightcurvedb.bulk._keys import ConflictKey, resolve_conflict, resolve_update
from lightcurvedb.bulk._progress import RowProgress
from lightcurvedb.bulk._rows import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CHUNK_ROWS,
    BulkLoadError,
    PreparedRows,
    chunks,
    prepare,
    refusal,
    resolve_table,
)
from lightcurvedb.bulk._wire import qualified_name
from lightcurvedb.core.types import NumpyArray

__all__ = ["UpsertResult", "upsert_rows"]

_ORDINAL = "_lcdb_row"
_TARGET = "_lcdb_target"


@dataclass(frozen=True)
class UpsertResult:
    """What one :func:`upsert_rows` call did with its input rows.

    ``inserted + updated + unchanged`` is the number of input rows.

    Attributes
    ----------
    inserted : int
        Rows whose key was not in the table (or had a NULL in it), now inserted.
    updated : int
        Rows whose key existed with different values in the updated columns,
        now updated.
    unchanged : int
        Rows whose key existed and that were left alone: identical values, or
        ``update=None`` (``DO NOTHING``).
    """

    inserted: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        """The number of input rows."""
        return self.inserted + self.updated + self.unchanged


def upsert_rows(bind: Connection | Engine, model_or_table: Any, rows: Any, *,
                conflict: str | Sequence[str] | None = None,
                update: str | Sequence[str] | None = None,
                columns: Sequence[str] | None = None, chunk_size: int = DEFAULT_CHUNK_ROWS,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES, progress: bool = False
                ) -> UpsertResult:
    """Insert rows that are new and (optionally) update the ones that changed, atomically.

    Loading the same input twice changes nothing the second time: every row
    is then counted ``unchanged``.

    Parameters
    ----------
    bind : sqlalchemy.engine.Connection or sqlalchemy.engine.Engine
        Where to write, as for :func:`~lightcurvedb.bulk.copy_rows`: a
        connection keeps the work in its transaction, an engine commits it.
    model_or_table : mapped class or sqlalchemy.Table
        A mapped class or its table.
    rows : iterable of dict or tuple, numpy structured array or astropy Table
        The rows, as for :func:`~lightcurvedb.bulk.copy_rows`. Each key may
        appear at most once.
    conflict : str or sequence of str, optional
        The columns of the unique key that decides whether a row already
        exists: the primary key, a unique constraint or a unique index. Default:
        the one such key (partial indexes aside) whose columns the input all
        supplies; if there are several, say which. Naming the columns of a
        partial unique index (e.g. ``quality_flag_array``'s ``(type,
        observation_id) WHERE target_id IS NULL``) arbitrates on it; the rows
        must then all satisfy its predicate (rows that don't are inserted, and
        collide with other keys as errors).
    update : None, "all" or sequence of str, optional
        None (default): existing rows are left alone (``ON CONFLICT DO
        NOTHING``). ``"all"``: every supplied column outside the key is
        updated; a list: those columns. Rows are updated only where at least
        one of those columns differs (``IS DISTINCT FROM``, so NULLs compare
        equal to NULLs and NaN to NaN).
    columns : sequence of str, optional
        The columns supplied, as for :func:`~lightcurvedb.bulk.copy_rows`.
    chunk_size, chunk_bytes : int, optional
        Chunking of the staging writes, as for :func:`~lightcurvedb.bulk.copy_rows`.
    progress : bool, optional
        Draw a progress bar of rows staged on stderr.

    Returns
    -------
    UpsertResult
        Rows inserted, updated and unchanged.

    Raises
    ------
    BulkLoadError
        If a value fails validation, a key appears twice in the input (the
        error names the key and both rows), or the database refuses the rows
        (e.g. a foreign key); the table is then as it was before the call.
        ``resume_from`` is None: upserts are idempotent, rerun them whole.
    ValueError
        For unknown columns, or a conflict key or update list that does not fit.
    TypeError
        On PostgreSQL through a driver other than psycopg 3.

    Notes
    -----
    The counts are exact on both backends when no other transaction writes
    the same keys concurrently: rows whose key already exists are counted in
    the same statement snapshot as the merge (PostgreSQL) or under SQLite's
    single-writer lock, and the rows the merge touched come from ``RETURNING``
    (PostgreSQL) or ``changes()`` (SQLite). If a concurrent transaction
    inserts one of the keys meanwhile, ``inserted + updated`` stays exact but
    the split between them may not be.
    """
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            return upsert_rows(connection, model_or_table, rows, conflict=conflict,
                               update=update, columns=columns, chunk_size=chunk_size,
                               chunk_bytes=chunk_bytes, progress=progress)
    connection = bind
    check_limits(connection, chunk_size, chunk_bytes)
    table = resolve_table(model_or_table)
    prepared = prepare(connection, table, rows, columns)
    if prepared.empty:
        return UpsertResult(0, 0, 0)
    key = resolve_conflict(table, prepared.names, conflict, connection.dialect.name)
    updated_columns = resolve_update(table, prepared.names, key, update)
    merge = _Merge(connection, table, prepared, key, updated_columns)
    with connection.begin_nested(), \
            RowProgress(prepared.total, label=table.name, enabled=progress) as bar:
        merge.create_stage()
        writer = make_writer(connection, merge.stage, prepared, ordinal=_ORDINAL)
        staged = 0
        for chunk in chunks(prepared, chunk_size, chunk_bytes, ordinal=True):
            try:
                writer.write(chunk.rows)
            except Exception as exc:
                raise BulkLoadError(chunk.index, None, None,
                                    refusal(exc)) from exc
            staged += len(chunk.rows)
            bar.advance(len(chunk.rows))
        merge.refuse_duplicates()
        try:
            touched, existing = merge.run()
        except Exception as exc:
            raise BulkLoadError(None, None, None, refusal(exc)) from exc
        merge.drop_stage()
    inserted = staged - existing
    updated = touched - inserted
    return UpsertResult(inserted, updated, staged - inserted - updated)


class _Merge:
    """The SQL of one upsert: staging table, duplicate check and the merge itself."""

    def __init__(self, connection: Connection, table: Table, prepared: PreparedRows,
                 key: ConflictKey, update: list[str]) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.quote = connection.dialect.identifier_preparer.quote
        self.table = table
        self.target = qualified_name(connection, table)
        self.prepared = prepared
        self.key = key
        self.update = update
        name = f"_lcdb_stage_{secrets.token_hex(6)}"
        self.stage = self.quote(name) if self.postgres else f"temp.{self.quote(name)}"
        self.where = None if key.where is None else self._compile(key.where)
        self.arbiter = key.columns
        rowid = self._sqlite_rowid_column()
        if rowid is not None and rowid in key.columns and len(key.columns) > 1:
            # SQLite cannot arbitrate on a unique index holding the rowid alias
            # (INTEGER PRIMARY KEY), e.g. dataset's (id, observation_id): "ON
            # CONFLICT clause does not match". The rowid alone is unique there;
            # refuse_duplicates() checks the key's other columns agree.
            self.arbiter = (rowid,)

    def _sqlite_rowid_column(self) -> str | None:
        """Return the ``INTEGER PRIMARY KEY`` (rowid alias) column on SQLite, if any."""
        pk = list(self.table.primary_key.columns)
        if self.postgres or len(pk) != 1:
            return None
        declared = pk[0].type.compile(dialect=self.connection.dialect).upper()
        return pk[0].name if declared == "INTEGER" else None

    def _compile(self, clause: Any) -> str:
        """Compile a partial index's predicate with unqualified column names."""
        dialect = self.connection.dialect
        compiler = dialect.ddl_compiler(dialect, None)  # type: ignore[arg-type]
        return str(compiler.sql_compiler.process(clause, include_table=False,
                                                 literal_binds=True))

    def _exec(self, sql: str) -> Any:
        return self.connection.exec_driver_sql(sql)

    def create_stage(self) -> None:
        q = self.quote
        names = [c.name for c in self.prepared.columns]
        if self.postgres:
            # Same column types as the target, no constraints or defaults; arrays
            # stored uncompressed (noisy floats don't compress, pglz only costs time).
            self._exec(f"CREATE TEMP TABLE {self.stage} ON COMMIT DROP AS "
                       f"SELECT NULL::bigint AS {q(_ORDINAL)}, "
                       f"{', '.join(q(n) for n in names)} FROM {self.target} WITH NO DATA")
            for column in self.prepared.columns:
                if isinstance(column.type, NumpyArray):
                    self._exec(f"ALTER TABLE {self.stage} ALTER COLUMN {q(column.name)} "
                               "SET STORAGE EXTERNAL")
        else:
            # Untyped columns have no affinity, so SQLite keeps each value as bound.
            self._exec(f"CREATE TEMP TABLE {self.stage} "
                       f"({', '.join(q(n) for n in [_ORDINAL, *names])})")

    def drop_stage(self) -> None:
        self._exec(f"DROP TABLE {self.stage}")

    def _key_filter(self, alias: str) -> str:
        """Rows that can conflict on the key: no NULL in it, predicate true."""
        q = self.quote
        parts = [f"{alias}.{q(c)} IS NOT NULL" for c in self.key.columns]
        if self.where is not None:
            parts.append(f"({self.where})")
        return " AND ".join(parts)

    def refuse_duplicates(self) -> None:
        """Raise :class:`BulkLoadError` naming a key that appears twice in the input."""
        q = self.quote
        keys = ", ".join(f"s.{q(c)}" for c in self.key.columns)
        row = self._exec(
            f"SELECT {keys}, min(s.{q(_ORDINAL)}), max(s.{q(_ORDINAL)}), count(*) "
            f"FROM {self.stage} AS s WHERE {self._key_filter('s')} GROUP BY {keys} "
            f"HAVING count(*) > 1 ORDER BY min(s.{q(_ORDINAL)}) LIMIT 1").first()
        if row is None:
            self._refuse_moved_keys()
            return
        n = len(self.key.columns)
        values, (first, last, count) = tuple(row[:n]), tuple(row[n:])
        shown = ", ".join(f"{c}={v!r}" for c, v in zip(self.key.columns, values, strict=True))
        rows = f"rows {first} and {last}" if count == 2 else \
            f"{count} rows, first {first}, last {last}"
        raise BulkLoadError(None, int(last), None,
                            f"key {shown} appears more than once in the input ({rows}); "
                            f"each {self.key.describe()} may appear once per upsert")

    def _refuse_moved_keys(self) -> None:
        """Refuse rows whose primary key exists with other values of a wider conflict key.

        E.g. ``dataset`` upserted on ``(id, observation_id)``: an existing ``id``
        under another observation is an error, not a new row (a partitioned
        PostgreSQL table could not tell) nor an update (SQLite's rowid arbiter).
        """
        q = self.quote
        pk = [c.name for c in self.table.primary_key.columns]
        others = [c for c in self.key.columns if c not in pk]
        if not pk or not others or not set(pk) < set(self.key.columns):
            return
        pks = ", ".join(f"s.{q(c)}" for c in pk)
        twice = self._exec(
            f"SELECT {pks}, min(s.{q(_ORDINAL)}), max(s.{q(_ORDINAL)}) FROM {self.stage} AS s "
            f"WHERE {' AND '.join(f's.{q(c)} IS NOT NULL' for c in pk)} GROUP BY {pks} "
            f"HAVING count(*) > 1 ORDER BY min(s.{q(_ORDINAL)}) LIMIT 1").first()
        if twice is not None:
            shown = ", ".join(f"{c}={v!r}" for c, v in zip(pk, twice, strict=False))
            raise BulkLoadError(None, int(twice[-1]), None,
                                f"{shown} appears more than once in the input (rows "
                                f"{twice[-2]} and {twice[-1]}) under different "
                                f"{', '.join(others)}: a primary key names one row")
        same = " AND ".join(f"e.{q(c)} = s.{q(c)}" for c in pk)
        differs = " OR ".join(f"e.{q(c)} IS DISTINCT FROM s.{q(c)}" if self.postgres
                              else f"e.{q(c)} IS NOT s.{q(c)}" for c in others)
        row = self._exec(
            f"SELECT s.{q(_ORDINAL)}, {', '.join(f's.{q(c)}' for c in pk)} "
            f"FROM {self.stage} AS s JOIN {self.target} AS e ON {same} WHERE {differs} "
            f"ORDER BY s.{q(_ORDINAL)} LIMIT 1").first()
        if row is not None:
            shown = ", ".join(f"{c}={v!r}" for c, v in zip(pk, row[1:], strict=True))
            raise BulkLoadError(None, int(row[0]), None,
                                f"{shown} already exists with other values of "
                                f"{', '.join(others)}: not the same {self.key.describe()}")

    def run(self) -> tuple[int, int]:
        """Merge the stage into the target; return (rows touched, input rows already there)."""
        q = self.quote
        names = ", ".join(q(c.name) for c in self.prepared.columns)
        keys = ", ".join(q(c) for c in self.arbiter)
        target_where = f" WHERE {self.where}" if self.where is not None else ""
        if self.update:
            mine = ", ".join(f"{q(_TARGET)}.{q(c)}" for c in self.update)
            theirs = ", ".join(f"excluded.{q(c)}" for c in self.update)
            distinct = "IS DISTINCT FROM" if self.postgres else "IS NOT"
            action = (f"DO UPDATE SET {', '.join(f'{q(c)} = excluded.{q(c)}' for c in self.update)}"
                      f" WHERE ({mine}) {distinct} ({theirs})")
        else:
            action = "DO NOTHING"
        matches = " AND ".join(f"e.{q(c)} = s.{q(c)}" for c in self.key.columns)
        existing = (f"SELECT count(*) FROM {self.stage} AS s WHERE {self._key_filter('s')} "
                    f"AND EXISTS (SELECT 1 FROM {self.target} AS e WHERE {matches}"
                    f"{' AND ' + self.where if self.where is not None else ''})")
        insert = (f"INSERT INTO {self.target} AS {q(_TARGET)} ({names}) "
                  f"SELECT {names} FROM {self.stage} WHERE true ORDER BY {q(_ORDINAL)} "
                  f"ON CONFLICT ({keys}){target_where} {action}")
        if self.postgres:
            # One statement, one snapshot: "existing" sees the table before the merge.
            row = self._exec(f"WITH merged AS ({insert} RETURNING 1) "
                             f"SELECT (SELECT count(*) FROM merged), ({existing})").one()
            return int(row[0]), int(row[1])
        before = int(self._exec(existing).scalar_one())
        self._exec(insert)
        touched = int(self._exec("SELECT changes()").scalar_one())
        return touched, before
