"""Stored stage-1 validation reports of catalog file loads: ``catalog_validation``.

One row per FITS catalog file the chunked catalog loader
(:func:`lightcurvedb.loaders.catalog.load_fits_catalog`) validated: row
counts, key uniqueness, per-column null rates and value ranges, whether it
passed and why not. The same table on PostgreSQL and SQLite (JSONB there, JSON
here).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from lightcurvedb.core.types import PathType, UTCDateTime

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "catalog_validation"
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_path", PathType(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("hdu", sa.String(72), nullable=False),
        sa.Column("destination", sa.String(255), nullable=False),
        sa.Column("rows_in_file", sa.BigInteger(), nullable=False),
        sa.Column("rows_loaded", sa.BigInteger(), nullable=False),
        sa.Column("key_columns", JSON, nullable=False),
        sa.Column("key_unique", sa.Boolean(), nullable=True),
        sa.Column("duplicate_keys", sa.BigInteger(), nullable=False),
        sa.Column("existing_keys", sa.BigInteger(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("loaded", sa.Boolean(), nullable=False),
        sa.Column("problems", JSON, nullable=False),
        sa.Column("column_stats", JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=sa.func.current_timestamp(),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
    )
    op.create_index(f"ix_{TABLE}_sha256", TABLE, ["sha256"])


def downgrade() -> None:
    op.drop_index(f"ix_{TABLE}_sha256", table_name=TABLE)
    op.drop_table(TABLE)
