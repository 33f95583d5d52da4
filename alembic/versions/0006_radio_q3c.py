"""DSA-110 cone search: a q3c index on ``radio.sources`` (PostgreSQL only).

On PostgreSQL this creates the q3c extension when it is missing (marked with a
comment, and dropped again on downgrade only when this migration created it)
and the expression index ``sources_q3c_idx`` on
``q3c_ang2ipix(ra_deg, dec_deg)`` that :func:`lightcurvedb.radio.catalog.cone_search`
uses through ``q3c_radial_query``. The models do not declare the index (it is
an expression index on an extension's function), so
:func:`lightcurvedb.migrations.context_options` leaves it out of schema
comparisons by name. On SQLite this revision does nothing: cone searches use the
``(ra_deg, dec_deg)`` index there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

"""
from collections.abc import Sequence

from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "radio"
INDEX = "sources_q3c_idx"
Q3C_NOTE = "q3c, installed by lightcurvedb migration 0006 (DSA-110 cone search)"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    installed = bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'q3c'").first()
    if installed is None:
        op.execute("CREATE EXTENSION IF NOT EXISTS q3c")
        op.execute(f"COMMENT ON EXTENSION q3c IS '{Q3C_NOTE}'")
    op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON {SCHEMA}.sources "
               "(q3c_ang2ipix(ra_deg, dec_deg))")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {SCHEMA}.{INDEX}")
    ours = bind.exec_driver_sql(
        "SELECT obj_description(oid, 'pg_extension') FROM pg_extension "
        "WHERE extname = 'q3c'").scalar()
    if ours == Q3C_NOTE:
        op.execute("DROP EXTENSION q3c")
