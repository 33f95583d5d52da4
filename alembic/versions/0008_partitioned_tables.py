"""Partition the big tables on PostgreSQL; lineage edges carry their light curves' observations.

PostgreSQL only (the tables keep their rows; see ``docs/partitioning.rst``):

* ``dataset``, ``target_specific_time`` and ``quality_flag_array`` become
  ``PARTITION BY LIST (observation_id)`` with a partition per existing
  observation (``dataset_obs_<id>``) and a DEFAULT partition;
  ``radio.photometry`` becomes ``PARTITION BY RANGE (measured_at)`` with a
  partition per month holding data (``photometry_<yyyy>_<mm>``) and a DEFAULT
  partition. A partitioned table's primary key must contain the partition key:
  the primary keys become ``(id, observation_id)`` and ``(id, measured_at)``.
  Indexes, constraints, triggers, comments, grants, the ``id`` sequences and
  views reading the tables are carried over.
* The float array columns (``dataset.values``, ``dataset.errors``,
  ``target_specific_time.barycentric_julian_dates``) get ``STORAGE EXTERNAL``:
  out of line, uncompressed. Noisy floats do not compress, and pglz trying to
  cost binary COPY a factor ~7 (issue 6). Quality flags (mostly zeros) keep the
  compressible default.

Both backends: ``dataset_hierarchy`` gains ``source_observation_id`` and
``child_observation_id`` (filled from ``dataset``), and its foreign keys become
``(source_dataset_id, source_observation_id) -> dataset (id, observation_id)``
(same for the child), ON DELETE/UPDATE CASCADE; PostgreSQL requires a foreign
key to a partitioned table to reference a key containing the partition key.
On SQLite ``dataset`` gets the unique index ``uq_dataset_id_observation_id``
those foreign keys need (PostgreSQL's primary key covers it).

The downgrade restores plain tables, with their rows, and the old lineage keys.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25

"""
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

from lightcurvedb.partitions import create_observation_partitions, create_photometry_partitions

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (schema-qualified table, partition key, strategy, columns stored EXTERNAL).
TABLES = (
    ("dataset", "observation_id", "LIST", ("values", "errors")),
    ("target_specific_time", "observation_id", "LIST", ("barycentric_julian_dates",)),
    ("quality_flag_array", "observation_id", "LIST", ()),
    ("radio.photometry", "measured_at", "RANGE", ()),
)
LINEAGE = "dataset_hierarchy"
ENDS = ("source", "child")
UNIQUE_ID_OBSERVATION = "uq_dataset_id_observation_id"


def _fk_name(end: str) -> str:
    return f"fk_{LINEAGE}_{end}_dataset_id_dataset"


@dataclass
class _Definition:
    """What a table has besides its columns, as SQL to replay on its replacement."""

    table: str
    primary_key: tuple[str, list[str]] = ("", [])
    constraints: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)


def _scalars(bind: Connection, sql: str, **params: object) -> list:
    return list(bind.execute(sa.text(sql), params).scalars())


def _capture(bind: Connection, table: str) -> _Definition:
    oid = {"oid": bind.execute(sa.text("SELECT to_regclass(:t)::oid"), {"t": table}).scalar()}
    found = _Definition(table)
    for name, kind, definition, columns in bind.execute(sa.text("""
            SELECT quote_ident(conname), contype, pg_get_constraintdef(oid),
                   array(SELECT a.attname FROM unnest(conkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.n
                         ORDER BY k.i)
            FROM pg_constraint WHERE conrelid = :oid AND conparentid = 0
            ORDER BY contype = 'f', conname"""), oid):
        if kind == "p":
            found.primary_key = (name, list(columns))
        else:
            found.constraints.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    found.indexes = [d.replace(" ON ONLY ", " ON ", 1) for d in _scalars(bind, """
        SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = :oid
        AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conrelid = :oid)
        ORDER BY indexrelid""", **oid)]
    found.triggers = _scalars(bind, "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
                                    "WHERE tgrelid = :oid AND NOT tgisinternal "
                                    "AND tgparentid = 0 ORDER BY tgname", **oid)
    found.extras = [f"COMMENT ON TABLE {table} IS {comment}" for comment in _scalars(
        bind, "SELECT quote_literal(obj_description(:oid, 'pg_class')) "
              "WHERE obj_description(:oid, 'pg_class') IS NOT NULL", **oid)]
    found.extras += [f"GRANT {privilege} ON {table} TO {grantee}" for grantee, privilege in
                     bind.execute(sa.text("""
        SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
               a.privilege_type
        FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
        LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE c.oid = :oid"""), oid)]
    return found


