"""Stored validation reports of catalog files loaded into the database."""

from __future__ import annotations

import datetime as dt
import pathlib
from typing import Any

from sqlalchemy import JSON, BigInteger, String, func
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from lightcurvedb.core.base import Base

__all__ = ["CatalogValidation"]

#: JSON lists (JSONB on PostgreSQL); the base maps only bare ``list`` annotations.
_JSON_LIST = JSON().with_variant(postgresql.JSONB(), "postgresql")


class CatalogValidation(Base):
    """The stage-1 validation report of one catalog file load (row counts, keys, nulls, ranges).

    :func:`lightcurvedb.loaders.catalog.load_fits_catalog` writes one row per
    attempt that reads the file -- a passing load and a failed validation alike
    (then nothing else is written and :attr:`problems` says why). A file whose
    :attr:`sha256` already has a report with :attr:`loaded` set for the same
    :attr:`hdu` and :attr:`destination` is skipped on the next load; the hash is
    of the uncompressed content, so a gzipped copy of a loaded file is skipped
    too.

    :attr:`column_stats` maps each loaded column (by its destination name) to a
    dictionary::

        {"fits_column": "LOGMSTAR", "dtype": ">f4", "null_count": 2,
         "null_rate": 0.0002, "min": 8.1, "max": 12.3,
         "range": [6.0, 13.0], "range_violations": 0}
    """

    __tablename__ = "catalog_validation"

    id: Mapped[int] = mapped_column(primary_key=True, doc="Report identifier.")
    source_path: Mapped[pathlib.Path] = mapped_column(
        doc="The FITS file as given to the loader (absolute path).")
    sha256: Mapped[str] = mapped_column(String(64), index=True,
                                        doc="SHA-256 (hex) of the file's uncompressed FITS bytes "
                                            "(:attr:`FitsContent.sha256 <lightcurvedb."
                                            "loaders.fitsfile.FitsContent.sha256>`): "
                                            "a file and its gzip or bzip2 copy have the "
                                            "same.")
    hdu: Mapped[str] = mapped_column(
        String(72), doc="The table HDU read: its EXTNAME, or its index when it has none.")
    destination: Mapped[str] = mapped_column(
        String(255), doc="The table the rows were loaded into (schema-qualified if needed).")
    rows_in_file: Mapped[int] = mapped_column(BigInteger, doc="Rows in the FITS table (NAXIS2).")
    rows_loaded: Mapped[int] = mapped_column(
        BigInteger, doc="Rows written to :attr:`destination` (0 when validation failed): "
                        "one per new key; keys already there that were reused are not "
                        "written again.")
    key_columns: Mapped[list[str]] = mapped_column(
        _JSON_LIST,
        doc="The key column(s) checked for uniqueness within the file (FITS names), "
            "with the exposure column of a per-exposure table; empty if none.")
    key_unique: Mapped[bool | None] = mapped_column(
        doc="Whether the key passed: unique within the file, and new to the "
            "destination unless existing keys were reused; NULL when no key was given.")
    duplicate_keys: Mapped[int] = mapped_column(
        BigInteger, default=0, doc="Rows whose key repeats an earlier row of the file.")
    existing_keys: Mapped[int] = mapped_column(
        BigInteger, default=0,
        doc="Distinct keys of the file already present in the destination: refused, "
            "or reused as the existing rows (then :attr:`key_unique` is true).")
    passed: Mapped[bool] = mapped_column(doc="Whether every check passed.")
    loaded: Mapped[bool] = mapped_column(
        doc="Whether the rows were written. A failed check stops the load unless it was "
            "only tolerated (``strict=False``: value ranges and null rates).")
    problems: Mapped[list[str]] = mapped_column(
        _JSON_LIST, default=list,
        doc="Why validation failed, one sentence per problem; empty if passed.")
    column_stats: Mapped[dict[str, Any]] = mapped_column(
        default=dict,
        doc="Per-column statistics: null count and rate, min, max, declared range and "
            "range violations (JSON; JSONB on PostgreSQL).")
    created_at: Mapped[dt.datetime] = mapped_column(
        server_default=func.current_timestamp(), doc="When the report was written (UTC).")

    def __repr__(self) -> str:
        return (f"CatalogValidation(source_path={str(self.source_path)!r}, "
                f"destination={self.destination!r}, passed={self.passed!r})")
