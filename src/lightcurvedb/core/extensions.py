"""Optional PostgreSQL extensions (PostGIS, q3c): what a database has, may get, and uses.

lightcurvedb builds every schema without extensions. Two make things better
where the server has them and the role may use them:

* ``postgis``: RBH-1 footprints (:class:`~lightcurvedb.core.types.SkyPolygonType`)
  are PostGIS ``geometry(POLYGON, 4326)`` and tested with ``ST_Contains`` /
  ``ST_Intersects``; without it they are well-known text, tested by the
  PL/pgSQL functions of :mod:`lightcurvedb.core.pgpolygon` after the same
  bounding-box prefilter on indexed columns;
* ``q3c``: ``radio.sources`` and ``target`` get the indexes ``sources_q3c_idx``
  and ``target_q3c_idx``, and the cone searches
  (:func:`~lightcurvedb.radio.catalog.cone_search`, :func:`lightcurvedb.cone_search`)
  use ``q3c_radial_query``; without it, a declination band and RA window on
  B-tree indexed columns (:mod:`lightcurvedb.core.cones`).

What a database *uses* is read from its catalog, never stored apart from it:
PostGIS is in use when ``rbh1.wcs_solutions.footprint`` is a ``geometry``
column, q3c when the index ``radio.sources_q3c_idx`` exists (:func:`read_in_use`).
Engines made by :func:`lightcurvedb.connect` read it on every new connection
and keep it on their dialect, where the column types and SQL functions look it
up when statements are compiled (:func:`postgis_footprints`, :func:`q3c_cones`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError

__all__ = ["LABELS", "OPTIONAL_EXTENSIONS", "Availability", "InUse", "availability",
           "create_if_allowed", "postgis_footprints", "q3c_cones", "read_in_use",
           "refresh", "remember", "remembered"]

#: The optional extensions, in the order they are reported.
OPTIONAL_EXTENSIONS = ("postgis", "q3c")
#: How each is named in messages.
LABELS = {"postgis": "PostGIS", "q3c": "q3c"}

_STATE = "_lightcurvedb_extensions"

_IN_USE_SQL = """
SELECT (SELECT t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = to_regclass('rbh1.wcs_solutions') AND a.attname = 'footprint'
          AND NOT a.attisdropped),
       (SELECT extversion FROM pg_extension WHERE extname = 'postgis'),
       to_regclass('radio.sources_q3c_idx') IS NOT NULL,
       (SELECT extversion FROM pg_extension WHERE extname = 'q3c')
"""

_AVAILABILITY_SQL = """
SELECT (SELECT extversion FROM pg_extension WHERE extname = %(name)s),
       (SELECT default_version FROM pg_available_extensions WHERE name = %(name)s),
       (SELECT coalesce((to_jsonb(v) ->> 'trusted')::boolean, false) OR NOT v.superuser
        FROM pg_available_extension_versions AS v JOIN pg_available_extensions AS e
          ON e.name = v.name AND e.default_version = v.version
        WHERE v.name = %(name)s),
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
       has_database_privilege(current_database(), 'CREATE'),
       current_user, current_database()
