"""Kepler tables: kepler_observation and kepler_ffi_frame (first revision of lcdb_kepler).

Revision ID: kepler_0001
Revises:
Depends on: 0002 (lightcurvedb's mission tables; observation and fits_frame exist since 0001)
Create Date: 2026-11-25

Generated with ``alembic revision --autogenerate --head base --branch-label lcdb_kepler
--depends-on 0002`` against a database at lightcurvedb's head, then tidied. Constraint
names follow lightcurvedb's naming convention (``op.f`` marks them as final).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "kepler_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("lcdb_kepler",)
depends_on: str | Sequence[str] | None = ("0002",)

CCD_MODULES = "(2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 22, 23, 24)"


def upgrade() -> None:
    op.create_table(
        "kepler_observation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.SmallInteger(), nullable=False),
        sa.Column("season", sa.SmallInteger(), nullable=False),
        sa.Column("ccd_module", sa.SmallInteger(), nullable=False),
        sa.Column("ccd_output", sa.SmallInteger(), nullable=False),
        sa.Column("cadence_type", sa.String(length=5), nullable=False),
        sa.CheckConstraint("cadence_type IN ('long', 'short')",
                           name=op.f("ck_kepler_observation_cadence_type")),
        sa.CheckConstraint(f"ccd_module IN {CCD_MODULES}",
                           name=op.f("ck_kepler_observation_ccd_module_on_focal_plane")),
        sa.CheckConstraint("ccd_output BETWEEN 1 AND 4",
                           name=op.f("ck_kepler_observation_ccd_output_range")),
        sa.CheckConstraint("quarter BETWEEN 0 AND 17",
                           name=op.f("ck_kepler_observation_quarter_range")),
        sa.CheckConstraint("season BETWEEN 0 AND 3",
                           name=op.f("ck_kepler_observation_season_range")),
        sa.ForeignKeyConstraint(["id"], ["observation.id"], ondelete="CASCADE",
                                name=op.f("fk_kepler_observation_id_observation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kepler_observation")),
    )
    op.create_index(op.f("ix_kepler_observation_quarter"), "kepler_observation", ["quarter"])

    op.create_table(
        "kepler_ffi_frame",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.SmallInteger(), nullable=False),
        sa.Column("start_bkjd", sa.Double(), nullable=False),
        sa.Column("end_bkjd", sa.Double(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["id"], ["fits_frame.id"], ondelete="CASCADE",
                                name=op.f("fk_kepler_ffi_frame_id_fits_frame")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kepler_ffi_frame")),
    )


def downgrade() -> None:
    op.drop_table("kepler_ffi_frame")
    op.drop_index(op.f("ix_kepler_observation_quarter"), table_name="kepler_observation")
    op.drop_table("kepler_observation")
