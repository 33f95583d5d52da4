"""Column types and table options shared by the DSA-110 models."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from sqlalchemy import REAL, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from lightcurvedb.core.pathtype import resolved_path
from lightcurvedb.core.types import IntegerBool, UnixTimestamp

__all__ = ["FLOAT", "SCHEMA", "TEXT", "UNIX_TIME", "ZERO_ONE", "aware_or_now", "stored_path",
           "table_args"]

#: PostgreSQL schema of the DSA-110 tables (translated away on SQLite).
SCHEMA = "radio"
#: ``TEXT`` in the seed DDL.
TEXT = Text()
#: ``REAL`` in the seed DDL: 8 bytes on SQLite, DOUBLE PRECISION on PostgreSQL.
FLOAT: TypeEngine[float] = REAL().with_variant(postgresql.DOUBLE_PRECISION(), "postgresql")
#: A Unix-timestamp ``REAL`` column, seen as an aware UTC datetime.
UNIX_TIME = UnixTimestamp()
#: A 0/1 ``INTEGER`` column, seen as bool.
ZERO_ONE = IntegerBool()


def table_args(*items: Any) -> tuple[Any, ...]:
    """``__table_args__`` for a DSA-110 table: its constraints and indexes, in schema ``radio``."""
    return (*items, {"schema": SCHEMA, "sqlite_autoincrement": True})


def aware_or_now(value: dt.datetime | None, error: type[Exception] = ValueError) -> dt.datetime:
    """Return ``value`` (which must carry a timezone), or the current UTC time if None.

    Raises
    ------
    ValueError
        (or the given ``error`` class) if ``value`` is a naive datetime.
    """
    if value is None:
        return dt.datetime.now(dt.UTC)
    if value.tzinfo is None:
        raise error(f"naive datetime {value!r}: give a timezone (e.g. datetime.UTC)")
    return value


def stored_path(value: str | os.PathLike[str], error: type[Exception] = ValueError) -> str:
    """Return a path given to a radio service as its ``TEXT`` columns store it: resolved.

    The pipeline's path columns are plain ``TEXT``, so the services apply
    :func:`~lightcurvedb.core.pathtype.resolved_path` themselves: absolute,
    ``..`` and symbolic links resolved, a path that does not exist (yet)
    kept as written beyond its existing part.

    Raises
    ------
    ValueError
        (or the given ``error`` class) for an empty path, a value that is not
        a path, or a symbolic-link loop.
    """
    if not isinstance(value, (str, os.PathLike)):
        raise error(f"expected a path, got {value!r}")
    try:
        return str(resolved_path(value))
    except ValueError as exc:
        raise error(str(exc)) from None