def _dependent_views(bind: Connection, tables: Sequence[str]) -> list[tuple[str, str, str]]:
    """Views (and materialized views) reading ``tables``, directly or through other views."""
    return [tuple(row) for row in bind.execute(sa.text("""
        WITH RECURSIVE deps(oid) AS (
            SELECT r.ev_class FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
            WHERE d.classid = 'pg_rewrite'::regclass
              AND d.refobjid = ANY (array(SELECT to_regclass(t)::oid FROM unnest(CAST(:tables AS text[])) t))
              AND r.ev_class <> d.refobjid
            UNION
            SELECT r.ev_class FROM deps JOIN pg_depend d ON d.refobjid = deps.oid
            JOIN pg_rewrite r ON r.oid = d.objid
            WHERE d.classid = 'pg_rewrite'::regclass AND r.ev_class <> deps.oid)
        SELECT c.oid::regclass::text, c.relkind, pg_get_viewdef(c.oid)
        FROM (SELECT DISTINCT oid FROM deps) v JOIN pg_class c ON c.oid = v.oid
        ORDER BY c.oid"""), {"tables": list(tables)})]


def _drop_views(views: list[tuple[str, str, str]]) -> None:
    for name, kind, _ in reversed(views):
        what = "MATERIALIZED VIEW" if kind == "m" else "VIEW"
        op.execute(f"DROP {what} IF EXISTS {name} CASCADE")


def _create_views(views: list[tuple[str, str, str]]) -> None:
    for name, kind, definition in views:
        what = "MATERIALIZED VIEW" if kind == "m" else "VIEW"
        op.execute(f"CREATE {what} {name} AS {definition}")


def _refuse_other_references(bind: Connection, table: str) -> None:
    names = _scalars(bind, "SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint "
                           "WHERE contype = 'f' AND confrelid = to_regclass(:t) "
                           "AND conparentid = 0", t=table)
    if names:
        raise RuntimeError(f"cannot rebuild {table}: foreign keys {', '.join(names)} reference "
                           "it; drop them first")


def _columns(bind: Connection, table: str) -> str:
    return ", ".join(_scalars(bind, "SELECT quote_ident(attname) FROM pg_attribute "
                                    "WHERE attrelid = to_regclass(:t) AND attnum > 0 "
                                    "AND NOT attisdropped ORDER BY attnum", t=table))


def _rename_aside(bind: Connection, table: str) -> str:
    schema, _, name = table.rpartition(".")
    op.execute(f"ALTER TABLE {table} RENAME TO {name}_unpartitioned")
    return f"{schema}.{name}_unpartitioned" if schema else f"{name}_unpartitioned"


def _move_rows_and_replay(bind: Connection, table: str, old: str, definition: _Definition,
                          primary_key: list[str]) -> None:
    columns = _columns(bind, table)
    op.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {old}")
    for sequence, column in bind.execute(sa.text("""
            SELECT d.objid::regclass::text, quote_ident(a.attname) FROM pg_depend d
            JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
            WHERE d.classid = 'pg_class'::regclass AND d.refobjid = to_regclass(:old)
              AND d.deptype = 'a' AND d.refobjsubid > 0"""), {"old": old}).all():
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.{column}")
    op.execute(f"DROP TABLE {old}")
    name = definition.primary_key[0]
    if name:  # a table adopted from the DSA-110 pipeline's own DDL might have none
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} "
                   f"PRIMARY KEY ({', '.join(primary_key)})")
    for statement in (*definition.constraints, *definition.indexes, *definition.triggers,
                      *definition.extras):
        op.execute(statement)
    op.execute(f"ANALYZE {table}")


