"""Database errors as one line a user can act on: what was refused, and which constraint or column.

Drivers word their errors differently (psycopg: ``value too long for type
character varying(64)``, with the constraint, table and column in
``diag``; sqlite3: ``UNIQUE constraint failed: target.catalog_id,
target.name``), and SQLAlchemy appends the SQL statement and its parameters.
:func:`describe_db_error` keeps the driver's first line, adds what the driver
knows of where (constraint, table, column) and, for a value out of range or
too long, the statement parameter that holds it; the loaders record it as the
reason of the file whose write failed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import DBAPIError, StatementError

from lightcurvedb.core.column_rules import describe_value

__all__ = ["DB_ERRORS", "describe_db_error"]

#: What a write can raise from the database or its driver, translated by
#: :func:`describe_db_error` (``OverflowError``: sqlite3 binding an integer beyond 64 bits).
DB_ERRORS = (DBAPIError, StatementError, OverflowError)

_INT64 = (-2**63, 2**63 - 1)
_VARCHAR = re.compile(r"character varying\((\d+)\)")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _where(orig: Any) -> str:
    """``constraint x on table y, column z`` from psycopg's diagnostics (empty elsewhere)."""
    diag = getattr(orig, "diag", None)
    if diag is None:
        return ""
    parts = []
    if getattr(diag, "constraint_name", None):
        parts.append(f"constraint {diag.constraint_name}")
    if getattr(diag, "table_name", None):
        parts.append(f"table {diag.table_name}")
    if getattr(diag, "column_name", None):
        parts.append(f"column {diag.column_name}")
    return ", ".join(parts)


def _suspect(params: Any, message: str) -> str:
    """Name the statement parameter a range or length error is about, if one stands out."""
    # executemany: a list of rows; execute: one row, a mapping or a tuple of positional values
    many = isinstance(params, list) or (isinstance(params, tuple) and bool(params) and all(
        isinstance(row, (Mapping, list, tuple)) for row in params))
    rows = params if many else [params]
    wants_int = "out of range" in message or "too large" in message or "64 bits" in message
    length = _VARCHAR.search(message) if "too long" in message else None
    for row in rows:
        items = row.items() if isinstance(row, Mapping) else enumerate(row or ())
        for key, value in items:
            if wants_int and isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
                return f"parameter {key} = {describe_value(value)}"
            if length and isinstance(value, str) and len(value) > int(length.group(1)):
                return f"parameter {key} = {describe_value(value)}"
    return ""


def describe_db_error(exc: BaseException) -> str:
    """Return one line saying what the database refused, naming the constraint or column.

    Parameters
    ----------
    exc : BaseException
        A SQLAlchemy :class:`~sqlalchemy.exc.DBAPIError` (``IntegrityError``,
        ``DataError``, ...), a :class:`~sqlalchemy.exc.StatementError`, or an
        ``OverflowError`` from sqlite3.

    Returns
    -------
    str
        E.g. ``"the database refused the write: duplicate key value violates
        unique constraint "uq_target_catalog_id" (constraint
        uq_target_catalog_id, table target)"`` or ``"the database refused the
        write: bigint out of range (parameter name_1 = 18446744073709551616)"``.
        Never the SQL statement, never a traceback.
    """
    if isinstance(exc, OverflowError):
        return (f"an integer beyond 64 bits cannot be stored or compared ({exc}); "
                "no integer column holds it")
    orig = getattr(exc, "orig", None)
    message = _first_line(str(orig if orig is not None else exc)) or type(exc).__name__
    if isinstance(orig, OverflowError):
        message = "an integer beyond 64 bits"
    details = [part for part in (_where(orig), _suspect(getattr(exc, "params", None), message))
               if part]
    kind = "write" if not isinstance(exc, DBAPIError) or exc.statement is None or \
        not exc.statement.lstrip().upper().startswith("SELECT") else "query"
    detail = f" ({'; '.join(details)})" if details else ""
    return f"the database refused the {kind}: {message}{detail}"
