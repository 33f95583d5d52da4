"""Optional PostgreSQL extensions: which a database uses, enabling them later, requiring them.

lightcurvedb needs no PostgreSQL extension. Where the server has PostGIS or
q3c and the role may create them (a superuser; neither is a trusted
extension), the migrations install and use them; otherwise they build the
same schemas without (see :mod:`lightcurvedb.core.extensions` for the two
forms and how a database's form is read from its catalog)::

    from lightcurvedb import connect, extensions
    engine = connect("postgresql+psycopg://owner@db/lcdb")
    print(extensions.status(engine).describe())
    # extensions: none (PostGIS not permitted for role owner: footprints stored
    # as text with bounding boxes; q3c not permitted for role owner: ...)

Once a superuser has run ``CREATE EXTENSION postgis`` (or ``q3c``) in the
database, :func:`enable` -- run by ``lcdb db upgrade`` and ``lcdb db
enable-extensions`` -- converts the footprints to PostGIS geometry and builds
the q3c index, idempotently. Queries give the same answers in either form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL, Connection, Engine

from lightcurvedb.core import pgpolygon
from lightcurvedb.core.extensions import (
    LABELS,
    OPTIONAL_EXTENSIONS,
    Availability,
    InUse,
    availability,
    create_if_allowed,
    refresh,
)

__all__ = ["EFFECTS", "ExtensionUnavailable", "Status", "enable", "explain", "require",
           "status"]

#: What a PostgreSQL database does instead of each extension.
EFFECTS = {"postgis": "footprints stored as text with bounding boxes",
           "q3c": "cone searches by declination band and exact distance"}

#: The comments migrations 0003 and 0006 put on an extension they created (a
#: downgrade drops only an extension carrying its comment); :func:`enable` uses the same.
NOTES = {"postgis": "PostGIS, installed by lightcurvedb migration 0003 (RBH-1)",
         "q3c": "q3c, installed by lightcurvedb migration 0006 (DSA-110 cone search)"}

#: The footprint columns, converted to PostGIS geometry by :func:`enable`.
FOOTPRINTS = (("rbh1", "wcs_solutions"), ("rbh1", "regions_of_interest"))

#: The q3c indexes: (name, table, columns, the migration that decides whether to build it).
_Q3C_INDEXES = (("sources_q3c_idx", "radio.sources", "ra_deg, dec_deg", "0006"),
                ("target_q3c_idx", "target", "ra, dec", "0010"))


class ExtensionUnavailable(LookupError):
    """Something needs an optional extension the database does not use (one-line message)."""


@dataclass(frozen=True)
class Status:
    """The optional extensions of one database.

    Attributes
    ----------
    backend : str
        ``"postgresql"`` or ``"sqlite"``.
    in_use : InUse or None
        What the database uses (None on SQLite).
    availability : dict of str to Availability
        For each optional extension not in use, whether it could be installed.
    """

    backend: str
    in_use: InUse | None
    availability: dict[str, Availability] = field(default_factory=dict)

    def uses(self, name: str) -> bool:
        """Whether the database uses extension ``name``."""
        return self.in_use is not None and self.in_use.version(name) is not None

    def why_not(self, name: str) -> str:
        """Return why extension ``name`` is not in use, in a few words."""
        if self.in_use is None:
            return f"{LABELS[name]} is PostgreSQL's; this database is {self.backend}"
        if self.in_use.installed.get(name):
            return (f"{LABELS[name]} installed, not in use yet: run 'lcdb db upgrade' "
                    "(or 'lcdb db enable-extensions')")
        found = self.availability.get(name)
        return (found.reason if found and found.reason else f"{LABELS[name]} not installed")

    def describe(self) -> str:
        """Return the ``extensions: ...`` line ``lcdb db upgrade`` and ``lcdb db current`` print.

        Examples: ``extensions: postgis 3.3.2, q3c 2.0.0``; ``extensions: none
        (PostGIS not available: footprints stored as text with bounding boxes;
        q3c not available: cone searches by declination band and exact
        distance)``; ``extensions: none needed (SQLite)``.
        """
        if self.in_use is None:
            backend = "SQLite" if self.backend == "sqlite" else self.backend
            return f"extensions: none needed ({backend})"
        used = [f"{name} {self.in_use.version(name)}" for name in OPTIONAL_EXTENSIONS
                if self.uses(name)]
        missing = [f"{self._short(name)}: {EFFECTS[name]}" for name in OPTIONAL_EXTENSIONS
                   if not self.uses(name)]
        line = "extensions: " + (", ".join(used) if used else "none")
        return line + (f" ({'; '.join(missing)})" if missing else "")

    def _short(self, name: str) -> str:
        assert self.in_use is not None
        if self.in_use.installed.get(name):
            return f"{LABELS[name]} installed, not in use until 'lcdb db upgrade'"
        found = self.availability.get(name)
        return found.short_reason if found and found.short_reason else f"{LABELS[name]} not used"


def _connection(bind: str | URL | Engine | Connection | None) -> Any:
    from lightcurvedb.migrations import _connection as migration_connection

    return migration_connection(bind)


def status(bind: str | URL | Engine | Connection | None = None) -> Status:
    """Read which optional extensions a database uses, and whether the others could be had.

    Parameters
    ----------
    bind : str, URL, Engine or Connection, optional
        The database; resolved like :func:`lightcurvedb.connect` when omitted.

    Returns
    -------
    Status
    """
    with _connection(bind) as connection:
        if connection.dialect.name != "postgresql":
            return Status(connection.dialect.name, None)
        state = refresh(connection)
        found = {name: availability(connection, name) for name in OPTIONAL_EXTENSIONS
                 if state.version(name) is None}
        return Status("postgresql", state, found)


def _footprint_type(connection: Connection, schema: str, table: str) -> str | None:
    return connection.exec_driver_sql(
        "SELECT t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = to_regclass(%(table)s) AND a.attname = 'footprint' "
        "AND NOT a.attisdropped", {"table": f"{schema}.{table}"}).scalar()


def _enable_postgis(connection: Connection) -> list[str]:
    text_tables = [(s, t) for s, t in FOOTPRINTS if _footprint_type(connection, s, t) == "text"]
    if not text_tables:
        return []  # no RBH-1 tables yet (migration 0003 decides), or PostGIS already
    found = create_if_allowed(connection, "postgis", NOTES["postgis"])
    if found.installed is None:
        return []
    counts = []
    for schema, table in text_tables:
        connection.exec_driver_sql(
            f"ALTER TABLE {schema}.{table} ALTER COLUMN footprint "
            "TYPE geometry(POLYGON, 4326) USING ST_GeomFromText(footprint, 4326)")
        n = connection.exec_driver_sql(f"SELECT count(*) FROM {schema}.{table}").scalar()
        counts.append(f"{n} in {schema}.{table}")
    for statement in pgpolygon.DROP_FUNCTIONS:
        connection.exec_driver_sql(statement)
    return [f"footprints converted to PostGIS {found.installed} ({', '.join(counts)})"]


def _enable_q3c(connection: Connection) -> list[str]:
    from lightcurvedb.migrations import applied

    done = applied(connection)
    missing = [(index, table, columns) for index, table, columns, revision in _Q3C_INDEXES
               if revision in done and connection.exec_driver_sql(
                   f"SELECT to_regclass('{table}') IS NOT NULL "
                   f"AND to_regclass('{table.rpartition('.')[0] or 'public'}.{index}') IS NULL"
               ).scalar()]
    if not missing:
        return []  # before the migrations that decide, or the indexes are there
    found = create_if_allowed(connection, "q3c", NOTES["q3c"])
    if found.installed is None:
        return []
    lines = []
    for index, table, columns in missing:
        connection.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {index} ON {table} (q3c_ang2ipix({columns}))")
        n = connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
        lines.append(f"q3c {found.installed} index {index} built on {table} ({n} rows)")
    return lines


def enable(bind: str | URL | Engine | Connection | None = None) -> list[str]:
    """Move a database to the optional extensions installed (or creatable) since it was built.

    With PostGIS installed, text footprints become ``geometry(POLYGON,4326)``
    (converted in place, ``ST_GeomFromText``) and the PL/pgSQL polygon tests
    are dropped; with q3c, the indexes ``radio.sources_q3c_idx`` and
    ``target_q3c_idx`` are built. An extension the role may create is created
    first. Running it again does nothing. ``lcdb db upgrade`` (and
    :func:`lightcurvedb.migrations.upgrade` to ``heads``) runs it after the
    migrations.

    Parameters
    ----------
    bind : str, URL, Engine or Connection, optional
        The database; resolved like :func:`lightcurvedb.connect` when omitted.

    Returns
    -------
    list of str
        What was done, one line each (empty when nothing was to do; always on SQLite).

    Notes
    -----
    Other processes' engines read the database's form when they open a
    connection: dispose of an engine (``engine.dispose()``) whose pooled
    connections predate the change.
    """
    with _connection(bind) as connection:
        if connection.dialect.name != "postgresql":
            return []
        done = _enable_postgis(connection) + _enable_q3c(connection)
        refresh(connection)
        return done


def require(bind: str | URL | Engine | Connection | None, name: str, purpose: str) -> str:
    """Return the version of extension ``name`` in use, or raise naming it.

    Parameters
    ----------
    bind : str, URL, Engine or Connection, optional
        The database.
    name : str
        ``"postgis"`` or ``"q3c"``.
    purpose : str
        What needs it, for the message, e.g. ``"the seed's ST_IsValid query"``.

    Raises
    ------
    ExtensionUnavailable
        If the database does not use ``name``; the one-line message names the
        extension and why it is not in use.
    """
    found = status(bind)
    if not found.uses(name):
        raise ExtensionUnavailable(f"{purpose} needs the {LABELS[name]} extension, which this "
                                   f"database does not use: {found.why_not(name)}")
    assert found.in_use is not None
    return str(found.in_use.version(name))


_UNDEFINED_FUNCTION = re.compile(r"function (?:\w+\.)?(st_\w+|q3c_\w+)\([^)]*\) does not exist",
                                 re.IGNORECASE)


def explain(exc: BaseException) -> str | None:
    """Name the extension behind a "function ... does not exist" error, if it is one of ours.

    Parameters
    ----------
    exc : BaseException
        A database error (SQLAlchemy's, or the driver's).

    Returns
    -------
    str or None
        One line such as ``"st_isvalid() is a PostGIS function and this
        database does not use PostGIS (see 'lcdb db current')"``, or None.
    """
    match = _UNDEFINED_FUNCTION.search(str(getattr(exc, "orig", None) or exc))
    if match is None:
        return None
    function = match.group(1).lower()
    label = LABELS["q3c" if function.startswith("q3c_") else "postgis"]
    return (f"{function}() is a {label} function and this database does not use {label} "
            "(see 'lcdb db current')")
