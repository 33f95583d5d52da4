"""The stage-1 validation report of one catalog file: :class:`CatalogLoadReport`.

A report is what :func:`~lightcurvedb.loaders.catalog.load_fits_catalog`
returns and what it stores as a :class:`~lightcurvedb.models.CatalogValidation`
row; :meth:`CatalogLoadReport.from_validation` turns a stored row back into a
report, so ``lcdb catalog validations`` prints the same table.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from astropy.table import Table
from sqlalchemy import Column

from lightcurvedb.loaders.catalog_validation import ColumnStats, value_problem
from lightcurvedb.models.validation import CatalogValidation

__all__ = ["CatalogLoadReport", "by_fits_column", "format_value", "judge"]

_V = TypeVar("_V")

_HEADINGS = ("column", "FITS column", "dtype", "nulls", "null rate", "min", "max", "range",
             "outside")


def format_value(value: Any) -> str:
    """Format a statistic for the text table: ``-`` for none, floats to 6 digits."""
    if value is None:
        return "-"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass
class CatalogLoadReport:
    """What loading one FITS catalog table found and did.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    sha256 : str
        SHA-256 (hex) of its uncompressed bytes: a gzipped copy of a file
        has the file's.
    hdu : str
        The table HDU read (EXTNAME, or its index).
    destination : str
        The table written to, with the values given to every row if any
        (``target [catalog_id=3]``).
    rows_in_file : int
        Rows of the FITS table.
    rows_loaded : int
        Rows written by this load (0 when skipped or refused): one per new key
        -- neither the keys already in the destination (when reused) nor a
        key's later rows in a per-exposure table are written.
    key_columns : list of str
        FITS columns checked for uniqueness within the file: the key, and the
        exposure column of a table that lists a key once per exposure
        (``TARGETID, EXPID``).
    duplicate_keys : int
        Rows whose key repeats an earlier row of the file.
    existing_keys : int
        Distinct keys of the file already in the destination.
    duplicate_examples : list
        A few of the keys repeated within the file.
    existing_examples : list
        A few of the keys already in the destination.
    columns : list of ColumnStats
        Per loaded column: nulls, extremes, range violations.
    problems : list of str
        Failed checks, one sentence each; empty if every check passed.
    loaded : bool
        Whether the rows were written (by this load, or by the earlier one a
        skipped load refers to).
    skipped : bool
        The file was already loaded into the destination: nothing was read or
        written.
    validation_id : int or None
        The stored :class:`~lightcurvedb.models.CatalogValidation` row.
    created_at : datetime.datetime or None
        When that row was written (stored reports only).
    existing : str
        ``"refuse"`` (keys already in the destination refuse the file) or
        ``"reuse"`` (they are the stored rows). Not stored: a stored report
        with existing keys and :attr:`key_unique` set was a reuse.
    match_columns : list of str
        The key's FITS columns matched with the destination (the key without
        the exposure column); :attr:`key_columns` if not set.
    """

    path: pathlib.Path
    sha256: str
    hdu: str
    destination: str
    rows_in_file: int = 0
    rows_loaded: int = 0
    key_columns: list[str] = field(default_factory=list)
    duplicate_keys: int = 0
    existing_keys: int = 0
    duplicate_examples: list[Any] = field(default_factory=list)
    existing_examples: list[Any] = field(default_factory=list)
    columns: list[ColumnStats] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    loaded: bool = False
    skipped: bool = False
    validation_id: int | None = None
    created_at: dt.datetime | None = None
    existing: str = "refuse"
    match_columns: list[str] = field(default_factory=list)

    @property
    def match_key(self) -> list[str]:
        """The key's columns matched with the destination: :attr:`match_columns`, else the key."""
        return list(self.match_columns or self.key_columns)

    @property
    def passed(self) -> bool:
        """Whether every check passed (no :attr:`problems`)."""
        return not self.problems

    @property
    def key_unique(self) -> bool | None:
        """Whether the key passed: unique in the file, and new to the destination unless reused.

        None when there is no key.
        """
        if not self.key_columns:
            return None
        return self.duplicate_keys == 0 and (self.existing_keys == 0
                                             or self.existing == "reuse")

    def column(self, name: str) -> ColumnStats:
        """Return the statistics of one column, by destination or FITS name (any case).

        Raises
        ------
        KeyError
            If no loaded column has that name.
        """
        for stats in self.columns:
            if name.lower() in (stats.column.lower(), stats.fits_column.lower()):
                return stats
        raise KeyError(f"no loaded column {name!r} in the report of {self.path.name}")

    def status(self) -> str:
        """Return one word: ``skipped``, ``loaded``, ``loaded with problems`` or ``refused``."""
        if self.skipped:
            return "skipped"
        if self.loaded:
            return "loaded" if self.passed else "loaded with problems"
        return "refused"

    def summary(self) -> str:
        """Return the report's first line: file, HDU, destination, outcome and row counts."""
        head = f"{self.path.name} [{self.hdu}] -> {self.destination}: {self.status()}"
        if self.skipped:
            return f"{head} (sha256 {self.sha256[:12]} already loaded, report " \
                   f"{self.validation_id})"
        return f"{head}, {self.rows_loaded:,} of {self.rows_in_file:,} rows written " \
               f"(sha256 {self.sha256[:12]})"

    def to_table(self) -> Table:
        """Return the per-column statistics as an :class:`astropy.table.Table`.

        Returns
        -------
        astropy.table.Table
            One row per loaded column: ``column``, ``fits_column``, ``dtype``,
            ``null_count``, ``null_rate`` (a fraction), ``min``, ``max`` (Python
            objects: None for text, exact for int64 keys), ``range_lo``,
            ``range_hi`` (NaN when no range was given) and ``range_violations``;
            the file-level figures are in ``meta``.
        """
        nan = float("nan")
        table = Table(
            rows=[(s.column, s.fits_column, s.dtype, s.null_count, s.null_rate, s.min, s.max,
                   s.range[0] if s.range else nan, s.range[1] if s.range else nan,
                   s.range_violations) for s in self.columns],
            names=("column", "fits_column", "dtype", "null_count", "null_rate", "min", "max",
                   "range_lo", "range_hi", "range_violations"),
            dtype=(str, str, str, int, float, object, object, float, float, int))
        table.meta.update(path=str(self.path), sha256=self.sha256, hdu=self.hdu,
                          destination=self.destination, rows_in_file=self.rows_in_file,
                          rows_loaded=self.rows_loaded, key_columns=list(self.key_columns),
                          key_unique=self.key_unique, duplicate_keys=self.duplicate_keys,
                          existing_keys=self.existing_keys, existing=self.existing,
                          passed=self.passed,
                          loaded=self.loaded, skipped=self.skipped,
                          problems=list(self.problems))
        return table

    def render(self) -> str:
        """Return the report as text: a summary, the key check, a column table, the problems.

        Returns
        -------
        str
            For example::

                fastspec.fits [FASTSPEC] -> galaxy: loaded, 10,000 of 10,000 rows written (...)
                key TARGETID: unique (0 repeated in the file, 0 already in galaxy)
                column    FITS column  dtype  nulls  null rate  min  max  range  outside
                ...
        """
        lines = [self.summary()]
        if self.skipped:
            return lines[0]
        if self.key_columns:
            lines.append(self._key_line())
        rows = [(s.column, s.fits_column, s.dtype, f"{s.null_count:,}",
                 f"{100 * s.null_rate:.4f} %", format_value(s.min), format_value(s.max),
                 f"[{format_value(s.range[0])}, {format_value(s.range[1])}]" if s.range else "-",
                 f"{s.range_violations:,}" if s.range else "-") for s in self.columns]
        if rows:
            widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_HEADINGS)]
            right = {3, 4, 5, 6, 8}

            def fmt(cells: tuple[str, ...]) -> str:
                return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))
                                 ).rstrip()

            lines.append(fmt(_HEADINGS))
            lines.append("  ".join("-" * w for w in widths))
            lines.extend(fmt(r) for r in rows)
        if self.problems:
            lines.append("problems:")
            lines.extend(f"  {problem}" for problem in self.problems)
        else:
            lines.append("all checks passed")
        return "\n".join(lines)

    def _key_line(self) -> str:
        names = ", ".join(self.key_columns)
        if self.existing_keys and self.key_unique:  # reused: the stored rows are the keys' rows
            new = f"{self.rows_loaded:,} new, " if self.loaded else "nothing written, "
            return (f"key {names}: unique in the file ({self.duplicate_keys:,} repeated); "
                    f"{new}{self.existing_keys:,} existing in {self.destination}")
        verdict = "unique" if self.key_unique else "NOT unique"
        return (f"key {names}: {verdict} ({self.duplicate_keys:,} repeated in the file, "
                f"{self.existing_keys:,} already in {self.destination})")

    def validation_values(self) -> dict[str, Any]:
        """Return the column values of the :class:`~lightcurvedb.models.CatalogValidation` row."""
        return {"source_path": self.path, "sha256": self.sha256, "hdu": self.hdu,
                "destination": self.destination, "rows_in_file": self.rows_in_file,
                "rows_loaded": self.rows_loaded, "key_columns": list(self.key_columns),
                "key_unique": self.key_unique, "duplicate_keys": self.duplicate_keys,
                "existing_keys": self.existing_keys, "passed": self.passed,
                "loaded": self.loaded, "problems": list(self.problems),
                "column_stats": {s.column: {"position": i, **s.as_dict()}
                                 for i, s in enumerate(self.columns)}}

    @classmethod
    def from_validation(cls, row: CatalogValidation) -> CatalogLoadReport:
        """Rebuild the report of a stored :class:`~lightcurvedb.models.CatalogValidation`."""
        stats = sorted(row.column_stats.items(), key=lambda item: item[1].get("position", 0))
        return cls(path=pathlib.Path(row.source_path), sha256=row.sha256, hdu=row.hdu,
                   destination=row.destination, rows_in_file=row.rows_in_file,
                   rows_loaded=row.rows_loaded, key_columns=list(row.key_columns),
                   duplicate_keys=row.duplicate_keys, existing_keys=row.existing_keys,
                   columns=[ColumnStats.from_dict(name, values) for name, values in stats],
                   problems=list(row.problems), loaded=row.loaded, validation_id=row.id,
                   created_at=row.created_at,
                   existing="reuse" if row.key_unique and row.existing_keys else "refuse")


