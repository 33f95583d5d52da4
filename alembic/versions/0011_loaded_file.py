"""Files loaders have written, by name and content hash: ``loaded_file``; ``ix_target_name``.

One row per file a loader wrote (the TESS SPOC loader first), in the same
transaction as the file's rows: the loader name, the file's name without
directories or compression suffix, the SHA-256 of its uncompressed bytes, its
size and path, and the target and observation of its rows (the record is
deleted with either). A re-run skips a recorded hash without reading arrays
and refuses a recorded name whose content changed. Databases loaded before
this revision have no records: their files are compared array by array once,
then recorded.

Also ``ix_target_name``: seed 004's first usage example looks a target up by
its number alone (``filter_by(name=TIC)``), which the ``(catalog_id, name)``
key cannot serve; without it that look-up scans the target table.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lightcurvedb.core.types import PathType, UTCDateTime

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "loaded_file"
INDEXED = ("sha256", "target_id", "observation_id")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loader", sa.String(32), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("file_path", PathType(), nullable=False),
        sa.Column("target_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("observation_id", sa.Integer(), nullable=True),
        sa.Column("loaded_at", UTCDateTime(), server_default=sa.func.current_timestamp(),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
        sa.ForeignKeyConstraint(["target_id"], ["target.id"], ondelete="CASCADE",
                                name=f"fk_{TABLE}_target_id_target"),
        sa.ForeignKeyConstraint(["observation_id"], ["observation.id"], ondelete="CASCADE",
                                name=f"fk_{TABLE}_observation_id_observation"),
        sa.UniqueConstraint("loader", "file_name", name=f"uq_{TABLE}_loader_file_name"),
    )
    for column in INDEXED:
        op.create_index(f"ix_{TABLE}_{column}", TABLE, [column])
    op.create_index("ix_target_name", "target", ["name"])


def downgrade() -> None:
    op.drop_index("ix_target_name", table_name="target")
    for column in INDEXED:
        op.drop_index(f"ix_{TABLE}_{column}", table_name=TABLE)
    op.drop_table(TABLE)
