"""Input rows as column chunks: the bulk writers' view of dicts, tuples, arrays and Tables.

Each source cuts its input into chunks of at most ``chunk_size`` rows and about
``chunk_bytes`` of array/binary values, and hands each chunk over column by
column (a list of values per column), which the writers convert a column at a
time. numpy structured arrays and astropy Tables are sliced and converted with
``tolist()`` (C speed, Python scalars out); dicts are read with
:func:`operator.itemgetter`; tuples are transposed with ``zip``.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MISSING", "RawChunk", "RowLengthError", "Source", "open_source"]

#: Stands for a key a dict row lacks.
MISSING = object()


class RowLengthError(ValueError):
    """A row does not fit the columns: wrong number of values, or unexpected dict keys.

    ``offset`` counts rows after ``start``.
    """

    def __init__(self, offset: int, message: str) -> None:
        self.offset = offset
        super().__init__(message)


@dataclass
class RawChunk:
    """``columns[k][i]`` is the value of column ``k`` in the chunk's row ``i``."""

    columns: list[Sequence[Any]]
    n: int
    #: Values are already Python objects (no numpy scalars to convert).
    plain: bool
    #: Some dict row lacks a column (its value is :data:`MISSING`).
    missing: bool = False


class Source:
    """An input cut into :class:`RawChunk` objects."""

    names: list[str]
    #: Number of rows after ``start``, if known.
    total: int | None
    #: The input turned out to be empty.
    exhausted: bool = False

    def raw_chunks(self, chunk_size: int, chunk_bytes: int, wide: set[str]
                   ) -> Iterator[RawChunk]:
        """Yield the chunks; ``wide`` names the columns counted towards ``chunk_bytes``."""
        raise NotImplementedError


def open_source(rows: Any, default_names: list[str], columns: Sequence[str] | None,
                start: int) -> Source:
    """Return the source of ``rows``, skipping its first ``start`` rows."""
    if isinstance(rows, np.ndarray) and rows.dtype.names:
        return _ArraySource(rows[start:], list(columns or rows.dtype.names))
    if hasattr(rows, "colnames") and hasattr(rows, "columns"):  # astropy Table
        return _ArraySource(rows[start:], list(columns or rows.colnames))
    total = len(rows) - start if hasattr(rows, "__len__") else None
    return _IterableSource(rows, default_names, columns, start, total)


def _slice_column(column: Any) -> list[Any]:
    """One column of an array/Table slice as a list (None where an astropy mask is set)."""
    mask = np.ma.getmaskarray(column) if isinstance(column, np.ma.MaskedArray) else None
    data = np.asarray(column.data if mask is not None else column)
    if data.ndim > 1:
        return list(data)  # one ndarray per row, for array columns
    values: list[Any] = data.tolist()
    if mask is not None and mask.any():
        for i in np.flatnonzero(mask):
            values[i] = None
    return values


class _ArraySource(Source):
    def __init__(self, data: Any, names: list[str]) -> None:
        self.data = data
        self.names = names
        self.total = len(data)

    def raw_chunks(self, chunk_size: int, chunk_bytes: int, wide: set[str]
                   ) -> Iterator[RawChunk]:
        n_rows = len(self.data)
        row_bytes = sum(np.asarray(self.data[name][:1]).nbytes
                        for name in self.names if name in wide)
        step = min(chunk_size, max(1, -(-chunk_bytes // row_bytes))) if row_bytes else chunk_size
        for first in range(0, n_rows, step):
            part = self.data[first:first + step]
            yield RawChunk([_slice_column(part[name]) for name in self.names], len(part),
                           plain=True)


def _raw_size(value: Any) -> int:
    """Bytes of one array/binary value before conversion (lists count 8 per element)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return 8 * len(value)
    return 0


class _IterableSource(Source):
    def __init__(self, rows: Iterable[Any], default_names: list[str],
                 columns: Sequence[str] | None, start: int, total: int | None) -> None:
        iterator = iter(rows)
        first = next(iterator, None)
        self.total = None if total is None else max(total, 0)
        self.dicts = isinstance(first, dict)
        self.same_keys = False
        if first is None:
            self.exhausted, self.total = True, 0
            self.names = list(columns or default_names)
            self.rows: Iterator[Any] = iter(())
            return
        self.names = list(columns or (first.keys() if self.dicts else default_names))
        # Columns taken from the first dict: a later dict with other keys would
        # otherwise lose those values silently.
        self.same_keys = self.dicts and columns is None
        self.rows = itertools.islice(itertools.chain([first], iterator), start, None)

    def _getter(self) -> Callable[[Any], Sequence[Any]]:
        names = self.names
        if len(names) == 1:
            name = names[0]
            return lambda row: (row[name],)
        return operator.itemgetter(*names)

    def raw_chunks(self, chunk_size: int, chunk_bytes: int, wide: set[str]
                   ) -> Iterator[RawChunk]:
        names, n_names = self.names, len(self.names)
        wide_positions = [i for i, name in enumerate(names) if name in wide]
        getter = self._getter() if self.dicts else None
        buffer: list[Sequence[Any]] = []
        buffered_bytes, missing, offset = 0, False, 0
        for row in self.rows:
            if getter is not None:
                try:
                    values = getter(row)
                except KeyError:
                    values = tuple(row.get(name, MISSING) for name in names)
                    missing = True
                if self.same_keys and len(row) > n_names:
                    extra = sorted(set(row) - set(names))
                    if extra:
                        raise RowLengthError(offset + len(buffer), (
                            f"keys {', '.join(map(repr, extra))} are not among the columns "
                            "taken from the first row; pass columns= to choose them"))
            else:
                values = row
                if len(values) != n_names:
                    raise RowLengthError(offset + len(buffer),
                                         f"expected {n_names} values, got {len(values)}")
            buffer.append(values)
            for i in wide_positions:
                buffered_bytes += _raw_size(values[i])
            if len(buffer) >= chunk_size or buffered_bytes >= chunk_bytes:
                yield self._chunk(buffer, missing)
                offset += len(buffer)
                buffer, buffered_bytes, missing = [], 0, False
        if buffer:
            yield self._chunk(buffer, missing)

    def _chunk(self, buffer: list[Sequence[Any]], missing: bool) -> RawChunk:
        columns: list[Sequence[Any]] = list(zip(*buffer, strict=True)) if self.names else []
        return RawChunk(columns, len(buffer), plain=False, missing=missing)
