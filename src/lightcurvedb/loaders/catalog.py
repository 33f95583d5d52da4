"""Load a large FITS catalog table chunk by chunk, validating the whole file first.

The DESI pattern (seed worklogs 001 and 003): the table is memory-mapped
(``fits.open(path, memmap=True)``) and read in row chunks (100,000 by
default), so memory stays flat whatever the file size. A first pass over
every chunk computes the stage-1 checks -- row count, key uniqueness within
the file and against the destination, null rates, minima, maxima and range
violations per column, whether the destination columns can hold the values --
before anything is written; a second pass writes each chunk with
:func:`lightcurvedb.bulk.copy_rows` (binary ``COPY`` on PostgreSQL), all of
the file inside one SAVEPOINT. The report is returned
(:class:`~lightcurvedb.loaders.catalog_report.CatalogLoadReport`) and stored
as a :class:`~lightcurvedb.models.CatalogValidation` row, also when the file
is refused. See :doc:`/loading_catalogs`.
"""

from __future__ import annotations

import os
import pathlib
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
from astropy.table import MaskedColumn
from astropy.table import Table as AstropyTable
from sqlalchemy import Column, Table, and_, insert, literal, select, tuple_
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from lightcurvedb.bulk import BulkLoadError, copy_rows
from lightcurvedb.loaders.catalog_fits import (
    dtype_label,
    file_sha256,
    native_column,
    open_catalog_table,
    read_column,
    row_chunks,
)
from lightcurvedb.loaders.catalog_report import CatalogLoadReport, by_fits_column, judge
from lightcurvedb.loaders.catalog_validation import (
    ColumnStats,
    KeyCheck,
    null_mask,
    storage_problem,
    table_nulls,
)
from lightcurvedb.loaders.progress import ProgressBar
from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.models.validation import CatalogValidation

__all__ = ["CatalogValidationError", "load_fits_catalog"]

#: Keys looked up in the destination per query (well under every driver's parameter limit).
_KEY_BATCH = 5_000


class CatalogValidationError(LoaderError):
    """A catalog file failed its validation (or its write); the report says why.

    Parameters
    ----------
    path : path-like
        The file.
    reason : str
        The failed checks, joined.
    report : CatalogLoadReport
        The full report (also stored as a :class:`~lightcurvedb.models.CatalogValidation`).
    """

    def __init__(self, path: str | os.PathLike[str], reason: str,
                 report: CatalogLoadReport) -> None:
        super().__init__(path, reason)
        self.report = report


def _plan(path: pathlib.Path, table_hdu: Any, table: Table, columns: Mapping[str, str] | None,
          constants: Mapping[str, Any]) -> list[tuple[str, Column[Any]]]:
    """Pair FITS columns with destination columns; refuse missing or unreadable ones."""
    in_file = {name.upper(): name for name in table_hdu.columns.names}
    by_lower = {c.name.lower(): c for c in table.columns if c.name not in constants}
    if columns is None:
        plan = [(name, by_lower[name.lower()]) for name in table_hdu.columns.names
                if name.lower() in by_lower]
        if not plan:
            raise LoaderError(path, f"no column of the table matches a column of "
                                    f"{table.fullname} (by name, any case)")
    else:
        unknown = [dest for dest in columns.values() if dest not in table.c]
        if unknown:
            raise ValueError(f"{table.fullname} has no column(s) {', '.join(unknown)}")
        missing = [name for name in columns if name.upper() not in in_file]
        if missing:
            raise LoaderError(path, f"no column {', '.join(missing)} in the table (it has "
                                    f"{', '.join(table_hdu.columns.names)})")
        plan = [(in_file[name.upper()], table.c[dest]) for name, dest in columns.items()]
    for name, _ in plan:
        tform = str(table_hdu.columns[name].format)
        if re.match(r"^\d*[PQ]", tform):
            raise LoaderError(path, f"column {name} is a variable-length array (TFORM "
                                    f"{tform}), which the catalog loader does not read")
    mapped = {dest.name for _, dest in plan} | set(constants)
    unfilled = [c.name for c in table.columns if c.name not in mapped and not c.nullable
                and c.default is None and c.server_default is None
                and not (c.primary_key and c.autoincrement in (True, "auto"))]
    if unfilled:
        raise LoaderError(path, f"nothing fills the NOT NULL column(s) {', '.join(unfilled)} "
                                f"of {table.fullname}")
    return plan


