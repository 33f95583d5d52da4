"""Targets on the sky: position, proper motion and magnitude on ``target``; ``target_alias``.

``target`` gains ``ra``, ``dec`` (ICRS, deg; checked to [0, 360) and
[-90, 90]), ``epoch`` (Julian year), ``pm_ra``, ``pm_dec`` (mas/yr),
``magnitude`` and ``magnitude_band``, all NULL for existing rows, and the index
``ix_target_dec`` that cone searches without q3c select their declination band
on. On PostgreSQL with q3c installed the expression index ``target_q3c_idx`` on
``q3c_ang2ipix(ra, dec)`` is built too (as migration 0006 does for
``radio.sources``; :func:`lightcurvedb.extensions.enable` builds it once q3c is
installed later). ``target_alias`` holds a target's names in other catalogs.

SQLite adds each column with its CHECK in place (``ALTER TABLE ... ADD
COLUMN``) and drops it again on downgrade (SQLite >= 3.35), so no table is
rebuilt.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lightcurvedb.core import extensions

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE, ALIAS = "target", "target_alias"
Q3C_INDEX = "target_q3c_idx"
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: The new columns, with the CHECK each carries (None: no check).
COLUMNS: tuple[tuple[str, sa.types.TypeEngine, str | None], ...] = (
    ("ra", sa.Double(), "ra >= 0 AND ra < 360"),
    ("dec", sa.Double(), "dec >= -90 AND dec <= 90"),
    ("epoch", sa.Double(), None),
    ("pm_ra", sa.Double(), None),
    ("pm_dec", sa.Double(), None),
    ("magnitude", sa.Double(), None),
    ("magnitude_band", sa.String(16), None),
)


def upgrade() -> None:
    bind = op.get_bind()
    for name, type_, check in COLUMNS:
        if bind.dialect.name == "sqlite":
            sql_type = type_.compile(dialect=bind.dialect)
            op.execute(f"ALTER TABLE {TABLE} ADD COLUMN {name} {sql_type}"
                       + (f" CONSTRAINT ck_{TABLE}_{name}_range CHECK ({check})" if check else ""))
        else:
            op.add_column(TABLE, sa.Column(name, type_, nullable=True))
            if check:
                op.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT ck_{TABLE}_{name}_range "
                           f"CHECK ({check})")
    op.create_index(f"ix_{TABLE}_dec", TABLE, ["dec"])
    op.create_table(
        ALIAS,
        sa.Column("id", BIGINT_PK, nullable=False),
        sa.Column("target_id", BIGINT_PK, nullable=False),
        sa.Column("catalog", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{ALIAS}"),
        sa.ForeignKeyConstraint(["target_id"], [f"{TABLE}.id"], ondelete="CASCADE",
                                name=f"fk_{ALIAS}_target_id_{TABLE}"),
        sa.UniqueConstraint("name", "catalog", name=f"uq_{ALIAS}_name_catalog"),
    )
    op.create_index(f"ix_{ALIAS}_target_id", ALIAS, ["target_id"])
    if bind.dialect.name == "postgresql" and extensions.availability(bind, "q3c").installed:
        op.execute(f"CREATE INDEX IF NOT EXISTS {Q3C_INDEX} ON {TABLE} (q3c_ang2ipix(ra, dec))")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {Q3C_INDEX}")
    op.drop_index(f"ix_{ALIAS}_target_id", table_name=ALIAS)
    op.drop_table(ALIAS)
    op.drop_index(f"ix_{TABLE}_dec", table_name=TABLE)
    for name, _, check in reversed(COLUMNS):
        if check and bind.dialect.name == "postgresql":
            op.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT ck_{TABLE}_{name}_range")
        op.execute(f"ALTER TABLE {TABLE} DROP COLUMN {name}")
