"""Schema migrations: upgrade, downgrade and inspect a database from Python.

The Alembic scripts ship inside the package, so an installed lightcurvedb can
migrate a database without a source checkout::

    from lightcurvedb import connect, migrations
    migrations.upgrade(connect())            # same as `lcdb db upgrade`
"""

from __future__ import annotations

import importlib.resources
import os
import pathlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import MetaData
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.schema import BLANK_SCHEMA
from sqlalchemy.sql.elements import conv

from lightcurvedb.core.base import SCHEMAS
from lightcurvedb.core.engine import connect

__all__ = [
    "alembic_config",
    "applied",
    "context_options",
    "current",
    "downgrade",
    "heads",
    "script_location",
    "target_metadata",
    "upgrade",
]


def script_location() -> pathlib.Path:
    """Return the directory holding the Alembic environment and revisions.

    An installed wheel carries them as ``lightcurvedb/_alembic``; a source
    checkout (editable install) uses the top-level ``alembic/`` directory.
    """
    packaged = pathlib.Path(str(importlib.resources.files("lightcurvedb"))) / "_alembic"
    if (packaged / "env.py").is_file():
        return packaged
    checkout = pathlib.Path(__file__).resolve().parents[2] / "alembic"
    if (checkout / "env.py").is_file():
        return checkout
    raise FileNotFoundError("lightcurvedb's migration scripts are missing from this installation "
                            f"(looked in {packaged} and {checkout})")


def target_metadata() -> MetaData:
    """Return the metadata migrations compare against: core, shipped missions and plugins."""
    import lightcurvedb.missions  # noqa: F401  (registers the core and mission tables)
    import lightcurvedb.radio  # noqa: F401
    import lightcurvedb.rbh1  # noqa: F401
    from lightcurvedb.core.base import metadata
    from lightcurvedb.missions.registry import load_plugins

    load_plugins()

    return metadata


def context_options(connection: Connection) -> dict[str, Any]:
    """Return the Alembic context options lightcurvedb migrates and compares with.

    ``env.py`` and the schema-drift tests both use these, so they see the same
    thing: type comparison on; on PostgreSQL the ``rbh1`` and ``radio``
    schemas compared too (PostGIS's own ``spatial_ref_sys`` and the q3c
    expression index ``sources_q3c_idx`` of migration 0006 left out); on
    SQLite, which has no schemas and cannot ALTER most things in place, batch
    mode and a copy of the metadata with the schemas translated away, as
    :func:`lightcurvedb.connect` does for queries.
    """
    if connection.dialect.name == "sqlite":
        return {"target_metadata": _without_schemas(target_metadata()), "compare_type": True,
                "render_as_batch": True}
    partitioned = _Partitioned.read(connection)
    return {"target_metadata": target_metadata(), "compare_type": True,
            "include_schemas": True, "include_name": partitioned.include_name,
            "include_object": _include_object}


#: Indexes created by migrations but not declared on the models, left out of
#: comparisons: ``sources_q3c_idx`` (migration 0006) and ``target_q3c_idx``
#: (migration 0010) are expression indexes on the q3c extension's
#: ``q3c_ang2ipix(ra, dec)``, PostgreSQL only.
_UNDECLARED_INDEXES = frozenset({"sources_q3c_idx", "target_q3c_idx"})


#: Indexes the models declare that PostgreSQL does without: on the partitioned
#: ``dataset`` the primary key ``(id, observation_id)`` is the same unique key.
_POSTGRESQL_COVERED_INDEXES = frozenset({"uq_dataset_id_observation_id"})


def _include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    if type_ == "schema":
        return name is None or name in SCHEMAS
    if type_ == "index" and name in _UNDECLARED_INDEXES:
        return False
    return not (type_ == "table" and name == "spatial_ref_sys")


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                    compare_to: Any) -> bool:
    return not (type_ == "index" and name in _POSTGRESQL_COVERED_INDEXES)