def _existing_keys(connection: Connection, table: Table, key_dest: list[Column[Any]],
                   constants: Mapping[str, Any], keys: list[npt.NDArray[Any]]
                   ) -> tuple[int, list[Any]]:
    """Count rows whose key is already in the destination (scoped by ``constants``)."""
    scope = [table.c[name] == value for name, value in constants.items()]
    found: list[Any] = []
    count = 0
    values = list(zip(*(k.tolist() for k in keys), strict=True))
    for start in range(0, len(values), _KEY_BATCH):
        batch = values[start:start + _KEY_BATCH]
        if len(key_dest) == 1:
            match = key_dest[0].in_([v[0] for v in batch])
        else:
            match = tuple_(*key_dest).in_(batch)
        hits = connection.execute(select(*key_dest).where(and_(match, *scope))).all()
        count += len(hits)
        found.extend(h[0] if len(key_dest) == 1 else tuple(h)
                     for h in hits[:max(0, 5 - len(found))])
    return count, found


def _validate(connection: Connection, path: pathlib.Path, table_hdu: Any, table: Table,
              plan: list[tuple[str, Column[Any]]], key: list[str], report: CatalogLoadReport,
              constants: Mapping[str, Any], ranges: Mapping[str, tuple[float, float]],
              chunk_rows: int, progress: bool) -> None:
    """First pass: fill ``report`` with the statistics and key checks of every chunk."""
    n_rows = report.rows_in_file
    data = table_hdu.data
    sample = data[0:0]
    nulls = table_nulls(table_hdu, [name for name, _ in plan])
    for name, dest in plan:
        problem = storage_problem(name, np.asarray(sample[name]), dest)
        if problem:
            report.problems.append(problem)
        bounds = ranges.get(name.upper())
        report.columns.append(ColumnStats(name, dest.name, dtype_label(sample[name]),
                                          range=bounds))
    dest_of = {name: dest for name, dest in plan}
    keys = KeyCheck(key, n_rows) if key else None
    check_existing = bool(key) and connection.execute(
        select(dest_of[key[0]]).where(
            *(table.c[k] == v for k, v in constants.items())).limit(1)).first() is not None
    with ProgressBar(n_rows, label=f"validate {path.name}", enabled=progress,
                     unit="rows") as bar:
        for start, stop in row_chunks(n_rows, chunk_rows):
            chunk = data[start:stop]
            read = {name: read_column(path, chunk, name, start) for name, _ in plan}
            for (name, _), stats in zip(plan, report.columns, strict=True):
                stats.update(read[name], null_mask(read[name], nulls[name]))
            if keys is not None:
                key_values = [read[name] for name in key]
                keys.update(key_values)
                if check_existing:
                    count, found = _existing_keys(connection, table,
                                                  [dest_of[k] for k in key], constants,
                                                  key_values)
                    report.existing_keys += count
                    report.existing_examples.extend(found[:5 - len(report.existing_examples)])
            bar.advance(stop - start)
    if keys is not None:
        report.duplicate_keys, report.duplicate_examples = keys.duplicates()


def _rows_remain(connection: Connection, table_hdu: Any, table: Table,
                 plan: list[tuple[str, Column[Any]]], key: list[str],
                 constants: Mapping[str, Any], n_rows: int) -> bool:
    """Whether an earlier load's rows are still there (the file's first key, else any row)."""
    if n_rows == 0:
        return True
    scope = [table.c[name] == value for name, value in constants.items()]
    dest_of = dict(plan)
    first = table_hdu.data[0:1]
    scope += [dest_of[name] == native_column(first[name])[0].item() for name in key]
    found = connection.execute(select(literal(1)).select_from(table).where(*scope).limit(1))
    return found.first() is not None


def _write(connection: Connection, path: pathlib.Path, table_hdu: Any, table: Table,
           plan: list[tuple[str, Column[Any]]], constants: Mapping[str, Any], n_rows: int,
           chunk_rows: int, progress: bool) -> int:
    """Second pass: write every chunk with ``copy_rows`` (NULL for null entries)."""
    names = [dest.name for _, dest in plan] + list(constants)
    nulls = table_nulls(table_hdu, [name for name, _ in plan])
    written = 0
    with ProgressBar(n_rows, label=f"load {path.name}", enabled=progress, unit="rows") as bar:
        for start, stop in row_chunks(n_rows, chunk_rows):
            rows = _chunk_rows(table_hdu.data[start:stop], plan, nulls, constants)
            try:
                written += copy_rows(connection, table, rows, columns=names,
                                     chunk_size=max(stop - start, 1))
            except BulkLoadError as exc:
                where = "" if exc.row_index is None else f", row {start + exc.row_index}"
                raise LoaderError(path, f"the database refused rows {start}-{stop - 1}{where}: "
                                        f"{exc.message}") from exc
            bar.advance(stop - start)
    return written


