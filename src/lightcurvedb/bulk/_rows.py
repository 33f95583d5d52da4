"""Input rows to database values: normalising, validating and chunking for the bulk writers.

Rows arrive as dicts, tuples, a numpy structured array or an astropy Table;
:func:`prepare` pairs a chunked source of them (:mod:`._sources`) with the
per-column conversions, and :func:`chunks` converts one chunk at a time, a
column at a time, into rows ready to send; chunks are bounded both in rows and
in array bytes, so memory stays flat.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Column, LargeBinary, Table
from sqlalchemy.engine import Connection

from lightcurvedb.bulk._sources import MISSING, RawChunk, RowLengthError, Source, open_source
from lightcurvedb.bulk._wire import polygon_ewkb
from lightcurvedb.core.types import NumpyArray, SkyPolygonType

__all__ = ["BulkLoadError", "Chunk", "PreparedRows", "chunks", "prepare", "resolve_table"]

#: Default rows per chunk: the DESI seeds' sweet spot for scalar catalog rows.
DEFAULT_CHUNK_ROWS = 100_000
#: Default cap on the array/binary bytes buffered per chunk (64 MiB): about 140
#: light curves of 3 x 20,000 float64 points, so wide rows keep memory flat too.
DEFAULT_CHUNK_BYTES = 64 * 2**20


class BulkLoadError(ValueError):
    """A bulk write failed; the error says where and what was kept.

    Parameters
    ----------
    chunk_index : int or None
        0-based index of the failing chunk within the call (counted from
        ``start`` on a resumed load), or None when the failure is not tied to
        one chunk (e.g. the final ``INSERT`` of :func:`~lightcurvedb.bulk.upsert_rows`).
    row_index : int or None
        0-based index of the offending row in the whole input (``start``
        included), if known.
    column : str or None
        Name of the offending column, if known.
    message : str
        What went wrong.
    resume_from : int or None, optional
        The input row index to pass back as ``start=`` to
        :func:`~lightcurvedb.bulk.copy_rows`: where the committed rows end
        (with ``commit_each_chunk``), else the call's own ``start`` (nothing
        was kept). None from :func:`~lightcurvedb.bulk.upsert_rows`, which is
        idempotent: rerun it whole.
    note : str, optional
        Added to the text of the error (what was kept), not to ``message``.

    Attributes
    ----------
    chunk_index, row_index, column, message, resume_from
        As given.
    """

    def __init__(self, chunk_index: int | None, row_index: int | None, column: str | None,
                 message: str, *, resume_from: int | None = None, note: str = "") -> None:
        self.chunk_index = chunk_index
        self.row_index = row_index
        self.column = column
        self.message = message
        self.resume_from = resume_from
        where = []
        if chunk_index is not None:
            where.append(f"chunk {chunk_index}")
        if row_index is not None:
            where.append(f"row {row_index}")
        if column is not None:
            where.append(f"column {column!r}")
        at = f" at {', '.join(where)}" if where else ""
        super().__init__(f"bulk load failed{at}: {message}" + (f"; {note}" if note else ""))


def resolve_table(model_or_table: Any) -> Table:
    """Return the :class:`~sqlalchemy.Table` of a mapped class (or the table itself)."""
    if isinstance(model_or_table, Table):
        return model_or_table
    table = getattr(model_or_table, "__table__", None)
    if not isinstance(table, Table):
        raise TypeError(f"expected a mapped class or a Table, got {model_or_table!r}")
    return table


@dataclass
class PreparedRows:
    """The columns written, their conversions, and the input as a chunked source.

    ``names`` are the columns the caller supplied; ``columns`` adds the
    columns filled from their Python-side defaults. A processor of None
    leaves values as they are.
    """

    table: Table
    names: list[str]
    columns: list[Column[Any]]
    defaults: list[Column[Any]]
    processors: list[Callable[[Any], Any] | None]
    wide: set[str]
    source: Source
    total: int | None

    @property
    def empty(self) -> bool:
        """Whether the input (after ``start``) is known to hold no rows."""
        return self.total == 0


def prepare(connection: Connection, table: Table, rows: Any, columns: Sequence[str] | None,
            start: int = 0) -> PreparedRows:
    """Normalise ``rows`` for ``table``, skipping the first ``start`` input rows."""
    if start < 0:
        raise ValueError("start must be >= 0")
    source = open_source(rows, list(table.c.keys()), columns, start)
    names = source.names
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise ValueError(f"{table.fullname} has no column(s) {', '.join(unknown)}")
    cols = [table.c[name] for name in names]
    defaults = [c for c in table.c if c.key not in names and c.default is not None
                and (c.default.is_scalar or c.default.is_callable)]
    cols += defaults
    processors = [_processor(c, connection.dialect) for c in cols]
    wide = {c.name for c in cols if isinstance(c.type, (NumpyArray, LargeBinary, SkyPolygonType))}
    total = 0 if source.exhausted else source.total
    return PreparedRows(table, names, cols, defaults, processors, wide, source, total)


@dataclass
class Chunk:
    """Converted rows ready to send: ``rows[i]`` is input row ``first_row + i``."""

    index: int
    first_row: int
    rows: list[tuple[Any, ...]]

    @property
    def end(self) -> int:
        """The input row index just after this chunk."""
        return self.first_row + len(self.rows)


def chunks(prepared: PreparedRows, chunk_size: int, chunk_bytes: int, start: int = 0,
           *, ordinal: bool = False) -> Iterator[Chunk]:
    """Validate and convert rows, yielding a chunk every ``chunk_size`` rows or ``chunk_bytes``.

    With ``ordinal`` each converted tuple starts with its input row index.
    Raises :class:`BulkLoadError` at the first bad row; the rows before it in
    the same chunk are never yielded.
    """
    chunk_index, first_row = 0, start
    raw_chunks = prepared.source.raw_chunks(chunk_size, chunk_bytes, prepared.wide)
    while True:
        with _gc_paused():
            try:
                raw = next(raw_chunks, None)
            except RowLengthError as exc:
                raise BulkLoadError(chunk_index, start + exc.offset, None, str(exc)) from None
            if raw is None:
                return
            rows = _convert(prepared, raw, chunk_index, first_row, ordinal)
        yield Chunk(chunk_index, first_row, rows)
        chunk_index += 1
        first_row += raw.n


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a chunk's tuples are built.

    Building a chunk allocates millions of tuples, and each collection the
    allocations trigger walks them all again: without the pause, conversion of
    scalar rows takes about 2.5 times as long. The tuples hold no cycles, so
    nothing is left for the collector; it is switched back on (if it was on)
    as soon as the chunk is built.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _convert(prepared: PreparedRows, raw: RawChunk, chunk_index: int, first_row: int,
             ordinal: bool) -> list[tuple[Any, ...]]:
    """Convert a chunk a column at a time; on any problem, find the first bad row."""
    columns: list[Sequence[Any]] = list(raw.columns)
    columns += [[_default(c) for _ in range(raw.n)] for c in prepared.defaults]
    if raw.missing:
        _raise_first_error(prepared, columns, raw.n, chunk_index, first_row)
    converted: list[Sequence[Any]] = [range(first_row, first_row + raw.n)] if ordinal else []
    try:
        for values, process in zip(columns, prepared.processors, strict=True):
            if not raw.plain and any(issubclass(t, np.generic) for t in set(map(type, values))):
                values = [v.item() if isinstance(v, np.generic) else v for v in values]
            if process is not None:
                values = [process(v) for v in values]
            converted.append(values)
    except Exception:
        _raise_first_error(prepared, columns, raw.n, chunk_index, first_row)
        raise
    if not converted:  # no columns at all: one empty tuple per row
        return [()] * raw.n
    return list(zip(*converted, strict=True))


def _raise_first_error(prepared: PreparedRows, columns: list[Sequence[Any]], n: int,
                       chunk_index: int, first_row: int) -> None:
    """Convert row by row, raising :class:`BulkLoadError` at the first bad value."""
    for i in range(n):
        for column, process, values in zip(prepared.columns, prepared.processors, columns,
                                           strict=True):
            value = values[i]
            if value is MISSING:
                raise BulkLoadError(chunk_index, first_row + i, column.name, "missing value")
            try:
                value = _plain(value)
                if process is not None:
                    process(value)
            except Exception as exc:
                raise BulkLoadError(chunk_index, first_row + i, column.name, str(exc)) from exc


def _plain(value: Any) -> Any:
    """Turn numpy scalars into Python ones (drivers expect ``int``, not ``numpy.int64``)."""
    return value.item() if isinstance(value, np.generic) else value


def _default(column: Column[Any]) -> Any:
    default: Any = column.default
    return default.arg(None) if default.is_callable else default.arg


def _processor(column: Column[Any], dialect: Any) -> Callable[[Any], Any] | None:
    """Validate and convert one value like SQLAlchemy's bind processing would."""
    column_type = column.type
    if dialect.name == "postgresql":
        if isinstance(column_type, NumpyArray):
            what = f"{column.table.name}.{column.name}"
            return lambda v: None if v is None else column_type.coerce(v, what=what)
        if isinstance(column_type, SkyPolygonType):
            return lambda v: None if v is None else polygon_ewkb(v)
    return column_type.bind_processor(dialect)
