"""Keys a catalog file shares with its destination, or repeats within itself.

Two things the catalog loader learns about keys besides their uniqueness
(:class:`~lightcurvedb.loaders.catalog_validation.KeyCheck`):

* :class:`ExistingKeys` -- which rows of the file have a key already in the
  destination (looked up chunk by chunk, a batch of keys per query). When
  existing keys are *reused* rather than refused, the stored row is the row
  of that key: its other loaded columns are compared with the file's, a
  stored NULL is filled from the file, a stored value that differs from the
  file's is a conflict, which refuses the file.
* :class:`RepeatedValues` -- in a table that lists a key on several rows (one
  per exposure), whether those rows agree on the other loaded columns.

Nothing here writes but :func:`fill_values`, which the loader calls inside the
file's SAVEPOINT.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Column, Table, and_, bindparam, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from lightcurvedb.loaders.catalog_validation import key_value
from lightcurvedb.loaders.report import LoaderError

__all__ = ["ExistingKeys", "RepeatedValues", "fill_values"]

#: Keys looked up in the destination per query (well under every driver's parameter limit).
KEY_BATCH = 5_000
#: Examples kept for a message.
EXAMPLES = 5


def _python(values: npt.NDArray[Any], nulls: npt.NDArray[np.bool_] | None) -> list[Any]:
    """One column of a chunk as Python values, None where null."""
    out = values.tolist()
    if nulls is not None:
        for row in np.flatnonzero(nulls):
            out[row] = None
    return out


class ExistingKeys:
    """Find the rows of a file whose key is already in the destination, chunk by chunk.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection
        The database.
    table : sqlalchemy.Table
        The destination.
    key : sequence of sqlalchemy.Column
        The destination columns of the key.
    constants : mapping of str to object
        Destination column -> the value every row of this load gets; narrows
        the lookup (``catalog_id``: keys are per catalog).
    n_rows : int
        Rows in the file.
    compare : sequence of (str, sqlalchemy.Column), optional
        Loaded non-key columns (FITS name, destination column) to compare with
        the stored rows: given when existing keys are reused.
    """

    def __init__(self, connection: Connection, table: Table, key: Sequence[Column[Any]],
                 constants: Mapping[str, Any], n_rows: int,
                 compare: Sequence[tuple[str, Column[Any]]] = ()) -> None:
        self.connection = connection
        self.key = list(key)
        self.scope = [table.c[name] == value for name, value in constants.items()]
        self.compare = list(compare)
        #: Which rows of the file have a key already in the destination.
        self.rows = np.zeros(n_rows, dtype=bool)
        #: Keys whose stored values differ from the file's: key -> first difference.
        self.conflicts: dict[Any, str] = {}
        #: Stored NULLs the file fills: key -> {destination column: value}.
        self.fills: dict[Any, dict[str, Any]] = {}

    def _stored(self, keys: list[Any]) -> dict[Any, tuple[Any, ...]]:
        """Return the stored rows of these keys: key -> values of the compared columns."""
        found: dict[Any, tuple[Any, ...]] = {}
        wanted = [dest for _, dest in self.compare]
        single = len(self.key) == 1
        for start in range(0, len(keys), KEY_BATCH):
            batch = keys[start:start + KEY_BATCH]
            match = self.key[0].in_(batch) if single else tuple_(*self.key).in_(batch)
            query = select(*self.key, *wanted).where(and_(match, *self.scope))
            for row in self.connection.execute(query):
                stored = row[0] if single else tuple(row[:len(self.key)])
                found[stored] = tuple(row[len(self.key):])
        return found

    def update(self, start: int, key_values: Sequence[npt.NDArray[Any]],
               values: Mapping[str, npt.NDArray[Any]],
               nulls: Mapping[str, npt.NDArray[np.bool_] | None]) -> None:
        """Look up the keys of rows ``start:start + len(chunk)`` of the file.

        Parameters
        ----------
        start : int
            The chunk's first row in the file.
        key_values : sequence of numpy.ndarray
            The chunk's key columns, in the order of ``key``.
        values, nulls : mapping of str to numpy.ndarray
            The chunk's compared columns (by FITS name) and their null masks.
        """
        columns = [k.tolist() for k in key_values]
        keys = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
        unique = list(dict.fromkeys(keys))
        stored = self._stored(unique)
        if not stored:
            return
        if len(columns) == 1:
            found = np.isin(key_values[0], np.array(list(stored)))
        else:
            found = np.fromiter((k in stored for k in keys), dtype=bool, count=len(keys))
        self.rows[start:start + len(found)] = found
        if not self.compare:
            return
        file_values = {name: _python(values[name], nulls.get(name)) for name, _ in self.compare}
        for row in np.flatnonzero(found):
            key = keys[row]
            for (name, dest), held in zip(self.compare, stored[key], strict=True):
                given = file_values[name][row]
                if given is None or given == held or key in self.conflicts:
                    continue
                if held is None:
                    self.fills.setdefault(key, {})[dest.name] = given
                else:
                    self.conflicts[key] = (f"{name} {given!r} in the file, {held!r} "
                                           f"stored")

    def conflict_problem(self, key_columns: Sequence[str], destination: str) -> str | None:
        """Return the sentence refusing a file whose values contradict stored rows, or None."""
        if not self.conflicts:
            return None
        shown = "; ".join(f"{key}: {why}" for key, why in list(self.conflicts.items())[:EXAMPLES])
        return (f"{len(self.conflicts):,} key(s) of {', '.join(key_columns)} already in "
                f"{destination} hold other values than the file's (e.g. {shown})")


class RepeatedValues:
    """Whether the rows that repeat a key agree on the other loaded columns.

    The values of every row are kept (one fixed-width array per column, text as
    ASCII bytes) and compared once at the end, in key order.

    Parameters
    ----------
    names : sequence of str
        The loaded non-key FITS columns.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self._values: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in self.names}
        self._nulls: dict[str, list[npt.NDArray[np.bool_]]] = {name: [] for name in self.names}

    def update(self, values: Mapping[str, npt.NDArray[Any]],
               nulls: Mapping[str, npt.NDArray[np.bool_] | None]) -> None:
        """Add one chunk of every column (as :func:`read_column` returns them)."""
        for name in self.names:
            column = values[name]
            if column.dtype.kind == "U":
                column = np.char.encode(column, "ascii")  # read_column checked: ASCII only
            mask = nulls.get(name)
            self._values[name].append(column)
            self._nulls[name].append(np.zeros(len(column), dtype=bool) if mask is None
                                     else mask)

    def disagreeing(self, keys: npt.NDArray[Any]) -> tuple[int, list[str]]:
        """Return how many keys have rows that disagree, and a few of them with the column.

        Parameters
        ----------
        keys : numpy.ndarray
            The key of every row, in file order (as :meth:`KeyCheck.values` gives it).
        """
        if not self.names or len(keys) < 2:
            return 0, []
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        same = ordered[1:] == ordered[:-1]
        bad = np.zeros(len(same), dtype=bool)
        first_column: dict[int, str] = {}
        for name in self.names:
            values = np.concatenate(self._values[name])[order]
            nulls = np.concatenate(self._nulls[name])[order]
            differ = values[1:] != values[:-1]
            if differ.ndim > 1:
                differ = differ.reshape(len(differ), -1).any(axis=1)
            differ = (nulls[1:] != nulls[:-1]) | (~nulls[1:] & differ)
            for row in np.flatnonzero(same & differ & ~bad)[:EXAMPLES]:
                first_column.setdefault(int(row), name)
            bad |= same & differ
        culprits = np.unique(ordered[1:][bad])
        shown = [f"{key_value(ordered[row + 1])} ({name})"
                 for row, name in sorted(first_column.items())[:EXAMPLES]]
        return len(culprits), shown