"""


@dataclass(frozen=True)
class InUse:
    """The optional extensions a PostgreSQL database uses, with their versions.

    Attributes
    ----------
    postgis : str or None
        PostGIS's version when the RBH-1 footprints are PostGIS geometry (or,
        before the RBH-1 tables exist, when PostGIS is installed); else None.
    q3c : str or None
        q3c's version when the q3c index on ``radio.sources`` exists; else None.
    installed : dict of str to str
        Every optional extension installed in the database, in use or not.
    """

    postgis: str | None
    q3c: str | None
    installed: dict[str, str]

    def version(self, name: str) -> str | None:
        """Return the version of extension ``name`` if in use, else None."""
        return {"postgis": self.postgis, "q3c": self.q3c}[name]


@dataclass(frozen=True)
class Availability:
    """Whether one extension is, or can be, installed in a database by the current role.

    Attributes
    ----------
    name : str
        The extension, e.g. ``"postgis"``.
    installed : str or None
        The installed version.
    available : str or None
        The server's default version (None: the server has no such extension).
    creatable : bool
        Whether the current role may run ``CREATE EXTENSION`` for it here: a
        superuser may; other roles only for a trusted extension (or one whose
        control file does not require a superuser) and with the CREATE
        privilege on the database. PostGIS and q3c are neither.
    reason : str or None
        Why it is neither installed nor creatable, one sentence naming it.
    short_reason : str or None
        The same in a few words, e.g. ``"PostGIS not available"``.
    """

    name: str
    installed: str | None
    available: str | None
    creatable: bool
    reason: str | None
    short_reason: str | None = None


def read_in_use(connection: Any) -> InUse:
    """Read which optional extensions a PostgreSQL database uses from its catalog.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection or DB-API connection
        An open connection to the database.

    Returns
    -------
    InUse
    """
    if isinstance(connection, Connection):
        row = connection.exec_driver_sql(_IN_USE_SQL).one()
    else:
        cursor = connection.cursor()
        try:
            cursor.execute(_IN_USE_SQL)
            row = cursor.fetchone()
        finally:
            cursor.close()
    column_type, postgis, q3c_index, q3c = row
    installed = {name: version for name, version in (("postgis", postgis), ("q3c", q3c))
                 if version is not None}
    geometry = column_type == "geometry" or (column_type is None and postgis is not None)
    return InUse(postgis if geometry else None, q3c if q3c_index and q3c else None, installed)


def remember(dialect: Dialect, state: InUse) -> bool:
    """Keep ``state`` on ``dialect`` for compiling; return whether it changed."""
    changed = getattr(dialect, _STATE, None) != state
    setattr(dialect, _STATE, state)
    return changed


def remembered(dialect: Dialect) -> InUse | None:
    """Return what :func:`remember` kept on ``dialect`` (None: never read)."""
    return getattr(dialect, _STATE, None)


def postgis_footprints(dialect: Dialect) -> bool:
    """Whether footprints compile to PostGIS SQL on ``dialect``.

    True on PostgreSQL when the database uses PostGIS, and on PostgreSQL
    engines that never read the catalog (not made by
    :func:`lightcurvedb.connect`), as before PostGIS became optional.
    """
    if dialect.name != "postgresql":
        return False
    state = remembered(dialect)
    return state is None or state.postgis is not None


def q3c_cones(dialect: Dialect) -> bool:
    """Whether cone searches use q3c on ``dialect`` (PostgreSQL with the q3c index)."""
    if dialect.name != "postgresql":
        return False
    state = remembered(dialect)
    return state is None or state.q3c is not None


def availability(connection: Connection, name: str) -> Availability:
    """Tell whether extension ``name`` is installed here, or could be by the current role.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection
        A PostgreSQL connection.
    name : str
        The extension, e.g. ``"postgis"``.

    Returns
    -------
    Availability
    """
    installed, available, trusted, superuser, may_create, role, database = \
        connection.exec_driver_sql(_AVAILABILITY_SQL, {"name": name}).one()
    label = LABELS.get(name, name)
    if installed is not None:
        return Availability(name, installed, available, False, None)
    if available is None:
        return Availability(name, None, None, False, f"{label} is not installed on the server",
                            f"{label} not available")
    if superuser or (trusted and may_create):
        return Availability(name, None, available, True, None)
    why = ("is not a trusted extension" if not trusted
           else f"needs the CREATE privilege on database {database}")
    return Availability(name, None, available, False,
                        f"{label} {why} and role {role} is not a superuser: a superuser "
                        f"can run CREATE EXTENSION {name} in database {database}",
                        f"{label} not permitted for role {role}")


def create_if_allowed(connection: Connection, name: str, note: str) -> Availability:
    """Install extension ``name`` if the current role may; never fail for lack of it.

    ``CREATE EXTENSION`` runs inside a SAVEPOINT, so a refusal the catalog did
    not predict (a missing shared library, say) leaves the transaction usable
    and is reported in ``reason``. An extension created here gets ``note`` as
    its comment, which tells a later downgrade that lightcurvedb installed it.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection
        A PostgreSQL connection inside a transaction (a migration's).
    name : str
        The extension.
    note : str
        The comment to put on it when created here.

    Returns
    -------
    Availability
        With ``installed`` set when the extension is (now) installed.
    """
    found = availability(connection, name)
    if found.installed is not None or not found.creatable:
        return found
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(f'CREATE EXTENSION "{name}"')
            connection.exec_driver_sql(f"COMMENT ON EXTENSION \"{name}\" IS '{note}'")
    except DBAPIError as exc:
        lines = [line for line in str(exc.orig).splitlines() if line.strip()]
        reason = f"CREATE EXTENSION {name} failed: {lines[0] if lines else type(exc).__name__}"
        return Availability(name, None, found.available, False, reason,
                            f"{LABELS.get(name, name)} could not be created")
    return availability(connection, name)


def refresh(connection: Connection) -> InUse:
    """Read what ``connection``'s database uses and keep it on its dialect.

    When that changes what footprints compile to, the engine's cache of
    compiled statements is cleared.

    Parameters
    ----------
    connection : sqlalchemy.engine.Connection
        A PostgreSQL connection.

    Returns
    -------
    InUse
    """
    state = read_in_use(connection)
    if remember(connection.dialect, state):
        connection.engine.clear_compiled_cache()
    return state