def _partition_tables(bind: Connection) -> None:
    views = _dependent_views(bind, [table for table, *_ in TABLES])
    _drop_views(views)
    rebuilt = []
    for table, key, strategy, external in TABLES:
        _refuse_other_references(bind, table)
        definition = _capture(bind, table)
        old = _rename_aside(bind, table)
        op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING STORAGE "
                   f"INCLUDING COMPRESSION INCLUDING COMMENTS) PARTITION BY {strategy} ({key})")
        for column in external:
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET STORAGE EXTERNAL')
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        rebuilt.append((table, key, old, definition))
    create_observation_partitions(bind, _scalars(bind, "SELECT id FROM observation ORDER BY id"))
    for year, month in bind.execute(sa.text("""
            SELECT DISTINCT extract(year FROM t)::int, extract(month FROM t)::int
            FROM (SELECT to_timestamp(measured_at) AT TIME ZONE 'UTC' AS t
                  FROM radio.photometry_unpartitioned
                  WHERE measured_at >= 0 AND measured_at < 253399622400) s ORDER BY 1, 2""")).all():
        month_start = dt.datetime(year, month, 1, tzinfo=dt.UTC)
        create_photometry_partitions(bind, month_start, month_start)
    for table, key, old, definition in rebuilt:
        primary_key = definition.primary_key[1]
        _move_rows_and_replay(bind, table, old, definition,
                              primary_key + [key] * (key not in primary_key))
    _create_views(views)


def _unpartition_tables(bind: Connection) -> None:
    views = _dependent_views(bind, [table for table, *_ in TABLES])
    _drop_views(views)
    for table, key, _, external in TABLES:
        _refuse_other_references(bind, table)
        definition = _capture(bind, table)
        old = _rename_aside(bind, table)
        op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING COMPRESSION "
                   "INCLUDING COMMENTS)")
        for column in external:  # back to the compressible default
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" SET STORAGE EXTENDED')
        _move_rows_and_replay(bind, table, old, definition,
                              [c for c in definition.primary_key[1] if c != key])
    _create_views(views)


def _backfill_lineage() -> None:
    for end in ENDS:
        op.execute(f"UPDATE {LINEAGE} SET {end}_observation_id = (SELECT observation_id "
                   f"FROM dataset WHERE dataset.id = {LINEAGE}.{end}_dataset_id)")


def upgrade() -> None:
    bind = op.get_bind()
    for end in ENDS:
        op.add_column(LINEAGE, sa.Column(f"{end}_observation_id", sa.Integer(), nullable=True))
    _backfill_lineage()
    if bind.dialect.name == "postgresql":
        for end in ENDS:
            op.alter_column(LINEAGE, f"{end}_observation_id", nullable=False)
            op.drop_constraint(_fk_name(end), LINEAGE, type_="foreignkey")
        _partition_tables(bind)
        for end in ENDS:
            op.create_foreign_key(_fk_name(end), LINEAGE, "dataset",
                                  [f"{end}_dataset_id", f"{end}_observation_id"],
                                  ["id", "observation_id"], ondelete="CASCADE",
                                  onupdate="CASCADE")
        return
    # SQLite: a foreign key's parent columns need a unique index; recreating ``dataset``
    # to add a UNIQUE constraint would cascade-delete the lineage (foreign keys are on).
    op.create_index(UNIQUE_ID_OBSERVATION, "dataset", ["id", "observation_id"], unique=True)
    with op.batch_alter_table(LINEAGE, recreate="always") as batch:
        for end in ENDS:
            batch.alter_column(f"{end}_observation_id", existing_type=sa.Integer(),
                               nullable=False)
            batch.drop_constraint(_fk_name(end), type_="foreignkey")
            batch.create_foreign_key(_fk_name(end), "dataset",
                                     [f"{end}_dataset_id", f"{end}_observation_id"],
                                     ["id", "observation_id"], ondelete="CASCADE",
                                     onupdate="CASCADE")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for end in ENDS:
            op.drop_constraint(_fk_name(end), LINEAGE, type_="foreignkey")
        _unpartition_tables(bind)
        for end in ENDS:
            op.drop_column(LINEAGE, f"{end}_observation_id")
            op.create_foreign_key(_fk_name(end), LINEAGE, "dataset", [f"{end}_dataset_id"],
                                  ["id"], ondelete="CASCADE")
        return
    with op.batch_alter_table(LINEAGE, recreate="always") as batch:
        for end in ENDS:
            batch.drop_constraint(_fk_name(end), type_="foreignkey")
            batch.drop_column(f"{end}_observation_id")
            batch.create_foreign_key(_fk_name(end), "dataset", [f"{end}_dataset_id"], ["id"],
                                     ondelete="CASCADE")
    op.drop_index(UNIQUE_ID_OBSERVATION, table_name="dataset")
