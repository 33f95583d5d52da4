"""Bulk I/O: write and read many rows at the speed of the database's wire protocol.

:func:`copy_rows` writes many rows of any mapped table (binary ``COPY`` on
PostgreSQL, ``executemany`` on SQLite).
"""

from lightcurvedb.bulk._copy import BulkLoadError, copy_rows

__all__ = ["BulkLoadError", "copy_rows"]
