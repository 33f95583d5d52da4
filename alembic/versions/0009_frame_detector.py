"""FITS frames record their detector: ``fits_frame.instrument_id``, key ``(type, cadence, instrument_id)``.

The schema document's frame key ``(type, cadence)`` refuses the second file of
every exposure read by two detectors at once (NIRSpec NRS1/NRS2 share
``EXPSTART``) and the other 15 CCD images of a TESS full-frame cadence. Frames
now name the instrument node that recorded them; existing frames get their
observation's instrument, which keeps every existing row's identity.

SQLite cannot drop a table's UNIQUE constraint in place, and rebuilding
``fits_frame`` with foreign keys enforced (as lightcurvedb connections do)
would cascade the drop into every mission frame table that references it. On
SQLite the migration therefore commits what ran before it, rebuilds the table
with enforcement off, checks every reference (``PRAGMA foreign_key_check``)
and commits: an upgrade that stops later leaves this step applied.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

"""
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

from lightcurvedb.core.types import NumpyArray, PathType

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "fits_frame"
OLD_KEY, NEW_KEY = "uq_fits_frame_type_cadence", "uq_fits_frame_type_cadence_instrument_id"
FK = "fk_fits_frame_instrument_id_instrument"
INDEX = "ix_fits_frame_instrument_id"
_FILL = ("UPDATE fits_frame SET instrument_id = (SELECT o.instrument_id FROM observation o "
         "WHERE o.id = fits_frame.observation_id)")


def _columns(with_instrument: bool) -> list[sa.Column]:
    columns = [
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
    ]
    if with_instrument:
        columns.insert(4, sa.Column("instrument_id", sa.Uuid(), nullable=False))
    return columns


@contextmanager
def _sqlite_foreign_keys_off() -> Iterator[Connection]:
    """Run a block with SQLite's foreign-key enforcement off, then check every reference.

    SQLite honours ``PRAGMA foreign_keys`` only outside a transaction, so the
    migration's transaction is committed first and a new one begun after.
    """
    bind = op.get_bind()
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys = OFF")
    bind.exec_driver_sql("BEGIN")
    try:
        yield bind
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"migration 0009 would leave dangling references: {broken[:5]}")
    except BaseException:
        bind.exec_driver_sql("ROLLBACK")
        bind.exec_driver_sql("PRAGMA foreign_keys = ON")
        bind.exec_driver_sql("BEGIN")
        raise
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys = ON")
    bind.exec_driver_sql("BEGIN")


def _rebuild_sqlite(with_instrument: bool) -> None:
    """Re-create ``fits_frame`` on SQLite (the 12-step ALTER TABLE procedure of its manual).

    With foreign keys enforced, dropping the old table would delete every row
    that references it (``ON DELETE CASCADE``) and renaming it would carry the
    references along; with enforcement off and ``legacy_alter_table`` on, the
    mission frame tables keep naming ``fits_frame`` and the new table takes
    their references over.
    """
    names = [c.name for c in _columns(with_instrument)]
    kept = ", ".join(name for name in names if name != "instrument_id")
    constraints: list[sa.Constraint] = [
        sa.PrimaryKeyConstraint("id", name="pk_fits_frame"),
        sa.ForeignKeyConstraint(["observation_id"], ["observation.id"], ondelete="CASCADE",
                                name="fk_fits_frame_observation_id_observation")]
    if with_instrument:
        constraints += [sa.ForeignKeyConstraint(["instrument_id"], ["instrument.id"], name=FK),
                        sa.UniqueConstraint("type", "cadence", "instrument_id", name=NEW_KEY)]
        copy = (f"INSERT INTO _fits_frame_0009 ({kept}, instrument_id) SELECT {kept}, "
                "(SELECT o.instrument_id FROM observation o WHERE o.id = f.observation_id) "
                "FROM fits_frame f")
    else:
        constraints.append(sa.UniqueConstraint("type", "cadence", name=OLD_KEY))
        copy = f"INSERT INTO _fits_frame_0009 ({kept}) SELECT {kept} FROM fits_frame"
    with _sqlite_foreign_keys_off() as bind:
        bind.exec_driver_sql("PRAGMA legacy_alter_table = ON")
        try:
            op.create_table("_fits_frame_0009", *_columns(with_instrument), *constraints)
            bind.exec_driver_sql(copy)
            bind.exec_driver_sql("DROP TABLE fits_frame")
            bind.exec_driver_sql("ALTER TABLE _fits_frame_0009 RENAME TO fits_frame")
        finally:
            bind.exec_driver_sql("PRAGMA legacy_alter_table = OFF")
        op.create_index("ix_fits_frame_observation_id", TABLE, ["observation_id"])
        if with_instrument:
            op.create_index(INDEX, TABLE, ["instrument_id"])


def _refuse_cross_detector_pairs() -> None:
    pairs = op.get_bind().exec_driver_sql(
        "SELECT type, cadence, COUNT(*) FROM fits_frame GROUP BY type, cadence "
        "HAVING COUNT(*) > 1").all()
    if pairs:
        shown = ", ".join(f"{kind} at cadence {cadence} ({n} frames)"
                          for kind, cadence, n in pairs[:5])
        raise RuntimeError(f"cannot downgrade below 0009: {len(pairs)} (type, cadence) pair(s) "
                           f"are held by frames of several detectors, e.g. {shown}; the older "
                           "schema allows one frame per type and cadence")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_instrument=True)
        return
    op.add_column(TABLE, sa.Column("instrument_id", sa.Uuid(), nullable=True))
    op.execute(_FILL)
    op.alter_column(TABLE, "instrument_id", nullable=False)
    op.create_foreign_key(FK, TABLE, "instrument", ["instrument_id"], ["id"])
    op.create_index(INDEX, TABLE, ["instrument_id"])
    op.drop_constraint(OLD_KEY, TABLE, type_="unique")
    op.create_unique_constraint(NEW_KEY, TABLE, ["type", "cadence", "instrument_id"])


def downgrade() -> None:
    _refuse_cross_detector_pairs()
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_instrument=False)
        return
    op.drop_constraint(NEW_KEY, TABLE, type_="unique")
    op.create_unique_constraint(OLD_KEY, TABLE, ["type", "cadence"])
    op.drop_index(INDEX, table_name=TABLE)
    op.drop_constraint(FK, TABLE, type_="foreignkey")
    op.drop_column(TABLE, "instrument_id")
