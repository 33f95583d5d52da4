"""Load a large FITS catalog table chunk by chunk, validating the whole file first.

The DESI pattern (seed worklogs 001 and 003): the file is opened through
:func:`~lightcurvedb.loaders.fitsfile.open_fits` (checksums verified, gzip
and bzip2 read, the uncompressed content hashed), a plain file's table
memory-mapped and read in row chunks (100,000 by default), so memory stays
flat whatever the file size. A first pass over every chunk
(:mod:`~lightcurvedb.loaders.catalog_check`) computes the stage-1 checks --
row count, key uniqueness within the file, keys already in the destination
(refused, or reused as the stored rows), null rates, minima, maxima and range
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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from astropy.table import MaskedColumn
from astropy.table import Table as AstropyTable
from sqlalchemy import Column, Table, insert, literal, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from lightcurvedb.bulk import BulkLoadError, copy_rows
from lightcurvedb.loaders.catalog_check import WritePlan, validate_table
from lightcurvedb.loaders.catalog_fits import native_column, open_catalog_table, row_chunks
from lightcurvedb.loaders.catalog_keys import fill_values
from lightcurvedb.loaders.catalog_plan import (
    destination_label,
    exposure_column,
    key_columns,
    plan_columns,
)
from lightcurvedb.loaders.catalog_report import CatalogLoadReport, by_fits_column, judge
from lightcurvedb.loaders.catalog_validation import null_mask, table_nulls
from lightcurvedb.loaders.progress import ProgressBar
from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.models.validation import CatalogValidation

__all__ = ["CatalogValidationError", "load_fits_catalog"]

#: What ``existing=`` accepts.
_EXISTING = ("refuse", "reuse")


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
           chunk_rows: int, progress: bool, rows: Any = None) -> int:
    """Second pass: write every chunk with ``copy_rows`` (NULL for null entries).

    ``rows`` (a boolean per row of the file, or None for all) says which rows
    are written: not those whose key is already stored, nor a key's later
    rows in a per-exposure table.
    """
    names = [dest.name for _, dest in plan] + list(constants)
    nulls = table_nulls(table_hdu, [name for name, _ in plan])
    written = 0
    with ProgressBar(n_rows, label=f"load {path.name}", enabled=progress, unit="rows") as bar:
        for start, stop in row_chunks(n_rows, chunk_rows):
            chunk = table_hdu.data[start:stop]
            kept = np.arange(start, stop)
            if rows is not None:
                kept = kept[rows[start:stop]]
                chunk = chunk[rows[start:stop]]
            bar.advance(stop - start)
            if not len(kept):
                continue
            try:
                written += copy_rows(connection, table,
                                     _chunk_rows(chunk, plan, nulls, constants),
                                     columns=names, chunk_size=len(kept))
            except BulkLoadError as exc:
                where = "" if exc.row_index is None else f", row {kept[exc.row_index]}"
                raise LoaderError(path, f"the database refused rows {start}-{stop - 1}{where}: "
                                        f"{exc.message}") from exc
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


def load_fits_catalog(bind: Engine | Connection | Session, path: str | os.PathLike[str],
                      table: Table | type, *, columns: Mapping[str, str] | None = None,
                      key: str | Sequence[str] | None = None, hdu: int | str = 1,
                      chunk_rows: int = 100_000,
                      ranges: Mapping[str, tuple[float, float]] | None = None,
                      expected_rows: int | None = None,
                      max_null_rate: float | Mapping[str, float] | None = None,
                      constants: Mapping[str, Any] | None = None, progress: bool = False,
                      strict: bool = True, existing: str = "refuse",
                      exposure: str | None = None) -> CatalogLoadReport:
    """Validate a FITS catalog table, then load it into ``table`` chunk by chunk, atomically.

    Parameters
    ----------
    bind : Engine, Connection or Session
        The database (at the newest migration). An Engine gets a transaction
        of its own, committed at the end (the stored report too when the file
        is refused); with a Connection or Session the caller commits.
    path : path-like
        The FITS file: plain (memory-mapped), gzip or bzip2 (read into memory),
        opened through :func:`~lightcurvedb.loaders.fitsfile.open_fits`.
    table : sqlalchemy.Table or mapped class
        The destination.
    columns : mapping of str to str, optional
        FITS column -> table column. Default: every FITS column whose name
        matches a table column, in any case (``TARGETID`` -> ``targetid``).
    key : str or sequence of str, optional
        FITS column(s) that must be unique in the file and are matched with
        the destination (see ``existing``). Default: the columns loaded into
        the table's primary key, when all of it is loaded.
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
    existing : {"refuse", "reuse"}, optional
        What a key already in the destination means. ``"refuse"`` (the
        default): the file is refused (``5 key(s) of TARGETID are already in
        ...``). ``"reuse"``: the stored row is that key's row -- it is not
        written again; where it holds NULL in a loaded column the file's value
        fills it, where it holds another value than the file's the file is
        refused (a conflict).
    exposure : str, optional
        A FITS column (DESI's ``EXPID``) that, when the table has it, makes the
        table one row per exposure: the key must then be unique per exposure
        (key and ``exposure`` together), a key's rows must agree on the loaded
        columns, and only its first row is written. A table without the column
        is an ordinary catalog.

    Returns
    -------
    CatalogLoadReport
        With ``skipped`` set, and nothing validated or stored, when the same
        content (the SHA-256 of the uncompressed bytes: a gzipped copy is the
        same file) was already loaded from the same HDU into the same destination.

    Raises
    ------
    LoaderError
        Naming the file, for a missing or unreadable file, a checksum that
        does not match (naming the HDU), a missing HDU or column, a truncated
        file, a variable-length column, or text that is not ASCII (naming the
        column and row); nothing is stored.
    ValueError
        For ``ranges`` or ``max_null_rate`` naming a column that is not
        loaded, or an unknown ``existing``.
    CatalogValidationError
        A :class:`LoaderError` for a file that failed a check (duplicate keys,
        keys already present with ``existing="refuse"``, values that
        contradict stored rows, values the destination cannot hold, nulls in
        NOT NULL columns, a wrong row count, with ``strict`` ranges and null
        rates) or whose rows the database refused: no row is written but the
        report, which the error carries as ``report``.
    """
    source = pathlib.Path(path).absolute()
    dest: Table = table if isinstance(table, Table) else table.__table__  # type: ignore[attr-defined]
    fixed = dict(constants or {})
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    if existing not in _EXISTING:
        raise ValueError(f"existing must be one of {', '.join(_EXISTING)}, not {existing!r}")
    failure: CatalogValidationError | None = None
    with _connection(bind) as connection, \
            open_catalog_table(source, hdu) as (table_hdu, label, content):
        report = CatalogLoadReport(path=source, sha256=content.sha256, hdu=label,
                                   destination=destination_label(dest, fixed),
                                   rows_in_file=int(table_hdu.header["NAXIS2"]),
                                   existing=existing)
        plan = plan_columns(source, table_hdu, dest, columns, fixed)
        keys = key_columns(source, table_hdu, dest, plan, key)
        per_exposure = exposure_column(table_hdu, exposure, keys) if keys else None
        report.key_columns = keys + ([per_exposure] if per_exposure else [])
        report.match_columns = list(keys)
        loaded_names = [name for name, _ in plan]
        upper_ranges = by_fits_column("ranges", ranges, loaded_names, dest.fullname)
        if isinstance(max_null_rate, Mapping):
            max_null_rate = by_fits_column("max_null_rate", max_null_rate, loaded_names,
                                           dest.fullname)
        earlier = connection.execute(
            select(CatalogValidation.id).where(
                CatalogValidation.sha256 == content.sha256, CatalogValidation.hdu == label,
                CatalogValidation.destination == report.destination,
                CatalogValidation.loaded.is_(True)).order_by(CatalogValidation.id.desc())
        ).first()
        if earlier is not None and _rows_remain(connection, table_hdu, dest, plan, keys, fixed,
                                                report.rows_in_file):
            report.skipped = report.loaded = True
            report.validation_id = earlier[0]
            return report
        to_write = validate_table(connection, source, table_hdu, dest, plan, keys, report,
                                  fixed, upper_ranges, chunk_rows, progress,
                                  exposure=per_exposure, reuse=existing == "reuse")
        stopping = judge(report, [dest for _, dest in plan], expected_rows=expected_rows,
                         max_null_rate=max_null_rate, strict=strict)
        if not stopping:
            stopping = _write_file(connection, source, table_hdu, dest, plan, keys, fixed,
                                   report, to_write, chunk_rows, progress)
        _store(connection, report)
        if stopping:
            failure = CatalogValidationError(source, "; ".join(stopping), report)
    if failure is not None:
        raise failure
    return report


def _write_file(connection: Connection, path: pathlib.Path, table_hdu: Any, table: Table,
                plan: list[tuple[str, Column[Any]]], keys: list[str],
                constants: Mapping[str, Any], report: CatalogLoadReport, to_write: WritePlan,
                chunk_rows: int, progress: bool) -> list[str]:
    """Write the planned rows and fills in one SAVEPOINT; return the reason if it was refused."""
    dest_of = dict(plan)
    try:
        with connection.begin_nested():
            report.rows_loaded = _write(connection, path, table_hdu, table, plan, constants,
                                        report.rows_in_file, chunk_rows, progress,
                                        rows=to_write.rows)
            if to_write.fills:
                fill_values(connection, path, table, [dest_of[k] for k in keys], constants,
                            to_write.fills)
    except LoaderError as exc:
        report.rows_loaded = 0
        report.problems.append(exc.reason)
        return [exc.reason]
    report.loaded = True
    return []
