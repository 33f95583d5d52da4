"""Core schema of seed 004: missions, targets, instruments, observations, light curves.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from lightcurvedb.core.types import NumpyArray, PathType, UTCDateTime

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("lightcurvedb",)
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _fk(table: str, column: str, referred: str, ondelete: str | None = "CASCADE"
        ) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{referred}.id"], ondelete=ondelete,
                                   name=f"fk_{table}_{column}_{referred}")


def _indexes(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "mission",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        sa.Column("time_unit", sa.String(16), nullable=False),
        sa.Column("time_epoch", sa.Numeric(20, 9, asdecimal=False), nullable=False),
        sa.Column("time_epoch_scale", sa.String(8), nullable=False),
        sa.Column("time_epoch_format", sa.String(16), nullable=False),
        sa.Column("time_format_name", sa.String(32), nullable=False),
        _pk("mission"),
        sa.UniqueConstraint("name", name="uq_mission_name"),
        sa.UniqueConstraint("time_format_name", name="uq_mission_time_format_name"),
    )
    op.create_table(
        "mission_catalog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("host_mission_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.String(), nullable=True),
        _pk("mission_catalog"),
        _fk("mission_catalog", "host_mission_id", "mission"),
        sa.UniqueConstraint("name", name="uq_mission_catalog_name"),
    )
    _indexes("mission_catalog", "host_mission_id")
    op.create_table(
        "target",
        sa.Column("id", BIGINT_PK, nullable=False),
        sa.Column("catalog_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.BigInteger(), nullable=False),
        _pk("target"),
        _fk("target", "catalog_id", "mission_catalog"),
        sa.UniqueConstraint("catalog_id", "name", name="uq_target_catalog_id_name"),
    )
    op.create_table(
        "instrument",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("properties", JSON, nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        _pk("instrument"),
        _fk("instrument", "parent_id", "instrument"),
    )
    _indexes("instrument", "parent_id")
    op.create_table(
        "observation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("cadence_reference", NumpyArray("int64"), nullable=True),
        sa.Column("instrument_id", sa.Uuid(), nullable=False),
        _pk("observation"),
        _fk("observation", "instrument_id", "instrument", ondelete=None),
    )
    _indexes("observation", "type", "instrument_id")
    op.create_table(
        "fits_frame",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("cadence", sa.BigInteger(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("simple", sa.Boolean(), nullable=False),
        sa.Column("bitpix", sa.Integer(), nullable=False),
        sa.Column("naxis", sa.Integer(), nullable=False),
        sa.Column("naxis_values", NumpyArray("int32"), nullable=False),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("bscale", sa.Double(), nullable=False),
        sa.Column("bzero", sa.Double(), nullable=False),
        sa.Column("file_path", PathType(), nullable=False),
        _pk("fits_frame"),
        _fk("fits_frame", "observation_id", "observation"),
        sa.UniqueConstraint("type", "cadence", name="uq_fits_frame_type_cadence"),
    )
    _indexes("fits_frame", "observation_id")
    op.create_table(
        "target_specific_time",
        sa.Column("id", BIGINT_PK, nullable=False),
        sa.Column("target_id", BIGINT_PK, nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("barycentric_julian_dates", NumpyArray("float64"), nullable=False),
        _pk("target_specific_time"),
        _fk("target_specific_time", "target_id", "target"),
        _fk("target_specific_time", "observation_id", "observation"),
        sa.UniqueConstraint("target_id", "observation_id",
                            name="uq_target_specific_time_target_id_observation_id"),
    )
    _indexes("target_specific_time", "target_id", "observation_id")
    for table in ("photometric_source", "processing_method"):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(64), nullable=False),
            sa.Column("description", sa.String(), nullable=True),
            _pk(table),
            sa.UniqueConstraint("name", name=f"uq_{table}_name"),
        )
    op.create_table(
        "dataset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", BIGINT_PK, nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("photometric_method_id", sa.Integer(), nullable=True),
        sa.Column("processing_method_id", sa.Integer(), nullable=True),
        sa.Column("values", NumpyArray("float64"), nullable=False),
        sa.Column("errors", NumpyArray("float64"), nullable=True),
        _pk("dataset"),
        _fk("dataset", "target_id", "target"),
        _fk("dataset", "observation_id", "observation"),
        _fk("dataset", "photometric_method_id", "photometric_source"),
        _fk("dataset", "processing_method_id", "processing_method"),
    )
    _indexes("dataset", "target_id", "observation_id", "photometric_method_id",
             "processing_method_id")
    op.create_table(
        "dataset_hierarchy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_dataset_id", sa.Integer(), nullable=False),
        sa.Column("child_dataset_id", sa.Integer(), nullable=False),
        _pk("dataset_hierarchy"),
        _fk("dataset_hierarchy", "source_dataset_id", "dataset"),
        _fk("dataset_hierarchy", "child_dataset_id", "dataset"),
        sa.UniqueConstraint("source_dataset_id", "child_dataset_id",
                            name="uq_dataset_hierarchy_source_dataset_id_child_dataset_id"),
        sa.CheckConstraint("source_dataset_id <> child_dataset_id",
                           name="ck_dataset_hierarchy_not_self"),
    )
    _indexes("dataset_hierarchy", "source_dataset_id", "child_dataset_id")
    op.create_table(
        "quality_flag_array",
        sa.Column("id", BIGINT_PK, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("target_id", BIGINT_PK, nullable=True),
        sa.Column("quality_flags", NumpyArray("int64"), nullable=False),
        sa.Column("created_on", UTCDateTime(), server_default=sa.func.current_timestamp(),
                  nullable=False),
        _pk("quality_flag_array"),
        _fk("quality_flag_array", "observation_id", "observation"),
        _fk("quality_flag_array", "target_id", "target"),
        sa.UniqueConstraint("type", "observation_id", "target_id",
                            name="uq_quality_flag_array_type_observation_id_target_id"),
    )
    _indexes("quality_flag_array", "observation_id", "target_id")
    # Observation-wide flags (target NULL) are unique too: SQL treats NULLs as
    # distinct, so they get a partial unique index of their own.
    op.create_index("uq_quality_flag_array_observation_wide", "quality_flag_array",
                    ["type", "observation_id"], unique=True,
                    postgresql_where=sa.text("target_id IS NULL"),
                    sqlite_where=sa.text("target_id IS NULL"))


def downgrade() -> None:
    for table in ("quality_flag_array", "dataset_hierarchy", "dataset", "processing_method",
                  "photometric_source", "target_specific_time", "fits_frame", "observation",
                  "instrument", "target", "mission_catalog", "mission"):
        op.drop_table(table)