@dataclass(frozen=True)
class _Partitioned:
    """Partitions and the foreign keys PostgreSQL clones for them, left out of comparisons.

    A partition is a table of its own to the inspector, and a foreign key that
    references a partitioned table shows up once per partition; the models
    declare neither (partitions come and go with observations and months).
    """

    #: (schema or None for the default one, table) of every partition.
    tables: frozenset[tuple[str | None, str]]
    #: (schema, table, constraint) of every cloned foreign key.
    foreign_keys: frozenset[tuple[str | None, str, str]]

    @classmethod
    def read(cls, connection: Connection) -> _Partitioned:
        default = connection.dialect.default_schema_name

        def schema(name: str) -> str | None:
            return None if name == default else name

        tables = connection.exec_driver_sql(
            "SELECT n.nspname, c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relispartition").all()
        keys = connection.exec_driver_sql(
            "SELECT n.nspname, c.relname, k.conname FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE k.contype = 'f' AND k.conparentid <> 0").all()
        return cls(frozenset((schema(s), t) for s, t in tables),
                   frozenset((schema(s), t, k) for s, t, k in keys))

    def include_name(self, name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
        schema = parent_names.get("schema_name")
        if type_ == "table" and (schema, name) in self.tables:
            return False
        if type_ == "foreign_key_constraint" and \
                (schema, parent_names.get("table_name"), name) in self.foreign_keys:
            return False
        return _include_name(name, type_, parent_names)


def _without_schemas(source: MetaData) -> MetaData:
    copy = MetaData(naming_convention=source.naming_convention)
    for table in source.sorted_tables:
        new = table.to_metadata(copy, schema=None,  # type: ignore[arg-type]
                                referred_schema_fn=lambda *args: BLANK_SCHEMA)  # type: ignore[arg-type,return-value]
        # Keep the names the schema-qualified tables gave their indexes (ix_rbh1_...).
        names = {tuple(c.name for c in index.columns): index.name for index in table.indexes}
        for index in new.indexes:
            name = names.get(tuple(c.name for c in index.columns), index.name)
            index.name = conv(name) if name is not None else None
    return copy


def alembic_config(bind: Engine | Connection | None = None) -> Config:
    """Build an Alembic :class:`~alembic.config.Config` for this package's scripts.

    Parameters
    ----------
    bind : Engine or Connection, optional
        Run against this database; otherwise ``env.py`` resolves one the way
        :func:`lightcurvedb.connect` does.
    """
    from lightcurvedb.missions.registry import plugin_version_locations

    config = Config()
    location = script_location()
    config.set_main_option("script_location", str(location))
    versions = [location / "versions", *plugin_version_locations()]
    # Alembic splits version_locations on the path separator ("os" = ":" here).
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(map(str, versions)))
    config.attributes["configure_logging"] = False
    if bind is not None:
        config.attributes["connection"] = bind
    return config


@contextmanager
def _connection(bind: str | URL | Engine | Connection | None) -> Iterator[Connection]:
    if isinstance(bind, Connection):
        yield bind
        return
    engine = bind if isinstance(bind, Engine) else connect(bind)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        if not isinstance(bind, Engine):
            engine.dispose()


def upgrade(bind: str | URL | Engine | Connection | None = None, revision: str = "heads"
            ) -> list[str]:
    """Upgrade a database to ``revision`` (default: the newest).

    Optional extensions are decided by the migrations themselves (see
    :mod:`lightcurvedb.extensions`); an upgrade to ``heads`` also moves the
    database to any extension installed since (:func:`lightcurvedb.extensions.enable`).

    Parameters
    ----------
    bind : str, URL, Engine or Connection, optional
        The database; resolved like :func:`lightcurvedb.connect` when omitted.
    revision : str, optional
        Target revision (``heads``, a revision id, ``+1``, ...).

    Returns
    -------
    list of str
        What :func:`~lightcurvedb.extensions.enable` changed, one line each
        (empty when nothing, and for any other ``revision``).
    """
    from lightcurvedb import extensions

    with _connection(bind) as connection:
        command.upgrade(alembic_config(connection), revision)
        return extensions.enable(connection) if revision == "heads" else []


def downgrade(bind: str | URL | Engine | Connection | None = None, revision: str = "-1") -> None:
    """Downgrade a database to ``revision`` (default: one step; ``base`` drops everything)."""
    with _connection(bind) as connection:
        command.downgrade(alembic_config(connection), revision)


def current(bind: str | URL | Engine | Connection | None = None) -> tuple[str, ...]:
    """Return the revision each migration branch of the database is at, sorted.

    Empty for an unversioned database. Alembic's ``alembic_version`` table
    leaves out a revision that another applied revision depends on (a mission
    plugin's branch declares ``depends_on`` a core revision), so the stored
    rows alone would hide the core branch; this reports the newest applied
    revision of every branch instead, and a fully upgraded database's
    ``current()`` equals :func:`heads`. Revisions the installed scripts do not
    know (say, of an uninstalled plugin) are reported as stored.
    """
    with _connection(bind) as connection:
        stored = MigrationContext.configure(connection).get_current_heads()
    if not stored:
        return ()
    script = ScriptDirectory.from_config(alembic_config())
    known = tuple(rev for rev in stored if _is_known(script, rev))
    applied = _applied(script, known)
    tips = {rev for rev in applied if not script.get_revision(rev).nextrev & applied}
    return tuple(sorted(tips | (set(stored) - set(known))))


def applied(bind: str | URL | Engine | Connection | None = None) -> frozenset[str]:
    """Return every revision applied to the database: the stored ones and their ancestors.

    Dependencies (``depends_on``) count as ancestors; revisions the installed
    scripts do not know are left out.
    """
    with _connection(bind) as connection:
        stored = MigrationContext.configure(connection).get_current_heads()
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(_applied(script, tuple(rev for rev in stored if _is_known(script, rev))))


def _applied(script: ScriptDirectory, known: tuple[str, ...]) -> set[str]:
    if not known:
        return set()
    return {rev.revision for rev in script.iterate_revisions(known, "base")}


def _is_known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def heads() -> tuple[str, ...]:
    """Return the newest revision id of every migration branch, sorted.

    The core branch (``lightcurvedb``) and the branch of every installed
    mission plugin that ships one (see :mod:`lightcurvedb.missions.registry`).
    """
    script = ScriptDirectory.from_config(alembic_config())
    return tuple(sorted(script.get_heads()))
