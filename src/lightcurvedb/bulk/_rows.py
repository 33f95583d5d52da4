"""Input rows to database values: normalising, validating and chunking for the bulk writers.

Rows arrive as dicts, tuples, a numpy structured array or an astropy Table;
:func:`prepare` pairs a chunked source of them (:mod:`._sources`) with the
per-column conversions, and :func:`chunks` converts one chunk at a time, a
column at a time, into rows ready to send (for PostgreSQL :class:`ColumnRows`,
numeric and text columns as numpy arrays for :mod:`._binary`); chunks are
bounded both in rows and in array bytes, so memory stays flat.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Column, LargeBinary, Table
from sqlalchemy.engine import Connection, processors

from lightcurvedb.bulk import _binary
from lightcurvedb.bulk._errors import BulkLoadError, BulkValueError, refusal
from lightcurvedb.bulk._sources import MISSING, RawChunk, RowLengthError, Source, open_source
from lightcurvedb.bulk._sources import _slice_column as slice_column
from lightcurvedb.bulk._wire import pg_wire_types, polygon_ewkb
from lightcurvedb.core.column_rules import ColumnRule, column_rule, describe_value
from lightcurvedb.core.row_checks import first_problem
from lightcurvedb.core.types import NumpyArray, SkyPolygonType

__all__ = ["BulkLoadError", "BulkValueError", "Chunk", "ColumnRows", "PreparedRows", "chunks",
           "prepare", "refusal", "resolve_table"]

#: Default rows per chunk: the DESI seeds' sweet spot for scalar catalog rows.
DEFAULT_CHUNK_ROWS = 100_000
#: Default cap on the array/binary bytes buffered per chunk (64 MiB): about 140
#: light curves of 3 x 20,000 float64 points, so wide rows keep memory flat too.
DEFAULT_CHUNK_BYTES = 64 * 2**20


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
    #: Chunks hold :class:`ColumnRows` (numpy columns kept as arrays) rather
    #: than tuples: for the binary ``COPY`` encoder (PostgreSQL).
    columnar: bool = False
    #: With ``columnar``: each column's psycopg type name (see :func:`pg_wire_types`).
    wire_types: list[str] | None = None
    #: What each of ``columns`` accepts (:mod:`lightcurvedb.core.column_rules`).
    rules: list[ColumnRule] | None = None

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
    columnar = connection.dialect.name == "postgresql"
    wire_types = pg_wire_types(connection, table, cols) if columnar else None
    wires: list[str | None] = list(wire_types) if wire_types else [None] * len(cols)
    processors = [_processor(c, connection.dialect, wire)
                  for c, wire in zip(cols, wires, strict=True)]
    wide = {c.name for c in cols if isinstance(c.type, (NumpyArray, LargeBinary, SkyPolygonType))}
    total = 0 if source.exhausted else source.total
    return PreparedRows(table, names, cols, defaults, processors, wide, source, total,
                        columnar=columnar, wire_types=wire_types,
                        rules=[column_rule(c) for c in cols])


class ColumnRows(Sequence[tuple[Any, ...]]):
    """Converted rows held column-wise; iterating yields the row tuples.

    ``columns[k]`` is either a list of converted values or a 1-D numpy array
    (a column with no bind processing), whose NULLs ``masks[k]`` marks.
    """

    def __init__(self, columns: list[Any], masks: list[np.ndarray | None], n: int) -> None:
        self.columns = columns
        self.masks = masks
        self.n = n

    def __len__(self) -> int:
        return self.n

    def lists(self) -> list[list[Any]]:
        """Every column as a list of Python values (None for NULL)."""
        out = []
        for values, mask in zip(self.columns, self.masks, strict=True):
            if isinstance(values, np.ndarray):
                values = values.tolist()
                if mask is not None:
                    for i in np.flatnonzero(mask):
                        values[i] = None
            out.append(values)
        return out

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        if not self.columns:
            return iter([()] * self.n)
        return zip(*self.lists(), strict=True)

    def __getitem__(self, index: Any) -> Any:
        return list(self)[index]


@dataclass
class Chunk:
    """Converted rows ready to send: ``rows[i]`` is input row ``first_row + i``."""

    index: int
    first_row: int
    rows: Sequence[tuple[Any, ...]]

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
    if prepared.columnar and hasattr(prepared.source, "data"):
        raw_chunks = _array_chunks(prepared, chunk_size, chunk_bytes)
    else:
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


def _array_chunks(prepared: PreparedRows, chunk_size: int, chunk_bytes: int
                  ) -> Iterator[RawChunk]:
    """Chunks of a structured array or Table, keeping plain numeric/text columns as arrays.

    A column with no bind processing whose dtype the binary encoder knows
    (``_ARRAY_KINDS``) stays a 1-D numpy array (its mask, if any, goes into
    ``RawChunk.masks``); others become lists as in :mod:`._sources`.
    """
    data: Any = prepared.source.data  # type: ignore[attr-defined]
    names = prepared.source.names
    n_rows = len(data)
    row_bytes = sum(np.asarray(data[name][:1]).nbytes for name in names if name in prepared.wide)
    step = min(chunk_size, max(1, -(-chunk_bytes // row_bytes))) if row_bytes else chunk_size
    keep = [process is None or process is processors.to_float
            for process in prepared.processors[:len(names)]]
    for first in range(0, n_rows, step):
        part = data[first:first + step]
        columns: list[Any] = []
        masks: list[np.ndarray | None] = []
        for name, as_array in zip(names, keep, strict=True):
            column = part[name]
            values = np.asarray(column.data if isinstance(column, np.ma.MaskedArray)
                                else column)
            if as_array and values.ndim == 1 and values.dtype.kind in _ARRAY_KINDS and (
                    prepared.processors[len(columns)] is None or values.dtype.kind in "iuf"):
                mask = (np.ma.getmaskarray(column) if isinstance(column, np.ma.MaskedArray)
                        else None)
                columns.append(values)
                masks.append(mask if mask is not None and mask.any() else None)
            else:
                columns.append(slice_column(column))
                masks.append(None)
        yield _ArrayChunk(columns, len(part), plain=True, masks=masks)


@dataclass
class _ArrayChunk(RawChunk):
    """A :class:`RawChunk` some of whose columns are numpy arrays, NULLs in ``masks``."""

    masks: list[np.ndarray | None] | None = None


#: numpy dtype kinds kept as arrays for the binary encoder: ints, floats, bools, str.
#: Kept only for columns with no bind processing, or SQLAlchemy's ``float(v)`` of
#: float columns, which for numeric arrays the encoder's ``astype`` matches.
_ARRAY_KINDS = frozenset("iufbU")
#: Python types whose ``float(v)`` psycopg's float dumpers do themselves.
_FLOAT_INPUTS = frozenset({float, int, type(None)})


def _convert(prepared: PreparedRows, raw: RawChunk, chunk_index: int, first_row: int,
             ordinal: bool) -> Sequence[tuple[Any, ...]]:
    """Convert a chunk a column at a time; on any problem, find the first bad row."""
    columns: list[Sequence[Any]] = list(raw.columns)
    columns += [[_default(c) for _ in range(raw.n)] for c in prepared.defaults]
    raw_masks = raw.masks if isinstance(raw, _ArrayChunk) else None
    masks: list[np.ndarray | None] = list(raw_masks or [None] * len(raw.columns))
    masks += [None] * len(prepared.defaults)
    if raw.missing:
        _raise_first_error(prepared, columns, raw.n, chunk_index, first_row)
    if prepared.rules is not None:
        found = first_problem(prepared.rules, columns, masks)
        if found is not None:
            row, k, value, reason = found
            raise BulkValueError(chunk_index, first_row + row, prepared.columns[k].name,
                                 f"{describe_value(value)}: {reason}", value=value)
    if prepared.columnar:
        return _convert_columns(prepared, raw, columns, masks, chunk_index, first_row,
                                ordinal)
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


def _convert_columns(prepared: PreparedRows, raw: RawChunk, columns: list[Sequence[Any]],
                     masks: list[np.ndarray | None], chunk_index: int, first_row: int,
                     ordinal: bool) -> ColumnRows:
    """Convert a chunk into :class:`ColumnRows`, numpy columns left as they are."""
    converted: list[Any] = []
    out_masks: list[np.ndarray | None] = []
    if ordinal:
        converted.append(np.arange(first_row, first_row + raw.n, dtype=np.int64))
        out_masks.append(None)
    try:
        wire_types = prepared.wire_types or [""] * len(columns)
        for values, mask, process, wire in zip(columns, masks, prepared.processors,
                                               wire_types, strict=True):
            if isinstance(values, np.ndarray):  # no processor: nothing to convert
                converted.append(values)
                out_masks.append(mask)
                continue
            types = set(map(type, values))
            if not raw.plain and any(issubclass(t, np.generic) for t in types):
                values = [v.item() if isinstance(v, np.generic) else v for v in values]
                types = set(map(type, values))
            if process is processors.to_float and types <= _FLOAT_INPUTS:
                process = None  # the encoder (or psycopg) converts ints and floats alike
            if process is not None:
                values = [process(v) for v in values]
            as_array = _binary.column_array(values, wire, None if process else types) \
                if _binary.encodable_type(wire) else None
            converted.append(values if as_array is None else as_array[0])
            out_masks.append(None if as_array is None else as_array[1])
    except Exception:
        _raise_first_error(prepared, [ColumnRows([c], [m], raw.n).lists()[0]
                                      for c, m in zip(columns, masks, strict=True)],
                           raw.n, chunk_index, first_row)
        raise
    return ColumnRows(converted, out_masks, raw.n)


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
                raise BulkValueError(chunk_index, first_row + i, column.name, str(exc),
                                     value=value) from exc


def _plain(value: Any) -> Any:
    """Turn numpy scalars into Python ones (drivers expect ``int``, not ``numpy.int64``)."""
    return value.item() if isinstance(value, np.generic) else value


def _default(column: Column[Any]) -> Any:
    default: Any = column.default
    return default.arg(None) if default.is_callable else default.arg


def _processor(column: Column[Any], dialect: Any, wire_type: str | None = None
               ) -> Callable[[Any], Any] | None:
    """Validate and convert one value like SQLAlchemy's bind processing would.

    On PostgreSQL a footprint becomes EWKB for a PostGIS column (``wire_type``
    ``bytea``) and well-known text for a text one.
    """
    column_type = column.type
    if dialect.name == "postgresql":
        if isinstance(column_type, NumpyArray):
            what = f"{column.table.name}.{column.name}"
            return lambda v: None if v is None else column_type.coerce(v, what=what)
        if isinstance(column_type, SkyPolygonType):
            if wire_type == "bytea":
                return lambda v: None if v is None else polygon_ewkb(v)
            return lambda v: column_type.process_bind_param(v, dialect)
    return column_type.bind_processor(dialect)
