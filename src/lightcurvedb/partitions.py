"""PostgreSQL partitions of the big tables: create them for new observations and months.

On PostgreSQL, migration 0008 partitions the four tables that grow with the
data (see :doc:`/partitioning`):

* ``dataset``, ``target_specific_time`` and ``quality_flag_array`` by
  ``LIST (observation_id)``: one partition per observation, named
  ``<table>_obs_<id>`` (``dataset_obs_12``);
* ``radio.photometry`` by ``RANGE (measured_at)`` (Unix seconds): one
  partition per calendar month (UTC), named ``photometry_<yyyy>_<mm>``.

Each also has a DEFAULT partition (``<table>_default``) that takes every row
no other partition accepts, so writes never fail for want of a partition. The
helpers here create the per-observation and per-month partitions; they are
idempotent, and when the DEFAULT partition already holds rows that belong in a
new partition they move them there, in the caller's transaction (lineage
edges that point at moved light curves are kept). On SQLite, and on a
PostgreSQL table that is not partitioned, they do nothing.

Examples
--------
>>> from lightcurvedb import partitions
>>> with engine.begin() as connection:  # doctest: +SKIP
...     partitions.create_observation_partitions(connection, [observation.id])
...     partitions.partitions(connection, "dataset")
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

__all__ = [
    "OBSERVATION_PARTITIONED",
    "PHOTOMETRY",
    "PartitionInfo",
    "create_observation_partitions",
    "create_photometry_partitions",
    "partitions",
]

#: Tables partitioned by ``LIST (observation_id)``, one partition per observation.
OBSERVATION_PARTITIONED = ("dataset", "target_specific_time", "quality_flag_array")
#: The table partitioned by ``RANGE (measured_at)``, one partition per month.
PHOTOMETRY = "radio.photometry"

#: Advisory lock key serialising partition creation ("lcdbpart" in ASCII), so two
#: loaders creating the same partition at once do not collide.
_LOCK_KEY = 0x6C63646270617274
#: Unix-seconds range monthly partitions are made for: 1970-01 to 9999-11.
_MIN_SECONDS = 0.0
_MAX_SECONDS = dt.datetime(9999, 12, 1, tzinfo=dt.UTC).timestamp()


@dataclass(frozen=True)
class PartitionInfo:
    """One partition of a partitioned table, as :func:`partitions` reports it.

    Attributes
    ----------
    name : str
        Schema-qualified when outside the default schema (``radio.photometry_2026_11``).
    bound : str
        The partition bound as PostgreSQL prints it: ``FOR VALUES IN (12)``,
        ``FOR VALUES FROM ('1793491200') TO ('1796083200')`` or ``DEFAULT``.
    is_default : bool
        True for the DEFAULT partition.
    rows : int or None
        Row count: exact when asked for, otherwise the planner's estimate
        (``pg_class.reltuples``), None if the partition was never analysed.
    """

    name: str
    bound: str
    is_default: bool
    rows: int | None


def _connection(bind: Connection | Session) -> Connection:
    return bind.connection() if isinstance(bind, Session) else bind


def _quote(connection: Connection, qualified: str) -> str:
    quote = connection.dialect.identifier_preparer.quote
    return ".".join(quote(part) for part in qualified.split("."))


def _is_partitioned(connection: Connection, qualified: str) -> bool:
    return bool(connection.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table "
        "WHERE partrelid = to_regclass(:name))"), {"name": qualified}).scalar())


def _sibling(qualified: str, name: str) -> str:
    """``name`` in the schema of ``qualified``."""
    schema, _, _ = qualified.rpartition(".")
    return f"{schema}.{name}" if schema else name


def _default_partition(connection: Connection, qualified: str) -> str | None:
    name = connection.execute(text(
        "SELECT partdefid::regclass::text FROM pg_partitioned_table "
        "WHERE partrelid = to_regclass(:name) AND partdefid <> 0"), {"name": qualified}).scalar()
    return None if name is None else str(name)


def _columns(connection: Connection, qualified: str) -> list[str]:
    return list(connection.execute(text(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(:name) "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"), {"name": qualified}).scalars())


def _referencing_keys(connection: Connection, qualified: str) -> list[tuple[str, str, str]]:
    """Foreign keys pointing at ``qualified``: (referencing table, its columns, referred ones)."""
    rows = connection.execute(text("""
        SELECT c.conrelid::regclass::text,
               array(SELECT quote_ident(a.attname) FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                     ORDER BY k.i),
               array(SELECT quote_ident(a.attname) FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
                     ORDER BY k.i)
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.confrelid = to_regclass(:name) AND c.conparentid = 0
        ORDER BY c.conname"""), {"name": qualified})
    return [(table, ", ".join(mine), ", ".join(theirs)) for table, mine, theirs in rows]


def _add_partition(connection: Connection, parent: str, name: str, bound: str,
                   belongs: str) -> bool:
    """Create and attach partition ``name`` of ``parent`` unless it exists.

    ``belongs`` is the SQL condition true for the rows the new partition takes;
    such rows sitting in the DEFAULT partition are moved into it. Returns
    whether the partition was created.
    """
    qualified = _sibling(parent, name)
    if connection.execute(text("SELECT to_regclass(:name)"), {"name": qualified}).scalar():
        return False
    q_parent, q_new = _quote(connection, parent), _quote(connection, qualified)
    default = _default_partition(connection, parent)
    q_default = "" if default is None else _quote(connection, default)
    moving = bool(q_default) and bool(connection.exec_driver_sql(
        f"SELECT EXISTS (SELECT 1 FROM {q_default} WHERE {belongs})").scalar())
    columns = ", ".join(connection.dialect.identifier_preparer.quote(c)
                        for c in _columns(connection, parent))
    stashed: list[tuple[str, str]] = []
    if moving:
        # The DEFAULT partition may not keep rows the new partition would take:
        # set them aside (with the rows referencing them, which a DELETE would
        # cascade away), attach, and put everything back through the parent.
        connection.exec_driver_sql(
            f"CREATE TEMPORARY TABLE lcdb_moving AS SELECT {columns} "
            f"FROM {q_default} WHERE {belongs}")
        for number, (table, mine, theirs) in enumerate(_referencing_keys(connection, parent)):
            stash = f"lcdb_referencing_{number}"
            match = f"({mine}) IN (SELECT {theirs} FROM lcdb_moving)"
            connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {stash} AS "
                                       f"SELECT * FROM {_quote(connection, table)} WHERE {match}")
            connection.exec_driver_sql(f"DELETE FROM {_quote(connection, table)} WHERE {match}")
            stashed.append((table, stash))
        connection.exec_driver_sql(f"DELETE FROM {q_default} WHERE {belongs}")
    # CREATE ... (LIKE) + ATTACH takes a SHARE UPDATE EXCLUSIVE lock on the parent, where
    # CREATE TABLE ... PARTITION OF would take ACCESS EXCLUSIVE; the DEFAULT partition is
    # still locked ACCESS EXCLUSIVE (checked for the new partition's rows) until commit,
    # so queries that may touch it (any not pruned to one partition) wait for the
    # caller's transaction. STORAGE and COMPRESSION come along with LIKE.
    connection.exec_driver_sql(
        f"CREATE TABLE {q_new} (LIKE {q_parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS)")
    connection.exec_driver_sql(f"ALTER TABLE {q_parent} ATTACH PARTITION {q_new} {bound}")
    if moving:
        connection.exec_driver_sql(f"INSERT INTO {q_parent} ({columns}) OVERRIDING SYSTEM VALUE "
                                   f"SELECT {columns} FROM lcdb_moving")
        for table, stash in stashed:
            connection.exec_driver_sql(f"INSERT INTO {_quote(connection, table)} "
                                       f"OVERRIDING SYSTEM VALUE SELECT * FROM {stash}")
            connection.exec_driver_sql(f"DROP TABLE {stash}")
        connection.exec_driver_sql("DROP TABLE lcdb_moving")
    return True


def _lock(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def create_observation_partitions(bind: Connection | Session, observation_ids: Iterable[int]
                                  ) -> list[str]:
    """Create the partitions of ``dataset``, ``target_specific_time`` and ``quality_flag_array``.

    Call it when observations are created in bulk, before writing their rows
    (the TESS loader does). Rows written without it are not lost: they land in
    the tables' DEFAULT partitions, and a later call moves them into the new
    partitions.

    Parameters
    ----------
    bind : Connection or Session
        Runs in its transaction: a rollback removes the partitions again.
    observation_ids : iterable of int
        Observation ids (need not exist yet; duplicates are ignored).

    Returns
    -------
    list of str
        Names of the partitions created, e.g. ``["dataset_obs_12", ...]``;
        empty when they all existed, on SQLite, and for tables that are not
        partitioned.

    Raises
    ------
    TypeError
        If an id is not an integer.
    """
    ids = sorted({_observation_id(value) for value in observation_ids})
    connection = _connection(bind)
    if connection.dialect.name != "postgresql" or not ids:
        return []
    tables = [t for t in OBSERVATION_PARTITIONED if _is_partitioned(connection, t)]
    if tables:
        _lock(connection)
    created = []
    for table in tables:
        for observation_id in ids:
            name = f"{table}_obs_{observation_id}"
            if _add_partition(connection, table, name, f"FOR VALUES IN ({observation_id})",
                              f"observation_id = {observation_id}"):
                created.append(name)
    return created


def _observation_id(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(f"observation id must be an integer, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"observation id must be an integer, got {value!r}") from None


def _unix_seconds(value: dt.datetime | float, what: str) -> float:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"{what} {value!r} is a naive datetime: give a timezone "
                             "(e.g. datetime.UTC)")
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be an aware datetime or Unix seconds, got {value!r}")
    return float(value)


def _months(start: float, end: float) -> list[dt.datetime]:
    first = dt.datetime.fromtimestamp(start, dt.UTC).replace(day=1, hour=0, minute=0, second=0,
                                                              microsecond=0)
    last = dt.datetime.fromtimestamp(end, dt.UTC)
    months = []
    while first <= last:
        months.append(first)
        first = _next_month(first)
    return months


def _next_month(month: dt.datetime) -> dt.datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def create_photometry_partitions(bind: Connection | Session, start: dt.datetime | float,
                                 end: dt.datetime | float) -> list[str]:
    """Create the monthly partitions of ``radio.photometry`` covering ``start`` to ``end``.

    Every calendar month (UTC) from the one holding ``start`` to the one
    holding ``end`` gets a partition ``photometry_<yyyy>_<mm>`` for
    ``measured_at`` in [first second of the month, first second of the next);
    rows of those months already in the DEFAULT partition are moved into it.
    The forced-photometry writer (:func:`lightcurvedb.radio.products_service.record_photometry`)
    calls it for the months it writes.

    Parameters
    ----------
    bind : Connection or Session
        Runs in its transaction.
    start, end : datetime.datetime or float
        Timezone-aware datetimes or Unix seconds; ``end`` may equal ``start``.

    Returns
    -------
    list of str
        Names of the partitions created (``radio.photometry_2026_11``); empty
        when they all existed, on SQLite, or when the table is not partitioned.

    Raises
    ------
    ValueError
        For a naive datetime, ``end`` before ``start``, or a time outside
        January 1970 to November 9999 (such rows stay in the DEFAULT partition).
    """
    first, last = _unix_seconds(start, "start"), _unix_seconds(end, "end")
    if last < first:
        raise ValueError(f"end {end!r} is before start {start!r}")
    for what, value in (("start", first), ("end", last)):
        if not _MIN_SECONDS <= value < _MAX_SECONDS:
            raise ValueError(f"{what} {value!r} is outside January 1970 to November 9999, "
                             "the months photometry partitions are made for")
    connection = _connection(bind)
    if connection.dialect.name != "postgresql" or not _is_partitioned(connection, PHOTOMETRY):
        return []
    _lock(connection)
    created = []
    for month in _months(first, last):
        low, high = int(month.timestamp()), int(_next_month(month).timestamp())
        name = f"photometry_{month.year:04d}_{month.month:02d}"
        if _add_partition(connection, PHOTOMETRY, name, f"FOR VALUES FROM ({low}) TO ({high})",
                          f"measured_at >= {low} AND measured_at < {high}"):
            created.append(_sibling(PHOTOMETRY, name))
    return created


def _table_name(table: str | Table | type) -> str:
    if isinstance(table, str):
        name = table
    else:
        found = table if isinstance(table, Table) else getattr(table, "__table__", None)
        if not isinstance(found, Table):
            raise TypeError(f"expected a table name, Table or mapped class, got {table!r}")
        name = f"{found.schema}.{found.name}" if found.schema else found.name
    if name == "photometry":
        name = PHOTOMETRY
    if name not in (*OBSERVATION_PARTITIONED, PHOTOMETRY):
        raise ValueError(f"{name!r} is not a partitioned table; partitioned are "
                         f"{', '.join((*OBSERVATION_PARTITIONED, PHOTOMETRY))}")
    return name


def partitions(bind: Connection | Session, table: str | Table | type, *, exact: bool = False
               ) -> list[PartitionInfo]:
    """List the partitions of one of the partitioned tables, by name.

    Parameters
    ----------
    bind : Connection or Session
    table : str, Table or mapped class
        ``"dataset"``, ``"target_specific_time"``, ``"quality_flag_array"``,
        ``"radio.photometry"`` (or ``"photometry"``), or their Table or model.
    exact : bool, optional
        Count the rows of every partition (a scan of each) instead of reporting
        the planner's estimate.

    Returns
    -------
    list of PartitionInfo
        Ordered by name; empty on SQLite or when the table is not partitioned.

    Raises
    ------
    ValueError
        If ``table`` is not one of the partitioned tables.
    """
    name = _table_name(table)
    connection = _connection(bind)
    if connection.dialect.name != "postgresql":
        return []
    rows = connection.execute(text("""
        SELECT c.oid::regclass::text, pg_get_expr(c.relpartbound, c.oid), c.reltuples
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass(:name) ORDER BY c.relname"""), {"name": name}).all()
    found = []
    for partition, bound, estimate in rows:
        count: int | None = None if estimate < 0 else int(estimate)
        if exact:
            count = int(connection.exec_driver_sql(
                f"SELECT count(*) FROM {_quote(connection, partition)}").scalar_one())
        found.append(PartitionInfo(partition, bound, bound == "DEFAULT", count))
    return found
