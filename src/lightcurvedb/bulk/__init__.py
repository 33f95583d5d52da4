"""Bulk I/O: write and read many rows at the speed of the database's wire protocol.

:func:`copy_rows` writes many rows of any mapped table (binary ``COPY`` on
PostgreSQL, ``executemany`` on SQLite), atomically or resumably;
:func:`upsert_rows` inserts new rows and updates changed ones, idempotently.
:func:`read_arrays` and :func:`read_arrays_flat` read the array columns of many
rows as numpy arrays (binary cursors on PostgreSQL, ``numpy.frombuffer`` on SQLite);
:func:`read_array_rows` does the same for any SELECT, joins included.
"""

from lightcurvedb.bulk._copy import BulkLoadError, BulkValueError, copy_rows
from lightcurvedb.bulk._read import FlatArrays, read_arrays, read_arrays_flat
from lightcurvedb.bulk._select import read_array_rows
from lightcurvedb.bulk._upsert import UpsertResult, upsert_rows

__all__ = ["BulkLoadError", "BulkValueError", "FlatArrays", "UpsertResult", "copy_rows",
           "read_array_rows", "read_arrays", "read_arrays_flat", "upsert_rows"]
