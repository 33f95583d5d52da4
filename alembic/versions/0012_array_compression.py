"""Light-curve arrays compressed with lz4 on PostgreSQL servers that have it.

Migration 0008 stored ``dataset.values``, ``dataset.errors`` and
``target_specific_time.barycentric_julian_dates`` uncompressed (``STORAGE
EXTERNAL``), measured on noisy float64 arrays, which pglz cannot shrink and
only slows down. Real light curves are not such arrays: SPOC's fluxes and
errors are float32 values (FITS ``E``) held in float64 columns, so each
element ends in 29 zero bits, and times step by a constant cadence. On three
real SPOC files lz4 stores the five float arrays in 61 % of their size
(490 kB instead of 799 kB per file; pglz: 49 %, but binary ``COPY`` runs some
seven times slower), and ``COPY`` and reads run as fast as uncompressed
(``docs/partitioning.rst``).

So, where the server supports lz4 (PostgreSQL >= 14 built with it, as the
Debian and PGDG packages are; ``pg_settings`` lists it among
``default_toast_compression``'s values), those three columns become ``STORAGE
EXTENDED`` with ``COMPRESSION lz4``, and ``quality_flag_array.quality_flags``
(mostly zero, kept compressible by 0008) gets lz4 instead of pglz, which
costs a third of pglz's time for the same size. This is set on each table
and every partition (``SET COMPRESSION`` does not recurse); partitions
created later copy it (``LIKE ... INCLUDING COMPRESSION``). Values already
stored keep their form until they are rewritten. A server without lz4, and
SQLite, are left as they are.

The downgrade restores 0008's settings wherever lz4 was set.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column, its storage before this revision).
COLUMNS = (("dataset", "values", "EXTERNAL"), ("dataset", "errors", "EXTERNAL"),
           ("target_specific_time", "barycentric_julian_dates", "EXTERNAL"),
           ("quality_flag_array", "quality_flags", "EXTENDED"))


def _has_lz4(bind: sa.engine.Connection) -> bool:
    return "lz4" in (bind.execute(sa.text(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"))
        .scalar() or [])


def _relations(bind: sa.engine.Connection, table: str) -> list[str]:
    """The table and every partition under it, as quoted, qualified names."""
    return list(bind.execute(sa.text("""
        WITH RECURSIVE tree(oid) AS (
            SELECT to_regclass(:table)::oid
            UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid)
        SELECT oid::regclass::text FROM tree ORDER BY 1"""), {"table": table}).scalars())


def _compression(bind: sa.engine.Connection, table: str, column: str) -> str:
    return bind.execute(sa.text(
        "SELECT attcompression FROM pg_attribute WHERE attrelid = to_regclass(:table) "
        "AND attname = :column"), {"table": table, "column": column}).scalar() or ""


def _set(bind: sa.engine.Connection, storage: str | None, compression: str) -> None:
    for table, column, before in COLUMNS:
        for relation in _relations(bind, table):
            op.execute(f'ALTER TABLE ONLY {relation} '
                       f'ALTER COLUMN "{column}" SET STORAGE {storage or before}, '
                       f'ALTER COLUMN "{column}" SET COMPRESSION {compression}')


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _has_lz4(bind):
        _set(bind, "EXTENDED", "lz4")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _compression(bind, "dataset", "values") == "l":
        _set(bind, None, "DEFAULT")