def by_fits_column(option: str, values: Mapping[str, _V] | None, loaded: Iterable[str],
                   destination: str) -> dict[str, _V]:
    """Key a per-column option by upper-cased FITS column name; refuse columns not loaded.

    Parameters
    ----------
    option : str
        The option's name, for the message (``"ranges"``, ``"max_null_rate"``).
    values : mapping of str to object or None
        FITS column -> setting, the column named in any case.
    loaded : iterable of str
        The FITS columns being loaded.
    destination : str
        The destination table, for the message.

    Returns
    -------
    dict
        The settings keyed by upper-cased column name (empty for None).

    Raises
    ------
    ValueError
        Naming the option and the column, for a column that is not loaded or
        one given twice (in two cases).
    """
    known = {name.upper() for name in loaded}
    keyed: dict[str, _V] = {}
    for name, value in (values or {}).items():
        if name.upper() not in known:
            raise ValueError(f"{option}: column {name} is not loaded into {destination} "
                             f"(loaded: {', '.join(sorted(known))})")
        if name.upper() in keyed:
            raise ValueError(f"{option}: column {name} is given twice")
        keyed[name.upper()] = value
    return keyed


def judge(report: CatalogLoadReport, destinations: Sequence[Column[Any]], *,
          expected_rows: int | None = None,
          max_null_rate: float | Mapping[str, float] | None = None,
          strict: bool = True) -> list[str]:
    """Turn a report's statistics into problems; return the ones that stop the load.

    Parameters
    ----------
    report : CatalogLoadReport
        Filled by the validation pass; its :attr:`~CatalogLoadReport.problems`
        (the type problems found so far) are extended in place.
    destinations : sequence of sqlalchemy.Column
        The destination column of each entry of ``report.columns``, in order.
    expected_rows, max_null_rate, strict
        As for :func:`~lightcurvedb.loaders.catalog.load_fits_catalog`.

    Returns
    -------
    list of str
        Every problem if ``strict``; otherwise all but range violations and
        null rates above the limit (which are recorded, and tolerated).
    """
    fatal = list(report.problems)
    if expected_rows is not None and expected_rows != report.rows_in_file:
        fatal.append(f"expected {expected_rows:,} rows, the table has {report.rows_in_file:,}")
    if report.duplicate_keys:
        shown = ", ".join(map(str, report.duplicate_examples[:5]))
        fatal.append(f"key {', '.join(report.key_columns)} is not unique: "
                     f"{report.duplicate_keys:,} row(s) repeat an earlier key (e.g. {shown})")
    if report.existing_keys and report.existing != "reuse":
        shown = ", ".join(map(str, report.existing_examples[:5]))
        fatal.append(f"{report.existing_keys:,} key(s) of {', '.join(report.match_key)} "
                     f"are already in {report.destination} (e.g. {shown})")
    for dest, stats in zip(destinations, report.columns, strict=True):
        problem = value_problem(stats, dest)
        if problem and problem not in fatal:
            fatal.append(problem)
    tolerated = []
    limits: dict[str, float | None]
    if isinstance(max_null_rate, Mapping):  # FITS column names in any case
        limits = {name.upper(): rate for name, rate in max_null_rate.items()}
    else:
        limits = {stats.fits_column.upper(): max_null_rate for stats in report.columns}
    for stats in report.columns:
        if stats.range_violations:
            lo, hi = stats.range or (None, None)
            tolerated.append(f"column {stats.fits_column}: {stats.range_violations:,} value(s) "
                             f"outside [{lo}, {hi}] (min {format_value(stats.min)}, "
                             f"max {format_value(stats.max)})")
        limit = limits.get(stats.fits_column.upper())
        if limit is not None and stats.null_count > limit * stats.rows * (1 + 1e-12):
            tolerated.append(f"column {stats.fits_column}: null rate "
                             f"{100 * stats.null_rate:.4f} % ({stats.null_count:,} of "
                             f"{stats.rows:,}) above the allowed {100 * limit:.4f} %")
    report.problems = fatal + tolerated
    return fatal + (tolerated if strict else [])
