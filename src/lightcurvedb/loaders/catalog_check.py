"""The first pass of the catalog loader: every chunk checked before anything is written.

:func:`validate_table` fills a
:class:`~lightcurvedb.loaders.catalog_report.CatalogLoadReport` with the
statistics of every loaded column, the key's uniqueness within the file and
the keys already in the destination, and returns a :class:`WritePlan`: which
rows the second pass writes, and which stored NULLs it fills.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Column, Table, select
from sqlalchemy.engine import Connection

from lightcurvedb.loaders.catalog_fits import dtype_label, read_column, row_chunks
from lightcurvedb.loaders.catalog_keys import EXAMPLES, ExistingKeys, RepeatedValues
from lightcurvedb.loaders.catalog_report import CatalogLoadReport
from lightcurvedb.loaders.catalog_validation import (
    ColumnStats,
    KeyCheck,
    key_value,
    null_mask,
    storage_problem,
    table_nulls,
)
from lightcurvedb.loaders.progress import ProgressBar

__all__ = ["WritePlan", "validate_table"]


@dataclass
class WritePlan:
    """What the second pass of a load writes.

    Attributes
    ----------
    rows : numpy.ndarray of bool or None
        Which rows of the file to write; None for every row.
    fills : dict
        Stored rows whose NULLs the file fills: key -> {destination column: value}.
    """

    rows: npt.NDArray[np.bool_] | None = None
    fills: dict[Any, dict[str, Any]] = field(default_factory=dict)


def _has_rows(connection: Connection, table: Table, column: Column[Any],
              constants: Mapping[str, Any]) -> bool:
    """Whether the destination holds any row in the scope of ``constants``."""
    scope = [table.c[name] == value for name, value in constants.items()]
    return connection.execute(select(column).where(*scope).limit(1)).first() is not None


def validate_table(connection: Connection, path: pathlib.Path, table_hdu: Any, table: Table,
                   plan: list[tuple[str, Column[Any]]], key: list[str], report: CatalogLoadReport,
                   constants: Mapping[str, Any], ranges: Mapping[str, tuple[float, float]],
                   chunk_rows: int, progress: bool, *, exposure: str | None = None,
                   reuse: bool = False) -> WritePlan:
    """Fill ``report`` from every chunk of the table; return what the write pass should write.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection
        The database, for the keys already in the destination.
    path : pathlib.Path
        The file, for messages.
    table_hdu : astropy.io.fits.BinTableHDU
        The table.
    table : sqlalchemy.Table
        The destination.
    plan : list of (str, sqlalchemy.Column)
        Loaded FITS columns and their destination columns.
    key : list of str
        The key's FITS columns (loaded); empty for none.
    report : CatalogLoadReport
        Filled in place: column statistics, type problems, duplicate and
        existing keys, conflicts.
    constants, ranges, chunk_rows, progress
        As for :func:`~lightcurvedb.loaders.catalog.load_fits_catalog`.
    exposure : str, optional
        The exposure column of a table that lists a key once per exposure: the
        key must then be unique per exposure, and only a key's first row is
        written (its other rows must agree on the loaded columns).
    reuse : bool, optional
        Rows whose key is already in the destination are the stored rows: they
        are not written, and their loaded columns are compared with the stored
        ones (a stored NULL is filled, a different stored value is a conflict).

    Returns
    -------
    WritePlan
    """
    n_rows = report.rows_in_file
    data = table_hdu.data
    sample = data[0:0]
    nulls = table_nulls(table_hdu, [name for name, _ in plan])
    for name, dest in plan:
        problem = storage_problem(name, np.asarray(sample[name]), dest)
        if problem:
            report.problems.append(problem)
        report.columns.append(ColumnStats(name, dest.name, dtype_label(sample[name]),
                                          range=ranges.get(name.upper())))
    dest_of = dict(plan)
    unique = key + ([exposure] if exposure else [])
    others = [(name, dest) for name, dest in plan if name not in key]
    keys = KeyCheck(unique, n_rows) if key else None
    existing = None
    if key and _has_rows(connection, table, dest_of[key[0]], constants):
        existing = ExistingKeys(connection, table, [dest_of[k] for k in key], constants, n_rows,
                                compare=others if reuse else ())
    repeated = RepeatedValues([name for name, _ in others]) if exposure and others else None
    with ProgressBar(n_rows, label=f"validate {path.name}", enabled=progress,
                     unit="rows") as bar:
        for start, stop in row_chunks(n_rows, chunk_rows):
            chunk = data[start:stop]
            read = {name: read_column(path, chunk, name, start) for name in dest_of}
            if exposure:
                read[exposure] = read_column(path, chunk, exposure, start)
            masks = {name: null_mask(read[name], nulls[name]) for name in dest_of}
            for (name, _), stats in zip(plan, report.columns, strict=True):
                stats.update(read[name], masks[name])
            if keys is not None:
                keys.update([read[name] for name in unique])
            if existing is not None:
                existing.update(start, [read[name] for name in key], read, masks)
            if repeated is not None:
                repeated.update(read, masks)
            bar.advance(stop - start)
    if keys is None:
        return WritePlan()
    report.duplicate_keys, report.duplicate_examples = keys.duplicates()
    return _write_plan(report, keys, len(key), existing, repeated, exposure is not None, reuse)


def _write_plan(report: CatalogLoadReport, keys: KeyCheck, n_key: int,
                existing: ExistingKeys | None, repeated: RepeatedValues | None,
                per_exposure: bool, reuse: bool) -> WritePlan:
    """Count existing keys, find disagreements; decide which rows the write pass writes."""
    first = keys.first_rows(n_key) if per_exposure else None
    plan = WritePlan()
    if existing is not None and existing.rows.any():
        values = keys.values(n_key)
        found = values[existing.rows]
        distinct, where = np.unique(found, return_index=True)
        report.existing_keys = len(distinct)
        report.existing_examples = [key_value(v) for v in found[np.sort(where)][:EXAMPLES]]
        problem = existing.conflict_problem(report.match_key, report.destination)
        if problem:
            report.problems.append(problem)
        if reuse:
            plan.rows = ~existing.rows if first is None else first & ~existing.rows
            plan.fills = existing.fills
    if plan.rows is None and first is not None and not first.all():
        plan.rows = first
    if repeated is not None:
        count, shown = repeated.disagreeing(keys.values(n_key))
        if count:
            report.problems.append(
                f"{count:,} key(s) of {', '.join(report.match_key)} repeat on rows that "
                f"disagree on a loaded column (e.g. {', '.join(shown)}): the rows of one key "
                "are one row of the destination")
    return plan