def fill_values(connection: Connection, path: str | os.PathLike[str], table: Table,
                key: Sequence[Column[Any]], constants: Mapping[str, Any],
                fills: Mapping[Any, Mapping[str, Any]]) -> int:
    """Write the stored NULLs that :class:`ExistingKeys` found the file fills; return how many rows.

    Raises
    ------
    LoaderError
        Naming ``path``, when the database refuses a value (e.g. a designation
        another row of the catalog already has).
    """
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for stored_key, values in fills.items():
        parts = stored_key if len(key) > 1 else (stored_key,)
        row = {f"key_{i}": part for i, part in enumerate(parts)}
        row.update({f"value_{name}": value for name, value in values.items()})
        by_columns.setdefault(tuple(sorted(values)), []).append(row)
    scope = [table.c[name] == value for name, value in constants.items()]
    for names, rows in by_columns.items():
        statement = update(table).where(
            *(dest == bindparam(f"key_{i}") for i, dest in enumerate(key)), *scope
        ).values({name: bindparam(f"value_{name}") for name in names})
        try:
            connection.execute(statement, rows)
        except DBAPIError as exc:
            detail = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
            raise LoaderError(path, f"the database refused the values filled into stored "
                                    f"rows ({', '.join(names)}): {detail}") from exc
    return len(fills)