def _chunk_rows(chunk: Any, plan: list[tuple[str, Column[Any]]], nulls: Mapping[str, Any],
                constants: Mapping[str, Any]) -> Any:
    """One chunk for ``copy_rows``: a masked astropy Table of native-endian columns.

    Null entries are masked (``copy_rows`` writes them as NULL), and numeric and
    text columns stay numpy arrays all the way into the binary ``COPY`` stream.
    Vector-valued (multi-dimensional) FITS columns fall back to rows of tuples.
    """
    columns = [native_column(chunk[name]) for name, _ in plan]
    masks = [null_mask(values, nulls[name]) for values, (name, _) in zip(columns, plan,
                                                                         strict=True)]
    n, fixed = len(chunk), list(constants.values())
    if any(values.ndim > 1 for values in columns):
        lists = []
        for values, mask in zip(columns, masks, strict=True):
            column = list(values) if values.ndim > 1 else values.tolist()
            for row in ([] if mask is None else np.flatnonzero(mask)):
                column[row] = None
            lists.append(column)
        return list(zip(*lists, *([v] * n for v in fixed), strict=True))
    data = [values if mask is None or not mask.any() else MaskedColumn(values, mask=mask)
            for values, mask in zip(columns, masks, strict=True)]
    data += [np.full(n, value) if isinstance(value, (int, float, str)) else [value] * n
             for value in fixed]
    names = [dest.name for _, dest in plan] + list(constants)
    return AstropyTable(data, names=names, copy=False)


@contextmanager
def _connection(bind: Engine | Connection | Session) -> Iterator[Connection]:
    """Yield a connection to work in; an Engine gets its own transaction, committed at exit."""
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            yield connection
    elif isinstance(bind, Session):
        yield bind.connection()
    else:
        yield bind


def _store(connection: Connection, report: CatalogLoadReport) -> None:
    result = connection.execute(insert(CatalogValidation).values(**report.validation_values()))
    key = result.inserted_primary_key
    assert key is not None
    report.validation_id = key[0]


def _destination(table: Table, constants: Mapping[str, Any]) -> str:
    if not constants:
        return table.fullname
    return f"{table.fullname} [{', '.join(f'{k}={v}' for k, v in constants.items())}]"


def load_fits_catalog(bind: Engine | Connection | Session, path: str | os.PathLike[str],
                      table: Table | type, *, columns: Mapping[str, str] | None = None,
                      key: str | Sequence[str] | None = None, hdu: int | str = 1,
                      chunk_rows: int = 100_000,
                      ranges: Mapping[str, tuple[float, float]] | None = None,
                      expected_rows: int | None = None,
                      max_null_rate: float | Mapping[str, float] | None = None,
                      constants: Mapping[str, Any] | None = None, progress: bool = False,
                      strict: bool = True) -> CatalogLoadReport:
    """Validate a FITS catalog table, then load it into ``table`` chunk by chunk, atomically.

    Parameters
    ----------
    bind : Engine, Connection or Session
        The database (at the newest migration). An Engine gets a transaction
        of its own, committed at the end (the stored report too when the file
        is refused); with a Connection or Session the caller commits.
    path : path-like
        The FITS file.
    table : sqlalchemy.Table or mapped class
        The destination.
    columns : mapping of str to str, optional
        FITS column -> table column. Default: every FITS column whose name
        matches a table column, in any case (``TARGETID`` -> ``targetid``).
    key : str or sequence of str, optional
        FITS column(s) that must be unique in the file and new to the
        destination. Default: the columns loaded into the table's primary key,
        when all of it is loaded.
    hdu : int or str, optional
        The table HDU, by index or EXTNAME (default 1).
    chunk_rows : int, optional
        Rows read, checked and written at a time.
    ranges : mapping of str to (float, float), optional
        FITS column (any case; it must be loaded) -> inclusive bounds of its
        non-null values.
    expected_rows : int, optional
        The row count the table must have.
    max_null_rate : float or mapping of str to float, optional
        Highest allowed fraction of nulls (0.0002 = 0.02 %), for every loaded
        column or per FITS column (any case; it must be loaded).
    constants : mapping of str to object, optional
        Table column -> value given to every row (e.g. ``{"catalog_id": 3}``);
        also narrows the already-present-key check.
    progress : bool, optional
        Show progress bars (rows validated, rows written) on stderr.
    strict : bool, optional
        Refuse the file for range violations and null rates above
        ``max_null_rate`` too; with False those are recorded and the rows loaded.

    Returns
    -------
    CatalogLoadReport
        With ``skipped`` set, and nothing read or stored, when the same bytes
        (SHA-256) were already loaded from the same HDU into the same destination.

    Raises
    ------
    LoaderError
        Naming the file, for a missing or unreadable file, a missing HDU or
        column, a truncated file, a variable-length column, or text that is
        not ASCII (naming the column and row); nothing is stored.
    ValueError
        For ``ranges`` or ``max_null_rate`` naming a column that is not loaded.
    CatalogValidationError
        A :class:`LoaderError` for a file that failed a check (duplicate or
        already-present keys, values the destination cannot hold, nulls in
        NOT NULL columns, a wrong row count, with ``strict`` ranges and null
        rates) or whose rows the database refused: no row is written but the
        report, which the error carries as ``report``.
    """
    source = pathlib.Path(path).absolute()
    dest: Table = table if isinstance(table, Table) else table.__table__  # type: ignore[attr-defined]
    fixed = dict(constants or {})
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    if not source.is_file():
        raise LoaderError(source, "no such file")
    digest = file_sha256(source)
    failure: CatalogValidationError | None = None
    with _connection(bind) as connection, open_catalog_table(source, hdu) as (table_hdu, label):
        report = CatalogLoadReport(path=source, sha256=digest, hdu=label,
                                   destination=_destination(dest, fixed),
                                   rows_in_file=int(table_hdu.header["NAXIS2"]))
        plan = _plan(source, table_hdu, dest, columns, fixed)
        key_columns = _key(source, table_hdu, dest, plan, key)
        report.key_columns = key_columns
        loaded_names = [name for name, _ in plan]
        upper_ranges = by_fits_column("ranges", ranges, loaded_names, dest.fullname)
        if isinstance(max_null_rate, Mapping):
            max_null_rate = by_fits_column("max_null_rate", max_null_rate, loaded_names,
                                           dest.fullname)
        earlier = connection.execute(
            select(CatalogValidation.id).where(
                CatalogValidation.sha256 == digest, CatalogValidation.hdu == label,
                CatalogValidation.destination == report.destination,
                CatalogValidation.loaded.is_(True)).order_by(CatalogValidation.id.desc())
        ).first()
        if earlier is not None and _rows_remain(connection, table_hdu, dest, plan, key_columns,
                                                fixed, report.rows_in_file):
            report.skipped = report.loaded = True
            report.validation_id = earlier[0]
            return report
        _validate(connection, source, table_hdu, dest, plan, key_columns, report, fixed,
                  upper_ranges, chunk_rows, progress)
        stopping = judge(report, [dest for _, dest in plan], expected_rows=expected_rows,
                         max_null_rate=max_null_rate, strict=strict)
        if not stopping:
            try:
                with connection.begin_nested():
                    report.rows_loaded = _write(connection, source, table_hdu, dest, plan,
                                                fixed, report.rows_in_file, chunk_rows,
                                                progress)
            except LoaderError as exc:
                report.rows_loaded = 0
                report.problems.append(exc.reason)
                stopping = [exc.reason]
            else:
                report.loaded = True
        _store(connection, report)
        if stopping:
            failure = CatalogValidationError(source, "; ".join(stopping), report)
    if failure is not None:
        raise failure
    return report


def _key(path: pathlib.Path, table_hdu: Any, table: Table, plan: list[tuple[str, Column[Any]]],
         key: str | Sequence[str] | None) -> list[str]:
    """Resolve the key columns (FITS names); they must be loaded."""
    loaded = {name.upper(): name for name, _ in plan}
    if key is None:
        primary = {c.name for c in table.primary_key.columns}
        chosen = [name for name, dest in plan if dest.name in primary]
        return chosen if primary and {d.name for _, d in plan} >= primary else []
    names = [key] if isinstance(key, str) else list(key)
    in_file = {name.upper() for name in table_hdu.columns.names}
    missing = [name for name in names if name.upper() not in in_file]
    if missing:
        raise LoaderError(path, f"no key column {', '.join(missing)} in the table")
    unloaded = [name for name in names if name.upper() not in loaded]
    if unloaded:
        raise ValueError(f"key column(s) {', '.join(unloaded)} are not loaded into "
                         f"{table.fullname}")
    return [loaded[name.upper()] for name in names]
